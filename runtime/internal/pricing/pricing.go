// Package pricing turns the token usage of an LLM call into its cost in
// USD, from a price table the program supplies. It knows no prices of its
// own: a model the table does not name has no cost.
//
// Token counts follow the OpenTelemetry GenAI conventions, as the runtime
// records them: the input count includes the tokens read from the cache
// and the tokens written to it, and the output count includes the
// reasoning tokens. So the cost of a call is
//
//	(input - cacheRead - cacheCreation) × Input
//	+ cacheRead × CachedInput          (Input when CachedInput is 0)
//	+ cacheCreation × CacheCreationInput (Input when it is 0)
//	+ output × Output
//
// with every price in USD per million tokens.
package pricing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
)

// Price is what one model costs, in USD per million tokens.
type Price struct {
	// Input is the price of input (prompt) tokens.
	Input float64 `json:"input"`
	// Output is the price of output (completion) tokens, reasoning
	// tokens included.
	Output float64 `json:"output"`
	// CachedInput is the price of input tokens read from the provider's
	// prompt cache. Zero means the Input price.
	CachedInput float64 `json:"cached_input,omitempty"`
	// CacheCreationInput is the price of input tokens written to the
	// prompt cache (Anthropic charges more for them). Zero means the
	// Input price.
	CacheCreationInput float64 `json:"cache_creation_input,omitempty"`
}

// validate reports a negative or non-finite price.
func (p Price) validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"input", p.Input}, {"output", p.Output}, {"cached_input", p.CachedInput}, {"cache_creation_input", p.CacheCreationInput}} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%s price %v is not a non-negative number", f.name, f.v)
		}
	}
	return nil
}

// Tokens are the token counts of one call, as the GenAI conventions count
// them (see the package documentation).
type Tokens struct {
	Input, Output, CacheRead, CacheCreation int64
}

// Table maps model names to prices. The zero value and nil are empty
// tables. A Table is not modified once built.
type Table struct {
	prices map[string]Price
}

// New builds a table from prices, keyed by model name. It reports every
// invalid entry at once.
func New(prices map[string]Price) (*Table, error) {
	t := &Table{prices: make(map[string]Price, len(prices))}
	var errs []error
	for model, p := range prices {
		name := strings.TrimSpace(model)
		if name == "" {
			errs = append(errs, errors.New("empty model name"))
			continue
		}
		if err := p.validate(); err != nil {
			errs = append(errs, fmt.Errorf("model %q: %w", model, err))
			continue
		}
		t.prices[name] = p
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// Parse reads a table from JSON: an object whose keys are model names and
// whose values are objects with the fields of [Price] (input, output,
// cached_input, cache_creation_input). Unknown fields are errors, so that
// a misspelt price is not silently zero.
func Parse(data []byte) (*Table, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("not a JSON object of model prices: %w", err)
	}
	prices := make(map[string]Price, len(raw))
	var errs []error
	for model, body := range raw {
		var p Price
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			errs = append(errs, fmt.Errorf("model %q: %w", model, err))
			continue
		}
		prices[model] = p
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return New(prices)
}

// Load reads a table from the JSON file at path (see [Parse]).
func Load(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Merge returns a table with the entries of t and over, over's winning
// for a model both name. Either may be nil.
func (t *Table) Merge(over *Table) *Table {
	switch {
	case over.Len() == 0:
		return t
	case t.Len() == 0:
		return over
	}
	m := &Table{prices: make(map[string]Price, len(t.prices)+len(over.prices))}
	for k, v := range t.prices {
		m.prices[k] = v
	}
	for k, v := range over.prices {
		m.prices[k] = v
	}
	return m
}

// Len is the number of models in t.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.prices)
}

// Lookup returns the price of model. A model matches an entry of the same
// name; failing that, an entry that names it without a "models/" prefix
// (as Gemini reports models) or without a version suffix: a date
// ("-2025-04-14", "-20250929"), "-latest", or a three-digit version
// ("-001"). No other partial match is made: "gpt-4o-mini" never takes the
// price of "gpt-4o".
func (t *Table) Lookup(model string) (Price, bool) {
	if t.Len() == 0 || model == "" {
		return Price{}, false
	}
	model = strings.TrimPrefix(strings.TrimSpace(model), "models/")
	if p, ok := t.prices[model]; ok {
		return p, true
	}
	if base, ok := stripVersion(model); ok {
		p, found := t.prices[base]
		return p, found
	}
	return Price{}, false
}

// stripVersion removes a version suffix from model: "-YYYY-MM-DD",
// "-YYYYMMDD", "-latest" or "-NNN".
func stripVersion(model string) (string, bool) {
	if base, ok := strings.CutSuffix(model, "-latest"); ok {
		return base, true
	}
	if n := len(model); n > 11 && model[n-11] == '-' && isDate(model[n-10:]) {
		return model[:n-11], true
	}
	if n := len(model); n > 9 && model[n-9] == '-' && allDigits(model[n-8:]) {
		return model[:n-9], true
	}
	if n := len(model); n > 4 && model[n-4] == '-' && allDigits(model[n-3:]) {
		return model[:n-4], true
	}
	return "", false
}

// isDate reports whether s is YYYY-MM-DD.
func isDate(s string) bool {
	return len(s) == 10 && s[4] == '-' && s[7] == '-' && allDigits(s[:4]) && allDigits(s[5:7]) && allDigits(s[8:])
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Cost returns the cost in USD of a call to model with the given usage,
// and false when the table has no price for the model or the usage counts
// no tokens.
func (t *Table) Cost(model string, u Tokens) (float64, bool) {
	p, ok := t.Lookup(model)
	if !ok || (u.Input <= 0 && u.Output <= 0) {
		return 0, false
	}
	cacheRead, cacheCreation := max(u.CacheRead, 0), max(u.CacheCreation, 0)
	plain := max(u.Input-cacheRead-cacheCreation, 0)
	cached, created := p.CachedInput, p.CacheCreationInput
	if cached == 0 {
		cached = p.Input
	}
	if created == 0 {
		created = p.Input
	}
	perMillion := float64(plain)*p.Input +
		float64(cacheRead)*cached +
		float64(cacheCreation)*created +
		float64(max(u.Output, 0))*p.Output
	return perMillion / 1e6, true
}
