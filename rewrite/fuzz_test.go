package rewrite_test

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/txtar"

	"github.com/overmind-core/overmind-go/rewrite"
)

// fuzzImports are the packages fuzzed files may import: enough of the
// standard library for real-looking code, and the runtime itself. They are
// loaded together so that their types are consistent.
var fuzzImports = []string{
	rewrite.RuntimePath,
	"bufio", "bytes", "context", "errors", "fmt", "io", "io/fs", "math", "math/bits",
	"net/http", "os", "path/filepath", "slices", "sort", "strconv", "strings", "sync",
	"sync/atomic", "time", "unicode", "unicode/utf8",
}

var universe struct {
	once sync.Once
	pkgs map[string]*types.Package
	err  error
}

// importer returns the types of fuzzImports, loaded once.
func importer(t testing.TB) types.ImporterFrom {
	universe.once.Do(func() {
		pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedTypes | packages.NeedImports}, fuzzImports...)
		if err != nil {
			universe.err = err
			return
		}
		universe.pkgs = map[string]*types.Package{}
		packages.Visit(pkgs, nil, func(p *packages.Package) {
			if p.Types != nil && len(p.Errors) == 0 {
				universe.pkgs[p.PkgPath] = p.Types
			}
		})
	})
	if universe.err != nil {
		t.Fatal(universe.err)
	}
	return mapImporter(universe.pkgs)
}

type mapImporter map[string]*types.Package

func (m mapImporter) Import(path string) (*types.Package, error) { return m.ImportFrom(path, "", 0) }

func (m mapImporter) ImportFrom(path, _ string, _ types.ImportMode) (*types.Package, error) {
	if p := m[path]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("%s is not available to fuzzed files", path)
}

// checked is a parsed and type-checked file.
type checked struct {
	fset *token.FileSet
	file *ast.File
	pkg  *types.Package
	info *types.Info
}

func check(imp types.Importer, src []byte) (*checked, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "fuzz.go", src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	info := &types.Info{
		Types:     map[ast.Expr]types.TypeAndValue{},
		Defs:      map[*ast.Ident]types.Object{},
		Uses:      map[*ast.Ident]types.Object{},
		Implicits: map[ast.Node]types.Object{},
		Scopes:    map[ast.Node]*types.Scope{},
	}
	conf := types.Config{Importer: imp, GoVersion: "go1.26", FakeImportC: false}
	pkg, err := conf.Check("example.com/fuzz/"+f.Name.Name, fset, []*ast.File{f}, info)
	if err != nil {
		return nil, err
	}
	return &checked{fset: fset, file: f, pkg: pkg, info: info}, nil
}

func rewriteChecked(t *testing.T, c *checked, mode rewrite.Mode) ([]byte, []rewrite.Diagnostic) {
	t.Helper()
	res, err := rewrite.File(rewrite.Input{Fset: c.fset, File: c.file, Pkg: c.pkg, Info: c.info}, mode)
	if err != nil {
		t.Fatal(err)
	}
	if rewrite.HasErrors(res.Diagnostics) {
		return nil, res.Diagnostics
	}
	out, err := res.Format()
	if err != nil {
		t.Fatal(err)
	}
	return out, res.Diagnostics
}

// annotate puts //overmind:function above every function with a body and
// no directive, and gofmts the result; it returns nil if src is not Go.
func annotate(src []byte) []byte {
	src, err := format.Source(src)
	if err != nil {
		return nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "fuzz.go", src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil
	}
	var lines []int
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil && !hasDirective(fd) {
			lines = append(lines, fset.Position(fd.Pos()).Offset-fset.Position(fd.Pos()).Column+1)
		}
	}
	var b bytes.Buffer
	last := 0
	for _, off := range lines {
		b.Write(src[last:off])
		b.WriteString("//overmind:function\n")
		last = off
	}
	b.Write(src[last:])
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil
	}
	return out
}

func hasDirective(fd *ast.FuncDecl) bool {
	if fd.Doc == nil {
		return false
	}
	for _, c := range fd.Doc.List {
		if strings.HasPrefix(c.Text, rewrite.Prefix) {
			return true
		}
	}
	return false
}

