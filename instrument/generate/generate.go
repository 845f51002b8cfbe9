// Package generate is the generate-mode driver of the overmind code
// generator (overmind instrument): it lists packages with
// golang.org/x/tools/go/packages, type-checks from source only those that
// hold directives or generated code (the rest comes from export data),
// hands each to the core, [rewrite.RewritePackage], as soon as it is
// checked, prints the files that change gofmt'd, and returns their new
// contents. Like
// google/wire, it computes results and writes nothing; [Write] does that,
// separately and all at once. Its sibling, package
// github.com/overmind-core/overmind-go/instrument/toolexec, calls the same
// core at compile time.
package generate

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/tools/go/packages"

	"github.com/overmind-core/overmind-go/rewrite"
)

// GCPercent is the garbage collector target the overmind command runs
// with (see runtime/debug.SetGCPercent). Rewriting allocates a lot of
// short-lived syntax; a larger heap cuts the CPU time per file by about a
// quarter, at a memory cost that stays small next to the loaded packages.
const GCPercent = 400

// MemoryLimit is the soft memory limit generate mode runs with (see
// runtime/debug.SetMemoryLimit). The memory a run needs stays small, the
// types of the packages checked so far and the few packages in flight, but
// with GCPercent the heap would grow to five times that before the
// collector runs: the limit makes it run sooner once the heap nears it.
const MemoryLimit = 240 << 20

// LimitMemory sets MemoryLimit, unless the GOMEMLIMIT environment
// variable has set a limit of its own.
func LimitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
}

// Options says what to load and what to do with it.
type Options struct {
	// Dir is the directory the go command runs in; "" is the current one.
	Dir string
	// Patterns are package patterns as for go build; none means ".".
	Patterns []string
	// Tags is a comma-separated list of build tags, as for go build -tags.
	Tags string
	// Tests includes _test.go files.
	Tests bool
	// Remove strips all generated instrumentation instead of generating it.
	Remove bool
	// Env is the go command's environment; nil means os.Environ().
	Env []string
}

// Change is a file whose contents the run would change.
type Change struct {
	Path string // absolute
	Old  []byte
	New  []byte
	Mode fs.FileMode
}

// Result is what a run found: the files that would change and the problems
// in the input. When Diagnostics hold an error, Changes is empty: nothing
// may be written.
type Result struct {
	Changes     []Change
	Diagnostics []rewrite.Diagnostic
	// Files is how many files were rewritten in memory: those that mention
	// overmind, changed or not.
	Files int
}

// HasErrors reports whether the run found a problem that stops it.
func (r *Result) HasErrors() bool { return rewrite.HasErrors(r.Diagnostics) }

// Run loads the packages and rewrites the files that hold directives or
// generated code. It returns an error when the packages cannot be loaded
// at all; problems in the code are Result.Diagnostics.
func Run(opts Options) (*Result, error) {
	var rt runtimeInfo
	var sizes types.Sizes
	rtDone := make(chan struct{})
	go func() {
		defer close(rtDone)
		sizes = loadSizes(opts)
		if !opts.Remove {
			rt = loadRuntime(opts)
		}
	}()
	pf := startPrefetch(opts)
	cands, diags, err := findCandidates(opts, graphMode)
	<-rtDone
	if err != nil {
		return nil, err
	}
	res := &Result{Diagnostics: diags}
	if len(cands.roots) > 0 {
		err := rewritePackages(opts, cands, rt, pf, sizes, res)
		if errors.Is(err, errCgo) {
			// A package checked from source may use cgo: list again, with
			// the files cgo makes.
			if cands, diags, err = findCandidates(opts, cgoGraphMode); err != nil {
				return nil, err
			}
			res = &Result{Diagnostics: diags}
			err = rewritePackages(opts, cands, rt, pf, sizes, res)
		}
		if err != nil {
			return nil, err
		}
	}
	res.Diagnostics = rewrite.SortDiagnostics(res.Diagnostics)
	if res.HasErrors() {
		res.Changes = nil
	}
	sort.Slice(res.Changes, func(i, j int) bool { return res.Changes[i].Path < res.Changes[j].Path })
	return res, nil
}

// source is a Go file the loader listed.
type source struct {
	// data is the file's contents, kept for the files that may need a
	// rewrite; the others are read again if their package is checked.
	data []byte
	mode fs.FileMode
	// relevant: the file may hold directives or generated code
	// (rewrite.MayNeedRewrite).
	relevant bool
	// cgo: the file may import "C".
	cgo bool
}

