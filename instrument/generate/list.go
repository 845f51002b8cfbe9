package generate

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"path/filepath"
	"sort"
	"strings"

	"github.com/aymanbagabas/go-udiff"

	"github.com/overmind-core/overmind-go/rewrite"
)

// Listed is one directive found by [List].
type Listed struct {
	Pos  token.Position
	Kind rewrite.Kind
	// Name is the span name: the directive's, or the default.
	Name string
	// Directive is the parsed directive; its Decl belongs to a tree that
	// List does not keep otherwise.
	Directive *rewrite.Directive
}

// List finds the directives in the packages, reading syntax only. Files
// marked as generated are skipped, as [Run] skips them.
func List(opts Options) ([]Listed, []rewrite.Diagnostic, error) {
	cands, diags, err := findCandidates(opts)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for name, src := range cands.files {
		if src.relevant {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	fset := token.NewFileSet()
	var out []Listed
	for _, name := range names {
		f, err := parser.ParseFile(fset, name, cands.files[name].data, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			diags = append(diags, parseErrors(err)...)
			continue
		}
		if ast.IsGenerated(f) {
			continue
		}
		dirs, ds := rewrite.FindDirectives(fset, f)
		diags = append(diags, ds...)
		for _, d := range dirs {
			out = append(out, Listed{Pos: fset.Position(d.Pos), Kind: d.Kind, Name: d.SpanName(), Directive: d})
		}
	}
	return out, rewrite.SortDiagnostics(diags), nil
}

// String formats l as "file:line:col kind name".
func (l Listed) String() string { return fmt.Sprintf("%s %s %s", l.Pos, l.Kind, l.Name) }

// parseErrors converts go/parser's errors.
func parseErrors(err error) []rewrite.Diagnostic {
	var list scanner.ErrorList
	if !errors.As(err, &list) {
		return []rewrite.Diagnostic{{Pos: token.Position{}, Message: err.Error()}}
	}
	var out []rewrite.Diagnostic
	for _, e := range list {
		out = append(out, rewrite.Diagnostic{Pos: e.Pos, Message: e.Msg})
	}
	return out
}

// Diff is a unified diff of the change, with paths relative to dir in the
// style of git ("a/x.go", "b/x.go"), so that patch -p1 applies it.
func Diff(c Change, dir string) string {
	rel := RelPath(dir, c.Path)
	return udiff.Unified("a/"+rel, "b/"+rel, string(c.Old), string(c.New))
}

// RelPath is path relative to dir when it lies inside dir, else path.
func RelPath(dir, path string) string {
	if dir == "" {
		return path
	}
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return path
	}
	return filepath.ToSlash(rel)
}
