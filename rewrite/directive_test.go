package rewrite

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
	"testing"
)

func TestParseDirective(t *testing.T) {
	tests := []struct {
		text    string
		ok      bool
		want    Directive
		wantErr string // substring; "" for no error
		offset  int    // byte offset of the error
	}{
		{text: "// just a comment"},
		{text: "//go:generate overmind instrument"},
		{text: "// overmind:tool"},
		{text: "//overmind:tool", ok: true, want: Directive{Kind: KindTool, Type: "tool_call"}},
		{text: "//overmind:tool lookup_order", ok: true, want: Directive{Kind: KindTool, Name: "lookup_order", Type: "tool_call"}},
		{text: "//overmind:entry_point\thandle  capture=none", ok: true, want: Directive{Kind: KindEntryPoint, Name: "handle", Type: "entry_point", Capture: CaptureNone}},
		{text: "//overmind:workflow capture=inputs", ok: true, want: Directive{Kind: KindWorkflow, Type: "workflow", Capture: CaptureInputs}},
		{text: "//overmind:function capture=outputs", ok: true, want: Directive{Kind: KindFunction, Type: "function", Capture: CaptureOutputs}},
		{text: "//overmind:llm chat capture=all", ok: true, want: Directive{Kind: KindLLM, Name: "chat", Type: "llm_call"}},
		{text: "//overmind:observe", ok: true, want: Directive{Kind: KindObserve, Type: "function"}},
		{text: "//overmind:observe rank type=retrieval", ok: true, want: Directive{Kind: KindObserve, Name: "rank", Type: "retrieval"}},
		{text: "//overmind:observe type=tool", ok: true, want: Directive{Kind: KindObserve, Type: "tool_call"}},
		{text: "//overmind:observe type=tool_call", ok: true, want: Directive{Kind: KindObserve, Type: "tool_call"}},
		{text: `//overmind:observe "score a=b" type="my type"`, ok: true, want: Directive{Kind: KindObserve, Name: "score a=b", Type: "my type"}},
		{text: "//overmind:tool `raw name`", ok: true, want: Directive{Kind: KindTool, Name: "raw name", Type: "tool_call"}},
		{text: "//overmind:ignore", ok: true, want: Directive{Kind: KindIgnore}},
		{text: "//overmind:entry_point handle user=userID conversation=threadID capture=none", ok: true, want: Directive{
			Kind: KindEntryPoint, Name: "handle", Type: "entry_point", Capture: CaptureNone,
			Labels: []LabelOption{{Key: "user", Param: "userID", Offset: 30}, {Key: "conversation", Param: "threadID", Offset: 42}},
		}},
		{text: "//overmind:tool session=s workflow=w agent=a", ok: true, want: Directive{
			Kind: KindTool, Type: "tool_call",
			Labels: []LabelOption{{Key: "session", Param: "s", Offset: 16}, {Key: "workflow", Param: "w", Offset: 26}, {Key: "agent", Param: "a", Offset: 37}},
		}},

		{text: "//overmind:", ok: true, wantErr: "missing directive kind", offset: 11},
		{text: "//overmind: tool", ok: true, wantErr: "missing directive kind", offset: 11},
		{text: "//overmind:tols", ok: true, wantErr: "did you mean //overmind:tool?", offset: 11},
		{text: "//overmind:Workflow", ok: true, wantErr: "did you mean //overmind:workflow?", offset: 11},
		{text: "//overmind:zzz", ok: true, wantErr: "want entry_point, workflow, tool, function, llm, observe or ignore", offset: 11},
		{text: "//overmind:tool a b", ok: true, wantErr: `unexpected "b"`, offset: 18},
		{text: "//overmind:tool capture=none a", ok: true, wantErr: `unexpected "a"`, offset: 29},
		{text: "//overmind:tool x=1", ok: true, wantErr: "unknown option x=", offset: 16},
		{text: "//overmind:tool capture=maybe", ok: true, wantErr: "unknown capture=maybe", offset: 16},
		{text: "//overmind:tool capture=none capture=none", ok: true, wantErr: "given twice", offset: 29},
		{text: "//overmind:tool type=retrieval", ok: true, wantErr: "type= is only for //overmind:observe", offset: 16},
		{text: "//overmind:observe type=", ok: true, wantErr: "empty type=", offset: 19},
		{text: "//overmind:ignore x", ok: true, wantErr: "takes no name or options", offset: 18},
		{text: `//overmind:tool "open`, ok: true, wantErr: "unterminated", offset: 16},
		{text: `//overmind:tool a"b"`, ok: true, wantErr: "quote inside a word", offset: 17},
		{text: `//overmind:tool "a"b`, ok: true, wantErr: "missing space after quoted string", offset: 19},
		{text: `//overmind:tool ""`, ok: true, wantErr: "empty span name", offset: 16},
		{text: "//overmind:tool user=u.ID", ok: true, wantErr: `user= takes the name of a parameter, not "u.ID"`, offset: 16},
		{text: "//overmind:tool user=_", ok: true, wantErr: "user= takes the name of a parameter", offset: 16},
		{text: `//overmind:tool user=""`, ok: true, wantErr: "user= takes the name of a parameter", offset: 16},
		{text: "//overmind:tool user=a user=b", ok: true, wantErr: "option user= given twice", offset: 23},
		{text: "//overmind:tool colour=red", ok: true, wantErr: "(want type=, capture=, user=, session=, conversation=, workflow= or agent=)", offset: 16},
	}
	for _, tt := range tests {
		d, ok, err := ParseDirective(tt.text)
		if ok != tt.ok {
			t.Errorf("%q: ok = %v, want %v", tt.text, ok, tt.ok)
			continue
		}
		if tt.wantErr != "" {
			pe, isPE := err.(*ParseError)
			if !isPE || !strings.Contains(pe.Msg, tt.wantErr) || pe.Offset != tt.offset {
				t.Errorf("%q: error %v (offset %v), want %q at %d", tt.text, err, offsetOf(err), tt.wantErr, tt.offset)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: unexpected error %v", tt.text, err)
			continue
		}
		if !reflect.DeepEqual(d, tt.want) {
			t.Errorf("%q: got %+v, want %+v", tt.text, d, tt.want)
		}
	}
}

func offsetOf(err error) int {
	if pe, ok := err.(*ParseError); ok {
		return pe.Offset
	}
	return -1
}

func TestDefaultName(t *testing.T) {
	src := `package p
type T[A, B any] struct{}
type U struct{}
func F() {}
func (T[A, B]) M() {}
func (*U) P() {}
func (u *(U)) Q() {}
`
	f, err := parser.ParseFile(token.NewFileSet(), "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range f.Decls[2:] {
		got = append(got, DefaultName(d.(*ast.FuncDecl)))
	}
	want := "F T.M U.P U.Q"
	if strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
}

// FuzzParseDirective checks that the parser never panics, that errors
// point inside the text, and that what parses is consistent.
func FuzzParseDirective(f *testing.F) {
	for _, s := range []string{
		"//overmind:tool lookup_order", "//overmind:observe x type=retrieval capture=none",
		`//overmind:tool "a b" capture=inputs`, "//overmind:", "//overmind:ignore", "// overmind:tool",
		"//overmind:tool `x`", `//overmind:tool "\"" type="a`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		d, ok, err := ParseDirective(text)
		if !ok {
			if err != nil || strings.HasPrefix(text, Prefix) {
				t.Fatalf("%q: ok=false with err=%v", text, err)
			}
			return
		}
		if err != nil {
			pe := err.(*ParseError)
			if pe.Offset < 0 || pe.Offset > len(text) {
				t.Fatalf("%q: error offset %d out of range", text, pe.Offset)
			}
			return
		}
		if !knownKind(d.Kind) {
			t.Fatalf("%q: unknown kind %q accepted", text, d.Kind)
		}
		if (d.Type == "") != (d.Kind == KindIgnore) {
			t.Fatalf("%q: kind %s with type %q", text, d.Kind, d.Type)
		}
	})
}
