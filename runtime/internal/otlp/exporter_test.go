package otlp

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/overmind-core/overmind-go/internal/otlptest"
)

// answer is one scripted response of a test server.
type answer struct {
	status      int
	header      http.Header
	contentType string
	body        []byte
}

// server is an OTLP/HTTP endpoint that answers from a script (its last
// answer repeats) and keeps each request it got.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	script   []answer
	requests []*http.Request
	bodies   [][]byte
	hang     chan struct{} // when not nil, requests wait for it to close
	arrived  chan struct{}
}

func newServer(t *testing.T, script ...answer) *server {
	t.Helper()
	s := &server{script: script, arrived: make(chan struct{}, 100)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.bodies = append(s.bodies, body)
	a := answer{status: http.StatusOK}
	if n := len(s.requests); len(s.script) > 0 {
		a = s.script[min(n, len(s.script))-1]
	}
	hang := s.hang
	s.mu.Unlock()
	s.arrived <- struct{}{}
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		return
	}
	for k, v := range a.header {
		w.Header()[k] = v
	}
	if a.contentType != "" {
		w.Header().Set("Content-Type", a.contentType)
	}
	w.WriteHeader(a.status)
	w.Write(a.body)
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// newTestExporter returns an exporter to s whose waits between attempts
// are recorded, not slept, so retry tests run at once.
func newTestExporter(t *testing.T, s *server, cfg Config) (*Exporter, *[]time.Duration) {
	t.Helper()
	cfg.URL = s.URL + "/v1/traces"
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	e.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	t.Cleanup(func() { e.Shutdown(context.Background()) })
	return e, &waits
}

func spans() []sdktrace.ReadOnlySpan { return richSpans()[:2] }

func TestExportProtobufGzip(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	e, _ := newTestExporter(t, s, Config{Gzip: true, Headers: map[string]string{"X-Api-Key": "k", "content-type": "text/plain"}, UserAgent: "overmind-go/test"})
	if err := e.ExportSpans(context.Background(), spans()); err != nil {
		t.Fatal(err)
	}
	r := s.requests[0]
	for k, want := range map[string]string{
		"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip",
		"X-Api-Key": "k", "User-Agent": "overmind-go/test",
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
		t.Errorf("%s %s", r.Method, r.URL.Path)
	}
	zr, err := gzip.NewReader(strings.NewReader(string(s.bodies[0])))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var req collectorpb.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		t.Fatal(err)
	}
	if n := len(locate(&req)); n != 2 {
		t.Fatalf("%d spans decoded, want 2", n)
	}
}

func TestExportJSON(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	e, _ := newTestExporter(t, s, Config{JSON: true})
	if err := e.ExportSpans(context.Background(), spans()); err != nil {
		t.Fatal(err)
	}
	r := s.requests[0]
	if ct, ce := r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"); ct != "application/json" || ce != "" {
		t.Errorf("Content-Type %q, Content-Encoding %q", ct, ce)
	}
	var req collectorpb.ExportTraceServiceRequest
	if err := otlptest.UnmarshalJSON(s.bodies[0], &req); err != nil {
		t.Fatal(err)
	}
	if n := len(locate(&req)); n != 2 {
		t.Fatalf("%d spans decoded, want 2", n)
	}
}

// The statuses OTLP/HTTP says to retry are retried with growing waits;
// the export succeeds when the server recovers.
func TestRetryThenSucceed(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout} {
		s := newServer(t, answer{status: status}, answer{status: status}, answer{status: status}, answer{status: http.StatusOK})
		e, waits := newTestExporter(t, s, Config{Timeout: time.Hour})
		if err := e.ExportSpans(context.Background(), spans()); err != nil {
			t.Fatalf("%d: %v", status, err)
		}
		if s.count() != 4 || len(*waits) != 3 {
			t.Fatalf("%d: %d requests, %d waits; want 4 and 3", status, s.count(), len(*waits))
		}
		// Exponential with jitter: each wait within [base/2, base].
		for i, w := range *waits {
			base := time.Second << i
			if w < base/2 || w > base {
				t.Errorf("%d: wait %d is %v, want within [%v, %v]", status, i, w, base/2, base)
			}
		}
	}
}

