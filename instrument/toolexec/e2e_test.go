package toolexec_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/overmind-core/overmind-go/instrument/toolexec"
	"github.com/overmind-core/overmind-go/instrument/toolexec/internal/markrewrite"
)

// These tests run real go commands through the driver, built into the
// overmind-mark command with the markrewrite stand-in for the rewrite.
// They share the default build cache: the driver's cache entries are keyed
// on the binary, which only changes when its code does.

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
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// markBinary builds overmind-mark once.
var markBinary = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(binDir, "overmind-mark")
	cmd := exec.Command("go", "build", "-o", bin, "./internal/markrewrite/cmd/overmind-mark")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building overmind-mark: %v\n%s", err, out)
	}
	return bin, nil
})

func e2e(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end builds are slow")
	}
	bin, err := markBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

type sampleOptions struct {
	noRequire bool              // leave the runtime module out of go.mod
	extra     map[string]string // more files, by slash-separated path
	drop      []string          // files of the sample to leave out
}

// newSample copies testdata/sample into a new directory and writes its
// go.mod: it requires the runtime module, replaced by this repository.
func newSample(t testing.TB, opt sampleOptions) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sample")
	src := filepath.Join("testdata", "sample")
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
	key := fmt.Sprint(opt.noRequire, opt.drop)
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

func TestEndToEndBuildAndRun(t *testing.T) {
	bin := e2e(t)
	dir := newSample(t, sampleOptions{})
	before := treeHash(t, dir)
	log := filepath.Join(t.TempDir(), "log")
	app := filepath.Join(t.TempDir(), "app")
	mustRun(t, dir, []string{"OVERMIND_TOOLEXEC_LOG=" + log}, "go", "build", toolexecFlag(bin), "-o", app, "./cmd/app")
	sameTree(t, before, treeHash(t, dir))

	r := mustRun(t, dir, nil, app)
	if r.stdout != wantAppOutput {
		t.Errorf("instrumented app printed %q, want %q", r.stdout, wantAppOutput)
	}
	for _, fn := range []string{"lib.Greet", "lib.Map", "lib.Counter.Add"} {
		if !strings.Contains(r.stderr, markrewrite.Marker+" example.com/sample/"+fn+"\n") {
			t.Errorf("%s was not instrumented; stderr:\n%s", fn, r.stderr)
		}
	}
	logged, _ := os.ReadFile(log)
	if !regexp.MustCompile(`compile example.com/sample/lib instrumented 1 file\(s\) added imports \[`+toolexec.RuntimePath+`\]`).Match(logged) ||
		!regexp.MustCompile(`link \S+ added \d+ package\(s\) for `+toolexec.RuntimePath).Match(logged) {
		t.Errorf("driver log:\n%s", logged)
	}
	if nm := mustRun(t, dir, nil, "go", "tool", "nm", app); !strings.Contains(nm.stdout, " "+toolexec.RuntimePath+".") {
		t.Error("the runtime is not linked into the instrumented app")
	}

	plain := filepath.Join(t.TempDir(), "plain")
	mustRun(t, dir, nil, "go", "build", "-o", plain, "./cmd/app")
	if r := mustRun(t, dir, nil, plain); r.stdout != wantAppOutput || r.stderr != "" {
		t.Errorf("plain app: stdout %q, stderr %q", r.stdout, r.stderr)
	}

	// A program that imports the runtime itself links it without help.
	withinit := filepath.Join(t.TempDir(), "withinit")
	mustRun(t, dir, []string{"OVERMIND_TOOLEXEC_LOG=" + log + "2"}, "go", "build", toolexecFlag(bin), "-o", withinit, "./cmd/withinit")
	if r := mustRun(t, dir, nil, withinit); !strings.Contains(r.stderr, markrewrite.Marker+" example.com/sample/lib.Greet") {
		t.Errorf("withinit: %s", r)
	}
	if logged, _ := os.ReadFile(log + "2"); strings.Contains(string(logged), "link ") {
		t.Errorf("the link of a program importing the runtime was changed:\n%s", logged)
	}
}