type candidates struct {
	files map[string]*source
	// roots are the packages with relevant files, test variants included
	// (all variants of a package that has one: the package under test, its
	// test variant and its external test package).
	roots []*packages.Package
	// withoutCgo: the packages were listed without the files cgo makes
	// (graphMode); a package to check from source must not use cgo.
	withoutCgo bool
}

// config is the go/packages configuration of every load.
func config(opts Options, mode packages.LoadMode) *packages.Config {
	cfg := &packages.Config{
		Mode:  mode,
		Dir:   opts.Dir,
		Env:   opts.Env,
		Tests: opts.Tests,
	}
	if opts.Tags != "" {
		cfg.BuildFlags = []string{"-tags=" + opts.Tags}
	}
	return cfg
}

func patterns(opts Options) []string {
	if len(opts.Patterns) == 0 {
		return []string{"."}
	}
	return opts.Patterns
}

// listMode lists the packages and their files, cheaply: the go command
// reads no more than the files' headers.
const listMode = packages.NeedName | packages.NeedFiles | packages.NeedForTest

// graphMode lists the packages with their files and the import graph
// down to the standard library, all the type-checking needs, without
// building anything. It leaves out the files the compiler is given
// (CompiledGoFiles), and the sizes of types (which go/packages asks for
// with them, from go list -compiled; loadSizes finds them): for those the
// go command works out the build of every package listed, at about half
// again the cost of the listing. They differ from the package's Go files
// only where cgo (or SWIG) makes Go files, and findCandidates sets them to
// the Go files. When a package to check from source may use cgo, the run
// lists again in cgoGraphMode.
const graphMode = listMode | packages.NeedImports | packages.NeedDeps | packages.NeedModule

// loadSizes returns the sizes of types for the build the go command
// lists, or nil (then the checker takes those of the first package it
// checks, or go/types' own).
func loadSizes(opts Options) types.Sizes {
	cfg := config(opts, packages.NeedName|packages.NeedTypesSizes)
	cfg.Tests = false
	pkgs, err := packages.Load(cfg, "unsafe")
	if err != nil || len(pkgs) != 1 {
		return nil
	}
	return pkgs[0].TypesSizes
}

// cgoGraphMode is graphMode with the files cgo makes, as the compiler
// gets them, which a package that uses cgo is checked with.
const cgoGraphMode = graphMode | packages.NeedCompiledGoFiles

// errCgo says that a package to check from source may use cgo, and that
// the packages must be listed again in cgoGraphMode.
var errCgo = errors.New("a package to check from source may use cgo")

// findCandidates lists the packages (in the given mode) and reads their
// files, and keeps the packages with a file that mentions overmind: only
// those are type-checked.
func findCandidates(opts Options, mode packages.LoadMode) (*candidates, []rewrite.Diagnostic, error) {
	pkgs, err := packages.Load(config(opts, mode), patterns(opts)...)
	if err != nil {
		return nil, nil, explainLoadError(err)
	}
	if outsideModule(pkgs) {
		return nil, nil, errNotInModule
	}
	if len(pkgs) == 0 {
		return nil, nil, fmt.Errorf("no packages match %s", strings.Join(patterns(opts), " "))
	}
	c := &candidates{files: map[string]*source{}}
	var diags []rewrite.Diagnostic
	relevant := map[string]bool{}
	for _, pkg := range pkgs {
		if len(pkg.GoFiles) == 0 {
			for _, e := range pkg.Errors {
				diags = append(diags, diagnosticOf(e, pkg, goDir(opts)))
			}
			continue
		}
		for _, name := range pkg.GoFiles {
			if !strings.HasSuffix(name, ".go") {
				continue // a test's generated main, in the build cache
			}
			src := c.files[name]
			if src == nil {
				if src, err = readSource(name); err != nil {
					return nil, nil, err
				}
				c.files[name] = src
			}
			relevant[loadPattern(pkg)] = relevant[loadPattern(pkg)] || src.relevant
		}
		diags = append(diags, excludedFiles(pkg, opts)...)
	}
	for _, pkg := range pkgs {
		if len(pkg.GoFiles) > 0 && relevant[loadPattern(pkg)] {
			c.roots = append(c.roots, pkg)
		}
	}
	if mode&packages.NeedImports != 0 && mode&packages.NeedCompiledGoFiles == 0 {
		c.withoutCgo = true
		packages.Visit(pkgs, nil, func(p *packages.Package) { p.CompiledGoFiles = goFilesOf(p) })
	}
	return c, diags, nil
}

