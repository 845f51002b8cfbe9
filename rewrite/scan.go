package rewrite

import (
	"bytes"
	"go/ast"
	"strings"
)

// directiveWord follows the "//" of every directive comment.
var directiveWord = []byte("overmind:")

// runtimeImport is how a file that holds generated code names the runtime.
var runtimeImportPath = []byte(`"` + RuntimePath + `"`)

// HasDirective reports whether src has a line that starts, after optional
// spaces and tabs, with "//overmind:", or with the malformed
// "// overmind:", which [FindDirectives] warns about. It is the cheap test
// that decides whether a file is worth parsing: it accepts every file that
// can hold a directive and a few that hold none (a directive-like line in
// a raw string), never the reverse. Mentions inside other comments, such
// as "// see //overmind:tool", do not count.
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

// MayNeedRewrite reports whether a file may hold directives or generated
// code, the files generate mode loads: [HasDirective], or the file
// mentions the runtime's import path. Like HasDirective it never misses
// one.
func MayNeedRewrite(src []byte) bool {
	return HasDirective(src) || bytes.Contains(src, runtimeImportPath)
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

// hasDirectiveComment reports whether a parsed file has a comment that is
// a directive or looks like one written with a space ("// overmind:tool"),
// which FindDirectives warns about: the syntax-tree form of HasDirective.
func hasDirectiveComment(f *ast.File) bool {
	for _, g := range f.Comments {
		for _, c := range g.List {
			if strings.HasPrefix(c.Text, Prefix) && c.Text != onelineMarker {
				return true
			}
			if rest, ok := strings.CutPrefix(c.Text, "//"); ok && strings.HasPrefix(strings.TrimLeft(rest, " \t"), "overmind:") {
				return true
			}
		}
	}
	return false
}

// importsRuntime reports whether f imports the runtime package, as a file
// holding generated code does.
func importsRuntime(f *ast.File) bool {
	for _, spec := range f.Imports {
		if spec.Path.Value == string(runtimeImportPath) {
			return true
		}
	}
	return false
}
