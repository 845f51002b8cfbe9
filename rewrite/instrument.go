package rewrite

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"strconv"

	"github.com/dave/dst"

	"github.com/overmind-core/overmind-go/internal/spankind"
)

// spanTypeConsts names the runtime constant of each known span type
// (from the one table, spankind.Kinds).
var spanTypeConsts = func() map[string]string {
	m := map[string]string{}
	for _, k := range spankind.Kinds {
		m[k.Type] = k.Const
	}
	return m
}()

// slot is one parameter or result of an instrumented function.
type slot struct {
	field   *dst.Field
	nameIdx int    // index in field.Names, or -1 when the field is unnamed
	name    string // the name in the source: "" when unnamed, "_" when blank
	typ     types.Type
	need    bool // generated code refers to it, so it must have a name
}

// hasName reports whether the slot can be referred to as it is.
func (s *slot) hasName() bool { return s.name != "" && s.name != "_" }

// plan is what instrumenting one function takes, worked out before any of
// it is changed.
type plan struct {
	dir     *Directive
	fn      *dst.FuncDecl
	afn     *ast.FuncDecl
	scope   *types.Scope // the function's scope, or nil
	params  []*slot
	results []*slot
	ctx     int  // index of the context parameter, or -1
	reqst   int  // index of the *http.Request parameter, or -1
	assign  bool // the context parameter can take the span's context
	errRes  int  // index of the error result, or -1
	inputs  []int
	outputs []int
	oneline bool
}

// plan works out how to instrument the function of d, or reports why it
// cannot be and returns nil.
func (rw *fileRewriter) plan(d *Directive) *plan {
	fn, ok := rw.dec.Dst.Nodes[d.Decl].(*dst.FuncDecl)
	if !ok {
		rw.errorf(d.Pos, "internal error: %s has no syntax tree", d.Decl.Name.Name)
		return nil
	}
	if rw.in.Info == nil || rw.in.Pkg == nil {
		rw.errorf(d.Pos, "cannot instrument %s without type information", d.Decl.Name.Name)
		return nil
	}
	obj, _ := rw.in.Info.Defs[d.Decl.Name].(*types.Func)
	if obj == nil {
		rw.errorf(d.Pos, "cannot instrument %s: no type information for it", d.Decl.Name.Name)
		return nil
	}
	sig := obj.Type().(*types.Signature)
	p := &plan{dir: d, fn: fn, afn: d.Decl, scope: rw.in.Info.Scopes[d.Decl.Type], ctx: -1, reqst: -1, errRes: -1}
	var okP, okR bool
	p.params, okP = flatten(fn.Type.Params, sig.Params())
	p.results, okR = flatten(fn.Type.Results, sig.Results())
	if !okP || !okR {
		rw.errorf(d.Pos, "cannot instrument %s: its syntax and type information disagree", d.Decl.Name.Name)
		return nil
	}
	labelsOK := rw.checkLabels(d, p.params)
	if !rw.checkReserved(fn, d) || !labelsOK {
		return nil
	}
	for _, name := range []string{"nil"} {
		if obj := rw.lookup(p, name); obj != nil && obj != types.Universe.Lookup(name) {
			at := rw.in.Fset.Position(obj.Pos())
			at.Filename = filepath.Base(at.Filename)
			rw.errorf(d.Pos, "cannot instrument %s: generated code needs the predeclared %s, which is redeclared at %s", d.Decl.Name.Name, name, at)
			return nil
		}
	}
	p.assignRoles(rw.ctx, d.Capture, errorIsValue(obj))
	if p.ctx >= 0 && p.assign && keepsCallerContext(d.Decl.Body, sig, p.ctx, rw.in.Info, rw.ctx) {
		p.assign = false // the function keeps its caller's context
	}
	if f := rw.funcs[fn]; f != nil && f.Stripped {
		p.oneline = f.oneline
	} else {
		// Physical lines: a /*line*/ comment in the body must not count.
		lb, rb := rw.in.Fset.PositionFor(d.Decl.Body.Lbrace, false), rw.in.Fset.PositionFor(d.Decl.Body.Rbrace, false)
		p.oneline = lb.Line == rb.Line
	}
	return p
}