// FuzzRewrite instruments every function of a Go file and checks that the
// output is gofmt'd and type-checks, that instrumenting it again changes
// nothing, and that -remove gives the annotated input back byte for byte
// (for an input that holds generated code already, what -remove makes of
// the input).
//
//	go test ./rewrite -run '^$' -fuzz FuzzRewrite
func FuzzRewrite(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		imp := importer(t)
		rewriteAnything(t, imp, src)
		in := annotate(src)
		if in == nil {
			t.Skip("not Go")
		}
		orig, err := check(imp, in)
		if err != nil {
			t.Skip("does not type-check")
		}
		dirs, diags := rewrite.FindDirectives(orig.fset, orig.file)
		if rewrite.HasErrors(diags) || len(dirs) == 0 {
			t.Skip("no valid directives")
		}
		for _, d := range dirs {
			for _, s := range d.Decl.Body.List {
				if e, ok := s.(*ast.EmptyStmt); ok && !e.Implicit {
					// "func f() { ; g() }": gofmt drops the ";" once the
					// body spans several lines, as instrumented bodies do.
					t.Skip("explicit empty statement in a one-line body")
				}
			}
		}
		out, diags := rewriteChecked(t, orig, rewrite.Instrument)
		if out == nil {
			for _, d := range diags {
				if !strings.Contains(d.Message, "reserved for generated code") && !strings.Contains(d.Message, "redeclared") && !strings.Contains(d.Message, "not at the top") {
					t.Fatalf("unexpected error on valid input: %v\n%s", d, in)
				}
			}
			t.Skip("uses reserved names")
		}
		if formatted, err := format.Source(out); err != nil || !bytes.Equal(formatted, out) {
			t.Fatalf("output is not gofmt'd (%v):\n%s", err, out)
		}
		inst, err := check(imp, out)
		if err != nil {
			t.Fatalf("output does not type-check: %v\n%s", err, out)
		}
		again, _ := rewriteChecked(t, inst, rewrite.Instrument)
		if !bytes.Equal(again, out) {
			t.Fatalf("instrumenting the output changes it:\n%s", diffText(out, again))
		}
		// An input holding generated code already comes back without it.
		want, _ := rewriteChecked(t, orig, rewrite.Remove)
		removed, _ := rewriteChecked(t, inst, rewrite.Remove)
		if !bytes.Equal(removed, want) {
			t.Fatalf("-remove does not give back the input:\n%s", diffText(want, removed))
		}
	})
}

// rewriteAnything rewrites src as it is, whatever the parser and the type
// checker say of it, in both modes: the rewrite may refuse it with an
// error or diagnostics, but must not panic, which File reports as an
// internal error.
func rewriteAnything(t *testing.T, imp types.Importer, src []byte) {
	fset := token.NewFileSet()
	f, _ := parser.ParseFile(fset, "fuzz.go", src, parser.AllErrors|parser.ParseComments|parser.SkipObjectResolution)
	if f == nil {
		return
	}
	info := &types.Info{
		Types:     map[ast.Expr]types.TypeAndValue{},
		Defs:      map[*ast.Ident]types.Object{},
		Uses:      map[*ast.Ident]types.Object{},
		Implicits: map[ast.Node]types.Object{},
		Scopes:    map[ast.Node]*types.Scope{},
	}
	conf := types.Config{Importer: imp, GoVersion: "go1.26", Error: func(error) {}}
	pkg, _ := conf.Check("example.com/fuzz", fset, []*ast.File{f}, info)
	for _, mode := range []rewrite.Mode{rewrite.Instrument, rewrite.Remove} {
		res, err := rewrite.File(rewrite.Input{Fset: fset, File: f, Pkg: pkg, Info: info}, mode)
		if err != nil {
			continue
		}
		for _, d := range res.Diagnostics {
			if strings.Contains(d.Message, "internal error") {
				t.Fatalf("mode %d: %v\n%q", mode, d, src)
			}
		}
		if !rewrite.HasErrors(res.Diagnostics) {
			res.Format() // may fail on input the parser rejected, must not panic
		}
	}
}

func diffText(want, got []byte) string {
	return fmt.Sprintf("--- want\n%s\n--- got\n%s", want, got)
}

// fuzzSeeds are the golden inputs and a few single-file standard packages.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "*.txtar"))
	for _, p := range paths {
		if strings.HasPrefix(filepath.Base(p), "error_") {
			continue
		}
		a, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range a.Files {
			if strings.HasSuffix(f.Name, ".go") && !strings.HasPrefix(f.Name, "out/") {
				seeds = append(seeds, f.Data)
			}
		}
	}
	// Input the parser rejects in different ways: a byte that is not UTF-8
	// in a comment (the parser gives up after the package clause) and in a
	// string (it goes on), and a syntax error before a directive.
	seeds = append(seeds,
		[]byte("package p\n\n// \xff\n\n//overmind:tool\nfunc A() {}\n"),
		[]byte("package p\n\nvar s = \"\xff\"\n\n//overmind:tool\nfunc A() {}\n"),
		[]byte("package p\n\nfunc B() {\n\tx :=\n}\n\n//overmind:tool\nfunc A(x int) int { return x }\n"),
	)
	for _, name := range []string{"container/list/list.go", "container/ring/ring.go", "container/heap/heap.go", "text/tabwriter/tabwriter.go"} {
		data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", filepath.FromSlash(name)))
		if err == nil {
			seeds = append(seeds, data)
		}
	}
	return seeds
}
