package toolexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"go/version"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/overmind-core/overmind-go/rewrite"
)

// childEnv is set in the environment of the go command the driver runs to
// resolve the runtime's export data. Compiles under it must never need
// instrumenting: that would mean the runtime depends on instrumented code.
const childEnv = "OVERMIND_TOOLEXEC_RESOLVING"

// rewrittenDir is the directory, inside the compile's object directory,
// that holds the rewritten files and the extended importcfg.
const rewrittenDir = "overmind"

// compile handles one compiler invocation.
func (d *driver) compile(ctx context.Context, inv *Invocation) int {
	pkgPath, _ := inv.Flag("p")
	if inv.HasFlag("std") || isRuntimePackage(pkgPath) {
		return d.passThroughCompile(ctx, inv)
	}
	marked, err := anyHasDirective(inv.GoFiles())
	if err != nil {
		fmt.Fprintf(d.stderr, "overmind: %s: %v\n", pkgPath, err)
		return 2
	}
	if !marked {
		return d.passThroughCompile(ctx, inv)
	}
	return d.instrument(ctx, inv, pkgPath)
}

// anyHasDirective reports whether one of the files has a directive.
func anyHasDirective(files []string) (bool, error) {
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			return false, fmt.Errorf("scanning for directives: %w", err)
		}
		if rewrite.HasDirective(src) {
			return true, nil
		}
	}
	return false, nil
}

// importPath is the import path of the package compiled as pkgPath (the
// compiler's -p flag): the same, except for commands, which are compiled
// as "main"; cmd/go names them in $TOOLEXEC_IMPORTPATH ("example.com/cmd",
// or "example.com/cmd [example.com/cmd.test]" for a test variant).
// Generate mode records commands' functions under their import path too.
func importPath(pkgPath string) string {
	if pkgPath != "main" {
		return pkgPath
	}
	if p, _, _ := strings.Cut(os.Getenv("TOOLEXEC_IMPORTPATH"), " "); p != "" && !strings.HasSuffix(p, ".test") {
		return p
	}
	return pkgPath
}

// isRuntimePackage reports whether path is the runtime or one of its
// subpackages, which are never instrumented: they are what instrumented
// code calls.
func isRuntimePackage(path string) bool {
	return path == rewrite.RuntimePath || strings.HasPrefix(path, rewrite.RuntimePath+"/")
}

// passThroughCompile runs a compile that needs no instrumenting. While
// another compile of the same build resolves the runtime's export data
// (a go command that may compile the runtime and its dependencies), it
// waits for that to finish first: the go command then likely has in its
// cache what this compile would otherwise build a second time, in
// parallel, on the same cores.
func (d *driver) passThroughCompile(ctx context.Context, inv *Invocation) int {
	if work := inv.workDir(); work != "" {
		waitForResolution(work)
	}
	return d.passThrough(ctx, inv)
}

// instrument rewrites a package with directives and compiles the result:
// load and type-check it, rewrite it, write the rewritten files, add what
// they import to the importcfg, compile, and record for the link what was
// added.
func (d *driver) instrument(ctx context.Context, inv *Invocation, pkgPath string) int {
	cfgPath, ok := inv.Flag("importcfg")
	out, ok2 := inv.Flag("o")
	if !ok || cfgPath == "" || !ok2 || out == "" {
		fmt.Fprintf(d.stderr, "overmind: %s: compile has no -importcfg or -o flag; run it through the go command\n", pkgPath)
		return 2
	}
	importCfg, err := ReadImportConfig(cfgPath)
	if err != nil {
		return d.fail(pkgPath, err)
	}
	lang, _ := inv.Flag("lang")
	pkg, srcs, err := parsePackage(importPath(pkgPath), lang, inv.GoFiles())
	if err != nil {
		return d.stepAside(ctx, inv, pkgPath, err)
	}
	result, err := d.rewritePackage(pkg, srcs, pkgPath, importCfg)
	var unchecked *typeCheckError
	if errors.As(err, &unchecked) {
		return d.stepAside(ctx, inv, pkgPath, unchecked.err)
	}
	rewritten, code := d.report(result, err)
	if code != 0 {
		return code
	}
	if len(rewritten) == 0 {
		return d.passThroughCompile(ctx, inv)
	}
	dir := filepath.Join(filepath.Dir(out), rewrittenDir)
	args, deps, err := d.prepareCompile(ctx, inv, pkg, importCfg, rewritten, dir)
	if err != nil {
		return d.fail(pkgPath, err)
	}
	if code := d.compileInstrumented(ctx, inv, args, pkgPath, dir); code != 0 {
		return code
	}
	if deps != nil {
		if err := appendDepsMember(out, deps); err != nil {
			return d.fail(pkgPath, fmt.Errorf("recording link dependencies: %w", err))
		}
	}
	logf("compile %s instrumented %d file(s) added imports %v", pkgPath, len(rewritten), depsImports(deps))
	return 0
}

