// Package toolexec is the compile-time driver of the overmind code
// generator, the sibling of package
// github.com/overmind-core/overmind-go/instrument/generate over the same
// core, [rewrite.RewritePackage]. It instruments Go code at compile time,
// for
//
//	go build -toolexec="overmind toolexec" ./...
//
// cmd/go then runs every tool of the build (compile, asm, link, cgo, ...)
// as "overmind toolexec TOOL ARGS...". The driver passes everything through
// untouched except the compiles of packages whose files carry //overmind:
// directives. For those it type-checks the package against the export
// data the compile's importcfg names, has a [Rewriter] instrument the
// files, writes the rewritten copies into the compile's own object
// directory (never into the source tree), points the compiler at them, and
// adds the runtime package to the compile's importcfg, and later to the
// link's, when the package does not already import it.
//
// Rewritten files keep every original statement at its original file:line
// through //line directives, so panics, stack traces, test failures and
// coverage profiles point at the user's code.
//
// The driver answers cmd/go's "-V=full" probe of the compiler and the
// linker with the real answer plus overmind's version, a hash of its own
// binary and the identity of the runtime module the main module selects,
// so instrumented builds never share build cache entries with plain ones,
// and a new overmind or runtime invalidates them.
//
// [RunGo] implements "overmind go build|test|run|install|vet ...", which
// runs the go command with the -toolexec flag added.
package toolexec

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/overmind-core/overmind-go/rewrite"
)

// Package is one compile the driver instruments: its parsed and
// type-checked files. Positions in Fset honour the //line directives of
// the compiled files (cmd/go's cover tool and cgo write some), so they
// name the user's own files and lines.
type Package struct {
	// ImportPath is the compiled package's path (the compiler's -p flag):
	// "main" for a command, "p.test" test mains, "p_test" external tests.
	ImportPath string
	// GoVersion is the language version the package is compiled for, such
	// as "go1.26" (the compiler's -lang flag); "" when not given.
	GoVersion string
	// Fset holds the positions of Files.
	Fset *token.FileSet
	// Files are the compiled files, parsed with comments, in the order of
	// the command line; Filenames are their paths.
	Files     []*ast.File
	Filenames []string
	// Types is the type-checked package.
	Types *types.Package
	// Info is the type information of Files: types, definitions, uses,
	// implicits, selections, scopes, instances and file versions.
	Info *types.Info
}

// RewrittenFile is one file a [Rewriter] changed.
type RewrittenFile struct {
	// Index is the file's position in [Package.Files].
	Index int
	// Source is the complete new text of the file. Every original
	// statement must keep its position, through //line or /*line*/
	// directives where the text moved, so that panics, stack traces and
	// coverage still point at the user's lines. Positions are those of
	// Package.Fset (which already honours the file's own //line
	// directives). The driver puts a /*line ORIGINAL:LINE:COL*/ directive
	// in front of the package keyword, giving it its original position
	// (unless the file starts with a //line directive of its own), so a
	// rewrite that keeps every line where it was needs no directive.
	Source []byte
}

// Instrumented is what a [Rewriter] made of a package.
type Instrumented struct {
	// Files are the files it changed; none if there was nothing to do.
	Files []RewrittenFile
	// Diagnostics are the problems found in the package's files: an error
	// fails the compile (and then Files are not used), a warning is
	// printed and the compile goes on.
	Diagnostics []rewrite.Diagnostic
}

// Rewriter instruments the directives of one package. Problems in the
// user's code are Instrumented.Diagnostics; an error is the rewriter's
// own failure, reported as the compile's error.
type Rewriter func(*Package) (Instrumented, error)

// Config configures [Run].
type Config struct {
	// Rewrite instruments a package's files; nil means [Rewrite], the
	// rewrite package's instrumentation, the same as generate mode's,
	// with the rewrite of each file kept across builds (in the same
	// directory as the resolved export data), so that a compile after an
	// edit rewrites only the files whose rewrite can have changed.
	Rewrite Rewriter
	// Stdin, Stdout and Stderr are the tool's standard streams; nil means
	// the process's own.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// ReplaceProcess makes pure pass-through invocations replace the
	// process with the tool (execve) where the system allows, instead of
	// running it as a child: the cheapest pass-through there is. Set it in
	// the overmind command; leave it unset in tests that call Run.
	ReplaceProcess bool
	// Resolve, when set, replaces how the driver finds export data for
	// packages that instrumented code imports and the build lacks (by
	// default "go list -export -deps" with the build's flags, once per
	// build). It returns the archive of each package in paths and of all
	// their dependencies.
	Resolve func(ctx context.Context, inv *Invocation, paths []string) (map[string]string, error)
	// Version is overmind's version for the -V=full answer; "" means
	// [Version].
	Version string
}

