package integration

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	overmind "github.com/overmind-core/overmind-go/runtime"
)

// spans receives every span of the process and hands it to the recorder
// of the test that runs: the tests share one Init, as a program does, and
// run one at a time.
var spans = &switchRecorder{}

// TestMain clears the environment variables the runtime reads, so that
// the machine running the tests cannot change their outcome, and starts
// tracing with every provider captured and the spans recorded in memory.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "OVERMIND_"), strings.HasPrefix(name, "OTEL_"), strings.HasPrefix(name, "ANTHROPIC_"),
			name == "ENVIRONMENT", name == "SERVICE_VERSION":
			os.Unsetenv(name)
		}
	}
	if err := overmind.Init(overmind.Config{ServiceName: "integration", SpanProcessors: []sdktrace.SpanProcessor{spans}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = overmind.Shutdown(context.Background())
	os.Exit(code)
}

// switchRecorder passes the spans on to the current recorder.
type switchRecorder struct {
	mu  sync.Mutex
	rec *tracetest.SpanRecorder
}

// record makes a new recorder current until t ends, once the spans of
// earlier tests have ended (a call parked for a retry ends at ForceFlush).
func (s *switchRecorder) record(t testing.TB) *tracetest.SpanRecorder {
	t.Helper()
	flush(t)
	rec := tracetest.NewSpanRecorder()
	s.set(rec)
	t.Cleanup(func() {
		flush(t)
		s.set(nil)
	})
	return rec
}

func (s *switchRecorder) set(rec *tracetest.SpanRecorder) {
	s.mu.Lock()
	s.rec = rec
	s.mu.Unlock()
}

func (s *switchRecorder) current() *tracetest.SpanRecorder {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec
}

func (s *switchRecorder) OnStart(ctx context.Context, span sdktrace.ReadWriteSpan) {
	if rec := s.current(); rec != nil {
		rec.OnStart(ctx, span)
	}
}

func (s *switchRecorder) OnEnd(span sdktrace.ReadOnlySpan) {
	if rec := s.current(); rec != nil {
		rec.OnEnd(span)
	}
}

func (s *switchRecorder) Shutdown(context.Context) error   { return nil }
func (s *switchRecorder) ForceFlush(context.Context) error { return nil }

// flush ends the calls parked for a retry and flushes the spans.
func flush(t testing.TB) {
	t.Helper()
	if err := overmind.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
}