// flatten lists the parameters or results of fl, one slot per name (or per
// field when unnamed), with their types from tup.
func flatten(fl *dst.FieldList, tup *types.Tuple) ([]*slot, bool) {
	var out []*slot
	if fl != nil {
		for _, f := range fl.List {
			if len(f.Names) == 0 {
				out = append(out, &slot{field: f, nameIdx: -1})
				continue
			}
			for i, n := range f.Names {
				out = append(out, &slot{field: f, nameIdx: i, name: n.Name})
			}
		}
	}
	if len(out) != tup.Len() {
		return nil, false
	}
	for i, s := range out {
		s.typ = tup.At(i).Type()
	}
	return out, true
}

// assignRoles decides which parameter is the context, which values are
// captured, and so which need names. errValue says that the function's
// error result is its value, not a failure (see errorIsValue): it is then
// an output like the others.
func (p *plan) assignRoles(cc *contextChecker, capture Capture, errValue bool) {
	for i, s := range p.params {
		isCtx, assign := cc.kind(s.typ)
		switch {
		case isCtx:
			if p.ctx < 0 {
				p.ctx, p.assign = i, assign
			}
		case isRequest(s.typ):
			if p.reqst < 0 {
				p.reqst = i
			}
		case isResponseWriter(s.typ):
		default:
			if capture.Inputs() {
				p.inputs = append(p.inputs, i)
			}
		}
	}
	if p.ctx >= 0 {
		p.reqst = -1
		p.params[p.ctx].need = true
	} else if p.reqst >= 0 {
		p.params[p.reqst].need = true
	}
	for _, i := range p.inputs {
		p.params[i].need = true
	}
	if n := len(p.results); n > 0 && isError(p.results[n-1].typ) && !errValue {
		p.errRes = n - 1
		p.results[n-1].need = true
	}
	if capture.Outputs() {
		for i, s := range p.results {
			if i != p.errRes {
				p.outputs = append(p.outputs, i)
				s.need = true
			}
		}
	}
}

// checkReserved reports, and returns false, when the function's own code
// uses a name reserved for generated code.
func (rw *fileRewriter) checkReserved(fn *dst.FuncDecl, d *Directive) bool {
	ok := true
	dst.Inspect(fn, func(n dst.Node) bool {
		id, isID := n.(*dst.Ident)
		if isID && isReserved(id.Name) {
			pos := rw.astPos(id)
			if !pos.IsValid() {
				pos = d.Pos
			}
			rw.errorf(pos, "cannot instrument %s: the name %s is reserved for generated code", d.Decl.Name.Name, id.Name)
			ok = false
		}
		return true
	})
	return ok
}

// lookup resolves name at the top of the function's body.
func (rw *fileRewriter) lookup(p *plan, name string) types.Object {
	if p.scope == nil {
		_, obj := rw.in.Pkg.Scope().LookupParent(name, token.NoPos)
		return obj
	}
	_, obj := p.scope.LookupParent(name, p.afn.Body.Lbrace+1)
	return obj
}

// chooseAlias picks the name generated code calls the runtime by: an
// existing import of it that no instrumented function shadows, else the
// first of overmind, overmind2, ... that nothing in scope uses.
func (rw *fileRewriter) chooseAlias(plans []*plan) string {
	fits := func(name string, want types.Object) bool {
		for _, p := range plans {
			if rw.lookup(p, name) != want {
				return false
			}
		}
		return true
	}
	for _, ri := range rw.imports {
		if ri.usable() && ri.obj != nil && fits(ri.name, ri.obj) {
			return ri.name
		}
	}
	taken := map[string]bool{}
	for _, ri := range rw.imports {
		taken[ri.name] = true
	}
	for i := 1; i < 100; i++ {
		name := runtimePkgName
		if i > 1 {
			name += strconv.Itoa(i)
		}
		if !taken[name] && fits(name, nil) {
			return name
		}
	}
	rw.errorf(plans[0].dir.Pos, "cannot find a free name to import %s by", RuntimePath)
	return ""
}