// goFilesOf returns the Go files of pkg, which are the files the compiler
// gets unless cgo or SWIG make more.
func goFilesOf(pkg *packages.Package) []string {
	var out []string
	for _, name := range pkg.GoFiles {
		if strings.HasSuffix(name, ".go") {
			out = append(out, name)
		}
	}
	return out
}

// mayUseCgo reports whether pkg may use cgo or SWIG: a Go file of its own
// imports "C" (or could not be read to tell), or it has SWIG files.
func mayUseCgo(pkg *packages.Package, files map[string]*source) bool {
	for _, name := range pkg.OtherFiles {
		if strings.HasSuffix(name, ".swig") || strings.HasSuffix(name, ".swigcxx") {
			return true
		}
	}
	for _, name := range goFilesOf(pkg) {
		src := files[name]
		if src == nil {
			data, err := readFile(name)
			if err != nil {
				return true
			}
			src = &source{cgo: importsC(data)}
		}
		if src.cgo {
			return true
		}
	}
	return false
}

// importsC reports whether a Go file may import "C": whether it holds the
// path as a Go string and, if it parses, an import of it.
func importsC(data []byte) bool {
	if !bytes.Contains(data, []byte(`"C"`)) && !bytes.Contains(data, []byte("`C`")) {
		return false
	}
	f, err := parser.ParseFile(token.NewFileSet(), "", data, parser.ImportsOnly|parser.SkipObjectResolution)
	if err != nil {
		return true
	}
	for _, imp := range f.Imports {
		if path, err := strconv.Unquote(imp.Path.Value); err != nil || path == "C" {
			return true
		}
	}
	return false
}

// readSource reads a listed file, keeping its contents if it may need a
// rewrite.
func readSource(name string) (*source, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	src := &source{mode: info.Mode().Perm(), relevant: rewrite.MayNeedRewrite(data), cgo: importsC(data)}
	if src.relevant {
		src.data = data
	}
	return src, nil
}

// loadPattern is what loads pkg again: its import path, or for a test
// variant or an external test package (example.com/x_test), which have no
// import path of their own, the path of the package under test.
func loadPattern(pkg *packages.Package) string {
	if pkg.ForTest != "" {
		return pkg.ForTest
	}
	return pkg.PkgPath
}

// rewritePackages type-checks the candidate packages and has the core
// rewrite each as soon as its types are known, then prints the files
// that change. Each package's syntax and type information is dropped once
// it is rewritten.
func rewritePackages(opts Options, c *candidates, rt runtimeInfo, pf *prefetch, sizes types.Sizes, res *Result) error {
	chk := newChecker(opts, c.files)
	chk.prefetched, chk.sizes = pf.wait(), sizes
	if err := chk.prepare(c.roots); err != nil {
		return err
	}
	if c.withoutCgo {
		for pkg := range chk.units {
			if mayUseCgo(pkg, c.files) {
				return errCgo
			}
		}
	}
	owner := fileOwners(c)
	jobs := map[*packages.Package]*job{}
	var mu sync.Mutex
	var stripped []posRange
	chk.run(func(u *unit) {
		if !u.root {
			u.pkg.Syntax = nil
			return
		}
		j := newJob(u, c, owner, rt, opts)
		if j != nil {
			j.run(chk, opts)
		}
		u.pkg.Syntax, u.pkg.TypesInfo = nil, nil
		if j == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		jobs[u.pkg] = j
		for _, s := range j.res.Stripped {
			stripped = append(stripped, posRange{chk.fset.Position(s.Pos), chk.fset.Position(s.End)})
		}
	})

	// A file is rewritten in one package, but the other variants that hold
	// it (the package and its test variant) report the same type errors
	// in its stale generated code: filter them out of every package.
	for _, pkg := range c.roots {
		j := jobs[pkg]
		if j == nil {
			continue
		}
		res.Files += j.res.Rewritten
		res.Diagnostics = append(res.Diagnostics, j.res.Diagnostics...)
		if j.err != nil {
			return j.err
		}
		res.Changes = append(res.Changes, j.changes...)
	}
	for _, pkg := range c.roots {
		res.Diagnostics = append(res.Diagnostics, packageErrors(pkg, goDir(opts), stripped, opts.Remove)...)
	}
	if !opts.Remove && rt.missing != nil && len(res.Changes) > 0 {
		res.Diagnostics = append(res.Diagnostics, *rt.missing)
	}
	return nil
}

