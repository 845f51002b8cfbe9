package integration

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	overmind "github.com/overmind-core/overmind-go/runtime"
)

// testAPIKey is the API key the tests give the SDKs; no span may carry it.
const testAPIKey = "sk-test-SECRET-4f1c2a"

// rig is a fake provider: a TLS server that every request reaches whatever
// host its URL names, so that the SDKs keep their real base URLs
// (api.openai.com, api.anthropic.com, generativelanguage.googleapis.com)
// and no request leaves the machine. The spans of the test go to a
// recorder of its own.
type rig struct {
	t   testing.TB
	srv *httptest.Server
	rec *tracetest.SpanRecorder
	// base sends every request to srv; it does not capture.
	base *http.Transport

	mu       sync.Mutex
	received []received
	handler  func(w http.ResponseWriter, r *http.Request, body []byte)
}

// received is a request as the server got it.
type received struct {
	method, host, path, query string
	header                    http.Header
	body                      []byte
}

// newRig starts a rig whose server answers with handler.
func newRig(t testing.TB, handler func(w http.ResponseWriter, r *http.Request, body []byte)) *rig {
	t.Helper()
	r := &rig{t: t, handler: handler}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // clients closing connections early is the point of some tests
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	addr := r.srv.Listener.Addr().String()
	var dialer net.Dialer
	r.base = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "tcp", addr)
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}
	t.Cleanup(r.base.CloseIdleConnections)
	r.rec = spans.record(t)
	return r
}

func (r *rig) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.received = append(r.received, received{
		method: req.Method, host: req.Host, path: req.URL.Path, query: req.URL.RawQuery,
		header: req.Header.Clone(), body: body,
	})
	h := r.handler
	r.mu.Unlock()
	h(w, req, body)
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
func (r *rig) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.received...)
}

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
	spans := r.spans()
	if len(spans) != 1 {
		var names []string
		for _, s := range spans {
			names = append(names, s.Name())
		}
		r.t.Fatalf("got %d ended spans %q, want 1", len(spans), names)
	}
	return spans[0]
}

// fixture returns the contents of a file of the capture's test data, which
// the engine's own tests share.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "runtime", "internal", "llmcapture", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// replyJSON answers with a JSON body.
func replyJSON(status int, body []byte) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// replySSE answers with a server-sent event stream, flushing each event.
func replySSE(body []byte) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		for _, ev := range strings.SplitAfter(string(body), "\n\n") {
			_, _ = io.WriteString(w, ev)
			w.(http.Flusher).Flush()
		}
	}
}

// attrMap returns a span's attributes as Go values.
func attrMap(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

// jsonText is an expected attribute value that is JSON: it matches a
// string that decodes to the same value.
type jsonText string

// anyPositive matches a float64 attribute greater than zero, such as a
// duration.
type anyPositive struct{}

// checkAttrs fails unless got has exactly the attributes of want.
func checkAttrs(t testing.TB, got []attribute.KeyValue, want map[string]any) {
	t.Helper()
	g := attrMap(got)
	var problems []string
	for _, k := range sortedKeys(want) {
		w := want[k]
		v, ok := g[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("missing %s = %#v", k, w))
			continue
		}
		switch w := w.(type) {
		case jsonText:
			s, ok := v.(string)
			if !ok || !jsonEqual(s, string(w)) {
				problems = append(problems, fmt.Sprintf("%s:\n\tgot  %v\n\twant %s", k, v, w))
			}
		case anyPositive:
			f, ok := v.(float64)
			if !ok || f <= 0 {
				problems = append(problems, fmt.Sprintf("%s = %#v, want a positive float64", k, v))
			}
		default:
			if !reflect.DeepEqual(v, w) {
				problems = append(problems, fmt.Sprintf("%s = %#v, want %#v", k, v, w))
			}
		}
	}
	for _, k := range sortedKeys(g) {
		if _, ok := want[k]; !ok {
			problems = append(problems, fmt.Sprintf("unexpected %s = %#v", k, g[k]))
		}
	}
	if len(problems) > 0 {
		t.Errorf("span attributes:\n%s", strings.Join(problems, "\n"))
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func jsonEqual(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// noSecrets fails if any attribute or event of the spans holds the API key
// or an auth header value.
func noSecrets(t testing.TB, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	for _, s := range spans {
		all := append([]attribute.KeyValue(nil), s.Attributes()...)
		for _, ev := range s.Events() {
			all = append(all, ev.Attributes...)
		}
		for _, kv := range all {
			if v := kv.Value.Emit(); strings.Contains(v, testAPIKey) || strings.Contains(strings.ToLower(v), "bearer ") {
				t.Errorf("span %q attribute %s holds a secret: %s", s.Name(), kv.Key, v)
			}
		}
	}
}

// childOf fails unless s's parent is parent.
func childOf(t testing.TB, s sdktrace.ReadOnlySpan, parent trace.SpanContext) {
	t.Helper()
	if s.Parent().SpanID() != parent.SpanID() || s.SpanContext().TraceID() != parent.TraceID() {
		t.Errorf("span %q has parent %s in trace %s, want %s in %s", s.Name(), s.Parent().SpanID(), s.SpanContext().TraceID(), parent.SpanID(), parent.TraceID())
	}
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
