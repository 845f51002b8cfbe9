package overmind

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// providerSet is a set of LLM providers whose calls are captured.
type providerSet uint32

const (
	providerOpenAI providerSet = 1 << iota
	providerAnthropic
	providerGoogle

	allProviders = providerOpenAI | providerAnthropic | providerGoogle
)

// providerNames maps the names Config.Providers accepts to providers. The
// Python SDK's names are accepted; "agno" is a Python framework with no Go
// counterpart.
var providerNames = map[string]providerSet{
	"openai":       providerOpenAI,
	"anthropic":    providerAnthropic,
	"google":       providerGoogle,
	"gemini":       providerGoogle,
	"genai":        providerGoogle,
	"google-genai": providerGoogle,
}

// Has reports whether p is in s.
func (s providerSet) Has(p providerSet) bool { return s&p == p }

// String lists the providers in s, for messages.
func (s providerSet) String() string {
	var names []string
	for name, p := range map[string]providerSet{"openai": providerOpenAI, "anthropic": providerAnthropic, "google": providerGoogle} {
		if s.Has(p) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// parseProviders parses Config.Providers; an empty list means every
// provider, as in the Python SDK.
func parseProviders(names []string) (providerSet, error) {
	if len(names) == 0 {
		return allProviders, nil
	}
	var set providerSet
	var unknown []string
	for _, n := range names {
		p, ok := providerNames[strings.ToLower(strings.TrimSpace(n))]
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", n))
			continue
		}
		set |= p
	}
	if len(unknown) > 0 {
		return set, fmt.Errorf("overmind: unknown provider %s in Config.Providers (known: openai, anthropic, google)", strings.Join(unknown, ", "))
	}
	return set, nil
}

// enabled holds the providers enabled by every Init so far: a later Init
// adds to them, never removes.
var enabled atomic.Uint32

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
	all := providerSet(enabled.Or(uint32(set))) | set
	providerHooksMu.Lock()
	hooks := slices.Clone(providerHooks)
	providerHooksMu.Unlock()
	for _, fn := range hooks {
		fn(all)
	}
}
