package gentest

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	crashGoroutineID = regexp.MustCompile(`(?m)^goroutine \d+ \[`)
	crashPCOffset    = regexp.MustCompile(`(?m) \+0x[0-9a-f]+$`)
	crashAddress     = regexp.MustCompile(`0x[0-9a-f]{6,}`)
	// crashArgs matches a frame's function line and its arguments, which
	// a traceback prints from registers and the frame; whether a function
	// is inlined changes them (and drops its program counter offset).
	crashArgs = regexp.MustCompile(`(?m)^([^\s].*)\([^()\n]*\)$`)
	// adoptingFrame matches the frame of the wrapper a rewritten go
	// statement starts when tracing is on: a function line and the
	// location in the runtime's adopting.go.
	adoptingFrame = regexp.MustCompile(`(?m)^\S.*\n\t\S*/runtime/adopting\.go:\d+.*\n`)
)

// NormalizeCrash sets aside what differs between two runs, or two builds,
// of a program that dies the same way: goroutine numbers, addresses,
// program counter offsets and the arguments of frames.
func NormalizeCrash(stderr string) string {
	s := crashGoroutineID.ReplaceAllString(stderr, "goroutine N [")
	s = crashArgs.ReplaceAllString(s, "$1(…)")
	s = crashPCOffset.ReplaceAllString(s, "")
	return crashAddress.ReplaceAllString(s, "0x?")
}

// DropAdoptingFrames removes from a traceback the frames of the wrapper
// that a rewritten go statement starts its function in when tracing is
// on, and reports how many it removed.
func DropAdoptingFrames(stderr string) (string, int) {
	n := len(adoptingFrame.FindAllStringIndex(stderr, -1))
	return adoptingFrame.ReplaceAllString(stderr, ""), n
}

// SourceLines replaces each file:line of a traceback with the text of that
// line, read through read (file name to contents), so that tracebacks of
// two builds whose sources differ in layout can be compared by what they
// point at.
func SourceLines(stderr string, read func(file string) (string, error)) string {
	loc := regexp.MustCompile(`(?m)^\t(\S+\.go):(\d+)`)
	return loc.ReplaceAllStringFunc(stderr, func(m string) string {
		parts := loc.FindStringSubmatch(m)
		src, err := read(parts[1])
		if err != nil {
			return m
		}
		var n int
		fmt.Sscan(parts[2], &n)
		lines := strings.Split(src, "\n")
		if n < 1 || n > len(lines) {
			return m
		}
		return "\t" + parts[1][strings.LastIndexByte(parts[1], '/')+1:] + ": " + strings.TrimSpace(lines[n-1])
	})
}
