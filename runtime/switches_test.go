package overmind

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestSetTracingDisabled(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx := context.Background()

	lookupOrder(ctx, "A-1")
	_, open := StartSpan(ctx, SpanTypeFunction, "open_across_switch")
	SetTracingDisabled(true)
	lookupOrder(ctx, "A-2")
	if _, s := StartSpan(ctx, SpanTypeFunction, "while_off"); s != nil {
		t.Error("StartSpan returned a span while tracing is off")
	}
	if allocs := testing.AllocsPerRun(100, func() { instrumentedNoop(ctx, "A-1", 1) }); allocs != 0 {
		t.Errorf("instrumented call while tracing is off: %v allocations, want 0", allocs)
	}
	open.End() // a span open when tracing was turned off still ends and is exported
	if err := ForceFlush(ctx); err != nil {
		t.Errorf("ForceFlush while off: %v", err)
	}
	SetTracingDisabled(false)
	lookupOrder(ctx, "A-3")

	var inputs []string
	for _, s := range rec.Ended() {
		if s.Name() == "lookup_order" {
			inputs = append(inputs, attrsOf(s)["inputs"].AsString())
		}
	}
	if fmt.Sprint(inputs) != `[{"orderID":"A-1"} {"orderID":"A-3"}]` {
		t.Errorf("lookup_order spans recorded %v, want A-1 and A-3 only", inputs)
	}
	found := false
	for _, s := range rec.Ended() {
		found = found || s.Name() == "open_across_switch"
	}
	if !found {
		t.Error("the span open across the switch was not exported")
	}
}

// TestTracingDisabledOutlivesInit: an Init made while tracing is off
// leaves it off, and turning it on again finds what that Init set up.
func TestTracingDisabledOutlivesInit(t *testing.T) {
	resetForTest()
	SetTracingDisabled(true)
	rec := tracetest.NewSpanRecorder()
	initForTest(t, Config{SpanProcessors: []sdktrace.SpanProcessor{rec}})
	SetTracingDisabled(true) // initForTest reset it; set it again, then Init again
	if err := Init(Config{}); err != nil {
		t.Fatal(err)
	}
	lookupOrder(context.Background(), "off")
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans while off", n)
	}
	SetTracingDisabled(false)
	lookupOrder(context.Background(), "on")
	onlySpan(t, rec.Ended())
}

func TestSetIncludeSensitiveData(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx := context.Background()
	SetIncludeSensitiveData(false)
	lookupOrder(ctx, "secret-order")
	SetIncludeSensitiveData(true)
	lookupOrder(ctx, "A-1")

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	wantNoAttr(t, spans[0], "inputs")
	wantNoAttr(t, spans[0], "outputs")
	wantAttr(t, spans[0], "overmind.status", "success") // the rest is recorded
	wantAttr(t, spans[1], "inputs", `{"orderID":"A-1"}`)
	wantAttr(t, spans[1], "outputs", `{"id":"A-1","status":"shipped"}`)
}

// countingProcessor counts the spans that end.
type countingProcessor struct{ ended atomic.Int64 }

func (p *countingProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (p *countingProcessor) OnEnd(sdktrace.ReadOnlySpan)                     { p.ended.Add(1) }
func (p *countingProcessor) Shutdown(context.Context) error                  { return nil }
func (p *countingProcessor) ForceFlush(context.Context) error                { return nil }

func TestAddSpanProcessorAfterInit(t *testing.T) {
	first := recordForTest(t, Config{})
	second := &countingProcessor{}
	AddSpanProcessor(second)
	AddSpanProcessor(second) // once only
	AddSpanProcessor(nil)
	lookupOrder(context.Background(), "A-1")
	onlySpan(t, first.Ended())
	if n := second.ended.Load(); n != 1 {
		t.Errorf("the added processor saw %d spans, want 1", n)
	}
}

// TestAddSpanProcessorBeforeInit: a processor added before Init is
// registered by it, and turns tracing on even with nothing to export.
func TestAddSpanProcessorBeforeInit(t *testing.T) {
	resetForTest()
	rec := tracetest.NewSpanRecorder()
	AddSpanProcessor(rec)
	initKeepingPending(t, Config{}) // no key, no endpoint, no debug
	lookupOrder(context.Background(), "A-1")
	onlySpan(t, rec.Ended())
}

// TestAddSpanProcessorAfterIdleInit: an Init with nothing to export leaves
// tracing off; adding a processor then turns it on.
func TestAddSpanProcessorAfterIdleInit(t *testing.T) {
	initForTest(t, Config{})
	if active.Load() != nil {
		t.Fatal("tracing is on with nothing to see the spans")
	}
	rec := tracetest.NewSpanRecorder()
	AddSpanProcessor(rec)
	lookupOrder(context.Background(), "A-1")
	onlySpan(t, rec.Ended())
}

// initKeepingPending is initForTest without its reset, which would
// forget the processors added before Init.
func initKeepingPending(t *testing.T, cfg Config) {
	t.Helper()
	captureStderr(t)
	if err := Init(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		resetForTest()
		checkNoLeaks(t)
	})
}

