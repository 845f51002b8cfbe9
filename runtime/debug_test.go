package overmind

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

var durations = regexp.MustCompile(`\d+(\.\d+)?(µs|ms|s)\b`)

func normalizeTree(s string) string {
	s = durations.ReplaceAllString(s, "D")
	return regexp.MustCompile(`trace [0-9a-f]{32}`).ReplaceAllString(s, "trace T")
}

func debugAgent(ctx context.Context) {
	ctx, om := EnterContext(ctx, SpanTypeEntryPoint, "handle_request", "example.com/agent.handle", func(in *Values) { in.Add("topic", "go") })
	if om != nil {
		defer func() { om.Exit(recover(), nil, nil) }()
	}
	SetUser(ctx, User{ID: "user-123"})
	research("go")
	failWith(ctx, errors.New("search backend returned 503"), nil)
}

func TestDebugTree(t *testing.T) {
	logs := initForTest(t, Config{Debug: true})
	debugAgent(context.Background())
	got := normalizeTree(logs.String())
	want := `overmind: OVERMIND_API_KEY is not set and no OTEL_EXPORTER_OTLP_ENDPOINT is configured: spans are not exported (OVERMIND_DEBUG prints them to stderr)
overmind ─ trace T ─ 4 spans ─ D
handle_request  entry_point  D  success
│    user     user-123
│    inputs   {"topic":"go"}
├─ research  workflow  D  success
│  │    inputs   {"topic":"go"}
│  │    outputs  "result for go"
│  └─ web_search  tool_call  D  success
│          inputs   {"query":"go"}
│          outputs  ["result for go"]
└─ fail_with  function  D  failed
        error    *errors.errorString: search backend returned 503

`
	if got != want {
		t.Fatalf("debug output:\n%s\nwant:\n%s", got, want)
	}
}

func TestDebugTreeOneTraceAtATime(t *testing.T) {
	logs := initForTest(t, Config{Debug: true})
	webSearch("first")
	first := logs.String()
	if !strings.Contains(first, "web_search") {
		t.Fatal("trace not printed when its root ended")
	}
	_, outer := StartSpan(context.Background(), SpanTypeWorkflow, "outer")
	webSearch("inner")
	if logs.String() != first {
		t.Fatal("a trace was printed before its root ended")
	}
	outer.End()
	if n := strings.Count(logs.String(), "overmind ─ trace"); n != 2 {
		t.Fatalf("%d traces printed", n)
	}
}

func TestDebugTreeRemoteParentAndPartial(t *testing.T) {
	logs := initForTest(t, Config{Debug: true})
	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, Remote: true,
	})
	lookupOrder(trace.ContextWithRemoteSpanContext(context.Background(), remote), "A-1")
	if !strings.Contains(logs.String(), "lookup_order  tool_call") {
		t.Fatalf("span with a remote parent not printed:\n%s", logs.String())
	}

	_, open := StartSpan(context.Background(), SpanTypeWorkflow, "never_ended")
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := trace.ContextWithSpan(context.Background(), open.OTel())
		lookupOrder(ctx, "child") // ends while its root is still open
	}()
	<-done
	shutdownForTest(t)
	if !strings.Contains(logs.String(), "partial (its root is still open") {
		t.Fatalf("pending trace not flushed at Shutdown:\n%s", logs.String())
	}
	open.End()
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		850 * time.Microsecond:   "850µs",
		12400 * time.Microsecond: "12.4ms",
		1250 * time.Millisecond:  "1.25s",
		90 * time.Second:         "1m30s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
