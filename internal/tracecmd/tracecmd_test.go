package tracecmd

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/overmind-core/overmind-go/client"
	overmind "github.com/overmind-core/overmind-go/runtime"
	"github.com/overmind-core/overmind-go/server"
)

// childEnv makes the test binary run traced work with OVERMIND_DEBUG on
// instead of the tests (the runtime's debug tree goes to the process's
// stderr).
const childEnv = "OVERMIND_TRACECMD_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		tracedWork()
		return
	}
	os.Exit(m.Run())
}

// tracedWork records a trace with every kind of detail line: a user, a
// workflow name, inputs and outputs, tokens, a long value, an error.
func tracedWork() {
	if err := overmind.Init(overmind.Config{ServiceName: "tracecmd-test"}); err != nil {
		panic(err)
	}
	ctx := context.Background()
	ctx, om := overmind.EnterContext(ctx, overmind.SpanTypeEntryPoint, "handle_request", "example.com/agent.Handle",
		func(in *overmind.Values) { in.Add("topic", "go") })
	ctx = overmind.SetUser(ctx, overmind.User{ID: "user-7"})
	ctx = overmind.SetWorkflowName(ctx, "research")
	wctx, work := overmind.EnterContext(ctx, overmind.SpanTypeWorkflow, "research", "example.com/agent.Research", nil)
	_, tool := overmind.EnterContext(wctx, overmind.SpanTypeTool, "web_search", "example.com/agent.Search",
		func(in *overmind.Values) { in.Add("query", strings.Repeat("long query ", 30)) })
	tool.Exit(nil, errors.New("search backend returned 503"), nil)
	work.Exit(nil, nil, func(out *overmind.Values) { out.Add("", []string{"a", "b"}) })
	lctx, llm := overmind.StartSpan(ctx, overmind.SpanTypeLLM, "summarize")
	overmind.SetTag(lctx, "gen_ai.request.model", "gpt-4o")
	overmind.SetTag(lctx, "gen_ai.usage.input_tokens", 12)
	llm.End()
	om.Exit(nil, nil, func(out *overmind.Values) { out.Add("", "done") })
	overmind.Shutdown(context.Background())
}

var traceHeader = regexp.MustCompile(`overmind ─ trace ([0-9a-f]{32}) `)

// TestTraceMatchesDebugOutput: `overmind trace` prints, for a trace read
// back from overmind serve, exactly what the runtime's debug output
// printed when the program ran.
func TestTraceMatchesDebugOutput(t *testing.T) {
	s, err := server.New(server.Config{DB: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer func() { s.CloseFeeds(); hs.Close(); s.Close() }()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "OVERMIND_DEBUG=1", "OTEL_EXPORTER_OTLP_ENDPOINT="+hs.URL,
		"OVERMIND_API_KEY=", "OTEL_TRACES_EXPORTER=", "NO_COLOR=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("traced program: %v\n%s", err, stderr.String())
	}
	debug := stderr.String()
	start := strings.Index(debug, "overmind ─ trace ")
	m := traceHeader.FindStringSubmatch(debug)
	if start < 0 || m == nil {
		t.Fatalf("no debug tree in:\n%s", debug)
	}
	debug = debug[start:]
	if end := strings.Index(debug, "\n\n"); end >= 0 {
		debug = debug[:end+2]
	}

	var out, errOut bytes.Buffer
	if code := Trace(context.Background(), []string{"-url", hs.URL, m[1]}, &out, &errOut); code != 0 {
		t.Fatalf("overmind trace: exit %d: %s", code, errOut.String())
	}
	if out.String() != debug {
		t.Fatalf("overmind trace printed:\n%s\nthe debug output was:\n%s", out.String(), debug)
	}
	for _, want := range []string{"user     user-7", "workflow research", "model    gpt-4o", "tokens   12 in, - out", "…", "error    *errors.errorString: search backend returned 503"} {
		if !strings.Contains(debug, want) {
			t.Errorf("the compared tree lacks %q:\n%s", want, debug)
		}
	}

	out.Reset()
	if code := Trace(context.Background(), []string{"-json", "-url", hs.URL, m[1]}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), `{"root":{"agent":null,`) {
		t.Fatalf("overmind trace -json: exit %d: %.200s", code, out.String())
	}
	out.Reset()
	if code := Traces(context.Background(), []string{"-url", hs.URL}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), m[1]+"  handle_request  tracecmd-test") || !strings.Contains(out.String(), "success (1 failed)") {
		t.Fatalf("overmind traces: exit %d:\n%s", code, out.String())
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	s, err := server.New(server.Config{DB: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer func() { s.CloseFeeds(); hs.Close(); s.Close() }()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-url", hs.URL, "0af7651916cd43dd8448eb211c80319c"}, 1, "404 trace 0af7651916cd43dd8448eb211c80319c not found"},
		{[]string{"-url", hs.URL, "0af76519"}, 1, `400 malformed trace_id "0af76519"`},
		{[]string{"-url", "http://127.0.0.1:1", "0af7651916cd43dd8448eb211c80319c"}, 1, "connection refused"},
		{[]string{}, 2, "usage: overmind trace"},
	} {
		var out, errOut bytes.Buffer
		if code := Trace(context.Background(), tc.args, &out, &errOut); code != tc.code || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%q: exit %d, %q", tc.args, code, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := Traces(context.Background(), []string{"-url", hs.URL, "-status", "failed"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "STARTED") {
		t.Errorf("traces: %d %q %q", code, out.String(), errOut.String())
	}
	if !client.IsNotFound(&client.Error{StatusCode: 404}) {
		t.Error("IsNotFound")
	}
}
