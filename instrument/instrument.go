// Package instrument drives the overmind code generator in generate mode:
// it loads packages with golang.org/x/tools/go/packages, hands each file
// that holds directives or generated code to package rewrite, and returns
// the new contents of the files that change. Like google/wire, it computes
// results and writes nothing; [Write] does that, separately and atomically.
package instrument

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
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
	cands, diags, err := findCandidates(opts)
	if err != nil {
		return nil, err
	}
	res := &Result{Diagnostics: diags}
	if len(cands.patterns) > 0 {
		if err := rewritePackages(opts, cands, res); err != nil {
			return nil, err
		}
	}
	res.Diagnostics = rewrite.SortDiagnostics(res.Diagnostics)
	if res.HasErrors() {
		res.Changes = nil
	}
	sort.Slice(res.Changes, func(i, j int) bool { return res.Changes[i].Path < res.Changes[j].Path })
	if !opts.Remove && !res.HasErrors() && len(res.Changes) > 0 {
		if d, ok := checkRuntimeAvailable(opts); !ok {
			res.Diagnostics = append(res.Diagnostics, d)
		}
	}
	return res, nil
}

// source is a Go file the loader listed, read once.
type source struct {
	data []byte
	mode fs.FileMode
	// relevant: the file mentions overmind, so it may hold directives or
	// generated code.
	relevant bool
	done     bool // rewritten, or found to need nothing
}

type candidates struct {
	files map[string]*source
	// patterns load the packages with relevant files, test variants
	// included: import paths of the packages (of the package under test,
	// for a test variant or an external test package), or the command
	// line's file patterns.
	patterns []string
}

// config is the go/packages configuration shared by both loads.
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

// findCandidates lists the packages' files, cheaply (no parsing, no
// types), and keeps the packages with a file that mentions overmind: only
// those are type-checked.
func findCandidates(opts Options) (*candidates, []rewrite.Diagnostic, error) {
	pkgs, err := packages.Load(config(opts, packages.NeedName|packages.NeedFiles|packages.NeedForTest), patterns(opts)...)
	if err != nil {
		return nil, nil, fmt.Errorf("load packages: %w", err)
	}
	if len(pkgs) == 0 {
		return nil, nil, fmt.Errorf("no packages match %s", strings.Join(patterns(opts), " "))
	}
	c := &candidates{files: map[string]*source{}}
	var diags []rewrite.Diagnostic
	seen := map[string]bool{}
	for _, pkg := range pkgs {
		if len(pkg.GoFiles) == 0 {
			for _, e := range pkg.Errors {
				diags = append(diags, diagnosticOf(e, pkg, goDir(opts)))
			}
			continue
		}
		relevant := false
		for _, name := range pkg.GoFiles {
			if !strings.HasSuffix(name, ".go") {
				continue // a test's generated main, in the build cache
			}
			src := c.files[name]
			if src == nil {
				data, err := os.ReadFile(name)
				if err != nil {
					return nil, nil, err
				}
				info, err := os.Stat(name)
				if err != nil {
					return nil, nil, err
				}
				src = &source{data: data, mode: info.Mode().Perm(), relevant: bytes.Contains(data, []byte("overmind"))}
				c.files[name] = src
			}
			relevant = relevant || src.relevant
		}
		if p := loadPattern(pkg); relevant && !seen[p] {
			seen[p] = true
			c.patterns = append(c.patterns, p)
		}
	}
	if len(c.patterns) > 0 && filePatterns(opts) {
		// The files named on the command line make one package,
		// command-line-arguments, which only they can load again.
		c.patterns = patterns(opts)
	}
	return c, diags, nil
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

// filePatterns reports whether the command line names .go files rather
// than packages, as go build does.
func filePatterns(opts Options) bool {
	for _, p := range opts.Patterns {
		if strings.HasSuffix(p, ".go") {
			return true
		}
	}
	return false
}

const fullMode = packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
	packages.NeedImports | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedSyntax

// rewritePackages type-checks the candidate packages and rewrites their
// relevant files.
func rewritePackages(opts Options, c *candidates, res *Result) error {
	pkgs, broken, err := loadFull(opts, c.patterns)
	if err != nil {
		return err
	}
	// A test variant holds all of a package's files; rewrite each file once,
	// in the most complete package that has it.
	sort.SliceStable(pkgs, func(i, j int) bool {
		return strings.Contains(pkgs[i].ID, " [") && !strings.Contains(pkgs[j].ID, " [")
	})
	var jobs []job
	for _, pkg := range pkgs {
		for _, f := range pkg.Syntax {
			name := pkg.Fset.File(f.FileStart).Name()
			src := c.files[name]
			if src == nil || !src.relevant || src.done {
				continue
			}
			src.done = true
			if broken[name] {
				continue // its syntax errors are among the package's errors
			}
			jobs = append(jobs, job{pkg: pkg, file: f, name: name, src: src})
		}
	}
	res.Files = len(jobs)
	results := runJobs(jobs, opts.Remove)

	// A file is rewritten in one package, but the other variants that hold
	// it (the package and its test variant) report the same type errors
	// in its stale generated code: filter them out of every package.
	var stripped []posRange
	for _, r := range results {
		for _, s := range r.stripped {
			stripped = append(stripped, posRange{r.job.pkg.Fset.Position(s.Pos), r.job.pkg.Fset.Position(s.End)})
		}
	}
	for _, r := range results {
		res.Diagnostics = append(res.Diagnostics, r.diags...)
		if r.err != nil {
			return r.err
		}
		if r.out != nil && !bytes.Equal(r.out, r.job.src.data) {
			res.Changes = append(res.Changes, Change{Path: r.job.name, Old: r.job.src.data, New: r.out, Mode: r.job.src.mode})
		}
	}
	for _, pkg := range pkgs {
		res.Diagnostics = append(res.Diagnostics, packageErrors(pkg, goDir(opts), stripped, opts.Remove)...)
	}
	// Files the loader did not parse as they are (cgo) cannot be rewritten.
	for name, src := range c.files {
		if src.relevant && !src.done {
			if pos, ok := firstDirective(name, src.data); ok {
				res.Diagnostics = append(res.Diagnostics, rewrite.Diagnostic{Pos: pos, Message: "cannot instrument a file that uses cgo"})
			}
		}
	}
	return nil
}

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
		return nil, nil, fmt.Errorf("load packages: %w", err)
	}
	return pkgs, broken, nil
}

