// Package spantree renders one trace as an indented tree of spans, the
// form the runtime's debug output prints on stderr and `overmind trace`
// prints for a trace read back from a server:
//
//	overmind ─ trace 4bf92f3577b34da6a3ce929d0e0e4736 ─ 3 spans ─ 12.4ms
//	handle_request  entry_point  12.4ms  success
//	└─ research  workflow  10.1ms  success
//	   └─ web_search  tool_call  3.2ms  failed
//	        inputs   {"query":"golang"}
//	        error    *errors.errorString: rate limited
//
// It works on a neutral span model ([Span]) so that both the runtime, with
// OpenTelemetry SDK spans, and the client, with spans of the traces API,
// can use it; it imports nothing but the standard library.
package spantree

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// DetailLength is the number of characters of inputs, outputs and errors
// shown on a detail line.
const DetailLength = 160

// Status is a span's OpenTelemetry status code.
type Status int

// The OpenTelemetry status codes, with OTLP's numbers.
const (
	StatusUnset Status = 0
	StatusOK    Status = 1
	StatusError Status = 2
)

// Span is one span as the tree needs it.
type Span struct {
	// SpanID identifies the span within its trace. ParentID is its
	// parent's SpanID, or "" for none. A span whose parent is not among
	// the trace's spans is drawn as a root.
	SpanID, ParentID string
	Name             string
	Start, End       time.Time
	Status           Status
	// Attrs holds attribute values as text: strings as they are, numbers
	// and booleans as Go prints them, lists as JSON.
	Attrs map[string]string
}

// Trace is the spans of one trace, in any order.
type Trace struct {
	// ID is the trace ID as 32 hex digits.
	ID    string
	Spans []Span
	// Omitted counts spans of the trace that are not in Spans.
	Omitted int
	// Partial marks a trace printed before its root ended.
	Partial bool
}

// Attribute keys the tree reads.
const (
	keySpanType       = "overmind.span.type"
	keyStatus         = "overmind.status"
	keyErrorType      = "overmind.error.type"
	keyErrorMessage   = "overmind.error.message"
	keyInputs         = "inputs"
	keyOutputs        = "outputs"
	keyUserID         = "user.id"
	keyWorkflowName   = "traceloop.workflow.name"
	keyAgentName      = "gen_ai.agent.name"
	keyConversationID = "conversation.id"
	keyModel          = "gen_ai.request.model"
	keyInputTokens    = "gen_ai.usage.input_tokens"
	keyOutputTokens   = "gen_ai.usage.output_tokens"
)

// ANSI styles, used only in color.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// Render renders t: a header line, then each root's subtree. Children
// appear under their parent in start order; color adds ANSI styles. A
// trace without spans renders as its header alone.
func Render(t Trace, color bool) string {
	roots, children := forest(t.Spans)
	r := renderer{color: color, children: children}
	r.header(t.ID, len(t.Spans)+t.Omitted, roots, t.Partial)
	for _, root := range roots {
		r.span(root, "", "", true)
	}
	if t.Omitted > 0 {
		r.b.WriteString(fmt.Sprintf("(%d more span%s not shown)\n", t.Omitted, plural(t.Omitted)))
	}
	r.b.WriteString("\n")
	return r.b.String()
}

// forest sorts spans into trees: the roots, the spans whose parent is not
// among spans, and the children of each span, each in start order.
func forest(spans []Span) (roots []*Span, children map[string][]*Span) {
	byID := make(map[string]bool, len(spans))
	for i := range spans {
		byID[spans[i].SpanID] = true
	}
	children = map[string][]*Span{}
	for i := range spans {
		s := &spans[i]
		if s.ParentID != "" && byID[s.ParentID] {
			children[s.ParentID] = append(children[s.ParentID], s)
		} else {
			roots = append(roots, s)
		}
	}
	slices.SortStableFunc(roots, byStart)
	for _, kids := range children {
		slices.SortStableFunc(kids, byStart)
	}
	return roots, children
}

// byStart orders spans by their start time.
func byStart(a, b *Span) int { return a.Start.Compare(b.Start) }

// renderer writes the tree of one trace's spans.
type renderer struct {
	b        strings.Builder
	color    bool
	children map[string][]*Span // in start order
}

