package rewrite

import (
	"go/token"

	"github.com/dave/dst"
)

// onelineMarker ends the prologue of a function whose body was written on
// one line ("func f() int { return 1 }", or "{}"). gofmt cannot print a
// prologue on one line, so the marker is what lets removal put the body
// back as it was.
const onelineMarker = "//overmind:oneline"

// enterFuncs are the runtime functions a prologue opens its span with.
var enterFuncs = map[string]bool{"Enter": true, "EnterContext": true, "EnterRequest": true}

// prologue is the generated code found at the top of a function body.
type prologue struct {
	enter *dst.AssignStmt // [ctx, ]_om := overmind.Enter...(...)
	// exit is "if _om != nil { defer func() { _om.Exit(recover(), ...) }() }".
	exit    *dst.IfStmt
	oneline bool
}

// findPrologue recognises generated code: the first two statements of body
// are exactly
//
//	[X, ]_om := P.Enter|EnterContext|EnterRequest(...)
//	if _om != nil {
//		defer func() { _om.Exit(recover(), ...) }()
//	}
//
// where P is a name the file imports the runtime as. The reserved name _om
// is what makes this unambiguous: instrumenting refuses functions whose
// own code uses it.
func findPrologue(body *dst.BlockStmt, runtimeNames map[string]bool) (prologue, bool) {
	if body == nil || len(body.List) < 2 {
		return prologue{}, false
	}
	enter, ok := body.List[0].(*dst.AssignStmt)
	if !ok || !isEnter(enter, runtimeNames) {
		return prologue{}, false
	}
	exit, ok := body.List[1].(*dst.IfStmt)
	if !ok || !isGuardedExit(exit) {
		return prologue{}, false
	}
	p := prologue{enter: enter, exit: exit}
	for _, c := range exit.Decorations().End {
		if c == onelineMarker {
			p.oneline = true
		}
	}
	return p, true
}

// isGuardedExit reports whether s is
//
//	if _om != nil {
//		defer func() { _om.Exit(recover(), ...) }()
//	}
func isGuardedExit(s *dst.IfStmt) bool {
	if s.Init != nil || s.Else != nil || len(s.Body.List) != 1 {
		return false
	}
	cond, ok := s.Cond.(*dst.BinaryExpr)
	if !ok || cond.Op != token.NEQ || !isIdent(cond.X, callVar) || !isIdent(cond.Y, "nil") {
		return false
	}
	d, ok := s.Body.List[0].(*dst.DeferStmt)
	return ok && isExit(d)
}

func isIdent(e dst.Expr, name string) bool {
	id, ok := e.(*dst.Ident)
	return ok && id.Name == name && id.Path == ""
}

func isEnter(s *dst.AssignStmt, runtimeNames map[string]bool) bool {
	if s.Tok != token.DEFINE || len(s.Rhs) != 1 || len(s.Lhs) < 1 || len(s.Lhs) > 2 {
		return false
	}
	if last, ok := s.Lhs[len(s.Lhs)-1].(*dst.Ident); !ok || last.Name != callVar {
		return false
	}
	call, ok := s.Rhs[0].(*dst.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*dst.SelectorExpr)
	if !ok || !enterFuncs[sel.Sel.Name] {
		return false
	}
	pkg, ok := sel.X.(*dst.Ident)
	if !ok || !runtimeNames[pkg.Name] {
		return false
	}
	return (sel.Sel.Name == "Enter") == (len(s.Lhs) == 1)
}

func isExit(s *dst.DeferStmt) bool {
	lit, ok := s.Call.Fun.(*dst.FuncLit)
	if !ok || len(s.Call.Args) != 0 || lit.Type.Params.NumFields() != 0 || lit.Type.Results.NumFields() != 0 {
		return false
	}
	if len(lit.Body.List) != 1 {
		return false
	}
	es, ok := lit.Body.List[0].(*dst.ExprStmt)
	if !ok {
		return false
	}
	call, ok := es.X.(*dst.CallExpr)
	if !ok || len(call.Args) != 3 {
		return false
	}
	sel, ok := call.Fun.(*dst.SelectorExpr)
	if !ok || sel.Sel.Name != "Exit" {
		return false
	}
	if x, ok := sel.X.(*dst.Ident); !ok || x.Name != callVar {
		return false
	}
	rec, ok := call.Args[0].(*dst.CallExpr)
	if !ok || len(rec.Args) != 0 {
		return false
	}
	fn, ok := rec.Fun.(*dst.Ident)
	return ok && fn.Name == "recover"
}

// strip removes the prologue p from fn and gives back the names and layout
// the function had before it was instrumented.
func strip(fn *dst.FuncDecl, p prologue) {
	body := fn.Body
	// Comments attached to the prologue are the user's: those of an empty
	// body print above it, and a user may have added others. Keep them.
	var comments dst.Decorations
	inner := p.exit.Body.List[0].Decorations()
	decs := []dst.Decorations{p.enter.Decs.Start, p.enter.Decs.End, p.exit.Decs.Start, p.exit.Decs.End,
		p.exit.Decs.If, p.exit.Decs.Cond, p.exit.Body.Decs.Lbrace, inner.Start, inner.End}
	for _, d := range decs {
		for _, c := range d {
			if c != onelineMarker {
				comments = append(comments, c)
			}
		}
	}
	body.List = body.List[2:]
	restoreNames(fn.Type.Params, paramRole)
	restoreNames(fn.Type.Results, resultRole)
	switch {
	case len(body.List) > 0:
		if len(comments) > 0 {
			first := body.List[0].Decorations()
			first.Start = append(comments, first.Start...)
		}
		if p.oneline {
			for _, s := range body.List {
				d := s.Decorations()
				d.Before, d.After = dst.None, dst.None
			}
		}
	case !p.oneline || len(comments) > 0:
		// An empty body whose "{" and "}" were on different lines, perhaps
		// with a blank line or comments between them: they followed "{"
		// and went before the prologue.
		if !endsWithNewline(body.Decs.Lbrace) {
			body.Decs.Lbrace.Append("\n")
		}
		if p.enter.Decs.Before == dst.EmptyLine {
			body.Decs.Lbrace.Append("\n")
		}
		body.Decs.Lbrace.Append(comments...)
	}
}

func endsWithNewline(d dst.Decorations) bool {
	if len(d) == 0 {
		return false
	}
	last := d[len(d)-1]
	return last == "\n" || (len(last) >= 2 && last[:2] == "//")
}

// restoreNames undoes the renaming of unnamed and blank parameters or
// results. A list whose names are all reserved "unnamed" names becomes
// unnamed again; otherwise each reserved name becomes _.
func restoreNames(fl *dst.FieldList, role byte) {
	if fl == nil {
		return
	}
	total, unnamed := 0, 0
	for _, f := range fl.List {
		for _, n := range f.Names {
			total++
			if blank, ok := parseGenName(n.Name, role); ok && !blank {
				unnamed++
			}
		}
	}
	if total > 0 && unnamed == total {
		for _, f := range fl.List {
			f.Names = nil
		}
		if role == resultRole && len(fl.List) == 1 {
			fl.Opening, fl.Closing = false, false
		}
		return
	}
	for _, f := range fl.List {
		for _, n := range f.Names {
			if _, ok := parseGenName(n.Name, role); ok {
				n.Name = "_"
			}
		}
	}
}
