package rewrite

import (
	"fmt"
	"go/ast"
	"go/token"
	"strconv"
	"strings"

	"github.com/overmind-core/overmind-go/internal/spankind"
)

// Prefix starts every directive: "//overmind:KIND", with no space after the
// slashes, like //go:generate.
const Prefix = "//overmind:"

// Kind is what a directive asks for: the word right after [Prefix].
type Kind string

// The directive kinds. Each but [KindObserve] and [KindIgnore] fixes the
// span type; observe takes it from its type= option.
const (
	KindEntryPoint Kind = "entry_point"
	KindWorkflow   Kind = "workflow"
	KindTool       Kind = "tool"
	KindFunction   Kind = "function"
	KindLLM        Kind = "llm"
	KindObserve    Kind = "observe"
	// KindIgnore opts a function out of instrumentation. It is reserved for
	// an instrument-everything mode and does nothing today.
	KindIgnore Kind = "ignore"
)

// kinds lists the kinds in the order messages mention them.
var kinds = []Kind{KindEntryPoint, KindWorkflow, KindTool, KindFunction, KindLLM, KindObserve, KindIgnore}

// spanTypes maps each kind with a fixed span type to that type, the value
// of the overmind.span.type attribute (from the one table, spankind.Kinds).
var spanTypes = func() map[Kind]string {
	m := map[Kind]string{}
	for _, k := range spankind.Kinds {
		m[Kind(k.Directive)] = k.Type
	}
	return m
}()

// Capture says which sides of a call a span records.
//
// Inputs are read when the function is entered, before its body runs, and
// outputs when it returns, by the generated code: without any lock the
// function takes. A parameter that reaches state other goroutines change
// under a mutex (a map, a slice, a struct behind a pointer) is read
// unsynchronized, a data race that for a map can crash the program
// ("concurrent map iteration and map write"). Functions handed shared
// mutable state should use capture=none, or capture=outputs when only
// their parameters reach it.
type Capture uint8

// The capture= values.
const (
	CaptureAll     Capture = iota // capture=all, the default: inputs and outputs
	CaptureNone                   // capture=none: neither (Python's observe_safe)
	CaptureInputs                 // capture=inputs: the parameters only
	CaptureOutputs                // capture=outputs: the results only
)

var captureNames = map[string]Capture{
	"all":     CaptureAll,
	"none":    CaptureNone,
	"inputs":  CaptureInputs,
	"outputs": CaptureOutputs,
}

// Inputs reports whether parameters are recorded.
func (c Capture) Inputs() bool { return c == CaptureAll || c == CaptureInputs }

// Outputs reports whether results are recorded.
func (c Capture) Outputs() bool { return c == CaptureAll || c == CaptureOutputs }

// String returns the capture= value that selects c.
func (c Capture) String() string {
	for name, v := range captureNames {
		if v == c {
			return name
		}
	}
	return fmt.Sprintf("Capture(%d)", uint8(c))
}

// Directive is one parsed //overmind: comment.
type Directive struct {
	Kind Kind
	// Name is the span name as written, or "" when the directive has none;
	// see [Directive.SpanName] for the name actually used.
	Name string
	// Type is the span type: fixed by Kind, or from observe's type= option
	// (default "function"). Empty for ignore.
	Type    string
	Capture Capture
	// Labels are the label options (user=, session=, conversation=,
	// workflow=, agent=), in the order written: each names a parameter
	// whose value labels the span and every span below it.
	Labels []LabelOption

	// Pos is the position of the comment's "//". Decl is the function
	// declaration whose doc comment holds the directive. Both are set by
	// [FindDirectives] and zero from [ParseDirective].
	Pos  token.Pos
	Decl *ast.FuncDecl
}

// SpanName is the span's name: the directive's NAME, or by default the
// function's name, "Recv.Method" for a method (see [DefaultName]).
func (d *Directive) SpanName() string {
	if d.Name != "" || d.Decl == nil {
		return d.Name
	}
	return DefaultName(d.Decl)
}

// ParseError is a malformed directive. Offset is the byte offset, within
// the comment text, of the part that is wrong.
type ParseError struct {
	Offset int
	Msg    string
	// Others are the further problems of the same directive, in order:
	// every bad option is reported, not only the first.
	Others []*ParseError
}

func (e *ParseError) Error() string { return e.Msg }

