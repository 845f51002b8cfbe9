package generate

import (
	"go/build"
	"go/parser"
	"go/token"
	"testing"
)

// TestBuildForConstraintForms: a file left out by its constraint is
// explained by that constraint and given a command line that includes it,
// whether it states the constraint as //go:build or only as the older
// // +build lines (several of which must all hold).
func TestBuildForConstraintForms(t *testing.T) {
	other := "windows"
	if build.Default.GOOS == "windows" {
		other = "linux"
	}
	for _, c := range []struct{ name, src, why, run string }{
		{"gobuild", "//go:build special\n\npackage p\n", "//go:build special", "overmind instrument -tags=special"},
		{"plusbuild", "// +build special\n\npackage p\n", "// +build special", "overmind instrument -tags=special"},
		{"plusbuild-os", "// +build " + other + "\n\npackage p\n", "// +build " + other, "GOOS=" + other + " overmind instrument"},
		{"plusbuild-lines", "// +build special\n// +build extra\n\npackage p\n", "// +build special, // +build extra", "overmind instrument -tags=special,extra"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := parser.ParseFile(token.NewFileSet(), "p.go", c.src, parser.ParseComments|parser.PackageClauseOnly)
			if err != nil {
				t.Fatal(err)
			}
			got := buildFor("p.go", f, "")
			if got.why != c.why || got.run != c.run {
				t.Errorf("buildFor = {why: %q, run: %q}, want {%q, %q}", got.why, got.run, c.why, c.run)
			}
		})
	}
}