// fail reports an error of the instrumentation of pkgPath and returns the
// compile's exit code.
func (d *driver) fail(pkgPath string, err error) int {
	fmt.Fprintf(d.stderr, "overmind: %s: %v\n", pkgPath, err)
	return 2
}

// rewritePackage type-checks and rewrites pkg, whose files' contents are
// srcs, compiled as pkgFlag with the importcfg cfg. A *typeCheckError is a
// package that does not type-check.
func (d *driver) rewritePackage(pkg *Package, srcs [][]byte, pkgFlag string, cfg *ImportConfig) (Instrumented, error) {
	if d.keep {
		return d.rewriteKept(pkg, srcs, pkgFlag, cfg)
	}
	if err := checkPackage(pkg, cfg); err != nil {
		return Instrumented{}, &typeCheckError{err}
	}
	return d.safeRewrite(pkg, func() (Instrumented, error) { return d.rewrite(pkg) })
}

// report prints the rewrite's diagnostics and error. A non-zero code
// means the compile fails with it.
func (d *driver) report(result Instrumented, err error) ([]RewrittenFile, int) {
	for _, diag := range result.Diagnostics {
		fmt.Fprintln(d.stderr, diag)
	}
	if err != nil {
		fmt.Fprintln(d.stderr, strings.TrimRight(err.Error(), "\n"))
		return nil, 2
	}
	if rewrite.HasErrors(result.Diagnostics) {
		return nil, 2
	}
	return result.Files, 0
}

// typeCheckError is a package that does not parse or type-check: the
// compiler is then left to report it.
type typeCheckError struct{ err error }

func (e *typeCheckError) Error() string { return e.err.Error() }

// rewriteKept instruments pkg, whose files' contents are srcs, with
// [Rewrite], each file's rewrite taken from those kept by earlier builds
// when there is one (see keptRewrites): only when a file misses is the
// package type-checked, and only the files that missed are rewritten.
func (d *driver) rewriteKept(pkg *Package, srcs [][]byte, pkgFlag string, cfg *ImportConfig) (Instrumented, error) {
	start := time.Now()
	kept := d.rewriteKeys(pkg, srcs, pkgFlag, cfg)
	outcomes := make([]fileOutcome, len(pkg.Files))
	var missed []int
	looked := 0
	for i, f := range pkg.Files {
		if !rewrite.LooksAt(f) {
			continue
		}
		looked++
		if out, ok := kept.get(i); ok {
			outcomes[i] = out
		} else {
			missed = append(missed, i)
		}
	}
	var checked time.Duration
	if len(missed) > 0 {
		if err := checkPackage(pkg, cfg); err != nil {
			return Instrumented{}, &typeCheckError{err}
		}
		checked = time.Since(start)
		var fresh []fileOutcome
		_, err := d.safeRewrite(pkg, func() (Instrumented, error) {
			var err error
			fresh, err = rewriteFiles(pkg, missed)
			return Instrumented{}, err
		})
		if err != nil {
			return Instrumented{}, err
		}
		for k, i := range missed {
			outcomes[i] = fresh[k]
			if !rewrite.HasErrors(fresh[k].Diagnostics) {
				kept.put(i, fresh[k])
			}
		}
	}
	logf("compile %s rewrote %d of %d file(s) in %v (keys and type-check %v)", pkgFlag, len(missed), looked, time.Since(start).Round(time.Millisecond), checked.Round(time.Millisecond))
	return merge(outcomes), nil
}

