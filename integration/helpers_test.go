package integration

import (
	"net/http"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/overmind-core/overmind-go/internal/capturetest"
	overmind "github.com/overmind-core/overmind-go/runtime"
)

// testAPIKey is the API key the tests give the SDKs; no span may carry it.
const testAPIKey = "sk-test-SECRET-4f1c2a"

// rig is a fake provider (capturetest.Server) whose calls the test makes
// through the runtime's capture, with the test's spans recorded in memory.
type rig struct {
	t   testing.TB
	srv *capturetest.Server
	rec *tracetest.SpanRecorder
	// base sends every request to srv; it does not capture.
	base *http.Transport
}

// newRig starts a rig whose server answers with handler.
func newRig(t testing.TB, handler capturetest.Handler) *rig {
	t.Helper()
	srv := capturetest.NewServer(t, handler)
	return &rig{t: t, srv: srv, base: srv.Transport, rec: spans.record(t)}
}

// client is an HTTP client whose transport captures, as
// overmind.WrapTransport makes it.
func (r *rig) client() *http.Client {
	return &http.Client{Transport: overmind.WrapTransport(r.base)}
}

// plainClient is an HTTP client that does not capture.
func (r *rig) plainClient() *http.Client {
	return &http.Client{Transport: r.base}
}

// requests returns the requests the server received.
func (r *rig) requests() []capturetest.Request { return r.srv.Requests() }

// spans returns the ended spans.
func (r *rig) spans() []sdktrace.ReadOnlySpan {
	return r.rec.Ended()
}

// llm returns the ended llm_call spans.
func (r *rig) llm() []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range r.rec.Ended() {
		if attrMap(s.Attributes())["overmind.span.type"] == "llm_call" {
			out = append(out, s)
		}
	}
	return out
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
	childOf    = capturetest.ChildOf
)

type (
	jsonText    = capturetest.JSON
	anyPositive = capturetest.AnyPositive
)

// noSecrets fails if a span holds the API key or an auth header value.
func noSecrets(t testing.TB, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	capturetest.NoSecrets(t, spans, testAPIKey)
}

// checkAttrValues fails unless s has each of the JSON attributes of want.
func checkAttrValues(t testing.TB, s sdktrace.ReadOnlySpan, want map[string]string) {
	t.Helper()
	a := attrMap(s.Attributes())
	for k, w := range want {
		if got, _ := a[k].(string); !jsonEqual(got, w) {
			t.Errorf("%s:\n\tgot  %v\n\twant %s", k, a[k], w)
		}
	}
}
