package overmind

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/redact"
)

// Limits of the debug tree's buffer: traces whose root has not ended yet.
const (
	debugMaxTraces    = 256  // pending traces; the oldest is printed partial
	debugMaxSpans     = 2000 // spans kept per trace; the rest are counted
	debugDetailLength = 160  // characters of inputs, outputs and errors shown
)

// debugTree is the span processor behind OVERMIND_DEBUG: it collects the
// spans of each trace and, when the trace's local root ends, prints the
// whole trace as an indented tree, one trace at a time.
type debugTree struct {
	mu      sync.Mutex
	w       io.Writer
	color   bool
	pending map[trace.TraceID]*pendingTrace
	order   []trace.TraceID // arrival order of pending, for eviction
}

type pendingTrace struct {
	spans   []sdktrace.ReadOnlySpan
	omitted int
}

func newDebugTree(w io.Writer) *debugTree {
	return &debugTree{w: w, color: isTerminal(w), pending: map[trace.TraceID]*pendingTrace{}}
}

// isTerminal reports whether w is a terminal that colors will not garble
// (and NO_COLOR is not set).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

func (d *debugTree) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (d *debugTree) OnEnd(s sdktrace.ReadOnlySpan) {
	id := s.SpanContext().TraceID()
	d.mu.Lock()
	defer d.mu.Unlock()
	pt := d.pending[id]
	if pt == nil {
		pt = &pendingTrace{}
		d.pending[id] = pt
		d.order = append(d.order, id)
	}
	if len(pt.spans) < debugMaxSpans {
		pt.spans = append(pt.spans, s)
	} else {
		pt.omitted++
	}
	if parent := s.Parent(); !parent.IsValid() || parent.IsRemote() {
		d.print(id, pt, false)
		return
	}
	for len(d.pending) > debugMaxTraces {
		oldest := d.order[0]
		if old := d.pending[oldest]; old != nil {
			d.print(oldest, old, true)
		} else {
			d.order = d.order[1:]
		}
	}
}

// print writes trace id and forgets it. The caller holds d.mu.
func (d *debugTree) print(id trace.TraceID, pt *pendingTrace, partial bool) {
	delete(d.pending, id)
	if i := slices.Index(d.order, id); i >= 0 {
		d.order = slices.Delete(d.order, i, i+1)
	}
	io.WriteString(d.w, renderTree(pt.spans, pt.omitted, partial, d.color))
}

// flushPending prints the traces whose root never ended, at Shutdown.
func (d *debugTree) flushPending() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.order) > 0 {
		id := d.order[0]
		if pt := d.pending[id]; pt != nil {
			d.print(id, pt, true)
		} else {
			d.order = d.order[1:]
		}
	}
}

func (d *debugTree) Shutdown(context.Context) error   { return nil }
func (d *debugTree) ForceFlush(context.Context) error { return nil }

// ANSI styles, used only on a terminal.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// renderTree renders one trace:
//
//	overmind ─ trace 4bf92f3577b34da6a3ce929d0e0e4736 ─ 3 spans ─ 12.4ms
//	handle_request  entry_point  12.4ms  success
//	└─ research  workflow  10.1ms  success
//	   └─ web_search  tool_call  3.2ms  failed
//	        inputs   {"query":"golang"}
//	        error    *errors.errorString: rate limited
//
// Children appear under their parent in start order. Spans whose parent is
// not in the trace (it is remote, or still open) are printed as roots.
func renderTree(spans []sdktrace.ReadOnlySpan, omitted int, partial, color bool) string {
	roots, children := spanForest(spans)
	r := treeRenderer{color: color, children: children}
	r.header(spans[0].SpanContext().TraceID(), len(spans)+omitted, roots, partial)
	for _, root := range roots {
		r.span(root, "", "", true)
	}
	if omitted > 0 {
		r.b.WriteString(fmt.Sprintf("(%d more span%s not shown)\n", omitted, plural(omitted)))
	}
	r.b.WriteString("\n")
	return r.b.String()
}

