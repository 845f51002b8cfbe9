package generate

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	"golang.org/x/tools/go/gcexportdata"
	"golang.org/x/tools/go/packages"

	"github.com/overmind-core/overmind-go/rewrite"
)

// checker type-checks the packages that hold directives from source, in
// the order of their imports, a few at a time, and hands each to a
// function (the rewrite) as soon as its types are known. What they import
// from other packages comes from export data, which the go command's
// build cache keeps: only the packages that hold directives are parsed and
// checked here, and none of them is compiled for its export data.
//
// Memory stays bounded by the packages in flight, not by the module: once
// a package is done, its syntax and type information are dropped and only
// its types (which the packages that import it need) are kept.
type checker struct {
	opts  Options
	fset  *token.FileSet
	sizes types.Sizes
	// files are the files findCandidates read, by name.
	files map[string]*source

	// units are the packages checked from source.
	units map[*packages.Package]*unit

	// exportMu guards stubs, the packages read from export data (or only
	// mentioned by it), and the reading itself: reading export data may
	// add objects to the packages of indirect imports, and sets the
	// imports of the package it reads. A type check sees only packages
	// already read; a rewrite, which may walk the imports of imports,
	// holds exportMu for reading (see readingTypes).
	exportMu sync.RWMutex
	stubs    map[*packages.Package]*types.Package
	// exports are the export data files of the packages the units import
	// from elsewhere, by package ID.
	exports map[string]string
	// prefetched are export data files found before the packages were
	// listed (see prefetch), by package path: for a package that is not a
	// test variant, its ID.
	prefetched map[string]string
}

// unit is a package checked from source.
type unit struct {
	pkg   *packages.Package
	types *types.Package
	// root: a package the command asked for, whose errors are reported
	// and whose files may be rewritten. The others are test variants of
	// packages that a root's test imports, checked only for their types.
	root bool
	// waiting is how many units this one imports (directly or through
	// packages read from export data) that are not done yet; dependents
	// are the units waiting for this one.
	waiting    int
	dependents []*unit
	// broken holds the files that did not parse.
	broken map[string]bool
}

func newChecker(opts Options, files map[string]*source) *checker {
	return &checker{
		opts:    opts,
		fset:    token.NewFileSet(),
		files:   files,
		units:   map[*packages.Package]*unit{},
		stubs:   map[*packages.Package]*types.Package{},
		exports: map[string]string{},
	}
}

// isTestVariant reports whether pkg is a package recompiled for a test
// ("example.com/p [example.com/q.test]"), which the go command cannot
// list, nor build export data for, on its own.
func isTestVariant(pkg *packages.Package) bool { return strings.Contains(pkg.ID, " [") }

// prepare makes units of the roots and of the test variants they import,
// has the go command build the export data of the packages the units
// import from elsewhere, and orders the units by their imports. A package
// whose export data cannot be built (it does not compile, or a package it
// imports does not) is checked from source instead, as go/packages does,
// and its own imports are then asked for in turn.
func (c *checker) prepare(roots []*packages.Package) error {
	for _, p := range roots {
		c.addUnit(p, true)
		if c.sizes == nil {
			c.sizes = p.TypesSizes
		}
	}
	asked := map[string]bool{}
	for {
		need := c.exportsNeeded(asked)
		for id := range need {
			if file := c.prefetched[id]; file != "" {
				c.exports[id] = file
				delete(need, id)
			}
		}
		if len(need) == 0 {
			break
		}
		failed, err := c.loadExports(need)
		if err != nil {
			return err
		}
		for _, p := range failed {
			c.addUnit(p, false)
		}
	}
	c.order()
	return nil
}

// exportsNeeded returns, by ID, the packages the units import that are not
// units and whose export data has not been asked for yet.
func (c *checker) exportsNeeded(asked map[string]bool) map[string]*packages.Package {
	need := map[string]*packages.Package{}
	for _, u := range c.units {
		for _, imp := range u.pkg.Imports {
			if c.units[imp] == nil && hasExportData(imp) && !asked[imp.ID] {
				asked[imp.ID] = true
				need[imp.ID] = imp
			}
		}
	}
	return need
}

// order counts, for each unit, the units it waits for: those it imports,
// directly or through packages read from export data.
func (c *checker) order() {
	reach := map[*packages.Package][]*unit{}
	for _, u := range c.units {
		deps := map[*unit]bool{}
		for _, imp := range u.pkg.Imports {
			for _, d := range c.unitsUnder(imp, reach) {
				if d != u {
					deps[d] = true
				}
			}
		}
		u.waiting = len(deps)
		for d := range deps {
			d.dependents = append(d.dependents, u)
		}
	}
}

