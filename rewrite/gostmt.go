package rewrite

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"regexp"
	"strconv"

	"github.com/dave/dst"
)

// Goroutines keep their trace: every go statement in the body of an
// instrumented function, function literals included, is rewritten so
// that the goroutine it starts has, as its current span, the span current
// where the statement ran:
//
//	go worker(jobs, results)
//	go overmind.Adopting2(worker)(jobs, results)
//
//	go func() { ... }()
//	go overmind.Adopting0(func() { ... })()
//
// The runtime's AdoptingN function is picked by the shape of the function
// (its parameters, a variadic last one, its results). It is evaluated in
// the calling goroutine, as the go statement's function value, and takes
// the current span there; the arguments follow as before. With tracing
// off it returns its function itself, and the go statement starts that
// function as it would without instrumentation. Nothing else changes: the
// statement keeps its line, its arguments, and its labels.

// The shapes the runtime's Adopting functions cover: a function of more
// parameters or results is left alone, with a warning.
const (
	MaxAdoptingParams  = 5
	MaxAdoptingResults = 2
)

// AdoptingName is the name of the runtime function a go statement calling
// a function of params parameters (the last variadic if variadic) and
// results results is rewritten with.
func AdoptingName(params int, variadic bool, results int) string {
	name := "Adopting" + strconv.Itoa(params)
	if variadic {
		name += "V"
	}
	if results > 0 {
		name += "R" + strconv.Itoa(results)
	}
	return name
}

// adoptingNamePattern matches the names AdoptingName makes, for removal.
var adoptingNamePattern = regexp.MustCompile(`^Adopting[0-9]+V?(R[0-9]+)?$`)

// rewriteGoStmts rewrites the go statements of p's function, and warns
// about those it must leave alone.
func (rw *fileRewriter) rewriteGoStmts(p *plan, alias string) {
	var stmts []*dst.GoStmt
	dst.Inspect(p.fn.Body, func(n dst.Node) bool {
		if g, ok := n.(*dst.GoStmt); ok {
			stmts = append(stmts, g)
		}
		return true
	})
	if len(stmts) == 0 {
		return
	}
	order := &evalOrder{info: rw.in.Info, pkg: rw.in.Pkg, fn: p.afn}
	names := map[string]bool{}
	for _, ri := range rw.imports {
		if ri.usable() {
			names[ri.name] = true
		}
	}
	for _, g := range stmts {
		stmt, ok := rw.dec.Ast.Nodes[g].(*ast.GoStmt)
		if !ok {
			continue
		}
		form, why := rw.goForm(originalFun(stmt.Call, names), stmt.Call.Args, order)
		if why != "" {
			rw.res.Diagnostics = append(rw.res.Diagnostics, Diagnostic{
				Pos:      rw.in.Fset.Position(stmt.Pos()),
				Severity: Warning,
				Message:  "go statement not rewritten, so the goroutine it starts does not keep the trace: " + why,
			})
			continue
		}
		if form == nil {
			continue
		}
		var wrapper dst.Expr = sel(alias, form.name)
		if len(form.typeArgs) > 0 {
			wrapper = &dst.IndexListExpr{X: wrapper, Indices: form.typeArgs}
		}
		g.Call.Fun = &dst.CallExpr{Fun: wrapper, Args: []dst.Expr{g.Call.Fun}}
	}
}

// goForm is how a go statement is rewritten: the runtime function's
// name, and its type arguments when Go cannot infer them.
type goForm struct {
	name     string
	typeArgs []dst.Expr
}

// originalFun is the function value of a go statement's call as the
// program wrote it: f in go overmind.AdoptingN(f)(...), which the rewrite
// has removed from the syntax tree but which the type information
// describes.
func originalFun(call *ast.CallExpr, runtimeNames map[string]bool) ast.Expr {
	inner, ok := call.Fun.(*ast.CallExpr)
	if !ok || len(inner.Args) != 1 || inner.Ellipsis.IsValid() {
		return call.Fun
	}
	wrapper := inner.Fun
	if ix, ok := wrapper.(*ast.IndexExpr); ok {
		wrapper = ix.X
	} else if il, ok := wrapper.(*ast.IndexListExpr); ok {
		wrapper = il.X
	}
	s, ok := wrapper.(*ast.SelectorExpr)
	if !ok || !adoptingNamePattern.MatchString(s.Sel.Name) {
		return call.Fun
	}
	if x, ok := s.X.(*ast.Ident); !ok || !runtimeNames[x.Name] {
		return call.Fun
	}
	return inner.Args[0]
}

