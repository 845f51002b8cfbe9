package rewrite_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"

	"github.com/overmind-core/overmind-go/internal/gentest"
	"github.com/overmind-core/overmind-go/rewrite"
)

// isAnchor reports whether FormatLines keeps n's position: statements
// and declarations, but not imports, which the rewrite may add anywhere.
func isAnchor(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.BlockStmt, *ast.EmptyStmt, *ast.BadStmt, *ast.BadDecl:
		return false
	case *ast.GenDecl:
		return n.Tok != token.IMPORT
	case ast.Stmt, ast.Decl:
		return true
	}
	return false
}

type anchor struct {
	kind string
	pos  string
}

func anchorsOf(fset *token.FileSet, f *ast.File, skip func(token.Pos) bool) []anchor {
	var out []anchor
	ast.Inspect(f, func(n ast.Node) bool {
		if n != nil && isAnchor(n) && !skip(n.Pos()) {
			out = append(out, anchor{reflect.TypeOf(n).Elem().Name(), fset.Position(n.Pos()).String()})
		}
		return true
	})
	return out
}

// checkLines rewrites c and checks FormatLines' output: it parses, every
// statement and declaration of the input is at its input position (as
// go/parser reads the /*line*/ directives, as the compiler does), and
// every other one is at the opening brace of a function of the input.
// Generated code the input held already is replaced, so it is left out.
func checkLines(t *testing.T, c *checked) {
	t.Helper()
	res, err := rewrite.File(rewrite.Input{Fset: c.fset, File: c.file, Pkg: c.pkg, Info: c.info}, rewrite.Instrument)
	if err != nil {
		t.Fatal(err)
	}
	if rewrite.HasErrors(res.Diagnostics) {
		t.Skipf("diagnostics: %v", res.Diagnostics)
	}
	out, err := res.FormatLines(c.fset)
	if err != nil {
		t.Fatalf("FormatLines: %v", err)
	}
	ofset := token.NewFileSet()
	// go/parser joins a relative //line file name to the directory of the
	// file it parses (the compiler does not): parse from the same one.
	of, err := parser.ParseFile(ofset, filepath.Join(filepath.Dir(c.fset.Position(c.file.Pos()).Filename), "rewritten.go"), out, parser.ParseComments)
	if err != nil {
		t.Fatalf("output does not parse: %v\n%s", err, out)
	}
	got := map[anchor]int{}
	for _, a := range anchorsOf(ofset, of, func(token.Pos) bool { return false }) {
		got[a]++
	}
	stripped := func(p token.Pos) bool {
		for _, r := range res.Stripped {
			if r.Pos <= p && p < r.End {
				return true
			}
		}
		return false
	}
	allowed := map[string]bool{}
	for _, a := range anchorsOf(c.fset, c.file, stripped) {
		allowed[a.pos] = true
		if got[a] == 0 {
			t.Errorf("%s at %s lost its position\n%s", a.kind, a.pos, out)
			return
		}
		got[a]--
	}
	ast.Inspect(c.file, func(n ast.Node) bool {
		switch fn := n.(type) {
		case *ast.FuncDecl:
			if fn.Body != nil {
				allowed[c.fset.Position(fn.Body.Lbrace).String()] = true
			}
		case *ast.FuncLit:
			allowed[c.fset.Position(fn.Body.Lbrace).String()] = true
		}
		return true
	})
	for a, n := range got {
		if n > 0 && !allowed[a.pos] {
			t.Errorf("added %s placed at %s, not at a function's opening brace\n%s", a.kind, a.pos, out)
		}
	}
}

func TestFormatLinesSeeds(t *testing.T) {
	imp := importer(t)
	for i, seed := range fuzzSeeds(t) {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			in := annotate(seed)
			if in == nil {
				t.Skip("not Go")
			}
			c, err := check(imp, in)
			if err != nil {
				t.Skip("does not type-check")
			}
			checkLines(t, c)
		})
	}
}

// unformatted is instrumented code gofmt would move around a lot.
const unformatted = `package p

import "fmt"

//overmind:function
func F(a int) (int, error) { x := a + 1; if x > 2 { return x, nil }


	y := []int{
		1, 2,
	}; fmt.Println(y)
	switch x { case 1: return 1, nil
	default: }
	for i := 0; i < 2; i++ { defer func() { _ = recover() }() }
L:	for range 3 { if x > 0 { break L } }
	return x, fmt.Errorf("e")
}

var V = F

//overmind:tool
func G() { go func() {}(); var z int; _ = z }
`

