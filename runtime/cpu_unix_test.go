//go:build unix

package overmind

import (
	"syscall"
	"time"
)

// processCPU is the user and system time of this process, all threads
// included (garbage collection and the exporter's goroutine too); ok is
// false where it cannot be read.
func processCPU() (d time.Duration, ok bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
