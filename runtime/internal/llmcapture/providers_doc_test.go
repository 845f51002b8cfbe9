package llmcapture

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the provider table of docs/providers.md")

// providersDoc is the page whose provider table is made from the table of
// providers.go.
var providersDoc = filepath.Join("..", "..", "..", "docs", "providers.md")

// The lines that enclose the generated table.
const (
	tableStart = "<!-- The table is generated from runtime/internal/llmcapture/providers.go: go test ./runtime/internal/llmcapture -run TestProvidersDoc -update -->"
	tableEnd   = "<!-- end of the generated table -->"
)

// TestProvidersDoc checks that docs/providers.md lists every provider as
// the table of providers.go has it; -update rewrites the list.
func TestProvidersDoc(t *testing.T) {
	doc, err := os.ReadFile(providersDoc)
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	i, j := strings.Index(text, tableStart), strings.Index(text, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no generated table (%q ... %q)", providersDoc, tableStart, tableEnd)
	}
	want := text[:i+len(tableStart)] + "\n" + providerTable() + text[j:]
	if want == text {
		return
	}
	if *update {
		if err := os.WriteFile(providersDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the provider table of %s is not the one providers.go makes; run go test ./runtime/internal/llmcapture -run TestProvidersDoc -update", providersDoc)
}

// providerTable renders the table of providers as Markdown.
func providerTable() string {
	var b strings.Builder
	b.WriteString("| `Config.Providers` name | hosts | `gen_ai.provider.name` | API |\n|---|---|---|---|\n")
	for _, p := range providers {
		names := "`" + p.name + "`"
		for _, a := range p.aliases {
			names += ", `" + a + "`"
		}
		var hosts, recorded []string
		for _, h := range p.hosts {
			switch {
			case h.pattern != "":
				hosts = append(hosts, "`"+h.pattern+"`")
			default:
				hosts = append(hosts, "`localhost:"+strconv.Itoa(h.port)+"`, `127.0.0.1:"+strconv.Itoa(h.port)+"`, `[::1]:"+strconv.Itoa(h.port)+"`")
			}
			if !slices.Contains(recorded, "`"+h.provider+"`") {
				recorded = append(recorded, "`"+h.provider+"`")
			}
		}
		b.WriteString("| " + names + " | " + strings.Join(hosts, ", ") + " | " + strings.Join(recorded, ", ") + " | " + p.api.name + " |\n")
	}
	return b.String()
}