// emit renames what needs a name and inserts the prologue.
func (rw *fileRewriter) emit(p *plan, alias string) {
	nameSlots(p.params, paramRole, p.fn.Type.Params)
	nameSlots(p.results, resultRole, p.fn.Type.Results)

	enter := rw.enterStmt(p, alias)
	exit := exitStmt(p, alias)
	p.fn.Body.List = append([]dst.Stmt{enter, exit}, p.fn.Body.List...)
	f := rw.funcFor(p.fn)
	f.Directive = p.dir
	f.Prologue = []dst.Stmt{enter, exit}
	rw.res.Changed = true
	rw.emitLabels(p, alias)
	rw.rewriteGoStmts(p, alias)
}

// enterStmt builds the prologue's first statement, which starts the span:
//
//	ctx, _om := alias.EnterContext(ctx, type, name, function, inputs)
//
// or its EnterRequest or Enter form.
func (rw *fileRewriter) enterStmt(p *plan, alias string) *dst.AssignStmt {
	enterFn, lhs, args := enterForm(p)
	funcName := symbolPath(rw.in.Pkg.Path()) + "." + DefaultName(p.afn)
	args = append(args,
		spanTypeExpr(alias, p.dir.Type),
		strLit(p.dir.SpanName()),
		strLit(funcName),
		valuesFunc(alias, "in", p.params, p.inputs, inputKeys(p)))
	lhs = append(lhs, dst.NewIdent(callVar))
	enter := &dst.AssignStmt{
		Lhs: lhs,
		Tok: token.DEFINE,
		Rhs: []dst.Expr{&dst.CallExpr{Fun: sel(alias, enterFn), Args: args}},
	}
	enter.Decs.Before, enter.Decs.After = dst.NewLine, dst.NewLine
	return enter
}

// enterForm picks the runtime function that starts the span, with what
// it assigns to before the call and the argument it takes before the
// span's type: EnterContext with the context parameter, which takes the
// span's context when it can (else _); EnterRequest with the
// *http.Request parameter, which takes the request with that context;
// Enter with neither.
func enterForm(p *plan) (fn string, lhs, args []dst.Expr) {
	switch {
	case p.ctx >= 0:
		ctx := p.params[p.ctx].name
		assigned := "_"
		if p.assign {
			assigned = ctx
		}
		return "EnterContext", []dst.Expr{dst.NewIdent(assigned)}, []dst.Expr{dst.NewIdent(ctx)}
	case p.reqst >= 0:
		r := p.params[p.reqst].name
		return "EnterRequest", []dst.Expr{dst.NewIdent(r)}, []dst.Expr{dst.NewIdent(r)}
	}
	return "Enter", nil, nil
}

// exitStmt builds the prologue's second statement, which ends the span:
//
//	if _om != nil { defer _om.Leave(&err, outputs) }
//
// Leave is deferred directly, not from a function literal: it finds out
// itself whether the function returned, panicked or is ending through
// runtime.Goexit, and recovers nothing.
func exitStmt(p *plan, alias string) *dst.IfStmt {
	var errExpr dst.Expr = dst.NewIdent("nil")
	if p.errRes >= 0 {
		errExpr = &dst.UnaryExpr{Op: token.AND, X: dst.NewIdent(p.results[p.errRes].name)}
	}
	deferLeave := &dst.DeferStmt{Call: &dst.CallExpr{
		Fun:  sel(callVar, leaveMethod),
		Args: []dst.Expr{errExpr, valuesFunc(alias, "out", p.results, p.outputs, outputKeys(p))},
	}}
	deferLeave.Decs.Before, deferLeave.Decs.After = dst.NewLine, dst.NewLine
	// With no span (tracing off) nothing is deferred, so a panic goes
	// through exactly as it would without instrumentation.
	exit := &dst.IfStmt{
		Cond: &dst.BinaryExpr{X: dst.NewIdent(callVar), Op: token.NEQ, Y: dst.NewIdent("nil")},
		Body: &dst.BlockStmt{List: []dst.Stmt{deferLeave}},
	}
	exit.Decs.Before, exit.Decs.After = dst.NewLine, dst.NewLine
	if p.oneline {
		exit.Decs.End = dst.Decorations{onelineMarker}
	}
	return exit
}

