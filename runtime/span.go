package overmind

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/unwind"
)

// Span is a span opened by [StartSpan]. A nil *Span, which StartSpan
// returns before Init, is valid: its methods do nothing.
type Span Call

// StartSpan opens a span around a block of code that is not a function of
// its own: a loop iteration, a branch, a step of a longer function. It is
// the Go form of the Python SDK's "with start_span(...)"; defer End right
// after it, as with a mutex's Unlock, so that every return and panic ends
// the span (in a loop, wrap the body in a function literal):
//
//	for i, doc := range documents {
//		func() {
//			ctx, span := overmind.StartSpan(ctx, overmind.SpanTypeFunction, "process_document",
//				attribute.Int("doc.index", i))
//			defer span.End()
//			result, err := process(ctx, doc)
//			span.SetError(err)
//			overmind.SetTag(ctx, "doc.tokens", result.Tokens)
//		}()
//	}
//
// A span that is never ended is never exported. It stays its goroutine's
// current span until the goroutine exits, and is forgotten then (and at
// Shutdown), so it cannot become the parent of a later goroutine's spans.
//
// The parent is ctx's span if ctx carries one, else the goroutine's current
// span; until End, the new span is the goroutine's current span, so
// functions called without a context nest under it too. An empty typ means
// SpanTypeFunction. attrs are set when the span starts. Unlike generated
// code, StartSpan records no inputs or outputs: attach what you want with
// attrs or [SetTag].
func StartSpan(ctx context.Context, typ SpanType, name string, attrs ...attribute.KeyValue) (context.Context, *Span) {
	st := active.Load()
	if st == nil || isRecording() {
		return ctx, nil
	}
	ctx, c, _ := st.enter(ctx, typ, name, "", nil, attrs)
	return ctx, (*Span)(c)
}

// SetError records the outcome of the block: at End the span is marked
// failed with err, or cancelled when err is (or wraps) context.Canceled or
// context.DeadlineExceeded. A nil err clears an earlier one.
func (s *Span) SetError(err error) {
	if s != nil {
		s.err = err
	}
}

// End ends the span: failed if SetError recorded an error, else success.
// Deferred directly (defer span.End()), it also records a panic passing
// through (status failed, error type "panic") without recovering it, and
// a runtime.Goexit (status failed, error type "goexit"), as an
// instrumented function's span does. End may be called from any
// goroutine; calls after the first do nothing.
func (s *Span) End() {
	if s == nil {
		return
	}
	c := (*Call)(s)
	if c.st.recoverPanics {
		if r := recover(); r != nil {
			c.exit(panicked(r), nil, nil)
			panic(r)
		}
	}
	c.exit(endingOf(unwind.Of()), s.err, nil)
}

// OTel returns the underlying OpenTelemetry span, for what the runtime has
// no helper for (events, links, ...). For a nil *Span it returns a no-op
// span.
func (s *Span) OTel() trace.Span {
	if s == nil {
		return trace.SpanFromContext(context.Background())
	}
	return s.span
}
