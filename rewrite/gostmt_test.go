package rewrite

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"
)

// TestAdoptingNamesExist checks that the runtime declares every function
// a rewritten go statement may call, for the shape its name says, and
// nothing the rewrite does not know of.
func TestAdoptingNamesExist(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join("..", "runtime", "adopting.go"), nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]*ast.FuncType{}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.IsExported() {
			declared[fd.Name.Name] = fd.Type
		}
	}
	want := 0
	for p := 0; p <= MaxAdoptingParams; p++ {
		for _, variadic := range []bool{false, true} {
			if variadic && p == 0 {
				continue
			}
			for r := 0; r <= MaxAdoptingResults; r++ {
				want++
				name := AdoptingName(p, variadic, r)
				if !adoptingNamePattern.MatchString(name) {
					t.Errorf("removal would not recognise %s", name)
				}
				ft := declared[name]
				if ft == nil {
					t.Errorf("the runtime does not declare %s", name)
					continue
				}
				fn, ok := ft.Params.List[0].Type.(*ast.FuncType)
				if !ok || ft.Params.NumFields() != 1 {
					t.Errorf("%s does not take one function", name)
					continue
				}
				isVariadic := false
				if n := len(fn.Params.List); n > 0 {
					_, isVariadic = fn.Params.List[n-1].Type.(*ast.Ellipsis)
				}
				if fn.Params.NumFields() != p || isVariadic != variadic || fn.Results.NumFields() != r {
					t.Errorf("%s takes a function of %d parameters (variadic %v) and %d results", name, fn.Params.NumFields(), isVariadic, fn.Results.NumFields())
				}
			}
		}
	}
	if len(declared) != want {
		t.Errorf("the runtime declares %d Adopting functions, the rewrite knows %d", len(declared), want)
	}
}