// fileOwners chooses, for each relevant file, the one package that
// rewrites it: a test variant holds all of a package's files, so the most
// complete package that has the file.
func fileOwners(c *candidates) map[string]*packages.Package {
	roots := slices.Clone(c.roots)
	sort.SliceStable(roots, func(i, j int) bool {
		return isTestVariant(roots[i]) && !isTestVariant(roots[j])
	})
	owner := map[string]*packages.Package{}
	for _, pkg := range roots {
		for _, name := range pkg.GoFiles {
			if src := c.files[name]; src != nil && src.relevant && owner[name] == nil {
				owner[name] = pkg
			}
		}
	}
	return owner
}

// job is the rewrite of one package.
type job struct {
	pkg     *packages.Package
	in      *rewrite.Package
	srcs    map[int]*source
	res     *rewrite.PackageResult
	changes []Change
	err     error
}

// newJob gathers what the core needs to rewrite the unit's package: its
// files that may hold directives or generated code and that it owns, or
// nil when there are none.
func newJob(u *unit, c *candidates, owner map[string]*packages.Package, rt runtimeInfo, opts Options) *job {
	pkg := u.pkg
	files, types, info := pkg.Syntax, pkg.Types, pkg.TypesInfo
	if usesCgo(pkg) {
		files, types, info = checkCgoSource(pkg, opts.Remove)
	}
	in := &rewrite.Package{
		Fset:              pkg.Fset,
		Files:             make([]*ast.File, len(files)),
		Filenames:         make([]string, len(files)),
		Broken:            map[int]bool{},
		Types:             types,
		Info:              info,
		RuntimeDependency: rt.deps[pkg.PkgPath],
	}
	if opts.Remove && len(pkg.Errors) > 0 {
		// Type information may be missing or wrong; removal tells from
		// the syntax whether the runtime import is still used.
		in.Types, in.Info = nil, nil
	}
	j := &job{pkg: pkg, in: in, srcs: map[int]*source{}}
	for i, f := range files {
		name := pkg.Fset.File(f.FileStart).Name()
		src := c.files[name]
		if src == nil || !src.relevant || owner[name] != pkg {
			continue
		}
		in.Files[i], in.Filenames[i], j.srcs[i] = f, name, src
		in.Broken[i] = u.broken[name]
	}
	if len(j.srcs) == 0 {
		return nil
	}
	return j
}

// run rewrites the package, while no export data is being read (the
// rewrite reads the types of the packages it imports, and of theirs), and
// prints the files that change, then drops the syntax: only the results
// are kept.
func (j *job) run(chk *checker, opts Options) {
	mode := rewrite.Instrument
	if opts.Remove {
		mode = rewrite.Remove
	}
	chk.readingTypes(func() {
		j.res = rewrite.RewritePackage(j.in, rewrite.Options{Mode: mode, Tests: opts.Tests})
	})
	j.changes, j.err = j.print()
	j.in, j.res.Files = nil, nil
}

// print formats the files the core changed, gofmt'd, and keeps those
// whose bytes differ.
func (j *job) print() ([]Change, error) {
	var out []Change
	for _, fr := range j.res.Files {
		name, src := j.in.Filenames[fr.Index], j.srcs[fr.Index]
		data, err := fr.Result.Format()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if !bytes.Equal(data, src.data) {
			out = append(out, Change{Path: name, Old: src.data, New: data, Mode: src.mode})
		}
	}
	return out, nil
}

// posRange is a range of a file, by line and column.
type posRange struct{ start, end token.Position }

func (r posRange) contains(p token.Position) bool {
	return p.Filename == r.start.Filename && !before(p, r.start) && before(p, r.end)
}

// packageErrors turns the package's load and type errors into diagnostics,
// leaving out those inside generated code about to be replaced (stripped,
// in any file): a user who renames a parameter of an instrumented function
// breaks its prologue, and regenerating is the fix. Removing generated
// code needs the files' syntax only, so with remove set only syntax errors
// are kept: a package that does not compile, or whose module no longer
// provides the runtime, can still have its instrumentation removed.
func packageErrors(pkg *packages.Package, dir string, stripped []posRange, remove bool) []rewrite.Diagnostic {
	inStripped := func(p token.Position) bool {
		for _, r := range stripped {
			if r.contains(p) {
				return true
			}
		}
		return false
	}
	// Like the go command, report only the syntax errors of a package that
	// has some: type errors then follow from an incomplete syntax tree.
	syntaxOnly := remove
	for _, e := range pkg.Errors {
		syntaxOnly = syntaxOnly || e.Kind == packages.ParseError
	}
	var out []rewrite.Diagnostic
	for _, e := range pkg.Errors {
		if syntaxOnly && e.Kind != packages.ParseError {
			continue
		}
		if e.Kind == packages.ListError && strings.HasPrefix(e.Msg, "# ") {
			// The go command's compiler output, from building export data.
			// The package's own type errors, checked from source, say the
			// same with positions, and leave out those in stale prologues.
			continue
		}
		d := diagnosticOf(e, pkg, dir)
		if inStripped(d.Pos) {
			continue
		}
		if d.Pos.Line == 0 && strings.Contains(e.Msg, rewrite.RuntimePath) {
			continue // reported by checkRuntimeAvailable when it matters
		}
		out = append(out, d)
	}
	return out
}