type job struct {
	pkg  *packages.Package
	file *ast.File
	name string
	src  *source
}

type fileResult struct {
	job      job
	out      []byte // new contents; nil when the file must not be written
	diags    []rewrite.Diagnostic
	stripped []rewrite.Range
	err      error
}

// runJobs rewrites the files in parallel; type information is only read.
func runJobs(jobs []job, remove bool) []*fileResult {
	results := make([]*fileResult, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = rewriteFile(jobs[i], remove)
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

func rewriteFile(j job, remove bool) *fileResult {
	r := &fileResult{job: j}
	if ast.IsGenerated(j.file) {
		if !remove {
			if dirs, _ := rewrite.FindDirectives(j.pkg.Fset, j.file); len(dirs) > 0 {
				r.diags = append(r.diags, rewrite.Diagnostic{
					Pos:      j.pkg.Fset.Position(dirs[0].Pos),
					Severity: rewrite.Warning,
					Message:  "directives in a generated file (marked \"Code generated ... DO NOT EDIT.\") are ignored",
				})
			}
		}
		return r
	}
	mode := rewrite.Instrument
	if remove {
		mode = rewrite.Remove
	}
	in := rewrite.Input{Fset: j.pkg.Fset, File: j.file, Pkg: j.pkg.Types, Info: j.pkg.TypesInfo}
	if remove && len(j.pkg.Errors) > 0 {
		// Type information may be missing or wrong; removal tells from
		// the syntax whether the runtime import is still used.
		in.Pkg, in.Info = nil, nil
	}
	res, err := rewrite.File(in, mode)
	if err != nil {
		r.err = err
		return r
	}
	r.diags = res.Diagnostics
	r.stripped = res.Stripped
	if !res.Changed || rewrite.HasErrors(res.Diagnostics) {
		return r
	}
	out, err := res.Format()
	if err != nil {
		r.err = fmt.Errorf("%s: %w", j.name, err)
		return r
	}
	r.out = out
	return r
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

// firstDirective finds the first directive in a file without parsing it.
func firstDirective(name string, data []byte) (token.Position, bool) {
	i := bytes.Index(data, []byte(rewrite.Prefix))
	if i < 0 {
		return token.Position{}, false
	}
	line := bytes.Count(data[:i], []byte("\n")) + 1
	col := i - (bytes.LastIndexByte(data[:i], '\n') + 1) + 1
	return token.Position{Filename: name, Line: line, Column: col}, true
}

// checkRuntimeAvailable tells whether the module can import the runtime
// package that generated code calls.
func checkRuntimeAvailable(opts Options) (rewrite.Diagnostic, bool) {
	cfg := config(opts, packages.NeedName|packages.NeedFiles)
	cfg.Tests = false
	pkgs, err := packages.Load(cfg, rewrite.RuntimePath)
	if err == nil && len(pkgs) == 1 && len(pkgs[0].Errors) == 0 {
		return rewrite.Diagnostic{}, true
	}
	return rewrite.Diagnostic{
		Pos:      token.Position{Filename: rewrite.RuntimePath},
		Severity: rewrite.Warning,
		Message:  "generated code imports this package, which the module cannot load; add it with: go get github.com/overmind-core/overmind-go/runtime",
	}, false
}

// Write writes every change atomically: each file goes to a temporary
// file in its directory, with the original's permissions, that is then
// renamed over it. A file is never left half written. A file that is a
// symbolic link is written through: its target changes, the link stays.
func Write(changes []Change) error {
	var errs []error
	for _, c := range changes {
		if err := writeAtomic(c.Path, c.New, c.Mode); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".overmind-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
