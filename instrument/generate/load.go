package generate

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/tools/go/packages"

	"github.com/overmind-core/overmind-go/rewrite"
)

const fullMode = packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
	packages.NeedImports | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedSyntax

// loadFull loads the packages with syntax and types. Dependencies come
// from export data; the packages themselves are checked from source.
//
// The files that do not parse are returned apart: their syntax trees are
// incomplete (the parser may even give up after the package clause), so
// they must be reported, never rewritten.
func loadFull(opts Options, pkgPatterns []string) ([]*packages.Package, map[string]bool, error) {
	cfg := config(opts, fullMode)
	var mu sync.Mutex
	broken := map[string]bool{}
	cfg.ParseFile = func(fset *token.FileSet, filename string, src []byte) (*ast.File, error) {
		f, err := parser.ParseFile(fset, filename, src, parser.AllErrors|parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			mu.Lock()
			broken[filename] = true
			mu.Unlock()
		}
		return f, err
	}
	pkgs, err := packages.Load(cfg, pkgPatterns...)
	if err != nil {
		return nil, nil, explainLoadError(err)
	}
	return pkgs, broken, nil
}

// explainLoadError makes the go command's failures to load packages say
// what to do about them.
func explainLoadError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "go.mod file not found"):
		return fmt.Errorf("not in a Go module: run overmind in a module's directory (go mod init creates one)")
	case strings.Contains(msg, "missing go.sum entry"):
		return fmt.Errorf("load packages: %w\nThe module's go.sum lacks entries the packages need: run go mod tidy (or the go get the message names), then run overmind again", err)
	}
	return fmt.Errorf("load packages: %w", err)
}

// runtimeInfo is what generate mode needs to know of the runtime package
// in the module it runs in.
type runtimeInfo struct {
	// deps are the packages the runtime imports, directly or not: code
	// generated in one of them would make an import cycle.
	deps map[string]bool
	// missing, when the module cannot load the runtime, is the warning
	// that says how to add it.
	missing *rewrite.Diagnostic
}

// loadRuntime lists the runtime package and its dependencies as the
// module sees them.
func loadRuntime(opts Options) runtimeInfo {
	cfg := config(opts, packages.NeedName|packages.NeedImports|packages.NeedDeps)
	cfg.Tests = false
	pkgs, err := packages.Load(cfg, rewrite.RuntimePath)
	if err != nil || len(pkgs) != 1 || len(pkgs[0].Errors) > 0 {
		return runtimeInfo{missing: &rewrite.Diagnostic{
			Pos:      token.Position{Filename: rewrite.RuntimePath},
			Severity: rewrite.Warning,
			Message:  "generated code imports this package, which the module cannot load; add it with: go get " + rewrite.RuntimePath,
		}}
	}
	deps := map[string]bool{}
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		if p.PkgPath != rewrite.RuntimePath {
			deps[p.PkgPath] = true
		}
	})
	return runtimeInfo{deps: deps}
}

// usesCgo reports whether pkg has files that cgo processed: the loader
// parsed and type-checked cgo's output in their place.
func usesCgo(pkg *packages.Package) bool {
	compiled := map[string]bool{}
	for _, name := range pkg.CompiledGoFiles {
		compiled[name] = true
	}
	for _, name := range pkg.GoFiles {
		if strings.HasSuffix(name, ".go") && !compiled[name] {
			return true
		}
	}
	return false
}

// checkCgoSource parses a cgo package's own files and type-checks them,
// with references to package C unchecked (go/types' FakeImportC) and the
// other imports from the types the loader read. It returns the files and
// what could be learned of their types; without types when removing, which
// needs the syntax only.
func checkCgoSource(pkg *packages.Package, remove bool) ([]*ast.File, *types.Package, *types.Info) {
	var files []*ast.File
	for _, name := range pkg.GoFiles {
		if !strings.HasSuffix(name, ".go") {
			continue
		}
		f, err := parser.ParseFile(pkg.Fset, name, nil, parser.AllErrors|parser.ParseComments|parser.SkipObjectResolution)
		if f == nil || err != nil {
			continue // reported by the loader
		}
		files = append(files, f)
	}
	if remove || pkg.Types == nil {
		return files, nil, nil
	}
	imports := map[string]*types.Package{}
	for _, p := range pkg.Types.Imports() {
		imports[p.Path()] = p
	}
	conf := types.Config{
		FakeImportC: true,
		Importer: importerFunc(func(path string) (*types.Package, error) {
			if p := imports[path]; p != nil {
				return p, nil
			}
			return nil, fmt.Errorf("%s is not among the imports the loader read", path)
		}),
		Error: func(error) {}, // the loader reported the package's errors
	}
	info := &types.Info{
		Types:      map[ast.Expr]types.TypeAndValue{},
		Defs:       map[*ast.Ident]types.Object{},
		Uses:       map[*ast.Ident]types.Object{},
		Implicits:  map[ast.Node]types.Object{},
		Scopes:     map[ast.Node]*types.Scope{},
		Selections: map[*ast.SelectorExpr]*types.Selection{},
	}
	checked, _ := conf.Check(pkg.PkgPath, pkg.Fset, files, info)
	return files, checked, info
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// excludedFiles warns about the files of pkg that this build leaves out
// (build constraints, or a _GOOS/_GOARCH file name) but that hold
// directives or generated code: generate mode rewrites only the files of
// the build it runs for, with their types.
func excludedFiles(pkg *packages.Package, opts Options) []rewrite.Diagnostic {
	var out []rewrite.Diagnostic
	for _, name := range pkg.IgnoredFiles {
		if !strings.HasSuffix(name, ".go") || (strings.HasSuffix(name, "_test.go") && !opts.Tests) {
			continue
		}
		d, ok := excludedFileWarning(name, opts)
		if ok {
			out = append(out, d)
		}
	}
	return out
}

// excludedFileWarning is the warning for one file left out of the build,
// when it holds directives or generated code.
func excludedFileWarning(name string, opts Options) (rewrite.Diagnostic, bool) {
	src, err := readFile(name)
	if err != nil || !rewrite.MayNeedRewrite(src) {
		return rewrite.Diagnostic{}, false
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		return rewrite.Diagnostic{}, false
	}
	how := buildFor(filepath.Base(name), f, opts.Tags)
	msg := "not instrumented: this build leaves the file out (" + how.why + ")"
	if how.run != "" {
		msg += "; to rewrite it, run again as: " + how.run
	}
	return rewrite.Diagnostic{Pos: fset.Position(f.Package), Severity: rewrite.Warning, Message: msg}, true
}
