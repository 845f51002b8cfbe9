package rewrite

import (
	"bytes"
	"go/ast"
	"go/build/constraint"
	"go/doc/comment"
	"go/format"
	"go/parser"
	"go/printer"
	"go/token"
	"slices"
	"strings"

	"github.com/dave/dst"
)

// normalizeNumbers is the go/printer mode bit that go/format and gofmt
// print with (go/format calls it printerNormalizeNumbers): number literal
// prefixes and exponents are printed in their canonical case, 0X1P-2 as
// 0x1p-2.
const normalizeNumbers printer.Mode = 1 << 30

// gofmtConfig is how go/format prints a file.
var gofmtConfig = printer.Config{Mode: printer.UseSpaces | printer.TabIndent | normalizeNumbers, Tabwidth: 8}

// gofmtFile prints f, restored from the dst tree df, as go/format.Node
// prints it and then, if it holds the marker that ends a one-line
// prologue, as format.Source prints that; with less work.
//
// For a file with a grouped import declaration, format.Node prints the
// file, parses the output back, sorts its imports and prints it again.
// The second printing also reformats its doc comments (go/printer does it
// for a comment it sees abutting a declaration at column 1, which it
// cannot tell in a restored tree, whose positions are made up). Here the
// doc comments of the top-level declarations are put in that form in df
// before f is printed, and the output is parsed and printed again (by
// format.Source, which is the second half of format.Node) only when it
// still has imports out of order or a doc comment to reformat. The same
// goes for a file with the marker, which format.Source prints again for
// the doc comments and to align the marker with the trailing comments
// around it: that is left to it only when a line next to the marker may
// hold something to align with.
//
// restore turns df into f; it runs after the doc comments are changed,
// which are then put back as they were.
func gofmtFile(df *dst.File, restore func() (*token.FileSet, *ast.File, error)) ([]byte, error) {
	sorts, marked := hasImportBlockDst(df), hasOnelineMarker(df)
	if sorts || marked {
		defer canonicalDocs(df)()
	}
	fset, f, err := restore()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := gofmtConfig.Fprint(&buf, fset, f); err != nil {
		return nil, err
	}
	out := buf.Bytes()
	printedMarker := bytes.Contains(out, []byte(onelineMarker))
	switch {
	case !sorts && !printedMarker:
		return out, nil
	case printedMarker && !marked, // in a comment of the user's
		!importsSorted(out),
		docsToReformat(out),
		printedMarker && markerMayAlign(out):
		return format.Source(out)
	}
	return out, nil
}

