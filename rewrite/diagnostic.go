package rewrite

import (
	"fmt"
	"go/token"
	"sort"
)

// Severity tells whether a [Diagnostic] stops the rewrite.
type Severity int

const (
	// Error is a problem with the input: nothing may be written while one
	// exists.
	Error Severity = iota
	// Warning is worth telling the user but changes nothing, such as a
	// "// overmind:tool" comment that is ignored because of its space.
	Warning
)

// Diagnostic is a problem found in the input, at a position in a file.
type Diagnostic struct {
	Pos      token.Position
	Severity Severity
	Message  string
}

// String formats d like go vet: "file:line:col: message", with
// "warning: " before the message of a warning.
func (d Diagnostic) String() string {
	if d.Severity == Warning {
		return fmt.Sprintf("%s: warning: %s", d.Pos, d.Message)
	}
	return fmt.Sprintf("%s: %s", d.Pos, d.Message)
}

// HasErrors reports whether any diagnostic in ds is an [Error].
func HasErrors(ds []Diagnostic) bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// SortDiagnostics sorts ds by file, line, column and message, and drops
// exact duplicates (the same file can be seen through several packages).
func SortDiagnostics(ds []Diagnostic) []Diagnostic {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Pos.Filename != b.Pos.Filename {
			return a.Pos.Filename < b.Pos.Filename
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Column != b.Pos.Column {
			return a.Pos.Column < b.Pos.Column
		}
		return a.Message < b.Message
	})
	out := ds[:0]
	for i, d := range ds {
		if i > 0 && d == ds[i-1] {
			continue
		}
		out = append(out, d)
	}
	return out
}