// spanForest sorts spans into trees: the roots, the spans whose parent is
// not among spans, and the children of each span, each in start order.
func spanForest(spans []sdktrace.ReadOnlySpan) (roots []sdktrace.ReadOnlySpan, children map[trace.SpanID][]sdktrace.ReadOnlySpan) {
	byID := map[trace.SpanID]bool{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = true
	}
	children = map[trace.SpanID][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		if p := s.Parent(); p.IsValid() && byID[p.SpanID()] {
			children[p.SpanID()] = append(children[p.SpanID()], s)
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
func byStart(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) }

// treeRenderer writes the tree of one trace's spans.
type treeRenderer struct {
	b        strings.Builder
	color    bool
	children map[trace.SpanID][]sdktrace.ReadOnlySpan // in start order
}

// style wraps s in the ANSI style code when printing in color.
func (r *treeRenderer) style(code, s string) string {
	if !r.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

// header writes the trace's first line: its ID, its number of spans, the
// time from its first root's start to its roots' last end, and whether
// it is partial.
func (r *treeRenderer) header(id trace.TraceID, count int, roots []sdktrace.ReadOnlySpan, partial bool) {
	header := "overmind ─ trace " + id.String()
	header += fmt.Sprintf(" ─ %d span%s", count, plural(count))
	if len(roots) > 0 {
		start, end := roots[0].StartTime(), roots[0].EndTime()
		for _, root := range roots[1:] {
			if root.EndTime().After(end) {
				end = root.EndTime()
			}
		}
		header += " ─ " + formatDuration(end.Sub(start))
	}
	if partial {
		header += " ─ partial (its root is still open, or ended before these spans)"
	}
	r.b.WriteString(r.style(ansiBold, header) + "\n")
}

// span writes span s and, below it, its details and its children's
// subtrees. prefix is what the lines of s's level begin with, branch the
// connector drawn before s ("" for a root).
func (r *treeRenderer) span(s sdktrace.ReadOnlySpan, prefix, branch string, root bool) {
	attrs := attrMap(s.Attributes())
	line := prefix + branch + r.style(ansiBold, s.Name())
	if typ := attrs[attrSpanType].AsString(); typ != "" {
		line += "  " + r.style(ansiCyan, typ)
	}
	line += "  " + formatDuration(s.EndTime().Sub(s.StartTime()))
	status, statusColor := spanStatus(s, attrs)
	line += "  " + r.style(statusColor, status)
	r.b.WriteString(line + "\n")

	// Detail lines line up under the span's name.
	kids := r.children[s.SpanContext().SpanID()]
	childPrefix := prefix + continuation(branch)
	detailPrefix := childPrefix + "  "
	if len(kids) > 0 {
		detailPrefix = childPrefix + "│ "
	}
	for _, d := range details(attrs, root) {
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

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// spanStatus is overmind.status when the span has one, else derived from
// the OpenTelemetry status, with the color to print it in.
func spanStatus(s sdktrace.ReadOnlySpan, attrs map[attribute.Key]attribute.Value) (string, string) {
	status := attrs[attrStatus].AsString()
	if status == "" {
		switch s.Status().Code {
		case codes.Error:
			status = "error"
		case codes.Ok:
			status = "ok"
		default:
			status = "ended"
		}
	}
	switch status {
	case statusSuccess, "ok":
		return status, ansiGreen
	case statusCancelled:
		return status, ansiYellow
	case statusFailed, "error":
		return status, ansiRed
	}
	return status, ansiDim
}

// details are the labelled lines printed under a span: what a reader looks
// for first when a trace goes wrong.
func details(attrs map[attribute.Key]attribute.Value, root bool) [][2]string {
	var out [][2]string
	add := func(label string, value string) {
		if value != "" {
			out = append(out, [2]string{label, shorten(value)})
		}
	}
	str := func(key string) string {
		v, ok := attrs[attribute.Key(key)]
		if !ok {
			return ""
		}
		return v.Emit()
	}
	if root {
		add("user", str(attrUserID))
		add("workflow", str(attrWorkflowName))
		add("agent", str(attrAgentName))
		add("convo", str(attrConversationID))
	}
	add("model", str("gen_ai.request.model"))
	if in, out := str("gen_ai.usage.input_tokens"), str("gen_ai.usage.output_tokens"); in != "" || out != "" {
		add("tokens", fmt.Sprintf("%s in, %s out", orDash(in), orDash(out)))
	}
	add("inputs", str(attrInputs))
	add("outputs", str(attrOutputs))
	if typ, msg := str(attrErrorType), str(attrErrorMessage); typ != "" || msg != "" {
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

// shorten keeps a detail on one line of reasonable length.
func shorten(s string) string {
	return redact.Shorten(strings.Join(strings.Fields(s), " "), debugDetailLength)
}

// formatDuration prints durations the way people read them: 850µs,
// 12.4ms, 1.25s.
func formatDuration(d time.Duration) string {
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