// nameSlots gives the slots that need one a reserved name. An unnamed list
// is named whole, since Go allows no mix.
func nameSlots(slots []*slot, role byte, fl *dst.FieldList) {
	needs := false
	for _, s := range slots {
		needs = needs || (s.need && !s.hasName())
	}
	if !needs {
		return
	}
	for i, s := range slots {
		switch {
		case s.nameIdx < 0:
			s.name = genName(role, i, false)
			s.field.Names = []*dst.Ident{dst.NewIdent(s.name)}
			s.nameIdx = 0
		case s.need && s.name == "_":
			s.name = genName(role, i, true)
			s.field.Names[s.nameIdx].Name = s.name
		}
	}
	if role == resultRole {
		fl.Opening, fl.Closing = true, true
	}
}

// inputKeys are the names parameters are recorded under: their own, or
// "argN" for an unnamed or blank one (its reserved name if that clashes).
func inputKeys(p *plan) []string {
	used := map[string]bool{}
	for _, s := range p.params {
		if _, gen := parseGenName(s.name, paramRole); !gen {
			used[s.name] = true
		}
	}
	keys := make([]string, len(p.params))
	for i, s := range p.params {
		keys[i] = s.name
		if _, gen := parseGenName(s.name, paramRole); gen {
			keys[i] = fmt.Sprintf("arg%d", i)
			if used[keys[i]] {
				keys[i] = s.name
			}
		}
	}
	return keys
}

// outputKeys are the names results are recorded under: their own, or ""
// for an unnamed or blank one.
func outputKeys(p *plan) []string {
	keys := make([]string, len(p.results))
	for i, s := range p.results {
		if _, gen := parseGenName(s.name, resultRole); !gen {
			keys[i] = s.name
		}
	}
	return keys
}

// valuesFunc builds func(v *alias.Values) { v.Add(key, value); ... } over
// the chosen slots, or nil when there are none. The parameter's name is
// the first of base, base1, ... that no recorded value is called.
func valuesFunc(alias, base string, slots []*slot, chosen []int, keys []string) dst.Expr {
	if len(chosen) == 0 {
		return dst.NewIdent("nil")
	}
	taken := map[string]bool{alias: true}
	for _, i := range chosen {
		taken[slots[i].name] = true
	}
	v := base
	for n := 1; taken[v]; n++ {
		v = base + strconv.Itoa(n)
	}
	var stmts []dst.Stmt
	for _, i := range chosen {
		stmts = append(stmts, &dst.ExprStmt{X: &dst.CallExpr{
			Fun:  sel(v, "Add"),
			Args: []dst.Expr{strLit(keys[i]), dst.NewIdent(slots[i].name)},
		}})
	}
	return &dst.FuncLit{
		Type: &dst.FuncType{Func: true, Params: &dst.FieldList{Opening: true, Closing: true, List: []*dst.Field{{
			Names: []*dst.Ident{dst.NewIdent(v)},
			Type:  &dst.StarExpr{X: sel(alias, "Values")},
		}}}},
		Body: &dst.BlockStmt{List: stmts},
	}
}

func spanTypeExpr(alias, typ string) dst.Expr {
	if c, ok := spanTypeConsts[typ]; ok {
		return sel(alias, c)
	}
	return strLit(typ)
}

func sel(x, name string) *dst.SelectorExpr {
	return &dst.SelectorExpr{X: dst.NewIdent(x), Sel: dst.NewIdent(name)}
}

func strLit(s string) *dst.BasicLit {
	return &dst.BasicLit{Kind: token.STRING, Value: strconv.Quote(s)}
}