// A Retry-After header longer than the backoff is waited for, in seconds
// or as an HTTP date.
func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for _, header := range []string{"30", date} {
		s := newServer(t, answer{status: http.StatusTooManyRequests, header: http.Header{"Retry-After": {header}}}, answer{status: http.StatusOK})
		e, waits := newTestExporter(t, s, Config{Timeout: time.Hour})
		if err := e.ExportSpans(context.Background(), spans()); err != nil {
			t.Fatal(err)
		}
		if len(*waits) != 1 || (*waits)[0] < 29*time.Second {
			t.Errorf("Retry-After %q: waits %v", header, *waits)
		}
	}
}

// No wait may end past the export's deadline: a retry that could not
// start in time is not waited for; the export fails at once, saying why.
func TestRetryNeverOutlastsTheDeadline(t *testing.T) {
	t.Parallel()
	t.Run("Retry-After", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, answer{status: http.StatusTooManyRequests, header: http.Header{"Retry-After": {"3600"}}})
		e, waits := newTestExporter(t, s, Config{Timeout: time.Minute})
		err := e.ExportSpans(context.Background(), spans())
		if err == nil || !strings.Contains(err.Error(), "429 Too Many Requests") || !strings.Contains(err.Error(), "retry after 1h0m0s, past the export deadline") {
			t.Fatalf("err = %v", err)
		}
		if s.count() != 1 || len(*waits) != 0 {
			t.Fatalf("%d requests, waits %v: want 1 and none", s.count(), *waits)
		}
	})
	t.Run("backoff", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, answer{status: http.StatusServiceUnavailable})
		e, waits := newTestExporter(t, s, Config{Timeout: time.Hour})
		e.firstBackoff, e.maxBackoff = 3*time.Hour, 3*time.Hour
		err := e.ExportSpans(context.Background(), spans())
		if err == nil || !strings.Contains(err.Error(), "503 Service Unavailable") || !strings.Contains(err.Error(), "not retried") {
			t.Fatalf("err = %v", err)
		}
		if s.count() != 1 || len(*waits) != 0 {
			t.Fatalf("%d requests, waits %v: want 1 and none", s.count(), *waits)
		}
	})
	t.Run("caller's deadline", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, answer{status: http.StatusServiceUnavailable})
		e, waits := newTestExporter(t, s, Config{Timeout: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := e.ExportSpans(ctx, spans()); err == nil {
			t.Fatal("no error")
		}
		if len(*waits) != 0 {
			t.Fatalf("waited %v though the caller's deadline was nearer than any backoff", *waits)
		}
	})
}

// Failures other than the retryable statuses are not retried, and say
// what the server said: a google.rpc.Status in protobuf or JSON, or text.
func TestErrorsNotRetried(t *testing.T) {
	t.Parallel()
	status := protowire.AppendTag(nil, 1, protowire.VarintType)
	status = protowire.AppendVarint(status, 3)
	status = protowire.AppendTag(status, 2, protowire.BytesType)
	status = protowire.AppendString(status, "field trace_id is empty")
	for _, tc := range []struct {
		answer answer
		want   string
	}{
		{answer{status: 400, contentType: "application/x-protobuf", body: status}, "server answered 400 Bad Request: field trace_id is empty"},
		{answer{status: 401, contentType: "application/json", body: []byte(`{"code":16,"message":"invalid API key"}`)}, "server answered 401 Unauthorized: invalid API key"},
		{answer{status: 403, contentType: "application/json", body: []byte(`{"error":"key revoked","code":7}`)}, "server answered 403 Forbidden: key revoked"},
		{answer{status: 404, contentType: "text/plain; charset=utf-8", body: []byte("404 page not found\n")}, "server answered 404 Not Found: 404 page not found"},
		{answer{status: 500, contentType: "application/octet-stream", body: []byte{0, 1, 2, 0xff}}, "server answered 500 Internal Server Error"},
		{answer{status: 413, body: []byte(strings.Repeat("too large ", 100))}, "too large too large"},
	} {
		s := newServer(t, tc.answer)
		e, waits := newTestExporter(t, s, Config{})
		err := e.ExportSpans(context.Background(), spans())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d: err = %v, want %q", tc.answer.status, err, tc.want)
		}
		if err != nil && len(err.Error()) > 320 {
			t.Errorf("%d: error of %d bytes", tc.answer.status, len(err.Error()))
		}
		if s.count() != 1 || len(*waits) != 0 {
			t.Errorf("%d: %d requests, %d waits", tc.answer.status, s.count(), len(*waits))
		}
	}
}

