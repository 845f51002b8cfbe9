package overmind

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func TestStartTraceIsANewRootCarryingItsIdentity(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx, outer := StartSpan(context.Background(), SpanTypeWorkflow, "outer")
	SetUser(ctx, User{ID: "outer-user"}) // a label of the outer trace

	tctx, tr := StartTrace(ctx, "support_agent", TraceOptions{
		UserID: "cus_123", SessionID: "sess-9", ConversationID: "thread_123", ExternalID: "ticket-42",
		Attributes: []attribute.KeyValue{attribute.String("tenant", "acme")},
	})
	lookupOrder(tctx, "A-1")   // below the trace through the context
	webSearch("refund policy") // and through the goroutine's current span
	tr.End()
	webSearch("after the trace") // back under outer
	outer.End()

	spans := endedByNameAll(rec.Ended())
	root := spans["support_agent"][0]
	if root.Parent().IsValid() {
		t.Errorf("the trace's root has parent %v", root.Parent().SpanID())
	}
	if root.SpanContext().TraceID() == spans["outer"][0].SpanContext().TraceID() {
		t.Error("the trace shares the outer span's trace id")
	}
	wantAttr(t, root, "overmind.span.type", "entry_point")
	if got := tr.TraceID(); got != root.SpanContext().TraceID().String() {
		t.Errorf("TraceID() = %q, want %s", got, root.SpanContext().TraceID())
	}
	below := []sdktrace.ReadOnlySpan{root, spans["lookup_order"][0], spans["web_search"][0]}
	for _, s := range below {
		if s.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Errorf("%s is not in the trace", s.Name())
		}
		for key, want := range map[string]string{
			"user.id": "cus_123", "session.id": "sess-9",
			"conversation.id": "thread_123", "gen_ai.conversation.id": "thread_123",
			"traceloop.workflow.name": "support_agent", "gen_ai.workflow.name": "support_agent",
			"overmind.trace.external_id": "ticket-42", "tenant": "acme",
		} {
			wantAttr(t, s, key, want)
		}
	}
	after := spans["web_search"][1]
	if after.Parent().SpanID() != spans["outer"][0].SpanContext().SpanID() {
		t.Error("after End, the goroutine's current span is not the outer span again")
	}
}

// endedByNameAll groups spans by name, in the order they ended.
func endedByNameAll(spans []sdktrace.ReadOnlySpan) map[string][]sdktrace.ReadOnlySpan {
	m := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		m[s.Name()] = append(m[s.Name()], s)
	}
	return m
}

func TestStartTraceLabelsFromContext(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx := SetUser(context.Background(), User{ID: "from-middleware", Email: "a@example.com"})
	ctx, first := StartTrace(ctx, "first", TraceOptions{ExternalID: "ext-1", Attributes: []attribute.KeyValue{attribute.Int("turn", 1)}})
	_, second := StartTrace(ctx, "second", TraceOptions{UserID: "override"})
	second.End()
	first.End()
	spans := endedByName(t, rec.Ended())
	wantAttr(t, spans["first"], "user.id", "from-middleware")
	wantAttr(t, spans["second"], "user.id", "override")
	wantAttr(t, spans["second"], "user.email", "a@example.com")  // the rest of the user carries over
	wantNoAttr(t, spans["second"], "overmind.trace.external_id") // the first trace's own identity does not
	wantNoAttr(t, spans["second"], "turn")
	wantAttr(t, spans["second"], "gen_ai.workflow.name", "second")
}

