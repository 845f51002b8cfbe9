package rewrite

import (
	"bytes"
	"go/ast"
	"go/format"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"slices"
	"strings"
	"testing"

	"github.com/dave/dst"
	"github.com/dave/dst/decorator"
)

// gofmtCases are files whose printing format.Node changes on its second
// pass (imports to sort or deduplicate, doc comments to reformat) or does
// not, for gofmtFile to print alike.
var gofmtCases = map[string]string{
	"sorted": `package p

import (
	"fmt"
	"os"
)

// F prints.
func F() { fmt.Println(os.Args) }
`,
	"unsorted": `package p

import (
	"os"
	"fmt"
)

func F() { fmt.Println(os.Args) }
`,
	"duplicate": `package p

import (
	"fmt"
	"fmt"
	"os"

)

func F() { fmt.Println(os.Args) }
`,
	"named and commented": `package p

import (
	// fmt prints.
	f "fmt"
	o /* os */ "os" // the os
	"strings"
)

func F() { f.Println(o.Args, strings.ToUpper("")) }
`,
	"runs": `package p

import (
	"os"

	"fmt"
	"bytes" // comment
)

var _ = bytes.NewReader
func F() { fmt.Println(os.Args) }
`,
	"doc directives": `// Package p does things.
//go:generate echo
package p

import (
	"fmt"
)

// F prints.
//overmind:function
func F() { fmt.Println() }

// G prints.
//
//overmind:function
//go:noinline
func G() { fmt.Println() }

//overmind:function
func H() { fmt.Println() }

// T is a type.
//overmind:x
type T int

var x = 1 // trailing
// I follows a trailing comment.
//overmind:function
func I() {}

func J() {}
// K abuts J.
//overmind:function
func K() {}

/* L is old style
   and spans lines. */
func L() {}

/* M */
func M() {}

// N has a build constraint.
//go:build x
func N() {}
`,
	"doc text": `package p

import (
	"fmt"
)

//F has no space.
//  indented code
//	tab code
// - a list
// # Heading
//
//
// two blank lines above
func F() { fmt.Println() }

// Empty:
//
func G() {}
`,
	"no import block": `package p

import "fmt"

// F prints.
//overmind:function
func F() { fmt.Println() }
`,
	"marker": `package p

// X is one line.
//overmind:function
func X() {
	_om := enter()
	if _om != nil {
		defer _om.Leave()
	} //overmind:oneline
	print("") /**/
}

//overmind:function
func Y() int {
	_om := enter()
	if _om != nil {
		defer _om.Leave()
	} //overmind:oneline
	return 1
}

// Z has a key.
//overmind:function
func Z() T {
	_om := enter()
	if _om != nil {
		defer _om.Leave()
	} //overmind:oneline
	return T{
		A: 1, // one
	}
}
`,
	"marker alone": `package p

import (
	"fmt"
)

// Y is one line.
//overmind:function
func Y() int {
	_om := enter()
	if _om != nil {
		defer _om.Leave()
	} //overmind:oneline
	return fmt.Println()
}
`,
	"marker in a comment": `package p

// Y says //overmind:oneline
func Y() {}
`,
	"numbers": `package p

import (
	"fmt"
)

func F() { fmt.Println(0X1P-2, 0B101, 0O17, 1E5, 0xABCp+1i) }
`,
}

// TestGofmtFileIsFormatNode checks that gofmtFile prints a dst file byte
// for byte as go/format.Node prints it (through dst's Restorer.Fprint),
// and then format.Source if the output holds the one-line marker, and
// leaves the dst file as it was.
func TestGofmtFileIsFormatNode(t *testing.T) {
	t.Parallel()
	for name, src := range gofmtCases {
		df, err := decorator.Parse(src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkGofmtFile(t, name, df)
	}
}

// TestGofmtFileRewritten checks gofmtFile as TestGofmtFileIsFormatNode
// does on rewritten files, whose one-line bodies the printer spreads over
// several lines without aligning their trailing comments as gofmt does.
func TestGofmtFileRewritten(t *testing.T) {
	t.Parallel()
	bodies := []string{
		`{ print("") /**/ }`,
		`{ print(1) /* a */; print(22) /* bb */ }`,
		`{ /* a */ print(1) }`,
		`{ var x = 1 /* a */; _ = x }`,
		`{ x := []int{1, /* a */ 2}; _ = x }`,
		`{ switch { case true: /* a */ } }`,
		`{ _ = struct{ A int /* a */ }{} }`,
		`{ print(1) }`,
		`{}`,
	}
	for _, imports := range []string{"", "import (\n\t\"fmt\"\n)\n\nvar _ = fmt.Println\n"} {
		for _, body := range bodies {
			src := "package a\n\n" + imports + "\n// X does.\n//overmind:function\nfunc X() " + body + "\n"
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "a.go", src, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			info := NewInfo()
			pkg, err := (&types.Config{Importer: importer.Default()}).Check("a", fset, []*ast.File{f}, info)
			if err != nil {
				t.Fatal(err)
			}
			r, err := File(Input{Fset: fset, File: f, Pkg: pkg, Info: info}, Instrument)
			if err != nil || HasErrors(r.Diagnostics) {
				t.Fatalf("%s: %v %v", src, err, r.Diagnostics)
			}
			checkGofmtFile(t, src, r.File)
		}
	}
}

func checkGofmtFile(t *testing.T, name string, df *dst.File) {
	t.Helper()
	var want bytes.Buffer
	if err := decorator.NewRestorer().Fprint(&want, df); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	printed := bytes.Clone(want.Bytes())
	if bytes.Contains(printed, []byte(onelineMarker)) {
		formatted, err := format.Source(printed)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want.Reset()
		want.Write(formatted)
	}
	got, err := gofmtFile(df, func() (*token.FileSet, *ast.File, error) {
		r := decorator.NewRestorer()
		f, err := r.RestoreFile(df)
		return r.Fset, f, err
	})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("%s: gofmtFile printed\n%s\nformat.Node printed\n%s", name, got, want.Bytes())
	}
	var again bytes.Buffer
	if err := decorator.NewRestorer().Fprint(&again, df); err != nil || !bytes.Equal(again.Bytes(), printed) {
		t.Errorf("%s: gofmtFile left the dst file changed (err %v):\n%s", name, err, again.Bytes())
	}
}

