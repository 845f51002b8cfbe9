package llmcapture

import (
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// This file moves most of a call's cost off the caller's path. Parsing the
// request and response and writing the content attributes can wait until
// the span is exported: the caller's goroutine ends the span with what it
// started with, and the rest of its attributes, and its status, are
// computed the first time a span processor or exporter reads them, which
// for a batching exporter is on its own goroutine.
//
// It takes the span processors' cooperation: [Engine.Processor] wraps a
// processor so that an ended span whose attributes were deferred reaches
// it as a span that computes them when read. Every processor then sees the
// same attributes and status as if they had been set before the span
// ended. The engine defers only when [Deps.DeferAttributes] says that every
// processor is so wrapped, and only what it may: the span limits of the
// environment (OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT and the like), which
// the SDK applies to attributes set on a span, must not apply, and the
// bodies kept until export must be no larger than the attributes they make
// would be.

// maxDeferredBytes bounds the bodies a deferred call keeps until its span
// is exported: about what its content attributes, capped, would take.
const maxDeferredBytes = 6 * DefaultMaxAttributeBytes

// deferredCalls maps the span of each call whose attributes are deferred
// to its completion while the span ends, for the wrapped processors'
// OnEnd; the entry is removed once End returns.
type deferredCalls struct {
	n     atomic.Int64 // entries, so that OnEnd skips the map when 0
	calls sync.Map     // trace.SpanID -> *completion
}

// deferrable reports whether the attributes of c, which ended with o, may
// be computed late.
func (e *Engine) deferrable(c *call, o *outcome) bool {
	return e.deps.DeferAttributes && spanLimitsAllowDefer &&
		int64(len(c.reqBody.text))+o.read <= maxDeferredBytes
}

// spanLimitsAllowDefer is whether the span limits of the environment,
// which the SDK applies to the attributes set on a span, are loose enough
// never to apply to a call's: no cap on the length of a value, and room
// for every attribute.
var spanLimitsAllowDefer = func() bool {
	l := sdktrace.NewSpanLimits()
	return l.AttributeValueLengthLimit < 0 && (l.AttributeCountLimit < 0 || l.AttributeCountLimit >= 64)
}()

// endDeferred ends the call's span now and leaves its completion
// attributes to be computed when they are first read.
func (c *call) endDeferred(o outcome, attempts int) {
	d := &completion{c: c, o: o, attempts: attempts}
	id := c.span.SpanContext().SpanID()
	def := &c.e.deferred
	def.calls.Store(id, d)
	def.n.Add(1)
	defer func() {
		def.calls.Delete(id)
		def.n.Add(-1)
	}()
	c.span.End(trace.WithTimestamp(o.end))
}

// completion is the end of a call whose attributes are deferred.
type completion struct {
	c        *call
	o        outcome
	attempts int

	once   sync.Once
	attrs  []attribute.KeyValue
	status sdktrace.Status

	// spanOnce makes the one span every processor gets.
	spanOnce sync.Once
	span     *completedSpan
}

// compute computes the attributes and status once; a panic leaves them
// empty.
func (d *completion) compute() {
	d.once.Do(func() {
		defer func() {
			if recover() != nil {
				d.attrs, d.status = nil, sdktrace.Status{}
			}
		}()
		w := d.c.e.writer()
		defer w.release()
		d.attrs, d.status = d.c.completeAttrs(make([]attribute.KeyValue, 0, 32), &w, d.o, d.attempts)
		d.o, d.c.reqBody = outcome{}, bodyText{} // the bodies are no longer needed
	})
}

// spanOf returns the span processors get for s, the ended span.
func (d *completion) spanOf(s sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	d.spanOnce.Do(func() { d.span = &completedSpan{ReadOnlySpan: s, d: d} })
	return d.span
}

// completedSpan is an ended span whose deferred attributes and status are
// computed when first read.
type completedSpan struct {
	sdktrace.ReadOnlySpan
	d *completion

	once  sync.Once
	attrs []attribute.KeyValue
}

// Attributes returns the span's attributes: those it ended with, then the
// deferred ones, with a repeated key keeping its first place and its last
// value, as the SDK sets them.
func (s *completedSpan) Attributes() []attribute.KeyValue {
	s.once.Do(func() {
		s.d.compute()
		s.attrs = mergeAttrs(s.ReadOnlySpan.Attributes(), s.d.attrs)
	})
	return s.attrs
}

// Status returns the span's status, which the deferred computation sets
// when the call failed.
func (s *completedSpan) Status() sdktrace.Status {
	s.d.compute()
	if s.d.status.Code != codes.Unset {
		return s.d.status
	}
	return s.ReadOnlySpan.Status()
}

// mergeAttrs returns base followed by more, deduplicated as the SDK
// deduplicates a span's attributes (a repeated key keeps its first place
// and its last value). more, made by completeAttrs, repeats no key of its
// own, so only its keys that base has are looked for, without a map.
func mergeAttrs(base, more []attribute.KeyValue) []attribute.KeyValue {
	out := make([]attribute.KeyValue, len(base), len(base)+len(more))
	copy(out, base)
next:
	for _, kv := range more {
		for i := range base {
			if out[i].Key == kv.Key {
				out[i] = kv
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// Processor wraps p, a span processor of the tracer provider the engine's
// spans are made by, so that a span whose attributes the engine deferred
// reaches p's OnEnd as a span that computes them when read. A program
// that sets Deps.DeferAttributes must wrap every processor of the provider
// so. The wrappers of equal processors are equal, so that a wrapper made
// again unregisters the one registered.
func (e *Engine) Processor(p sdktrace.SpanProcessor) sdktrace.SpanProcessor {
	return processor{SpanProcessor: p, e: e}
}

type processor struct {
	sdktrace.SpanProcessor
	e *Engine
}

func (p processor) OnEnd(s sdktrace.ReadOnlySpan) {
	if def := &p.e.deferred; def.n.Load() > 0 {
		if d, ok := def.calls.Load(s.SpanContext().SpanID()); ok {
			s = d.(*completion).spanOf(s)
		}
	}
	p.SpanProcessor.OnEnd(s)
}