// prepareCompile writes the rewritten files into dir, and, when they
// import packages the compile's importcfg lacks, an importcfg with those
// added. It returns the arguments to compile them with, and what to record
// for the link (nil when nothing was added).
func (d *driver) prepareCompile(ctx context.Context, inv *Invocation, pkg *Package, cfg *ImportConfig, rewritten []RewrittenFile, dir string) ([]string, *linkDeps, error) {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, nil, err
	}
	args, imports, err := writeRewritten(inv, pkg, rewritten, dir)
	if err != nil {
		return nil, nil, err
	}
	var deps *linkDeps
	if added := cfg.Missing(imports); len(added) > 0 {
		if args, deps, err = d.addImports(ctx, inv, cfg, added, dir, args); err != nil {
			return nil, nil, err
		}
	}
	args, err = inv.argsForTool(args, filepath.Join(dir, "args"))
	return args, deps, err
}

// depsImports are the imports deps records, for the log.
func depsImports(deps *linkDeps) []string {
	if deps == nil {
		return nil
	}
	return deps.Imports
}

// compileInstrumented runs the compile of the instrumented copy, args
// being its arguments. If it fails, the original compile runs instead:
// some errors in the user's code only the compiler reports (a frame too
// large, a misused //go:embed or //go:linkname), and then the user gets
// the compiler's own report of the original files. Only when the original
// compiles is the failure overmind's.
func (d *driver) compileInstrumented(ctx context.Context, inv *Invocation, args []string, pkgPath, dir string) int {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, inv.Path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = d.stdin, &stdout, &stderr
	code := d.exitCode(cmd.Run(), inv)
	if code == 0 {
		d.stdout.Write(stdout.Bytes())
		d.stderr.Write(stderr.Bytes())
		return 0
	}
	if code := d.runTool(ctx, inv.Path, inv.original()); code != 0 {
		return code
	}
	d.stderr.Write(stdout.Bytes())
	d.stderr.Write(stderr.Bytes())
	fmt.Fprintf(d.stderr, "overmind: compiling the instrumented copy of %s failed where the original compiles; this is a bug in overmind (run the build with -work to keep the rewritten files in %s)\n", pkgPath, dir)
	return code
}

// addImports resolves the packages the rewritten files import that the
// compile's importcfg lacks, writes an importcfg with them into dir, and
// returns the compile's arguments pointing at it, and what to record for
// the link.
func (d *driver) addImports(ctx context.Context, inv *Invocation, cfg *ImportConfig, added []string, dir string, args []string) ([]string, *linkDeps, error) {
	archives, err := d.resolve(ctx, inv, added)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range added {
		archive, ok := archives[p]
		if !ok {
			return nil, nil, fmt.Errorf("no export data found for %s", p)
		}
		cfg.Add(p, archive)
	}
	newCfg := filepath.Join(dir, "importcfg")
	if err := writeFileAtomic(newCfg, cfg.Bytes()); err != nil {
		return nil, nil, fmt.Errorf("writing importcfg: %w", err)
	}
	if args, err = setFlag(args, "importcfg", newCfg); err != nil {
		return nil, nil, err
	}
	profile, _ := inv.Flag("pgoprofile")
	return args, &linkDeps{Imports: added, Archives: archives, Flags: d.resolveFlags(inv), Profile: profile != ""}, nil
}

