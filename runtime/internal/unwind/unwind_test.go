package unwind

import (
	"errors"
	"runtime"
	"testing"
)

// span stands for the runtime's Call: its End is deferred directly and
// calls Of, as generated code's deferred call does.
type span struct {
	out Outcome
}

func (s *span) End(_ *error) { s.out = Of() }

func traced(s *span, f func()) (err error) {
	if s != nil {
		defer s.End(&err)
	}
	f()
	return nil
}

func tracedInLoop(s *span, f func()) {
	for range 1 {
		defer s.End(nil)
	}
	f()
}

// run calls f in a new goroutine and returns what recover gave there.
func run(f func()) (recovered any) {
	inGoroutine(func() {
		defer func() { recovered = recover() }()
		f()
	})
	return recovered
}

func TestCheckOnThisPlatform(t *testing.T) {
	got := Check()
	want := Reasons
	if runtime.Compiler == "gc" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") {
		want = Values
	}
	if got != want {
		t.Fatalf("Check() = %v, want %v", got, want)
	}
	if Check() != got || Current() != got {
		t.Fatal("Check is not stable")
	}
}

func TestOf(t *testing.T) {
	Check()
	boom := errors.New("boom")
	cases := []struct {
		name string
		run  func(*span)
		want Reason
	}{
		{"return", func(s *span) { traced(s, func() {}) }, Returned},
		{"return, defer in a loop", func(s *span) { tracedInLoop(s, func() {}) }, Returned},
		{"panic", func(s *span) { traced(s, func() { panic(boom) }) }, Panicking},
		{"panic, defer in a loop", func(s *span) { tracedInLoop(s, func() { panic(boom) }) }, Panicking},
		{"panic through an untraced frame", func(s *span) {
			traced(s, func() { func() { defer func() {}(); panic(boom) }() })
		}, Panicking},
		{"return inside a deferred call during a panic", func(s *span) {
			defer func() { traced(s, func() {}) }()
			panic("outer")
		}, Returned},
		{"recovered below", func(s *span) {
			traced(s, func() {
				defer func() { _ = recover() }()
				panic(boom)
			})
		}, Returned},
		{"Goexit", func(s *span) { traced(s, runtime.Goexit) }, Goexiting},
		{"Goexit in a deferred call during a panic", func(s *span) {
			traced(s, func() {
				defer runtime.Goexit()
				panic(boom)
			})
		}, Goexiting},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &span{}
			run(func() { c.run(s) })
			if s.out.Reason != c.want {
				t.Fatalf("reason %v, want %v", s.out.Reason, c.want)
			}
			wantValue := c.want == Panicking && Current() == Values
			if s.out.HasValue != wantValue {
				t.Fatalf("HasValue %v, want %v", s.out.HasValue, wantValue)
			}
			if wantValue && s.out.Value != boom {
				t.Fatalf("value %v, want %v", s.out.Value, boom)
			}
		})
	}
}

// TestPanicGoesOn checks that Of recovers nothing: the panic reaches the
// caller with its value.
func TestPanicGoesOn(t *testing.T) {
	Check()
	s := &span{}
	if r := run(func() { traced(s, func() { panic("boom") }) }); r != "boom" {
		t.Fatalf("recovered %v, want boom", r)
	}
	if s.out.Reason != Panicking {
		t.Fatalf("reason %v", s.out.Reason)
	}
}

func TestLevels(t *testing.T) {
	Check()
	if !passes(Reasons) {
		t.Error("the check fails at level Reasons")
	}
	if Current() == Values && !passes(Values) {
		t.Error("the check fails at level Values")
	}
	// At level None, Of reports a return whatever happened: the check
	// must fail, or detect would settle for it.
	if passes(None) {
		t.Error("the check passes at level None")
	}
	var p probe
	run(func() { panicOpenCoded(Reasons, &p, "x") })
	if p.got.Reason != Panicking || p.got.HasValue {
		t.Errorf("level Reasons: %+v", p.got)
	}
}

// TestPanicRecordReadsNilOutsidePanics guards the fast path: outside a
// panic the record must read nil, so that Of answers Returned without
// runtime.Callers.
func TestPanicRecordReadsNilOutsidePanics(t *testing.T) {
	if Check() != Values {
		t.Skip("the panic record is not read on this platform")
	}
	if rec := panicRecord(); rec != nil {
		t.Fatalf("g._panic = %p outside a panic", rec)
	}
}

func BenchmarkOfReturn(b *testing.B) {
	Check()
	s := &span{}
	for b.Loop() {
		traced(s, func() {})
	}
}
