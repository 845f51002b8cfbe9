//go:build gc && (amd64 || arm64)

package gls

// ID returns an identifier of the calling goroutine that no other live
// goroutine shares: the address of its runtime g structure. It may be
// reused after the goroutine exits.
func ID() uintptr { return getg() }

// getg returns the g pointer of the calling goroutine. It is implemented in
// assembly.
func getg() uintptr
