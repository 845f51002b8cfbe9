//go:build gc && (amd64 || arm64)

package gls

import (
	"runtime"
	"sync"
	"unsafe"
)

// ID returns an identifier of the calling goroutine that no other live
// goroutine shares: the address of its runtime g structure. It may be
// reused after the goroutine exits.
func ID() uintptr { return uintptr(getg()) }

// getg returns the calling goroutine's runtime g structure. It is
// implemented in assembly. The g is allocated on the heap by the runtime
// and never freed, so the pointer stays valid.
func getg() unsafe.Pointer

// current returns the calling goroutine's ID and its goroutine number, or
// 0 for the number when goidOffset was not found.
func current() (id uintptr, goid uint64) {
	g := getg()
	if goidOffset == 0 {
		return uintptr(g), 0
	}
	return uintptr(g), *(*uint64)(unsafe.Add(g, goidOffset))
}

// goidOffset is the offset of the goroutine number (the runtime's g.goid)
// in the g structure, found by findGoidOffset; 0 when it was not found.
// (Offset 0 holds the stack's low bound, never the number.)
var goidOffset = findGoidOffset()

// goidScanBytes bounds the search for the goroutine number to the start of
// the g structure. With Go 1.26 on amd64 and arm64 the number is at 152
// and the structure is over 400 bytes long, so the search stays inside it.
const goidScanBytes = 256

// findGoidOffset looks for the goroutine number in the g structure: the
// 8-byte-aligned offsets among the first goidScanBytes that hold the
// calling goroutine's number, as runtime.Stack prints it, are narrowed down
// by goroutines with other numbers (some running at once, so on other g
// structures, some after others exited, so on reused ones) until one
// offset is left. Anything else (a layout where no offset, or several,
// match every goroutine) gives 0.
func findGoidOffset() uintptr {
	matches := offsetsHolding(getg(), stackGoid())
	seen := map[uint64]bool{stackGoid(): true}
	for round := 0; round < 2; round++ {
		const probes = 4
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			results []probeResult
		)
		for range probes {
			wg.Go(func() {
				r := probeResult{goid: stackGoid()}
				r.offsets = offsetsHolding(getg(), r.goid)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			})
		}
		wg.Wait()
		for _, r := range results {
			if seen[r.goid] {
				return 0 // runtime.Stack did not give distinct numbers
			}
			seen[r.goid] = true
			matches &= r.offsets
		}
	}
	if matches == 0 || matches&(matches-1) != 0 {
		return 0 // none, or more than one
	}
	for i := 0; ; i++ {
		if matches&(1<<i) != 0 {
			return uintptr(i * 8)
		}
	}
}

type probeResult struct {
	goid    uint64
	offsets uint32
}

// offsetsHolding returns a bit set of the word offsets (bit i for offset
// 8i) among the first goidScanBytes of g that hold want. Offset 0 is left
// out.
func offsetsHolding(g unsafe.Pointer, want uint64) uint32 {
	var set uint32
	for i := 1; i < goidScanBytes/8; i++ {
		if *(*uint64)(unsafe.Add(g, i*8)) == want {
			set |= 1 << i
		}
	}
	return set
}

// stackGoid parses the calling goroutine's number from the header line of
// runtime.Stack ("goroutine 42 [running]:"), or returns 0.
func stackGoid() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	const prefix = "goroutine "
	if n <= len(prefix) || string(buf[:len(prefix)]) != prefix {
		return 0
	}
	var id uint64
	for _, c := range buf[len(prefix):n] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}

// DetectsReuse reports whether the package tells a goroutine from an
// earlier one that ran on the same g structure (see the package doc).
func DetectsReuse() bool { return goidOffset != 0 }

// G returns the calling goroutine's runtime g structure, for code that
// reads one of its fields at an offset it has validated; nil where the
// package cannot read it.
func G() unsafe.Pointer { return getg() }
