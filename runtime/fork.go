package overmind

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/gls"
)

// Goroutines keep their trace: Python copies its context variables into
// every asyncio task; in Go, a goroutine is the task, and it starts with
// no current span. Fork takes the current span on the goroutine that
// starts another, and Adopt, first thing on the new goroutine, makes it
// that goroutine's current span, so that instrumented functions called
// there without a context nest under it:
//
//	h := overmind.Fork()
//	go func() {
//		h.Adopt()
//		summarize(docs) // a child of the span current where Fork ran
//	}()
//
// Go, Wrap and WrapErr do the same in one line for goroutines started
// elsewhere (errgroup, sync.WaitGroup.Go, worker pools).

// Forked is a span taken by [Fork] on one goroutine to become the current
// span of another. Its zero value, which Fork returns when tracing is off
// or the goroutine has no current span, does nothing.
type Forked struct {
	span trace.Span
	// ctx carries span; spans started on the adopting goroutine without
	// a context of their own take it as their parent context.
	ctx context.Context
	st  *state
	// labels are span's labels when Fork ran, for spans the adopting
	// goroutine starts after span has ended and its labels are gone.
	labels *labels
}

// Fork returns the calling goroutine's current span, for a goroutine it
// is about to start to [Forked.Adopt]. It costs one atomic load when
// tracing is off, and allocates nothing.
func Fork() Forked {
	if active.Load() == nil {
		return Forked{}
	}
	if c := currentCall(); c != nil {
		return Forked{span: unwrapAdopted(c.span), ctx: c.ctx, st: c.st, labels: forkLabels(c.span)}
	}
	return Forked{}
}

// forkLabels returns span's labels, if any: those it has, or those it was
// adopted with.
func forkLabels(span trace.Span) *labels {
	if !labelsUsed.Load() {
		return nil
	}
	if l := labelsOfSpan(span.SpanContext().SpanID()); l != nil {
		return l
	}
	if a, ok := span.(adoptedSpan); ok {
		return a.labels
	}
	return nil
}

// unwrapAdopted returns the span an adopted entry stands for.
func unwrapAdopted(span trace.Span) trace.Span {
	if a, ok := span.(adoptedSpan); ok {
		return a.Span
	}
	return span
}

// ForkContext is [Fork] for a context: it returns ctx's span if ctx
// carries one, else the calling goroutine's current span. One line starts
// a goroutine whose context-less callees nest under ctx's span:
//
//	go overmind.ForkContext(ctx).Run(func() { summarize(docs) })
func ForkContext(ctx context.Context) Forked {
	st := active.Load()
	if st == nil {
		return Forked{}
	}
	if ctx != nil {
		if span, ok := spanOf(ctx); ok && span.SpanContext().IsValid() {
			l := forkLabels(span)
			if cl, _ := carriedLabels(ctx); cl != nil {
				l = l.merge(cl)
			}
			return Forked{span: span, ctx: ctx, st: st, labels: l}
		}
	}
	return Fork()
}

// Adopt makes f's span the calling goroutine's current span. Call it first
// thing on a new goroutine; nothing needs undoing when the goroutine
// exits. The span stays the goroutine's current one (below the spans the
// goroutine opens itself) for as long as the goroutine runs, even after
// the span has ended, so that work that outlives the function that started
// it stays in its trace, as an asyncio task does. On a goroutine that runs
// on after the work (a pool's worker), use [Forked.Run] instead, which
// hands the span back when the work returns.
func (f Forked) Adopt() {
	if f.span != nil {
		f.adopt()
	}
}

// adopt pushes f's span on the calling goroutine's stack and returns the
// entry, for Run to remove.
func (f Forked) adopt() *Call {
	span, ctx := f.span, f.ctx
	if f.labels != nil {
		// Spans started with a context nest through span, those started
		// without one through ctx: both carry the labels.
		span = adoptedSpan{Span: span, labels: f.labels}
		ctx = context.WithValue(ctx, labelsKey{}, f.labels)
	}
	c := &Call{callState: callState{span: span, ctx: ctx, st: f.st, adopted: true}}
	c.node.Value = c
	calls.Push(&c.node, nil)
	return c
}

// Run calls fn with f's span as the calling goroutine's current span, and
// restores the goroutine's own current span when fn returns or panics. A
// panic in fn continues unchanged.
func (f Forked) Run(fn func()) {
	if f.span == nil {
		fn()
		return
	}
	c := f.adopt()
	defer calls.Remove(&c.node)
	fn()
}

// runErr is Run for a function that returns an error.
func (f Forked) runErr(fn func() error) error {
	if f.span == nil {
		return fn()
	}
	c := f.adopt()
	defer calls.Remove(&c.node)
	return fn()
}

// Go runs fn in a new goroutine whose current span is the calling
// goroutine's current span: the go statement of a traced function.
// When tracing is off it is exactly go fn().
func Go(fn func()) {
	f := Fork()
	if f.span == nil {
		go fn()
		return
	}
	go f.Run(fn)
}

// Wrap returns fn, wrapped so that wherever it runs, its current span is
// the span current where Wrap was called: for sync.WaitGroup.Go and worker
// pools, which start fn on a goroutine of their own.
//
//	wg.Go(overmind.Wrap(func() { summarize(docs) }))
//
// When tracing is off, or the calling goroutine has no current span, it
// returns fn itself.
func Wrap(fn func()) func() {
	f := Fork()
	if f.span == nil {
		return fn
	}
	return func() { f.Run(fn) }
}

// WrapErr is [Wrap] for a function that returns an error, such as the
// functions errgroup runs:
//
//	g.Go(overmind.WrapErr(func() error { return fetch(ctx, url) }))
func WrapErr(fn func() error) func() error {
	f := Fork()
	if f.span == nil {
		return fn
	}
	return func() error { return f.runErr(fn) }
}

// panicTarget returns the call a panic through a call pushed over below
// reaches next: below's, unless below is an adopted entry, which stands
// for a frame of another goroutine.
func panicTarget(below *gls.Node[*Call]) *Call {
	if below == nil || below.Value.adopted {
		return nil
	}
	return below.Value
}

// adoptedSpan is the span of an adopted entry whose span had labels: spans
// started under it get those labels even after the span has ended and
// its labels are forgotten (see labelProcessor.OnStart).
type adoptedSpan struct {
	trace.Span
	labels *labels
}

// adoptedLive reports whether an adopted entry still stands for its
// goroutine's parent span. Where the goroutine stacks detect a goroutine
// that reuses the runtime structure of one that exited (amd64 and arm64
// with the gc toolchain), an entry lives as long as its goroutine, and is
// dropped with it. Elsewhere a stack left behind could be mistaken for a
// later goroutine's, so an entry lives only while its span records.
func adoptedLive(c *Call) bool {
	return gls.DetectsReuse() || c.span.IsRecording()
}
