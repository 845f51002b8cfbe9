// Package markrewrite is a stand-in for the real rewrite, for testing the
// toolexec driver on its own: for each function with an //overmind:
// directive it inserts, on the line of the body's opening brace, a call
// into the runtime and a println of a marker, and it imports the runtime
// on the package clause's line. Every original line stays where it was.
package markrewrite

import (
	"go/ast"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/overmind-core/overmind-go/instrument/toolexec"
)

// Marker starts the line an instrumented function prints to stderr when
// it is entered: "overmind-mark: PKG.FUNC".
const Marker = "overmind-mark:"

// alias is the name the runtime is imported under.
const alias = "overmindmark"

// Rewrite is a [toolexec.Rewriter].
func Rewrite(pkg *toolexec.Package) ([]toolexec.RewrittenFile, error) {
	var out []toolexec.RewrittenFile
	for i, f := range pkg.Files {
		src, err := os.ReadFile(pkg.Filenames[i])
		if err != nil {
			return nil, err
		}
		src, ok := rewriteFile(pkg, f, src)
		if ok {
			out = append(out, toolexec.RewrittenFile{Index: i, Source: src})
		}
	}
	return out, nil
}

type insertion struct {
	offset int
	text   string
}

func rewriteFile(pkg *toolexec.Package, f *ast.File, src []byte) ([]byte, bool) {
	tf := pkg.Fset.File(f.Pos())
	var ins []insertion
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Body == nil || !hasDirective(fn.Doc) {
			continue
		}
		name := fn.Name.Name
		if fn.Recv != nil && len(fn.Recv.List) == 1 {
			name = recvName(fn.Recv.List[0].Type) + "." + name
		}
		qual := strconv.Quote(pkg.ImportPath + "." + name)
		ins = append(ins, insertion{
			offset: tf.Offset(fn.Body.Lbrace) + 1,
			text: " defer " + alias + ".Enter(" + alias + ".SpanTypeFunction, " + strconv.Quote(name) + ", " + qual +
				", nil).Exit(nil, nil, nil); println(" + strconv.Quote(Marker) + ", " + qual + ");",
		})
	}
	if len(ins) == 0 {
		return nil, false
	}
	ins = append(ins, insertion{
		offset: tf.Offset(f.Name.End()),
		text:   "; import " + alias + " " + strconv.Quote(toolexec.RuntimePath),
	})
	sort.Slice(ins, func(i, j int) bool { return ins[i].offset > ins[j].offset })
	for _, in := range ins {
		src = append(src[:in.offset], append([]byte(in.text), src[in.offset:]...)...)
	}
	return src, true
}

func hasDirective(doc *ast.CommentGroup) bool {
	if doc == nil {
		return false
	}
	for _, c := range doc.List {
		if strings.HasPrefix(c.Text, "//overmind:") {
			return true
		}
	}
	return false
}

func recvName(t ast.Expr) string {
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.Name
		default:
			return "?"
		}
	}
}
