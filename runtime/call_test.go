package overmind

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/redact"
)

// The functions below are shaped like the code the overmind command
// generates: a prologue that opens the span and a deferred Leave.

type Order struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func lookupOrder(ctx context.Context, orderID string) (order Order, err error) {
	ctx, om := EnterContext(ctx, SpanTypeTool, "lookup_order", "example.com/shop.LookupOrder", func(in *Values) { in.Add("orderID", orderID) })
	if om != nil {
		defer om.Leave(&err, func(out *Values) { out.Add("", order) })
	}
	_ = ctx
	if orderID == "" {
		return Order{}, errors.New("empty order id")
	}
	return Order{ID: orderID, Status: "shipped"}, nil
}

// failWith returns err, or panics with p when p is not nil.
func failWith(ctx context.Context, err error, p any) (n int, e error) {
	ctx, om := EnterContext(ctx, SpanTypeFunction, "fail_with", "example.com/shop.failWith", nil)
	if om != nil {
		defer om.Leave(&e, func(out *Values) { out.Add("", n) })
	}
	_ = ctx
	if p != nil {
		panic(p)
	}
	return 1, err
}

type Cart struct{ items []string }

func (c *Cart) Add(item string, qty int) (count int, total int) {
	om := Enter(SpanTypeFunction, "Cart.Add", "example.com/shop.Cart.Add", func(in *Values) { in.Add("item", item); in.Add("qty", qty) })
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("count", count); out.Add("total", total) })
	}
	c.items = append(c.items, item)
	return len(c.items), len(c.items) * qty
}

// The guide's example, without any context: handle_request -> research
// -> web_search.
func webSearch(query string) (results []string) {
	om := Enter(SpanTypeTool, "web_search", "example.com/agent.webSearch", func(in *Values) { in.Add("query", query) })
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", results) })
	}
	return []string{"result for " + query}
}

func research(topic string) (summary string) {
	om := Enter(SpanTypeWorkflow, "research", "example.com/agent.research", func(in *Values) { in.Add("topic", topic) })
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", summary) })
	}
	return strings.Join(webSearch(topic), ";")
}

func handleRequest(topic string) (answer string) {
	om := Enter(SpanTypeEntryPoint, "handle_request", "example.com/agent.handleRequest", func(in *Values) { in.Add("topic", topic) })
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", answer) })
	}
	return research(topic)
}

// The same with contexts.
func webSearchCtx(ctx context.Context, query string) (results []string) {
	ctx, om := EnterContext(ctx, SpanTypeTool, "web_search", "example.com/agent.webSearch", func(in *Values) { in.Add("query", query) })
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", results) })
	}
	_ = ctx
	return []string{"result for " + query}
}

func researchCtx(ctx context.Context, topic string) (summary string) {
	ctx, om := EnterContext(ctx, SpanTypeWorkflow, "research", "example.com/agent.research", func(in *Values) { in.Add("topic", topic) })
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", summary) })
	}
	return strings.Join(webSearchCtx(ctx, topic), ";")
}

func handleRequestCtx(ctx context.Context, topic string) (answer string) {
	ctx, om := EnterContext(ctx, SpanTypeEntryPoint, "handle_request", "example.com/agent.handleRequest", func(in *Values) { in.Add("topic", topic) })
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", answer) })
	}
	return researchCtx(ctx, topic)
}

