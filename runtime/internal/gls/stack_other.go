//go:build !gc || !(amd64 || arm64)

package gls

import "unsafe"

// HidesValues reports whether [Hide] hides values from escape analysis
// here: not on this toolchain or architecture, where the stack's bounds
// cannot be read.
const HidesValues = false

// Hide returns v. Here it hides nothing: a value passed through it
// escapes to the heap as the compiler decides, so no stack memory reaches
// the code it is passed to.
func Hide(v any) any { return v }

// OnStack reports whether p points into the calling goroutine's stack.
// Here no value is hidden from escape analysis, so no memory handed to the
// callers of Hide lies on the stack, and the answer is false.
func OnStack(p unsafe.Pointer) bool { return false }

// StackBoundsKnown reports whether [OnStack] knows the goroutine's stack
// bounds: it needs none here.
func StackBoundsKnown() bool { return true }
