//go:build !gc || !(amd64 || arm64)

package gls

import (
	"runtime"
	"unsafe"
)

// ID returns an identifier of the calling goroutine that no other live
// goroutine shares: its goroutine number, parsed from the header line of
// runtime.Stack ("goroutine 42 [running]:"). This portable fallback costs
// about a microsecond per call.
func ID() uintptr {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	const prefix = "goroutine "
	var id uintptr
	for _, c := range buf[len(prefix):n] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uintptr(c-'0')
	}
	return id
}

// current returns the calling goroutine's ID and number, which here are
// the same: goroutine numbers are never reused.
func current() (id uintptr, goid uint64) {
	id = ID()
	return id, uint64(id)
}

// DetectsReuse reports whether the package tells a goroutine from an
// earlier one with the same ID: always, since IDs are never reused here.
func DetectsReuse() bool { return true }

// G returns the calling goroutine's runtime g structure where the package
// can read it; here it cannot, and G returns nil.
func G() unsafe.Pointer { return nil }
