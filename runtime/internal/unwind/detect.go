package unwind

import (
	"runtime"
	"unsafe"

	"github.com/overmind-core/overmind-go/runtime/internal/gls"
)

// detect learns the runtime's entries and offsets, then returns the
// highest level at which every case of the check gives the right answer.
func detect() Support {
	if !learnEntries() {
		return None
	}
	level := Reasons
	if learnArgOffset() {
		level = Values
	}
	for ; level > None; level-- {
		if passes(level) {
			return level
		}
	}
	return None
}

// sentinel is a panic value no other code has: a pointer to a variable of
// the package's own type.
type sentinel struct{ _ byte }

// eface is the layout of an interface value with no methods.
type eface struct{ typ, data unsafe.Pointer }

// observation is what a deferred function saw: the return address of the
// frame that called it, the goroutine's panic record (nil when absent or
// unavailable), and where in that record the expected panic value sits.
type observation struct {
	pc  uintptr
	rec unsafe.Pointer
	// recOK is false when the word read as g._panic does not look like a
	// pointer into the goroutine's own stack, where the runtime keeps its
	// panic records.
	recOK bool
	// offsets holds bit i when word i of the record holds want.
	offsets uint32
}

// observe records what the deferred function it is sees, and looks for
// want in the panic record while the record is alive. It must be
// deferred directly, like the functions that call Of: look and lookAt
// have Of's and of's depth.
func observe(o *observation, want any) {
	*o = look()
	if o.rec != nil && want != nil {
		o.offsets = offsetsHolding(o.rec, want)
	}
	o.rec = nil // the record dies with the panic: keep only what was read
}

func look() observation { return lookAt() }

func lookAt() observation {
	o := observation{pc: callerPC()}
	o.rec, o.recOK = guardedPanicRecord()
	return o
}

// guardedPanicRecord reads g._panic, but only trusts it when the g
// structure's stack bounds (its first two words) enclose the caller's
// own frame and the word read is nil or points into that stack: a layout
// where these words mean something else is caught here, before anything
// is dereferenced.
func guardedPanicRecord() (unsafe.Pointer, bool) {
	g := gls.G()
	if g == nil {
		return nil, false
	}
	var local byte
	here := uintptr(unsafe.Pointer(&local))
	lo, hi := *(*uintptr)(g), *(*uintptr)(unsafe.Add(g, unsafe.Sizeof(uintptr(0))))
	if lo >= hi || here < lo || here >= hi {
		return nil, false
	}
	rec := *(*unsafe.Pointer)(unsafe.Add(g, gPanicOffset))
	if rec == nil {
		return nil, true
	}
	if at := uintptr(rec); at < lo || at+recordScanBytes > hi {
		return nil, false
	}
	return rec, true
}

// recordScanBytes bounds the search for the panic value at the start of
// the runtime's panic record (about 100 bytes in Go 1.26, value first).
const recordScanBytes = 64

// offsetsHolding returns the word offsets among the first
// recordScanBytes of rec that hold want, as a bit set.
func offsetsHolding(rec unsafe.Pointer, want any) uint32 {
	w := *(*eface)(unsafe.Pointer(&want))
	var set uint32
	word := unsafe.Sizeof(uintptr(0))
	for i := uintptr(0); (i*word)+unsafe.Sizeof(eface{}) <= recordScanBytes; i++ {
		if *(*eface)(unsafe.Add(rec, i*word)) == w {
			set |= 1 << i
		}
	}
	return set
}

