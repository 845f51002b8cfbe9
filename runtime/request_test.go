package overmind

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The functions below are shaped like the code the overmind command
// generates for a function with an *http.Request parameter.

// requestView is what an instrumented function saw of its request.
type requestView struct {
	r    *http.Request
	span trace.SpanContext
}

// mutate is //overmind:function over
//
//	func mutate(r *http.Request) { r.Host = "changed"; r.ParseForm() }
func mutate(r *http.Request, seen *requestView) {
	r, om := EnterRequest(r, SpanTypeFunction, "mutate", "example.com/shop.mutate", nil)
	if om != nil {
		defer om.Leave(nil, nil)
	}
	*seen = requestView{r: r, span: trace.SpanContextFromContext(r.Context())}
	r.Host = "changed"
	r.ParseForm()
}

// outer calls inner with the same request, n times on this goroutine,
// then once on each of n goroutines of its own, or, interleaved, the
// same calls with each goroutine started right after a call on this one.
// It records what inner saw, then what outer sees.
func outer(r *http.Request, n int, interleaved bool, seen *[]requestView) {
	r, om := EnterRequest(r, SpanTypeEntryPoint, "outer", "example.com/shop.outer", nil)
	if om != nil {
		defer om.Leave(nil, nil)
	}
	var mu sync.Mutex
	record := func(v requestView) {
		mu.Lock()
		*seen = append(*seen, v)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	onGoroutine := func() {
		wg.Go(func() {
			var v requestView
			mutateHeader(r, &v)
			record(v)
		})
	}
	for range n {
		var v requestView
		mutateHeader(r, &v)
		record(v)
		if interleaved {
			onGoroutine()
		}
	}
	if !interleaved {
		for range n {
			onGoroutine()
		}
	}
	wg.Wait()
	record(requestView{r: r, span: trace.SpanContextFromContext(r.Context())})
}

func mutateHeader(r *http.Request, seen *requestView) {
	r, om := EnterRequest(r, SpanTypeTool, "inner", "example.com/shop.inner", nil)
	if om != nil {
		defer om.Leave(nil, nil)
	}
	*seen = requestView{r: r, span: trace.SpanContextFromContext(r.Context())}
	_ = r.Header.Get("X-Seen") // read only: the goroutines share r
}

// leave leaves the function by a panic, or by runtime.Goexit.
func leave(r *http.Request, goexit bool) {
	r, om := EnterRequest(r, SpanTypeFunction, "leave", "example.com/shop.leave", nil)
	if om != nil {
		defer om.Leave(nil, nil)
	}
	if goexit {
		runtime.Goexit()
	}
	panic("leaving " + r.URL.Path)
}

type requestKey struct{}

func newFormRequest(t *testing.T) (*http.Request, context.Context) {
	t.Helper()
	req := httptest.NewRequest("POST", "/orders?a=1", strings.NewReader(url.Values{"b": {"2"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	ctx := context.WithValue(req.Context(), requestKey{}, "caller")
	return req.WithContext(ctx), ctx
}

// The body sees the caller's request itself, carrying its span, and every
// change it makes stays; the caller gets its context back.
func TestRequestIsTheCallersRequest(t *testing.T) {
	rec := recordForTest(t, Config{})
	req, ctx := newFormRequest(t)
	var seen requestView
	mutate(req, &seen)

	if seen.r != req {
		t.Error("the body saw a copy of the request, not the caller's")
	}
	s := onlySpan(t, rec.Ended())
	if !seen.span.Equal(s.SpanContext()) {
		t.Error("the request's context in the body does not carry the function's span")
	}
	if req.Host != "changed" || req.Form.Get("b") != "2" || req.Form.Get("a") != "1" {
		t.Errorf("the body's changes did not reach the caller: Host %q, Form %v", req.Host, req.Form)
	}
	if req.Context() != ctx {
		t.Error("the caller's context was not given back")
	}
}

func TestRequestContextRestoredByPanicAndGoexit(t *testing.T) {
	rec := recordForTest(t, Config{})
	req, ctx := newFormRequest(t)
	func() {
		defer func() {
			if r := recover(); r != "leaving /orders" {
				t.Errorf("recovered %v", r)
			}
		}()
		leave(req, false)
	}()
	if req.Context() != ctx {
		t.Error("a panic left the function's context on the caller's request")
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		leave(req, true)
	}()
	<-done
	if req.Context() != ctx {
		t.Error("runtime.Goexit left the function's context on the caller's request")
	}
	if n := len(rec.Ended()); n != 2 {
		t.Errorf("%d spans ended, want 2", n)
	}
}

// Calls with the same request nest. Those on the goroutine that holds it
// carry their span in its context while they run; those on goroutines it
// starts leave it as it is, carrying the holder's span. The caller's
// context comes back at the end.
func TestRequestNestingAndGoroutines(t *testing.T) {
	rec := recordForTest(t, Config{})
	req, ctx := newFormRequest(t)
	const n = 4
	var seen []requestView
	outer(req, n, false, &seen)

	spans := endedByNameCount(t, rec.Ended(), map[string]int{"outer": 1, "inner": 2 * n})
	outerSpan := spans["outer"][0].SpanContext()
	for _, s := range spans["inner"] {
		if s.Parent().SpanID() != outerSpan.SpanID() {
			t.Errorf("inner span %v is not a child of outer", s.SpanContext().SpanID())
		}
	}
	for i, v := range seen {
		if v.r != req {
			t.Errorf("call %d saw a copy of the request", i)
		}
		ownSpan := i < n // the calls on outer's goroutine
		if got := v.span.Equal(outerSpan); got == ownSpan {
			t.Errorf("call %d: the request carries outer's span: %v, want %v", i, got, !ownSpan)
		}
	}
	// Goroutines used the request: its context may no longer be the
	// caller's value, but it answers as the caller's.
	answersAs(t, req.Context(), ctx)
	if n := heldRequestCount(req); n != 0 {
		t.Errorf("%d calls still hold the request", n)
	}
}

// Goroutines that use the request while calls on the holder's goroutine
// replace its context do not race with them (run with -race).
func TestRequestSharedWithGoroutinesNoRace(t *testing.T) {
	rec := recordForTest(t, Config{})
	req, ctx := newFormRequest(t)
	const n = 8
	var seen []requestView
	outer(req, n, true, &seen)
	spans := endedByNameCount(t, rec.Ended(), map[string]int{"outer": 1, "inner": 2 * n})
	for _, s := range spans["inner"] {
		if s.SpanContext().TraceID() != spans["outer"][0].SpanContext().TraceID() {
			t.Error("an inner span left outer's trace")
		}
	}
	answersAs(t, req.Context(), ctx)
	if heldRequestCount(req) != 0 {
		t.Error("a call still holds the request")
	}
}

// endedByNameCount groups spans by name and checks how many there are of
// each.
func endedByNameCount(t *testing.T, spans []sdktrace.ReadOnlySpan, want map[string]int) map[string][]sdktrace.ReadOnlySpan {
	t.Helper()
	m := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		m[s.Name()] = append(m[s.Name()], s)
	}
	for name, n := range want {
		if len(m[name]) != n {
			t.Fatalf("%d %s spans, want %d", len(m[name]), name, n)
		}
	}
	return m
}

func TestRequestNotRecording(t *testing.T) {
	recordForTest(t, Config{Sampler: sdktrace.NeverSample()})
	req, ctx := newFormRequest(t)
	var seen requestView
	mutate(req, &seen)
	if seen.r != req || !seen.span.IsValid() {
		t.Error("a span that does not record must still be carried by the caller's request")
	}
	if req.Context() != ctx {
		t.Error("the caller's context was not given back")
	}
}

func TestRequestBeforeInit(t *testing.T) {
	resetForTest()
	req, ctx := newFormRequest(t)
	var seen requestView
	mutate(req, &seen)
	if seen.r != req || seen.span.IsValid() || req.Context() != ctx || req.Host != "changed" {
		t.Error("before Init the request must pass through untouched")
	}
}

// answersAs checks that got, a request's context after instrumented calls
// used it, behaves as want, the caller's: same values, same span, same
// cancellation.
func answersAs(t *testing.T, got, want context.Context) {
	t.Helper()
	if got == want {
		return
	}
	if got.Value(requestKey{}) != want.Value(requestKey{}) ||
		!trace.SpanContextFromContext(got).Equal(trace.SpanContextFromContext(want)) ||
		got.Done() != want.Done() || got.Err() != want.Err() {
		t.Errorf("the request's context does not answer as the caller's: %v", got)
	}
}

// heldRequestCount is the number of calls that hold a request.
func heldRequestCount(r *http.Request) int {
	rc, ok := rawRequestContext(r).(*requestContext)
	if !ok || rc.hold.Load() == nil {
		return 0
	}
	return 1
}

var requestSink *http.Request

// BenchmarkEnterRequest compares an instrumented handler's entry and exit
// with the request kept in place against the shallow copy per call that
// EnterRequest used to make.
func BenchmarkEnterRequest(b *testing.B) {
	req := httptest.NewRequest("GET", "/orders?id=A-1", nil)
	b.Run("in-place", func(b *testing.B) {
		initBench(b)
		b.ReportAllocs()
		for b.Loop() {
			_, c := EnterRequest(req, SpanTypeEntryPoint, "h", "p.h", nil)
			c.Exit(nil, nil, nil)
		}
	})
	b.Run("copy", func(b *testing.B) {
		initBench(b)
		b.ReportAllocs()
		for b.Loop() {
			ctx, c := enter(req.Context(), SpanTypeEntryPoint, "h", "p.h", nil)
			requestSink = req.WithContext(ctx) // the handler's parameter: it escapes
			c.Exit(nil, nil, nil)
		}
	})
}
