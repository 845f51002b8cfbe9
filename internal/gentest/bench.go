package gentest

import "time"

// InTurns runs f and g, f first when i is even and g first when it is
// odd, so that in a benchmark comparing them neither always runs on a
// machine the other just warmed.
func InTurns(i int, f, g func()) {
	if i%2 == 1 {
		f, g = g, f
	}
	f()
	g()
}

// Timing is wall-clock and CPU time, summed over the runs added to it.
type Timing struct{ Wall, CPU time.Duration }

// Add adds u to t.
func (t *Timing) Add(u Timing) {
	t.Wall += u.Wall
	t.CPU += u.CPU
}