// inGoroutine runs f in a new goroutine and waits for it to end, however
// it ends (return, panic recovered inside f, or Goexit).
func inGoroutine(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

// learned holds what learnEntries saw, for learnArgOffset.
var learned struct {
	idle, panic, goexit observation
}

// learnEntries finds the functions that call deferred functions during a
// panic and during Goexit, by running one of each, and reads the panic
// record outside and inside the panic.
func learnEntries() bool {
	value := &sentinel{}
	inGoroutine(func() {
		learned.idle = look()
		defer func() { _ = recover() }()
		panicObserved(&learned.panic, value)
	})
	inGoroutine(func() { goexitObserved(&learned.goexit) })
	gopanicEntry, goexitEntry = entryOf(learned.panic.pc), entryOf(learned.goexit.pc)
	return gopanicEntry != 0 && goexitEntry != 0 && gopanicEntry != goexitEntry
}

func panicObserved(o *observation, v any) {
	defer observe(o, v)
	panic(v)
}

func goexitObserved(o *observation) {
	defer observe(o, nil)
	runtime.Goexit()
}

// learnArgOffset sets argOffset to the one word offset of the panic
// record that held the learning panic's value. It requires g._panic to
// have read as nil outside the panic and as a record inside it.
func learnArgOffset() bool {
	idle, p := learned.idle, learned.panic
	if !idle.recOK || idle.rec != nil || !p.recOK || p.offsets == 0 || p.offsets&(p.offsets-1) != 0 {
		return false
	}
	for i := uintptr(0); ; i++ {
		if p.offsets&(1<<i) != 0 {
			argOffset = i * unsafe.Sizeof(uintptr(0))
			return true
		}
	}
}

// probe is a deferred function shaped like the ones that call Of.
type probe struct {
	got Outcome
	ran bool
}

func (p *probe) deferred(level Support) {
	p.got, p.ran = probeOf(level), true
}

// probeOf is Of at a given level, with Of's depth.
func probeOf(level Support) Outcome { return of(level) }

// checkCase is one way for a function to end, run in a new goroutine,
// with the outcome its deferred probe must see.
type checkCase struct {
	run  func(level Support, p *probe)
	want Reason
	// value is the panic value expected at level Values.
	value any
}

// passes reports whether Of, at level, gives the right outcome in every
// case.
func passes(level Support) bool {
	for _, c := range checkCases() {
		var p probe
		inGoroutine(func() {
			defer func() { _ = recover() }()
			c.run(level, &p)
		})
		if !p.ran || p.got.Reason != c.want {
			return false
		}
		wantValue := level == Values && c.want == Panicking
		if p.got.HasValue != wantValue || (wantValue && p.got.Value != c.value) {
			return false
		}
	}
	return true
}

func checkCases() []checkCase {
	v1, v2 := &sentinel{}, &sentinel{}
	return []checkCase{
		{run: returnOpenCoded, want: Returned},
		{run: returnHeapDefer, want: Returned},
		{run: func(l Support, p *probe) { panicOpenCoded(l, p, v1) }, want: Panicking, value: v1},
		{run: func(l Support, p *probe) { panicHeapDefer(l, p, v1) }, want: Panicking, value: v1},
		{run: func(l Support, p *probe) { returnDuringPanic(l, p, v1) }, want: Returned},
		{run: func(l Support, p *probe) { recoveredInFrame(l, p, v1) }, want: Returned},
		{run: func(l Support, p *probe) { repanicked(l, p, v1, v2) }, want: Panicking, value: v2},
		{run: goexitOpenCoded, want: Goexiting},
	}
}

// The defers below are guarded by a condition, as generated code's is,
// which still lets the compiler open-code them; a defer in a loop is
// never open-coded.

func returnOpenCoded(l Support, p *probe) {
	if p != nil {
		defer p.deferred(l)
	}
}

func returnHeapDefer(l Support, p *probe) {
	for range 1 {
		defer p.deferred(l)
	}
}

func panicOpenCoded(l Support, p *probe, v any) {
	if p != nil {
		defer p.deferred(l)
	}
	panic(v)
}

func panicHeapDefer(l Support, p *probe, v any) {
	for range 1 {
		defer p.deferred(l)
	}
	panic(v)
}

// returnDuringPanic: a function deferred by a panicking frame calls a
// function that returns normally while the panic is in flight.
func returnDuringPanic(l Support, p *probe, v any) {
	defer func() { returnOpenCoded(l, p) }()
	panic(v)
}

// recoveredInFrame: a later defer of the same frame recovers, so the
// frame returns and its earlier defer runs as for a return.
func recoveredInFrame(l Support, p *probe, v any) {
	if p != nil {
		defer p.deferred(l)
	}
	defer func() { _ = recover() }()
	panic(v)
}

// repanicked: a deferred call panics anew; the frame's earlier defer sees
// the new panic's value.
func repanicked(l Support, p *probe, v1, v2 any) {
	if p != nil {
		defer p.deferred(l)
	}
	defer func() { panic(v2) }()
	panic(v1)
}

func goexitOpenCoded(l Support, p *probe) {
	if p != nil {
		defer p.deferred(l)
	}
	runtime.Goexit()
}
