//go:build gc && (amd64 || arm64)

package gls

import (
	"sync"
	"unsafe"
)

// HidesValues reports whether [Hide] hides values from escape analysis
// here, so that what they point to may stay on the caller's stack.
const HidesValues = true

// Hide returns v, hidden from escape analysis: the compiler no longer sees
// that what v points to flows into the result, so a caller that hands the
// result to code that would make it escape (reflection, calls through
// interfaces) may still keep v's memory on its stack. It is the standard
// library's noescape, for an interface value, written in assembly so that
// no Go code (nor the race detector's instrumentation, which can move the
// stack) runs between taking the value and returning it.
//
// Hide is sound only if the code the result is handed to uses it before
// the caller returns, keeps no reference to it afterwards, stores no
// pointer to stack memory in the heap (the runtime would not update it
// when the stack moves), and hands the program's own code (methods it
// calls) nothing through which stack memory can be reached: see [OnStack].
//
//go:noescape
func Hide(v any) any

// OnStack reports whether p points into the calling goroutine's stack.
// When the stack's bounds could not be confirmed (see [StackBoundsKnown])
// it answers true for every non-nil p, the safe answer for a caller
// deciding whether memory may be handed on. p is an unsafe.Pointer, not a
// uintptr, so that it follows the stack if the stack moves before the
// bounds are read.
func OnStack(p unsafe.Pointer) bool {
	if !stackBoundsOK {
		return p != nil
	}
	lo, hi := stackBounds()
	return lo <= uintptr(p) && uintptr(p) < hi
}

// StackBoundsKnown reports whether [OnStack] knows the goroutine's stack
// bounds.
func StackBoundsKnown() bool { return stackBoundsOK }

// stackBounds returns the calling goroutine's stack, [lo, hi): the first
// two words of its g structure (the runtime's g.stack, whose offset the
// runtime's cgo support and linker depend on too). It is implemented in
// assembly, so that both are read at the same instant.
func stackBounds() (lo, hi uintptr)

var stackBoundsOK = checkStackBounds()

// checkStackBounds confirms that stackBounds reads a goroutine's stack: in
// several goroutines, one of them after its stack grew, a local variable
// lies within the bounds, which span a power of two of at least 2 KiB
// (the runtime's smallest stack).
func checkStackBounds() bool {
	ok := boundsHoldLocal()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range 4 {
		wg.Go(func() {
			good := boundsHoldLocal()
			if i == 0 {
				good = good && growStack(64)
			}
			mu.Lock()
			ok = ok && good
			mu.Unlock()
		})
	}
	wg.Wait()
	return ok
}

// boundsHoldLocal reports whether the bounds hold a local variable. p is
// a pointer, so if the stack moved before the bounds are read (under the
// race detector an instrumentation call can move it), p moved with it.
//
//go:noinline
func boundsHoldLocal() bool {
	var local [8]byte
	p := unsafe.Pointer(&local)
	lo, hi := stackBounds()
	size := hi - lo
	return size >= 2048 && size&(size-1) == 0 && lo <= uintptr(p) && uintptr(p) < hi
}

// growStack recurses with 1 KiB frames, so that the stack is copied to a
// bigger one at least once, and checks the bounds on the way back.
//
//go:noinline
func growStack(depth int) bool {
	var frame [1024]byte
	frame[depth%len(frame)] = byte(depth)
	if depth == 0 {
		return boundsHoldLocal()
	}
	return growStack(depth-1) && boundsHoldLocal() && frame[depth%len(frame)] == byte(depth)
}
