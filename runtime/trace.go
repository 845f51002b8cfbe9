package overmind

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/redact"
)

// TraceOptions describe the trace [StartTrace] opens: who it works for,
// what it belongs to, and its id. Every field is optional.
type TraceOptions struct {
	// TraceID is the OpenTelemetry trace id to use, so that the trace can
	// be found by an id the program chose: 32 hexadecimal digits (the W3C
	// form), an OpenAI Agents id ("trace_" and 32 hexadecimal digits), or
	// a UUID. Check an id with [ParseTraceID]; an invalid one is not used:
	// the trace gets a random id and records the rejected value as
	// overmind.trace.invalid_id.
	TraceID string
	// UserID is the end user the trace works for (user.id).
	UserID string
	// SessionID groups several traces into one session (session.id).
	SessionID string
	// ConversationID ties the turns of a conversation together
	// (conversation.id and gen_ai.conversation.id); the OpenAI Agents
	// SDK's group_id.
	ConversationID string
	// ExternalID correlates the trace with an id of the program's own
	// system, such as a request or ticket id
	// (overmind.trace.external_id).
	ExternalID string
	// Attributes are arbitrary metadata (mv37 attributes, OpenAI Agents
	// metadata).
	Attributes []attribute.KeyValue
	// Type is the root span's type; empty means SpanTypeEntryPoint.
	Type SpanType
	// Disabled makes the trace record nothing: no span is started for it
	// or for any span below it (instrumented functions, StartSpan,
	// provider calls), and each of those costs about what it costs before
	// Init.
	Disabled bool
}

// StartTrace opens a new trace: a root span named name, even when ctx or
// the calling goroutine has a current span, which is its parent no
// longer. It is the Go form of mv37's client.trace(...) and the OpenAI
// Agents SDK's trace(workflow_name, ...). Defer End right after it:
//
//	ctx, tr := overmind.StartTrace(ctx, "support_agent", overmind.TraceOptions{
//		UserID:         customer.ID,
//		ConversationID: threadID,
//	})
//	defer tr.End()
//	overmind.RecordMessage(ctx, overmind.Message{Role: "user", Content: question})
//
// The root span and every span below it (through the returned context or
// the goroutine's current span, provider calls included) carry the
// trace's identity: name as the workflow name (traceloop.workflow.name,
// gen_ai.workflow.name), and the user, session, conversation, external id
// and attributes of opts. Labels that ctx carries (from [SetUser] in
// middleware, say) apply too, unless opts sets the same. Until End, the
// root span is the goroutine's current span, as with [StartSpan].
//
// Before Init it returns ctx and a nil *Span, whose methods do nothing.
func StartTrace(ctx context.Context, name string, opts TraceOptions) (context.Context, *Span) {
	st := active.Load()
	if st == nil {
		return ctx, nil
	}
	return st.startTrace(ctx, name, opts)
}

// startTrace is StartTrace once tracing is on. It is kept out of line, and
// takes opts by value, so that opts is not moved to the heap by calls made
// before Init.
//
//go:noinline
func (st *state) startTrace(ctx context.Context, name string, opts TraceOptions) (context.Context, *Span) {
	base := ctx
	if base == nil {
		base = context.Background()
	} else if _, ok := spanContextOf(base); !ok {
		base = context.Background() // its Value method panics
	}
	var tid trace.TraceID
	var err error = errNoTraceID
	if opts.TraceID != "" {
		tid, err = ParseTraceID(opts.TraceID)
	}
	if opts.Disabled {
		return st.startDisabled(base, tid, err == nil)
	}

	labelsUsed.Store(true)
	carried, _ := carriedLabels(base)
	l := carried.forNewTrace().merge(&labels{
		workflow: name, userID: opts.UserID, session: opts.SessionID,
		conversation: opts.ConversationID, externalID: opts.ExternalID, extra: opts.Attributes,
	})
	attrs := []attribute.KeyValue{attribute.String(attrSpanType, string(rootType(opts.Type)))}
	parent := context.WithValue(trace.ContextWithSpanContext(base, trace.SpanContext{}), labelsKey{}, l)
	switch {
	case err == nil:
		parent = context.WithValue(parent, traceIDKey{}, tid)
	case opts.TraceID != "":
		attrs = append(attrs, attribute.String(attrTraceInvalidRequested, redact.Shorten(opts.TraceID, 128)))
	}
	_, span := st.tracer.Start(parent, name, trace.WithNewRoot(), trace.WithAttributes(attrs...))

	// The labels of the trace's spans name its root, for RecordTraceMessage.
	if span.IsRecording() {
		rooted := *l
		rooted.root = span
		l = &rooted
		setSpanLabels(span.SpanContext().SpanID(), l)
	}
	spanCtx := trace.ContextWithSpan(context.WithValue(base, labelsKey{}, l), span)
	return spanCtx, (*Span)(st.push(span, spanCtx))
}

// push makes span, started in spanCtx, the goroutine's current span, and
// returns its call for End.
func (st *state) push(span trace.Span, spanCtx context.Context) *Call {
	c := &Call{callState: callState{span: span, ctx: spanCtx, st: st}}
	c.node.Value = c
	c.below = panicTarget(calls.Push(&c.node, nil))
	c.start = time.Now()
	return c
}

