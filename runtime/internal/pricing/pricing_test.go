package pricing

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustTable(t *testing.T, prices map[string]Price) *Table {
	t.Helper()
	tab, err := New(prices)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestCost(t *testing.T) {
	t.Parallel()
	tab := mustTable(t, map[string]Price{
		"gpt-4.1-mini":      {Input: 0.40, Output: 1.60, CachedInput: 0.10},
		"claude-sonnet-4-5": {Input: 3, Output: 15, CachedInput: 0.30, CacheCreationInput: 3.75},
		"no-cache-price":    {Input: 2, Output: 4},
	})
	cases := []struct {
		name  string
		model string
		u     Tokens
		want  float64
		ok    bool
	}{
		{"plain", "gpt-4.1-mini", Tokens{Input: 1000, Output: 500}, (1000*0.40 + 500*1.60) / 1e6, true},
		// OpenAI: the input count includes the cached tokens.
		{"cached", "gpt-4.1-mini", Tokens{Input: 1000, Output: 0, CacheRead: 800}, (200*0.40 + 800*0.10) / 1e6, true},
		// Anthropic, normalized: input = raw + cache read + cache creation.
		{"cache write", "claude-sonnet-4-5", Tokens{Input: 1100, Output: 10, CacheRead: 600, CacheCreation: 400}, (100*3 + 600*0.30 + 400*3.75 + 10*15) / 1e6, true},
		{"no cached price: input price", "no-cache-price", Tokens{Input: 100, CacheRead: 50, Output: 1}, (50*2 + 50*2 + 1*4) / 1e6, true},
		{"dated model", "gpt-4.1-mini-2025-04-14", Tokens{Input: 1e6}, 0.40, true},
		{"compact date", "claude-sonnet-4-5-20250929", Tokens{Output: 1e6}, 15, true},
		{"latest", "claude-sonnet-4-5-latest", Tokens{Output: 1e6}, 15, true},
		{"models/ prefix", "models/gpt-4.1-mini", Tokens{Input: 1e6}, 0.40, true},
		{"unknown model", "gpt-5", Tokens{Input: 10}, 0, false},
		{"no partial match", "gpt-4.1-mini-high", Tokens{Input: 10}, 0, false},
		{"no tokens", "gpt-4.1-mini", Tokens{}, 0, false},
		{"empty model", "", Tokens{Input: 1}, 0, false},
		{"counts inconsistent: never negative", "gpt-4.1-mini", Tokens{Input: 10, CacheRead: 20}, 20 * 0.10 / 1e6, true},
	}
	for _, c := range cases {
		got, ok := tab.Cost(c.model, c.u)
		if ok != c.ok || !near(got, c.want) {
			t.Errorf("%s: Cost(%q, %+v) = %v, %v; want %v, %v", c.name, c.model, c.u, got, ok, c.want, c.ok)
		}
	}
}

func TestEmptyTableHasNoCost(t *testing.T) {
	t.Parallel()
	var nilTable *Table
	if _, ok := nilTable.Cost("gpt-4.1-mini", Tokens{Input: 1}); ok {
		t.Error("nil table gave a cost")
	}
	if _, ok := (&Table{}).Cost("gpt-4.1-mini", Tokens{Input: 1}); ok {
		t.Error("empty table gave a cost")
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	tab, err := Parse([]byte(`{"gpt-4.1-mini": {"input": 0.4, "output": 1.6, "cached_input": 0.1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := tab.Lookup("gpt-4.1-mini"); !ok || p != (Price{Input: 0.4, Output: 1.6, CachedInput: 0.1}) {
		t.Errorf("Lookup = %+v, %v", p, ok)
	}
	for _, bad := range []struct{ json, want string }{
		{`[1,2]`, "not a JSON object"},
		{`{"m": {"inputs": 1}}`, `unknown field "inputs"`},
		{`{"m": {"input": -1}}`, "input price -1"},
		{`{"m": {"output": "x"}}`, `model "m"`},
		{`{" ": {"input": 1}}`, "empty model name"},
	} {
		if _, err := Parse([]byte(bad.json)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Parse(%s) error = %v, want it to mention %q", bad.json, err, bad.want)
		}
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "prices.json")
	if err := os.WriteFile(path, []byte(`{"m": {"input": 1, "output": 2}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tab, err := Load(path)
	if err != nil || tab.Len() != 1 {
		t.Fatalf("Load = %v, %v", tab, err)
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{`), 0o600)
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("Load of bad JSON: error %v does not name the file", err)
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	a := mustTable(t, map[string]Price{"x": {Input: 1}, "y": {Input: 2}})
	b := mustTable(t, map[string]Price{"y": {Input: 3}})
	m := a.Merge(b)
	if p, _ := m.Lookup("y"); p.Input != 3 {
		t.Errorf("merged y = %v, want the later table's 3", p.Input)
	}
	if p, _ := m.Lookup("x"); p.Input != 1 {
		t.Errorf("merged x = %v", p.Input)
	}
	if p, _ := a.Lookup("y"); p.Input != 2 {
		t.Error("Merge modified its receiver")
	}
	var empty *Table
	if empty.Merge(a) != a || a.Merge(nil) != a {
		t.Error("merging with an empty table should return the other")
	}
}
