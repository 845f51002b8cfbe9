// Package lib has instrumented functions and does not import the runtime.
package lib

import "fmt"

// Greet says hello.
//
//overmind:tool greet
func Greet(name string) string {
	return fmt.Sprintf("hello, %s", name)
}

// Boom panics for a positive n.
//
//overmind:function
func Boom(n int) int {
	if n > 0 {
		panic(fmt.Sprintf("boom %d", n)) // PANIC LINE
	}
	return n
}

// Map applies f to each element of xs.
//
//overmind:function
func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}
