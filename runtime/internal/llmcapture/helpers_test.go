package llmcapture

import (
	"net/http"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/internal/capturetest"
)

// testAPIKey is the API key the tests send; no span may carry it.
const testAPIKey = "sk-test-SECRET-4f1c2a"

// rig is a fake provider (capturetest.Server) and an engine that captures
// the requests sent to it, with the spans recorded in memory.
type rig struct {
	t      *testing.T
	srv    *capturetest.Server
	rec    *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	engine *Engine
}

// newRig starts a rig whose server answers with handler. opts defaults to
// all providers; deps fills in Deps after the rig's tracer is set.
func newRig(t *testing.T, handler capturetest.Handler, opts *Options, deps func(*Deps)) *rig {
	t.Helper()
	r := &rig{t: t, srv: capturetest.NewServer(t, handler)}
	var tracer trace.Tracer
	d := Deps{Tracer: func() trace.Tracer { return tracer }}
	if deps != nil {
		deps(&d)
	}
	o := Options{Providers: []string{ProviderAll}}
	if opts != nil {
		o = *opts
	}
	e, err := New(d, o)
	if err != nil {
		t.Fatal(err)
	}
	r.engine = e
	r.rec = tracetest.NewSpanRecorder()
	var proc sdktrace.SpanProcessor = r.rec
	if d.DeferAttributes {
		proc = e.Processor(r.rec)
	}
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(proc))
	tracer = r.tp.Tracer("github.com/overmind-core/overmind-go")
	return r
}

// client is an HTTP client whose transport captures through the engine.
func (r *rig) client() *http.Client {
	return &http.Client{Transport: r.engine.Transport(r.srv.Transport)}
}

// spans returns the ended spans.
func (r *rig) spans() []sdktrace.ReadOnlySpan {
	return r.rec.Ended()
}

// only returns the one ended span, failing if there is not exactly one.
func (r *rig) only() sdktrace.ReadOnlySpan {
	r.t.Helper()
	return capturetest.Only(r.t, r.spans())
}

// The shared helpers, under the names the tests use.
var (
	fixture    = capturetest.Fixture
	replyJSON  = capturetest.ReplyJSON
	replySSE   = capturetest.ReplySSE
	attrMap    = capturetest.AttrMap
	checkAttrs = capturetest.CheckAttrs
	jsonEqual  = capturetest.JSONEqual
)

type (
	jsonText    = capturetest.JSON
	anyPositive = capturetest.AnyPositive
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
