//go:build !plan9

// The constraint above makes this file start with a //go: directive, which
// the compiler accepts only alone on its line.

package lib

// Counter counts.
type Counter struct{ n int }

// Add adds d and returns the new count.
//
//overmind:function
func (c *Counter) Add(d int) int {
	c.n += d
	return c.n
}