// hasExportData reports whether the go command may build export data for
// pkg: a package with files that it listed without errors. (Asking for
// the others, a missing package or a malformed path, could fail the whole
// listing.) The importer reports those it has none for, as go/packages
// does.
func hasExportData(pkg *packages.Package) bool {
	return pkg.PkgPath != "unsafe" && len(pkg.Errors) == 0 && len(pkg.GoFiles)+len(pkg.CompiledGoFiles) > 0
}

// addUnit makes a unit of pkg, and of the test variants it imports.
func (c *checker) addUnit(pkg *packages.Package, root bool) {
	if u := c.units[pkg]; u != nil {
		u.root = u.root || root
		return
	}
	c.units[pkg] = &unit{pkg: pkg, types: types.NewPackage(pkg.PkgPath, pkg.Name), root: root, broken: map[string]bool{}}
	for _, imp := range pkg.Imports {
		if isTestVariant(imp) {
			c.addUnit(imp, false)
		}
	}
}

// unitsUnder returns the units nearest to pkg among its imports, direct
// or not, or pkg's own unit: the units that must be checked before
// anything that imports pkg, since pkg's export data may mention their
// types. reach memoizes the answer for packages that are not units.
func (c *checker) unitsUnder(pkg *packages.Package, reach map[*packages.Package][]*unit) []*unit {
	if u := c.units[pkg]; u != nil {
		return []*unit{u}
	}
	if r, ok := reach[pkg]; ok {
		return r
	}
	reach[pkg] = nil // the import graph has no cycles; this only guards
	set := map[*unit]bool{}
	var out []*unit
	for _, imp := range pkg.Imports {
		for _, u := range c.unitsUnder(imp, reach) {
			if !set[u] {
				set[u] = true
				out = append(out, u)
			}
		}
	}
	reach[pkg] = out
	return out
}

