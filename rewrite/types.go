package rewrite

import (
	"go/types"
)

var errorType = types.Universe.Lookup("error").Type()

// isNamed reports whether t is the named type pkgPath.name (aliases seen
// through).
func isNamed(t types.Type, pkgPath, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	obj := n.Obj()
	return obj.Pkg() != nil && obj.Pkg().Path() == pkgPath && obj.Name() == name
}

// isError reports whether t is the predeclared error interface. A concrete
// error type such as *MyError is not: a nil *MyError passed on as an error
// would be a non-nil interface and mark every call failed.
func isError(t types.Type) bool { return types.Identical(t, errorType) }

// isRequest reports whether t is *net/http.Request.
func isRequest(t types.Type) bool {
	p, ok := types.Unalias(t).(*types.Pointer)
	return ok && isNamed(p.Elem(), "net/http", "Request")
}

// isResponseWriter reports whether t is net/http.ResponseWriter.
func isResponseWriter(t types.Type) bool { return isNamed(t, "net/http", "ResponseWriter") }

// contextChecker answers whether a parameter type is a context, finding
// context.Context through the package's imports the first time it is needed.
type contextChecker struct {
	pkg    *types.Package
	looked bool
	ctx    types.Type // context.Context, or nil when unreachable
}

// kind reports whether a value of type t can be passed as the parent
// context (isCtx), and whether the context EnterContext returns can be
// assigned back to it (reassign). Only an interface type can take it:
// context.Context, an alias of it, or an interface with no more methods.
// A concrete type that implements context.Context (a struct embedding
// one, a *gin.Context-like pointer) and a type parameter constrained by
// context.Context are passed as the parent and left as they are.
func (c *contextChecker) kind(t types.Type) (isCtx, reassign bool) {
	if isNamed(t, "context", "Context") {
		return true, true
	}
	switch types.Unalias(t).Underlying().(type) {
	case *types.Basic, *types.Slice, *types.Array, *types.Map, *types.Chan, *types.Signature:
		return false, false
	}
	ctx := c.contextType()
	if ctx == nil {
		return false, false
	}
	if !types.AssignableTo(t, ctx) {
		return false, false
	}
	_, isTypeParam := types.Unalias(t).(*types.TypeParam)
	return true, types.IsInterface(t) && !isTypeParam && types.AssignableTo(ctx, t)
}

func (c *contextChecker) contextType() types.Type {
	if c.looked {
		return c.ctx
	}
	c.looked = true
	if c.pkg == nil {
		return nil
	}
	seen := map[*types.Package]bool{}
	queue := []*types.Package{c.pkg}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		if p.Path() == "context" {
			if obj, ok := p.Scope().Lookup("Context").(*types.TypeName); ok {
				c.ctx = obj.Type()
			}
			return c.ctx
		}
		queue = append(queue, p.Imports()...)
	}
	return nil
}