// A partial success, as the collector encodes it, is an error naming
// the rejected spans; an empty response body or an unknown type is
// success.
func TestPartialSuccess(t *testing.T) {
	t.Parallel()
	resp := &collectorpb.ExportTraceServiceResponse{PartialSuccess: &collectorpb.ExportTracePartialSuccess{RejectedSpans: 1, ErrorMessage: "span too large"}}
	pb, err := proto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	js, err := protojson.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	warning, err := proto.Marshal(&collectorpb.ExportTraceServiceResponse{PartialSuccess: &collectorpb.ExportTracePartialSuccess{ErrorMessage: "deprecated attribute"}})
	if err != nil {
		t.Fatal(err)
	}
	empty, _ := proto.Marshal(&collectorpb.ExportTraceServiceResponse{})
	for _, tc := range []struct {
		name string
		a    answer
		want *PartialSuccess
	}{
		{"protobuf", answer{status: 200, contentType: "application/x-protobuf", body: pb}, &PartialSuccess{Rejected: 1, Message: "span too large"}},
		{"json", answer{status: 200, contentType: "application/json", body: js}, &PartialSuccess{Rejected: 1, Message: "span too large"}},
		{"json number", answer{status: 200, contentType: "application/json", body: []byte(`{"partialSuccess":{"rejectedSpans":2}}`)}, &PartialSuccess{Rejected: 2}},
		{"warning", answer{status: 200, contentType: "application/x-protobuf", body: warning}, &PartialSuccess{Message: "deprecated attribute"}},
		{"empty response", answer{status: 200, contentType: "application/x-protobuf", body: empty}, nil},
		{"no body", answer{status: 202}, nil},
		{"text", answer{status: 200, contentType: "text/plain", body: []byte("ok")}, nil},
		{"garbage", answer{status: 200, contentType: "application/x-protobuf", body: []byte{0xff, 0xff}}, nil},
	} {
		s := newServer(t, tc.a)
		e, _ := newTestExporter(t, s, Config{})
		err := e.ExportSpans(context.Background(), spans())
		var got *PartialSuccess
		if err != nil && !errors.As(err, &got) {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("%s: partial success %+v, want %+v", tc.name, got, tc.want)
		}
		if s.count() != 1 {
			t.Errorf("%s: %d requests: a partial success is not retried", tc.name, s.count())
		}
	}
}

// A server that never answers: the export ends at its timeout, saying so.
func TestExportTimeout(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.hang = make(chan struct{})
	defer close(s.hang)
	e, _ := newTestExporter(t, s, Config{Timeout: 50 * time.Millisecond})
	err := e.ExportSpans(context.Background(), spans())
	if err == nil || !strings.Contains(err.Error(), "export timeout (50ms) reached") {
		t.Fatalf("err = %v", err)
	}
}

// Shutdown ends an export in flight; later exports fail at once.
func TestShutdownEndsExports(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.hang = make(chan struct{})
	defer close(s.hang)
	e, _ := newTestExporter(t, s, Config{Timeout: time.Hour})
	done := make(chan error)
	go func() { done <- e.ExportSpans(context.Background(), spans()) }()
	<-s.arrived
	e.Shutdown(context.Background())
	if err := <-done; err == nil || !strings.Contains(err.Error(), "exporter shut down") {
		t.Fatalf("export in flight: %v", err)
	}
	if err := e.ExportSpans(context.Background(), spans()); !errors.Is(err, errShutdown) {
		t.Fatalf("export after Shutdown: %v", err)
	}
	if s.count() != 1 {
		t.Fatalf("%d requests", s.count())
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "localhost:4318", "ftp://x/v1/traces", "http:///v1/traces", "://"} {
		if _, err := New(Config{URL: u}); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}

func TestNoSpansNoRequest(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	e, _ := newTestExporter(t, s, Config{})
	if err := e.ExportSpans(context.Background(), nil); err != nil || s.count() != 0 {
		t.Fatalf("err %v, %d requests", err, s.count())
	}
}
