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

	spans := recv.WaitForSpans(18, 10*time.Second)
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
