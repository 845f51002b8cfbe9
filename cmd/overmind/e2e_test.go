package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/overmind-core/overmind-go/internal/gentest"
	"github.com/overmind-core/overmind-go/internal/otlptest"
)

// TestEndToEnd instruments the sample program in ../../testdata/e2e with
// the command, builds it with go build, runs it against an OTLP receiver,
// and checks the span tree, the span types, inputs, outputs and statuses,
// and that the program prints exactly what the uninstrumented build
// prints. Then a second run must change nothing, and -remove must give
// back the original bytes.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	root := gentest.RepoRoot(t)
	src, err := os.ReadFile(filepath.Join(root, "testdata", "e2e", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	plainDir := filepath.Join(t.TempDir(), "plain")
	gentest.WriteModule(t, plainDir, "example.com/e2e")
	gentest.WriteFiles(t, plainDir, map[string][]byte{"main.go": src})
	dir := module(t, map[string]string{"main.go": string(src)})

	if code, _, errOut := runCLI(t, "instrument", "./..."); code != 0 {
		t.Fatalf("instrument: code %d\n%s", code, errOut)
	}
	instrumented, err := os.ReadFile(filepath.Join(dir, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCLI(t, "instrument", "-l", "./..."); code != 0 || out != "" {
		t.Fatalf("a second run would change %q (code %d)", out, code)
	}

	bin := t.TempDir()
	gentest.Go(t, plainDir, "build", "-o", filepath.Join(bin, "plain"), ".")
	gentest.Go(t, dir, "build", "-o", filepath.Join(bin, "instrumented"), ".")

	recv := otlptest.NewReceiver()
	defer recv.Close()
	plainOut := runProgram(t, filepath.Join(bin, "plain"))
	instOut := runProgram(t, filepath.Join(bin, "instrumented"), "OTEL_EXPORTER_OTLP_ENDPOINT="+recv.URL(), "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf")
	if plainOut != instOut {
		t.Errorf("the instrumented program prints\n%s\nbut the plain one prints\n%s", instOut, plainOut)
	}

	if !strings.Contains(plainOut, "positions: template.tmpl:42 other.tmpl:7\n") {
		t.Errorf("the plain program does not report the positions its //line directives set:\n%s", plainOut)
	}

	spans := recv.WaitForSpans(19, 10*time.Second)
	wantTree := `handle_query [entry_point]
  research [workflow]
    web_search [tool_call]
    lookup_order [tool_call]
handle_query [entry_point]
  research [workflow]
    web_search [tool_call]
    lookup_order [tool_call]
Explode [function]
Wait [function]
Stack.Push [function]
Stack.Push [function]
Stack.Pop [function]
Sum [function]
serve_order [entry_point]
  lookup_order [tool_call]
login [function]
Templated [function]
`
	if got := otlptest.Tree(spans); got != wantTree {
		t.Errorf("span tree:\n%s\nwant:\n%s", got, wantTree)
	}

	byName := map[string][]otlptest.Span{}
	for _, s := range spans {
		byName[s.Name] = append(byName[s.Name], s)
	}
	first := func(name string) otlptest.Span {
		t.Helper()
		if len(byName[name]) == 0 {
			t.Fatalf("no %s span", name)
		}
		return byName[name][0]
	}
	checkJSON(t, first("handle_query"), "inputs", map[string]any{"userID": "user-1", "question": "where is A-1001?"})
	checkJSON(t, first("handle_query"), "outputs", "A-1001 is shipped (2 hits)")
	checkJSON(t, first("web_search"), "inputs", map[string]any{"query": "where is A-1001?"})
	checkJSON(t, first("web_search"), "outputs", []any{"faq: where is A-1001?", "blog: where is A-1001?"})
	checkJSON(t, first("lookup_order"), "outputs", map[string]any{"id": "A-1001", "status": "shipped"})
	checkJSON(t, first("Stack.Pop"), "outputs", []any{"b", true})
	checkJSON(t, first("Sum"), "inputs", map[string]any{"xs": []any{1.0, 2.0, 3.0}})
	checkJSON(t, first("Sum"), "outputs", 6.0)

	status := func(s otlptest.Span) any { return s.Attrs["overmind.status"] }
	if got := status(first("handle_query")); got != "success" {
		t.Errorf("handle_query status %v", got)
	}
	failed := byName["lookup_order"][1]
	if status(failed) != "failed" || !strings.Contains(attr(failed, "overmind.error.message"), "order not found") {
		t.Errorf("failed lookup_order: %v", failed.Attrs)
	}
	if s := byName["research"][1]; status(s) != "failed" {
		t.Errorf("research wrapping the error: %v", s.Attrs)
	}
	if s := first("Explode"); status(s) != "failed" || attr(s, "overmind.error.type") != "panic" || attr(s, "overmind.error.message") != "boom" {
		t.Errorf("Explode: %v", s.Attrs)
	}
	if s := first("Wait"); status(s) != "cancelled" {
		t.Errorf("Wait: %v", s.Attrs)
	}
	if s := first("login"); s.Attrs["inputs"] != nil || s.Attrs["outputs"] != nil {
		t.Errorf("capture=none recorded values: %v", s.Attrs)
	}
	if s := first("lookup_order"); attr(s, "code.function.name") == "" {
		t.Errorf("no code.function.name on lookup_order: %v", s.Attrs)
	}

	if code, _, errOut := runCLI(t, "instrument", "-remove", "./..."); code != 0 {
		t.Fatalf("-remove: %s", errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "main.go")); string(got) != string(src) {
		t.Errorf("-remove did not restore the source; instrumented was:\n%s", instrumented)
	}
}

func runProgram(t *testing.T, bin string, env ...string) string {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, stderr.String())
	}
	return string(out)
}

func attr(s otlptest.Span, key string) string {
	v, _ := s.Attrs[key].(string)
	return v
}

func checkJSON(t *testing.T, s otlptest.Span, key string, want any) {
	t.Helper()
	var got any
	if err := json.Unmarshal([]byte(attr(s, key)), &got); err != nil {
		t.Errorf("%s %s = %q: %v", s.Name, key, attr(s, key), err)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s %s = %#v, want %#v", s.Name, key, got, want)
	}
}

const panicMain = `package main

import "fmt"

// Explode fails through a helper in another file, whose lines the
// generator does not move.
//
//overmind:function
func Explode(n int) int {
	if n > 0 {
		fail(n)
	}
	return n
}

func main() {
	fmt.Println("start")
	Explode(1)
}
`

const panicFail = `package main

import "fmt"

func fail(n int) {
	panic(fmt.Sprintf("boom %d", n))
}
`

// TestPanicWithoutInit checks that with tracing off (no Init) a panic
// through an instrumented function is untouched: the program prints the
// same panic message, with the same frames, the top one at the same
// file:line, as the uninstrumented build. Crash reports group by these.
func TestPanicWithoutInit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	files := map[string]string{"main.go": panicMain, "fail.go": panicFail}
	dir := module(t, files)
	bin := t.TempDir()
	// The plain build first, from the same directory, so that both
	// programs name their files alike.
	gentest.Go(t, dir, "build", "-o", filepath.Join(bin, "plain"), ".")
	if code, _, errOut := runCLI(t, "instrument", "./..."); code != 0 {
		t.Fatalf("instrument: code %d\n%s", code, errOut)
	}
	if !strings.Contains(read(t, filepath.Join(dir, "main.go")), "overmind.Enter(") {
		t.Fatal("main.go was not instrumented")
	}
	gentest.Go(t, dir, "build", "-o", filepath.Join(bin, "instrumented"), ".")
	plainMsg, plainFrames := crash(t, filepath.Join(bin, "plain"))
	instMsg, instFrames := crash(t, filepath.Join(bin, "instrumented"))
	if instMsg != plainMsg {
		t.Errorf("the instrumented program panics with\n%s\nthe plain one with\n%s", instMsg, plainMsg)
	}
	if top, want := topFrame(instFrames), topFrame(plainFrames); top != want {
		t.Errorf("top frame %+v, want %+v", top, want)
	}
	if got, want := frameFuncs(instFrames), frameFuncs(plainFrames); !reflect.DeepEqual(got, want) {
		t.Errorf("the instrumented program's stack is\n%s\nthe plain one's\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// frame is one frame of a goroutine traceback, without arguments and
// program counter offsets.
type frame struct{ fn, loc string }

// crash runs a program that must die of a panic and returns the panic's
// message (what precedes the traceback) and the panicking goroutine's
// frames.
func crash(t *testing.T, bin string) (msg string, frames []frame) {
	t.Helper()
	cmd := exec.Command(bin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatalf("%s did not fail", bin)
	}
	head, trace, ok := strings.Cut(stderr.String(), "\ngoroutine ")
	if !ok {
		t.Fatalf("%s: no traceback:\n%s", bin, stderr.String())
	}
	lines := strings.Split(trace, "\n")[1:] // after "1 [running]:"
	for i := 0; i+1 < len(lines) && lines[i] != ""; i += 2 {
		fn := lines[i]
		if j := strings.LastIndexByte(fn, '('); j > 0 {
			fn = fn[:j]
		}
		loc, _, _ := strings.Cut(strings.TrimSpace(lines[i+1]), " +0x")
		frames = append(frames, frame{fn, loc})
	}
	if len(frames) == 0 {
		t.Fatalf("%s: no frames:\n%s", bin, stderr.String())
	}
	return head, frames
}

// topFrame is the first frame outside the Go runtime's panic machinery:
// the function that panicked.
func topFrame(frames []frame) frame {
	for _, f := range frames {
		if f.fn != "panic" && !strings.HasPrefix(f.fn, "runtime.") {
			return f
		}
	}
	return frame{}
}

func frameFuncs(frames []frame) []string {
	var out []string
	for _, f := range frames {
		out = append(out, f.fn)
	}
	return out
}
