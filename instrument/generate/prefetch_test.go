package generate

import (
	"slices"
	"testing"

	"github.com/overmind-core/overmind-go/internal/gentest"
)

// TestPrefetch checks which export data is asked for while the packages
// are listed: that of the imports of the directories with directives, for
// this build, outside the module and its tests.
func TestPrefetch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gentest.WriteModule(t, dir, "example.com/pf")
	gentest.WriteFiles(t, dir, map[string][]byte{
		"a/a.go":          []byte("package a\n\nimport (\n\t\"strings\"\n\n\t\"example.com/pf/b\"\n)\n\n//overmind:function\nfunc A() string { return strings.ToUpper(b.B()) }\n"),
		"a/ignored.go":    []byte("//go:build ignore\n\npackage a\n\nimport \"net/http\"\n\nvar _ = http.Get\n"),
		"a/a_test.go":     []byte("package a\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) { A() }\n"),
		"b/b.go":          []byte("package b\n\nimport \"bytes\"\n\n// B says b.\nfunc B() string { return bytes.NewBufferString(\"b\").String() }\n"),
		"testdata/t/t.go": []byte("package t\n\nimport \"os\"\n\n//overmind:function\nfunc T() { os.Exit(0) }\n"),
	})
	opts := Options{Dir: dir, Patterns: []string{"./..."}, Env: gentest.Env()}
	dirs, ok := patternDirs(opts)
	if !ok {
		t.Fatal("./... is not a directory pattern")
	}
	if got := importsOfAnnotatedDirs(dirs, opts, "example.com/pf"); !slices.Equal(got, []string{"strings"}) {
		t.Errorf("prefetch asks for %v, want [strings]", got)
	}
	if exports := startPrefetch(opts).wait(); exports["strings"] == "" || len(exports) != 1 {
		t.Errorf("prefetched %v, want the export data of strings alone", exports)
	}
	res, err := Run(opts)
	if err != nil || len(res.Changes) != 1 || res.HasErrors() {
		t.Fatalf("Run: %v, %d changes, %v", err, len(res.Changes), res.Diagnostics)
	}
	if startPrefetch(Options{Dir: dir, Patterns: []string{"example.com/pf/..."}, Env: gentest.Env()}) != nil {
		t.Error("prefetch for a pattern that is not a directory")
	}
}
