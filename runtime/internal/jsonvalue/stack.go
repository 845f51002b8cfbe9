package jsonvalue

import (
	"reflect"
	"unsafe"

	"github.com/overmind-core/overmind-go/runtime/internal/gls"
)

// Values on the caller's stack.
//
// The runtime hides the values an instrumented function records from
// escape analysis (gls.Hide), so that passing them to Writer.Add does not
// move the caller's arguments to the heap before tracing is even on. The
// memory they reach may therefore lie on the calling goroutine's stack,
// which the encoder reads safely because it
//
//   - encodes each value before Writer.Add returns and keeps no reference
//     to it afterwards: only bytes are kept, and the cycle check keeps
//     addresses as integers, which the garbage collector ignores;
//   - stores no pointer to the stack in the heap, where the runtime would
//     not update it when the stack moves: the reflect.Values it walks with
//     live in its own frames, and the map entries it sorts are copies of
//     map contents, which never point into a stack (the compiler moves
//     everything stored in a map to the heap);
//   - hands the program's methods (MarshalJSON, MarshalText, Error) only
//     values from which no stack memory can be reached (detach), since a
//     method may keep its receiver.
//
// The last rule rests on the heap invariant Go maintains: nothing in the
// heap or in global variables points into a goroutine's stack. So memory
// whose address is off the stack reaches only memory off the stack, and a
// value on the stack reaches stack memory only through the pointers it
// holds itself.

// maxInlineWords bounds the pointers inlineClean examines; a bigger value
// counts as reaching the stack.
const maxInlineWords = 1 << 12

// detach returns rv, or a copy of it on the heap, such that no memory on
// the calling goroutine's stack can be reached from it, for a method of
// the program's to be called on it; ok is false when there is no such
// value (the caller then writes a placeholder). Copies are made of a
// pointer's target, a slice's elements or a map's entries that lie on the
// stack, when what they hold is off the stack; anything else that
// reaches the stack is refused.
func detach(rv reflect.Value) (_ reflect.Value, ok bool) {
	if !gls.HidesValues || !infoFor(rv.Type()).pointers {
		return rv, true
	}
	if rv.CanAddr() && !gls.OnStack(rv.Addr().UnsafePointer()) {
		return rv, true // off the stack: so is everything it reaches
	}
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() || !gls.OnStack(rv.UnsafePointer()) {
			return rv, true
		}
		elem := rv.Elem()
		if !inlineClean(elem) {
			return rv, false
		}
		cp := reflect.New(elem.Type())
		cp.Elem().Set(elem)
		return cp, true
	case reflect.Slice:
		if rv.IsNil() || !gls.OnStack(rv.UnsafePointer()) {
			return rv, true
		}
		if n := rv.Len(); infoFor(rv.Type().Elem()).pointers && n > maxInlineWords {
			return rv, false
		}
		for i := 0; i < rv.Len(); i++ {
			if !inlineClean(rv.Index(i)) {
				return rv, false
			}
		}
		cp := reflect.MakeSlice(rv.Type(), rv.Len(), rv.Len())
		reflect.Copy(cp, rv)
		return cp, true
	case reflect.Map:
		if rv.IsNil() || !gls.OnStack(rv.UnsafePointer()) {
			return rv, true
		}
		// A map's entries never point into a stack; only its table may
		// lie on one.
		cp := reflect.MakeMapWithSize(rv.Type(), rv.Len())
		it := rv.MapRange()
		for it.Next() {
			cp.SetMapIndex(it.Key(), it.Value())
		}
		return cp, true
	case reflect.Interface:
		if rv.IsNil() {
			return rv, true
		}
		return detach(rv.Elem())
	}
	return rv, inlineClean(rv)
}

// inlineClean reports whether none of the pointers rv holds itself (in
// its fields and array elements, not following them) points into the
// calling goroutine's stack. Where a pointer cannot be read (a func or
// an interface holding a non-pointer value, in memory whose address is
// unknown) the answer is false.
func inlineClean(rv reflect.Value) bool {
	budget := maxInlineWords
	return clean(rv, &budget)
}

func clean(rv reflect.Value, budget *int) bool {
	if !infoFor(rv.Type()).pointers {
		return true
	}
	if *budget--; *budget < 0 {
		return false
	}
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.UnsafePointer, reflect.Slice:
		return !gls.OnStack(rv.UnsafePointer())
	case reflect.String:
		return !gls.OnStack(unsafe.Pointer(unsafe.StringData(rv.String())))
	case reflect.Func:
		if rv.IsNil() {
			return true
		}
		if rv.CanAddr() { // the word is a pointer to the closure
			return !gls.OnStack(*(*unsafe.Pointer)(rv.Addr().UnsafePointer()))
		}
		return false
	case reflect.Interface:
		if rv.IsNil() {
			return true
		}
		if rv.CanAddr() { // the second word points to the value, or is it
			return !gls.OnStack((*[2]unsafe.Pointer)(rv.Addr().UnsafePointer())[1])
		}
		switch elem := rv.Elem(); elem.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Chan, reflect.UnsafePointer:
			return !gls.OnStack(elem.UnsafePointer()) // the second word itself
		}
		return false
	case reflect.Struct:
		for i := 0; i < rv.NumField(); i++ {
			if !clean(rv.Field(i), budget) {
				return false
			}
		}
	case reflect.Array:
		for i := 0; i < rv.Len(); i++ {
			if !clean(rv.Index(i), budget) {
				return false
			}
		}
	}
	return true
}

// hasPointers reports whether values of type t hold pointers.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer,
		reflect.Slice, reflect.String, reflect.Interface:
		return true
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	}
	return false
}
