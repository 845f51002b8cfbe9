package toolexec_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/overmind-core/overmind-go/instrument/toolexec"
	"github.com/overmind-core/overmind-go/internal/gentest"
	"github.com/overmind-core/overmind-go/internal/otlptest"
	"github.com/overmind-core/overmind-go/rewrite"
)

// These tests run real go commands through the overmind command, built
// once from ../../cmd/overmind. They share the default build cache: the
// driver's cache entries are keyed on the binary, which only changes when
// its code does.

var (
	binDir  string
	repoDir = func() string { d, _ := filepath.Abs("../.."); return d }()
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "toolexec-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	// What the driver keeps across builds goes to a directory of the
	// tests' own, not the user's cache.
	if err := os.Setenv("OVERMIND_CACHE", filepath.Join(dir, "cache")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// overmindBinary builds the overmind command once.
var overmindBinary = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(binDir, "overmind")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/overmind")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building overmind: %v\n%s", err, out)
	}
	return bin, nil
})

// e2e starts an end-to-end test: it runs in parallel with the others,
// once the build cache holds the sample built in toolexec mode, so that
// parallel tests do not compile the same packages at the same time.
func e2e(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end builds are slow")
	}
	t.Parallel()
	bin, err := overmindBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := warmToolexec(t, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

var warmOnce struct {
	sync.Once
	err error
}

// warmToolexec builds every package of the sample, the runtime and its
// dependencies among them, in toolexec mode, once per run: what most
// end-to-end tests build first, shared through the build cache.
func warmToolexec(t *testing.T, bin string) error {
	warmOnce.Do(func() {
		dir := newSample(t, sampleOptions{})
		if r := run(t, dir, nil, "go", "build", toolexecFlag(bin), "./..."); r.err != nil {
			warmOnce.err = fmt.Errorf("warming the build cache: %v\n%s", r.err, r)
		}
	})
	return warmOnce.err
}

// e2eSource is the sample program of generate mode's end-to-end test.
var e2eSource = filepath.Join("..", "..", "testdata", "e2e")

type sampleOptions struct {
	src       string            // the module's files; "" means testdata/sample
	noRequire bool              // leave the runtime module out of go.mod
	extra     map[string]string // more files, by slash-separated path
	drop      []string          // files of the sample to leave out
}

// newSample copies testdata/sample (or opt.src) into a new directory and
// writes its go.mod: module example.com/sample, requiring the runtime
// module, replaced by this repository, tidied.
func newSample(t testing.TB, opt sampleOptions) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sample")
	src := opt.src
	if src == "" {
		src = filepath.Join("testdata", "sample")
	}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		for _, drop := range opt.drop {
			if filepath.ToSlash(rel) == drop {
				return nil
			}
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(dir, rel), data)
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range opt.extra {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(name)), []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	mod, sum, err := tidyModule(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(dir, "go.mod"), mod); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(dir, "go.sum"), sum); err != nil {
		t.Fatal(err)
	}
	return dir
}

var (
	tidyMu   sync.Mutex
	tidyDone = map[string][2][]byte{}
)

