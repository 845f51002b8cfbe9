package rewrite

import (
	"go/ast"
	"go/token"
	"go/types"
)

// The rewritten go statement evaluates its function value first, as the
// argument of a call: go overmind.Adopting1(s.handle)(conn, next()). The
// gc compiler evaluates the function value of go s.handle(conn, next())
// (and a method's receiver) after the calls in the arguments, reading s
// once next() has run. The two orders differ only when those calls change
// what the function value reads, or when its evaluation can panic (a nil
// interface, a nil pointer dereferenced for a value method) before calls
// the plain program makes first. evalOrder tells the statements where
// neither can happen, which are rewritten; the others are left alone.

// evalOrder answers questions about the evaluation of go statements in one
// function.
type evalOrder struct {
	info *types.Info
	pkg  *types.Package
	fn   *ast.FuncDecl

	mutable map[*types.Var]bool // computed on first use
}

// funcValueStable reports whether evaluating fun, a go statement's
// function value, gives the same value and cannot panic, whether it runs
// before the calls in the statement's arguments or after them: a
// function, a method expression, a function literal, the result of a
// call, a local variable that is never assigned after its declaration
// nor has its address taken, or a method value of such a variable that
// needs neither a nil check nor a dereference.
func (o *evalOrder) funcValueStable(fun ast.Expr) bool {
	switch f := ast.Unparen(fun).(type) {
	case *ast.FuncLit, *ast.CallExpr:
		return true
	case *ast.Ident:
		switch obj := o.info.Uses[f].(type) {
		case *types.Func:
			return true
		case *types.Var:
			return o.fixedLocal(obj)
		}
	case *ast.IndexExpr:
		return o.isFunc(f.X) && o.funcValueStable(f.X)
	case *ast.IndexListExpr:
		return o.isFunc(f.X) && o.funcValueStable(f.X)
	case *ast.SelectorExpr:
		s := o.info.Selections[f]
		if s == nil {
			_, isFunc := o.info.Uses[f.Sel].(*types.Func) // pkg.F
			return isFunc
		}
		switch s.Kind() {
		case types.MethodExpr:
			return true
		case types.MethodVal:
			return o.methodValueStable(f, s)
		}
	}
	return false
}

// isFunc reports whether x denotes a function (a generic one being
// instantiated), not a value indexed.
func (o *evalOrder) isFunc(x ast.Expr) bool {
	switch x := ast.Unparen(x).(type) {
	case *ast.Ident:
		_, ok := o.info.Uses[x].(*types.Func)
		return ok
	case *ast.SelectorExpr:
		_, ok := o.info.Uses[x.Sel].(*types.Func)
		return ok && o.info.Selections[x] == nil
	}
	return false
}

// methodValueStable reports whether the method value x.M of s reads a
// receiver that nothing can change and binds it without a nil check or a
// dereference: x is a fixed local or a call, the method is x's own (not
// promoted through embedded fields), x is not an interface, and x is not
// a pointer to a value method's receiver.
func (o *evalOrder) methodValueStable(f *ast.SelectorExpr, s *types.Selection) bool {
	recv := o.info.TypeOf(f.X)
	if recv == nil || types.IsInterface(recv) || len(s.Index()) != 1 {
		return false
	}
	_, recvIsPtr := types.Unalias(recv).Underlying().(*types.Pointer)
	if _, isTypeParam := types.Unalias(recv).(*types.TypeParam); isTypeParam {
		return false
	}
	method, ok := s.Obj().(*types.Func)
	if !ok {
		return false
	}
	_, ptrMethod := method.Type().(*types.Signature).Recv().Type().Underlying().(*types.Pointer)
	if recvIsPtr && !ptrMethod {
		return false // *x is read, and may be nil
	}
	switch x := ast.Unparen(f.X).(type) {
	case *ast.CallExpr:
		return true
	case *ast.Ident:
		v, ok := o.info.Uses[x].(*types.Var)
		return ok && o.fixedLocal(v)
	}
	return false
}

// fixedLocal reports whether v is a variable of the function (a
// parameter, a result, or declared in its body) that keeps the value it
// was declared with: nothing assigns it, increments it or takes its
// address, so no call can change it.
func (o *evalOrder) fixedLocal(v *types.Var) bool {
	if v.IsField() || v.Pkg() != o.pkg || v.Parent() == nil || v.Parent() == o.pkg.Scope() {
		return false
	}
	if v.Pos() < o.fn.Pos() || v.Pos() >= o.fn.End() {
		return false
	}
	if o.mutable == nil {
		o.mutable = mutableVars(o.info, o.fn)
	}
	return !o.mutable[v]
}

// mutableVars lists the variables that fn assigns after their declaration
// or whose address it takes, explicitly (&x, x[:] of an array) or by
// calling a pointer method on them.
func mutableVars(info *types.Info, fn *ast.FuncDecl) map[*types.Var]bool {
	m := map[*types.Var]bool{}
	mark := func(e ast.Expr) {
		if v := rootVar(info, e); v != nil {
			m[v] = true
		}
	}
	ast.Inspect(fn, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, lhs := range n.Lhs {
				if id, ok := lhs.(*ast.Ident); ok && n.Tok == token.DEFINE && info.Defs[id] != nil {
					continue // declared here
				}
				mark(lhs)
			}
		case *ast.IncDecStmt:
			mark(n.X)
		case *ast.RangeStmt:
			if n.Tok == token.ASSIGN {
				mark(n.Key)
				mark(n.Value)
			}
		case *ast.UnaryExpr:
			if n.Op == token.AND {
				mark(n.X)
			}
		case *ast.SliceExpr:
			if _, isArray := typeUnder(info.TypeOf(n.X)).(*types.Array); isArray {
				mark(n.X)
			}
		case *ast.SelectorExpr:
			if s := info.Selections[n]; s != nil && s.Kind() == types.MethodVal && !s.Indirect() {
				if _, ptrRecv := typeUnder(s.Obj().Type().(*types.Signature).Recv().Type()).(*types.Pointer); ptrRecv {
					if _, isPtr := typeUnder(info.TypeOf(n.X)).(*types.Pointer); !isPtr {
						mark(n.X) // x.M() with func (*T) M: &x
					}
				}
			}
		}
		return true
	})
	return m
}