// hasOnelineMarker reports whether a prologue in df ends with the marker
// of a body written on one line.
func hasOnelineMarker(df *dst.File) bool {
	for _, d := range df.Decls {
		fn, ok := d.(*dst.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		for _, st := range fn.Body.List[:min(3, len(fn.Body.List))] {
			if slices.Contains(st.Decorations().End, onelineMarker) {
				return true
			}
		}
	}
	return false
}

// markerMayAlign reports whether gofmt may align a one-line marker in the
// Go source src with something on a line next to it: whether the marker
// is not alone after a closing brace, or a line next to it has, after its
// indentation, a comment, a tab, two blanks in a row or a colon.
func markerMayAlign(src []byte) bool {
	for rest := src; ; {
		i := bytes.Index(rest, []byte(onelineMarker))
		if i < 0 {
			return false
		}
		at := len(src) - len(rest) + i
		start, end := lineAround(src, at)
		if string(bytes.TrimLeft(src[start:end], "\t")) != "} "+onelineMarker {
			return true
		}
		if start > 0 {
			if ps, pe := lineAround(src, start-1); mayHoldCell(src[ps:pe]) {
				return true
			}
		}
		if end < len(src) {
			if ns, ne := lineAround(src, end+1); mayHoldCell(src[ns:ne]) {
				return true
			}
		}
		rest = src[end:]
	}
}

// lineAround returns the start and end offsets of the line of src that
// holds offset at, without its newline.
func lineAround(src []byte, at int) (start, end int) {
	start = bytes.LastIndexByte(src[:at], '\n') + 1
	end = len(src)
	if i := bytes.IndexByte(src[at:], '\n'); i >= 0 {
		end = at + i
	}
	return start, end
}

// mayHoldCell reports whether a printed line may hold a cell that gofmt
// aligns across lines: a comment, a tab, two blanks or a colon after its
// indentation.
func mayHoldCell(line []byte) bool {
	line = bytes.TrimLeft(line, "\t")
	return bytes.Contains(line, []byte("//")) || bytes.Contains(line, []byte("/*")) ||
		bytes.ContainsAny(line, "\t:") || bytes.Contains(line, []byte("  "))
}

// hasImportBlockDst reports whether df has an import declaration with
// parentheses among the leading ones: whether format.Node sorts the
// imports of the file restored from it (its hasUnsortedImports).
func hasImportBlockDst(df *dst.File) bool {
	for _, d := range df.Decls {
		d, ok := d.(*dst.GenDecl)
		if !ok || d.Tok != token.IMPORT {
			return false
		}
		if d.Lparen {
			return true
		}
	}
	return false
}

// canonicalDocs gives the doc comments of df's package clause and
// top-level declarations the form go/printer gives doc comments, and
// returns the function that puts them back. It leaves alone a doc comment
// that a comment on the line above may join in the printed file.
func canonicalDocs(df *dst.File) (undo func()) {
	type saved struct {
		decs *dst.Decorations
		old  dst.Decorations
	}
	var undos []saved
	fix := func(decs *dst.Decorations, safeStart bool) {
		start := 0
		for i := len(*decs) - 1; i >= 0; i-- {
			if (*decs)[i] == "\n" {
				start, safeStart = i+1, true
				break
			}
		}
		if !safeStart {
			return
		}
		group := (*decs)[start:]
		canon, changed := docForm(group)
		if !changed || len(canon) == 0 || !allLineComments(group) {
			return
		}
		undos = append(undos, saved{decs, *decs})
		*decs = append(slices.Clip((*decs)[:start]), canon...)
	}
	fix(&df.Decs.Start, true)
	prevEnd := df.Decs.Name
	for _, d := range df.Decls {
		decs := d.Decorations()
		fix(&decs.Start, decs.Before == dst.EmptyLine || len(prevEnd) == 0)
		prevEnd = decs.End
	}
	return func() {
		for _, s := range slices.Backward(undos) {
			*s.decs = s.old
		}
	}
}

// allLineComments reports whether every decoration is a // comment.
func allLineComments(decs []string) bool {
	for _, d := range decs {
		if !strings.HasPrefix(d, "//") {
			return false
		}
	}
	return true
}

// docForm returns the lines of a doc comment (its comments' texts) in the
// form go/printer prints a doc comment (see its formatDocComment and
// go/doc/comment), and whether that differs from list. A build
// constraint, which the printer moves to the top of the file, counts as a
// change, with no form given.
func docForm(list []string) ([]string, bool) {
	if len(list) == 0 {
		return list, false
	}
	for _, c := range list {
		if constraint.IsGoBuild(c) || constraint.IsPlusBuild(c) {
			return nil, true
		}
	}
	var p comment.Parser
	var pr comment.Printer
	if strings.HasPrefix(list[0], "/*") {
		c := list[0]
		if len(list) > 1 || !strings.Contains(c, "\n") || allStars(c) {
			return list, false // left as it is
		}
		out := "/*\n" + string(pr.Comment(p.Parse(c[2:len(c)-2]))) + "*/"
		return []string{out}, out != c
	}
	if !strings.HasPrefix(list[0], "//") {
		return list, false
	}
	var text strings.Builder
	var directives []string
	for _, c := range list {
		after, ok := strings.CutPrefix(c, "//")
		if !ok {
			return list, false // a /* */ comment among // ones: left as it is
		}
		if isDirective(after) {
			directives = append(directives, c)
			continue
		}
		text.WriteString(strings.TrimPrefix(after, " "))
		text.WriteString("\n")
	}
	if text.Len() == 0 {
		return list, false
	}
	printed := string(pr.Comment(p.Parse(text.String())))
	var out []string
	for printed != "" {
		var line string
		line, printed, _ = strings.Cut(printed, "\n")
		switch {
		case line == "":
			line = "//"
		case strings.HasPrefix(line, "\t"):
			line = "//" + line
		default:
			line = "// " + line
		}
		out = append(out, line)
	}
	if len(directives) > 0 {
		out = append(out, "//")
		out = append(out, directives...)
	}
	return out, !slices.Equal(out, list)
}

// isDirective reports whether the text of a // comment, after the
// slashes, is a directive, as go/printer and go/ast tell: "//line ",
// "//extern ", "//export ", or "//[a-z0-9]+:[a-z0-9]".
func isDirective(c string) bool {
	if strings.HasPrefix(c, "line ") || strings.HasPrefix(c, "extern ") || strings.HasPrefix(c, "export ") {
		return true
	}
	colon := strings.Index(c, ":")
	if colon <= 0 || colon+1 >= len(c) {
		return false
	}
	for i := 0; i <= colon+1; i++ {
		if i == colon {
			continue
		}
		if b := c[i]; !('a' <= b && b <= 'z' || '0' <= b && b <= '9') {
			return false
		}
	}
	return true
}

// allStars reports whether every line after the first of the /* */
// comment c starts, after blanks, with a star.
func allStars(c string) bool {
	text := c[2 : len(c)-2]
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			j := i + 1
			for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
				j++
			}
			if j < len(text) && text[j] != '*' {
				return false
			}
		}
	}
	return true
}

