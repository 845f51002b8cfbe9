package rewrite

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/scanner"
	"go/token"
	"strings"
)

// A //line comment at the start of a line is a line directive: it sets the
// position the compiler, panics and runtime.Caller report for what
// follows. Two things must hold for it to survive a rewrite: dst must lay
// out the file by its physical lines, which the directives would make it
// misread (it finds newlines and blank lines through the file set), and
// the directive must stay at column 1, which the printer does not
// guarantee for a tree that dst rebuilt.

const lineDirectivePrefix = "//line "

// withoutLineDirectives returns a file set that holds only f's file, with
// the same base and lines as in fset but none of the positions that //line
// directives set. Positions of f's nodes mean the same in it.
func withoutLineDirectives(fset *token.FileSet, f *ast.File) (*token.FileSet, error) {
	tf := fset.File(f.FileStart)
	if tf == nil {
		return nil, fmt.Errorf("rewrite: the file set does not hold the file")
	}
	raw := token.NewFileSet()
	rf := raw.AddFile(tf.Name(), tf.Base(), tf.Size())
	if !rf.SetLines(tf.Lines()) {
		return nil, fmt.Errorf("rewrite %s: invalid line table", tf.Name())
	}
	return raw, nil
}

// lineDirectiveColumns tells, for each "//line " comment of f in order,
// whether it is at column 1 of its line.
func lineDirectiveColumns(fset *token.FileSet, f *ast.File) []bool {
	var out []bool
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, lineDirectivePrefix) {
				out = append(out, fset.PositionFor(c.Slash, false).Column == 1)
			}
		}
	}
	return out
}

// keepLineDirectives moves back to column 1 the "//line " comments of the
// printed file src that were at column 1 in the input (atCol1, in order),
// by removing the indentation the printer gave them.
func keepLineDirectives(src []byte, atCol1 []bool) ([]byte, error) {
	want := false
	for _, c := range atCol1 {
		want = want || c
	}
	if !want {
		return src, nil
	}
	var offsets []int
	fset := token.NewFileSet()
	var s scanner.Scanner
	s.Init(fset.AddFile("", -1, len(src)), src, nil, scanner.ScanComments)
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.COMMENT && strings.HasPrefix(lit, lineDirectivePrefix) {
			offsets = append(offsets, fset.Position(pos).Offset)
		}
	}
	if len(offsets) != len(atCol1) {
		return nil, fmt.Errorf("rewrite: %d //line comments printed, %d in the input", len(offsets), len(atCol1))
	}
	var out bytes.Buffer
	last := 0
	for i, off := range offsets {
		if !atCol1[i] {
			continue
		}
		start := bytes.LastIndexByte(src[:off], '\n') + 1
		if strings.TrimLeft(string(src[start:off]), " \t") != "" {
			return nil, fmt.Errorf("rewrite: a //line directive was printed after code on its line")
		}
		out.Write(src[last:start])
		last = off
	}
	out.Write(src[last:])
	return out.Bytes(), nil
}
