package toolexec

import (
	"bytes"
	"fmt"
	"os"
)

// directivePrefix starts every overmind directive comment.
var directivePrefix = []byte("//overmind:")

// HasDirective reports whether src has a line that starts, after optional
// spaces and tabs, with "//overmind:". It is the cheap test that decides
// whether a compile is worth parsing: it accepts every file that can hold a
// directive and a few that hold none (a directive-like line in a raw
// string), never the reverse. Mentions inside other comments, such as
// "// see //overmind:tool", do not count.
func HasDirective(src []byte) bool {
	for {
		i := bytes.Index(src, directivePrefix)
		if i < 0 {
			return false
		}
		j := i
		for j > 0 && (src[j-1] == ' ' || src[j-1] == '\t') {
			j--
		}
		if j == 0 || src[j-1] == '\n' || src[j-1] == '\r' {
			return true
		}
		src = src[i+len(directivePrefix):]
	}
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