// rootVar is the variable an assignment to e changes: x for x, x.f, x[i]
// of an array; nil through a pointer, slice or map, whose variable keeps
// its value.
func rootVar(info *types.Info, e ast.Expr) *types.Var {
	for {
		switch x := ast.Unparen(e).(type) {
		case *ast.Ident:
			v, _ := info.ObjectOf(x).(*types.Var)
			return v
		case *ast.SelectorExpr:
			s := info.Selections[x]
			if s == nil {
				v, _ := info.ObjectOf(x.Sel).(*types.Var)
				return v
			}
			if _, isPtr := typeUnder(info.TypeOf(x.X)).(*types.Pointer); isPtr || s.Kind() != types.FieldVal {
				return nil
			}
			e = x.X
		case *ast.IndexExpr:
			if _, isArray := typeUnder(info.TypeOf(x.X)).(*types.Array); !isArray {
				return nil
			}
			e = x.X
		default:
			return nil
		}
	}
}

func typeUnder(t types.Type) types.Type {
	if t == nil {
		return nil
	}
	return types.Unalias(t).Underlying()
}

// inertAll reports whether evaluating the expressions, in any order,
// calls nothing, receives nothing and cannot panic: then when the
// function value is evaluated does not matter.
func (o *evalOrder) inertAll(es []ast.Expr) bool {
	for _, e := range es {
		if !o.inert(e) {
			return false
		}
	}
	return true
}

// inert reports whether evaluating e calls no function, receives from no
// channel and cannot panic: constants, variables, function literals,
// composite literals of inert parts, field selections that dereference
// nothing, conversions and arithmetic that cannot fail, len and cap.
func (o *evalOrder) inert(e ast.Expr) bool {
	if tv, ok := o.info.Types[e]; ok && tv.Value != nil {
		return true
	}
	switch e := e.(type) {
	case *ast.Ident, *ast.BasicLit, *ast.FuncLit:
		return true
	case *ast.ParenExpr:
		return o.inert(e.X)
	case *ast.CompositeLit:
		return o.inertAll(e.Elts)
	case *ast.KeyValueExpr:
		return o.inert(e.Key) && o.inert(e.Value)
	case *ast.SelectorExpr:
		s := o.info.Selections[e]
		switch {
		case s == nil, s.Kind() == types.MethodExpr:
			return true
		case s.Kind() == types.FieldVal:
			return !s.Indirect() && o.inert(e.X)
		}
	case *ast.UnaryExpr:
		return e.Op != token.ARROW && o.inert(e.X)
	case *ast.BinaryExpr:
		return o.inertBinary(e)
	case *ast.CallExpr:
		return o.inertCall(e)
	case *ast.IndexExpr:
		if o.isFunc(e.X) {
			return true // an instantiation
		}
		m, isMap := typeUnder(o.info.TypeOf(e.X)).(*types.Map)
		return isMap && !types.IsInterface(m.Key()) && o.inert(e.X) && o.inert(e.Index)
	case *ast.IndexListExpr:
		return o.isFunc(e.X)
	}
	return false
}

func (o *evalOrder) inertBinary(e *ast.BinaryExpr) bool {
	if !o.inert(e.X) || !o.inert(e.Y) {
		return false
	}
	switch e.Op {
	case token.QUO, token.REM:
		b, ok := typeUnder(o.info.TypeOf(e)).(*types.Basic)
		return ok && b.Info()&types.IsInteger == 0 // integer division by zero panics
	case token.SHL, token.SHR:
		tv := o.info.Types[e.Y]
		return tv.Value != nil // a negative shift count panics
	case token.EQL, token.NEQ:
		// Comparing interfaces panics on an incomparable dynamic type.
		return !types.IsInterface(o.info.TypeOf(e.X)) && !types.IsInterface(o.info.TypeOf(e.Y))
	}
	return true
}

// inertCall reports whether a call is a conversion that cannot panic or
// len or cap, of an inert argument.
func (o *evalOrder) inertCall(e *ast.CallExpr) bool {
	tv := o.info.Types[e.Fun]
	switch {
	case tv.IsType():
		if len(e.Args) != 1 || !o.inert(e.Args[0]) {
			return false
		}
		// A slice converted to an array or an array pointer panics when
		// it is too short.
		switch t := typeUnder(tv.Type).(type) {
		case *types.Array:
			return false
		case *types.Pointer:
			_, toArray := typeUnder(t.Elem()).(*types.Array)
			return !toArray
		}
		return true
	case tv.IsBuiltin():
		id, ok := ast.Unparen(e.Fun).(*ast.Ident)
		return ok && (id.Name == "len" || id.Name == "cap") && o.inertAll(e.Args)
	}
	return false
}
