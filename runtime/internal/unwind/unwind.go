// Package unwind tells a deferred function why the function that deferred
// it is ending: it returned, a panic is unwinding through it (and with
// which value), or runtime.Goexit is ending its goroutine. It does so
// without recovering anything, so that a panic goes on exactly as it
// would have: same value, same crash output, and the stack does not grow
// at each frame the panic passes through.
//
// # How
//
// The runtime calls deferred functions from three places: from the
// function itself (or runtime.deferreturn) when it returns, from
// runtime.gopanic when a panic unwinds through it, and from
// runtime.Goexit. [Of], called by a function deferred directly ("defer
// x.M(args)", whose compiler-made wrapper does not count as a frame),
// looks at that function's caller with runtime.Callers.
//
// runtime.Callers costs a few hundred nanoseconds, too much for every
// return. On the gc toolchain for amd64 and arm64 the package first reads
// the goroutine's innermost panic record (the runtime's g._panic): when
// there is none, which is nearly always, the function returned. When
// there is one, its first words hold the panic value.
//
// Both the offset of g._panic and the offset of the value in the record
// are checked by [Check], by real panics with a sentinel value in a new
// goroutine, before anything relies on them: a runtime whose layout
// differs is detected, never misread. [Check] then runs every case (a
// return, a panic through open-coded and heap-allocated defers, a return
// inside a deferred call during a panic, a panic recovered in the same
// frame, runtime.Goexit) through [Of] itself, and settles on the most it
// can tell correctly: [Values], [Reasons] (the panic value is not
// available) or [None] (the caller must recover to find out).
package unwind

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/overmind-core/overmind-go/runtime/internal/gls"
)

// Reason is why a function is ending.
type Reason uint8

// The reasons [Of] reports.
const (
	// Returned: the function returned, or a panic through it was
	// recovered by one of its deferred calls and it is returning.
	Returned Reason = iota
	// Panicking: a panic is unwinding through the function.
	Panicking
	// Goexiting: runtime.Goexit (t.FailNow, t.SkipNow, ...) is ending the
	// goroutine while the function runs.
	Goexiting
)

// Outcome is what [Of] reports.
type Outcome struct {
	Reason Reason
	// Value is the panic value when Reason is Panicking and HasValue.
	Value    any
	HasValue bool
}

// Support is what the package can tell on the running platform.
type Support uint32

// The levels of support, from least to most.
const (
	// None: [Of] cannot tell a panic from a return and always reports
	// Returned; a caller that must know has to recover.
	None Support = iota
	// Reasons: [Of] tells the reason, but not the panic value.
	Reasons
	// Values: [Of] tells the reason and the panic value.
	Values
)

func (s Support) String() string {
	switch s {
	case Values:
		return "values"
	case Reasons:
		return "reasons"
	}
	return "none"
}

var (
	checkOnce sync.Once
	// support is the level Check settled on. Before Check it is None.
	support atomic.Uint32

	// The entries of the runtime functions that call deferred functions
	// for a panic and for Goexit, found by Check; written once, before
	// support is stored.
	gopanicEntry, goexitEntry uintptr
	// argOffset is the offset of the panic value in the runtime's panic
	// record, found by Check.
	argOffset uintptr
)

// gPanicOffset is the offset of g._panic in the runtime's g structure:
// after the stack bounds (two words) and the two stack guards. It has not
// moved since Go 1.0 (the linker knows it); Check verifies it anyway.
const gPanicOffset = 4 * unsafe.Sizeof(uintptr(0))

// Check works out, once, what [Of] can tell on this platform, and returns
// it. It runs a few panics and a Goexit in new goroutines (tens of
// microseconds, once). [Of] reports Returned until Check has run.
func Check() Support {
	checkOnce.Do(func() { support.Store(uint32(detect())) })
	return Current()
}

// Current returns the level [Check] settled on, or None before it ran.
func Current() Support { return Support(support.Load()) }

// Of reports why the function that deferred its caller is ending. The
// caller of Of must be the deferred function itself, deferred directly
// (defer x.M(args) or defer f()), and must call Of directly: Of looks two
// frames up.
func Of() Outcome { return of(Current()) }

// of is Of at a given level. Its caller must be two frames below the
// deferred function's caller, as Of is.
func of(s Support) Outcome {
	if s == None {
		return Outcome{}
	}
	var rec unsafe.Pointer
	if s == Values {
		rec = panicRecord()
		if rec == nil {
			return Outcome{} // no panic or Goexit in flight: a return
		}
	}
	return classify(callerPC(), rec)
}

// classify turns the program counter the deferred function returns to,
// and the goroutine's panic record (nil when unknown), into an Outcome.
func classify(pc uintptr, rec unsafe.Pointer) Outcome {
	switch entryOf(pc) {
	case gopanicEntry:
		o := Outcome{Reason: Panicking}
		if rec != nil {
			o.Value, o.HasValue = *(*any)(unsafe.Add(rec, argOffset)), true
		}
		return o
	case goexitEntry:
		return Outcome{Reason: Goexiting}
	}
	return Outcome{}
}

// callerPC returns the return address four frames up from it: through
// of and Of, the address in the frame that called the deferred function.
// Wrapper frames the compiler adds for "defer x.M(args)" are not counted
// by runtime.Callers.
func callerPC() uintptr {
	var pcs [1]uintptr
	if runtime.Callers(5, pcs[:]) == 0 {
		return 0
	}
	return pcs[0]
}

// entryOf returns the entry address of the function holding return
// address pc, or 0.
func entryOf(pc uintptr) uintptr {
	if pc == 0 {
		return 0
	}
	f := runtime.FuncForPC(pc - 1)
	if f == nil {
		return 0
	}
	return f.Entry()
}

// panicRecord returns the calling goroutine's innermost panic record
// (g._panic), or nil when there is none. Only valid once Check has
// validated gPanicOffset.
func panicRecord() unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Add(gls.G(), gPanicOffset))
}

// Same reports whether a and b are the very same interface value: the
// same dynamic type and the same data word. Unlike ==, it never panics
// (on values of types that are not comparable) and calls no method; two
// equal values boxed separately are not the same.
func Same(a, b any) bool {
	return *(*eface)(unsafe.Pointer(&a)) == *(*eface)(unsafe.Pointer(&b))
}

// Limit lowers the level Of works at to at most s, until the returned
// function restores it; for tests of what callers do at lower levels.
func Limit(s Support) (restore func()) {
	was := Check()
	support.Store(uint32(min(s, was)))
	return func() { support.Store(uint32(was)) }
}