func TestFormatLinesUnformatted(t *testing.T) {
	c, err := check(importer(t), []byte(unformatted))
	if err != nil {
		t.Fatal(err)
	}
	checkLines(t, c)
}

// TestFormatLinesCovered rewrites a file as cmd/go's cover tool hands it
// to the compiler: a //line directive naming the user's file, and counters
// on the lines of the braces.
func TestFormatLinesCovered(t *testing.T) {
	src := "//line /home/u/p/p.go:1:1\n" + `package p

var goCover_0 [3]uint32

//overmind:function
func F(a int) int {goCover_0[0] = 1;
	if a > 0 {goCover_0[1] = 1;
		return a
	}
	goCover_0[2] = 1;return -a
}
`
	c, err := check(importer(t), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.fset.Position(c.file.Decls[1].Pos()); p.Filename != "/home/u/p/p.go" || p.Line != 6 {
		t.Fatalf("the input's //line directive is not honoured: %v", p)
	}
	checkLines(t, c)
}

// TestFormatLinesRuntimeCaller compiles and runs a rewritten program that
// reports its own lines through runtime.Caller and a recovered panic's
// stack, and checks they are the lines of the input.
func TestFormatLinesRuntimeCaller(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	src := `package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

func line() int { _, _, l, _ := runtime.Caller(1); return l }

//overmind:function
func F(n int) (r int) { a := line(); defer func() {
		if recover() != nil { r = a*1000 + panicLine(string(debug.Stack())) }
	}()


	if n > 0 { panic("x") }; return a
}

// panicLine is the line of F's frame in a stack trace.
func panicLine(stack string) int {
	lines := strings.Split(stack, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "main.F(") && i+1 < len(lines) {
			var n int
			fmt.Sscanf(lines[i+1][strings.LastIndex(lines[i+1], ":")+1:], "%d", &n)
			return n
		}
	}
	return 0
}

func main() { fmt.Println(F(0), F(1)) }
`
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedTypes | packages.NeedImports},
		"fmt", "runtime", "runtime/debug", "strings", rewrite.RuntimePath)
	if err != nil {
		t.Fatal(err)
	}
	imp := mapImporter{}
	packages.Visit(pkgs, nil, func(p *packages.Package) { imp[p.PkgPath] = p.Types })
	c, err := check(imp, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res, err := rewrite.File(rewrite.Input{Fset: c.fset, File: c.file, Pkg: c.pkg, Info: c.info}, rewrite.Instrument)
	if err != nil || rewrite.HasErrors(res.Diagnostics) || len(res.Funcs) != 1 {
		t.Fatalf("rewrite: %v %v", err, res.Diagnostics)
	}
	out, err := res.FormatLines(c.fset)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gentest.WriteModule(t, dir, "example.com/lines")
	// The file is compiled under another name, as the driver does, with
	// a first line that names the original.
	gentest.WriteFiles(t, dir, map[string][]byte{"rewritten/main.go": append([]byte("/*line fuzz.go:1:1*/"), out...)})
	bin := filepath.Join(dir, "prog")
	gentest.Go(t, dir, "build", "-o", bin, "./rewritten")
	got, err := exec.Command(bin).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	// F(0): line() is on line 13. F(1): the panic is on line 18.
	if want := "13 13018\n"; string(got) != want {
		t.Errorf("the program printed %q, want %q; it was:\n%s", got, want, out)
	}
	if testing.Verbose() {
		os.Stdout.Write(out)
	}
	if !strings.Contains(string(out), "/*line fuzz.go:18:13*/") {
		t.Errorf("no directive for the panic's statement:\n%s", out)
	}
}

// FuzzFormatLines checks FormatLines on every function of a Go file
// instrumented, as checkLines does.
//
//	go test ./rewrite -run '^$' -fuzz FuzzFormatLines
func FuzzFormatLines(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Add([]byte(unformatted))
	f.Fuzz(func(t *testing.T, src []byte) {
		in := annotate(src)
		if in == nil {
			t.Skip("not Go")
		}
		c, err := check(importer(t), in)
		if err != nil {
			t.Skip("does not type-check")
		}
		checkLines(t, c)
	})
}
