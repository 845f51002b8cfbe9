package generate_test

import (
	"testing"

	"github.com/overmind-core/overmind-go/instrument/generate"
	"github.com/overmind-core/overmind-go/internal/gentest"
)

// TestExamplesUpToDate fails when the committed examples differ from what
// the generator makes of them: run go generate ./examples/... after
// changing the generator or an example.
func TestExamplesUpToDate(t *testing.T) {
	res, err := generate.Run(generate.Options{Dir: gentest.RepoRoot(t), Patterns: []string{"./examples/..."}})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Diagnostics {
		t.Errorf("%v", d)
	}
	for _, c := range res.Changes {
		t.Errorf("%s is stale: run go generate ./examples/...\n%s", c.Path, generate.Diff(c, ""))
	}
	if res.Files == 0 {
		t.Error("no annotated files found in ./examples/...")
	}
}
