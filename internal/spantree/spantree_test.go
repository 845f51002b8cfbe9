package spantree

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func at(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }

func sampleTrace() Trace {
	return Trace{
		ID: "4bf92f3577b34da6a3ce929d0e0e4736",
		Spans: []Span{
			// Out of order on purpose: the tree sorts by start.
			{SpanID: "c", ParentID: "b", Name: "web_search", Start: at(2), End: at(5.2), Status: StatusError,
				Attrs: map[string]string{"overmind.span.type": "tool_call", "overmind.status": "failed", "inputs": `{"query":"golang"}`,
					"overmind.error.type": "*errors.errorString", "overmind.error.message": "rate limited"}},
			{SpanID: "a", Name: "handle_request", Start: at(0), End: at(12.4),
				Attrs: map[string]string{"overmind.span.type": "entry_point", "overmind.status": "success", "user.id": "user-123"}},
			{SpanID: "b", ParentID: "a", Name: "research", Start: at(1), End: at(11.1),
				Attrs: map[string]string{"overmind.span.type": "workflow", "overmind.status": "success"}},
			{SpanID: "d", ParentID: "a", Name: "chat gpt-4o", Start: at(11.2), End: at(12.3), Status: StatusOK,
				Attrs: map[string]string{"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": "12"}},
		},
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	got := Render(sampleTrace(), false)
	want := `overmind ─ trace 4bf92f3577b34da6a3ce929d0e0e4736 ─ 4 spans ─ 12.4ms
handle_request  entry_point  12.4ms  success
│    user     user-123
├─ research  workflow  10.1ms  success
│  └─ web_search  tool_call  3.2ms  failed
│          inputs   {"query":"golang"}
│          error    *errors.errorString: rate limited
└─ chat gpt-4o  1.1ms  ok
        model    gpt-4o
        tokens   12 in, - out

`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestRenderColorOmittedPartialOrphan(t *testing.T) {
	t.Parallel()
	tr := sampleTrace()
	tr.Spans = append(tr.Spans, Span{SpanID: "e", ParentID: "gone", Name: "orphan", Start: at(20), End: at(20.5)})
	tr.Omitted, tr.Partial = 2, true
	got := Render(tr, true)
	for _, want := range []string{
		"\x1b[1movermind ─ trace 4bf92f3577b34da6a3ce929d0e0e4736 ─ 7 spans ─ 20.5ms ─ partial",
		"\x1b[31mfailed\x1b[0m",
		"\n\x1b[1morphan\x1b[0m  500µs  \x1b[2mended\x1b[0m\n", // a root: its parent is not in the trace
		"(2 more spans not shown)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%q", want, got)
		}
	}
}

func TestShorten(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", DetailLength+5)
	got := shorten(long + "\n  x")
	if n := len([]rune(got)); n != DetailLength || !strings.HasSuffix(got, "…") {
		t.Fatalf("shorten: %d runes, %q", n, got[len(got)-8:])
	}
	if got := shorten("a\n  b\tc"); got != "a b c" {
		t.Fatalf("shorten folds whitespace: %q", got)
	}
}

func TestRenderEmpty(t *testing.T) {
	t.Parallel()
	if got := Render(Trace{ID: "x"}, false); got != "overmind ─ trace x ─ 0 spans\n\n" {
		t.Fatalf("%q", got)
	}
}