// goForm decides how to rewrite a go statement calling fun with args. It
// returns a nil form for a statement that needs no rewrite, and a reason,
// for a warning, for one that cannot be rewritten.
func (rw *fileRewriter) goForm(fun ast.Expr, args []ast.Expr, order *evalOrder) (*goForm, string) {
	info := rw.in.Info
	fun = ast.Unparen(fun)
	tv, ok := info.Types[fun]
	if !ok || tv.IsBuiltin() || tv.IsType() {
		// A builtin (go close(ch), go println(x)) runs no code that could
		// start a span.
		return nil, ""
	}
	if callsRuntime(info, fun) {
		// go overmind.Go(f), go h.Run(f): the program hands the span over
		// itself.
		return nil, ""
	}
	sig, ok := tv.Type.Underlying().(*types.Signature)
	if !ok {
		return nil, fmt.Sprintf("the type of %s is a type parameter; start a func literal that calls it instead", types.ExprString(fun))
	}
	params, results := sig.Params().Len(), sig.Results().Len()
	if params > MaxAdoptingParams || results > MaxAdoptingResults {
		return nil, fmt.Sprintf("the function has %d parameters and %d results, more than the runtime's Adopting functions take (%d and %d); start a func literal that calls it instead",
			params, results, MaxAdoptingParams, MaxAdoptingResults)
	}
	if !order.funcValueStable(fun) && !order.inertAll(args) {
		return nil, fmt.Sprintf("Go evaluates %s after the calls in its arguments, which could change it; evaluate the arguments into variables first", types.ExprString(fun))
	}
	form := &goForm{name: AdoptingName(params, sig.Variadic(), results)}
	if inferredInstance(info, fun) {
		// go g(x) with g generic: Go cannot infer g's type arguments once
		// it is an argument, so the Adopting function gets its own.
		typeArgs, ok := rw.shapeTypeArgs(sig, fun.Pos())
		if !ok {
			return nil, fmt.Sprintf("the type arguments of %s cannot be written here; instantiate it explicitly", types.ExprString(fun))
		}
		form.typeArgs = typeArgs
	}
	return form, ""
}

// callsRuntime reports whether fun is a function or method of the runtime
// package.
func callsRuntime(info *types.Info, fun ast.Expr) bool {
	var obj types.Object
	switch f := fun.(type) {
	case *ast.Ident:
		obj = info.Uses[f]
	case *ast.SelectorExpr:
		obj = info.Uses[f.Sel]
	case *ast.IndexExpr:
		return callsRuntime(info, f.X)
	case *ast.IndexListExpr:
		return callsRuntime(info, f.X)
	}
	return obj != nil && obj.Pkg() != nil && obj.Pkg().Path() == RuntimePath
}

// inferredInstance reports whether fun names a generic function whose
// type arguments, or some of them, Go infers from the call's arguments.
func inferredInstance(info *types.Info, fun ast.Expr) bool {
	explicit := 0
	switch f := fun.(type) {
	case *ast.IndexExpr:
		fun, explicit = f.X, 1
	case *ast.IndexListExpr:
		fun, explicit = f.X, len(f.Indices)
	}
	var id *ast.Ident
	switch f := ast.Unparen(fun).(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		id = f.Sel
	default:
		return false
	}
	inst, ok := info.Instances[id]
	return ok && inst.TypeArgs.Len() > explicit
}

// shapeTypeArgs spells, as type arguments of an Adopting function, the
// parameter and result types of sig at pos: the element type of a
// variadic parameter. It reports false when a type cannot be written
// there.
func (rw *fileRewriter) shapeTypeArgs(sig *types.Signature, pos token.Pos) ([]dst.Expr, bool) {
	var types_ []types.Type
	for i := range sig.Params().Len() {
		t := sig.Params().At(i).Type()
		if sig.Variadic() && i == sig.Params().Len()-1 {
			t = t.(*types.Slice).Elem()
		}
		types_ = append(types_, t)
	}
	for i := range sig.Results().Len() {
		types_ = append(types_, sig.Results().At(i).Type())
	}
	sp := &typeSpeller{pkg: rw.in.Pkg, info: rw.in.Info, file: rw.in.File, pos: pos}
	var out []dst.Expr
	for _, t := range types_ {
		e, ok := sp.expr(t)
		if !ok {
			return nil, false
		}
		out = append(out, e)
	}
	return out, true
}

// stripGoStmts undoes rewriteGoStmts in fn: each go statement whose
// function value is P.AdoptingN(f), or P.AdoptingN[...](f), with P a name
// in runtimeNames, calls f again.
func (rw *fileRewriter) stripGoStmts(fn *dst.FuncDecl, runtimeNames map[string]bool) {
	dst.Inspect(fn.Body, func(n dst.Node) bool {
		g, ok := n.(*dst.GoStmt)
		if !ok {
			return true
		}
		inner, ok := g.Call.Fun.(*dst.CallExpr)
		if !ok || len(inner.Args) != 1 || inner.Ellipsis || !isAdopting(inner.Fun, runtimeNames) {
			return true
		}
		if a, ok := rw.dec.Ast.Nodes[inner.Fun]; ok {
			rw.res.Stripped = append(rw.res.Stripped, Range{a.Pos(), a.End()})
		}
		g.Call.Fun = inner.Args[0]
		return true
	})
}

// isAdopting reports whether e is P.AdoptingN or P.AdoptingN[...].
func isAdopting(e dst.Expr, runtimeNames map[string]bool) bool {
	if il, ok := e.(*dst.IndexListExpr); ok {
		e = il.X
	} else if ix, ok := e.(*dst.IndexExpr); ok {
		e = ix.X
	}
	s, ok := e.(*dst.SelectorExpr)
	if !ok || !adoptingNamePattern.MatchString(s.Sel.Name) {
		return false
	}
	x, ok := s.X.(*dst.Ident)
	return ok && x.Path == "" && runtimeNames[x.Name]
}