// Run runs one tool invocation, args being what follows "overmind
// toolexec": the tool's path and its arguments. It returns the exit code,
// the tool's own when the tool ran.
func Run(ctx context.Context, cfg Config, args []string) int {
	d := newDriver(cfg)
	inv, err := ParseInvocation(args)
	if err != nil {
		fmt.Fprintf(d.stderr, "overmind toolexec: %v\n", err)
		return 2
	}
	if inv.IsVersionQuery() {
		switch inv.Tool() {
		case "compile", "link":
			return d.answerVersion(ctx, inv)
		}
		return d.passThrough(ctx, inv)
	}
	switch inv.Tool() {
	case "compile":
		return d.compile(ctx, inv)
	case "link":
		return d.link(ctx, inv)
	}
	return d.passThrough(ctx, inv)
}

// driver runs one invocation.
type driver struct {
	rewrite        Rewriter
	keep           bool   // rewrite is Rewrite, whose rewrites are kept per file
	keptDir        string // where they are kept; "" keeps none
	stdin          io.Reader
	stdout, stderr io.Writer
	replace        bool
	resolve        func(ctx context.Context, inv *Invocation, paths []string) (map[string]string, error)
	version        string
	selfHash       func() (string, error)
	parent         func() goInvocation // the go command running the build
	goList         func(ctx context.Context, inv *Invocation, parent goInvocation, flags, roots []string) ([]listedPackage, error)
}

func newDriver(cfg Config) *driver {
	d := &driver{
		rewrite: cfg.Rewrite,
		stdin:   cfg.Stdin,
		stdout:  cfg.Stdout,
		stderr:  cfg.Stderr,
		replace: cfg.ReplaceProcess,
		resolve: cfg.Resolve,
		version: cfg.Version,
	}
	if d.stdin == nil {
		d.stdin = os.Stdin
	}
	if d.stdout == nil {
		d.stdout = os.Stdout
	}
	if d.stderr == nil {
		d.stderr = os.Stderr
	}
	if d.resolve == nil {
		d.resolve = d.resolveWithGoList
	}
	if d.rewrite == nil {
		d.rewrite, d.keep = Rewrite, true
	}
	d.keptDir = keptDir()
	if d.version == "" {
		d.version = Version()
	}
	d.selfHash = sync.OnceValues(selfHash)
	d.parent = sync.OnceValue(parentGoInvocation)
	d.goList = d.goListExport
	return d
}

// passThrough runs the tool exactly as cmd/go asked, with the arguments
// as passed (response files unexpanded).
func (d *driver) passThrough(ctx context.Context, inv *Invocation) int {
	args := inv.original()
	if d.replace {
		if err := replaceProcess(inv.Path, args); err != nil && !errors.Is(err, errReplaceUnsupported) {
			fmt.Fprintf(d.stderr, "overmind toolexec: running %s: %v\n", inv.Tool(), err)
			return 2
		}
	}
	return d.runTool(ctx, inv.Path, args)
}

// runTool runs a tool as a child with the driver's streams and returns its
// exit code.
func (d *driver) runTool(ctx context.Context, path string, args []string) int {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = d.stdin, d.stdout, d.stderr
	return d.exitCode(cmd.Run(), &Invocation{Path: path})
}

// exitCode turns a tool's error into its exit code, reporting a tool that
// could not be started at all.
func (d *driver) exitCode(err error, inv *Invocation) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() >= 0 {
		return ee.ExitCode()
	}
	fmt.Fprintf(d.stderr, "overmind toolexec: running %s: %v\n", inv.Tool(), err)
	return 2
}

// logf appends a line to the file named by $OVERMIND_TOOLEXEC_LOG, if set:
// what the driver did to each compile and link, for debugging and tests.
func logf(format string, args ...any) {
	name := os.Getenv("OVERMIND_TOOLEXEC_LOG")
	if name == "" {
		return
	}
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	line := time.Now().Format("15:04:05.000 ") + fmt.Sprintf(format, args...)
	if !strings.HasSuffix(line, "\n") {
		line += "\n"
	}
	f.WriteString(line)
}