// safeRewrite runs rewrite, the rewrite of pkg, turning a panic into an
// error.
func (d *driver) safeRewrite(pkg *Package, rewrite func() (Instrumented, error)) (result Instrumented, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("overmind: %s: internal error while instrumenting (a bug in overmind): %v\n%s", pkg.ImportPath, r, debug.Stack())
		}
	}()
	return rewrite()
}

// stepAside compiles the original files when they do not type-check: the
// compiler then reports the user's errors as it would without overmind.
// If the compiler accepts them after all, the failure was overmind's, and
// the build fails with it rather than silently lose the instrumentation.
func (d *driver) stepAside(ctx context.Context, inv *Invocation, pkgPath string, cause error) int {
	if code := d.runTool(ctx, inv.Path, inv.original()); code != 0 {
		return code
	}
	detail := strings.ReplaceAll(cause.Error(), "\n", "\n\t")
	if toolchain, built, newer := newerToolchain(); newer {
		fmt.Fprintf(d.stderr, "overmind: %s: cannot instrument: the build uses %s, newer than the %s overmind was built with, whose type checker fails here:\n\t%v\nRebuild overmind with the build's toolchain:\n\tGOTOOLCHAIN=%s go install %s/cmd/overmind@%s\n",
			pkgPath, toolchain, built, detail, toolchain, ModulePath, d.goGetVersion())
		return 2
	}
	fmt.Fprintf(d.stderr, "overmind: %s: cannot instrument: type-checking failed where the compiler succeeds; this is a bug in overmind:\n\t%v\n", pkgPath, detail)
	return 2
}

// newerToolchain reports whether the build's toolchain (cmd/go puts its
// version in every tool's environment as GOVERSION) is a newer Go release
// than the one overmind was built with, whose go/types and go/importer
// may not know the newer language or read the newer export data.
func newerToolchain() (toolchain, built string, newer bool) {
	toolchain, built = os.Getenv("GOVERSION"), runtime.Version()
	if !version.IsValid(toolchain) || !version.IsValid(built) {
		return toolchain, built, false
	}
	return toolchain, built, version.Compare(version.Lang(toolchain), version.Lang(built)) > 0
}

