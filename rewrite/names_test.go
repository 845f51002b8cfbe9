package rewrite

import "testing"

func TestSymbolPath(t *testing.T) {
	for path, want := range map[string]string{
		"example.com/shop":              "example.com/shop",
		"github.com/nats-io/nats.go":    "github.com/nats-io/nats%2ego",
		"gopkg.in/yaml.v3":              "gopkg.in/yaml%2ev3",
		"example.com/a.b/c.d.e":         "example.com/a.b/c%2ed%2ee",
		"main":                          "main",
		"a.b":                           "a%2eb",
		"example.com/100%/x y\"z":       "example.com/100%25/x%20y%22z",
		"example.com/caf\u00e9":         "example.com/caf%c3%a9",
		"command-line-arguments":        "command-line-arguments",
		"example.com/golden/yaml.v3_ok": "example.com/golden/yaml%2ev3_ok",
	} {
		if got := symbolPath(path); got != want {
			t.Errorf("symbolPath(%q) = %q, want %q", path, got, want)
		}
	}
}
