package toolexec

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fakeTool writes an executable shell script called name into a new
// directory and returns its path.
func fakeTool(t *testing.T, name, script string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("fake tools are shell scripts")
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// parseToolID applies cmd/go's reading of a -V=full answer (toolID in
// cmd/go/internal/work/buildid.go) and returns the ID it keys the cache on.
func parseToolID(t *testing.T, name, line string) string {
	t.Helper()
	f := strings.Fields(line)
	if len(f) < 3 || f[0] != name || f[1] != "version" || strings.Contains(f[2], "devel") && !strings.HasPrefix(f[len(f)-1], "buildID=") {
		t.Fatalf("cmd/go would reject -V=full answer %q", line)
	}
	if strings.Contains(f[2], "devel") {
		id := f[len(f)-1]
		return id[strings.LastIndex(id, "/")+1:]
	}
	return strings.TrimSpace(line)
}

func runVersion(t *testing.T, tool string, version string) (string, int) {
	t.Helper()
	if os.Getenv("OVERMIND_CACHE") == "" {
		t.Setenv("OVERMIND_CACHE", t.TempDir())
	}
	var out, errb bytes.Buffer
	code := Run(context.Background(), Config{Rewrite: noRewrite, Stdout: &out, Stderr: &errb, Version: version}, []string{tool, "-V=full"})
	if errb.Len() > 0 {
		t.Logf("stderr: %s", errb.String())
	}
	return out.String(), code
}

func noRewrite(*Package) (Instrumented, error) { return Instrumented{}, nil }

func TestVersionAnswer(t *testing.T) {
	goTool, err := exec.Command("go", "env", "GOTOOLDIR").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"compile", "link"} {
		tool := filepath.Join(strings.TrimSpace(string(goTool)), name)
		real, err := exec.Command(tool, "-V=full").Output()
		if err != nil {
			t.Fatal(err)
		}
		got, code := runVersion(t, tool, "v1.2.3")
		if code != 0 {
			t.Fatalf("%s -V=full: exit %d", name, code)
		}
		id := parseToolID(t, name, got)
		if id == parseToolID(t, name, string(real)) {
			t.Errorf("%s: the answer %q gives the same cache key as the plain tool's", name, got)
		}
		if !strings.HasPrefix(got, strings.TrimSpace(string(real))+" overmind@v1.2.3+") {
			t.Errorf("%s: answer %q does not extend the real one %q", name, got, real)
		}
		other, _ := runVersion(t, tool, "v1.2.4")
		if parseToolID(t, name, other) == id {
			t.Errorf("%s: a new overmind version keeps the cache key", name)
		}
		again, _ := runVersion(t, tool, "v1.2.3")
		if again != got {
			t.Errorf("%s: answers differ between runs: %q, %q", name, got, again)
		}
	}
}

func TestVersionAnswerKept(t *testing.T) {
	t.Setenv("OVERMIND_CACHE", t.TempDir())
	dir := t.TempDir()
	tool := filepath.Join(dir, "compile")
	count := filepath.Join(dir, "count")
	write := func(version string) {
		os.WriteFile(tool, []byte("#!/bin/sh\necho x >> "+count+"\necho \"compile version "+version+"\"\n"), 0o755)
	}
	if runtime.GOOS == "windows" {
		t.Skip("fake tools are shell scripts")
	}
	write("go1.99.1")
	runs := func() int { data, _ := os.ReadFile(count); return strings.Count(string(data), "x") }
	first, _ := runVersion(t, tool, "v1")
	second, _ := runVersion(t, tool, "v1")
	if first != second || !strings.HasPrefix(first, "compile version go1.99.1 ") || runs() != 1 {
		t.Errorf("answers %q, %q; the tool ran %d times, want once", first, second, runs())
	}
	// Another GOEXPERIMENT asks the tool again.
	t.Setenv("GOEXPERIMENT", "fieldtrack")
	runVersion(t, tool, "v1")
	if runs() != 2 {
		t.Errorf("the tool ran %d times, want 2", runs())
	}
	// A new tool at the same path is asked again.
	write("go1.99.2")
	later := time.Now().Add(time.Hour)
	os.Chtimes(tool, later, later)
	if got, _ := runVersion(t, tool, "v1"); !strings.HasPrefix(got, "compile version go1.99.2 ") || runs() != 3 {
		t.Errorf("after replacing the tool: %q, %d runs", got, runs())
	}
}