// TestDocForm checks docForm against gofmt: the doc comment of F, as
// format.Source prints it.
func TestDocForm(t *testing.T) {
	t.Parallel()
	docs := [][]string{
		{"// F does.", "//overmind:function"},
		{"// F does.", "//", "//overmind:function"},
		{"//overmind:function"},
		{"//overmind:function", "// F does."},
		{"//F does.", "//   code", "//\tcode", "// - item", "// 1. one"},
		{"// # Heading", "//", "// text"},
		{"// text", "//", "//", "// more"},
		{"// a", "/* b */"},
		{"/* F does. */"},
		{"/*", " * F does.", " */"},
		{"/*", "F does.", "*/"},
		{"/*", "  F does.", "", "", "Really.", "*/"},
		{"//line x.go:1", "// F does."},
		{"//export F", "// F does."},
		{"//   "},
		{"// F does.", "//go:build x"},
		{"// F does.", "// +build x"},
	}
	for _, doc := range docs {
		// A /* */ comment spans the lines given.
		src := "package p\n\n" + strings.Join(joinBlock(doc), "\n") + "\nfunc F() {}\n"
		out, err := format.Source([]byte(src))
		if err != nil {
			t.Fatalf("%q: %v", doc, err)
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "", out, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		if d := f.Decls[0].(*ast.FuncDecl).Doc; d != nil {
			for _, c := range d.List {
				want = append(want, c.Text)
			}
		}
		in := joinBlock(doc)
		got, changed := docForm(in)
		if got == nil && changed {
			continue // a build constraint: counted as changed
		}
		if !slices.Equal(got, want) || changed != !slices.Equal(in, want) {
			t.Errorf("docForm(%q) = %q, %v; gofmt prints %q", in, got, changed, want)
		}
	}
}

// joinBlock joins the lines of a /* */ comment given line by line into
// one comment.
func joinBlock(doc []string) []string {
	if len(doc) > 1 && doc[0] == "/*" {
		return []string{strings.Join(doc, "\n")}
	}
	return doc
}

// TestDocsToReformat checks docsToReformat against gofmt on files that
// are gofmt'd but for their doc comments.
func TestDocsToReformat(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		"package p\n\n// F does.\nfunc F() {}\n",
		"package p\n\n// F does.\n//overmind:function\nfunc F() {}\n",
		"package p\n\n//Not a doc comment.\n\n// F does.\nfunc F() {}\n",
		"package p\n\n//Not a doc comment.\n\n// F does.\n//overmind:function\nfunc F() {}\n",
		"package p\n\nvar x = 1 // x\n// F does.\n//go:noinline\nfunc F() {}\n",
		"package p\n\nvar u = \"http://x\"\n\n// F does.\nfunc F() {}\n",
		"/*\nLicense.\n*/\n\npackage p\n",
		"/*\nDoc.\n*/\npackage p\n",
		"/*\n  Doc.\n*/\npackage p\n",
		"package p\n\nfunc F() {\n\t// inside\n\t//go:noinline\n\tprintln()\n}\n",
		"package p\n\n// T is.\n// x:y\ntype T int\n",
		"package p\n\n// T is.\n//\t\tcode\ntype T int\n",
	} {
		formatted, err := format.Source([]byte(src))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := docsToReformat([]byte(src)), !bytes.Equal(formatted, []byte(src)); got != want {
			t.Errorf("docsToReformat(%q) = %v; gofmt changes it: %v", src, got, want)
		}
	}
}
