package overmind

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// boundForTest shortens the wait of Shutdown and ForceFlush when their
// context has no deadline, so that the tests of that bound are quick.
func boundForTest(t *testing.T, d time.Duration) {
	t.Helper()
	old := flushTimeout
	flushTimeout = d
	t.Cleanup(func() { flushTimeout = old })
}

// answeringBackend answers every export with status and the given headers.
func answeringBackend(t *testing.T, status int, header http.Header) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		for k, v := range header {
			w.Header()[k] = v
		}
		http.Error(w, http.StatusText(status), status)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A backend that accepts the request and never answers: ForceFlush with a
// context that has no deadline gives up at its bound and says so.
func TestForceFlushBoundedWhenBackendHangs(t *testing.T) {
	backend := newBlockingBackend()
	defer backend.Close()
	defer close(backend.release)
	boundForTest(t, 100*time.Millisecond)
	initForTest(t, Config{APIKey: "k", BaseURL: backend.URL})
	webSearch("x")

	err := ForceFlush(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ForceFlush = %v, want an error wrapping context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "not every span was delivered within 100ms") {
		t.Errorf("ForceFlush error %q does not say what was not done", err)
	}
}

// A backend that answers 503, the status the exporter retries: the retries
// stop at ForceFlush's bound, and ForceFlush reports the spans it could
// not deliver.
func TestForceFlushBoundedWhenBackendUnavailable(t *testing.T) {
	backend := answeringBackend(t, http.StatusServiceUnavailable, nil)
	boundForTest(t, 200*time.Millisecond)
	logs := initForTest(t, Config{APIKey: "k", BaseURL: backend.URL})
	webSearch("x")

	err := ForceFlush(context.Background())
	if err == nil {
		t.Fatal("ForceFlush = nil, though the backend refused every export")
	}
	// Either the exporter gave up first (its next retry would have started
	// after the bound), or the bound passed during an attempt.
	if !strings.Contains(err.Error(), "503") && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ForceFlush error %q names neither the 503 nor the deadline", err)
	}
	if err := Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if !strings.Contains(logs.String(), "1 of 1 spans not delivered") {
		t.Errorf("the undelivered span is not reported:\n%s", logs.String())
	}
}

// A backend that answers 429 with a Retry-After longer than the bound:
// waiting for it would outlast ForceFlush, so the exporter gives up at
// once and ForceFlush says why.
func TestForceFlushBoundedWhenBackendThrottles(t *testing.T) {
	backend := answeringBackend(t, http.StatusTooManyRequests, http.Header{"Retry-After": {"3600"}})
	initForTest(t, Config{APIKey: "k", BaseURL: backend.URL})
	webSearch("x")

	err := ForceFlush(context.Background())
	if err == nil || !strings.Contains(err.Error(), "Too Many Requests") {
		t.Fatalf("ForceFlush = %v, want the 429 reported", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ForceFlush waited for its deadline instead of giving up: %v", err)
	}
	if !strings.Contains(err.Error(), "1 span not delivered") {
		t.Errorf("ForceFlush error %q does not count the span", err)
	}
}

// Shutdown has the same bound, whatever the exporter's retry policy.
func TestShutdownBoundedWhenBackendUnavailable(t *testing.T) {
	backend := answeringBackend(t, http.StatusServiceUnavailable, nil)
	boundForTest(t, 200*time.Millisecond)
	logs := initForTest(t, Config{APIKey: "k", BaseURL: backend.URL})
	for range 3 {
		webSearch("x")
	}
	// The error is the deadline when the bound passed during an attempt,
	// nil when the exporter gave up first; either way Shutdown returns and
	// reports the spans.
	if err := Shutdown(context.Background()); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	if !strings.Contains(logs.String(), "3 of 3 spans not delivered") {
		t.Errorf("the undelivered spans are not reported:\n%s", logs.String())
	}
}

// A flush that delivers everything reports nothing.
func TestForceFlushDeliveredIsNil(t *testing.T) {
	backend := answeringBackend(t, http.StatusOK, nil)
	initForTest(t, Config{APIKey: "k", BaseURL: backend.URL})
	webSearch("x")
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	if _, exported, _ := sinkStats(t, sinkOvermind); exported != 1 {
		t.Fatalf("exported %d spans, want 1", exported)
	}
}