func TestVersionAnswerDevelToolchain(t *testing.T) {
	tool := fakeTool(t, "compile", `echo "compile version devel go1.27-abcdef Tue Jan 1 buildID=AAA/BBB"`)
	got, code := runVersion(t, tool, "v1.2.3")
	if code != 0 {
		t.Fatal(code)
	}
	id := parseToolID(t, "compile", got)
	if !strings.HasPrefix(id, "BBB:overmind@v1.2.3+") {
		t.Errorf("devel toolchain: cache key %q does not carry overmind's identity", id)
	}
}

func TestVersionAnswerOtherToolsUntouched(t *testing.T) {
	tool := fakeTool(t, "asm", `echo "asm version go1.26.8"; echo "to stderr" >&2; exit 0`)
	got, code := runVersion(t, tool, "v1.2.3")
	if code != 0 || got != "asm version go1.26.8\n" {
		t.Errorf("asm -V=full = %q, exit %d; want the tool's own answer", got, code)
	}
}

func TestVersionAnswerToolFails(t *testing.T) {
	tool := fakeTool(t, "compile", "echo broken >&2; exit 3\n")
	got, code := runVersion(t, tool, "v1")
	if code != 3 || got != "" {
		t.Errorf("failing tool: output %q, exit %d; want nothing, exit 3", got, code)
	}
}

func TestVersionLine(t *testing.T) {
	for _, tc := range []struct{ real, want string }{
		{"compile version go1.26.8", "compile version go1.26.8 S"},
		{"compile version go1.26.8 X:fieldtrack", "compile version go1.26.8 X:fieldtrack S"},
		{"link version devel go1.27-1234 buildID=a/b", "link version devel go1.27-1234 buildID=a/b:S"},
	} {
		if got := versionLine(tc.real, "S"); got != tc.want {
			t.Errorf("versionLine(%q) = %q, want %q", tc.real, got, tc.want)
		}
	}
}

func TestSelfHash(t *testing.T) {
	h, err := selfHash()
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 24 {
		t.Errorf("selfHash() = %q", h)
	}
	exe, _ := os.Executable()
	want, err := exec.Command("go", "tool", "buildid", exe).Output()
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(exe)
	head := make([]byte, 64<<10)
	n, _ := f.Read(head)
	f.Close()
	if got := findBuildID(head[:n]); got != strings.TrimSpace(string(want)) {
		t.Errorf("findBuildID = %q, go tool buildid says %q", got, want)
	}
}

func TestFindBuildIDMarker(t *testing.T) {
	head := []byte("MZ....\xff Go build ID: \"abc/def\"\n \xff....")
	if got := findBuildID(head); got != "abc/def" {
		t.Errorf("findBuildID = %q", got)
	}
	if got := findBuildID([]byte("nothing here Go\x00\x00")); got != "" {
		t.Errorf("findBuildID(no id) = %q", got)
	}
}

// TestVersionAnswerRuntimeIdentity checks that both the compiler's and the
// linker's answers change with the runtime module the main module selects:
// a program that does not import the runtime gets it only through the
// instrumentation, which cmd/go does not see.
func TestVersionAnswerRuntimeIdentity(t *testing.T) {
	mod := func(version string) string {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/app\n\ngo 1.26\n\nrequire "+ModulePath+" "+version+"\n"), 0o644)
		return dir
	}
	older, newer := mod("v0.1.0"), mod("v0.1.1")
	for _, name := range []string{"compile", "link"} {
		tool := fakeTool(t, name, `echo "`+name+` version go1.26.8"`)
		t.Chdir(older)
		a, _ := runVersion(t, tool, "v1")
		t.Chdir(newer)
		b, _ := runVersion(t, tool, "v1")
		if a == "" || a == b {
			t.Errorf("%s: the same answer %q for two runtime versions", name, a)
		}
	}
}
