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

// filesWithDirectives returns the indexes of the files that contain a
// directive.
func filesWithDirectives(files []string) ([]int, error) {
	var idx []int
	for i, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("scanning for directives: %w", err)
		}
		if HasDirective(src) {
			idx = append(idx, i)
		}
	}
	return idx, nil
}
