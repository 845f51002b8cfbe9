package overmind

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/overmind-core/overmind-go/runtime/internal/llmcapture"
)

// providerSet is a set of the LLM providers whose calls are captured:
// bit i stands for llmcapture.ProviderNames()[i], so that the providers,
// their names and aliases are those of the capture's one table.
type providerSet uint64

// allProviders is every provider.
var allProviders = providerSet(1)<<len(llmcapture.ProviderNames()) - 1

// Has reports whether p is in s.
func (s providerSet) Has(p providerSet) bool { return s&p == p }

// names lists the names of the providers in s, in the table's order.
func (s providerSet) names() []string {
	var names []string
	for i, name := range llmcapture.ProviderNames() {
		if s.Has(1 << i) {
			names = append(names, name)
		}
	}
	return names
}

// String lists the providers in s, for messages.
func (s providerSet) String() string { return strings.Join(s.names(), ",") }

// parseProviders parses Config.Providers; an empty list means every
// provider, as in the Python SDK, whose names are accepted ("agno" is a
// Python framework with no Go counterpart).
func parseProviders(names []string) (providerSet, error) {
	if len(names) == 0 {
		return allProviders, nil
	}
	var set providerSet
	var unknown []string
	for _, n := range names {
		i, ok := llmcapture.ProviderIndex(n)
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", n))
			continue
		}
		set |= 1 << i
	}
	if len(unknown) > 0 {
		return set, fmt.Errorf("overmind: unknown provider %s in Config.Providers (known: %s)", strings.Join(unknown, ", "), strings.Join(llmcapture.ProviderNames(), ", "))
	}
	return set, nil
}

// enabled holds the providers enabled by every Init so far: a later Init
// adds to them, never removes.
var enabled atomic.Uint64

// enabledProviders returns the providers whose calls are to be captured.
// It is empty before Init.
func enabledProviders() providerSet { return providerSet(enabled.Load()) }

var (
	providerHooksMu sync.Mutex
	providerHooks   []func(providerSet)
)

// onProvidersEnabled registers fn to be called with the full set of
// enabled providers by every successful Init (under Init's lock, so calls
// never overlap), and right away if an Init has already enabled some. The
// provider capture uses it to install its hooks; fn must be idempotent.
func onProvidersEnabled(fn func(providerSet)) {
	providerHooksMu.Lock()
	providerHooks = append(providerHooks, fn)
	providerHooksMu.Unlock()
	if set := enabledProviders(); set != 0 {
		fn(set)
	}
}

// enableProviders adds set to the enabled providers and runs the hooks.
func enableProviders(set providerSet) {
	all := providerSet(enabled.Or(uint64(set))) | set
	providerHooksMu.Lock()
	hooks := slices.Clone(providerHooks)
	providerHooksMu.Unlock()
	for _, fn := range hooks {
		fn(all)
	}
}
