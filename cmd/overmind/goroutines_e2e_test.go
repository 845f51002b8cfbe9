package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/overmind-core/overmind-go/internal/gentest"
	"github.com/overmind-core/overmind-go/internal/goroutinesample"
	"github.com/overmind-core/overmind-go/internal/otlptest"
)

// adoptingCall matches the function value of a rewritten go statement
// that calls a named function.
var adoptingCall = regexp.MustCompile(`overmind\.Adopting[0-9VR]+\((\w+)\)`)

// TestEndToEndGoroutines instruments the goroutines sample in
// ../../testdata/goroutines with the command: its go statements are
// rewritten, a second run changes nothing, and -remove gives back the
// original bytes. Traced, the program prints what the plain build prints
// and exports one trace in which the spans of the goroutines its
// instrumented function started nest under that function's span, with
// its labels. Dying of a panic in such a goroutine, traced and not, it
// prints what the plain build prints, frame for frame and statement for
// statement (the lines differ, as generated code takes some), but for the
// frame of the runtime's wrapper, one, when tracing is on.
func TestEndToEndGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	src, err := os.ReadFile(filepath.Join(gentest.RepoRoot(t), "testdata", "goroutines", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	plainDir := filepath.Join(t.TempDir(), "plain")
	gentest.WriteModule(t, plainDir, "example.com/goroutines")
	gentest.WriteFiles(t, plainDir, map[string][]byte{"main.go": src})
	dir := moduleAt(t, "example.com/goroutines", map[string]string{"main.go": string(src)})

	if code, _, errOut := runCLI(t, "instrument", "./..."); code != 0 {
		t.Fatalf("instrument: code %d\n%s", code, errOut)
	}
	instrumented := read(t, filepath.Join(dir, "main.go"))
	for _, want := range []string{"go overmind.Adopting0(func() {", "go overmind.Adopting3(worker)(jobs, results, &wg)", "go overmind.Adopting4(report)(results, &wg, next(), next())", `overmind.Label(_om, "user", userID)`} {
		if !strings.Contains(instrumented, want) {
			t.Errorf("the instrumented source has no %q:\n%s", want, instrumented)
		}
	}
	if code, out, _ := runCLI(t, "instrument", "-l", "./..."); code != 0 || out != "" {
		t.Fatalf("a second run would change %q (code %d)", out, code)
	}

	bins := t.TempDir()
	plain, inst := filepath.Join(bins, "plain"), filepath.Join(bins, "instrumented")
	gentest.Go(t, plainDir, "build", "-o", plain, ".")
	gentest.Go(t, dir, "build", "-o", inst, ".")

	recv := otlptest.NewReceiver()
	defer recv.Close()
	traced := []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + recv.URL(), "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"}
	if out := runProgram(t, plain); out != goroutinesample.Output {
		t.Errorf("the plain program prints %q, want %q", out, goroutinesample.Output)
	}
	if out := runProgram(t, inst, traced...); out != goroutinesample.Output {
		t.Errorf("the instrumented program prints %q, want %q", out, goroutinesample.Output)
	}
	goroutinesample.CheckSpans(t, recv.WaitForSpans(6, 10*time.Second))

	sources := map[string]string{plain: filepath.Join(plainDir, "main.go"), inst: filepath.Join(dir, "main.go")}
	crash := func(bin string, env []string, kind string) string {
		t.Helper()
		cmd := exec.Command(bin, "crash", kind)
		cmd.Env = append(os.Environ(), env...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err == nil {
			t.Fatalf("%s crash %s did not fail", bin, kind)
		} else if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Fatalf("%s crash %s: %v, want exit status 2\n%s", bin, kind, err, stderr.String())
		}
		out := gentest.SourceLines(stderr.String(), func(file string) (string, error) {
			if file != sources[bin] {
				return "", os.ErrNotExist
			}
			data, err := os.ReadFile(file)
			return string(data), err
		})
		// The go statements as written before the rewrite.
		out = adoptingCall.ReplaceAllString(out, "$1")
		out = strings.ReplaceAll(out, "overmind.Adopting0(func() {", "func() {")
		return strings.ReplaceAll(out, filepath.Dir(sources[bin]), "DIR")
	}
	for _, kind := range []string{"literal", "worker"} {
		for _, env := range [][]string{nil, traced} {
			name := fmt.Sprintf("%s, tracing on: %v", kind, env != nil)
			want := gentest.NormalizeCrash(crash(plain, env, kind))
			got, dropped := gentest.DropAdoptingFrames(crash(inst, env, kind))
			if w := map[bool]int{false: 0, true: 1}[env != nil]; dropped != w {
				t.Errorf("%s: %d frames of the runtime's wrapper, want %d:\n%s", name, dropped, w, got)
			}
			if got = gentest.NormalizeCrash(got); got != want {
				t.Errorf("%s: the instrumented program crashes with\n%s\nthe plain one with\n%s", name, got, want)
			}
			if !strings.Contains(got, "created by main.Crash in goroutine 1\n\tmain.go: go ") {
				t.Errorf("%s: the goroutine is not created by Crash's go statement:\n%s", name, got)
			}
		}
	}

	if code, _, errOut := runCLI(t, "instrument", "-remove", "./..."); code != 0 {
		t.Fatalf("-remove: %s", errOut)
	}
	if got := read(t, filepath.Join(dir, "main.go")); got != string(src) {
		t.Errorf("-remove did not restore the source; instrumented was:\n%s", instrumented)
	}
}