// forNewTrace returns the labels a context carries without those that
// belong to the trace they were set in: its root, external id and
// attributes. The user, session, conversation and agent carry over.
func (l *labels) forNewTrace() *labels {
	if l == nil || (l.root == nil && l.externalID == "" && len(l.extra) == 0) {
		return l
	}
	m := *l
	m.root, m.externalID, m.extra = nil, "", nil
	m.attrs = m.build()
	return &m
}

func rootType(t SpanType) SpanType {
	if t == "" {
		return SpanTypeEntryPoint
	}
	return t
}

// ParseTraceID checks a trace id for [TraceOptions.TraceID] and returns it
// as an OpenTelemetry trace id. It accepts 32 hexadecimal digits (the W3C
// trace id, in either case), an OpenAI Agents id ("trace_" followed by 32
// hexadecimal digits) and a UUID (8-4-4-4-12 hexadecimal digits), and
// rejects anything else, including the all-zero id, which OpenTelemetry
// reserves.
func ParseTraceID(id string) (trace.TraceID, error) {
	s := strings.ToLower(strings.TrimSpace(id))
	s = strings.TrimPrefix(s, "trace_")
	if len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' {
		s = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	}
	if len(s) == 32 && strings.Trim(s, "0") == "" {
		return trace.TraceID{}, fmt.Errorf("overmind: trace id %q is all zeros, which OpenTelemetry reserves for no trace", id)
	}
	tid, err := trace.TraceIDFromHex(s)
	if len(s) != 32 || err != nil {
		return trace.TraceID{}, fmt.Errorf("overmind: trace id %q: want 32 hexadecimal digits, \"trace_\" and 32 hexadecimal digits, or a UUID", redact.Shorten(id, 64))
	}
	return tid, nil
}

// errNoTraceID stands for the parse error of an empty TraceOptions.TraceID.
var errNoTraceID = errors.New("no trace id")

// traceIDKey carries the trace id StartTrace asks for to the id
// generator, in the parent context of the trace's root span only.
type traceIDKey struct{}

// idGenerator is the tracer provider's id generator: random ids, as the
// SDK's default, except for the root span of a trace StartTrace opened
// with a trace id.
type idGenerator struct{}

func (idGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if tid, ok := requestedTraceID(ctx); ok {
		return tid, randomSpanID()
	}
	return randomTraceID(), randomSpanID()
}

func (idGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	return randomSpanID()
}

// requestedTraceID returns the trace id ctx asks for, surviving a context
// whose Value method panics.
func requestedTraceID(ctx context.Context) (tid trace.TraceID, ok bool) {
	defer func() {
		if recover() != nil {
			tid, ok = trace.TraceID{}, false
		}
	}()
	tid, ok = ctx.Value(traceIDKey{}).(trace.TraceID)
	return tid, ok
}

func randomTraceID() trace.TraceID {
	var tid trace.TraceID
	for !tid.IsValid() {
		binary.NativeEndian.PutUint64(tid[:8], rand.Uint64())
		binary.NativeEndian.PutUint64(tid[8:], rand.Uint64())
	}
	return tid
}

func randomSpanID() trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() || sid == disabledSpanID {
		binary.NativeEndian.PutUint64(sid[:], rand.Uint64())
	}
	return sid
}

// A disabled trace is a span context with this span id, not sampled: a
// valid parent, so that OpenTelemetry instrumentation below it (and other
// services it calls, through the propagated traceparent) drops its spans
// as children of an unsampled span, and one the runtime recognizes, so
// that instrumented functions below it start nothing at all.
var disabledSpanID = trace.SpanID{'o', 'm', '-', 'o', 'f', 'f', 0, 1}

// inDisabledTrace reports whether parent, a context the runtime is about
// to start a span in, is inside a trace opened with Disabled.
func inDisabledTrace(parent context.Context) bool {
	return trace.SpanContextFromContext(parent).SpanID() == disabledSpanID
}

// startDisabled opens a disabled trace: a span context that records
// nothing, carried by the returned context and made the goroutine's
// current span until End.
func (st *state) startDisabled(base context.Context, tid trace.TraceID, haveID bool) (context.Context, *Span) {
	if !haveID {
		tid = randomTraceID()
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: disabledSpanID})
	ctx := trace.ContextWithSpanContext(base, sc)
	return ctx, (*Span)(st.push(trace.SpanFromContext(ctx), ctx))
}

// gatedTracer is the tracer the provider capture and Tracer() start spans
// with: inside a disabled trace it starts none and returns the disabled
// trace's span.
type gatedTracer struct{ trace.Tracer }

func (g gatedTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if inDisabledTrace(ctx) {
		return ctx, trace.SpanFromContext(ctx)
	}
	return g.Tracer.Start(ctx, name, opts...)
}

// TraceID returns the id of the span's trace as 32 hexadecimal digits, or
// "" for a nil *Span (before Init, or in a disabled trace's spans).
func (s *Span) TraceID() string {
	if s == nil {
		return ""
	}
	return s.span.SpanContext().TraceID().String()
}
