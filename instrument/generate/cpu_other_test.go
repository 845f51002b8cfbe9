//go:build !unix

package generate

import "time"

// cpuTime returns 0 where the process's CPU time is not at hand; the
// benchmarks then report wall-clock throughput only.
func cpuTime() time.Duration { return 0 }

// peakRSS returns 0 where the process's peak memory is not at hand.
func peakRSS() int64 { return 0 }