// parsePackage reads and parses a compile's files, returning their
// contents too.
func parsePackage(pkgPath, lang string, files []string) (*Package, [][]byte, error) {
	fset := token.NewFileSet()
	pkg := &Package{ImportPath: pkgPath, GoVersion: lang, Fset: fset, Filenames: files}
	srcs := make([][]byte, 0, len(files))
	var errs []error
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err == nil {
			var f *ast.File
			if f, err = parser.ParseFile(fset, name, src, parser.ParseComments|parser.SkipObjectResolution); err == nil {
				pkg.Files = append(pkg.Files, f)
				srcs = append(srcs, src)
				continue
			}
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return pkg, srcs, nil
}

// checkPackage type-checks pkg's files against the export data cfg
// names, filling in pkg.Types and pkg.Info.
func checkPackage(pkg *Package, cfg *ImportConfig) error {
	var errs []error
	imp := importer.ForCompiler(pkg.Fset, "gc", func(path string) (io.ReadCloser, error) {
		archive, ok := cfg.PackageFile[cfg.Resolve(path)]
		if !ok {
			return nil, fmt.Errorf("importcfg has no export data for %q", path)
		}
		return os.Open(archive)
	})
	conf := types.Config{
		Importer:  imp,
		GoVersion: pkg.GoVersion,
		Sizes:     types.SizesFor("gc", goarch()),
		Error: func(err error) {
			if len(errs) < 10 {
				errs = append(errs, err)
			}
		},
	}
	pkg.Info = rewrite.NewInfo()
	pkg.Types, _ = conf.Check(pkg.ImportPath, pkg.Fset, pkg.Files, pkg.Info)
	return errors.Join(errs...)
}

// goarch is the architecture being compiled for: cmd/go puts GOARCH in
// every tool's environment.
func goarch() string {
	if a := os.Getenv("GOARCH"); a != "" {
		return a
	}
	return hostGOARCH
}

// writeRewritten writes the rewritten files into dir and returns the
// compile's arguments with them in place of the originals, and the import
// paths the rewritten files use.
func writeRewritten(inv *Invocation, pkg *Package, rewritten []RewrittenFile, dir string) ([]string, []string, error) {
	args := append([]string(nil), inv.Args...)
	first := inv.firstFile()
	used := map[string]bool{}
	var imports []string
	for _, rf := range rewritten {
		if rf.Index < 0 || rf.Index >= len(pkg.Filenames) {
			return nil, nil, fmt.Errorf("rewriter returned file index %d out of range", rf.Index)
		}
		orig := pkg.Filenames[rf.Index]
		abs, err := filepath.Abs(orig)
		if err != nil {
			return nil, nil, err
		}
		base := filepath.Base(orig)
		for n := 2; used[base]; n++ {
			base = strconv.Itoa(n) + "_" + filepath.Base(orig)
		}
		used[base] = true
		name := filepath.Join(dir, base)
		src, err := withFileName(rf.Source, packagePosition(pkg.Fset, pkg.Files[rf.Index], abs))
		if err != nil {
			return nil, nil, fmt.Errorf("rewritten %s: %w", base, err)
		}
		if err := writeFileAtomic(name, src); err != nil {
			return nil, nil, fmt.Errorf("writing rewritten file: %w", err)
		}
		args[first+rf.Index] = name
		f, err := parser.ParseFile(token.NewFileSet(), name, rf.Source, parser.ImportsOnly)
		if err != nil {
			return nil, nil, fmt.Errorf("rewritten %s does not parse: %w", base, err)
		}
		for _, spec := range f.Imports {
			if p, err := strconv.Unquote(spec.Path.Value); err == nil {
				imports = append(imports, p)
			}
		}
	}
	return args, imports, nil
}

// packagePosition is where the package clause of f, compiled as the file
// abs, is in the user's code: its position in fset, which honours the
// file's own //line directives, under the absolute name abs unless such a
// directive named another file.
func packagePosition(fset *token.FileSet, f *ast.File, abs string) token.Position {
	pos := fset.Position(f.Package)
	if pos.Filename == fset.PositionFor(f.Package, false).Filename {
		pos.Filename = abs
	}
	return pos
}

// withFileName returns src, to be compiled from another file, with the
// position of its package clause given as pkgPos, the clause's position in
// the original file: a /*line*/ directive right in front of the package
// keyword. A rewrite that keeps lines in place thereby keeps them for every
// reader of positions (go/importer counts lines in the file it reads,
// whatever a directive says). The directive cannot go on the file's first
// line: a //go:build, //go:generate or //go:debug comment there must stand
// alone on its line, or the compiler rejects it. A file that starts with a
// //line directive of its own, as cmd/go's cover tool and cgo write, is left
// as it is.
func withFileName(src []byte, pkgPos token.Position) ([]byte, error) {
	src = bytes.TrimPrefix(src, []byte("\uFEFF")) // a BOM may only start a file
	if bytes.HasPrefix(src, []byte("//line ")) {
		return src, nil
	}
	off, err := packageKeywordOffset(src)
	if err != nil {
		return nil, err
	}
	directive := fmt.Sprintf("/*line %s:%d:%d*/", pkgPos.Filename, pkgPos.Line, max(pkgPos.Column, 1))
	return slices.Concat(src[:off], []byte(directive), src[off:]), nil
}

// packageKeywordOffset is the offset in src of the package keyword.
func packageKeywordOffset(src []byte) (int, error) {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, 0)
	pos, tok, _ := s.Scan()
	if tok != token.PACKAGE {
		return 0, errors.New("no package clause")
	}
	return file.Offset(pos), nil
}

// setFlag returns args with the value of flag -name replaced.
func setFlag(args []string, name, value string) ([]string, error) {
	inv := &Invocation{Args: args}
	return inv.WithFlag(name, value)
}
