//go:build !unix

package generate

import "time"

// cpuTime returns 0 where the process's CPU time is not at hand; the
// benchmarks then report wall-clock throughput only.
func cpuTime() time.Duration { return 0 }
