package rewrite

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"
)

// Package is one package as a driver loaded it: every file it compiles,
// parsed with comments, and its type information. Both drivers build one
// and hand it to [RewritePackage]; what happens to a package is decided
// there, once.
type Package struct {
	// Fset holds the positions of Files.
	Fset *token.FileSet
	// Files are the package's files. Filenames are their paths, in the same
	// order, as diagnostics and the _test.go policy see them.
	Files     []*ast.File
	Filenames []string
	// Broken marks the files, by index, that did not parse: their syntax
	// trees are incomplete (the parser may have given up after the package
	// clause), so they are never rewritten. Their syntax errors are the
	// driver's to report, as it got them from the parser.
	Broken map[int]bool
	// Types and Info are the type-checked package; Info needs Defs, Uses,
	// Implicits and Scopes. Instrumenting needs them. Removing can do
	// without (both nil), at the cost of a syntactic guess at which runtime
	// imports are still used; leave them nil when type-checking failed.
	Types *types.Package
	Info  *types.Info
	// RuntimeDependency reports that the runtime package imports this one,
	// directly or not, so that generated code here would make an import
	// cycle: its directives are errors.
	RuntimeDependency bool
}

// Options says what [RewritePackage] does.
type Options struct {
	// Mode is Instrument or Remove.
	Mode Mode
	// Tests includes the _test.go files. Without it they are left as they
	// are, directives and all.
	Tests bool
	// Files, when not nil, restricts the rewrite to the files of these
	// indexes in Package.Files: the others are left as they are and their
	// problems are not reported. A driver that keeps the rewrite of each
	// file rewrites only those it has not kept. The rewrite of a file
	// depends on the other files only through the package's types, so
	// what it makes of a file is the same either way.
	Files []int
}

// FileResult is one file RewritePackage changed.
type FileResult struct {
	// Index is the file's index in Package.Files.
	Index int
	// Result is the rewritten file, to print with [Result.Format] or
	// [Result.FormatLines].
	Result *Result
}

// PackageResult is what RewritePackage made of a package.
type PackageResult struct {
	// Files are the files whose syntax changed, in the order of
	// Package.Files. It is empty when Diagnostics hold an error: nothing
	// may be written then.
	Files []FileResult
	// Diagnostics are the problems found in every file, sorted.
	Diagnostics []Diagnostic
	// Stripped are the ranges of the input, in any file, that held
	// generated code. Type errors there are expected when a user has
	// edited an instrumented function, and do not stand in the way of
	// regenerating it.
	Stripped []Range
	// Rewritten is how many files were rewritten in memory, changed or
	// not: those that hold directives or generated code.
	Rewritten int
}

// HasErrors reports whether the package has a problem that stops it.
func (r *PackageResult) HasErrors() bool { return HasErrors(r.Diagnostics) }

// RewritePackage applies the file policy and the rewrite to every file of
// a package:
//
//   - a file is looked at when it has a directive comment (or one written
//     with a space, which gets a warning) or imports the runtime package,
//     as generated code does; others are left alone;
//   - a file that did not parse (Package.Broken) is never rewritten;
//   - a file marked "Code generated ... DO NOT EDIT." is never rewritten:
//     its directives get a warning that they are ignored;
//   - a _test.go file is left alone unless Options.Tests is set;
//   - in a package the runtime depends on, a directive is an error;
//   - the others go through [File] with Options.Mode.
//
// A panic in the rewrite of a file becomes an error diagnostic at that
// file's package clause. The result holds no files when any diagnostic is
// an error.
func RewritePackage(pkg *Package, opts Options) *PackageResult {
	res := &PackageResult{}
	for i, f := range pkg.Files {
		if f == nil || pkg.Broken[i] || (opts.Files != nil && !slices.Contains(opts.Files, i)) {
			continue
		}
		if !LooksAt(f) {
			continue
		}
		if skip, diags := skipFile(pkg, i, opts); skip {
			res.Diagnostics = append(res.Diagnostics, diags...)
			continue
		}
		res.Rewritten++
		r, err := File(Input{Fset: pkg.Fset, File: f, Pkg: pkg.Types, Info: pkg.Info}, opts.Mode)
		if err != nil {
			res.Diagnostics = append(res.Diagnostics, Diagnostic{Pos: pkg.Fset.Position(f.Package), Severity: Error, Message: err.Error()})
			continue
		}
		res.Diagnostics = append(res.Diagnostics, r.Diagnostics...)
		res.Stripped = append(res.Stripped, r.Stripped...)
		if r.Changed {
			res.Files = append(res.Files, FileResult{Index: i, Result: r})
		}
	}
	res.Diagnostics = SortDiagnostics(res.Diagnostics)
	if res.HasErrors() {
		res.Files = nil
	}
	return res
}