func attrsOf(s sdktrace.ReadOnlySpan) map[string]attribute.Value {
	m := map[string]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

func wantAttr(t *testing.T, s sdktrace.ReadOnlySpan, key string, want any) {
	t.Helper()
	v, ok := attrsOf(s)[key]
	if !ok {
		t.Errorf("span %q has no %s attribute", s.Name(), key)
		return
	}
	if got := v.AsInterface(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("span %q: %s = %v, want %v", s.Name(), key, got, want)
	}
}

func wantNoAttr(t *testing.T, s sdktrace.ReadOnlySpan, key string) {
	t.Helper()
	if v, ok := attrsOf(s)[key]; ok {
		t.Errorf("span %q: unexpected %s = %v", s.Name(), key, v.Emit())
	}
}

func onlySpan(t *testing.T, spans []sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	t.Helper()
	if len(spans) != 1 {
		t.Fatalf("%d spans ended, want 1", len(spans))
	}
	return spans[0]
}

func TestCallSuccess(t *testing.T) {
	rec := recordForTest(t, Config{})
	order, err := lookupOrder(context.Background(), "A-1001")
	if err != nil || order.ID != "A-1001" {
		t.Fatalf("lookupOrder = %v, %v", order, err)
	}
	s := onlySpan(t, rec.Ended())
	if s.Name() != "lookup_order" {
		t.Errorf("name = %q", s.Name())
	}
	wantAttr(t, s, "overmind.span.type", "tool_call")
	wantAttr(t, s, "tool.name", "lookup_order")
	wantAttr(t, s, "code.namespace", "example.com/shop")
	wantAttr(t, s, "code.function.name", "LookupOrder")
	wantAttr(t, s, "inputs", `{"orderID":"A-1001"}`)
	wantAttr(t, s, "outputs", `{"id":"A-1001","status":"shipped"}`)
	wantAttr(t, s, "overmind.status", "success")
	wantNoAttr(t, s, "overmind.error.type")
	if d := attrsOf(s)["overmind.duration.seconds"]; d.Type() != attribute.FLOAT64 || d.AsFloat64() <= 0 {
		t.Errorf("overmind.duration.seconds = %v", d.Emit())
	}
	if s.Status().Code != codes.Unset {
		t.Errorf("OTel status = %v, want Unset", s.Status())
	}
}

func TestCallMethodAndSeveralResults(t *testing.T) {
	rec := recordForTest(t, Config{})
	var c Cart
	c.Add("apple", 3)
	s := onlySpan(t, rec.Ended())
	wantAttr(t, s, "code.namespace", "example.com/shop")
	wantAttr(t, s, "code.function.name", "Cart.Add")
	wantAttr(t, s, "inputs", `{"item":"apple","qty":3}`)
	wantAttr(t, s, "outputs", `[1,3]`)
	wantAttr(t, s, "overmind.span.type", "function")
	wantNoAttr(t, s, "tool.name")
}

func TestCallError(t *testing.T) {
	rec := recordForTest(t, Config{})
	if _, err := lookupOrder(context.Background(), ""); err == nil {
		t.Fatal("no error")
	}
	s := onlySpan(t, rec.Ended())
	wantAttr(t, s, "overmind.status", "failed")
	wantAttr(t, s, "overmind.error.type", "*errors.errorString")
	wantAttr(t, s, "overmind.error.message", "empty order id")
	wantNoAttr(t, s, "outputs")
	if s.Status().Code != codes.Error || s.Status().Description != "empty order id" {
		t.Errorf("OTel status = %+v", s.Status())
	}
	if ev := s.Events(); len(ev) != 1 || ev[0].Name != "exception" {
		t.Errorf("events = %+v, want one exception", ev)
	}
}

func TestCallErrorTypeLooksThroughWrapping(t *testing.T) {
	rec := recordForTest(t, Config{})
	pathErr := &fs.PathError{Op: "open", Path: "/etc/orders", Err: fs.ErrPermission}
	failWith(context.Background(), fmt.Errorf("loading orders: %w", pathErr), nil)
	s := onlySpan(t, rec.Ended())
	wantAttr(t, s, "overmind.error.type", "*fs.PathError")
	wantAttr(t, s, "overmind.error.message", "loading orders: open /etc/orders: permission denied")
}

func TestCallErrorMessageScrubbedAndCut(t *testing.T) {
	rec := recordForTest(t, Config{})
	long := "auth failed for api_key=sk-live-0123456789abcdefghij: " + strings.Repeat("x", 3000)
	failWith(context.Background(), errors.New(long), nil)
	s := onlySpan(t, rec.Ended())
	msg := attrsOf(s)["overmind.error.message"].AsString()
	if strings.Contains(msg, "sk-live") || !strings.Contains(msg, "api_key=<redacted>") {
		t.Errorf("message not scrubbed: %.80s", msg)
	}
	if n := utf8.RuneCountInString(msg); n != redact.MaxMessageChars {
		t.Errorf("message is %d characters, want %d", n, redact.MaxMessageChars)
	}
	if s.Status().Description != msg {
		t.Error("OTel status description differs from overmind.error.message")
	}
}

func TestCallCancelled(t *testing.T) {
	rec := recordForTest(t, Config{})
	for _, err := range []error{context.Canceled, fmt.Errorf("waiting: %w", context.DeadlineExceeded)} {
		failWith(context.Background(), err, nil)
	}
	for _, s := range rec.Ended() {
		wantAttr(t, s, "overmind.status", "cancelled")
		if s.Status().Code == codes.Error {
			t.Errorf("cancelled span has OTel status Error")
		}
	}
	wantAttr(t, rec.Ended()[1], "overmind.error.type", "context.deadlineExceededError")
}

type panicValue struct{ reason string }

func TestCallPanicRecordedAndRepanicked(t *testing.T) {
	rec := recordForTest(t, Config{})
	want := &panicValue{"boom"}
	func() {
		defer func() {
			if got := recover(); got != want {
				t.Errorf("re-panicked with %v, want the original value", got)
			}
		}()
		failWith(context.Background(), nil, want)
	}()
	s := onlySpan(t, rec.Ended())
	wantAttr(t, s, "overmind.status", "failed")
	wantAttr(t, s, "overmind.error.type", "panic")
	wantAttr(t, s, "overmind.error.message", "&{boom}")
	if s.Status().Code != codes.Error {
		t.Errorf("OTel status = %v", s.Status())
	}
	ev := s.Events()
	if len(ev) != 1 || ev[0].Name != "exception" {
		t.Fatalf("events = %+v", ev)
	}
	for _, kv := range ev[0].Attributes {
		if kv.Key == "exception.stacktrace" && !strings.Contains(kv.Value.AsString(), "failWith") {
			t.Errorf("stack trace does not show the panicking function:\n%s", kv.Value.AsString())
		}
	}
}

func TestCallPanicWithError(t *testing.T) {
	rec := recordForTest(t, Config{})
	func() {
		defer func() { recover() }()
		failWith(context.Background(), nil, fmt.Errorf("password=hunter2 rejected"))
	}()
	wantAttr(t, onlySpan(t, rec.Ended()), "overmind.error.message", "password=<redacted> rejected")
}

func TestInputsOnlyCollectedWhenRecording(t *testing.T) {
	called := 0
	inputs := func(in *Values) { called++; in.Add("x", 1) }

	resetForTest()
	if _, c := EnterContext(context.Background(), SpanTypeTool, "t", "p.F", inputs); c != nil {
		t.Fatal("a Call before Init")
	}
	(*Call)(nil).Exit(nil, nil, func(*Values) { called++ })

	recordForTest(t, Config{Sampler: sdktrace.NeverSample()})
	_, c := EnterContext(context.Background(), SpanTypeTool, "t", "p.F", inputs)
	if c == nil {
		t.Fatal("no Call after Init")
	}
	c.Exit(nil, nil, func(*Values) { called++ })
	if called != 0 {
		t.Fatalf("inputs or outputs collected %d times for spans that do not record", called)
	}
}

func TestNilCallExitRepanics(t *testing.T) {
	resetForTest()
	defer func() {
		if r := recover(); r != "x" {
			t.Fatalf("recovered %v", r)
		}
	}()
	var c *Call
	c.Exit("x", nil, nil)
}

func TestEnterRequest(t *testing.T) {
	handler := func(w http.ResponseWriter, r *http.Request) {
		r, om := EnterRequest(r, SpanTypeEntryPoint, "orders_handler", "example.com/shop.ordersHandler", nil)
		if om != nil {
			defer om.Leave(nil, nil)
		}
		order, _ := lookupOrder(r.Context(), r.URL.Query().Get("id"))
		fmt.Fprint(w, order.Status)
	}

	resetForTest()
	req := httptest.NewRequest("GET", "/orders?id=A-1", nil)
	if r2, c := EnterRequest(req, SpanTypeEntryPoint, "h", "p.h", nil); r2 != req || c != nil {
		t.Fatal("EnterRequest before Init must return the request itself")
	}

	rec := recordForTest(t, Config{})
	w := httptest.NewRecorder()
	handler(w, req)
	if w.Body.String() != "shipped" {
		t.Fatalf("handler wrote %q", w.Body.String())
	}
	if r2, c := EnterRequest(nil, SpanTypeEntryPoint, "nil_request", "p.h", nil); r2 != nil || c == nil {
		t.Fatal("EnterRequest(nil) must return a nil request and a span")
	} else {
		c.Exit(nil, nil, nil)
	}
	spans := endedByName(t, rec.Ended())
	if spans["lookup_order"].Parent().SpanID() != spans["orders_handler"].SpanContext().SpanID() {
		t.Fatal("lookup_order does not nest under the handler's span")
	}
}

// tree renders the parent links of ended spans, children in start order.
func tree(spans []sdktrace.ReadOnlySpan) string {
	spans = slices.Clone(spans)
	slices.SortStableFunc(spans, func(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) })
	var b strings.Builder
	var walk func(parent trace.SpanID, depth int)
	walk = func(parent trace.SpanID, depth int) {
		for _, s := range spans {
			if s.Parent().SpanID() == parent {
				fmt.Fprintf(&b, "%s%s\n", strings.Repeat("  ", depth), s.Name())
				walk(s.SpanContext().SpanID(), depth+1)
			}
		}
	}
	walk(trace.SpanID{}, 0)
	return b.String()
}

