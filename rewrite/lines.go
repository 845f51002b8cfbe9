package rewrite

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"strconv"

	"github.com/dave/dst"
)

// FormatLines prints the rewritten file to be compiled in place of the
// input, as the compile-time driver does: like [Result.Format], with a
// /*line file:line:col*/ directive in front of every statement and
// declaration that came from the input, giving the position it has in fset
// (which honours the input's own //line directives, such as those of
// cmd/go's cover tool). Added code is placed at the opening brace of the
// function it was added to. Panics, stack traces, runtime.Caller and test
// failures then name the user's own lines, however much the rewrite and
// gofmt moved them.
//
// fset must be the file set the input was parsed with. The output is not
// meant for people: it is gofmt'd apart from the directives.
func (r *Result) FormatLines(fset *token.FileSet) ([]byte, error) {
	src, err := r.Format()
	if err != nil {
		return nil, err
	}
	// The printed file, parsed again, has the same statements and
	// declarations in the same order as the dst tree: pair them up to learn
	// where each one was printed.
	pfset := token.NewFileSet()
	printed, err := parser.ParseFile(pfset, "", src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse rewritten file: %w", err)
	}
	ins, err := lineInsertions(pfset.File(printed.Pos()), printedAnchors(printed), r.lineAnchors(fset))
	if err != nil {
		return nil, err
	}
	return insertDirectives(src, ins), nil
}

// insertion is a line directive to insert at an offset of the printed file.
type insertion struct {
	off  int
	text string
}

// printedAnchors lists the statements and declarations of the printed
// file in the order ast.Inspect visits them.
func printedAnchors(printed *ast.File) []ast.Node {
	var nodes []ast.Node
	ast.Inspect(printed, func(n ast.Node) bool {
		if n != nil && isLineAnchor(reflect.TypeOf(n).Elem().Name()) {
			nodes = append(nodes, n)
		}
		return true
	})
	return nodes
}

// lineInsertions pairs the printed nodes, in the file tf, with the
// anchors of the tree and returns the directive each needs.
func lineInsertions(tf *token.File, nodes []ast.Node, anchors []lineAnchor) ([]insertion, error) {
	if len(nodes) != len(anchors) {
		return nil, fmt.Errorf("rewritten file: %d statements printed, %d in the tree", len(nodes), len(anchors))
	}
	var ins []insertion
	for i, n := range nodes {
		a := anchors[i]
		if kind := reflect.TypeOf(n).Elem().Name(); kind != a.kind {
			return nil, fmt.Errorf("rewritten file: printed %s where the tree has %s", kind, a.kind)
		}
		if a.pos.IsValid() {
			ins = append(ins, insertion{tf.Offset(n.Pos()), lineDirective(a.pos)})
		}
	}
	return ins, nil
}

// insertDirectives inserts the directives into src. Where several share
// an offset (a statement that starts its parent), the innermost node's
// position wins.
func insertDirectives(src []byte, ins []insertion) []byte {
	slices.SortStableFunc(ins, func(x, y insertion) int { return x.off - y.off })
	size := len(src)
	for _, in := range ins {
		size += len(in.text)
	}
	out := make([]byte, 0, size)
	prev := 0
	for i := 0; i < len(ins); {
		j := i
		var text string
		for ; j < len(ins) && ins[j].off == ins[i].off; j++ {
			text = ins[j].text
		}
		off := ins[i].off
		out = append(append(out, src[prev:off]...), text...)
		prev = off
		i = j
	}
	return append(out, src[prev:]...)
}

// lineAnchor is a statement or declaration of the rewritten tree, with the
// position it must keep.
type lineAnchor struct {
	kind string         // the node's type name, the same in dst and go/ast
	pos  token.Position // where it was in the input; invalid for none
}

// lineAnchors lists the statements and declarations of the rewritten tree
// in the order ast.Inspect visits them, each with its position in the
// input, or for added code the opening brace of the enclosing input
// function.
func (r *Result) lineAnchors(fset *token.FileSet) []lineAnchor {
	var anchors []lineAnchor
	var stack []dst.Node
	dst.Inspect(r.File, func(n dst.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		if kind := reflect.TypeOf(n).Elem().Name(); isLineAnchor(kind) {
			a := lineAnchor{kind: kind}
			if orig, ok := r.Origin(n); ok {
				a.pos = fset.Position(orig.Pos())
			} else {
				a.pos = r.enclosingBrace(fset, stack)
			}
			anchors = append(anchors, a)
		}
		stack = append(stack, n)
		return true
	})
	return anchors
}

// enclosingBrace is the input position of the opening brace of the
// innermost function in stack that came from the input.
func (r *Result) enclosingBrace(fset *token.FileSet, stack []dst.Node) token.Position {
	for i := len(stack) - 1; i >= 0; i-- {
		var body *dst.BlockStmt
		switch fn := stack[i].(type) {
		case *dst.FuncDecl:
			body = fn.Body
		case *dst.FuncLit:
			body = fn.Body
		default:
			continue
		}
		if orig, ok := r.Origin(body); ok {
			return fset.Position(orig.Pos())
		}
	}
	return token.Position{}
}

// isLineAnchor reports whether nodes of the named type get a directive:
// statements and declarations, except blocks (their statements have
// their own), empty statements (gofmt may drop them) and bad nodes.
func isLineAnchor(kind string) bool {
	switch kind {
	case "BlockStmt", "EmptyStmt", "BadStmt", "BadDecl":
		return false
	}
	return lineAnchorKinds[kind]
}

// lineAnchorKinds are the type names of go/ast's (and dst's) statements
// and declarations.
var lineAnchorKinds = map[string]bool{
	"AssignStmt": true, "BranchStmt": true, "CaseClause": true, "CommClause": true,
	"DeclStmt": true, "DeferStmt": true, "ExprStmt": true, "ForStmt": true,
	"GoStmt": true, "IfStmt": true, "IncDecStmt": true, "LabeledStmt": true,
	"RangeStmt": true, "ReturnStmt": true, "SelectStmt": true, "SendStmt": true,
	"SwitchStmt": true, "TypeSwitchStmt": true, "FuncDecl": true, "GenDecl": true,
}

// lineDirective is the /*line*/ comment that gives the next character pos.
func lineDirective(pos token.Position) string {
	return "/*line " + pos.Filename + ":" + strconv.Itoa(pos.Line) + ":" + strconv.Itoa(max(pos.Column, 1)) + "*/"
}