// tidyModule returns the go.mod and go.sum of the sample in dir, tidied
// (offline, from the module cache), once for each set of options.
func tidyModule(dir string, opt sampleOptions) (mod, sum []byte, err error) {
	tidyMu.Lock()
	defer tidyMu.Unlock()
	key := fmt.Sprint(opt.src, opt.noRequire, opt.drop)
	if done, ok := tidyDone[key]; ok {
		return done[0], done[1], nil
	}
	data, err := os.ReadFile(filepath.Join(repoDir, "go.mod"))
	if err != nil {
		return nil, nil, err
	}
	repoMod, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		return nil, nil, err
	}
	var b strings.Builder
	b.WriteString("module example.com/sample\n\ngo 1.26\n\nrequire (\n")
	if !opt.noRequire {
		fmt.Fprintf(&b, "\t%s v0.0.0-00010101000000-000000000000\n", toolexec.ModulePath)
	}
	for _, r := range repoMod.Require {
		fmt.Fprintf(&b, "\t%s %s\n", r.Mod.Path, r.Mod.Version)
	}
	b.WriteString(")\n")
	if !opt.noRequire {
		fmt.Fprintf(&b, "\nreplace %s => %s\n", toolexec.ModulePath, repoDir)
	}
	if err := writeFile(filepath.Join(dir, "go.mod"), []byte(b.String())); err != nil {
		return nil, nil, err
	}
	if sum, err = os.ReadFile(filepath.Join(repoDir, "go.sum")); err != nil {
		return nil, nil, err
	}
	if err := writeFile(filepath.Join(dir, "go.sum"), sum); err != nil {
		return nil, nil, err
	}
	cmd := exec.Command("go", "mod", "tidy")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("go mod tidy: %v\n%s", err, out)
	}
	if mod, err = os.ReadFile(filepath.Join(dir, "go.mod")); err != nil {
		return nil, nil, err
	}
	if sum, err = os.ReadFile(filepath.Join(dir, "go.sum")); err != nil {
		return nil, nil, err
	}
	tidyDone[key] = [2][]byte{mod, sum}
	return mod, sum, nil
}

func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o777); err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}

type result struct {
	stdout, stderr string
	err            error
}

func (r result) String() string { return r.stdout + r.stderr }

// run runs a command in dir with extra environment variables.
func run(t testing.TB, dir string, env []string, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GOPROXY=off"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return result{out.String(), errb.String(), err}
}

// mustRun is run that fails the test when the command fails.
func mustRun(t testing.TB, dir string, env []string, name string, args ...string) result {
	t.Helper()
	r := run(t, dir, env, name, args...)
	if r.err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), r.err, r)
	}
	return r
}

// treeHash hashes every file under dir.
func treeHash(t testing.TB, dir string) map[string][32]byte {
	t.Helper()
	m := map[string][32]byte{}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(path)
			m[path] = sha256.Sum256(data)
		}
		return nil
	})
	return m
}

func sameTree(t testing.TB, before, after map[string][32]byte) {
	t.Helper()
	if len(before) != len(after) {
		t.Errorf("source tree has %d files, had %d", len(after), len(before))
	}
	for name, h := range before {
		if after[name] != h {
			t.Errorf("%s changed", name)
		}
	}
}

// lineOf returns the 1-based line of the first line of file holding text.
func lineOf(t testing.TB, file, text string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, text) {
			return i + 1
		}
	}
	t.Fatalf("%s has no line with %q", file, text)
	return 0
}

func toolexecFlag(bin string) string { return "-toolexec=" + bin + " toolexec" }

const wantAppOutput = "hello, world\n[1 2 3]\n4\n"

