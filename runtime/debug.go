package overmind

import (
	"context"
	"io"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/internal/spantree"
)

// Limits of the debug tree's buffer: traces whose root has not ended yet.
const (
	debugMaxTraces = 256  // pending traces; the oldest is printed partial
	debugMaxSpans  = 2000 // spans kept per trace; the rest are counted
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
	return &debugTree{w: w, color: spantree.Colorable(w), pending: map[trace.TraceID]*pendingTrace{}}
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

// renderTree renders one trace with the span tree shared with `overmind
// trace` (package spantree). Spans whose parent is not in the trace (it
// is remote, or still open) are printed as roots.
func renderTree(spans []sdktrace.ReadOnlySpan, omitted int, partial, color bool) string {
	t := spantree.Trace{ID: spans[0].SpanContext().TraceID().String(), Omitted: omitted, Partial: partial}
	t.Spans = make([]spantree.Span, len(spans))
	for i, s := range spans {
		t.Spans[i] = treeSpan(s)
	}
	return spantree.Render(t, color)
}

// treeSpan is s in the span tree's model.
func treeSpan(s sdktrace.ReadOnlySpan) spantree.Span {
	ts := spantree.Span{
		SpanID: s.SpanContext().SpanID().String(),
		Name:   s.Name(),
		Start:  s.StartTime(),
		End:    s.EndTime(),
		Attrs:  make(map[string]string, len(s.Attributes())),
	}
	if p := s.Parent(); p.IsValid() {
		ts.ParentID = p.SpanID().String()
	}
	switch s.Status().Code {
	case codes.Error:
		ts.Status = spantree.StatusError
	case codes.Ok:
		ts.Status = spantree.StatusOK
	}
	for _, kv := range s.Attributes() {
		ts.Attrs[string(kv.Key)] = kv.Value.Emit()
	}
	return ts
}

// formatDuration prints durations the way people read them: 850µs,
// 12.4ms, 1.25s.
func formatDuration(d time.Duration) string { return spantree.FormatDuration(d) }