func TestEndToEndPanicLine(t *testing.T) {
	bin := e2e(t)
	dir := newSample(t, sampleOptions{})
	line := lineOf(t, filepath.Join(dir, "lib", "lib.go"), "PANIC LINE")
	for _, trimpath := range []bool{false, true} {
		app := filepath.Join(t.TempDir(), "app")
		args := []string{"build", toolexecFlag(bin), "-o", app}
		want := fmt.Sprintf("%s:%d ", filepath.Join(dir, "lib", "lib.go"), line)
		if trimpath {
			args = append(args, "-trimpath")
			want = fmt.Sprintf("example.com/sample/lib/lib.go:%d ", line)
		}
		mustRun(t, dir, nil, "go", append(args, "./cmd/app")...)
		r := run(t, dir, nil, app, "boom")
		if r.err == nil || !strings.Contains(r.stderr, "panic: boom 1") {
			t.Fatalf("trimpath=%v: app boom: %v\n%s", trimpath, r.err, r)
		}
		if !strings.Contains(r.stderr, markrewrite.Marker+" example.com/sample/lib.Boom") {
			t.Errorf("trimpath=%v: Boom not instrumented:\n%s", trimpath, r.stderr)
		}
		frame := regexp.MustCompile(`example.com/sample/lib.Boom\(.*\)\n\t(.*)\n`).FindStringSubmatch(r.stderr)
		if frame == nil || !strings.HasPrefix(frame[1], want) {
			t.Errorf("trimpath=%v: Boom's frame is %q, want it at %q\n%s", trimpath, frame, want, r.stderr)
		}
	}
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

func TestEndToEndTestRaceCover(t *testing.T) {
	bin := e2e(t)
	dir := newSample(t, sampleOptions{})
	before := treeHash(t, dir)
	prof := filepath.Join(t.TempDir(), "instrumented.out")
	r := mustRun(t, dir, nil, bin, "go", "test", "-race", "-cover", "-v", "-coverprofile="+prof, "./lib")
	if !strings.Contains(r.stdout, markrewrite.Marker+" example.com/sample/lib.Counter.Add") || !strings.Contains(r.stdout, "coverage: ") {
		t.Errorf("go test -race -cover:\n%s", r)
	}
	plainProf := filepath.Join(t.TempDir(), "plain.out")
	mustRun(t, dir, nil, "go", "test", "-race", "-cover", "-coverprofile="+plainProf, "./lib")
	got, _ := os.ReadFile(prof)
	want, _ := os.ReadFile(plainProf)
	if !bytes.Equal(got, want) {
		t.Errorf("coverage profile of the instrumented package:\n%s\nwant, as without instrumentation:\n%s", got, want)
	}
	sameTree(t, before, treeHash(t, dir))
}

func TestEndToEndGoCommands(t *testing.T) {
	bin := e2e(t)
	dir := newSample(t, sampleOptions{})
	marked := markrewrite.Marker + " example.com/sample/lib.Greet"

	// go run from a subdirectory.
	if r := mustRun(t, filepath.Join(dir, "cmd", "app"), nil, bin, "go", "run", "."); r.stdout != wantAppOutput || !strings.Contains(r.stderr, marked) {
		t.Errorf("overmind go run .:\n%s", r)
	}
	// go build with -C, from elsewhere.
	out := filepath.Join(t.TempDir(), "app")
	mustRun(t, t.TempDir(), nil, bin, "go", "-C", dir, "build", "-o", out, "./cmd/app")
	if r := mustRun(t, dir, nil, out); !strings.Contains(r.stderr, marked) {
		t.Errorf("overmind go -C dir build: %s", r)
	}
	// go install.
	gobin := t.TempDir()
	mustRun(t, dir, []string{"GOBIN=" + gobin}, bin, "go", "install", "./cmd/app")
	if r := mustRun(t, dir, nil, filepath.Join(gobin, "app")); !strings.Contains(r.stderr, marked) {
		t.Errorf("overmind go install: %s", r)
	}
	// go vet analyses the user's code and succeeds.
	mustRun(t, dir, nil, bin, "go", "vet", "./...")
	// GOFLAGS carrying -toolexec.
	out2 := filepath.Join(t.TempDir(), "app")
	r := run(t, dir, []string{`GOFLAGS=-buildvcs=false "-toolexec=` + bin + ` toolexec"`}, "go", "build", "-o", out2, "./cmd/app")
	if r.err != nil {
		t.Fatalf("GOFLAGS=-toolexec: %v\n%s", r.err, r)
	}
	if r := mustRun(t, dir, nil, out2); !strings.Contains(r.stderr, marked) {
		t.Errorf("GOFLAGS=-toolexec build: %s", r)
	}
	// overmind go refuses to stack on a -toolexec already in GOFLAGS.
	if r := run(t, dir, []string{`GOFLAGS="-toolexec=` + bin + ` toolexec"`}, bin, "go", "build", "./..."); r.err == nil || !strings.Contains(r.stderr, "GOFLAGS already sets -toolexec") {
		t.Errorf("overmind go under GOFLAGS=-toolexec: %v\n%s", r.err, r)
	}
}

func TestEndToEndVendor(t *testing.T) {
	bin := e2e(t)
	dir := newSample(t, sampleOptions{})
	mustRun(t, dir, nil, "go", "mod", "vendor")
	if _, err := os.Stat(filepath.Join(dir, "vendor", filepath.FromSlash(toolexec.RuntimePath))); err != nil {
		t.Fatal("the runtime was not vendored")
	}
	app := filepath.Join(t.TempDir(), "app")
	mustRun(t, dir, nil, "go", "build", toolexecFlag(bin), "-o", app, "./cmd/app")
	if r := mustRun(t, dir, nil, app); !strings.Contains(r.stderr, markrewrite.Marker+" example.com/sample/lib.Greet") {
		t.Errorf("vendored build: %s", r)
	}

	// Without anything importing the runtime, go mod vendor leaves it out.
	dir = newSample(t, sampleOptions{drop: []string{"cmd/withinit/main.go"}})
	mustRun(t, dir, nil, "go", "mod", "vendor")
	r := run(t, dir, nil, "go", "build", toolexecFlag(bin), "./cmd/app")
	if r.err == nil || !strings.Contains(r.stderr, toolexec.RuntimePath+", which is not vendored") || !strings.Contains(r.stderr, "go mod vendor") {
		t.Errorf("vendored build without the runtime: %v\n%s", r.err, r)
	}
}

func TestEndToEndRuntimeNotRequired(t *testing.T) {
	bin := e2e(t)
	dir := newSample(t, sampleOptions{noRequire: true, drop: []string{"cmd/withinit/main.go"}})
	r := run(t, dir, nil, "go", "build", toolexecFlag(bin), "./...")
	want := "\n\tgo get " + toolexec.ModulePath + "@latest\n"
	if r.err == nil || !strings.Contains(r.stderr, "example.com/sample/lib: instrumented code imports "+toolexec.RuntimePath+", but the main module does not require") || !strings.Contains(r.stderr, want) {
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
