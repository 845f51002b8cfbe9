package toolexec

import (
	"bytes"
	"fmt"
	"os"
)

// directiveWord follows the "//" of every overmind directive comment.
var directiveWord = []byte("overmind:")

// HasDirective reports whether src has a line that starts, after optional
// spaces and tabs, with "//overmind:", or with the malformed
// "// overmind:", which the instrumentation warns about. It is the cheap
// test that decides whether a compile is worth parsing: it accepts every
// file that can hold a directive and a few that hold none (a
// directive-like line in a raw string), never the reverse. Mentions inside
// other comments, such as "// see //overmind:tool", do not count.
func HasDirective(src []byte) bool {
	for off := 0; ; {
		i := bytes.Index(src[off:], directiveWord)
		if i < 0 {
			return false
		}
		i += off
		if startsDirectiveLine(src, i) {
			return true
		}
		off = i + len(directiveWord)
	}
}

// startsDirectiveLine reports whether the text before offset i of src, on
// its line, is "//" with optional spaces and tabs on either side.
func startsDirectiveLine(src []byte, i int) bool {
	j := skipBlanksBack(src, i)
	if j < 2 || src[j-1] != '/' || src[j-2] != '/' {
		return false
	}
	j = skipBlanksBack(src, j-2)
	return j == 0 || src[j-1] == '\n' || src[j-1] == '\r'
}

// skipBlanksBack returns the offset of the first of the spaces and tabs
// that end src[:i].
func skipBlanksBack(src []byte, i int) int {
	for i > 0 && (src[i-1] == ' ' || src[i-1] == '\t') {
		i--
	}
	return i
}

// anyHasDirective reports whether one of the files has a directive.
func anyHasDirective(files []string) (bool, error) {
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			return false, fmt.Errorf("scanning for directives: %w", err)
		}
		if HasDirective(src) {
			return true, nil
		}
	}
	return false, nil
}
