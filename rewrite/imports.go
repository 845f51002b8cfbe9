package rewrite

import (
	"go/ast"
	"go/token"
	"go/types"
	"strconv"
	"strings"

	"github.com/dave/dst"
)

// RuntimePath is the import path of the package generated code calls.
const RuntimePath = "github.com/overmind-core/overmind-go/runtime"

// runtimePkgName is the declared name of the package at [RuntimePath].
const runtimePkgName = "overmind"

// runtimeImport is one import of the runtime package in a file.
type runtimeImport struct {
	decl *dst.GenDecl
	spec *dst.ImportSpec
	name string         // local name: "overmind" when unaliased; may be "_" or "."
	obj  *types.PkgName // from the type information; nil if unknown
}

// usable reports whether generated code can refer to the import by name.
func (ri *runtimeImport) usable() bool { return ri.name != "_" && ri.name != "." }

func importPath(spec *dst.ImportSpec) string {
	p, err := strconv.Unquote(spec.Path.Value)
	if err != nil {
		return ""
	}
	return p
}

func specName(spec *dst.ImportSpec) string {
	if spec.Name == nil {
		return ""
	}
	return spec.Name.Name
}

// findRuntimeImports lists the file's imports of the runtime.
func (rw *fileRewriter) findRuntimeImports() []*runtimeImport {
	var out []*runtimeImport
	for _, decl := range rw.file.Decls {
		gd, ok := decl.(*dst.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		for _, s := range gd.Specs {
			spec := s.(*dst.ImportSpec)
			if importPath(spec) != RuntimePath {
				continue
			}
			ri := &runtimeImport{decl: gd, spec: spec, name: runtimePkgName}
			if spec.Name != nil {
				ri.name = spec.Name.Name
			}
			if rw.in.Info != nil {
				if as, ok := rw.dec.Ast.Nodes[spec].(*ast.ImportSpec); ok {
					var obj types.Object
					if as.Name != nil {
						obj = rw.in.Info.Defs[as.Name]
					} else {
						obj = rw.in.Info.Implicits[as]
					}
					ri.obj, _ = obj.(*types.PkgName)
				}
			}
			out = append(out, ri)
		}
	}
	return out
}

// userUses reports whether code outside the stripped prologues refers to
// the import ri.
func (rw *fileRewriter) userUses(ri *runtimeImport) bool {
	inStripped := func(pos token.Pos) bool {
		for _, r := range rw.res.Stripped {
			if r.Pos <= pos && pos < r.End {
				return true
			}
		}
		return false
	}
	// Without type information, any selector on the name counts.
	used := false
	ast.Inspect(rw.in.File, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return !used
		}
		x, ok := sel.X.(*ast.Ident)
		if !ok || x.Name != ri.name || inStripped(x.Pos()) {
			return true
		}
		if ri.obj == nil || rw.in.Info.Uses[x] == ri.obj {
			used = true
		}
		return !used
	})
	return used
}

// removeImport deletes spec from its declaration, and the declaration if
// it is left empty, undoing what addImport did.
func (rw *fileRewriter) removeImport(gd *dst.GenDecl, spec *dst.ImportSpec) {
	for i, s := range gd.Specs {
		if s != spec {
			continue
		}
		if i+1 < len(gd.Specs) {
			next := gd.Specs[i+1].Decorations()
			if spec.Decs.Before != dst.NewLine && next.Before == dst.NewLine {
				// spec opened a group of imports; the next one does now.
				next.Before = spec.Decs.Before
			}
		}
		gd.Specs = append(gd.Specs[:i], gd.Specs[i+1:]...)
		break
	}
	if len(gd.Specs) > 0 {
		return
	}
	for i, d := range rw.file.Decls {
		if d == gd {
			if i+1 < len(rw.file.Decls) {
				// addImport gave the declaration the spacing of the one
				// after it; gofmt may have widened that one's since.
				rw.file.Decls[i+1].Decorations().Before = gd.Decs.Before
			}
			rw.file.Decls = append(rw.file.Decls[:i], rw.file.Decls[i+1:]...)
			return
		}
	}
}

// addImport adds `name "RuntimePath"` to the file the way goimports
// would: into a parenthesised import block, sorted into its last group of
// non-standard imports, or as a new last group; with no such block, as a
// declaration of its own after the other imports.
func (rw *fileRewriter) addImport(name string) {
	spec := &dst.ImportSpec{
		Name: dst.NewIdent(name),
		Path: &dst.BasicLit{Kind: token.STRING, Value: strconv.Quote(RuntimePath)},
	}
	spec.Decs.Before, spec.Decs.After = dst.NewLine, dst.NewLine
	last := -1
	var block *dst.GenDecl
	for i, decl := range rw.file.Decls {
		gd, ok := decl.(*dst.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			break
		}
		last = i
		if gd.Lparen && len(gd.Specs) > 0 {
			block = gd
		}
	}
	if block != nil {
		insertSorted(block, spec)
		return
	}
	gd := &dst.GenDecl{Tok: token.IMPORT, Specs: []dst.Spec{spec}}
	// Take the spacing of the declaration that will follow, which keeps its
	// own, so that removing this one restores the file exactly.
	gd.Decs.Before, gd.Decs.After = dst.EmptyLine, dst.EmptyLine
	if last+1 < len(rw.file.Decls) {
		gd.Decs.Before = rw.file.Decls[last+1].Decorations().Before
	}
	decls := append([]dst.Decl{}, rw.file.Decls[:last+1]...)
	decls = append(decls, gd)
	rw.file.Decls = append(decls, rw.file.Decls[last+1:]...)
}

// insertSorted puts spec into the block's last group of non-standard
// imports, in sorted order, or opens a new group at the end.
func insertSorted(block *dst.GenDecl, spec *dst.ImportSpec) {
	start, groupStart, groupEnd := 0, -1, -1
	for i := range block.Specs {
		if i > 0 && block.Specs[i].Decorations().Before == dst.EmptyLine {
			start = i
		}
		if !isStdPath(importPath(block.Specs[i].(*dst.ImportSpec))) {
			groupStart, groupEnd = start, i+1
			for groupEnd < len(block.Specs) && block.Specs[groupEnd].Decorations().Before != dst.EmptyLine {
				groupEnd++
			}
		}
	}
	if groupStart < 0 {
		spec.Decs.Before = dst.EmptyLine
		block.Specs = append(block.Specs, spec)
		return
	}
	at := groupEnd
	for i := groupStart; i < groupEnd; i++ {
		other := block.Specs[i].(*dst.ImportSpec)
		if p := importPath(other); p > RuntimePath || (p == RuntimePath && specName(other) > specName(spec)) {
			at = i
			break
		}
	}
	if at == groupStart {
		first := block.Specs[at].Decorations()
		spec.Decs.Before, first.Before = first.Before, dst.NewLine
	}
	specs := append([]dst.Spec{}, block.Specs[:at]...)
	specs = append(specs, spec)
	block.Specs = append(specs, block.Specs[at:]...)
}

// isStdPath reports whether path looks like a standard library package:
// its first element has no dot.
func isStdPath(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}
