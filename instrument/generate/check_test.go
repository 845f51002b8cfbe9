package generate

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/overmind-core/overmind-go/internal/gentest"
)

// layered is a module where a package with directives (d) reaches
// another (e) only through a package without any (plain): plain's export
// data mentions e's types, so e must be checked before d.
var layered = map[string][]byte{
	"e/e.go":         []byte("package e\n\n// T is a value.\ntype T struct{ N int }\n\n//overmind:function\nfunc New(n int) T { return T{N: n} }\n"),
	"plain/plain.go": []byte("package plain\n\nimport \"example.com/layered/e\"\n\n// Make makes a T.\nfunc Make() e.T { return e.New(1) }\n"),
	"d/d.go":         []byte("package d\n\nimport \"example.com/layered/plain\"\n\n//overmind:function\nfunc D() int { t := plain.Make(); return t.N }\n"),
	"d/d_test.go":    []byte("package d\n\nimport \"testing\"\n\nfunc TestD(t *testing.T) { _ = D() }\n"),
}

func layeredModule(t *testing.T) string {
	dir := t.TempDir()
	gentest.WriteModule(t, dir, "example.com/layered")
	gentest.WriteFiles(t, dir, layered)
	return dir
}

// TestCheckOrder checks that a package waits for the packages with
// directives that it reaches through packages read from export data, and
// that only the packages with directives are checked from source.
func TestCheckOrder(t *testing.T) {
	t.Parallel()
	opts := Options{Dir: layeredModule(t), Patterns: []string{"./..."}, Env: gentest.Env()}
	cands, _, err := findCandidates(opts, graphMode)
	if err != nil {
		t.Fatal(err)
	}
	chk := newChecker(opts, cands.files)
	if err := chk.prepare(cands.roots); err != nil {
		t.Fatal(err)
	}
	units := map[string]*unit{}
	for p, u := range chk.units {
		units[p.ID] = u
	}
	d, e := units["example.com/layered/d"], units["example.com/layered/e"]
	if d == nil || e == nil || len(units) != 2 {
		t.Fatalf("units %v, want d and e", keys(units))
	}
	if d.waiting != 1 || !slices.Contains(e.dependents, d) {
		t.Errorf("d waits for %d units, e's dependents are %d: d must wait for e", d.waiting, len(e.dependents))
	}
	if exports := keys(chk.exports); !slices.Equal(exports, []string{"example.com/layered/plain"}) {
		t.Errorf("export data asked for %v: want plain's alone", exports)
	}
}

// TestLayeredModule instruments the module: d's check reads plain's export
// data, which names e's types, checked from source; any mix-up between the
// two would be a type error.
func TestLayeredModule(t *testing.T) {
	t.Parallel()
	for _, tests := range []bool{false, true} {
		res, err := Run(Options{Dir: layeredModule(t), Patterns: []string{"./..."}, Tests: tests, Env: gentest.Env()})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Diagnostics) > 0 || len(res.Changes) != 2 {
			t.Errorf("tests=%v: %d changes, diagnostics %v", tests, len(res.Changes), res.Diagnostics)
		}
	}
}

// TestImportErrorSaysWhy reports an import the go command cannot find with
// the go command's reason, not a reader's complaint about export data.
func TestImportErrorSaysWhy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gentest.WriteModule(t, dir, "example.com/missing")
	gentest.WriteFiles(t, dir, map[string][]byte{
		"a/a.go": []byte("package a\n\nimport \"example.com/missing/gone\"\n\n//overmind:function\nfunc A() int { return gone.X }\n"),
	})
	res, err := Run(Options{Dir: dir, Patterns: []string{"./..."}, Env: gentest.Env()})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range res.Diagnostics {
		got = append(got, d.String())
	}
	// (With -mod=mod and no proxy, as gentest.Env sets, the go command
	// says it cannot look the module up.)
	want := "a/a.go:3:8: could not import example.com/missing/gone (cannot find module providing package example.com/missing/gone"
	if !res.HasErrors() || len(got) == 0 || !strings.Contains(got[0], want) {
		t.Errorf("diagnostics:\n%s\nwant one containing:\n%s", strings.Join(got, "\n"), want)
	}
}

// TestBrokenDependency instruments a package that imports one that does
// not compile, whose export data the go command cannot build: like
// go/packages, the generator checks that package from source instead, and
// leaves its errors to the build.
func TestBrokenDependency(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gentest.WriteModule(t, dir, "example.com/broken")
	gentest.WriteFiles(t, dir, map[string][]byte{
		"bad/bad.go":       []byte("package bad\n\n// X is declared with a value of the wrong type.\nvar X int = \"no\"\n"),
		"middle/middle.go": []byte("package middle\n\nimport \"example.com/broken/bad\"\n\n// Y is X.\nfunc Y() int { return bad.X }\n"),
		"a/a.go":           []byte("package a\n\nimport (\n\t\"example.com/broken/bad\"\n\t\"example.com/broken/middle\"\n)\n\n//overmind:function\nfunc A() int { return bad.X + middle.Y() }\n"),
	})
	res, err := Run(Options{Dir: dir, Patterns: []string{"./a"}, Env: gentest.Env()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Diagnostics) > 0 || len(res.Changes) != 1 {
		t.Errorf("%d changes, diagnostics %v; want a/a.go rewritten, no diagnostics", len(res.Changes), res.Diagnostics)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestRewriteWhileReadingExports rewrites packages while others are still
// being checked: the rewrite of a walks the imports of the packages it
// reaches through export data, among them q, which b's check then reads
// in full. Run with -race, it fails if the rewrite and the reading of
// export data are not kept apart.
func TestRewriteWhileReadingExports(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gentest.WriteModule(t, dir, "example.com/race")
	files := map[string][]byte{
		"q/q.go":   []byte("package q\n\n// Q is an interface.\ntype Q interface{ M() }\n\n// V is a Q.\nvar V Q\n"),
		"p1/p1.go": []byte("package p1\n\nimport \"example.com/race/q\"\n\n// P returns a Q.\nfunc P() q.Q { return q.V }\n"),
		"a/a.go":   []byte("package a\n\nimport \"example.com/race/p1\"\n\n//overmind:function\nfunc A(x interface{ M() }) { _ = p1.P() }\n"),
	}
	for i := range 4 {
		files[fmt.Sprintf("b%d/b.go", i)] = []byte(fmt.Sprintf("package b%d\n\nimport \"example.com/race/q\"\n\n//overmind:function\nfunc B(x q.Q) {}\n", i))
	}
	gentest.WriteFiles(t, dir, files)
	for range 8 {
		res, err := Run(Options{Dir: dir, Patterns: []string{"./..."}, Env: gentest.Env()})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Diagnostics) > 0 || len(res.Changes) != 5 {
			t.Fatalf("%d changes, diagnostics %v", len(res.Changes), res.Diagnostics)
		}
	}
}