// spanLine matches the line of the runtime's debug tree (OVERMIND_DEBUG)
// for a span: its name and type.
func spanLine(name, typ string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^[│├└─ ]*` + regexp.QuoteMeta(name) + `\s+` + typ + `\s`)
}

// checkSampleSpans checks the debug tree withinit prints.
func checkSampleSpans(t *testing.T, stderr string) {
	t.Helper()
	for _, want := range [][2]string{{"greet", "tool_call"}, {"Counter.Add", "function"}, {"Map", "function"}} {
		if !spanLine(want[0], want[1]).MatchString(stderr) {
			t.Errorf("no %s span in the debug tree:\n%s", want[0], stderr)
		}
	}
}

// TestEndToEndSameSpansAsGenerate builds generate mode's sample program
// twice: instrumented in its source by overmind instrument, and untouched
// through overmind go build. Both must print what the plain program
// prints and export the same spans; the toolexec build must leave the
// source as it was and report the panic at its original line.
func TestEndToEndSameSpansAsGenerate(t *testing.T) {
	bin := e2e(t)
	bins := t.TempDir()

	gen := newSample(t, sampleOptions{src: e2eSource})
	mustRun(t, gen, nil, "go", "build", "-o", filepath.Join(bins, "plain"), ".")
	mustRun(t, gen, nil, bin, "instrument", "./...")
	mustRun(t, gen, nil, "go", "build", "-o", filepath.Join(bins, "generated"), ".")

	tool := newSample(t, sampleOptions{src: e2eSource})
	before := treeHash(t, tool)
	mustRun(t, tool, nil, bin, "go", "build", "-o", filepath.Join(bins, "toolexec"), ".")
	sameTree(t, before, treeHash(t, tool))

	plain := mustRun(t, tool, nil, filepath.Join(bins, "plain")).stdout
	genSpans, genOut := runTraced(t, filepath.Join(bins, "generated"), 18)
	toolSpans, toolOut := runTraced(t, filepath.Join(bins, "toolexec"), len(genSpans))
	if genOut != plain || toolOut != plain {
		t.Errorf("outputs differ:\nplain:\n%s\ngenerate mode:\n%s\ntoolexec mode:\n%s", plain, genOut, toolOut)
	}
	if g, x := otlptest.Tree(genSpans), otlptest.Tree(toolSpans); g != x {
		t.Errorf("span trees differ:\ngenerate mode:\n%s\ntoolexec mode:\n%s", g, x)
	}
	g, x := spanDigests(genSpans), spanDigests(toolSpans)
	for i := range min(len(g), len(x)) {
		if g[i] != x[i] {
			t.Errorf("span %d differs:\ngenerate mode: %s\ntoolexec mode: %s", i, g[i], x[i])
		}
	}

	// The panic of Explode, recorded on its span, is at its line in the
	// untouched source.
	line := lineOf(t, filepath.Join(tool, "main.go"), `panic("boom")`)
	for _, s := range toolSpans {
		if s.Name != "Explode" {
			continue
		}
		want := fmt.Sprintf("main.Explode()\n\t%s:%d ", filepath.Join(tool, "main.go"), line)
		if len(s.Events) == 0 || !strings.Contains(fmt.Sprint(s.Events[0].Attrs["exception.stacktrace"]), want) {
			t.Errorf("Explode's recorded stack does not show %q:\n%v", want, s.Events)
		}
	}
}

// runTraced runs a program with an OTLP receiver as its endpoint and
// returns the spans (at least n) and what it printed.
func runTraced(t *testing.T, prog string, n int) ([]otlptest.Span, string) {
	t.Helper()
	recv := otlptest.NewReceiver()
	defer recv.Close()
	r := mustRun(t, t.TempDir(), []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + recv.URL(), "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"}, prog)
	return recv.WaitForSpans(n, 10*time.Second), r.stdout
}

// spanDigests describes each span by what does not change between runs:
// name, kind, status and attributes (but the duration), and its events'
// names and exception types and messages, in start order.
func spanDigests(spans []otlptest.Span) []string {
	spans = slices.Clone(spans)
	slices.SortStableFunc(spans, func(a, b otlptest.Span) int { return a.Start.Compare(b.Start) })
	var out []string
	for _, s := range spans {
		attrs := maps.Clone(s.Attrs)
		delete(attrs, "overmind.duration.seconds")
		d := fmt.Sprintf("%s kind=%v status=%v %q attrs=%v", s.Name, s.Kind, s.StatusCode, s.StatusMessage, attrs)
		for _, e := range s.Events {
			d += fmt.Sprintf(" event=%s(%v: %v)", e.Name, e.Attrs["exception.type"], e.Attrs["exception.message"])
		}
		out = append(out, d)
	}
	return out
}

func TestEndToEndBuildAndRun(t *testing.T) {
	bin := e2e(t)
	dir := newSample(t, sampleOptions{})
	before := treeHash(t, dir)
	log := filepath.Join(t.TempDir(), "log")
	out := t.TempDir()
	mustRun(t, dir, []string{"OVERMIND_TOOLEXEC_LOG=" + log}, "go", "build", toolexecFlag(bin), "-o", out+"/", "./...")
	sameTree(t, before, treeHash(t, dir))

	// A program that calls Init prints its spans.
	r := mustRun(t, dir, []string{"OVERMIND_DEBUG=1"}, filepath.Join(out, "withinit"))
	if r.stdout != "hello, init\n2 [2]\n" {
		t.Errorf("withinit printed %q", r.stdout)
	}
	checkSampleSpans(t, r.stderr)

	// A program that does not import the runtime gets it linked in, and
	// prints exactly what the plain build prints.
	r = mustRun(t, dir, nil, filepath.Join(out, "app"))
	if r.stdout != wantAppOutput || r.stderr != "" {
		t.Errorf("instrumented app: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	if nm := mustRun(t, dir, nil, "go", "tool", "nm", filepath.Join(out, "app")); !strings.Contains(nm.stdout, " "+rewrite.RuntimePath+".") {
		t.Error("the runtime is not linked into the instrumented app")
	}
	logged, _ := os.ReadFile(log)
	if !regexp.MustCompile(`compile example.com/sample/lib instrumented 2 file\(s\) added imports \[`+regexp.QuoteMeta(rewrite.RuntimePath)+`\]`).Match(logged) ||
		!regexp.MustCompile(`link \S+ added \d+ package\(s\) for `+regexp.QuoteMeta(rewrite.RuntimePath)).Match(logged) {
		t.Errorf("driver log:\n%s", logged)
	}
	plain := filepath.Join(t.TempDir(), "plain")
	mustRun(t, dir, nil, "go", "build", "-o", plain, "./cmd/app")
	if r := mustRun(t, dir, nil, plain); r.stdout != wantAppOutput {
		t.Errorf("plain app: stdout %q", r.stdout)
	}
	if nm := mustRun(t, dir, nil, "go", "tool", "nm", plain); strings.Contains(nm.stdout, " "+rewrite.RuntimePath+".") {
		t.Error("the plain build links the runtime: the test proves nothing")
	}
}

func TestEndToEndPanicLine(t *testing.T) {
	bin := e2e(t)
	dir := newSample(t, sampleOptions{})
	src := filepath.Join(dir, "lib", "lib.go")
	line := lineOf(t, src, "PANIC LINE")
	app := filepath.Join(t.TempDir(), "app")
	mustRun(t, dir, nil, "go", "build", toolexecFlag(bin), "-o", app, "./cmd/app")
	r := run(t, dir, nil, app, "boom")
	if r.err == nil || !strings.Contains(r.stderr, "panic: boom 1") {
		t.Fatalf("app boom: %v\n%s", r.err, r)
	}
	// The frame of Boom itself, not of the deferred code the
	// instrumentation added (Boom.func1).
	want := fmt.Sprintf("%s:%d ", src, line)
	frame := regexp.MustCompile(`\nexample.com/sample/lib.Boom\(.*\)\n\t(.*)\n`).FindStringSubmatch(r.stderr)
	if frame == nil || !strings.HasPrefix(frame[1], want) {
		t.Errorf("Boom's frame is %q, want it at %q\n%s", frame, want, r.stderr)
	}
	// Every frame in the sample's code names a line of its source.
	lines := strings.Count(string(mustRead(t, src)), "\n")
	for _, m := range regexp.MustCompile(`lib/lib.go:(\d+) `).FindAllStringSubmatch(r.stderr, -1) {
		if n, _ := strconv.Atoi(m[1]); n < 1 || n > lines {
			t.Errorf("frame at line %d of a %d-line file", n, lines)
		}
	}
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestEndToEndCache(t *testing.T) {
	bin := e2e(t)
	// A unique package, so its first builds cannot come from the cache.
	dir := newSample(t, sampleOptions{extra: map[string]string{"lib/unique.go": fmt.Sprintf("package lib\n\nconst unique = %q\n", t.TempDir())}})
	log := filepath.Join(t.TempDir(), "log")
	env := []string{"OVERMIND_TOOLEXEC_LOG=" + log}
	app := filepath.Join(t.TempDir(), "app")

	// A plain build first: its cache entries must not serve the
	// instrumented build.
	mustRun(t, dir, nil, "go", "build", "./...")
	mustRun(t, dir, env, "go", "build", toolexecFlag(bin), "-o", app, "./cmd/app")
	if logged, _ := os.ReadFile(log); !strings.Contains(string(logged), "compile example.com/sample/lib instrumented") {
		t.Fatalf("the instrumented build reused the plain build's package; log:\n%s", logged)
	}
	mustRun(t, dir, env, "go", "build", toolexecFlag(bin), "./...")
	os.Remove(log)

	// The same builds again: nothing is compiled, and the program, up to
	// date, is not linked again. (go build ./... links commands every
	// time, with or without overmind.)
	r := mustRun(t, dir, env, "go", "build", "-x", toolexecFlag(bin), "-o", app, "./cmd/app")
	if strings.Contains(r.stderr, "/compile ") || strings.Contains(r.stderr, "/link ") {
		t.Errorf("the second identical build ran tools:\n%s", r.stderr)
	}
	r = mustRun(t, dir, env, "go", "build", "-x", toolexecFlag(bin), "./...")
	if strings.Contains(r.stderr, "/compile ") {
		t.Errorf("the second identical go build ./... compiled:\n%s", r.stderr)
	}
	if logged, _ := os.ReadFile(log); strings.Contains(string(logged), "compile ") || strings.Contains(string(logged), "resolving ") {
		t.Errorf("the second identical build instrumented or resolved again:\n%s", logged)
	}
	// And the plain build is still served by its own entries.
	if r := mustRun(t, dir, nil, "go", "build", "-x", "./..."); strings.Contains(r.stderr, "/compile ") {
		t.Errorf("the plain build recompiled after the instrumented one:\n%s", r.stderr)
	}
}

// TestEndToEndTestRaceCover runs a package's tests in toolexec mode under
// -race and -cover. It is the one end-to-end test that builds with -race
// in toolexec mode: that configuration shares no package with any other
// build of the run (see docs/benchmarks.md).
func TestEndToEndTestRaceCover(t *testing.T) {
	bin := e2e(t)
	dir := newSample(t, sampleOptions{extra: map[string]string{"lib/spans_test.go": spansTest}})
	plainDir := newSample(t, sampleOptions{extra: map[string]string{"lib/spans_test.go": spansTest}})
	before := treeHash(t, dir)
	// Under -race and -cover, the package is instrumented: its spans test
	// passes, where the plain build's fails.
	mustRun(t, dir, nil, bin, "go", "test", "-race", "-cover", "-run", "TestSpans", "./lib")
	if r := run(t, plainDir, nil, "go", "test", "-run", "TestSpans", "./lib"); r.err == nil || !strings.Contains(r.stdout, "0 spans") {
		t.Errorf("plain go test: the spans test should fail with 0 spans:\n%s", r)
	}
	// And coverage is what it is without instrumentation, on the same lines.
	prof := filepath.Join(t.TempDir(), "instrumented.out")
	r := mustRun(t, dir, nil, bin, "go", "test", "-race", "-cover", "-coverprofile="+prof, "-run", "Test[^S]", "./lib")
	if !strings.Contains(r.stdout, "coverage: ") {
		t.Errorf("go test -race -cover:\n%s", r)
	}
	plainProf := filepath.Join(t.TempDir(), "plain.out")
	mustRun(t, plainDir, nil, "go", "test", "-race", "-cover", "-coverprofile="+plainProf, "-run", "Test[^S]", "./lib")
	got, _ := os.ReadFile(prof)
	want, _ := os.ReadFile(plainProf)
	if !bytes.Equal(got, want) {
		t.Errorf("coverage profile of the instrumented package:\n%s\nwant, as without instrumentation:\n%s", got, want)
	}
	sameTree(t, before, treeHash(t, dir))
}

// spansTest is a test of the sample's lib that passes only when its
// functions are instrumented. It calls no function of lib's that the other
// tests do not, so coverage is the same with or without it.
const spansTest = `package lib

import (
	"context"
	"testing"

	overmind "github.com/overmind-core/overmind-go/runtime"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	if err := overmind.Init(overmind.Config{SpanProcessors: []sdktrace.SpanProcessor{rec}}); err != nil {
		t.Fatal(err)
	}
	Greet("test")
	overmind.ForceFlush(context.Background())
	if n := len(rec.Ended()); n != 1 || rec.Ended()[0].Name() != "greet" {
		t.Fatalf("%d spans", n)
	}
}
`

func TestEndToEndGoCommands(t *testing.T) {
	bin := e2e(t)
	dir := newSample(t, sampleOptions{})
	debug := []string{"OVERMIND_DEBUG=1"}

	// go run from a subdirectory.
	if r := mustRun(t, filepath.Join(dir, "cmd", "withinit"), debug, bin, "go", "run", "."); r.stdout != "hello, init\n2 [2]\n" {
		t.Errorf("overmind go run .:\n%s", r)
	} else {
		checkSampleSpans(t, r.stderr)
	}
	// go build with -C, from elsewhere.
	out := filepath.Join(t.TempDir(), "withinit")
	mustRun(t, t.TempDir(), nil, bin, "go", "-C", dir, "build", "-o", out, "./cmd/withinit")
	checkSampleSpans(t, mustRun(t, dir, debug, out).stderr)
	// go install.
	gobin := t.TempDir()
	mustRun(t, dir, []string{"GOBIN=" + gobin}, bin, "go", "install", "./cmd/...")
	checkSampleSpans(t, mustRun(t, dir, debug, filepath.Join(gobin, "withinit")).stderr)
	// go vet analyses the user's code, and succeeds.
	mustRun(t, dir, nil, bin, "go", "vet", "./...")
	// GOFLAGS carrying -toolexec, with the toolexec word or without it.
	for _, flag := range []string{`"-toolexec=` + bin + ` toolexec"`, "-toolexec=" + bin} {
		out := filepath.Join(t.TempDir(), "withinit")
		mustRun(t, dir, []string{"GOFLAGS=-buildvcs=false " + flag}, "go", "build", "-o", out, "./cmd/withinit")
		checkSampleSpans(t, mustRun(t, dir, debug, out).stderr)
	}
	// overmind go refuses to stack on a -toolexec already in GOFLAGS.
	if r := run(t, dir, []string{`GOFLAGS="-toolexec=` + bin + ` toolexec"`}, bin, "go", "build", "./..."); r.err == nil || !strings.Contains(r.stderr, "GOFLAGS already sets -toolexec") {
		t.Errorf("overmind go under GOFLAGS=-toolexec: %v\n%s", r.err, r)
	}
}

func TestEndToEndBadDirective(t *testing.T) {
	bin := e2e(t)
	dir := newSample(t, sampleOptions{extra: map[string]string{"lib/bad.go": "package lib\n\n//overmind:tols\nfunc Bad() {}\n\n//overmind:tool a b\nfunc Worse() {}\n"}})
	r := run(t, dir, nil, "go", "build", toolexecFlag(bin), "./lib")
	if r.err == nil {
		t.Fatal("a bad directive built")
	}
	want := regexp.MustCompile(`(?s)lib/bad.go:3:\d+: unknown directive //overmind:tols: did you mean //overmind:tool\?.*lib/bad.go:6:\d+: `)
	if !want.MatchString(r.stderr) {
		t.Errorf("diagnostics:\n%s", r.stderr)
	}
}

