package toolexec

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/overmind-core/overmind-go/rewrite"
)

// keptLib is a package of three files whose rewrites depend on each other
// through the package's types: a.go's parameters are typed in b.go.
var keptLib = map[string]string{
	"a.go": `package lib

import "context"

var _ context.Context

//overmind:tool
func Fetch(ctx Ctx, s Store, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	return "fetched " + id, nil
}

//overmind:function
func Later(n int) int {
	return n + 1
}

//overmind:function
func Spawn(s Store) {
	go s.Run()
}
`,
	"b.go": `package lib

import (
	"context"
	"fmt"
)

type Ctx = context.Context

type Store struct{ Name string }

func (s Store) Run() {}

//overmind:tool
func Describe(s Store) string {
	return fmt.Sprint("store ", s)
}
`,
	"c.go": `package lib

//overmind:function
func Count(xs []int) int {
	n := 0
	for range xs {
		n++
	}
	return n
}
`,
}

// keptPackage is a package on disk, compiled against the export data of
// fmt and context, and a driver keeping its rewrites in a directory of
// its own.
type keptPackage struct {
	t     *testing.T
	dir   string
	names []string
	cfg   *ImportConfig
	d     *driver
}

func newKeptPackage(t *testing.T, files map[string]string) *keptPackage {
	t.Helper()
	exp := mustExports(t)
	cfg, err := ParseImportConfig([]byte("packagefile context=" + exp["context"] + "\npackagefile fmt=" + exp["fmt"] + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	k := &keptPackage{t: t, dir: t.TempDir(), cfg: cfg, d: newDriver(Config{})}
	k.d.keptDir = t.TempDir()
	for name := range files {
		k.names = append(k.names, filepath.Join(k.dir, name))
	}
	slices.Sort(k.names)
	for name, src := range files {
		k.write(name, src)
	}
	return k
}

// write replaces the file name of the package.
func (k *keptPackage) write(name, src string) {
	k.t.Helper()
	if err := os.WriteFile(filepath.Join(k.dir, name), []byte(src), 0o644); err != nil {
		k.t.Fatal(err)
	}
}

// edit replaces old by new in the file name of the package.
func (k *keptPackage) edit(name, old, new string) {
	k.t.Helper()
	src, err := os.ReadFile(filepath.Join(k.dir, name))
	if err != nil || !bytes.Contains(src, []byte(old)) {
		k.t.Fatalf("%s lacks %q (%v)", name, old, err)
	}
	k.write(name, strings.Replace(string(src), old, new, 1))
}

// rewrite instruments the package as a compile does, keeping rewrites,
// and returns what it made of it and the files whose kept rewrite it
// used.
func (k *keptPackage) rewrite() (Instrumented, []string) {
	k.t.Helper()
	pkg, srcs, err := parsePackage("example.com/lib", "go1.26", k.names)
	if err != nil {
		k.t.Fatal(err)
	}
	kept := k.d.rewriteKeys(pkg, srcs, "example.com/lib", k.cfg)
	var hits []string
	for i, f := range pkg.Files {
		if _, ok := kept.get(i); ok && rewrite.LooksAt(f) {
			hits = append(hits, filepath.Base(k.names[i]))
		}
	}
	res, err := k.d.rewriteKept(pkg, srcs, "example.com/lib", k.cfg)
	if err != nil {
		k.t.Fatal(err)
	}
	return res, hits
}

// fresh instruments the package keeping nothing, and checks that
// [Rewrite], which rewrites file by file, gives what a rewrite of the
// whole package at once gives.
func (k *keptPackage) fresh() Instrumented {
	k.t.Helper()
	pkg, _, err := parsePackage("example.com/lib", "go1.26", k.names)
	if err != nil {
		k.t.Fatal(err)
	}
	if err := checkPackage(pkg, k.cfg); err != nil {
		k.t.Fatal(err)
	}
	res, err := Rewrite(pkg)
	if err != nil {
		k.t.Fatal(err)
	}
	if whole := rewriteWhole(k.t, pkg); !reflect.DeepEqual(res, whole) {
		k.t.Errorf("file by file:\n%s\nthe package at once:\n%s", dumpInstrumented(res), dumpInstrumented(whole))
	}
	return res
}

// rewriteWhole is [Rewrite] done by one call of rewrite.RewritePackage
// on the whole package.
func rewriteWhole(t *testing.T, pkg *Package) Instrumented {
	t.Helper()
	in := &rewrite.Package{Fset: pkg.Fset, Files: pkg.Files, Filenames: pkg.Filenames, Types: pkg.Types, Info: pkg.Info}
	res := rewrite.RewritePackage(in, rewrite.Options{Mode: rewrite.Instrument, Tests: true})
	out := Instrumented{Diagnostics: res.Diagnostics}
	for _, fr := range res.Files {
		src, err := fr.Result.FormatLines(pkg.Fset)
		if err != nil {
			t.Fatal(err)
		}
		out.Files = append(out.Files, RewrittenFile{Index: fr.Index, Source: src})
	}
	return out
}

// check rewrites the package, checks that the result is the same as a
// fresh rewrite's, and that the kept rewrites of exactly wantHits were
// used.
func (k *keptPackage) check(wantHits ...string) Instrumented {
	k.t.Helper()
	got, hits := k.rewrite()
	if !slices.Equal(hits, wantHits) {
		k.t.Errorf("used the kept rewrites of %q, want %q", hits, wantHits)
	}
	if want := k.fresh(); !reflect.DeepEqual(got, want) {
		k.t.Errorf("with kept rewrites:\n%s\nfresh:\n%s", dumpInstrumented(got), dumpInstrumented(want))
	}
	return got
}

// dumpInstrumented prints res for a test failure.
func dumpInstrumented(res Instrumented) string {
	var b strings.Builder
	for _, f := range res.Files {
		b.WriteString("== file " + string(rune('0'+f.Index)) + "\n" + string(f.Source))
	}
	for _, d := range res.Diagnostics {
		b.WriteString(d.String() + "\n")
	}
	return b.String()
}

// source is the rewritten text of file index in res, "" for none.
func source(res Instrumented, index int) string {
	for _, f := range res.Files {
		if f.Index == index {
			return string(f.Source)
		}
	}
	return ""
}

// TestKeptRewriteAfterBodyEdit checks that after an edit in a function
// body, only the edited file is rewritten again, and the kept rewrites of
// the others are byte for byte a fresh rewrite's, positions included
// though the edit moved the lines after it.
func TestKeptRewriteAfterBodyEdit(t *testing.T) {
	t.Parallel()
	k := newKeptPackage(t, keptLib)
	first := k.check()
	if len(first.Files) != 3 {
		t.Fatalf("rewrote %d files, want 3:\n%s", len(first.Files), dumpInstrumented(first))
	}
	k.check("a.go", "b.go", "c.go")
	k.edit("a.go", `return "fetched " + id, nil`, "id += \"!\"\n\n\treturn \"got \" + id, nil")
	edited := k.check("b.go", "c.go")
	if source(edited, 0) == source(first, 0) {
		t.Error("the edited file's rewrite did not change")
	}
	k.edit("b.go", `fmt.Sprint("store ", s)`, `fmt.Sprint("the store ", s)`)
	k.check("a.go", "c.go")
}

// TestKeptRewriteInvalidated checks that a change outside the function
// bodies of a file, which can change the package's types or names,
// rewrites every file again, and that the change does change the rewrite
// of another file (or the test would prove nothing).
func TestKeptRewriteInvalidated(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, old, new string
	}{
		{"struct becomes an interface", "type Store struct{ Name string }\n\nfunc (s Store) Run() {}", "type Store interface {\n\tcontext.Context\n\tRun()\n}"},
		{"a package name takes the runtime's import name", "type Store struct{ Name string }", "type Store struct{ Name string }\n\nvar overmind = 1"},
		{"an alias stops naming context.Context", "type Ctx = context.Context", "type Ctx = string\n\nvar _ context.Context"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k := newKeptPackage(t, keptLib)
			k.edit("b.go", `fmt.Sprint("store ", s)`, `fmt.Sprint("store")`)
			before := k.check()
			k.edit("b.go", tc.old, tc.new)
			after := k.check()
			if source(after, 0) == source(before, 0) {
				t.Errorf("a.go's rewrite is the same after the change:\n%s", source(after, 0))
			}
		})
	}
}