// ParseDirective parses the text of one line comment, such as
// "//overmind:tool lookup_order capture=inputs". It returns ok == false
// when text is not a directive at all (it does not start with [Prefix]),
// and a *[ParseError] when it is one but is malformed.
//
// The grammar is
//
//	//overmind:KIND [NAME] [key=value ...]
//
// with words separated by spaces or tabs. NAME and values may be written as
// Go string literals to hold spaces or "=". The options are type= (observe
// only: the span type, either a directive kind or any word such as
// "retrieval"), capture= (all, none, inputs or outputs), and the label
// options user=, session=, conversation=, workflow= and agent=, each
// naming a parameter (see [LabelOption]).
func ParseDirective(text string) (d Directive, ok bool, err error) {
	if !strings.HasPrefix(text, Prefix) {
		return Directive{}, false, nil
	}
	words, err := splitWords(text, len(Prefix))
	if err != nil {
		return Directive{}, true, err
	}
	if len(words) == 0 || words[0].offset != len(Prefix) {
		return Directive{}, true, &ParseError{Offset: len(Prefix), Msg: "missing directive kind after " + Prefix}
	}
	kw := words[0]
	d.Kind = Kind(kw.text)
	if !knownKind(d.Kind) {
		msg := fmt.Sprintf("unknown directive %s%s (want %s)", Prefix, kw.text, kindList())
		if s := suggestKind(kw.text); s != "" {
			msg = fmt.Sprintf("unknown directive %s%s: did you mean %s%s?", Prefix, kw.text, Prefix, s)
		}
		return Directive{}, true, &ParseError{Offset: kw.offset, Msg: msg}
	}
	d.Type = spanTypes[d.Kind]
	if d.Kind == KindObserve {
		d.Type = spanTypes[KindFunction]
	}
	var errs []*ParseError
	fail := func(offset int, format string, args ...any) {
		errs = append(errs, &ParseError{Offset: offset, Msg: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	for _, w := range words[1:] {
		if d.Kind == KindIgnore {
			fail(w.offset, "%signore takes no name or options", Prefix)
			break
		}
		key, value, isOption := w.option()
		switch {
		case !isOption && (d.Name != "" || len(seen) > 0):
			fail(w.offset, "unexpected %q: the name comes first, once, and options are key=value", w.raw)
		case !isOption && w.text == "":
			fail(w.offset, "empty span name")
		case !isOption:
			d.Name = w.text
		case seen[key]:
			fail(w.offset, "option %s= given twice", key)
		default:
			seen[key] = true
			if err := d.setOption(key, value, w.offset); err != nil {
				errs = append(errs, err.(*ParseError))
			}
		}
	}
	if len(errs) > 0 {
		errs[0].Others = errs[1:]
		return Directive{}, true, errs[0]
	}
	return d, true, nil
}

func (d *Directive) setOption(key, value string, offset int) error {
	switch key {
	case "type":
		if d.Kind != KindObserve {
			return &ParseError{Offset: offset, Msg: fmt.Sprintf("type= is only for %sobserve: %s%s has span type %s", Prefix, Prefix, d.Kind, d.Type)}
		}
		if value == "" {
			return &ParseError{Offset: offset, Msg: "empty type="}
		}
		if t, ok := spanTypes[Kind(value)]; ok {
			value = t
		}
		d.Type = value
	case "capture":
		c, ok := captureNames[value]
		if !ok {
			return &ParseError{Offset: offset, Msg: fmt.Sprintf("unknown capture=%s (want all, none, inputs or outputs)", value)}
		}
		d.Capture = c
	case "user", "session", "conversation", "workflow", "agent":
		if !token.IsIdentifier(value) || value == "_" {
			return &ParseError{Offset: offset, Msg: fmt.Sprintf("%s= takes the name of a parameter, not %q", key, value)}
		}
		d.Labels = append(d.Labels, LabelOption{Key: key, Param: value, Offset: offset})
	default:
		return &ParseError{Offset: offset, Msg: fmt.Sprintf("unknown option %s= (want type=, capture=, user=, session=, conversation=, workflow= or agent=)", key)}
	}
	return nil
}

// LabelOption is a label option of a directive, key=param: the value of
// the parameter param labels the span, and every span below it, with the
// label key (user, session, conversation, workflow or agent).
type LabelOption struct {
	Key, Param string
	// Offset is the byte offset of the option in the comment.
	Offset int
}

// word is one space-separated word of a directive.
type word struct {
	raw    string // as written
	text   string // unquoted
	offset int    // byte offset of raw in the comment
	// eq is the index in raw of the "=" of a key=value word, or -1.
	eq int
}

func (w word) option() (key, value string, ok bool) {
	if w.eq < 0 {
		return "", "", false
	}
	return w.raw[:w.eq], w.text, true
}

// splitWords splits text[start:] into words. A word that starts with a
// quote, or whose value after "=" does, is a Go string literal.
func splitWords(text string, start int) ([]word, error) {
	var words []word
	i := start
	for i < len(text) {
		if text[i] == ' ' || text[i] == '\t' {
			i++
			continue
		}
		w := word{offset: i, eq: -1}
		j := i
		for j < len(text) && text[j] != ' ' && text[j] != '\t' {
			c := text[j]
			if c == '=' && w.eq < 0 && j > i {
				w.eq = j - i
			}
			if c == '"' || c == '`' {
				if j != i && !(w.eq >= 0 && j == i+w.eq+1) {
					return nil, &ParseError{Offset: j, Msg: "quote inside a word: quote the whole name or value"}
				}
				lit, err := quotedPrefix(text[j:])
				if err != nil {
					return nil, &ParseError{Offset: j, Msg: "malformed quoted string: " + err.Error()}
				}
				j += len(lit)
				if j < len(text) && text[j] != ' ' && text[j] != '\t' {
					return nil, &ParseError{Offset: j, Msg: "missing space after quoted string"}
				}
				break
			}
			j++
		}
		w.raw = text[i:j]
		w.text = w.raw
		if w.eq >= 0 {
			w.text = w.raw[w.eq+1:]
		}
		if w.text != "" && (w.text[0] == '"' || w.text[0] == '`') {
			s, err := strconv.Unquote(w.text)
			if err != nil {
				return nil, &ParseError{Offset: i, Msg: "malformed quoted string: " + err.Error()}
			}
			w.text = s
		}
		words = append(words, w)
		i = j
	}
	return words, nil
}

// quotedPrefix returns the Go string literal at the start of s.
func quotedPrefix(s string) (string, error) {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if q == '"' {
				i++
			}
		case q:
			return s[:i+1], nil
		}
	}
	return "", fmt.Errorf("unterminated %c", q)
}

func knownKind(k Kind) bool {
	for _, known := range kinds {
		if k == known {
			return true
		}
	}
	return false
}

func kindList() string {
	var b strings.Builder
	for i, k := range kinds {
		switch {
		case i == len(kinds)-1:
			b.WriteString(" or ")
		case i > 0:
			b.WriteString(", ")
		}
		b.WriteString(string(k))
	}
	return b.String()
}

// suggestKind returns the kind closest to an unknown word, if one is close.
func suggestKind(s string) string {
	best, bestDist := "", 3
	for _, k := range kinds {
		if d := editDistance(strings.ToLower(s), string(k)); d < bestDist {
			best, bestDist = string(k), d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// DefaultName is the span name a directive without NAME gets: the
// function's name, or "Recv.Method" for a method, with no "*" and no type
// parameters ("Stack.Push" for func (s *Stack[T]) Push).
func DefaultName(decl *ast.FuncDecl) string {
	if decl.Recv == nil || len(decl.Recv.List) == 0 {
		return decl.Name.Name
	}
	if recv := receiverTypeName(decl.Recv.List[0].Type); recv != "" {
		return recv + "." + decl.Name.Name
	}
	return decl.Name.Name
}

// receiverTypeName is the base type name of a receiver type expression.
func receiverTypeName(x ast.Expr) string {
	for {
		switch t := x.(type) {
		case *ast.ParenExpr:
			x = t.X
		case *ast.StarExpr:
			x = t.X
		case *ast.IndexExpr:
			x = t.X
		case *ast.IndexListExpr:
			x = t.X
		case *ast.Ident:
			return t.Name
		default:
			return ""
		}
	}
}

// spacedDirective reports whether a comment looks like a directive written
// with a space, "// overmind:tool": a comment the toolchain and this package
// ignore. Only a known kind after the colon counts, so prose that happens
// to mention "overmind:" is left alone.
func spacedDirective(text string) (kind string, ok bool) {
	rest, found := strings.CutPrefix(text, "//")
	if !found {
		return "", false
	}
	trimmed := strings.TrimLeft(rest, " \t")
	if len(trimmed) == len(rest) {
		return "", false
	}
	after, found := strings.CutPrefix(trimmed, "overmind:")
	if !found {
		return "", false
	}
	word := after
	if i := strings.IndexAny(after, " \t"); i >= 0 {
		word = after[:i]
	}
	// gofmt puts a space into "//overmind:Tool", so case does not matter.
	if !knownKind(Kind(strings.ToLower(word))) {
		return "", false
	}
	return strings.ToLower(word), true
}

// FindDirectives returns the directives of a file, each attached to its
// function, and the problems found: malformed directives, directives that
// are not in the doc comment of a function with a body, functions with
// more than one directive, and (as warnings) directives written with a
// space after "//". It needs syntax only: file must have been parsed with
// comments.
//
// An ignore directive is returned like the others; instrumenters skip it.
func FindDirectives(fset *token.FileSet, file *ast.File) ([]*Directive, []Diagnostic) {
	docs := map[*ast.CommentGroup]*ast.FuncDecl{}
	for _, decl := range file.Decls {
		if fd, ok := decl.(*ast.FuncDecl); ok && fd.Doc != nil {
			docs[fd.Doc] = fd
		}
	}
	var (
		dirs  []*Directive
		diags []Diagnostic
		byFn  = map[*ast.FuncDecl]*Directive{}
	)
	report := func(pos token.Pos, sev Severity, format string, args ...any) {
		diags = append(diags, Diagnostic{Pos: fset.Position(pos), Severity: sev, Message: fmt.Sprintf(format, args...)})
	}
	for _, group := range file.Comments {
		for _, c := range group.List {
			if kind, ok := spacedDirective(c.Text); ok {
				report(c.Pos(), Warning, "%q is ignored: write %s%s with no space after //", firstWords(c.Text), Prefix, kind)
				continue
			}
			if c.Text == onelineMarker {
				continue // part of generated code; see strip.go
			}
			d, ok, err := ParseDirective(c.Text)
			if !ok {
				continue
			}
			if err != nil {
				pe := err.(*ParseError)
				for _, e := range append([]*ParseError{pe}, pe.Others...) {
					report(c.Pos()+token.Pos(min(e.Offset, len(c.Text))), Error, "%s", e.Msg)
				}
				continue
			}
			fd := docs[group]
			if fd == nil {
				report(c.Pos(), Error, "misplaced %s%s: a directive goes in the doc comment of a function or method declaration", Prefix, d.Kind)
				continue
			}
			if fd.Body == nil {
				report(c.Pos(), Error, "%s%s on %s, which has no body", Prefix, d.Kind, fd.Name.Name)
				continue
			}
			if why := neverRecorded(file, fd); why != "" {
				report(c.Pos(), Warning, "%s%s on %s is ignored: %s", Prefix, d.Kind, fd.Name.Name, why)
				continue
			}
			if first := byFn[fd]; first != nil {
				report(c.Pos(), Error, "second directive on %s (the first is at line %d): use one", fd.Name.Name, fset.Position(first.Pos).Line)
				continue
			}
			d.Pos, d.Decl = c.Pos(), fd
			byFn[fd] = &d
			dirs = append(dirs, &d)
		}
	}
	return dirs, diags
}

// neverRecorded says why a span of fd could never be recorded, or "".
// Package initializers run before main, so before overmind.Init can be
// called; main runs before it too, and its span could only end after
// main's own deferred overmind.Shutdown has flushed the program's spans.
func neverRecorded(file *ast.File, fd *ast.FuncDecl) string {
	if fd.Recv != nil {
		return ""
	}
	switch {
	case fd.Name.Name == "init":
		return "init functions run before main, before overmind.Init can start tracing; put the directive on a function init calls, and call that after Init"
	case fd.Name.Name == "main" && file.Name.Name == "main":
		return "main starts before it can call overmind.Init, and its span would end only after its deferred overmind.Shutdown; put the directive on a function main calls after Init"
	}
	return ""
}

// firstWords shortens a comment for a message.
func firstWords(text string) string {
	const max = 40
	if len(text) <= max {
		return text
	}
	return text[:max] + "..."
}