const guideTree = "handle_request\n  research\n    web_search\n"

func TestNestingWithoutContext(t *testing.T) {
	rec := recordForTest(t, Config{})
	if got := handleRequest("go"); got != "result for go" {
		t.Fatalf("result %q", got)
	}
	if got := tree(rec.Ended()); got != guideTree {
		t.Fatalf("tree:\n%s\nwant:\n%s", got, guideTree)
	}
	spans := rec.Ended()
	for _, s := range spans[1:] {
		if s.SpanContext().TraceID() != spans[0].SpanContext().TraceID() {
			t.Fatal("spans in different traces")
		}
	}
}

func TestNestingWithContext(t *testing.T) {
	rec := recordForTest(t, Config{})
	handleRequestCtx(context.Background(), "go")
	if got := tree(rec.Ended()); got != guideTree {
		t.Fatalf("tree:\n%s\nwant:\n%s", got, guideTree)
	}
}

func TestContextSpanWinsOverGoroutineSpan(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctxA, a := StartSpan(context.Background(), SpanTypeWorkflow, "a")
	a.End()                                                        // ctxA still carries a
	_, b := StartSpan(context.Background(), SpanTypeWorkflow, "b") // the goroutine's current span
	lookupOrder(ctxA, "x")                                         // ctx carries a: a wins over b
	webSearch("y")                                                 // no ctx: under b
	b.End()
	want := "a\n  lookup_order\nb\n  web_search\n"
	if got := tree(rec.Ended()); got != want {
		t.Fatalf("tree:\n%s\nwant:\n%s", got, want)
	}
}

