package toolexec_test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// crashProgram calls Init with a span processor that prints each ended
// span on stdout, then calls the sample's lib.Boom, which panics.
const crashProgram = `package main

import (
	"context"
	"fmt"

	overmind "github.com/overmind-core/overmind-go/runtime"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"example.com/sample/lib"
)

type printer struct{}

func (printer) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (printer) Shutdown(context.Context) error                  { return nil }
func (printer) ForceFlush(context.Context) error                { return nil }
func (printer) OnEnd(s sdktrace.ReadOnlySpan) {
	for _, kv := range s.Attributes() {
		if kv.Key == "overmind.error.message" {
			fmt.Printf("span %s: %s\n", s.Name(), kv.Value.Emit())
		}
	}
}

func main() {
	if err := overmind.Init(overmind.Config{SpanProcessors: []sdktrace.SpanProcessor{printer{}}}); err != nil {
		panic(err)
	}
	fmt.Println(lib.Greet("crash"))
	lib.Boom(1)
}
`

// TestEndToEndCrashAsPlain checks that with tracing on, a toolexec build
// crashes exactly as the plain build does: same exit status and the same
// stderr, line for line, once program counter offsets, addresses and
// argument words are set aside; and that the panic was recorded. (A
// function with a defer is not inlined, so an instrumented frame shows a
// program counter offset where the plain build's inlined one shows none.)
func TestEndToEndCrashAsPlain(t *testing.T) {
	bin := e2e(t)
	dir := newSample(t, sampleOptions{extra: map[string]string{"cmd/crash/main.go": crashProgram}})
	out := t.TempDir()
	mustRun(t, dir, nil, "go", "build", "-o", filepath.Join(out, "plain"), "./cmd/crash")
	mustRun(t, dir, nil, "go", "build", toolexecFlag(bin), "-o", filepath.Join(out, "toolexec"), "./cmd/crash")
	plain := run(t, dir, nil, filepath.Join(out, "plain"))
	inst := run(t, dir, nil, filepath.Join(out, "toolexec"))
	for name, r := range map[string]result{"plain": plain, "toolexec": inst} {
		if ee, ok := r.err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Fatalf("%s build: %v, want exit status 2\n%s", name, r.err, r)
		}
	}
	if got, want := normalizeCrash(inst.stderr), normalizeCrash(plain.stderr); got != want {
		t.Errorf("the toolexec build crashes with\n%s\nthe plain one with\n%s", got, want)
	}
	if !strings.Contains(inst.stderr, "\npanic: boom 1\n\ngoroutine 1 [running]:\nexample.com/sample/lib.Boom(") {
		t.Errorf("crash output:\n%s", inst.stderr)
	}
	if want := "hello, crash\nspan Boom: boom 1\n"; inst.stdout != want {
		t.Errorf("the toolexec build printed %q, want %q", inst.stdout, want)
	}
}

var (
	crashPCOffset = regexp.MustCompile(` \+0x[0-9a-f]+`)
	crashAddr     = regexp.MustCompile(`0x[0-9a-f]{6,}`)
	// crashArgs matches a frame's function line (not indented) and its
	// arguments, which a traceback prints from registers and the frame:
	// instrumentation can change which of them carry a "?".
	crashArgs = regexp.MustCompile(`(?m)^([^\s].*)\([^()\n]*\)$`)
)

func normalizeCrash(s string) string {
	s = crashArgs.ReplaceAllString(s, "$1(…)")
	s = crashPCOffset.ReplaceAllString(s, "")
	return crashAddr.ReplaceAllString(s, "0x?")
}
