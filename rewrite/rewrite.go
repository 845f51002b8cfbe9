package rewrite

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"

	"github.com/dave/dst"
	"github.com/dave/dst/decorator"
)

// Mode selects what [File] does.
type Mode int

const (
	// Instrument removes any generated code, then instruments every
	// function that has a directive. Running it on its own output changes
	// nothing.
	Instrument Mode = iota
	// Remove removes all generated code and leaves the directives.
	Remove
)

// Input is one file to rewrite, with the type information of its package.
type Input struct {
	Fset *token.FileSet
	File *ast.File // parsed with comments
	// Pkg and Info come from type-checking the package File belongs to.
	// Info needs Defs, Uses, Implicits and Scopes. In Remove mode both may
	// be nil, at the cost of a syntactic guess at which runtime imports are
	// still used.
	Pkg  *types.Package
	Info *types.Info
}

// Range is a range of positions in the input file.
type Range struct{ Pos, End token.Pos }

// Result is a rewritten file. Nothing is written anywhere: print it with
// [Result.Format] and write it if it differs from the input.
type Result struct {
	// File is the rewritten syntax tree.
	File *dst.File
	// Decorator converted the input to File. Its maps relate the input's
	// nodes and File's: Decorator.Ast.Nodes[n] is the input node a dst
	// node came from, and nodes generated code added are absent from it.
	// Its Fset holds the input file alone, with //line directives
	// ignored; take positions from the input's file set instead.
	Decorator *decorator.Decorator
	// Funcs are the functions that were instrumented or had generated code
	// removed, in file order.
	Funcs []*Func
	// Stripped are the ranges of the input that held generated code: the
	// prologues removed and the imports of the runtime package. Type errors
	// there are expected when a user has edited an instrumented function,
	// and do not stand in the way of regenerating it.
	Stripped []Range
	// Diagnostics are the problems found, sorted. When any is an Error,
	// File may be partly rewritten and must not be written.
	Diagnostics []Diagnostic
	// Changed reports whether File differs from the input's syntax:
	// generated code was removed or added. Regenerating identical code
	// still counts; compare the formatted bytes to know whether the file
	// changes.
	Changed bool

	// lineDirectives tells, for each "//line " comment of the input in
	// order, whether it was at column 1, where it is a directive.
	lineDirectives []bool
}

// Func is a function the rewrite touched.
type Func struct {
	// Decl is the function in Result.File.
	Decl *dst.FuncDecl
	// Directive is the directive it was instrumented for, or nil if only
	// old generated code was removed.
	Directive *Directive
	// Stripped reports whether generated code was removed from it first.
	Stripped bool
	// Prologue holds the statements added at the top of its body, if any.
	Prologue []dst.Stmt

	oneline bool // the stripped prologue said the body was on one line
}

// File rewrites one file: it removes the generated code it finds and, in
// Instrument mode, instruments the functions that have directives. It
// returns an error only when the input cannot be converted at all; problems
// with the input are Result.Diagnostics.
func File(in Input, mode Mode) (res *Result, err error) {
	if !in.File.Package.IsValid() || in.Fset.File(in.File.Package) == nil {
		// go/parser returns such a file when it gives up after the package
		// clause: there is nothing to rewrite, and it has reported why.
		return nil, fmt.Errorf("rewrite: the file has no package clause; it did not parse")
	}
	defer func() {
		if r := recover(); r != nil {
			// A bug in the rewrite or a library it uses: say where, without
			// taking the whole run down, and write nothing.
			res, err = &Result{Diagnostics: []Diagnostic{{
				Pos:      in.Fset.Position(in.File.Package),
				Severity: Error,
				Message:  fmt.Sprintf("internal error while rewriting this file (a bug in overmind, please report it): %v", r),
			}}}, nil
		}
	}()
	fset, err := withoutLineDirectives(in.Fset, in.File)
	if err != nil {
		return nil, err
	}
	// As decorator.NewDecorator, with room in its maps for every node.
	dec := &decorator.Decorator{Map: sizedMap(countNodes(in.File)), Filenames: map[*dst.File]string{}, Fset: fset}
	df, err := dec.DecorateFile(in.File)
	if err != nil {
		return nil, fmt.Errorf("rewrite %s: %w", in.Fset.Position(in.File.Package).Filename, err)
	}
	rw := &fileRewriter{
		in:   in,
		dec:  dec,
		file: df,
		res:  &Result{File: df, Decorator: dec, lineDirectives: lineDirectiveColumns(in.Fset, in.File)},
		ctx:  &contextChecker{pkg: in.Pkg},
	}
	rw.run(mode)
	rw.res.Diagnostics = SortDiagnostics(rw.res.Diagnostics)
	return rw.res, nil
}

// Format prints the rewritten file as gofmt would. (gofmt aligns the
// marker of a one-line body with trailing comments on the lines around it,
// which the printer does not see as gofmt will once they are parsed back:
// then gofmt has the last word; see gofmtFile.)
func (r *Result) Format() ([]byte, error) {
	out, err := gofmtFile(r.File, func() (*token.FileSet, *ast.File, error) {
		// As decorator.NewRestorer, with room in its maps for the nodes
		// decorated and about as many again as a prologue adds for each
		// function.
		restorer := &decorator.Restorer{Map: sizedMap(len(r.Decorator.Ast.Nodes) + 64*len(r.Funcs)), Fset: token.NewFileSet()}
		f, err := restorer.RestoreFile(r.File)
		return restorer.Fset, f, err
	})
	if err != nil {
		return nil, fmt.Errorf("print rewritten file: %w", err)
	}
	return keepLineDirectives(out, r.lineDirectives)
}