func TestContextWithoutSpanFallsBackToGoroutine(t *testing.T) {
	rec := recordForTest(t, Config{})
	func() {
		om := Enter(SpanTypeEntryPoint, "outer", "p.outer", nil)
		if om != nil {
			defer om.Leave(nil, nil)
		}
		lookupOrder(context.Background(), "x") // a context, but no span in it
	}()
	if got, want := tree(rec.Ended()), "outer\n  lookup_order\n"; got != want {
		t.Fatalf("tree:\n%s\nwant:\n%s", got, want)
	}
}

func TestNewGoroutineStartsWithoutCurrentSpan(t *testing.T) {
	rec := recordForTest(t, Config{})
	func() {
		om := Enter(SpanTypeEntryPoint, "outer", "p.outer", nil)
		if om != nil {
			defer om.Leave(nil, nil)
		}
		done := make(chan struct{})
		go func() { defer close(done); webSearch("in goroutine") }()
		<-done
	}()
	if got, want := tree(rec.Ended()), "outer\nweb_search\n"; got != want {
		t.Fatalf("tree:\n%s\nwant:\n%s", got, want)
	}
}

func TestConcurrentNestingStaysPerGoroutine(t *testing.T) {
	rec := recordForTest(t, Config{})
	const workers, rounds = 16, 20
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				handleRequest("q")
			}
		})
	}
	wg.Wait()
	spans := rec.Ended()
	if len(spans) != workers*rounds*3 {
		t.Fatalf("%d spans, want %d", len(spans), workers*rounds*3)
	}
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
	}
	parentName := map[string]string{"handle_request": "", "research": "handle_request", "web_search": "research"}
	for _, s := range spans {
		p, ok := byID[s.Parent().SpanID()]
		got := ""
		if ok {
			got = p.Name()
			if p.SpanContext().TraceID() != s.SpanContext().TraceID() {
				t.Fatal("child in another trace than its parent")
			}
		}
		if got != parentName[s.Name()] {
			t.Fatalf("%s has parent %q, want %q", s.Name(), got, parentName[s.Name()])
		}
	}
}

func TestStaleEntryIgnored(t *testing.T) {
	rec := recordForTest(t, Config{})
	_, s := StartSpan(context.Background(), SpanTypeFunction, "ended_behind_our_back")
	s.OTel().End() // ended through the raw API: the goroutine's stack entry is stale
	webSearch("x")
	s.End()
	for _, sp := range rec.Ended() {
		if sp.Name() == "web_search" && sp.Parent().IsValid() {
			t.Fatal("span nested under an ended span")
		}
	}
}

