package overmind

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/overmind-core/overmind-go/runtime/internal/gls"
)

// parentName returns the name of s's parent among spans, or "" for a
// root.
func parentName(t *testing.T, spans map[string]spanView, name string) string {
	t.Helper()
	s, ok := spans[name]
	if !ok {
		t.Fatalf("no span %q", name)
	}
	for other, o := range spans {
		if o.id == s.parent {
			return other
		}
	}
	return ""
}

type spanView struct{ id, parent string }

func viewSpans(t *testing.T, rec *tracetest.SpanRecorder) map[string]spanView {
	t.Helper()
	out := map[string]spanView{}
	for _, s := range rec.Ended() {
		out[s.Name()] = spanView{id: s.SpanContext().SpanID().String(), parent: s.Parent().SpanID().String()}
	}
	return out
}

// traced is an instrumented function whose span is named name.
func traced(name string) {
	om := Enter(SpanTypeFunction, name, "p."+name, nil)
	if om != nil {
		defer func() { om.Exit(recover(), nil, nil) }()
	}
}

func TestForkAdopt(t *testing.T) {
	rec := recordForTest(t, Config{})
	var wg sync.WaitGroup
	func() {
		om := Enter(SpanTypeWorkflow, "parent", "p.parent", nil)
		if om != nil {
			defer func() { om.Exit(recover(), nil, nil) }()
		}
		h := Fork()
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.Adopt()
			webSearch("in goroutine")
		}()
		wg.Wait()
	}()
	spans := viewSpans(t, rec)
	if got := parentName(t, spans, "web_search"); got != "parent" {
		t.Errorf("web_search's parent = %q, want parent", got)
	}
}

// TestAdoptAfterParentEnded: a goroutine that runs after the function
// that started it returned stays in its trace, as an asyncio task does.
func TestAdoptAfterParentEnded(t *testing.T) {
	if !gls.DetectsReuse() {
		t.Skip("without goroutine reuse detection an adopted span lives only while it records")
	}
	rec := recordForTest(t, Config{})
	start := make(chan struct{})
	done := make(chan struct{})
	func() {
		om := Enter(SpanTypeWorkflow, "parent", "p.parent", nil)
		if om != nil {
			defer func() { om.Exit(recover(), nil, nil) }()
		}
		h := Fork()
		go func() {
			h.Adopt()
			<-start
			webSearch("late")
			close(done)
		}()
	}()
	close(start) // the parent has ended
	<-done
	if got := parentName(t, viewSpans(t, rec), "web_search"); got != "parent" {
		t.Errorf("web_search's parent = %q, want parent", got)
	}
}

func TestGoAndWrap(t *testing.T) {
	rec := recordForTest(t, Config{})
	var wg sync.WaitGroup
	tasks := make(chan func())
	worker := make(chan struct{})
	go func() { // a pool's worker, started before any span
		for task := range tasks {
			task()
		}
		close(worker)
	}()
	var errFromWrap error
	func() {
		ctx, s := StartSpan(context.Background(), SpanTypeWorkflow, "fan_out")
		defer s.End()
		wg.Add(1)
		Go(func() { defer wg.Done(); traced("go") })
		wg.Wait()
		tasks <- Wrap(func() { traced("wrap") })
		g := WrapErr(func() error { traced("errgroup"); return errors.New("boom") })
		errFromWrap = g()
		done := make(chan struct{})
		go ForkContext(ctx).Run(func() { traced("context"); close(done) })
		<-done
	}()
	// After the wrapped task, the worker's own (empty) stack is back.
	tasks <- func() { traced("after") }
	close(tasks)
	<-worker
	if errFromWrap == nil || errFromWrap.Error() != "boom" {
		t.Errorf("WrapErr's function returned %v, want boom", errFromWrap)
	}
	spans := viewSpans(t, rec)
	for name, want := range map[string]string{
		"go":       "fan_out", // Go
		"wrap":     "fan_out", // Wrap, on the worker
		"errgroup": "fan_out", // WrapErr
		"context":  "fan_out", // ForkContext(ctx).Run
		"after":    "",        // the worker's next task: no span inherited
	} {
		if got := parentName(t, spans, name); got != want {
			t.Errorf("%s's parent = %q, want %q", name, got, want)
		}
	}
}

func TestRunRestoresOnPanic(t *testing.T) {
	rec := recordForTest(t, Config{})
	_, s := StartSpan(context.Background(), SpanTypeWorkflow, "parent")
	h := Fork()
	s.End()
	done := make(chan struct{})
	go func() {
		defer close(done)
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("recovered %v, want boom", r)
				}
			}()
			h.Run(func() { panic("boom") })
		}()
		instrumentedNoCtx("after panic") // not under parent
	}()
	<-done
	if got := parentName(t, viewSpans(t, rec), "noctx"); got != "" {
		t.Errorf("after a panic in Run, the goroutine kept the adopted span (parent %q)", got)
	}
}

func TestForkWithoutSpanOrTracing(t *testing.T) {
	resetForTest()
	fn := func() {}
	if Fork() != (Forked{}) || ForkContext(context.Background()) != (Forked{}) {
		t.Error("Fork before Init is not the zero value")
	}
	if reflect.ValueOf(Wrap(fn)).Pointer() != reflect.ValueOf(fn).Pointer() {
		t.Error("Wrap before Init did not return the function itself")
	}
	allocs := testing.AllocsPerRun(100, func() {
		h := Fork()
		h.Adopt()
		h.Run(fn)
		_ = Wrap(fn)
		_ = ForkContext(context.Background())
	})
	if allocs != 0 {
		t.Errorf("Fork, Adopt, Run, Wrap before Init: %v allocations, want 0", allocs)
	}
	initForTest(t, Config{SpanProcessors: nil, Debug: true})
	if Fork() != (Forked{}) {
		t.Error("Fork on a goroutine with no current span is not the zero value")
	}
}

// TestAdoptedLabelsOutliveTheSpan: a goroutine that runs on after the
// span it adopted has ended keeps its labels (the trace's identity), for
// spans started with and without a context.
func TestAdoptedLabelsOutliveTheSpan(t *testing.T) {
	if !gls.DetectsReuse() {
		t.Skip("without goroutine reuse detection an adopted span lives only while it records")
	}
	rec := recordForTest(t, Config{})
	_, tr := StartTrace(context.Background(), "support", TraceOptions{UserID: "cus_1"})
	h := Fork()
	tr.End()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Adopt()
		traced("without_ctx")
		_, s := StartSpan(context.Background(), SpanTypeFunction, "with_ctx")
		s.End()
	}()
	<-done
	spans := endedByName(t, rec.Ended())
	for _, name := range []string{"without_ctx", "with_ctx"} {
		wantAttr(t, spans[name], "user.id", "cus_1")
		if spans[name].SpanContext().TraceID() != spans["support"].SpanContext().TraceID() {
			t.Errorf("%s is not in the trace", name)
		}
	}
}