// docsToReformat reports whether go/printer, printing the Go source src
// parsed back, may reformat one of its doc comments: whether a comment
// group, as the parser groups comments, starts at column 1, ends just
// before a token, and is not in the form docForm gives. It reads src as
// lines, without parsing it: a line that starts with a comment starts a
// group, and a comment right before such a group that might join it
// counts as a change.
func docsToReformat(src []byte) bool {
	for off := 0; off < len(src); {
		if !startsComment(src[off:]) {
			off = nextLine(src, off)
			continue
		}
		if off > 0 && mayJoin(src[bytes.LastIndexByte(src[:off-1], '\n')+1:off-1]) {
			return true
		}
		group, end, ok := commentGroup(src, off)
		if !ok {
			return true
		}
		if end+1 < len(src) && src[end] == '\n' && !isBlank(src[end+1]) {
			// The next token starts the next line: a doc comment.
			if _, changed := docForm(group); changed {
				return true
			}
		}
		off = nextLine(src, end)
	}
	return false
}

// mayJoin reports whether a comment on the line prev may be in the same
// group as a comment that starts the next line: one that starts the line,
// or a /* */ comment that opens or closes on it. A // comment after code
// ends its own group (or is not a comment, as in "http://").
func mayJoin(prev []byte) bool {
	return startsComment(bytes.TrimLeft(prev, " \t")) || bytes.Contains(prev, []byte("/*")) || bytes.Contains(prev, []byte("*/"))
}

// commentGroup reads the comments of src from offset off, each alone on
// its line and on consecutive lines, and returns their texts and the
// offset where the last one ends. ok is false for what it does not read
// (a comment that does not end its line, or one left open).
func commentGroup(src []byte, off int) (group []string, end int, ok bool) {
	for {
		text, n, ok := commentAt(src[off:])
		if !ok {
			return nil, 0, false
		}
		group = append(group, string(text))
		end = off + n
		if end < len(src) && src[end] != '\n' {
			return nil, 0, false // something follows on the line
		}
		if end+1 >= len(src) {
			return group, end, true
		}
		next := end + 1 // the next line, which must start with a comment
		for next < len(src) && (src[next] == ' ' || src[next] == '\t') {
			next++
		}
		if !startsComment(src[next:]) {
			return group, end, true
		}
		off = next
	}
}

// commentAt returns the comment src starts with and its length.
func commentAt(src []byte) ([]byte, int, bool) {
	if bytes.HasPrefix(src, []byte("//")) {
		n := bytes.IndexByte(src, '\n')
		if n < 0 {
			n = len(src)
		}
		return src[:n], n, true
	}
	n := bytes.Index(src[2:], []byte("*/"))
	if n < 0 {
		return nil, 0, false
	}
	return src[:n+4], n + 4, true
}

func startsComment(b []byte) bool {
	return bytes.HasPrefix(b, []byte("//")) || bytes.HasPrefix(b, []byte("/*"))
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// nextLine returns the offset of the line after the one at off.
func nextLine(src []byte, off int) int {
	if i := bytes.IndexByte(src[off:], '\n'); i >= 0 {
		return off + i + 1
	}
	return len(src)
}

// importsSorted reports whether ast.SortImports leaves the imports of the
// Go source src as they are: the same specs in the same order, starting
// and ending where they did, the comments where they were, and no line
// merged away. (It moves the path of a named import to the name, which
// changes nothing printed unless a comment sits between them: a comment
// inside an import spec counts as a change.) It reads no further than the
// imports.
func importsSorted(src []byte) bool {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ImportsOnly|parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return false
	}
	before, ok := importLayout(fset, f)
	if !ok {
		return false
	}
	ast.SortImports(fset, f)
	after, _ := importLayout(fset, f)
	return slices.Equal(before, after)
}

// placed is a node and where it starts.
type placed struct {
	node ast.Node
	pos  token.Pos
}

// importLayout lists the import specs of f in order and where they start
// and end, the comments and where they are, and how many lines the file
// has: all that ast.SortImports may change. ok is false when a comment is
// inside an import spec.
func importLayout(fset *token.FileSet, f *ast.File) (layout []placed, ok bool) {
	var specs []placed
	for _, d := range f.Decls {
		d, ok := d.(*ast.GenDecl)
		if !ok || d.Tok != token.IMPORT {
			break
		}
		specs = append(specs, placed{d, d.Pos()})
		for _, s := range d.Specs {
			specs = append(specs, placed{s, s.Pos()}, placed{nil, s.End()})
		}
	}
	layout = specs
	ok = true
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			layout = append(layout, placed{c, c.Slash})
			for i := 1; i+1 < len(specs); i++ {
				if specs[i].node != nil && specs[i+1].node == nil && specs[i].pos < c.Slash && c.Slash < specs[i+1].pos {
					ok = false
				}
			}
		}
	}
	return append(layout, placed{nil, token.Pos(fset.File(f.FileStart).LineCount())}), ok
}