func TestSetSpanProcessors(t *testing.T) {
	first := recordForTest(t, Config{})
	second, third := &countingProcessor{}, &countingProcessor{}
	AddSpanProcessor(second)
	SetSpanProcessors(third, third)
	lookupOrder(context.Background(), "A-1")
	if n := len(first.Ended()); n != 0 {
		t.Errorf("a replaced processor (from Config) saw %d spans", n)
	}
	if n := second.ended.Load(); n != 0 {
		t.Errorf("a replaced processor (added) saw %d spans", n)
	}
	if n := third.ended.Load(); n != 1 {
		t.Errorf("the new processor saw %d spans, want 1", n)
	}
	SetSpanProcessors()
	lookupOrder(context.Background(), "A-2")
	if n := third.ended.Load(); n != 1 {
		t.Errorf("after SetSpanProcessors() the removed processor saw %d spans, want still 1", n)
	}
	if active.Load() == nil {
		t.Error("removing every processor turned tracing off")
	}
}

// TestSetSpanProcessorsBeforeInit replaces the processors the next Init
// registers.
func TestSetSpanProcessorsBeforeInit(t *testing.T) {
	resetForTest()
	dropped, kept := &countingProcessor{}, &countingProcessor{}
	AddSpanProcessor(dropped)
	SetSpanProcessors(kept)
	initKeepingPending(t, Config{})
	lookupOrder(context.Background(), "A-1")
	if dropped.ended.Load() != 0 || kept.ended.Load() != 1 {
		t.Errorf("dropped saw %d, kept saw %d; want 0 and 1", dropped.ended.Load(), kept.ended.Load())
	}
}

// valueProcessor is a span processor whose type cannot be compared.
type valueProcessor struct{ names []string }

func (valueProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (valueProcessor) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (valueProcessor) Shutdown(context.Context) error                  { return nil }
func (valueProcessor) ForceFlush(context.Context) error                { return nil }

func TestSetSpanProcessorsKeepsUncomparable(t *testing.T) {
	logs := initForTest(t, Config{})
	p := &countingProcessor{}
	AddSpanProcessor(p)
	AddSpanProcessor(valueProcessor{}) // registered (by value)...
	SetSpanProcessors(p)               // ...and cannot be removed: kept, with a line on stderr
	if got := logs.String(); !containsAll(got, "cannot be removed", "valueProcessor") {
		t.Errorf("stderr = %q", got)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestSwitchesRace flips every switch while goroutines make instrumented
// calls and start spans; run with -race. Every span that ends is seen by
// the processors registered at that moment, and nothing panics.
func TestSwitchesRace(t *testing.T) {
	recordForTest(t, Config{})
	const workers, calls, flips = 4, 300, 100
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			ctx := context.Background()
			for i := range calls {
				lookupOrder(ctx, fmt.Sprint(w, i))
				_, s := StartSpan(ctx, SpanTypeFunction, "block")
				SetTag(ctx, "i", i)
				h := Fork()
				done := make(chan struct{})
				go func() { h.Adopt(); handleRequest("go"); close(done) }()
				<-done
				s.End()
			}
		})
	}
	var flippers sync.WaitGroup
	flippers.Go(func() {
		procs := []sdktrace.SpanProcessor{&countingProcessor{}, &countingProcessor{}}
		for i := 0; i < flips; i++ {
			select {
			case <-stop:
				return
			default:
			}
			SetTracingDisabled(i%3 == 0)
			SetIncludeSensitiveData(i%2 == 0)
			AddSpanProcessor(procs[i%2])
			if i%5 == 0 {
				SetSpanProcessors(procs[(i+1)%2])
			}
		}
	})
	wg.Wait()
	close(stop)
	flippers.Wait()
	SetTracingDisabled(false)
	SetIncludeSensitiveData(true)
}

// DiscardLogsForExamples sends the runtime's stderr lines (such as "spans
// are not exported") nowhere until the returned function is called, so
// that the examples, which Init and Shutdown once each, keep the test
// output readable. It exists in the test binary only.
func DiscardLogsForExamples() (restore func()) {
	stderrMu.Lock()
	old := stderr
	stderr = io.Discard
	stderrMu.Unlock()
	return func() {
		stderrMu.Lock()
		stderr = old
		stderrMu.Unlock()
	}
}