// LooksAt reports whether [RewritePackage] looks at f at all: whether f
// has a directive comment (or one written with a space) or imports the
// runtime package, as generated code does. It leaves every other file as
// it is, with nothing to report.
func LooksAt(f *ast.File) bool {
	return hasDirectiveComment(f) || importsRuntime(f)
}

// skipFile applies the file policy to file i: whether it is left as it
// is, and what to tell the user about it.
func skipFile(pkg *Package, i int, opts Options) (bool, []Diagnostic) {
	f := pkg.Files[i]
	name := pkg.Fset.Position(f.Package).Filename
	if i < len(pkg.Filenames) {
		name = pkg.Filenames[i]
	}
	switch {
	case strings.HasSuffix(name, "_test.go") && !opts.Tests:
		return true, nil
	case ast.IsGenerated(f):
		if opts.Mode == Remove {
			return true, nil
		}
		return true, directivesIgnored(pkg.Fset, f, "directives in a generated file (marked \"Code generated ... DO NOT EDIT.\") are ignored")
	case pkg.RuntimeDependency && opts.Mode == Instrument:
		return true, runtimeDependencyErrors(pkg, f)
	}
	return false, nil
}

// directivesIgnored warns, at the first directive of f, that its
// directives are ignored for the reason given.
func directivesIgnored(fset *token.FileSet, f *ast.File, why string) []Diagnostic {
	dirs, _ := FindDirectives(fset, f)
	if len(dirs) == 0 {
		return nil
	}
	return []Diagnostic{{Pos: fset.Position(dirs[0].Pos), Severity: Warning, Message: why}}
}

// runtimeDependencyErrors reports each directive of f, in a package the
// runtime imports, as an error.
func runtimeDependencyErrors(pkg *Package, f *ast.File) []Diagnostic {
	dirs, diags := FindDirectives(pkg.Fset, f)
	path := "this package"
	if pkg.Types != nil {
		path = pkg.Types.Path()
	}
	for _, d := range dirs {
		if d.Kind == KindIgnore {
			continue
		}
		diags = append(diags, Diagnostic{
			Pos:      pkg.Fset.Position(d.Pos),
			Severity: Error,
			Message:  fmt.Sprintf("cannot instrument %s: the runtime package (%s) depends on %s, so generated code would make an import cycle", d.Decl.Name.Name, RuntimePath, path),
		})
	}
	return diags
}

// NewInfo returns a types.Info with every map the rewrite reads (and the
// others a type-check fills cheaply), for a driver that type-checks a
// package itself.
func NewInfo() *types.Info {
	return &types.Info{
		Types:        map[ast.Expr]types.TypeAndValue{},
		Instances:    map[*ast.Ident]types.Instance{},
		Defs:         map[*ast.Ident]types.Object{},
		Uses:         map[*ast.Ident]types.Object{},
		Implicits:    map[ast.Node]types.Object{},
		Selections:   map[*ast.SelectorExpr]*types.Selection{},
		Scopes:       map[ast.Node]*types.Scope{},
		FileVersions: map[*ast.File]string{},
	}
}