// loadExports asks the go command for the export data of the packages
// (none is a test variant), building what its cache lacks, and returns
// those it could not build.
func (c *checker) loadExports(need map[string]*packages.Package) ([]*packages.Package, error) {
	ids := make([]string, 0, len(need))
	for id := range need {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	cfg := config(c.opts, packages.NeedName|packages.NeedExportFile)
	cfg.Tests = false
	pkgs, err := packages.Load(cfg, ids...)
	if err != nil {
		return nil, explainLoadError(err)
	}
	for _, p := range pkgs {
		c.exports[p.ID] = p.ExportFile
	}
	var failed []*packages.Package
	for _, id := range ids {
		if c.exports[id] == "" {
			failed = append(failed, need[id])
		}
	}
	return failed, nil
}

// run checks every unit, at most GOMAXPROCS at a time, each after the
// units it depends on, and calls done with each unit as soon as it is
// checked. done runs in the worker that checked the unit, while other
// workers may already check the units that import it.
func (c *checker) run(done func(*unit)) {
	n := len(c.units)
	if n == 0 {
		return
	}
	ready := make(chan *unit, n)
	for _, u := range c.units {
		if u.waiting == 0 {
			ready <- u
		}
	}
	var mu sync.Mutex
	left := n
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for u := range ready {
				c.check(u)
				mu.Lock()
				for _, d := range u.dependents {
					if d.waiting--; d.waiting == 0 {
						ready <- d
					}
				}
				mu.Unlock()
				done(u)
				mu.Lock()
				if left--; left == 0 {
					close(ready)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// check parses a unit's files and type-checks them. It sets the package's
// Fset, Syntax, Types and (for a root) TypesInfo, and adds the parse and
// type errors to its Errors, as go/packages would.
func (c *checker) check(u *unit) {
	pkg := u.pkg
	pkg.Fset, pkg.Types = c.fset, u.types
	addError := func(e packages.Error) {
		if u.root {
			pkg.Errors = append(pkg.Errors, e)
		}
	}
	for _, name := range pkg.CompiledGoFiles {
		f, err := c.parse(name)
		if err != nil {
			u.broken[name] = true
			for _, e := range parseErrorsOf(err) {
				addError(e)
			}
		}
		if f != nil {
			pkg.Syntax = append(pkg.Syntax, f)
		}
	}
	var info *types.Info
	if u.root {
		// All the rewrite may read (rewrite.NewInfo says what that is),
		// for this package only: it is dropped once the package is
		// rewritten.
		info = rewrite.NewInfo()
	}
	reported := false
	conf := &types.Config{
		Importer: c.importer(pkg),
		// Only the roots' function bodies matter: the other units are
		// checked for the types they declare.
		IgnoreFuncBodies: !u.root,
		Sizes:            c.sizes,
		Error: func(err error) {
			reported = true
			if te, ok := err.(types.Error); ok {
				addError(packages.Error{Pos: te.Fset.Position(te.Pos).String(), Msg: te.Msg, Kind: packages.TypeError})
			}
		},
	}
	if pkg.Module != nil && pkg.Module.GoVersion != "" {
		conf.GoVersion = "go" + pkg.Module.GoVersion
	}
	err := types.NewChecker(conf, c.fset, u.types, info).Files(pkg.Syntax)
	if err != nil && !reported {
		addError(packages.Error{Pos: "-", Msg: err.Error(), Kind: packages.UnknownError})
	}
	pkg.TypesInfo = info
}

// parse parses a file with comments, from the bytes findCandidates read
// when it has them.
func (c *checker) parse(name string) (*ast.File, error) {
	var src []byte
	if s := c.files[name]; s != nil && s.data != nil {
		src = s.data
	} else {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		src = data
	}
	return parser.ParseFile(c.fset, name, src, parser.AllErrors|parser.ParseComments|parser.SkipObjectResolution)
}

// parseErrorsOf converts what the parser (or reading the file) returned,
// as go/packages does.
func parseErrorsOf(err error) []packages.Error {
	var list scanner.ErrorList
	var pathErr *os.PathError
	switch {
	case errors.As(err, &list):
		out := make([]packages.Error, len(list))
		for i, e := range list {
			out[i] = packages.Error{Pos: e.Pos.String(), Msg: e.Msg, Kind: packages.ParseError}
		}
		return out
	case errors.As(err, &pathErr):
		return []packages.Error{{Pos: pathErr.Path + ":1", Msg: pathErr.Err.Error(), Kind: packages.ParseError}}
	}
	return []packages.Error{{Pos: "-", Msg: err.Error(), Kind: packages.ParseError}}
}

// importer resolves the imports of pkg: a unit's types (checked before
// pkg, by the order of run), else the package's export data.
func (c *checker) importer(pkg *packages.Package) types.Importer {
	return importerFunc(func(path string) (*types.Package, error) {
		if path == "unsafe" {
			return types.Unsafe, nil
		}
		imp := pkg.Imports[path]
		if imp == nil {
			return nil, fmt.Errorf("no metadata for %s", path)
		}
		if u := c.units[imp]; u != nil {
			return u.types, nil
		}
		return c.readExport(imp)
	})
}

// readExport reads the export data of pkg, once.
func (c *checker) readExport(pkg *packages.Package) (*types.Package, error) {
	c.exportMu.Lock()
	defer c.exportMu.Unlock()
	tp := c.stub(pkg)
	if tp.Complete() {
		return tp, nil
	}
	file := c.exports[pkg.ID]
	if file == "" {
		if len(pkg.Errors) > 0 {
			return nil, errors.New(pkg.Errors[0].Msg) // why the go command could not list it
		}
		return nil, errors.New("no export data file")
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := gcexportdata.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	// The reader finds every package the export data mentions in view, by
	// path, and adds to those it has not read yet what it mentions: the
	// same types.Package stands for a package however it is reached.
	view := map[string]*types.Package{}
	seen := map[*packages.Package]bool{}
	var visit func(p *packages.Package)
	visit = func(p *packages.Package) {
		if seen[p] {
			return
		}
		seen[p] = true
		view[p.PkgPath] = c.stub(p)
		for _, imp := range p.Imports {
			visit(imp)
		}
	}
	visit(pkg)
	if _, err := gcexportdata.Read(r, c.fset, view, pkg.PkgPath); err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	return tp, nil
}

// readingTypes runs f, which reads the types of packages done so far
// beyond what a type check reads (the imports of their imports), while no
// export data is being read.
func (c *checker) readingTypes(f func()) {
	c.exportMu.RLock()
	defer c.exportMu.RUnlock()
	f()
}

// stub is the types.Package that stands for pkg: its unit's, or one that
// export data fills in. The caller holds exportMu.
func (c *checker) stub(pkg *packages.Package) *types.Package {
	if u := c.units[pkg]; u != nil {
		return u.types
	}
	if pkg.PkgPath == "unsafe" {
		return types.Unsafe
	}
	tp := c.stubs[pkg]
	if tp == nil {
		tp = types.NewPackage(pkg.PkgPath, pkg.Name)
		c.stubs[pkg] = tp
	}
	return tp
}
