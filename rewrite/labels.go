package rewrite

import (
	"fmt"
	"go/token"
	"go/types"
	"strings"

	"github.com/dave/dst"
)

// A directive's label options (user=userID, conversation=threadID, ...)
// add one statement each after the prologue, which labels the function's
// span, and every span below it, with the parameter's value:
//
//	overmind.Label(_om, "user", userID)
//
// The reserved _om makes them generated code beyond doubt: removal takes
// out the statements of that form that follow a prologue.

// labelFunc is the runtime function label statements call.
const labelFunc = "Label"

// checkLabels reports, at each option, a label option naming no
// parameter of the function, or a parameter whose type a label cannot
// take; it returns false if it reported anything.
func (rw *fileRewriter) checkLabels(d *Directive, params []*slot) bool {
	ok := true
	for _, opt := range d.Labels {
		pos := d.Pos + token.Pos(opt.Offset)
		s := findParam(params, opt.Param)
		switch {
		case s == nil:
			rw.errorf(pos, "%s=%s: %s has no parameter %s%s", opt.Key, opt.Param, d.Decl.Name.Name, opt.Param, suggestParam(params, opt.Param))
			ok = false
		case !labelType(s.typ):
			rw.errorf(pos, "%s=%s: parameter %s has type %s; a label takes a string, an integer or a fmt.Stringer",
				opt.Key, opt.Param, opt.Param, types.TypeString(s.typ, types.RelativeTo(rw.in.Pkg)))
			ok = false
		}
	}
	return ok
}

func findParam(params []*slot, name string) *slot {
	for _, s := range params {
		if s.name == name && s.hasName() {
			return s
		}
	}
	return nil
}

// suggestParam is ", did you mean P?" for the parameter closest to name,
// or the list of parameters.
func suggestParam(params []*slot, name string) string {
	var names []string
	for _, s := range params {
		if s.hasName() {
			names = append(names, s.name)
			if editDistance(strings.ToLower(s.name), strings.ToLower(name)) <= 2 {
				return fmt.Sprintf(" (did you mean %s?)", s.name)
			}
		}
	}
	if len(names) == 0 {
		return " (it has no named parameters)"
	}
	return " (its parameters: " + strings.Join(names, ", ") + ")"
}

// labelType reports whether a label can take a value of type t: a string
// or integer type, or a type whose values are fmt.Stringers; for a type
// parameter, every type its constraint allows.
func labelType(t types.Type) bool {
	if types.Implements(t, stringerType) {
		return true
	}
	if tp, ok := types.Unalias(t).(*types.TypeParam); ok {
		terms, ok := typeSetTerms(tp.Constraint())
		if !ok || len(terms) == 0 {
			return false
		}
		for _, term := range terms {
			if !labelType(term) {
				return false
			}
		}
		return true
	}
	b, ok := types.Unalias(t).Underlying().(*types.Basic)
	return ok && b.Info()&(types.IsString|types.IsInteger) != 0
}

// typeSetTerms lists the types of the union terms of a constraint; ok is
// false when its type set is not a finite list of them.
func typeSetTerms(constraint types.Type) (terms []types.Type, ok bool) {
	iface, isIface := constraint.Underlying().(*types.Interface)
	if !isIface {
		return []types.Type{constraint}, true
	}
	for i := range iface.NumEmbeddeds() {
		switch e := iface.EmbeddedType(i).(type) {
		case *types.Union:
			for j := range e.Len() {
				terms = append(terms, e.Term(j).Type())
			}
		default:
			more, ok := typeSetTerms(e)
			if !ok {
				return nil, false
			}
			terms = append(terms, more...)
		}
	}
	return terms, len(terms) > 0
}

// stringerType is fmt.Stringer.
var stringerType = func() *types.Interface {
	sig := types.NewSignatureType(nil, nil, nil, nil, types.NewTuple(types.NewVar(token.NoPos, nil, "", types.Typ[types.String])), false)
	return types.NewInterfaceType([]*types.Func{types.NewFunc(token.NoPos, nil, "String", sig)}, nil).Complete()
}()

// emitLabels inserts the label statements after the prologue of p's
// function.
func (rw *fileRewriter) emitLabels(p *plan, alias string) {
	if len(p.dir.Labels) == 0 {
		return
	}
	var stmts []dst.Stmt
	for _, opt := range p.dir.Labels {
		s := &dst.ExprStmt{X: &dst.CallExpr{
			Fun:  sel(alias, labelFunc),
			Args: []dst.Expr{dst.NewIdent(callVar), strLit(opt.Key), dst.NewIdent(opt.Param)},
		}}
		s.Decs.Before, s.Decs.After = dst.NewLine, dst.NewLine
		stmts = append(stmts, s)
	}
	body := p.fn.Body
	n := len(rw.funcFor(p.fn).Prologue)
	body.List = append(append(append([]dst.Stmt{}, body.List[:n]...), stmts...), body.List[n:]...)
	f := rw.funcFor(p.fn)
	f.Prologue = append(f.Prologue, stmts...)
}

// stripLabels removes the label statements that follow the prologue, the
// first two statements of fn's body, keeping the comments attached to
// them on the statement after them.
func (rw *fileRewriter) stripLabels(fn *dst.FuncDecl, runtimeNames map[string]bool) {
	list := fn.Body.List
	end := 2
	for end < len(list) && isLabelStmt(list[end], runtimeNames) {
		end++
	}
	if end == 2 {
		return
	}
	var comments dst.Decorations
	for _, s := range list[2:end] {
		if a, ok := rw.dec.Ast.Nodes[s]; ok {
			rw.res.Stripped = append(rw.res.Stripped, Range{a.Pos(), a.End()})
		}
		comments = append(comments, s.Decorations().Start...)
		comments = append(comments, s.Decorations().End...)
	}
	if len(comments) > 0 && end < len(list) {
		next := list[end].Decorations()
		next.Start = append(comments, next.Start...)
	}
	fn.Body.List = append(list[:2:2], list[end:]...)
}

// isLabelStmt reports whether s is P.Label(_om, "key", param).
func isLabelStmt(s dst.Stmt, runtimeNames map[string]bool) bool {
	es, ok := s.(*dst.ExprStmt)
	if !ok {
		return false
	}
	call, ok := es.X.(*dst.CallExpr)
	if !ok || len(call.Args) != 3 || !isIdent(call.Args[0], callVar) {
		return false
	}
	f, ok := call.Fun.(*dst.SelectorExpr)
	if !ok || f.Sel.Name != labelFunc {
		return false
	}
	x, ok := f.X.(*dst.Ident)
	return ok && x.Path == "" && runtimeNames[x.Name]
}
