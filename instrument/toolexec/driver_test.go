package toolexec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/overmind-core/overmind-go/rewrite"
)

// repoRoot is the module's root directory.
var repoRoot = func() string {
	dir, _ := filepath.Abs("../..")
	return dir
}()

// toolDir is the Go tool directory.
var toolDir = sync.OnceValue(func() string {
	out, err := exec.Command("go", "env", "GOTOOLDIR").Output()
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(out))
})

// exports maps import paths to archives, as go list -export reports them
// for fmt, context and the runtime with all their dependencies.
var exports = sync.OnceValues(func() (map[string]string, error) {
	cmd := exec.Command("go", "list", "-deps", "-export", "-json=ImportPath,Export", "fmt", "context", "./runtime")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct{ ImportPath, Export string }
		if err := dec.Decode(&p); err != nil {
			return nil, err
		}
		m[p.ImportPath] = p.Export
	}
	return m, nil
})

func mustExports(t *testing.T) map[string]string {
	t.Helper()
	m, err := exports()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	return m
}

// compileSetup lays out a compile as cmd/go does: $WORK/b002/importcfg
// naming the export data of imports, and the source files.
type compileSetup struct {
	work, obj string
	files     []string
	args      []string // after the tool's path
}

func newCompile(t *testing.T, pkgPath string, imports []string, files map[string]string) *compileSetup {
	t.Helper()
	exp := mustExports(t)
	s := &compileSetup{work: t.TempDir()}
	s.obj = filepath.Join(s.work, "b002")
	os.MkdirAll(s.obj, 0o777)
	var cfg strings.Builder
	cfg.WriteString("# import config\n")
	for _, p := range imports {
		cfg.WriteString("packagefile " + p + "=" + exp[p] + "\n")
	}
	os.WriteFile(filepath.Join(s.obj, "importcfg"), []byte(cfg.String()), 0o644)
	src := t.TempDir()
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(src, name)
		os.WriteFile(p, []byte(files[name]), 0o644)
		s.files = append(s.files, p)
	}
	s.args = append([]string{"-o", filepath.Join(s.obj, "_pkg_.a"), "-trimpath", s.obj + "=>", "-p", pkgPath,
		"-lang=go1.26", "-complete", "-importcfg", filepath.Join(s.obj, "importcfg"), "-pack"}, s.files...)
	return s
}

// markRewrite inserts a println on the line of each marked function's
// opening brace, and a use of the runtime on the package clause's line.
type markRewrite struct {
	calls []*Package
}

func (m *markRewrite) rewrite(pkg *Package) (Instrumented, error) {
	m.calls = append(m.calls, pkg)
	var out []RewrittenFile
	for i, f := range pkg.Files {
		src, err := os.ReadFile(pkg.Filenames[i])
		if err != nil {
			return Instrumented{}, err
		}
		tf := pkg.Fset.File(f.Pos())
		var offs []int
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Doc != nil && strings.HasPrefix(fn.Doc.List[len(fn.Doc.List)-1].Text, "//overmind:") {
				offs = append(offs, tf.Offset(fn.Body.Lbrace)+1)
			}
		}
		if len(offs) == 0 {
			continue
		}
		offs = append(offs, tf.Offset(f.Name.End()))
		sort.Sort(sort.Reverse(sort.IntSlice(offs)))
		for _, off := range offs {
			ins := ` println("marked", om.SpanTypeTool);`
			if off == tf.Offset(f.Name.End()) {
				ins = `; import om "` + rewrite.RuntimePath + `"`
			}
			src = append(src[:off], append([]byte(ins), src[off:]...)...)
		}
		out = append(out, RewrittenFile{Index: i, Source: src})
	}
	return Instrumented{Files: out, Diagnostics: []rewrite.Diagnostic{{Pos: token.Position{Filename: "a.go", Line: 1, Column: 1}, Severity: rewrite.Warning, Message: "from the test rewriter"}}}, nil
}

type runResult struct {
	code           int
	stdout, stderr string
}

func runDriver(t *testing.T, cfg Config, args ...string) runResult {
	t.Helper()
	var out, errb bytes.Buffer
	cfg.Stdout, cfg.Stderr = &out, &errb
	code := Run(context.Background(), cfg, args)
	return runResult{code, out.String(), errb.String()}
}

// fakeResolve resolves from the exports go list reported, recording what
// it was asked for.
type fakeResolve struct {
	t     *testing.T
	asked [][]string
}

func (f *fakeResolve) resolve(ctx context.Context, inv *Invocation, paths []string) (map[string]string, error) {
	f.asked = append(f.asked, paths)
	return f.archives(), nil
}

// archives is what resolve returns.
func (f *fakeResolve) archives() map[string]string {
	out := map[string]string{}
	for p, a := range mustExports(f.t) {
		if a != "" {
			out[p] = a
		}
	}
	return out
}

const markedLib = `package lib

import "fmt"

// Hello greets.
//
//overmind:tool hello
func Hello(name string) string {
	return fmt.Sprint("hello ", name)
}
`