func before(a, b token.Position) bool {
	return a.Line < b.Line || (a.Line == b.Line && a.Column < b.Column)
}

// diagnosticOf converts a go/packages error, whose position is a string.
// The go command gives positions relative to the directory it ran in,
// dir, the parser and type checker absolute ones: they are made absolute,
// so that the same error seen both ways is reported once.
func diagnosticOf(e packages.Error, pkg *packages.Package, dir string) rewrite.Diagnostic {
	d := rewrite.Diagnostic{Severity: rewrite.Error, Message: e.Msg}
	d.Pos = parsePos(e.Pos)
	switch {
	case d.Pos.Filename == "":
		d.Pos.Filename = pkg.PkgPath
	case !filepath.IsAbs(d.Pos.Filename):
		d.Pos.Filename = filepath.Join(dir, d.Pos.Filename)
	}
	return d
}

// goDir is the absolute directory the go command runs in.
func goDir(opts Options) string {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return opts.Dir
	}
	return dir
}

// parsePos parses "file:line:col" or "file:line".
func parsePos(s string) token.Position {
	if s == "" || s == "-" {
		return token.Position{}
	}
	var p token.Position
	rest := s
	nums := []int{}
	for len(nums) < 2 {
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			break
		}
		n, err := strconv.Atoi(rest[i+1:])
		if err != nil {
			break
		}
		nums = append([]int{n}, nums...)
		rest = rest[:i]
	}
	p.Filename = rest
	if len(nums) > 0 {
		p.Line = nums[0]
	}
	if len(nums) > 1 {
		p.Column = nums[1]
	}
	return p
}

// Write writes every change, all or none: each file goes first to a
// temporary file in its directory, with the original's permissions (and
// owner and group, where the system lets it), and only when all of them
// are ready are they renamed over the originals. A file is never left half
// written. A read-only file (no write permission for anyone) is not
// replaced: Write then writes nothing and says which files are read-only.
// A file that is a symbolic link is written through: its target changes,
// the link stays. Should a rename still fail, the error says which files
// were written and which were not.
func Write(changes []Change) error {
	targets := make([]string, len(changes))
	var readOnly []string
	for i, c := range changes {
		targets[i] = c.Path
		if t, err := filepath.EvalSymlinks(c.Path); err == nil {
			targets[i] = t
		}
		if info, err := os.Stat(targets[i]); err == nil && info.Mode().Perm()&0o222 == 0 {
			readOnly = append(readOnly, c.Path)
		}
	}
	if len(readOnly) > 0 {
		return fmt.Errorf("nothing written: read-only: %s (make them writable to instrument them)", strings.Join(readOnly, ", "))
	}
	temps := make([]string, 0, len(changes))
	removeTemps := func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}
	for i, c := range changes {
		tmp, err := writeTemp(targets[i], c.New, c.Mode)
		if err != nil {
			removeTemps()
			return fmt.Errorf("nothing written: %w", err)
		}
		temps = append(temps, tmp)
	}
	for i, tmp := range temps {
		if err := os.Rename(tmp, targets[i]); err != nil {
			temps = temps[i:]
			removeTemps()
			return fmt.Errorf("write %s: %w (written: %s; not written: %s)", changes[i].Path, err, pathList(changes[:i]), pathList(changes[i:]))
		}
	}
	return nil
}

func pathList(changes []Change) string {
	if len(changes) == 0 {
		return "none"
	}
	var names []string
	for _, c := range changes {
		names = append(names, c.Path)
	}
	return strings.Join(names, ", ")
}

// writeTemp writes data to a new temporary file beside path, with the
// permissions mode and path's owner and group where allowed, and returns
// its name.
func writeTemp(path string, data []byte, mode fs.FileMode) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".overmind-*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		keepOwner(tmp, path)
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return name, nil
}