func TestStartTraceWithTraceID(t *testing.T) {
	rec := recordForTest(t, Config{})
	for _, c := range []struct{ in, want string }{
		{"4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"4BF92F3577B34DA6A3CE929D0E0E4736", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"trace_0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"},
		{"123e4567-e89b-12d3-a456-426614174000", "123e4567e89b12d3a456426614174000"},
	} {
		ctx, tr := StartTrace(context.Background(), "t", TraceOptions{TraceID: c.in})
		// A root started later from the trace's context gets an id of its own.
		_, other := Tracer().Start(ctx, "new_root", trace.WithNewRoot())
		other.End()
		tr.End()
		spans := endedByName(t, rec.Ended())
		if got := spans["t"].SpanContext().TraceID().String(); got != c.want {
			t.Errorf("TraceID %q: trace id %s, want %s", c.in, got, c.want)
		}
		if spans["new_root"].SpanContext().TraceID().String() == c.want {
			t.Errorf("TraceID %q: a later root span reused the requested id", c.in)
		}
		rec.Reset()
	}
}

func TestStartTraceInvalidTraceID(t *testing.T) {
	rec := recordForTest(t, Config{})
	_, tr := StartTrace(context.Background(), "t", TraceOptions{TraceID: "not-a-trace-id"})
	tr.End()
	s := onlySpan(t, rec.Ended())
	if !s.SpanContext().TraceID().IsValid() {
		t.Error("no valid trace id")
	}
	wantAttr(t, s, "overmind.trace.invalid_id", "not-a-trace-id")
}

func TestParseTraceID(t *testing.T) {
	for _, bad := range []struct{ in, want string }{
		{"", "want 32 hexadecimal digits"},
		{"00000000000000000000000000000000", "all zeros"},
		{"trace_00000000000000000000000000000000", "all zeros"},
		{"4bf92f3577b34da6a3ce929d0e0e473", "want 32"},
		{"4bf92f3577b34da6a3ce929d0e0e473g", "want 32"},
		{"123e4567-e89b-12d3-a456-42661417400z", "want 32"},
	} {
		if _, err := ParseTraceID(bad.in); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseTraceID(%q) error = %v, want %q", bad.in, err, bad.want)
		}
	}
}

// TestDisabledTraceRecordsNothing: nothing below a disabled trace starts a
// span, whichever way it is reached, and instrumented functions there
// allocate nothing.
func TestDisabledTraceRecordsNothing(t *testing.T) {
	resetCaptureForTest(t)
	srv := newProvider(t, 200, chatCompletion)
	// A sampler that ignores the parent: the disabled trace must not rely
	// on the default sampler dropping the children of an unsampled span.
	rec := recordForTest(t, Config{Sampler: sdktrace.AlwaysSample(), ProviderBaseURLs: []ProviderBaseURL{{URL: srv.URL + "/v1"}}})
	client := &http.Client{Transport: WrapTransport(nil)}

	ctx, tr := StartTrace(context.Background(), "quiet", TraceOptions{Disabled: true})
	lookupOrder(ctx, "A-1") // through the context
	handleRequest("go")     // through the goroutine
	if _, s := StartSpan(ctx, SpanTypeFunction, "block"); s != nil {
		t.Error("StartSpan returned a span in a disabled trace")
	}
	_, raw := Tracer().Start(context.Background(), "raw")
	raw.End()
	req, _ := http.NewRequest("POST", srv.URL+"/v1/chat/completions", strings.NewReader(`{"model":"m","messages":[]}`))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if allocs := testing.AllocsPerRun(100, func() { instrumentedNoop(ctx, "A-1", 1) }); allocs != 0 {
		t.Errorf("instrumented call in a disabled trace: %v allocations, want 0", allocs)
	}
	tr.End()
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if spans := rec.Ended(); len(spans) != 0 {
		t.Fatalf("%d spans recorded in a disabled trace, first %q", len(spans), spans[0].Name())
	}
	if srv.requests != 1 {
		t.Errorf("the provider got %d requests, want 1", srv.requests)
	}
	lookupOrder(context.Background(), "after") // the goroutine records again
	onlySpan(t, rec.Ended())
}

func TestStartTraceBeforeInit(t *testing.T) {
	resetForTest()
	ctx := context.Background()
	attrs := []attribute.KeyValue{attribute.String("k", "v")}
	allocs := testing.AllocsPerRun(100, func() {
		c, tr := StartTrace(ctx, "t", TraceOptions{UserID: "u", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Attributes: attrs})
		_ = tr.TraceID()
		tr.End()
		_ = c
	})
	if allocs != 0 {
		t.Errorf("StartTrace before Init: %v allocations, want 0", allocs)
	}
}
