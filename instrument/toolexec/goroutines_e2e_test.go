package toolexec_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/overmind-core/overmind-go/internal/gentest"
	"github.com/overmind-core/overmind-go/internal/goroutinesample"
	"github.com/overmind-core/overmind-go/internal/otlptest"
)

// goroutinesSource is the sample program of the go statement tests.
var goroutinesSource = filepath.Join("..", "..", "testdata", "goroutines")

// TestEndToEndGoroutines builds the goroutines sample plain and through
// the compile-time driver, from the same untouched source. Traced, the
// instrumented program prints what the plain one prints, and exports one
// trace in which the spans of the goroutines its instrumented function
// started nest under that function's span, with its labels. Each build then
// dies of a panic in such a goroutine, traced and not: the crash reads the
// same (same message, frames, files and lines, the same "created by"), but
// for the frame of the runtime's wrapper, one, when tracing is on.
func TestEndToEndGoroutines(t *testing.T) {
	bin := e2e(t)
	dir := newSample(t, sampleOptions{src: goroutinesSource})
	bins := t.TempDir()
	plain, inst := filepath.Join(bins, "plain"), filepath.Join(bins, "toolexec")
	mustRun(t, dir, nil, "go", "build", "-o", plain, ".")
	mustRun(t, dir, nil, "go", "build", toolexecFlag(bin), "-o", inst, ".")

	if out := mustRun(t, dir, nil, plain).stdout; out != goroutinesample.Output {
		t.Errorf("the plain program prints %q, want %q", out, goroutinesample.Output)
	}
	spans, out := runTraced(t, inst, 6)
	if out != goroutinesample.Output {
		t.Errorf("the instrumented program prints %q, want %q", out, goroutinesample.Output)
	}
	goroutinesample.CheckSpans(t, spans)

	recv := otlptest.NewReceiver()
	defer recv.Close()
	traced := []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + recv.URL(), "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"}
	goLine := map[string]int{
		"literal": lineOf(t, filepath.Join(dir, "main.go"), `panic("boom in a literal")`) - 1,
		"worker":  lineOf(t, filepath.Join(dir, "main.go"), "go explode(kind)"),
	}
	for _, kind := range []string{"literal", "worker"} {
		for _, env := range [][]string{nil, traced} {
			name := fmt.Sprintf("%s, tracing on: %v", kind, env != nil)
			p := run(t, dir, env, plain, "crash", kind)
			i := run(t, dir, env, inst, "crash", kind)
			for build, r := range map[string]result{"plain": p, "toolexec": i} {
				if ee, ok := r.err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
					t.Fatalf("%s: the %s build: %v, want exit status 2\n%s", name, build, r.err, r)
				}
			}
			got, dropped := gentest.DropAdoptingFrames(i.stderr)
			if want := map[bool]int{false: 0, true: 1}[env != nil]; dropped != want {
				t.Errorf("%s: %d frames of the runtime's wrapper, want %d:\n%s", name, dropped, want, i.stderr)
			}
			if g, w := gentest.NormalizeCrash(got), gentest.NormalizeCrash(p.stderr); g != w {
				t.Errorf("%s: the instrumented build crashes with\n%s\nthe plain one with\n%s", name, g, w)
			}
			createdBy := fmt.Sprintf("created by main.Crash in goroutine 1\n\t%s:%d ", filepath.Join(dir, "main.go"), goLine[kind])
			if !strings.Contains(i.stderr, createdBy) {
				t.Errorf("%s: no %q in\n%s", name, createdBy, i.stderr)
			}
		}
	}
}
