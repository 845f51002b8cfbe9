// Package capturetest holds what the tests of the provider capture share:
// the engine's own tests (runtime/internal/llmcapture) and those of the
// integration module, which run the providers' SDKs through the runtime.
// It has a fake provider server that every request reaches whatever host
// its URL names, the providers' response fixtures, and checks of span
// attributes. It is for tests only.
package capturetest

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
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Handler answers a request whose body has been read.
type Handler = func(w http.ResponseWriter, r *http.Request, body []byte)

// Server is a fake provider: a TLS server that every request sent through
// Transport reaches, whatever host its URL names, so that the SDKs keep
// their real base URLs (api.openai.com, api.anthropic.com, ...) and no
// request leaves the machine.
type Server struct {
	*httptest.Server
	// Transport sends every request to the server; it does not capture.
	Transport *http.Transport

	mu       sync.Mutex
	received []Request
	handler  Handler
}

// Request is a request as the server got it.
type Request struct {
	Method, Host, Path, Query string
	Header                    http.Header
	Body                      []byte
}

// NewServer starts a server that answers with handler until t ends.
func NewServer(t testing.TB, handler Handler) *Server {
	t.Helper()
	s := &Server{handler: handler}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // clients closing connections early is the point of some tests
	s.StartTLS()
	t.Cleanup(s.Close)
	addr := s.Listener.Addr().String()
	var dialer net.Dialer
	s.Transport = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "tcp", addr)
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}
	t.Cleanup(s.Transport.CloseIdleConnections)
	return s
}

// Serve records a request and answers it with the server's handler; an
// HTTP server of another kind may call it too.
func (s *Server) Serve(w http.ResponseWriter, req *http.Request) { s.serve(w, req) }

func (s *Server) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.received = append(s.received, Request{
		Method: req.Method, Host: req.Host, Path: req.URL.Path, Query: req.URL.RawQuery,
		Header: req.Header.Clone(), Body: body,
	})
	h := s.handler
	s.mu.Unlock()
	h(w, req, body)
}

// Requests returns the requests the server received.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.received...)
}

// Fixture returns the contents of testdata/name: provider responses and
// streams as the providers send them.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("capturetest: no source location")
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ReplyJSON answers with a JSON body.
func ReplyJSON(status int, body []byte) Handler {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

// ReplySSE answers with a server-sent event stream, flushing each event.
func ReplySSE(body []byte) Handler {
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

// AttrMap returns attributes as Go values.
func AttrMap(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

// JSON is an expected attribute value that is JSON: it matches a string
// that decodes to the same value.
type JSON string

// AnyPositive matches a float64 attribute greater than zero, such as a
// duration.
type AnyPositive struct{}

// CheckAttrs fails unless got has exactly the attributes of want.
func CheckAttrs(t testing.TB, got []attribute.KeyValue, want map[string]any) {
	t.Helper()
	g := AttrMap(got)
	var problems []string
	for _, k := range sortedKeys(want) {
		if p := mismatch(k, g, want[k]); p != "" {
			problems = append(problems, p)
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

// mismatch describes how got's attribute k differs from w, or is empty.
func mismatch(k string, got map[string]any, w any) string {
	v, ok := got[k]
	if !ok {
		return fmt.Sprintf("missing %s = %#v", k, w)
	}
	switch w := w.(type) {
	case JSON:
		if s, ok := v.(string); !ok || !JSONEqual(s, string(w)) {
			return fmt.Sprintf("%s:\n\tgot  %v\n\twant %s", k, v, w)
		}
	case AnyPositive:
		if f, ok := v.(float64); !ok || f <= 0 {
			return fmt.Sprintf("%s = %#v, want a positive float64", k, v)
		}
	default:
		if !reflect.DeepEqual(v, w) {
			return fmt.Sprintf("%s = %#v, want %#v", k, v, w)
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// JSONEqual reports whether a and b are JSON texts of the same value.
func JSONEqual(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// NoSecrets fails if any attribute or event of the spans holds secret or
// an auth header value.
func NoSecrets(t testing.TB, spans []sdktrace.ReadOnlySpan, secret string) {
	t.Helper()
	for _, s := range spans {
		all := append([]attribute.KeyValue(nil), s.Attributes()...)
		for _, ev := range s.Events() {
			all = append(all, ev.Attributes...)
		}
		for _, kv := range all {
			if v := kv.Value.Emit(); strings.Contains(v, secret) || strings.Contains(strings.ToLower(v), "bearer ") {
				t.Errorf("span %q attribute %s holds a secret: %s", s.Name(), kv.Key, v)
			}
		}
	}
}

// Only returns the one span of spans, failing if there is not exactly one.
func Only(t testing.TB, spans []sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	t.Helper()
	if len(spans) != 1 {
		var names []string
		for _, s := range spans {
			names = append(names, s.Name())
		}
		t.Fatalf("got %d ended spans %q, want 1", len(spans), names)
	}
	return spans[0]
}

// ChildOf fails unless s's parent is parent.
func ChildOf(t testing.TB, s sdktrace.ReadOnlySpan, parent trace.SpanContext) {
	t.Helper()
	if s.Parent().SpanID() != parent.SpanID() || s.SpanContext().TraceID() != parent.TraceID() {
		t.Errorf("span %q has parent %s in trace %s, want %s in %s", s.Name(), s.Parent().SpanID(), s.SpanContext().TraceID(), parent.SpanID(), parent.TraceID())
	}
}