// TestKeptRewriteDiagnostics checks that a file's warnings come back with
// its kept rewrite, and that a file with an error is not kept.
func TestKeptRewriteDiagnostics(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"a.go": keptLib["a.go"],
		"b.go": keptLib["b.go"],
		"c.go": strings.Replace(keptLib["c.go"], "//overmind:function", "// overmind:function", 1),
	}
	k := newKeptPackage(t, files)
	first := k.check()
	if len(first.Diagnostics) != 1 || first.Diagnostics[0].Severity != rewrite.Warning {
		t.Fatalf("diagnostics %v, want one warning", first.Diagnostics)
	}
	if second := k.check("a.go", "b.go", "c.go"); !reflect.DeepEqual(second.Diagnostics, first.Diagnostics) {
		t.Errorf("kept diagnostics %v, want %v", second.Diagnostics, first.Diagnostics)
	}
	k.edit("c.go", "// overmind:function", "//overmind:function\n//overmind:tool")
	errs := k.check()
	if !rewrite.HasErrors(errs.Diagnostics) {
		t.Fatalf("diagnostics %v, want an error", errs.Diagnostics)
	}
	k.check("a.go", "b.go")
}

// TestKeptRewriteDamaged checks that a kept rewrite that is damaged or
// cannot be read is rewritten again, and that a cache that cannot be
// written to changes nothing.
func TestKeptRewriteDamaged(t *testing.T) {
	t.Parallel()
	k := newKeptPackage(t, keptLib)
	k.check()
	entries, err := filepath.Glob(filepath.Join(k.d.keptDir, "*", "*.rw"))
	if err != nil || len(entries) != 3 {
		t.Fatalf("kept %q (%v), want 3 files", entries, err)
	}
	damage := []func(data []byte) []byte{
		func(data []byte) []byte { return data[:len(data)-1] },
		func(data []byte) []byte { data[len(data)-2] ^= 1; return data },
		func(data []byte) []byte { return []byte("not a kept rewrite") },
	}
	for i, name := range entries {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, damage[i](data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	k.check()
	k.check("a.go", "b.go", "c.go")

	blocked := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocked, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	k.d.keptDir = blocked
	k.check()
}

// TestExportDataSum checks that an archive the build has just compiled is
// known by its export data, whatever its build ID, and that one in the
// build cache is known by its name.
func TestExportDataSum(t *testing.T) {
	t.Parallel()
	archive := mustExports(t)["fmt"]
	if !contentNamed(archive) {
		t.Errorf("%s is not known to be named by its content", archive)
	}
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	id := bytes.Index(data, []byte("\nbuild id \""))
	binary := bytes.Index(data, []byte("\n$$B\n"))
	if id < 0 || binary < id {
		t.Fatalf("%s has no build ID line before its export data", archive)
	}
	dir := t.TempDir()
	sum := func(change func([]byte)) []byte {
		t.Helper()
		copied := bytes.Clone(data)
		change(copied)
		name := filepath.Join(dir, "_pkg_.a")
		if err := os.WriteFile(name, copied, 0o644); err != nil {
			t.Fatal(err)
		}
		if contentNamed(name) {
			t.Errorf("%s is taken as named by its content", name)
		}
		s, err := exportDataSum(name)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	same := sum(func([]byte) {})
	if got := sum(func(b []byte) { b[id+len("\nbuild id \"")] ^= 1 }); !bytes.Equal(got, same) {
		t.Error("another build ID changes the sum")
	}
	if got := sum(func(b []byte) { b[binary+len("\n$$B\n")+10] ^= 1 }); bytes.Equal(got, same) {
		t.Error("other export data has the same sum")
	}
}

// TestKeptRewriteImportJustCompiled checks that an import the build has
// just compiled, which the importcfg names by a path in the build's own
// temporary directory, is known by its export data: the next build, in
// another directory, with the same export data under another build ID,
// uses the kept rewrites.
func TestKeptRewriteImportJustCompiled(t *testing.T) {
	t.Parallel()
	k := newKeptPackage(t, keptLib)
	data, err := os.ReadFile(mustExports(t)["context"])
	if err != nil {
		t.Fatal(err)
	}
	id := bytes.Index(data, []byte("\nbuild id \""))
	if id < 0 {
		t.Fatal("context's export data has no build ID")
	}
	useWork := func() {
		t.Helper()
		archive := filepath.Join(t.TempDir(), "b002", "_pkg_.a")
		data[id+len("\nbuild id \"")]++
		if err := os.MkdirAll(filepath.Dir(archive), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(archive, data, 0o644); err != nil {
			t.Fatal(err)
		}
		k.cfg.PackageFile["context"] = archive
		k.cfg.raw = []byte("packagefile context=" + archive + "\npackagefile fmt=" + k.cfg.PackageFile["fmt"] + "\n")
	}
	useWork()
	k.check()
	useWork()
	k.check("a.go", "b.go", "c.go")
}
