package rewrite

import (
	"go/ast"
	"go/token"
	"go/types"
)

// keepsCallerContext reports whether the function of p must keep the
// context its caller gave it rather than receive the span's: when the
// context outlives the call, so that it should not carry a span that ends
// with the call. That is when the function stores its context parameter
// (see storesParam), or when one of its results can carry a context (see
// carriesContext): logrus's package-level WithContext(ctx) returns
// std.WithContext(ctx), an entry holding ctx, without storing anything
// itself.
func keepsCallerContext(body *ast.BlockStmt, sig *types.Signature, ctxIndex int, info *types.Info, cc *contextChecker) bool {
	for r := range sig.Results().Variables() {
		if carriesContext(r.Type(), cc, 0) {
			return true
		}
	}
	return storesParam(body, sig.Params().At(ctxIndex), info)
}

// carriesContext reports whether a value of type t can hold a context: t
// is one, or a struct, a pointer or an array whose fields or elements,
// three levels deep, include one. Slices, maps and channels of contexts
// are not looked into.
func carriesContext(t types.Type, cc *contextChecker, depth int) bool {
	if isCtx, _ := cc.kind(t); isCtx {
		return true
	}
	if depth >= 3 {
		return false
	}
	switch u := types.Unalias(t).Underlying().(type) {
	case *types.Pointer:
		return carriesContext(u.Elem(), cc, depth+1)
	case *types.Array:
		return carriesContext(u.Elem(), cc, depth+1)
	case *types.Struct:
		for f := range u.Fields() {
			if carriesContext(f.Type(), cc, depth+1) {
				return true
			}
		}
	}
	return false
}

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
