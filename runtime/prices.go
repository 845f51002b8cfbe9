package overmind

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/overmind-core/overmind-go/runtime/internal/pricing"
)

// attrCostUSD is the cost of an LLM call in USD. The GenAI conventions
// have no key for it.
const attrCostUSD = "overmind.llm.cost_usd"

// Price is what one model costs, in USD per million tokens, for
// Config.Prices and the OVERMIND_PRICES file:
//
//	overmind.Init(overmind.Config{Prices: map[string]overmind.Price{
//		"gpt-4.1-mini":      {Input: 0.40, Output: 1.60, CachedInput: 0.10},
//		"claude-sonnet-4-5": {Input: 3, Output: 15, CachedInput: 0.30, CacheCreationInput: 3.75},
//	}})
//
// A call's cost is its input tokens at Input, less those read from the
// provider's prompt cache (at CachedInput) and written to it (at
// CacheCreationInput), plus its output tokens, reasoning included, at
// Output. A model matches a price of the same name, or of its name
// without a date or version suffix ("gpt-4.1-mini-2025-04-14" takes the
// price of "gpt-4.1-mini"; "gpt-4.1-mini-high" does not).
type Price struct {
	// Input is the price of input (prompt) tokens.
	Input float64
	// Output is the price of output (completion) tokens.
	Output float64
	// CachedInput is the price of input tokens read from the prompt
	// cache; zero means Input.
	CachedInput float64
	// CacheCreationInput is the price of input tokens written to the
	// prompt cache; zero means Input.
	CacheCreationInput float64
}

// prices resolves Config.Prices over the file OVERMIND_PRICES names. An
// invalid Config price is an error; an unreadable or invalid file is a
// warning, and its prices are not used.
func (r *resolver) prices(configured map[string]Price) *pricing.Table {
	var fromEnv *pricing.Table
	if path := strings.TrimSpace(os.Getenv("OVERMIND_PRICES")); path != "" {
		t, err := pricing.Load(path)
		if err != nil {
			r.warnings = append(r.warnings, fmt.Sprintf("ignoring OVERMIND_PRICES: %v", err))
		}
		fromEnv = t
	}
	if len(configured) == 0 {
		return fromEnv
	}
	converted := make(map[string]pricing.Price, len(configured))
	for model, p := range configured {
		converted[model] = pricing.Price(p)
	}
	t, err := pricing.New(converted)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("overmind: Config.Prices: %w", err))
		return fromEnv
	}
	return fromEnv.Merge(t)
}

// priced is the state whose price table prices captured provider calls:
// the installed one, and after Shutdown the one it ended. A captured
// call's cost is computed with its other attributes when they are first
// read, which for the last spans of a program is while Shutdown flushes
// them, after the state was uninstalled.
var priced atomic.Pointer[state]

// llmCost returns the cost of a call to model with usage u, from the
// price table of the last Init. It is how captured provider calls get
// their cost.
func llmCost(model string, u pricing.Tokens) (float64, bool) {
	st := priced.Load()
	if st == nil {
		return 0, false
	}
	return st.prices.Load().Cost(model, u)
}