func TestCompileWithoutDirectivesPassesThrough(t *testing.T) {
	s := newCompile(t, "example.com/lib", []string{"fmt"}, map[string]string{
		"a.go": "package lib\n\nimport \"fmt\"\n\n// see //overmind:tool in the docs\nfunc A() string { return fmt.Sprint(1) }\n",
	})
	rw := &markRewrite{}
	res := runDriver(t, Config{Rewrite: rw.rewrite}, append([]string{filepath.Join(toolDir(), "compile")}, s.args...)...)
	if res.code != 0 {
		t.Fatalf("exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	if len(rw.calls) != 0 {
		t.Error("the rewriter ran for a package without directives")
	}
	if _, err := os.Stat(filepath.Join(s.obj, rewrittenDir)); err == nil {
		t.Error("the driver wrote files for a package without directives")
	}
	if deps, _ := readDepsMember(filepath.Join(s.obj, "_pkg_.a")); deps != nil {
		t.Errorf("archive records %+v", deps)
	}
}

func TestCompileInstruments(t *testing.T) {
	s := newCompile(t, "example.com/lib", []string{"fmt"}, map[string]string{
		"a.go": markedLib,
		"b.go": "package lib\n\nfunc B() int { return 2 }\n",
	})
	rw := &markRewrite{}
	fr := &fakeResolve{t: t}
	res := runDriver(t, Config{Rewrite: rw.rewrite, Resolve: fr.resolve}, append([]string{filepath.Join(toolDir(), "compile")}, s.args...)...)
	if res.code != 0 {
		t.Fatalf("exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	if len(rw.calls) != 1 {
		t.Fatalf("rewriter ran %d times", len(rw.calls))
	}
	if res.stderr != "a.go:1:1: warning: from the test rewriter\n" {
		t.Errorf("stderr = %q, want the rewriter's warning", res.stderr)
	}
	pkg := rw.calls[0]
	if pkg.ImportPath != "example.com/lib" || pkg.GoVersion != "go1.26" || len(pkg.Files) != 2 || !reflect.DeepEqual(pkg.Filenames, s.files) {
		t.Errorf("Package = %s %s %d files %q", pkg.ImportPath, pkg.GoVersion, len(pkg.Files), pkg.Filenames)
	}
	if pkg.Types == nil || pkg.Types.Scope().Lookup("Hello") == nil || len(pkg.Info.Defs) == 0 || len(pkg.Info.Uses) == 0 {
		t.Error("Package is not type-checked")
	}
	if !reflect.DeepEqual(fr.asked, [][]string{{rewrite.RuntimePath}}) {
		t.Errorf("resolved %q, want the runtime", fr.asked)
	}
	rewritten, err := os.ReadFile(filepath.Join(s.obj, rewrittenDir, "a.go"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "/*line " + s.files[0] + ":1:1*/package lib; import om"; !strings.HasPrefix(string(rewritten), want) {
		t.Errorf("rewritten file starts %q, want %q", rewritten[:60], want)
	}
	if _, err := os.Stat(filepath.Join(s.obj, rewrittenDir, "b.go")); err == nil {
		t.Error("an unchanged file was copied")
	}
	cfg, err := ReadImportConfig(filepath.Join(s.obj, rewrittenDir, "importcfg"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PackageFile[rewrite.RuntimePath] != mustExports(t)[rewrite.RuntimePath] || cfg.PackageFile["fmt"] == "" {
		t.Errorf("extended importcfg = %v", cfg.PackageFile)
	}
	if orig, _ := os.ReadFile(filepath.Join(s.obj, "importcfg")); strings.Contains(string(orig), rewrite.RuntimePath) {
		t.Error("cmd/go's own importcfg was modified")
	}
	deps, err := readDepsMember(filepath.Join(s.obj, "_pkg_.a"))
	if err != nil || deps == nil || !reflect.DeepEqual(deps.Imports, []string{rewrite.RuntimePath}) || !reflect.DeepEqual(deps.Archives, fr.archives()) {
		t.Errorf("archive records %+v, %v; want the runtime and the archives resolved", deps, err)
	}
	// Its export data still reads: downstream compiles and vet need it.
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		return os.Open(filepath.Join(s.obj, "_pkg_.a"))
	})
	if p, err := imp.Import("example.com/lib"); err != nil || p.Scope().Lookup("Hello") == nil {
		t.Errorf("importing the instrumented archive: %v", err)
	}
}

// TestCompileTrimpath checks that the compiler's -trimpath rewrites the
// file names of the rewritten copy's positions as it does the original's,
// as the export data records them.
func TestCompileTrimpath(t *testing.T) {
	s := newCompile(t, "example.com/lib", []string{"fmt"}, map[string]string{
		"a.go": strings.Replace(markedLib, "func Hello(name string) string {", "func Hello(name string) string {\n\t_ = 1", 1),
	})
	args, err := setFlag(s.args, "trimpath", s.obj+"=>;"+filepath.Dir(s.files[0])+"=>example.com/lib")
	if err != nil {
		t.Fatal(err)
	}
	res := runDriver(t, Config{Rewrite: (&markRewrite{}).rewrite, Resolve: (&fakeResolve{t: t}).resolve}, append([]string{filepath.Join(toolDir(), "compile")}, args...)...)
	if res.code != 0 {
		t.Fatalf("exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(string) (io.ReadCloser, error) { return os.Open(filepath.Join(s.obj, "_pkg_.a")) })
	p, err := imp.Import("example.com/lib")
	if err != nil {
		t.Fatal(err)
	}
	if pos := fset.Position(p.Scope().Lookup("Hello").Pos()); pos.Filename != "example.com/lib/a.go" || pos.Line != 8 {
		t.Errorf("Hello is at %v, want example.com/lib/a.go:8", pos)
	}
}

func TestCompileRuntimeAlreadyImported(t *testing.T) {
	s := newCompile(t, "example.com/lib", []string{"fmt", rewrite.RuntimePath}, map[string]string{
		"a.go": strings.Replace(markedLib, `import "fmt"`, "import (\n\t\"fmt\"\n\n\tovermind \""+rewrite.RuntimePath+"\"\n)\n\nvar _ = overmind.SpanTypeLLM", 1),
	})
	rw := &markRewrite{}
	fr := &fakeResolve{t: t}
	res := runDriver(t, Config{Rewrite: rw.rewrite, Resolve: fr.resolve}, append([]string{filepath.Join(toolDir(), "compile")}, s.args...)...)
	if res.code != 0 {
		t.Fatalf("exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	if len(rw.calls) != 1 || len(fr.asked) != 0 {
		t.Errorf("rewrites %d, resolves %q; want 1 and none", len(rw.calls), fr.asked)
	}
	if _, err := os.Stat(filepath.Join(s.obj, rewrittenDir, "importcfg")); err == nil {
		t.Error("importcfg extended though nothing was missing")
	}
	if deps, _ := readDepsMember(filepath.Join(s.obj, "_pkg_.a")); deps != nil {
		t.Errorf("archive records %+v, want nothing", deps)
	}
}

func TestCompileTypeErrorStepsAside(t *testing.T) {
	s := newCompile(t, "example.com/lib", []string{"fmt"}, map[string]string{
		"a.go": strings.Replace(markedLib, `return fmt.Sprint("hello ", name)`, `return fmt.Sprint("hello ", nmae)`, 1),
	})
	rw := &markRewrite{}
	res := runDriver(t, Config{Rewrite: rw.rewrite}, append([]string{filepath.Join(toolDir(), "compile")}, s.args...)...)
	if res.code == 0 {
		t.Fatal("compile of broken code succeeded")
	}
	if len(rw.calls) != 0 {
		t.Error("the rewriter ran on code that does not type-check")
	}
	if out := res.stdout + res.stderr; !strings.Contains(out, "a.go:9:30: undefined: nmae") || strings.Contains(out, "overmind") {
		t.Errorf("output = %q, want the compiler's own error only", out)
	}
}

func TestCompileParseErrorStepsAside(t *testing.T) {
	s := newCompile(t, "example.com/lib", nil, map[string]string{
		"a.go": "package lib\n\n//overmind:tool\nfunc A() {\n",
	})
	res := runDriver(t, Config{Rewrite: (&markRewrite{}).rewrite}, append([]string{filepath.Join(toolDir(), "compile")}, s.args...)...)
	if out := res.stdout + res.stderr; res.code == 0 || !strings.Contains(out, "a.go:5:1: syntax error") || strings.Contains(out, "overmind") {
		t.Errorf("exit %d, output %q; want the compiler's syntax error", res.code, out)
	}
}

func TestCompileTypeCheckFailsWhereCompilerSucceeds(t *testing.T) {
	s := newCompile(t, "example.com/lib", nil, map[string]string{"a.go": markedLib}) // fmt missing from importcfg
	tool := fakeTool(t, "compile", "exit 0\n")
	res := runDriver(t, Config{Rewrite: (&markRewrite{}).rewrite}, append([]string{tool}, s.args...)...)
	if res.code != 2 || !strings.Contains(res.stderr, "type-checking failed where the compiler succeeds") || !strings.Contains(res.stderr, `"fmt"`) {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
}

// TestCompileNewerToolchain checks the message when type-checking fails
// under a toolchain newer than the one overmind was built with: the
// overmind binary is what needs rebuilding.
func TestCompileNewerToolchain(t *testing.T) {
	s := newCompile(t, "example.com/lib", nil, map[string]string{"a.go": markedLib}) // fmt missing from importcfg
	tool := fakeTool(t, "compile", "exit 0\n")
	t.Setenv("GOVERSION", "go1.99.2")
	res := runDriver(t, Config{Rewrite: (&markRewrite{}).rewrite, Version: "v0.4.0"}, append([]string{tool}, s.args...)...)
	want := "\n\tGOTOOLCHAIN=go1.99.2 go install " + ModulePath + "/cmd/overmind@v0.4.0\n"
	if res.code != 2 || !strings.Contains(res.stderr, "the build uses go1.99.2, newer than the "+goruntime.Version()) || !strings.Contains(res.stderr, want) || strings.Contains(res.stderr, "bug") {
		t.Errorf("exit %d, stderr %q; want the rebuild line %q", res.code, res.stderr, want)
	}
	// The same release as overmind's, or an older one: a bug of overmind's.
	for _, v := range []string{goruntime.Version(), "go1.21.0", ""} {
		t.Setenv("GOVERSION", v)
		res = runDriver(t, Config{Rewrite: (&markRewrite{}).rewrite}, append([]string{tool}, s.args...)...)
		if !strings.Contains(res.stderr, "this is a bug in overmind") {
			t.Errorf("GOVERSION=%q: stderr %q", v, res.stderr)
		}
	}
}

func TestCompileCommandImportPath(t *testing.T) {
	s := newCompile(t, "main", []string{"fmt"}, map[string]string{"a.go": strings.Replace(markedLib, "package lib", "package main", 1) + "\nfunc main() {}\n"})
	for env, want := range map[string]string{
		"example.com/cmd/app":                            "example.com/cmd/app",
		"example.com/cmd/app [example.com/cmd/app.test]": "example.com/cmd/app",
		"example.com/cmd/app.test":                       "main",
		"":                                               "main",
	} {
		t.Setenv("TOOLEXEC_IMPORTPATH", env)
		rw := &markRewrite{}
		res := runDriver(t, Config{Rewrite: rw.rewrite, Resolve: (&fakeResolve{t: t}).resolve}, append([]string{filepath.Join(toolDir(), "compile")}, s.args...)...)
		if res.code != 0 || len(rw.calls) != 1 {
			t.Fatalf("exit %d: %s%s", res.code, res.stdout, res.stderr)
		}
		if got := rw.calls[0].ImportPath; got != want || rw.calls[0].Types.Path() != want {
			t.Errorf("TOOLEXEC_IMPORTPATH=%q: import path %q (types %q), want %q", env, got, rw.calls[0].Types.Path(), want)
		}
	}
}

func TestCompileRewriteError(t *testing.T) {
	s := newCompile(t, "example.com/lib", []string{"fmt"}, map[string]string{"a.go": markedLib})
	diags := []rewrite.Diagnostic{
		{Pos: token.Position{Filename: s.files[0], Line: 7, Column: 1}, Message: "unknown directive //overmind:tols"},
		{Pos: token.Position{Filename: s.files[0], Line: 9, Column: 1}, Message: "another problem"},
	}
	diag := diags[0].String() + "\n" + diags[1].String()
	res := runDriver(t, Config{Rewrite: func(*Package) (Instrumented, error) { return Instrumented{Diagnostics: diags}, nil }},
		append([]string{filepath.Join(toolDir(), "compile")}, s.args...)...)
	if res.code != 2 || res.stderr != diag+"\n" {
		t.Errorf("exit %d, stderr %q; want 2 and the diagnostics", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(s.obj, "_pkg_.a")); err == nil {
		t.Error("the package was compiled despite the errors")
	}
}

func TestCompileRewritePanics(t *testing.T) {
	s := newCompile(t, "example.com/lib", []string{"fmt"}, map[string]string{"a.go": markedLib})
	res := runDriver(t, Config{Rewrite: func(*Package) (Instrumented, error) { panic("oops") }},
		append([]string{filepath.Join(toolDir(), "compile")}, s.args...)...)
	if res.code != 2 || !strings.Contains(res.stderr, "example.com/lib: internal error while instrumenting (a bug in overmind): oops") {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestCompileResolveError(t *testing.T) {
	s := newCompile(t, "example.com/lib", []string{"fmt"}, map[string]string{"a.go": markedLib})
	res := runDriver(t, Config{Rewrite: (&markRewrite{}).rewrite, Resolve: func(context.Context, *Invocation, []string) (map[string]string, error) {
		return nil, errors.New("no runtime here")
	}}, append([]string{filepath.Join(toolDir(), "compile")}, s.args...)...)
	if res.code != 2 || !strings.Contains(res.stderr, "overmind: example.com/lib: no runtime here") {
		t.Errorf("exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestCompileSkipsStdAndRuntime(t *testing.T) {
	tool := fakeTool(t, "compile", `for a in "$@"; do echo "$a"; done`+"\n")
	for _, extra := range [][]string{{"-std"}, {"-p", rewrite.RuntimePath}, {"-p", rewrite.RuntimePath + "/internal/x"}} {
		s := newCompile(t, "example.com/lib", nil, map[string]string{"a.go": markedLib})
		args := append(append([]string{}, extra...), s.args...)
		rw := &markRewrite{}
		res := runDriver(t, Config{Rewrite: rw.rewrite}, append([]string{tool}, args...)...)
		if res.code != 0 || len(rw.calls) != 0 || res.stdout != strings.Join(args, "\n")+"\n" {
			t.Errorf("%q: exit %d, %d rewrites, tool saw %q", extra, res.code, len(rw.calls), res.stdout)
		}
	}
}

func TestCompileSeesLineDirectives(t *testing.T) {
	// cmd/go's cover tool and cgo hand the compiler copies that start with
	// a //line directive naming the user's file.
	s := newCompile(t, "example.com/lib", []string{"fmt"}, map[string]string{
		"a.cover.go": "//line /home/user/lib/a.go:1:1\n" + markedLib,
	})
	rw := &markRewrite{}
	res := runDriver(t, Config{Rewrite: rw.rewrite, Resolve: (&fakeResolve{t: t}).resolve}, append([]string{filepath.Join(toolDir(), "compile")}, s.args...)...)
	if res.code != 0 || len(rw.calls) != 1 {
		t.Fatalf("exit %d, %d rewrites: %s", res.code, len(rw.calls), res.stderr)
	}
	pkg := rw.calls[0]
	fn := pkg.Files[0].Decls[1].(*ast.FuncDecl)
	if pos := pkg.Fset.Position(fn.Pos()); pos.Filename != "/home/user/lib/a.go" || pos.Line != 8 {
		t.Errorf("func Hello is at %v, want /home/user/lib/a.go:8", pos)
	}
	rewritten, _ := os.ReadFile(filepath.Join(s.obj, rewrittenDir, "a.cover.go"))
	if !strings.HasPrefix(string(rewritten), "//line /home/user/lib/a.go:1:1\npackage lib;") {
		t.Errorf("rewritten copy starts %q", rewritten[:80])
	}
}

func TestPassThrough(t *testing.T) {
	tool := fakeTool(t, "asm", `echo "args:$*"; cat; echo "to stderr" >&2; exit 7`+"\n")
	var out, errb bytes.Buffer
	code := Run(context.Background(), Config{Rewrite: noRewrite, Stdin: strings.NewReader("input\n"), Stdout: &out, Stderr: &errb},
		[]string{tool, "-p", "x", "a b.s"})
	if code != 7 || out.String() != "args:-p x a b.s\ninput\n" || errb.String() != "to stderr\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	res := runDriver(t, Config{Rewrite: noRewrite}, filepath.Join(t.TempDir(), "nonexistent-tool"))
	if res.code != 2 || !strings.Contains(res.stderr, "nonexistent-tool") {
		t.Errorf("missing tool: exit %d, stderr %q", res.code, res.stderr)
	}
	if res := runDriver(t, Config{Rewrite: noRewrite}); res.code != 2 || !strings.Contains(res.stderr, "missing tool") {
		t.Errorf("no tool: exit %d, stderr %q", res.code, res.stderr)
	}
}

// fakeLink is a linker that prints the importcfg it was given.
func fakeLink(t *testing.T) string {
	return fakeTool(t, "link", `while [ $# -gt 0 ]; do if [ "$1" = -importcfg ]; then echo "cfg=$2"; cat "$2"; fi; shift; done`+"\n")
}

// runtimeClosure is what an instrumented compile records for the link:
// the archives of the runtime and all its dependencies.
func runtimeClosure(t *testing.T) map[string]string {
	m := map[string]string{}
	for p, a := range mustExports(t) {
		if a != "" && p != "fmt" {
			m[p] = a
		}
	}
	return m
}

// instrumentedArchive writes an archive that records deps, as an
// instrumented compile's does.
func instrumentedArchive(t *testing.T, deps *linkDeps) string {
	t.Helper()
	name := fakeArchive(t, 10)
	if err := appendDepsMember(name, deps); err != nil {
		t.Fatal(err)
	}
	return name
}

// linkSetup writes a link's importcfg with the given packages and returns
// its path.
func linkSetup(t *testing.T, packages map[string]string) string {
	t.Helper()
	obj := filepath.Join(t.TempDir(), "b001")
	os.MkdirAll(obj, 0o777)
	var b strings.Builder
	for p, a := range packages {
		b.WriteString("packagefile " + p + "=" + a + "\n")
	}
	b.WriteString("modinfo \"x\"\n")
	cfgPath := filepath.Join(obj, "importcfg.link")
	os.WriteFile(cfgPath, []byte(b.String()), 0o644)
	return cfgPath
}

func TestLinkAddsRuntime(t *testing.T) {
	exp := mustExports(t)
	closure := runtimeClosure(t)
	lib := instrumentedArchive(t, &linkDeps{Imports: []string{rewrite.RuntimePath}, Archives: closure})
	cfgPath := linkSetup(t, map[string]string{"example.com/lib": lib, "fmt": exp["fmt"]})
	fr := &fakeResolve{t: t}
	res := runDriver(t, Config{Rewrite: noRewrite, Resolve: fr.resolve}, fakeLink(t), "-o", filepath.Join(filepath.Dir(cfgPath), "exe", "a.out"), "-importcfg", cfgPath, "-buildmode=exe", fakeArchive(t, 4))
	if res.code != 0 {
		t.Fatalf("exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	if len(fr.asked) != 0 {
		t.Errorf("resolved %q; the recorded archives should do", fr.asked)
	}
	cfg, err := ParseImportConfig([]byte(res.stdout[strings.Index(res.stdout, "\n")+1:]))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{rewrite.RuntimePath, "go.opentelemetry.io/otel/trace", "context"} {
		if cfg.PackageFile[p] != closure[p] {
			t.Errorf("link importcfg has %s=%q, want the recorded %q", p, cfg.PackageFile[p], closure[p])
		}
	}
	if cfg.PackageFile["fmt"] != exp["fmt"] || cfg.PackageFile["example.com/lib"] != lib || !strings.Contains(res.stdout, "modinfo \"x\"") {
		t.Error("the link importcfg lost cmd/go's own lines")
	}
}

// TestLinkRecordedArchiveGone checks that a recorded archive the build
// cache has trimmed since is resolved again.
func TestLinkRecordedArchiveGone(t *testing.T) {
	closure := runtimeClosure(t)
	closure[rewrite.RuntimePath] = filepath.Join(t.TempDir(), "trimmed-d")
	lib := instrumentedArchive(t, &linkDeps{Imports: []string{rewrite.RuntimePath}, Archives: closure})
	cfgPath := linkSetup(t, map[string]string{"example.com/lib": lib})
	fr := &fakeResolve{t: t}
	res := runDriver(t, Config{Rewrite: noRewrite, Resolve: fr.resolve}, fakeLink(t), "-importcfg", cfgPath, fakeArchive(t, 4))
	if res.code != 0 || !reflect.DeepEqual(fr.asked, [][]string{{rewrite.RuntimePath}}) {
		t.Fatalf("exit %d, resolved %q: %s", res.code, fr.asked, res.stderr)
	}
	if !strings.Contains(res.stdout, "packagefile "+rewrite.RuntimePath+"="+mustExports(t)[rewrite.RuntimePath]+"\n") {
		t.Errorf("link importcfg:\n%s", res.stdout)
	}
}

// TestLinkRuntimeMismatch checks that a program whose runtime is not the
// one an instrumented package was compiled against stops with the cause,
// rather than the linker's fingerprint mismatch.
func TestLinkRuntimeMismatch(t *testing.T) {
	recordedRT, otherRT, sameRT := objectArchive(t, "AAAAAAAA"), objectArchive(t, "BBBBBBBB"), objectArchive(t, "AAAAAAAA")
	for _, tc := range []struct {
		name    string
		profile bool
		have    string
		want    []string
	}{
		{"flags", false, otherRT, []string{"example.com/lib was instrumented against a build of " + rewrite.RuntimePath + " (" + recordedRT + ") other than the one this program links (" + otherRT + ")", "fingerprint mismatch", "resolved it with -race", "overmind go"}},
		{"profile", true, otherRT, []string{"fingerprint mismatch", "PGO profile", "-pgo=path/to/default.pgo"}},
		{"same build elsewhere", false, sameRT, nil},
	} {
		lib := instrumentedArchive(t, &linkDeps{Imports: []string{rewrite.RuntimePath}, Archives: map[string]string{rewrite.RuntimePath: recordedRT}, Flags: []string{"-race"}, Profile: tc.profile})
		cfgPath := linkSetup(t, map[string]string{"example.com/lib": lib, rewrite.RuntimePath: tc.have})
		res := runDriver(t, Config{Rewrite: noRewrite, Resolve: (&fakeResolve{t: t}).resolve}, fakeLink(t), "-importcfg", cfgPath, fakeArchive(t, 4))
		if tc.want == nil {
			if res.code != 0 || !strings.HasPrefix(res.stdout, "cfg="+cfgPath+"\n") {
				t.Errorf("%s: exit %d, %s%s", tc.name, res.code, res.stdout, res.stderr)
			}
			continue
		}
		if res.code != 2 || res.stdout != "" {
			t.Errorf("%s: exit %d, the linker ran: %q", tc.name, res.code, res.stdout)
		}
		for _, w := range tc.want {
			if !strings.Contains(res.stderr, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", tc.name, w, res.stderr)
			}
		}
	}
	// Two instrumented packages compiled against different runtimes.
	a := instrumentedArchive(t, &linkDeps{Imports: []string{rewrite.RuntimePath}, Archives: map[string]string{rewrite.RuntimePath: recordedRT}})
	b := instrumentedArchive(t, &linkDeps{Imports: []string{rewrite.RuntimePath}, Archives: map[string]string{rewrite.RuntimePath: otherRT}})
	cfgPath := linkSetup(t, map[string]string{"example.com/a": a, "example.com/b": b})
	res := runDriver(t, Config{Rewrite: noRewrite}, fakeLink(t), "-importcfg", cfgPath, fakeArchive(t, 4))
	if res.code != 2 || !strings.Contains(res.stderr, "example.com/a and example.com/b were compiled against different builds of "+rewrite.RuntimePath) {
		t.Errorf("two runtimes: exit %d, %s", res.code, res.stderr)
	}
}

func TestLinkWithoutInstrumentationPassesThrough(t *testing.T) {
	work := t.TempDir()
	cfgPath := filepath.Join(work, "b001", "importcfg.link")
	os.MkdirAll(filepath.Dir(cfgPath), 0o777)
	os.WriteFile(cfgPath, []byte("packagefile example.com/lib="+fakeArchive(t, 10)+"\n"), 0o644)
	fr := &fakeResolve{t: t}
	res := runDriver(t, Config{Rewrite: noRewrite, Resolve: fr.resolve}, fakeLink(t), "-importcfg", cfgPath, fakeArchive(t, 2))
	if res.code != 0 || !strings.HasPrefix(res.stdout, "cfg="+cfgPath+"\n") || len(fr.asked) != 0 {
		t.Errorf("exit %d, stdout %q, resolved %q", res.code, res.stdout, fr.asked)
	}
}

func TestResolveWithGoList(t *testing.T) {
	t.Setenv("OVERMIND_CACHE", "off")
	work := t.TempDir()
	inv := &Invocation{Path: filepath.Join(toolDir(), "compile"), Args: []string{"-importcfg", filepath.Join(work, "b007", "importcfg")}}
	d := newDriver(Config{Rewrite: noRewrite})
	d.parent = func() goInvocation { return goInvocation{Dir: repoRoot, Args: []string{"build", "./..."}} }
	var mu sync.Mutex
	runs := 0
	goList := d.goList
	d.goList = func(ctx context.Context, inv *Invocation, parent goInvocation, flags, roots []string) ([]listedPackage, error) {
		mu.Lock()
		runs++
		mu.Unlock()
		return goList(ctx, inv, parent, flags, roots)
	}
	var wg sync.WaitGroup
	results := make([]map[string]string, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = d.resolve(context.Background(), inv, []string{rewrite.RuntimePath}) })
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !reflect.DeepEqual(results[i], results[0]) {
			t.Error("parallel resolutions disagree")
		}
	}
	if runs != 1 {
		t.Errorf("go list ran %d times for one build, want 1", runs)
	}
	for _, p := range []string{rewrite.RuntimePath, "context", "go.opentelemetry.io/otel/trace"} {
		if _, err := os.Stat(results[0][p]); err != nil {
			t.Errorf("archive of %s: %v", p, err)
		}
	}
	if _, ok := results[0]["unsafe"]; ok {
		t.Error("unsafe has no archive but was given one")
	}
	// A second request in the same build reads the cache.
	if _, err := d.resolve(context.Background(), inv, []string{rewrite.RuntimePath}); err != nil || runs != 1 {
		t.Errorf("second resolution: %v, go list runs %d", err, runs)
	}
	// So does one of the runtime's dependencies.
	dep, err := d.resolve(context.Background(), inv, []string{"go.opentelemetry.io/otel/trace"})
	if err != nil || runs != 1 || dep["context"] == "" || dep[rewrite.RuntimePath] != "" {
		t.Errorf("resolving a dependency: %v, runs %d, runtime given: %v", err, runs, dep[rewrite.RuntimePath] != "")
	}
	// A new package is resolved in addition.
	more, err := d.resolve(context.Background(), inv, []string{"go/ast"})
	if err != nil || runs != 2 || more["go/ast"] == "" || more[rewrite.RuntimePath] != "" {
		t.Errorf("resolving go/ast: %v, runs %d, runtime given: %v", err, runs, more[rewrite.RuntimePath] != "")
	}
	if _, err := os.Stat(filepath.Join(work, rewrittenDir, resolvingMarker)); err == nil {
		t.Error("the resolving marker was left behind")
	}
}

func TestResolveKeptAcrossBuilds(t *testing.T) {
	t.Setenv("OVERMIND_CACHE", t.TempDir())
	newBuild := func(parentArgs ...string) (*driver, *Invocation, *int) {
		inv := &Invocation{Path: filepath.Join(toolDir(), "compile"), Args: []string{"-importcfg", filepath.Join(t.TempDir(), "b002", "importcfg")}}
		d := newDriver(Config{Rewrite: noRewrite})
		d.parent = func() goInvocation { return goInvocation{Dir: repoRoot, Args: parentArgs} }
		runs := new(int)
		goList := d.goList
		d.goList = func(ctx context.Context, inv *Invocation, parent goInvocation, flags, roots []string) ([]listedPackage, error) {
			*runs++
			return goList(ctx, inv, parent, flags, roots)
		}
		return d, inv, runs
	}
	d, inv, runs := newBuild("build", "./...")
	first, err := d.resolve(context.Background(), inv, []string{rewrite.RuntimePath})
	if err != nil || *runs != 1 {
		t.Fatalf("first build: %v, go list runs %d", err, *runs)
	}
	d, inv, runs = newBuild("build", "-o", "x", "./...")
	second, err := d.resolve(context.Background(), inv, []string{rewrite.RuntimePath})
	if err != nil || *runs != 0 || !reflect.DeepEqual(first, second) {
		t.Errorf("second build: %v, go list runs %d, same result %v", err, *runs, reflect.DeepEqual(first, second))
	}
	// Different code-changing flags resolve again.
	d, inv, runs = newBuild("build", "-tags=overmind_test_tag", "./...")
	if _, err := d.resolve(context.Background(), inv, []string{rewrite.RuntimePath}); err != nil || *runs != 1 {
		t.Errorf("build with other flags: %v, go list runs %d", err, *runs)
	}
	// A kept resolution naming an archive that is gone is not used.
	d, inv, runs = newBuild("build", "./...")
	key := d.persistKey(inv, d.parent(), d.resolveFlags(inv))
	rec, ok := loadPersisted(key, rewrite.RuntimePath)
	if !ok {
		t.Fatal("no kept resolution")
	}
	rec.Export["context"] = filepath.Join(t.TempDir(), "gone")
	storePersisted(key, rewrite.RuntimePath, rec)
	if _, err := d.resolve(context.Background(), inv, []string{rewrite.RuntimePath}); err != nil || *runs != 1 {
		t.Errorf("after the cache lost an archive: %v, go list runs %d", err, *runs)
	}
}

func TestTrimPersisted(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	old, recent := filepath.Join(dir, "ab", "old.json"), filepath.Join(dir, "cd", "recent.json")
	oldAnswer := filepath.Join(dir, "version", "old.txt")
	for _, name := range []string{old, recent, oldAnswer} {
		os.MkdirAll(filepath.Dir(name), 0o777)
		os.WriteFile(name, []byte("{}"), 0o644)
	}
	os.Chtimes(old, now.Add(-persistUnused-time.Hour), now.Add(-persistUnused-time.Hour))
	os.Chtimes(oldAnswer, now.Add(-persistUnused-time.Hour), now.Add(-persistUnused-time.Hour))
	trimPersisted(dir, now)
	if _, err := os.Stat(old); err == nil {
		t.Error("an unused resolution was kept")
	}
	if _, err := os.Stat(oldAnswer); err == nil {
		t.Error("an unused -V=full answer was kept")
	}
	if _, err := os.Stat(filepath.Join(dir, "trim.txt")); err != nil {
		t.Error("the trim mark was deleted")
	}
	if _, err := os.Stat(recent); err != nil {
		t.Error("a recent resolution was deleted")
	}
	// Not again within a day.
	os.WriteFile(old, []byte("{}"), 0o644)
	os.Chtimes(old, now.Add(-persistUnused-time.Hour), now.Add(-persistUnused-time.Hour))
	trimPersisted(dir, now.Add(time.Hour))
	if _, err := os.Stat(old); err != nil {
		t.Error("trimmed twice within a day")
	}
	trimPersisted(dir, now.Add(persistTrimEvery+time.Hour))
	if _, err := os.Stat(old); err == nil {
		t.Error("not trimmed a day later")
	}
}

func TestGoListFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		goflags string
		want    []string
	}{
		{[]string{"build", "-race", "."}, "", []string{"-race"}},
		{[]string{"build", "-mod=mod", "."}, "", []string{"-mod=mod", "-mod=readonly"}},
		{[]string{"build", "."}, "-mod=mod -trimpath", []string{"-mod=readonly"}},
		{[]string{"build", "-mod=vendor", "."}, "-mod=mod", []string{"-mod=vendor"}},
		{[]string{"build", "."}, "-mod=vendor", nil},
	} {
		if got := goListFlags(tc.args, tc.goflags, nil); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("goListFlags(%q, %q) = %q, want %q", tc.args, tc.goflags, got, tc.want)
		}
	}
}

func TestResolveNotRequired(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/app\n\ngo 1.26\n"), 0o644)
	work := t.TempDir()
	inv := &Invocation{Path: filepath.Join(toolDir(), "compile"), Args: []string{"-importcfg", filepath.Join(work, "b002", "importcfg")}}
	for version, want := range map[string]string{"devel": "go get " + ModulePath + "@latest", "v0.3.1": "go get " + ModulePath + "@v0.3.1"} {
		d := newDriver(Config{Rewrite: noRewrite, Version: version})
		d.parent = func() goInvocation { return goInvocation{Dir: dir} }
		_, err := d.resolve(context.Background(), inv, []string{rewrite.RuntimePath})
		if err == nil || !strings.Contains(err.Error(), "does not require "+ModulePath) || !strings.Contains(err.Error(), "\n\t"+want+"\n") {
			t.Errorf("version %s: err = %v, want the line %q", version, err, want)
		}
		// The failure is kept for the rest of the build.
		d.goList = func(context.Context, *Invocation, goInvocation, []string, []string) ([]listedPackage, error) {
			t.Error("go list ran again after failing in the same build")
			return nil, nil
		}
		if _, err2 := d.resolve(context.Background(), inv, []string{rewrite.RuntimePath}); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("second resolution: %v", err2)
		}
		inv = &Invocation{Path: inv.Path, Args: []string{"-importcfg", filepath.Join(t.TempDir(), "b002", "importcfg")}}
	}
}

// TestResolveVersionedPackage checks that go install pkg@version, which
// builds outside the main module, stops with a message instead of
// resolving the runtime of the module in the current directory.
func TestResolveVersionedPackage(t *testing.T) {
	t.Setenv("OVERMIND_CACHE", "off")
	inv := &Invocation{Path: filepath.Join(toolDir(), "compile"), Args: []string{"-importcfg", filepath.Join(t.TempDir(), "b002", "importcfg")}}
	d := newDriver(Config{Rewrite: noRewrite})
	d.parent = func() goInvocation {
		return goInvocation{Dir: repoRoot, Args: []string{"install", "example.com/tool@v1.2.3"}}
	}
	d.goList = func(context.Context, *Invocation, goInvocation, []string, []string) ([]listedPackage, error) {
		t.Error("go list ran for go install pkg@version")
		return nil, nil
	}
	_, err := d.resolve(context.Background(), inv, []string{rewrite.RuntimePath})
	if err == nil || !strings.Contains(err.Error(), "cannot add to go install example.com/tool@v1.2.3: ") || !strings.Contains(err.Error(), "in a checkout of the module") {
		t.Errorf("err = %v", err)
	}
}

func TestWaitForResolution(t *testing.T) {
	work := t.TempDir()
	dir := filepath.Join(work, rewrittenDir)
	os.MkdirAll(dir, 0o777)
	waitForResolution(work) // nothing being resolved: returns at once

	unlock, err := lockFile(filepath.Join(dir, resolveLockFile), true)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, resolvingMarker), nil, 0o644)
	done := make(chan struct{})
	go func() {
		waitForResolution(work)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("waitForResolution returned while a resolution held the lock")
	case <-afterShortWhile():
	}
	os.Remove(filepath.Join(dir, resolvingMarker))
	unlock()
	<-done
}

func TestWriteRewrittenNameClash(t *testing.T) {
	dir := t.TempDir()
	inv := &Invocation{Path: "compile", Args: []string{"-o", "x", "/a/x.go", "/b/x.go"}}
	fset := token.NewFileSet()
	pkg := &Package{Fset: fset, Filenames: []string{"/a/x.go", "/b/x.go"}}
	for _, name := range pkg.Filenames {
		f, err := parser.ParseFile(fset, name, "package p\n", 0)
		if err != nil {
			t.Fatal(err)
		}
		pkg.Files = append(pkg.Files, f)
	}
	args, imports, err := writeRewritten(inv, pkg, []RewrittenFile{{0, []byte("package p\nimport \"fmt\"\n")}, {1, []byte("package p\n")}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if args[2] != filepath.Join(dir, "x.go") || args[3] != filepath.Join(dir, "2_x.go") || !reflect.DeepEqual(imports, []string{"fmt"}) {
		t.Errorf("args %q, imports %q", args, imports)
	}
	if _, _, err := writeRewritten(inv, pkg, []RewrittenFile{{5, nil}}, dir); err == nil || !strings.Contains(err.Error(), strconv.Itoa(5)) {
		t.Errorf("bad index: err = %v", err)
	}
	if _, _, err := writeRewritten(inv, pkg, []RewrittenFile{{0, []byte("package")}}, dir); err == nil {
		t.Error("a rewritten file that does not parse was accepted")
	}
}

// TestCompileGoDirectiveFirstLine checks files that start with a //go:
// directive, which the compiler accepts only alone on its line: the
// driver's line directive must not land on it.
func TestCompileGoDirectiveFirstLine(t *testing.T) {
	for _, first := range []string{"//go:build linux || !linux", "//go:generate echo hi", "//go:debug panicnil=1"} {
		t.Run(strings.Fields(first)[0], func(t *testing.T) {
			src := first + "\n\n" + strings.Replace(markedLib, "func Hello(name string) string {", "func Hello(name string) string {\n\t_ = 1", 1)
			s := newCompile(t, "example.com/lib", []string{"fmt"}, map[string]string{"a.go": src})
			res := runDriver(t, Config{Rewrite: (&markRewrite{}).rewrite, Resolve: (&fakeResolve{t: t}).resolve}, append([]string{filepath.Join(toolDir(), "compile")}, s.args...)...)
			if res.code != 0 {
				t.Fatalf("exit %d: %s%s", res.code, res.stdout, res.stderr)
			}
			rewritten, err := os.ReadFile(filepath.Join(s.obj, rewrittenDir, "a.go"))
			if err != nil {
				t.Fatal(err)
			}
			if want := first + "\n\n/*line " + s.files[0] + ":3:1*/package lib; import om"; !strings.HasPrefix(string(rewritten), want) {
				t.Errorf("rewritten file starts %q, want %q", rewritten[:min(len(rewritten), 120)], want)
			}
			fset := token.NewFileSet()
			imp := importer.ForCompiler(fset, "gc", func(string) (io.ReadCloser, error) { return os.Open(filepath.Join(s.obj, "_pkg_.a")) })
			p, err := imp.Import("example.com/lib")
			if err != nil {
				t.Fatal(err)
			}
			if pos := fset.Position(p.Scope().Lookup("Hello").Pos()); pos.Filename != s.files[0] || pos.Line != 10 {
				t.Errorf("Hello is at %v, want %s:10", pos, s.files[0])
			}
		})
	}
}

// responseFile writes args to a new response file as cmd/go writes them,
// and returns its name.
func responseFile(t *testing.T, args []string) string {
	t.Helper()
	var b strings.Builder
	for _, a := range args {
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(a, `\`, `\\`), "\n", `\n`) + "\n")
	}
	name := filepath.Join(t.TempDir(), "args")
	if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestResponseFiles checks that a tool given a response file gets it as it
// was when it runs unchanged, and a new one when the driver changed its
// arguments.
func TestResponseFiles(t *testing.T) {
	// Pass-through: the tool sees the @file argument itself.
	tool := fakeTool(t, "asm", `echo "$@"`+"\n")
	rsp := responseFile(t, []string{"-p", `a\b`, "x.s"})
	if res := runDriver(t, Config{Rewrite: noRewrite}, tool, "@"+rsp); res.code != 0 || res.stdout != "@"+rsp+"\n" {
		t.Errorf("pass-through: exit %d, the tool saw %q", res.code, res.stdout)
	}
	// An instrumented compile reads its flags and files from the response
	// file, and the compiler gets the changed ones in a new one.
	s := newCompile(t, "example.com/lib", []string{"fmt"}, map[string]string{"a.go": markedLib})
	rsp = responseFile(t, s.args)
	res := runDriver(t, Config{Rewrite: (&markRewrite{}).rewrite, Resolve: (&fakeResolve{t: t}).resolve}, filepath.Join(toolDir(), "compile"), "@"+rsp)
	if res.code != 0 {
		t.Fatalf("instrumented compile: exit %d: %s%s", res.code, res.stdout, res.stderr)
	}
	inv, err := ParseInvocation([]string{"compile", "@" + filepath.Join(s.obj, rewrittenDir, "args")})
	if err != nil {
		t.Fatalf("the compiler got no response file: %v", err)
	}
	if cfg, _ := inv.Flag("importcfg"); cfg != filepath.Join(s.obj, rewrittenDir, "importcfg") || inv.GoFiles()[0] != filepath.Join(s.obj, rewrittenDir, "a.go") {
		t.Errorf("the compiler's response file holds %q", inv.Args)
	}
	if deps, _ := readDepsMember(filepath.Join(s.obj, "_pkg_.a")); deps == nil || !reflect.DeepEqual(deps.Imports, []string{rewrite.RuntimePath}) {
		t.Errorf("archive records %+v", deps)
	}
	// A link that needs the runtime gets a new response file too.
	obj := filepath.Join(t.TempDir(), "b001")
	os.MkdirAll(obj, 0o777)
	cfgPath := filepath.Join(obj, "importcfg.link")
	os.WriteFile(cfgPath, []byte("packagefile example.com/lib="+filepath.Join(s.obj, "_pkg_.a")+"\n"), 0o644)
	link := fakeTool(t, "link", `for a; do case $a in @*) cat "${a#@}";; *) echo "not a response file: $a";; esac; done`+"\n")
	rsp = responseFile(t, []string{"-o", filepath.Join(obj, "a.out"), "-X=main.v=a\\b", "-importcfg", cfgPath, fakeArchive(t, 4)})
	res = runDriver(t, Config{Rewrite: noRewrite, Resolve: (&fakeResolve{t: t}).resolve}, link, "@"+rsp)
	newCfg := filepath.Join(obj, rewrittenDir+"-importcfg.link")
	if res.code != 0 || !strings.Contains(res.stdout, "-X=main.v=a\\\\b\n-importcfg\n"+newCfg+"\n") || strings.Contains(res.stdout, "not a response file") {
		t.Errorf("link: exit %d, the linker saw:\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// TestCompileInstrumentedFails checks who is blamed when the compile of
// the instrumented copy fails: the user's code, with the compiler's report
// of the original files, when those do not compile either; overmind only
// when they do.
func TestCompileInstrumentedFails(t *testing.T) {
	for _, tc := range []struct {
		origExit  string
		wantCode  int
		want, not []string
	}{
		{"3", 3, []string{"error in the original\n"}, []string{"instrumented", "overmind"}},
		{"0", 1, []string{"error in the instrumented copy\n", "failed where the original compiles; this is a bug in overmind"}, nil},
	} {
		tool := fakeTool(t, "compile", `case "$*" in */`+rewrittenDir+`/*) echo "error in the instrumented copy"; exit 1;; esac
echo "error in the original"; exit `+tc.origExit+"\n")
		s := newCompile(t, "example.com/lib", []string{"fmt"}, map[string]string{"a.go": markedLib})
		res := runDriver(t, Config{Rewrite: (&markRewrite{}).rewrite, Resolve: (&fakeResolve{t: t}).resolve}, append([]string{tool}, s.args...)...)
		out := res.stdout + res.stderr
		if res.code != tc.wantCode {
			t.Errorf("original exits %s: exit %d, want %d", tc.origExit, res.code, tc.wantCode)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("original exits %s: output lacks %q:\n%s", tc.origExit, w, out)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(out, n) {
				t.Errorf("original exits %s: output has %q:\n%s", tc.origExit, n, out)
			}
		}
	}
}

// TestCompileSpacedDirectiveWarns checks that a package whose only
// directive is written "// overmind:tool" gets generate mode's warning,
// and is compiled as it is.
func TestCompileSpacedDirectiveWarns(t *testing.T) {
	s := newCompile(t, "example.com/lib", []string{"fmt"}, map[string]string{"a.go": strings.Replace(markedLib, "//overmind:tool", "// overmind:tool", 1)})
	res := runDriver(t, Config{}, append([]string{filepath.Join(toolDir(), "compile")}, s.args...)...)
	if res.code != 0 || !strings.Contains(res.stderr, s.files[0]+":7:1: warning: ") || !strings.Contains(res.stderr, "is ignored: write //overmind:tool with no space after //") {
		t.Errorf("exit %d, stderr %q; want the warning", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(s.obj, rewrittenDir)); err == nil {
		t.Error("the driver rewrote a package without directives")
	}
}

// TestLinkMismatchAsTheLinkerSees links a real program whose instrumented
// package was compiled against one build of the runtime, with another
// build of it: the linker rejects it, and the driver stops first, with the
// cause. With the same build, the driver links it.
func TestLinkMismatchAsTheLinkerSees(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and links real programs")
	}
	exp := mustExports(t)
	// Another build of the runtime: without inlining, its export data
	// differ.
	cmd := exec.Command("go", "list", "-export", "-f={{.Export}}", "-gcflags="+rewrite.RuntimePath+"=-l", "./runtime")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	otherRT := strings.TrimSpace(string(out))
	if otherRT == exp[rewrite.RuntimePath] {
		t.Fatal("the runtime built with -l is the same archive")
	}

	lib := newCompile(t, "example.com/lib", []string{"fmt"}, map[string]string{"a.go": markedLib})
	res := runDriver(t, Config{Rewrite: (&markRewrite{}).rewrite, Resolve: (&fakeResolve{t: t}).resolve}, append([]string{filepath.Join(toolDir(), "compile")}, lib.args...)...)
	if res.code != 0 {
		t.Fatalf("compiling lib: %s", res.stderr)
	}
	libArchive := filepath.Join(lib.obj, "_pkg_.a")
	main := newCompile(t, "main", []string{"fmt"}, map[string]string{"main.go": "package main\n\nimport \"example.com/lib\"\n\nfunc main() { println(lib.Hello(\"x\")) }\n"})
	os.WriteFile(filepath.Join(main.obj, "importcfg"), []byte("packagefile example.com/lib="+libArchive+"\n"), 0o644)
	if out, err := exec.Command(filepath.Join(toolDir(), "compile"), main.args...).CombinedOutput(); err != nil {
		t.Fatalf("compiling main: %v\n%s", err, out)
	}
	link := func(runtimeArchive string, viaDriver bool) (string, int) {
		packages := map[string]string{"example.com/lib": libArchive}
		for p, a := range exp {
			if a != "" && p != rewrite.RuntimePath {
				packages[p] = a
			}
		}
		packages[rewrite.RuntimePath] = runtimeArchive
		cfgPath := linkSetup(t, packages)
		args := []string{"-o", filepath.Join(filepath.Dir(cfgPath), "a.out"), "-importcfg", cfgPath, "-buildmode=exe", filepath.Join(main.obj, "_pkg_.a")}
		if !viaDriver {
			out, err := exec.Command(filepath.Join(toolDir(), "link"), args...).CombinedOutput()
			if err != nil {
				return string(out), 1
			}
			return string(out), 0
		}
		res := runDriver(t, Config{Rewrite: noRewrite}, append([]string{filepath.Join(toolDir(), "link")}, args...)...)
		return res.stdout + res.stderr, res.code
	}
	if out, code := link(otherRT, false); code == 0 || !strings.Contains(out, "fingerprint mismatch") {
		t.Fatalf("the linker accepted another runtime build (exit %d): %s", code, out)
	}
	if out, code := link(otherRT, true); code != 2 || !strings.Contains(out, "so the linker would reject it with a fingerprint mismatch") {
		t.Errorf("driver with another runtime build: exit %d: %s", code, out)
	}
	if out, code := link(exp[rewrite.RuntimePath], true); code != 0 {
		t.Errorf("driver with the same runtime build: exit %d: %s", code, out)
	}
}
