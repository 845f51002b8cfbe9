package overmind

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// This file holds the test hooks: there is no exported Reset.

// resetForTest returns the package to its state before the first Init.
func resetForTest() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = Shutdown(ctx)
	initMu.Lock()
	noExportNoted = false
	paused.Store(false)
	pendingProcessors = nil
	initMu.Unlock()
	excludeData.Store(false)
	enabled.Store(0)
	prompts.reset()
	labelsUsed.Store(false)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// captureStderr sends the package's stderr output to a buffer until the
// test ends.
func captureStderr(t testing.TB) *syncBuffer {
	t.Helper()
	buf := &syncBuffer{}
	stderrMu.Lock()
	old := stderr
	stderr = buf
	stderrMu.Unlock()
	t.Cleanup(func() {
		stderrMu.Lock()
		stderr = old
		stderrMu.Unlock()
	})
	return buf
}

var _ io.Writer = (*syncBuffer)(nil)

// initForTest resets the package, calls Init(cfg) and arranges for a reset
// and a leak check when the test ends. Its stderr output is captured.
func initForTest(t testing.TB, cfg Config) *syncBuffer {
	t.Helper()
	resetForTest()
	logs := captureStderr(t)
	if err := Init(cfg); err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() {
		resetForTest()
		checkNoLeaks(t)
	})
	return logs
}

// recordForTest initialises tracing with an in-memory span recorder.
func recordForTest(t testing.TB, cfg Config) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	cfg.SpanProcessors = append(cfg.SpanProcessors, rec)
	initForTest(t, cfg)
	return rec
}

// checkNoLeaks fails t if a goroutine stack or a span's labels outlived
// the spans that created them.
func checkNoLeaks(t testing.TB) {
	t.Helper()
	if n := calls.Len(); n != 0 {
		t.Errorf("%d goroutine span stacks left behind", n)
	}
	if n := spanLabelsCount.Load(); n != 0 {
		t.Errorf("%d span label entries left behind", n)
	}
	if n := cancelledCount.Load(); n != 0 {
		t.Errorf("%d cancelled-span entries left behind", n)
	}
	if n := spanDataCount.Load(); n != 0 {
		t.Errorf("%d span data entries left behind", n)
	}
}

// sinkStats returns the counters of the sink of the given kind.
func sinkStats(t testing.TB, kind string) (ended, exported, failed int64) {
	t.Helper()
	st := active.Load()
	if st == nil {
		t.Fatal("tracing is off")
	}
	for _, sk := range st.sinks {
		if sk.kind == kind {
			return sk.stats()
		}
	}
	t.Fatalf("no %s sink", kind)
	return
}

// endedByName indexes ended spans by name; names must be unique.
func endedByName(t testing.TB, spans []sdktrace.ReadOnlySpan) map[string]sdktrace.ReadOnlySpan {
	t.Helper()
	m := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		if _, dup := m[s.Name()]; dup {
			t.Fatalf("two spans named %q", s.Name())
		}
		m[s.Name()] = s
	}
	return m
}

// TestMain clears the environment variables the package reads, so that
// the machine running the tests cannot change their outcome.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "OVERMIND_"), strings.HasPrefix(name, "OTEL_"),
			name == "ENVIRONMENT", name == "SERVICE_VERSION":
			os.Unsetenv(name)
		}
	}
	os.Exit(m.Run())
}