// sizedMap returns the maps a decorator or restorer records the nodes it
// converts in, with room for n nodes: grown one insertion at a time, they
// cost more than the conversion itself.
func sizedMap(n int) decorator.Map {
	return decorator.Map{
		Ast: decorator.AstMap{
			Nodes:   make(map[dst.Node]ast.Node, n),
			Scopes:  map[*dst.Scope]*ast.Scope{},
			Objects: map[*dst.Object]*ast.Object{},
		},
		Dst: decorator.DstMap{
			Nodes:   make(map[ast.Node]dst.Node, n),
			Scopes:  map[*ast.Scope]*dst.Scope{},
			Objects: map[*ast.Object]*dst.Object{},
		},
	}
}

// countNodes counts the syntax nodes of f.
func countNodes(f *ast.File) int {
	n := 0
	ast.Inspect(f, func(ast.Node) bool {
		n++
		return true
	})
	return n
}

// fileRewriter holds the state of one call of File.
type fileRewriter struct {
	in   Input
	dec  *decorator.Decorator
	file *dst.File
	res  *Result
	ctx  *contextChecker

	imports []*runtimeImport
	funcs   map[*dst.FuncDecl]*Func
}

func (rw *fileRewriter) errorf(pos token.Pos, format string, args ...any) {
	rw.res.Diagnostics = append(rw.res.Diagnostics, Diagnostic{
		Pos: rw.in.Fset.Position(pos), Severity: Error, Message: fmt.Sprintf(format, args...),
	})
}

// astPos is the input position of a dst node, or NoPos for added nodes.
func (rw *fileRewriter) astPos(n dst.Node) token.Pos {
	if a, ok := rw.dec.Ast.Nodes[n]; ok {
		return a.Pos()
	}
	return token.NoPos
}

func (rw *fileRewriter) funcFor(fn *dst.FuncDecl) *Func {
	f := rw.funcs[fn]
	if f == nil {
		f = &Func{Decl: fn}
		rw.funcs[fn] = f
	}
	return f
}

func (rw *fileRewriter) run(mode Mode) {
	rw.funcs = map[*dst.FuncDecl]*Func{}
	rw.imports = rw.findRuntimeImports()
	rw.stripAll()

	var plans []*plan
	if mode == Instrument {
		dirs, diags := FindDirectives(rw.in.Fset, rw.in.File)
		rw.res.Diagnostics = append(rw.res.Diagnostics, diags...)
		for _, d := range dirs {
			if d.Kind == KindIgnore {
				continue
			}
			if p := rw.plan(d); p != nil {
				plans = append(plans, p)
			}
		}
	}
	alias := ""
	if len(plans) > 0 {
		alias = rw.chooseAlias(plans)
		if alias == "" {
			return
		}
		for _, p := range plans {
			rw.emit(p, alias)
		}
	}
	rw.fixImports(alias)

	for _, decl := range rw.file.Decls {
		if fn, ok := decl.(*dst.FuncDecl); ok && rw.funcs[fn] != nil {
			rw.res.Funcs = append(rw.res.Funcs, rw.funcs[fn])
		}
	}
}

// stripAll removes every prologue in the file.
func (rw *fileRewriter) stripAll() {
	names := map[string]bool{}
	for _, ri := range rw.imports {
		if ri.usable() {
			names[ri.name] = true
		}
		if as, ok := rw.dec.Ast.Nodes[ri.spec]; ok {
			rw.res.Stripped = append(rw.res.Stripped, Range{as.Pos(), as.End()})
		}
	}
	if len(names) == 0 {
		return
	}
	for _, decl := range rw.file.Decls {
		fn, ok := decl.(*dst.FuncDecl)
		if !ok {
			continue
		}
		p, ok := findPrologue(fn.Body, names)
		if !ok {
			rw.checkMovedPrologue(fn, names)
			continue
		}
		if a, b := rw.dec.Ast.Nodes[p.enter], rw.dec.Ast.Nodes[p.exit]; a != nil && b != nil {
			rw.res.Stripped = append(rw.res.Stripped, Range{a.Pos(), b.End()})
		}
		rw.stripLabels(fn, names)
		rw.stripGoStmts(fn, names)
		strip(fn, p)
		f := rw.funcFor(fn)
		f.Stripped, f.oneline = true, p.oneline
		rw.res.Changed = true
	}
}

// checkMovedPrologue reports generated code that is no longer at the top
// of its function, where it can be neither recognised as generated nor
// left next to a new prologue.
func (rw *fileRewriter) checkMovedPrologue(fn *dst.FuncDecl, names map[string]bool) {
	if fn.Body == nil {
		return
	}
	for i := 1; i+1 < len(fn.Body.List); i++ {
		if _, ok := findPrologue(&dst.BlockStmt{List: fn.Body.List[i:]}, names); ok {
			rw.errorf(rw.astPos(fn.Body.List[i]), "generated code of %s is not at the top of its body: move it back, or delete it and run again", fn.Name.Name)
			return
		}
	}
}

// fixImports removes runtime imports nothing uses any more and adds the
// one generated code needs under alias ("" when no code was generated).
func (rw *fileRewriter) fixImports(alias string) {
	needed := alias != ""
	for _, ri := range rw.imports {
		if !ri.usable() {
			continue
		}
		if needed && ri.name == alias {
			needed = false
			continue
		}
		if !rw.userUses(ri) {
			rw.removeImport(ri.decl, ri.spec)
		}
	}
	if needed {
		rw.addImport(alias)
	}
}

// Origin returns the input node a node of Result.File came from, and
// false for nodes the rewrite added. Renamed identifiers keep their
// origin.
func (r *Result) Origin(n dst.Node) (ast.Node, bool) {
	a, ok := r.Decorator.Ast.Nodes[n]
	return a, ok
}
