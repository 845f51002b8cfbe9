package overmind

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// samePointer reports whether two func values are the same function
// value (the same closure, or the same function).
func samePointer(a, b any) bool {
	return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer()
}

// TestAdoptingOff: with tracing off, or with no current span, the
// Adopting functions return the function they are given, so that the go
// statement starts it exactly as without instrumentation; a nil function
// stays nil, so that go fails as it does for nil.
func TestAdoptingOff(t *testing.T) {
	resetForTest()
	worker := func(int, string) error { return nil }
	if got := Adopting2R1(worker); !samePointer(got, worker) {
		t.Error("before Init, Adopting2R1 did not return its function")
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = Adopting2R1(worker) }); allocs != 0 {
		t.Errorf("before Init, Adopting2R1 allocates %v times", allocs)
	}
	var nilFn func(int)
	if Adopting1(nilFn) != nil {
		t.Error("Adopting1(nil) is not nil")
	}

	recordForTest(t, Config{})
	if got := Adopting2R1(worker); !samePointer(got, worker) {
		t.Error("with no current span, Adopting2R1 did not return its function")
	}
	_, s := StartSpan(context.Background(), SpanTypeWorkflow, "parent")
	defer s.End()
	if Adopting1(nilFn) != nil {
		t.Error("in a span, Adopting1(nil) is not nil")
	}
	if got := Adopting2R1(worker); samePointer(got, worker) {
		t.Error("in a span, Adopting2R1 returned its function unwrapped")
	}
}

// TestAdoptingNests: a goroutine started through an Adopting function
// runs its function with its arguments, and the spans it opens are
// children of the span current at the go statement, for each shape of
// function: parameters, variadic parameters, results.
func TestAdoptingNests(t *testing.T) {
	rec := recordForTest(t, Config{})
	var wg sync.WaitGroup
	got := make(chan []any, 4)
	func() {
		om := Enter(SpanTypeWorkflow, "parent", "p.parent", nil)
		if om != nil {
			defer om.Leave(nil, nil)
		}
		wg.Add(4)
		go Adopting0(func() {
			defer wg.Done()
			traced("none")
			got <- nil
		})()
		go Adopting2R1(func(a int, b string) error {
			defer wg.Done()
			traced("two")
			got <- []any{a, b}
			return nil
		})(1, "b")
		go Adopting2V(func(a int, rest ...string) {
			defer wg.Done()
			traced("variadic")
			got <- []any{a, rest}
		})(2, []string{"x", "y"}...)
		go Adopting5VR2(func(a, b, c, d int, e ...int) (int, error) {
			defer wg.Done()
			traced("five")
			got <- []any{a + b + c + d, e}
			return 0, nil
		})(1, 2, 3, 4, 5, 6)
		wg.Wait()
	}()
	close(got)
	var args [][]any
	for a := range got {
		if a != nil {
			args = append(args, a)
		}
	}
	want := map[string]bool{"[1 b]": true, "[2 [x y]]": true, "[10 [5 6]]": true}
	for _, a := range args {
		if !want[fmt.Sprint(a)] {
			t.Errorf("a goroutine got %v", a)
		}
	}
	if len(args) != 3 {
		t.Errorf("%d goroutines reported arguments, want 3", len(args))
	}
	spans := viewSpans(t, rec)
	for _, name := range []string{"none", "two", "variadic", "five"} {
		if p := parentName(t, spans, name); p != "parent" {
			t.Errorf("%s's parent is %q, want parent", name, p)
		}
	}
}

type benchServer struct{ n int }

func (s *benchServer) serve(wg *sync.WaitGroup) { s.n++; wg.Done() }

func benchWorker(wg *sync.WaitGroup) { wg.Done() }

// BenchmarkGoStatement compares a go statement as the overmind command
// rewrites it with the plain one: go Adopting1(worker)(&wg) against go
// worker(&wg), and the same for a func literal and a method, before Init
// and inside a span after Init. Each op starts a goroutine and waits for
// it.
func BenchmarkGoStatement(b *testing.B) {
	var wg sync.WaitGroup
	s := &benchServer{}
	plain := func() { wg.Add(1); go benchWorker(&wg); wg.Wait() }
	rewritten := func() { wg.Add(1); go Adopting1(benchWorker)(&wg); wg.Wait() }
	plainLit := func() { wg.Add(1); go func() { wg.Done() }(); wg.Wait() }
	rewrittenLit := func() { wg.Add(1); go Adopting0(func() { wg.Done() })(); wg.Wait() }
	plainMethod := func() { wg.Add(1); go s.serve(&wg); wg.Wait() }
	rewrittenMethod := func() { wg.Add(1); go Adopting1(s.serve)(&wg); wg.Wait() }
	each := func(b *testing.B, setup func(*testing.B)) {
		for _, c := range []struct {
			name string
			op   func()
		}{
			{"plain", plain}, {"rewritten", rewritten},
			{"plain-literal", plainLit}, {"rewritten-literal", rewrittenLit},
			{"plain-method", plainMethod}, {"rewritten-method", rewrittenMethod},
		} {
			b.Run(c.name, func(b *testing.B) {
				setup(b)
				b.ReportAllocs()
				for b.Loop() {
					c.op()
				}
			})
		}
		b.Run("ratio", func(b *testing.B) { setup(b); benchRatio(b, rewritten, plain) })
		b.Run("ratio-literal", func(b *testing.B) { setup(b); benchRatio(b, rewrittenLit, plainLit) })
		b.Run("ratio-method", func(b *testing.B) { setup(b); benchRatio(b, rewrittenMethod, plainMethod) })
	}
	b.Run("before-Init", func(b *testing.B) {
		each(b, func(*testing.B) { resetForTest() })
	})
	b.Run("in-span", func(b *testing.B) {
		each(b, func(b *testing.B) {
			initBench(b)
			_, s := StartSpan(context.Background(), SpanTypeWorkflow, "parent")
			b.Cleanup(s.End)
		})
	})
}
