package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/overmind-core/overmind-go/internal/gentest"
)

// crashMain calls Init with a span processor that prints each ended span
// on stdout, then panics through three instrumented frames (and a helper
// in another file, whose lines the generator does not move).
const crashMain = `package main

import (
	"context"
	"fmt"

	overmind "github.com/overmind-core/overmind-go/runtime"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// printer prints the outcome of each span as it ends.
type printer struct{}

func (printer) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (printer) Shutdown(context.Context) error                  { return nil }
func (printer) ForceFlush(context.Context) error                { return nil }
func (printer) OnEnd(s sdktrace.ReadOnlySpan) {
	attrs := map[string]string{}
	for _, kv := range s.Attributes() {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	stack := false
	for _, ev := range s.Events() {
		for _, kv := range ev.Attributes {
			stack = stack || kv.Key == "exception.stacktrace"
		}
	}
	fmt.Printf("span %s %s %s %q stack=%v\n", s.Name(), attrs["overmind.status"], attrs["overmind.error.type"], attrs["overmind.error.message"], stack)
}

//overmind:function
func Explode(n int) int {
	if n > 0 {
		return Explode(n-1) + 1
	}
	fail(n)
	return n
}

func main() {
	if err := overmind.Init(overmind.Config{SpanProcessors: []sdktrace.SpanProcessor{printer{}}}); err != nil {
		panic(err)
	}
	fmt.Println("start")
	Explode(2)
}
`

// TestCrashAfterInitAsPlain checks that an uncaught panic through
// instrumented functions, with tracing on, crashes the program exactly as
// it crashes the plain build: same exit status, same stderr (panic line,
// goroutine header, every frame and its file:line, once addresses and
// the lines of the instrumented file, which generate mode moves, are set
// aside), and that each span recorded the panic, with its stack once.
func TestCrashAfterInitAsPlain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	files := map[string]string{"main.go": crashMain, "fail.go": panicFail}
	dir := module(t, files)
	bin := t.TempDir()
	// The plain build first, from the same directory, so that both
	// programs name their files alike.
	gentest.Go(t, dir, "build", "-o", filepath.Join(bin, "plain"), ".")
	if code, _, errOut := runCLI(t, "instrument", "./..."); code != 0 {
		t.Fatalf("instrument: code %d\n%s", code, errOut)
	}
	gentest.Go(t, dir, "build", "-o", filepath.Join(bin, "instrumented"), ".")
	plainOut, plainErr, plainCode := runCrash(t, filepath.Join(bin, "plain"))
	instOut, instErr, instCode := runCrash(t, filepath.Join(bin, "instrumented"))
	if instCode != plainCode || plainCode != 2 {
		t.Errorf("exit status %d, plain %d (want 2)", instCode, plainCode)
	}
	if _, crash, _ := strings.Cut(instErr, "\npanic: "); !strings.HasPrefix(crash, "boom 0\n\ngoroutine 1 [running]:\n") {
		t.Errorf("crash output starts:\n%s", instErr)
	}
	if got, want := normalizeCrash(instErr, "main.go"), normalizeCrash(plainErr, "main.go"); got != want {
		t.Errorf("the instrumented program crashes with\n%s\nthe plain one with\n%s", got, want)
	}
	if plainOut != "start\n" {
		t.Errorf("plain program printed %q", plainOut)
	}
	wantSpans := "start\n" +
		"span Explode failed panic \"boom 0\" stack=true\n" +
		"span Explode failed panic \"boom 0\" stack=false\n" +
		"span Explode failed panic \"boom 0\" stack=false\n"
	if instOut != wantSpans {
		t.Errorf("the instrumented program printed\n%s\nwant\n%s", instOut, wantSpans)
	}
}

// runCrash runs a program that must crash and returns its stdout,
// stderr and exit status.
func runCrash(t *testing.T, bin string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("%s: %v (want a crash)\n%s", bin, err, errb.String())
	}
	return out.String(), errb.String(), ee.ExitCode()
}

var (
	pcOffset = regexp.MustCompile(` \+0x[0-9a-f]+`)
	fpSP     = regexp.MustCompile(` fp=0x[0-9a-f]+ sp=0x[0-9a-f]+ pc=0x[0-9a-f]+`)
	hexArg   = regexp.MustCompile(`0x[0-9a-f]{6,}`)
	// frameArgs matches a frame's function line: not indented, ending
	// with its arguments.
	frameArgs = regexp.MustCompile(`(?m)^([^\s].*)\([^()\n]*\)$`)
)

// normalizeCrash sets aside what differs between two builds of the same
// program: program counter offsets (an instrumented function, which
// defers, is never inlined, so its frame shows one), addresses, the
// arguments a traceback prints (they are the words found in registers or
// the frame, marked with "?" when the compiler may have reused them:
// capturing a parameter changes that), and the line numbers in the file
// named moved.
func normalizeCrash(s, moved string) string {
	s = frameArgs.ReplaceAllString(s, "$1(…)")
	s = pcOffset.ReplaceAllString(s, "")
	s = fpSP.ReplaceAllString(s, "")
	s = hexArg.ReplaceAllString(s, "0x?")
	return regexp.MustCompile(regexp.QuoteMeta(moved)+`:\d+`).ReplaceAllString(s, moved+":?")
}