func TestEndToEndVendor(t *testing.T) {
	bin := e2e(t)
	dir := newSample(t, sampleOptions{})
	mustRun(t, dir, nil, "go", "mod", "vendor")
	if _, err := os.Stat(filepath.Join(dir, "vendor", filepath.FromSlash(rewrite.RuntimePath))); err != nil {
		t.Fatal("the runtime was not vendored")
	}
	// The vendored packages are compiled from this directory, so they are
	// the run's only copies; the standard library's come from the warm
	// cache.
	app := filepath.Join(t.TempDir(), "withinit")
	mustRun(t, dir, nil, "go", "build", toolexecFlag(bin), "-o", app, "./cmd/withinit")
	checkSampleSpans(t, mustRun(t, dir, []string{"OVERMIND_DEBUG=1"}, app).stderr)

	// Without anything importing the runtime, go mod vendor leaves it out.
	dir = newSample(t, sampleOptions{drop: []string{"cmd/withinit/main.go"}})
	mustRun(t, dir, nil, "go", "mod", "vendor")
	r := run(t, dir, nil, "go", "build", toolexecFlag(bin), "./cmd/app")
	if r.err == nil || !strings.Contains(r.stderr, rewrite.RuntimePath+", which is not vendored") || !strings.Contains(r.stderr, "go mod vendor") {
		t.Errorf("vendored build without the runtime: %v\n%s", r.err, r)
	}
}