func TestInitConcurrentWithSpansInFlight(t *testing.T) {
	rec := recordForTest(t, Config{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					handleRequest("q")
				}
			}
		})
	}
	first := active.Load()
	for i := range 20 {
		if err := Init(Config{Debug: i%2 == 0, Providers: []string{"openai"}}); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
	if active.Load() != first {
		t.Fatal("a second Init replaced the tracing state")
	}
	if len(rec.Ended())%3 != 0 {
		t.Fatalf("%d spans: some were lost", len(rec.Ended()))
	}
}

func TestOutputsJSON(t *testing.T) {
	rec := recordForTest(t, Config{MaxAttributeBytes: 64})
	webSearch(strings.Repeat("q", 200))
	s := onlySpan(t, rec.Ended())
	in := attrsOf(s)["inputs"].AsString()
	if !strings.HasSuffix(in, "…[truncated]") || len(in) > 64+len("…[truncated]") {
		t.Fatalf("inputs not capped at 64 bytes: %q", in)
	}
	if json.Valid([]byte(in)) {
		t.Fatal("a cut value should not pass for valid JSON")
	}
}

func TestSplitFunction(t *testing.T) {
	for _, c := range []struct{ function, ns, name string }{
		{"example.com/shop.LookupOrder", "example.com/shop", "LookupOrder"},
		{"example.com/shop.Cart.Add", "example.com/shop", "Cart.Add"},
		{"main.main", "main", "main"},
		{"noPackage", "", "noPackage"},
		{"", "", ""},
		// A dot in the last element of the path is escaped as %2e, as the
		// Go toolchain names symbols, so the split is unambiguous.
		{"github.com/nats-io/nats%2ego.Connect", "github.com/nats-io/nats.go", "Connect"},
		{"gopkg.in/yaml%2ev3.Node.Decode", "gopkg.in/yaml.v3", "Node.Decode"},
		{"example.com/a%2eb%2ec.T.M", "example.com/a.b.c", "T.M"},
		{"example.com/pct%25.F", "example.com/pct%", "F"},
		{"example.com/bad%2.F", "example.com/bad%2", "F"}, // not an escape: kept
		{"example.com/end%", "", "example.com/end%"},
	} {
		ns, name := splitFunction(c.function)
		if ns != c.ns || name != c.name {
			t.Errorf("splitFunction(%q) = %q, %q; want %q, %q", c.function, ns, name, c.ns, c.name)
		}
	}
}

func TestEscapedNamespaceRecorded(t *testing.T) {
	rec := recordForTest(t, Config{})
	_, c := EnterContext(context.Background(), SpanTypeFunction, "Connect", "github.com/nats-io/nats%2ego.Connect", nil)
	c.Exit(nil, nil, nil)
	s := onlySpan(t, rec.Ended())
	wantAttr(t, s, "code.namespace", "github.com/nats-io/nats.go")
	wantAttr(t, s, "code.function.name", "Connect")
}

// brokenCtx implements context.Context by embedding one; its zero value,
// and a nil *brokenCtx, panic in every method.
type brokenCtx struct{ context.Context }

// Shaped like generated code for parameters of a type that only
// implements context.Context: passed as the parent, not reassigned.
func withBrokenValue(c brokenCtx, n int) (_omr0 int) {
	_, om := EnterContext(c, SpanTypeFunction, "with_broken_value", "example.com/p.withBrokenValue", func(in *Values) { in.Add("n", n) })
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", _omr0) })
	}
	return n + 1
}

func withBrokenPointer(c *brokenCtx, n int) (_omr0 int) {
	_, om := EnterContext(c, SpanTypeFunction, "with_broken_pointer", "example.com/p.withBrokenPointer", func(in *Values) { in.Add("n", n) })
	if om != nil {
		defer om.Leave(nil, func(out *Values) { out.Add("", _omr0) })
	}
	return n + 2
}

