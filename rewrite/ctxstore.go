package rewrite

import (
	"go/ast"
	"go/token"
	"go/types"
)

// storesParam reports whether body keeps param where it outlives the call
// or reaches the caller: assigned to a field, an element, a pointee or a
// package variable; put in a composite literal; returned; sent on a
// channel; appended to a slice; or its address taken. A function that
// does so (logrus's Entry.WithContext stores its context in the entry it
// returns) must keep the context its caller gave it: generated code then
// passes the context to the runtime as the span's parent without
// assigning the span's context back to the parameter, and the function's
// callees nest under its span through the goroutine instead (see the
// runtime's parentOf). Passing the parameter to a call, reading it, and
// capturing it in a function literal do not count.
func storesParam(body *ast.BlockStmt, param *types.Var, info *types.Info) bool {
	if body == nil || param == nil || info == nil {
		return false
	}
	isParam := func(e ast.Expr) bool {
		id, ok := ast.Unparen(e).(*ast.Ident)
		return ok && info.Uses[id] == param
	}
	stored := false
	ast.Inspect(body, func(n ast.Node) bool {
		if stored {
			return false
		}
		switch n := n.(type) {
		case *ast.AssignStmt:
			stored = assignsTo(n, isParam, info)
		case *ast.CompositeLit:
			for _, el := range n.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					el = kv.Value
				}
				stored = stored || isParam(el)
			}
		case *ast.ReturnStmt:
			for _, r := range n.Results {
				stored = stored || isParam(r)
			}
		case *ast.SendStmt:
			stored = isParam(n.Value)
		case *ast.UnaryExpr:
			stored = n.Op == token.AND && isParam(n.X)
		case *ast.CallExpr:
			stored = isAppendOf(n, isParam, info)
		}
		return !stored
	})
	return stored
}

// assignsTo reports whether a sets something other than a local variable
// to the parameter.
func assignsTo(a *ast.AssignStmt, isParam func(ast.Expr) bool, info *types.Info) bool {
	if len(a.Lhs) != len(a.Rhs) {
		return false // x, y := f(): no parameter on the right as such
	}
	for i, rhs := range a.Rhs {
		if !isParam(rhs) {
			continue
		}
		id, ok := ast.Unparen(a.Lhs[i]).(*ast.Ident)
		if !ok {
			return true // a field, an element, a pointee
		}
		obj := info.ObjectOf(id)
		if v, isVar := obj.(*types.Var); isVar && v.Pkg() != nil && v.Parent() == v.Pkg().Scope() {
			return true // a package variable
		}
	}
	return false
}

// isAppendOf reports whether call is the builtin append with the parameter
// among the appended values.
func isAppendOf(call *ast.CallExpr, isParam func(ast.Expr) bool, info *types.Info) bool {
	id, ok := ast.Unparen(call.Fun).(*ast.Ident)
	if !ok {
		return false
	}
	if b, isBuiltin := info.Uses[id].(*types.Builtin); !isBuiltin || b.Name() != "append" || len(call.Args) < 2 {
		return false
	}
	for _, arg := range call.Args[1:] {
		if isParam(arg) {
			return true
		}
	}
	return false
}