// style wraps s in the ANSI style code when printing in color.
func (r *renderer) style(code, s string) string {
	if !r.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

// header writes the trace's first line: its ID, its number of spans, the
// time from its first root's start to its roots' last end, and whether
// it is partial.
func (r *renderer) header(id string, count int, roots []*Span, partial bool) {
	header := "overmind ─ trace " + id
	header += fmt.Sprintf(" ─ %d span%s", count, plural(count))
	if len(roots) > 0 {
		start, end := roots[0].Start, roots[0].End
		for _, root := range roots[1:] {
			if root.End.After(end) {
				end = root.End
			}
		}
		header += " ─ " + FormatDuration(end.Sub(start))
	}
	if partial {
		header += " ─ partial (its root is still open, or ended before these spans)"
	}
	r.b.WriteString(r.style(ansiBold, header) + "\n")
}

// span writes span s and, below it, its details and its children's
// subtrees. prefix is what the lines of s's level begin with, branch the
// connector drawn before s ("" for a root).
func (r *renderer) span(s *Span, prefix, branch string, root bool) {
	line := prefix + branch + r.style(ansiBold, s.Name)
	if typ := s.Attrs[keySpanType]; typ != "" {
		line += "  " + r.style(ansiCyan, typ)
	}
	line += "  " + FormatDuration(s.End.Sub(s.Start))
	status, statusColor := spanStatus(s)
	line += "  " + r.style(statusColor, status)
	r.b.WriteString(line + "\n")

	// Detail lines line up under the span's name.
	kids := r.children[s.SpanID]
	childPrefix := prefix + continuation(branch)
	detailPrefix := childPrefix + "  "
	if len(kids) > 0 {
		detailPrefix = childPrefix + "│ "
	}
	for _, d := range details(s.Attrs, root) {
		r.b.WriteString(detailPrefix + "   " + r.style(ansiDim, fmt.Sprintf("%-8s", d[0])) + " " + d[1] + "\n")
	}
	for i, k := range kids {
		br := "├─ "
		if i == len(kids)-1 {
			br = "└─ "
		}
		r.span(k, childPrefix, br, false)
	}
}

// continuation is what a child's prefix adds below a span drawn with
// branch: a vertical line while the span's siblings continue.
func continuation(branch string) string {
	switch branch {
	case "├─ ":
		return "│  "
	case "└─ ":
		return "   "
	}
	return ""
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// spanStatus is overmind.status when the span has one, else derived from
// the OpenTelemetry status, with the color to print it in.
func spanStatus(s *Span) (string, string) {
	status := s.Attrs[keyStatus]
	if status == "" {
		switch s.Status {
		case StatusError:
			status = "error"
		case StatusOK:
			status = "ok"
		default:
			status = "ended"
		}
	}
	switch status {
	case "success", "ok":
		return status, ansiGreen
	case "cancelled":
		return status, ansiYellow
	case "failed", "error":
		return status, ansiRed
	}
	return status, ansiDim
}

// details are the labelled lines printed under a span: what a reader looks
// for first when a trace goes wrong.
func details(attrs map[string]string, root bool) [][2]string {
	var out [][2]string
	add := func(label string, value string) {
		if value != "" {
			out = append(out, [2]string{label, shorten(value)})
		}
	}
	if root {
		add("user", attrs[keyUserID])
		add("workflow", attrs[keyWorkflowName])
		add("agent", attrs[keyAgentName])
		add("convo", attrs[keyConversationID])
	}
	add("model", attrs[keyModel])
	if in, out := attrs[keyInputTokens], attrs[keyOutputTokens]; in != "" || out != "" {
		add("tokens", fmt.Sprintf("%s in, %s out", orDash(in), orDash(out)))
	}
	add("inputs", attrs[keyInputs])
	add("outputs", attrs[keyOutputs])
	if typ, msg := attrs[keyErrorType], attrs[keyErrorMessage]; typ != "" || msg != "" {
		add("error", strings.TrimPrefix(typ+": "+msg, ": "))
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shorten keeps a detail on one line of at most DetailLength characters,
// the last of them "…" when it was cut.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= DetailLength {
		return s
	}
	n := 0
	for i := range s {
		if n == DetailLength-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// FormatDuration prints durations the way people read them: 850µs,
// 12.4ms, 1.25s.
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < time.Minute:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// Colorable reports whether w is a terminal that colors will not garble
// (and NO_COLOR is not set): whether to Render in color for it.
func Colorable(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
