package rewrite

import (
	"go/ast"
	"go/token"
	"go/types"
	"strconv"

	"github.com/dave/dst"
)

// typeSpeller writes types as Go expressions at a position of a file:
// each name as the file can refer to it there, or not at all.
type typeSpeller struct {
	pkg  *types.Package
	info *types.Info
	file *ast.File
	pos  token.Pos

	scope *types.Scope
}

// resolves reports whether name, written at the speller's position, means
// obj.
func (sp *typeSpeller) resolves(name string, obj types.Object) bool {
	if sp.scope == nil {
		sp.scope = sp.pkg.Scope().Innermost(sp.pos)
		if sp.scope == nil {
			sp.scope = sp.pkg.Scope()
		}
	}
	_, found := sp.scope.LookupParent(name, sp.pos)
	return found == obj
}

// importName is the name the file imports pkg by, if any can be used at
// the speller's position.
func (sp *typeSpeller) importName(pkg *types.Package) (string, bool) {
	for _, spec := range sp.file.Imports {
		var obj types.Object
		if spec.Name != nil {
			obj = sp.info.Defs[spec.Name]
		} else {
			obj = sp.info.Implicits[spec]
		}
		pn, ok := obj.(*types.PkgName)
		if ok && pn.Imported() == pkg && sp.resolves(pn.Name(), pn) {
			return pn.Name(), true
		}
	}
	return "", false
}

// expr spells t, or reports false when the file cannot name it at the
// speller's position: an unexported type of another package, a package
// the file does not import, a name shadowed there, a struct or interface
// type with members.
func (sp *typeSpeller) expr(t types.Type) (dst.Expr, bool) {
	switch t := t.(type) {
	case *types.Alias:
		return sp.expr(types.Unalias(t))
	case *types.Basic:
		obj := types.Universe.Lookup(t.Name())
		if obj == nil || t.Info()&types.IsUntyped != 0 || !sp.resolves(t.Name(), obj) {
			return nil, false
		}
		return dst.NewIdent(t.Name()), true
	case *types.Named:
		return sp.named(t)
	case *types.TypeParam:
		if !sp.resolves(t.Obj().Name(), t.Obj()) {
			return nil, false
		}
		return dst.NewIdent(t.Obj().Name()), true
	case *types.Pointer:
		x, ok := sp.expr(t.Elem())
		return &dst.StarExpr{X: x}, ok
	case *types.Slice:
		x, ok := sp.expr(t.Elem())
		return &dst.ArrayType{Elt: x}, ok
	case *types.Array:
		x, ok := sp.expr(t.Elem())
		return &dst.ArrayType{Len: &dst.BasicLit{Kind: token.INT, Value: strconv.FormatInt(t.Len(), 10)}, Elt: x}, ok
	case *types.Map:
		k, okK := sp.expr(t.Key())
		v, okV := sp.expr(t.Elem())
		return &dst.MapType{Key: k, Value: v}, okK && okV
	case *types.Chan:
		x, ok := sp.expr(t.Elem())
		dir := dst.SEND | dst.RECV
		switch t.Dir() {
		case types.SendOnly:
			dir = dst.SEND
		case types.RecvOnly:
			dir = dst.RECV
		}
		return &dst.ChanType{Dir: dir, Value: x}, ok
	case *types.Signature:
		return sp.funcType(t)
	case *types.Struct:
		if t.NumFields() == 0 {
			return &dst.StructType{Fields: &dst.FieldList{Opening: true, Closing: true}}, true
		}
	case *types.Interface:
		if t.Empty() {
			if any := types.Universe.Lookup("any"); sp.resolves("any", any) {
				return dst.NewIdent("any"), true
			}
			return &dst.InterfaceType{Methods: &dst.FieldList{Opening: true, Closing: true}}, true
		}
	}
	return nil, false
}

func (sp *typeSpeller) named(t *types.Named) (dst.Expr, bool) {
	obj := t.Obj()
	var x dst.Expr
	switch {
	case obj.Pkg() == nil || obj.Pkg() == sp.pkg:
		if !sp.resolves(obj.Name(), obj) {
			return nil, false
		}
		x = dst.NewIdent(obj.Name())
	case !obj.Exported():
		return nil, false
	default:
		name, ok := sp.importName(obj.Pkg())
		if !ok {
			return nil, false
		}
		x = sel(name, obj.Name())
	}
	if t.TypeArgs().Len() == 0 {
		return x, true
	}
	var args []dst.Expr
	for i := range t.TypeArgs().Len() {
		a, ok := sp.expr(t.TypeArgs().At(i))
		if !ok {
			return nil, false
		}
		args = append(args, a)
	}
	return &dst.IndexListExpr{X: x, Indices: args}, true
}

func (sp *typeSpeller) funcType(sig *types.Signature) (dst.Expr, bool) {
	list := func(tup *types.Tuple, variadic bool) (*dst.FieldList, bool) {
		fl := &dst.FieldList{Opening: true, Closing: true}
		for i := range tup.Len() {
			t := tup.At(i).Type()
			var x dst.Expr
			var ok bool
			if variadic && i == tup.Len()-1 {
				x, ok = sp.expr(t.(*types.Slice).Elem())
				x = &dst.Ellipsis{Elt: x}
			} else {
				x, ok = sp.expr(t)
			}
			if !ok {
				return nil, false
			}
			fl.List = append(fl.List, &dst.Field{Type: x})
		}
		return fl, true
	}
	params, okP := list(sig.Params(), sig.Variadic())
	results, okR := list(sig.Results(), false)
	if !okP || !okR {
		return nil, false
	}
	switch results.NumFields() {
	case 0:
		results = nil
	case 1:
		results.Opening, results.Closing = false, false
	}
	return &dst.FuncType{Func: true, Params: params, Results: results}, true
}