func TestContextWhoseValuePanics(t *testing.T) {
	rec := recordForTest(t, Config{})
	var gotCtx context.Context
	func() {
		om := Enter(SpanTypeEntryPoint, "outer", "p.outer", nil)
		if om != nil {
			defer om.Leave(nil, nil)
		}
		if got := withBrokenValue(brokenCtx{}, 1); got != 2 {
			t.Errorf("withBrokenValue = %d", got)
		}
		if got := withBrokenPointer(nil, 1); got != 3 {
			t.Errorf("withBrokenPointer = %d", got)
		}
		// A context.Context parameter holding a broken context is given
		// back unchanged, so the function behaves as it would without
		// instrumentation.
		var broken context.Context = brokenCtx{}
		ctx, c := EnterContext(broken, SpanTypeTool, "ctx_param", "p.ctxParam", nil)
		gotCtx = ctx
		c.Exit(nil, nil, nil)
		// The helpers fall back to the goroutine's span.
		SetTag(broken, "tag", "on outer")
		CaptureException(brokenCtx{}, errors.New("handled"))
		SetUser(broken, User{ID: "u1"})
		_, raw := Tracer().Start(broken, "raw")
		raw.End()
		_, s := StartSpan((*brokenCtx)(nil), SpanTypeFunction, "block")
		s.End()
	}()
	if gotCtx != (brokenCtx{}) {
		t.Errorf("EnterContext replaced a broken context with %T", gotCtx)
	}
	if got, want := tree(rec.Ended()), "outer\n  with_broken_value\n  with_broken_pointer\n  ctx_param\n  raw\n  block\n"; got != want {
		t.Fatalf("tree:\n%s\nwant:\n%s", got, want)
	}
	outer := endedByName(t, rec.Ended())["outer"]
	wantAttr(t, outer, "tag", "on outer")
	wantAttr(t, outer, "overmind.status", "failed")
	wantAttr(t, outer, "user.id", "u1")
}

func TestNilContextGivenBack(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx, c := EnterContext(nil, SpanTypeTool, "nil_ctx", "p.nilCtx", nil) //nolint:staticcheck // a nil context is tolerated
	if ctx != nil {
		t.Errorf("EnterContext(nil) returned %v: a nil context must stay nil, as the function would see it", ctx)
	}
	if c == nil {
		t.Fatal("no span for a nil context")
	}
	webSearch("below") // nests through the goroutine
	c.Exit(nil, nil, nil)
	if got, want := tree(rec.Ended()), "nil_ctx\n  web_search\n"; got != want {
		t.Fatalf("tree:\n%s\nwant:\n%s", got, want)
	}
}

func TestEnterRequestNotRecording(t *testing.T) {
	recordForTest(t, Config{Sampler: sdktrace.NeverSample()})
	req := httptest.NewRequest("GET", "/", nil)
	r2, c := EnterRequest(req, SpanTypeEntryPoint, "h", "p.h", nil)
	if c == nil {
		t.Fatal("tracing is on: want a *Call even for a span that does not record")
	}
	defer c.Exit(nil, nil, nil)
	if r2 != req {
		t.Fatal("want the request itself")
	}
	if got := trace.SpanContextFromContext(r2.Context()); !got.Equal(c.span.SpanContext()) {
		t.Fatal("the request's context does not carry the span")
	}
}

// A span left open on a goroutine that has exited (End forgotten, a return
// that skips it, a panic recovered higher up) must not become the parent of
// later goroutines that run on the same g structure.
func TestSpanLeftOpenOnExitedGoroutine(t *testing.T) {
	rec := recordForTest(t, Config{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		StartSpan(context.Background(), SpanTypeWorkflow, "never_ended")
	}()
	<-done
	const fresh = 200
	for range fresh {
		done := make(chan struct{})
		go func() { defer close(done); handleRequest("q") }()
		<-done
	}
	spans := rec.Ended()
	if len(spans) != 3*fresh {
		t.Fatalf("%d spans ended, want %d", len(spans), 3*fresh)
	}
	for _, s := range spans {
		if s.Name() == "handle_request" && s.Parent().IsValid() {
			t.Fatalf("handle_request nested under a span of an exited goroutine")
		}
	}
}

// Shutdown forgets the spans still open, so that after a later Init they
// are nobody's parent.
func TestShutdownForgetsOpenSpans(t *testing.T) {
	recordForTest(t, Config{})
	StartSpan(context.Background(), SpanTypeWorkflow, "open_at_shutdown") // on this goroutine, never ended
	shutdownForTest(t)
	if n := calls.Len(); n != 0 {
		t.Fatalf("%d goroutine stacks survive Shutdown", n)
	}
	rec := tracetest.NewSpanRecorder()
	if err := Init(Config{SpanProcessors: []sdktrace.SpanProcessor{rec}}); err != nil {
		t.Fatal(err)
	}
	webSearch("after")
	if s := onlySpan(t, rec.Ended()); s.Parent().IsValid() {
		t.Fatal("a span after Shutdown and Init nested under one opened before")
	}
}