func TestEndToEndRuntimeNotRequired(t *testing.T) {
	bin := e2e(t)
	dir := newSample(t, sampleOptions{noRequire: true, drop: []string{"cmd/withinit/main.go"}})
	r := run(t, dir, nil, "go", "build", toolexecFlag(bin), "./...")
	want := "\n\tgo get " + toolexec.ModulePath + "@latest\n"
	if r.err == nil || !strings.Contains(r.stderr, "example.com/sample/lib: instrumented code imports "+rewrite.RuntimePath+", but the main module does not require") || !strings.Contains(r.stderr, want) {
		t.Errorf("build without the runtime module: %v\n%s", r.err, r)
	}
}

func TestEndToEndTypeErrorInUserCode(t *testing.T) {
	bin := e2e(t)
	dir := newSample(t, sampleOptions{extra: map[string]string{"lib/broken.go": "package lib\n\n//overmind:tool\nfunc Broken() int {\n\treturn undefinedThing\n}\n"}})
	r := run(t, dir, nil, "go", "build", toolexecFlag(bin), "./lib")
	plain := run(t, dir, nil, "go", "build", "./lib")
	if r.err == nil || plain.err == nil {
		t.Fatalf("broken code built: %v, %v", r.err, plain.err)
	}
	if r.stderr != plain.stderr {
		t.Errorf("with overmind the build says\n%s\nwithout it\n%s", r.stderr, plain.stderr)
	}
}

// TestEndToEndLibrarySurvivesTidy follows the documented toolexec setup
// for a library that imports the runtime nowhere: the command as a tool,
// then go mod tidy (a real one, which may fetch what the module cache
// lacks, as a user's would), then a build through the command. Tidy must
// keep in go.sum what the runtime that the build adds needs.
func TestEndToEndLibrarySurvivesTidy(t *testing.T) {
	bin := e2e(t)
	dir := t.TempDir()
	gentest.Go(t, dir, "mod", "init", "example.com/lib")
	gentest.Go(t, dir, "mod", "edit", "-replace", toolexec.ModulePath+"="+repoDir)
	gentest.Go(t, dir, "get", "-tool", toolexec.ModulePath+"/cmd/overmind")
	lib := "package lib\n\n// Greet greets.\n//\n//overmind:tool\nfunc Greet(name string) string {\n\treturn \"hello \" + name\n}\n"
	gentest.WriteFiles(t, dir, map[string][]byte{"lib.go": []byte(lib)})
	if out, err := gentest.GoEnvErr(dir, gentest.OnlineEnv(), "mod", "tidy"); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	mustRun(t, dir, []string{"GOFLAGS=-mod=readonly", "GOSUMDB=off"}, bin, "go", "build", "./...")
}
