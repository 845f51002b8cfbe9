package rewrite_test

import (
	"go/ast"
	"testing"

	"github.com/overmind-core/overmind-go/rewrite"
)

// TestOrigin checks what a //line printer relies on: statements from the
// input map back to their original positions, and injected ones do not.
func TestOrigin(t *testing.T) {
	src := `package p

import "context"

//overmind:tool
func F(ctx context.Context) (int, error) {
	x := 1
	return x, ctx.Err()
}
`
	c, err := check(importer(t), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res, err := rewrite.File(rewrite.Input{Fset: c.fset, File: c.file, Pkg: c.pkg, Info: c.info}, rewrite.Instrument)
	if err != nil || len(res.Funcs) != 1 {
		t.Fatalf("err %v, funcs %d", err, len(res.Funcs))
	}
	fn := res.Funcs[0]
	if len(fn.Prologue) != 2 || fn.Directive == nil || fn.Stripped {
		t.Fatalf("unexpected func result %+v", fn)
	}
	body := fn.Decl.Body.List
	for i, s := range body {
		a, ok := res.Origin(s)
		injected := i < 2
		if ok == injected {
			t.Errorf("statement %d: origin %v, injected %v", i, ok, injected)
		}
		if ok {
			want := []int{7, 8}[i-2]
			if line := c.fset.Position(a.(ast.Stmt).Pos()).Line; line != want {
				t.Errorf("statement %d comes from line %d, want %d", i, line, want)
			}
		}
	}
}
