package overmind

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/gls"
	"github.com/overmind-core/overmind-go/runtime/internal/jsonvalue"
	"github.com/overmind-core/overmind-go/runtime/internal/redact"
	"github.com/overmind-core/overmind-go/runtime/internal/unwind"
)

// Attribute keys of the span contract shared with the other Overmind SDKs.
const (
	attrSpanType     = "overmind.span.type"
	attrStatus       = "overmind.status"
	attrDuration     = "overmind.duration.seconds"
	attrErrorType    = "overmind.error.type"
	attrErrorMessage = "overmind.error.message"
	attrInputs       = "inputs"
	attrOutputs      = "outputs"
	attrCodeFunction = "code.function.name"
	attrCodeNS       = "code.namespace"
	attrToolName     = "tool.name"
)

// Values of overmind.status.
const (
	statusSuccess   = "success"
	statusFailed    = "failed"
	statusCancelled = "cancelled"
)

// callState is what a Call (and a Span, which is the same thing opened by
// StartSpan) holds between its start and its end.
type callState struct {
	span trace.Span
	// ctx carries span. It is the parent context of spans this goroutine
	// starts without a context of their own while span is its current one.
	ctx   context.Context
	start time.Time
	// node links the call into its goroutine's stack of open calls.
	node gls.Node[*Call]
	// ended is set when the call ends, before it leaves the stack.
	ended atomic.Bool
	// err is the error recorded by Span.SetError, reported at End.
	err error
	// st is the tracing state the call was opened under.
	st *state
	// below is the goroutine's current call when this one started: the
	// next instrumented frame a panic through this one reaches, if it is
	// instrumented. Cleared when the call ends.
	below *Call
	// passing is set by a call nested in this one that recorded a panic
	// on its way up to this one, so that this one records the same panic
	// without taking the stack again.
	passing atomic.Pointer[panicNote]
	// origin is the span, given by a context, that the goroutine's chain
	// of calls leading to this one starts from (see parentAndOrigin).
	origin trace.SpanID
	// allowed is how many bytes the call may record, and inputBytes how
	// many its inputs took (see budget.go). Written when the call starts,
	// read by calls its goroutine starts while it is open.
	allowed, inputBytes int
	// adopted marks the entry Forked.Adopt pushes for another goroutine's
	// span: it is never exited, and lives as adoptedLive says.
	adopted bool
}

// calls holds every goroutine's stack of open calls: the top one is the
// goroutine's current span.
var calls gls.Stacks[*Call]

// liveCall reports whether an entry of a goroutine's stack is still open.
// An entry whose span was ended behind the runtime's back (through the raw
// OpenTelemetry API) is stale and skipped.
func liveCall(c *Call) bool {
	if c.ended.Load() {
		return false
	}
	if c.adopted {
		return adoptedLive(c)
	}
	return !c.span.SpanContext().IsSampled() || c.span.IsRecording()
}

// currentCall returns the calling goroutine's current call, or nil.
func currentCall() *Call {
	if n := calls.Top(liveCall); n != nil {
		return n.Value
	}
	return nil
}

// enter is the shared implementation of the Enter functions. It returns a
// nil *Call when tracing is off: before Init, that is a single atomic load.
// A nil or unusable ctx (see parentOf) is returned as it is, so that the
// instrumented function sees the context it was given; the span still
// becomes the goroutine's current one, for callees to nest under.
func enter(ctx context.Context, typ SpanType, name, function string, inputs func(*Values)) (context.Context, *Call) {
	st := active.Load()
	if st == nil || isRecording() {
		return ctx, nil
	}
	spanCtx, c, usable := st.enter(ctx, typ, name, function, inputs, nil)
	if !usable {
		return ctx, c
	}
	return spanCtx, c
}

// enter opens a span and makes it the goroutine's current one. The parent
// is ctx's span if ctx carries one, else the goroutine's current span.
// The call joins the goroutine's stack only once its span exists: span
// processors run inside Start and may call the helpers. usable is
// parentOf's: false when ctx is nil or unusable, and the returned context
// then derives from the fallback parent instead of ctx.
func (st *state) enter(ctx context.Context, typ SpanType, name, function string, inputs func(*Values), extra []attribute.KeyValue) (_ context.Context, _ *Call, usable bool) {
	parent, psc, usable, origin := parentAndOrigin(ctx)
	if psc.SpanID() == disabledSpanID {
		return ctx, nil, usable // StartTrace's Disabled: nothing below it records
	}

	var buf [4]attribute.KeyValue
	attrs := append(buf[:0], attribute.String(attrSpanType, string(spanType(typ))))
	if function != "" {
		ns, fn := splitFunction(function)
		attrs = append(attrs, attribute.String(attrCodeNS, ns), attribute.String(attrCodeFunction, fn))
	}
	if typ == SpanTypeTool {
		attrs = append(attrs, attribute.String(attrToolName, name))
	}
	attrs = append(attrs, extra...)

	spanCtx, span := st.tracer.Start(parent, name, trace.WithAttributes(attrs...))
	c := &Call{callState: callState{span: span, ctx: spanCtx, st: st, origin: origin}}
	c.node.Value = c
	c.below = panicTarget(calls.Push(&c.node, nil))
	c.allowed = st.allowanceAfter(c.below)
	c.start = time.Now()
	if inputs != nil && span.IsRecording() && recordsData() {
		v := getValues()
		inputs(v)
		in := encodeInputs(v, st.encoding(c.allowed))
		c.inputBytes = len(in)
		span.SetAttributes(attribute.String(attrInputs, in))
		putValues(v)
	}
	return spanCtx, c, usable
}

// parentOf returns the context a new span's parent is taken from: ctx if it
// carries a span, else the goroutine's current call on top of ctx; and the
// parent's span context. usable reports whether ctx could be used at all:
// when ctx is nil, or its Value method panics (a struct embedding a nil
// context.Context, a nil pointer of a type implementing context.Context),
// the parent is the goroutine's current call's context, or
// context.Background().
//
// One exception keeps nesting right for functions that keep their
// caller's context (generated code does not give the span's context to a
// function whose context outlives the call): when ctx's span is the
// origin of the goroutine's current call (see parentAndOrigin), that is,
// the current call descends, through calls on this goroutine, from a call
// whose parent was ctx's span, the current call is the parent.
func parentOf(ctx context.Context) (parent context.Context, psc trace.SpanContext, usable bool) {
	parent, psc, usable, _ = parentAndOrigin(ctx)
	return parent, psc, usable
}

// parentAndOrigin is parentOf, which also returns the origin of a call
// opened under that parent: the span, given by a context, that the
// goroutine's chain of calls leading to the new one starts from. A call
// whose parent comes from its context has that span as its origin; a
// call whose parent is the goroutine's current call inherits that call's
// origin.
func parentAndOrigin(ctx context.Context) (parent context.Context, psc trace.SpanContext, usable bool, origin trace.SpanID) {
	if ctx != nil {
		if sc, ok := spanContextOf(ctx); ok {
			top := calls.Top(liveCall)
			if sc.IsValid() {
				if top != nil && top.Value.origin == sc.SpanID() && top.Value.span.SpanContext().TraceID() == sc.TraceID() {
					return trace.ContextWithSpan(ctx, top.Value.span), top.Value.span.SpanContext(), true, top.Value.origin
				}
				return ctx, sc, true, sc.SpanID()
			}
			if top != nil {
				return trace.ContextWithSpan(ctx, top.Value.span), top.Value.span.SpanContext(), true, top.Value.origin
			}
			return ctx, sc, true, trace.SpanID{}
		}
	}
	if below := calls.Top(liveCall); below != nil {
		return below.Value.ctx, below.Value.span.SpanContext(), false, below.Value.origin
	}
	return context.Background(), trace.SpanContext{}, false, trace.SpanID{}
}

// spanContextOf returns the span context ctx carries; ok is false when
// ctx's Value method panics. The runtime asks every context it is given
// this way first, so that a broken context never makes it panic.
func spanContextOf(ctx context.Context) (sc trace.SpanContext, ok bool) {
	defer func() {
		if recover() != nil {
			sc, ok = trace.SpanContext{}, false
		}
	}()
	return trace.SpanContextFromContext(ctx), true
}

func spanType(t SpanType) SpanType {
	if t == "" {
		return SpanTypeFunction
	}
	return t
}

// splitFunction splits "pkg/path.Func" or "pkg/path.Recv.Method" into the
// package path and the rest. Generated code escapes the dots of the last
// path element as %2e, as the Go toolchain does in symbol names
// ("gopkg.in/yaml%2ev3.Node.Decode"), so the first dot after the last
// slash ends the package path; the namespace is returned unescaped.
func splitFunction(function string) (namespace, name string) {
	slash := strings.LastIndexByte(function, '/')
	dot := strings.IndexByte(function[slash+1:], '.')
	if dot < 0 {
		return "", function
	}
	dot += slash + 1
	namespace, name = function[:dot], function[dot+1:]
	if strings.IndexByte(namespace, '%') >= 0 {
		namespace = unescapedNamespace(namespace)
	}
	return namespace, name
}

// unescapedNamespaces caches unescapePath: the function names generated
// code passes are constants, so each escaped package path is unescaped
// once, not at every call.
var unescapedNamespaces sync.Map // escaped string -> unescaped string

func unescapedNamespace(escaped string) string {
	if u, ok := unescapedNamespaces.Load(escaped); ok {
		return u.(string)
	}
	u := unescapePath(escaped)
	unescapedNamespaces.Store(escaped, u)
	return u
}

// unescapePath decodes the %XX escapes of a symbol's package path (the
// toolchain escapes '.' in the last element, '%', and control and non-ASCII
// bytes). A '%' not followed by two hex digits is kept as is.
func unescapePath(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, okHi := unhex(s[i+1])
			lo, okLo := unhex(s[i+2])
			if okHi && okLo {
				b.WriteByte(hi<<4 | lo)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// ending is how a call ended: by returning, by a panic (with its value
// when known), or by runtime.Goexit.
type ending struct {
	reason   unwind.Reason
	value    any
	hasValue bool
}

// returned is the ending of a call that returned.
var returned = ending{}

// panicked is the ending of a call that a panic with value v went through.
func panicked(v any) ending { return ending{reason: unwind.Panicking, value: v, hasValue: true} }

// endingOf converts what package unwind reports.
func endingOf(o unwind.Outcome) ending {
	return ending{reason: o.Reason, value: o.Value, hasValue: o.HasValue}
}

// exit ends c's span, recording the outcome: how the function ended, err
// its error result, outputs its results. The outcome is set with one
// SetAttributes call: each call takes the span's lock and may grow its
// attribute slice.
func (c *Call) exit(how ending, err error, outputs func(*Values)) {
	c.releaseRequest() // request.go: the caller's request gets its context back
	if c.ended.Swap(true) {
		return // ended already
	}
	calls.Remove(&c.node)
	note := c.passing.Swap(nil)
	below := c.below
	c.below = nil
	span := c.span
	if !span.IsRecording() {
		if how.reason == unwind.Panicking && below != nil {
			below.passing.Store(note) // keep the stack for the span that has it
		}
		span.End()
		return
	}
	duration := time.Since(c.start).Seconds()
	var buf [5]attribute.KeyValue
	attrs := buf[:0]
	switch {
	case how.reason == unwind.Panicking:
		note = notePanic(note, how)
		attrs = recordPanic(span, note, attrs)
		if below != nil {
			below.passing.Store(note.passedOn())
		}
	case how.reason == unwind.Goexiting:
		attrs = recordGoexit(span, attrs)
	case err != nil:
		attrs = recordError(span, err, attrs)
	default:
		if outputs != nil && recordsData() {
			v := getValues()
			outputs(v)
			attrs = append(attrs, attribute.String(attrOutputs, encodeOutputs(v, c.st.encoding(c.allowed-c.inputBytes))))
			putValues(v)
		}
		if !hasFailed(span) && !wasCancelled(span) {
			attrs = append(attrs, attribute.String(attrStatus, statusSuccess))
		}
	}
	attrs = append(attrs, attribute.Float64(attrDuration, duration))
	span.SetAttributes(attrs...)
	span.End()
}

// encodeInputs encodes parameters as one JSON object, marked as
// recording while the encoder may call the program's methods.
func encodeInputs(v *Values, o jsonvalue.Options) (s string) {
	if !anyMayRunCode(v.values) {
		return jsonvalue.Object(v.names, v.values, o)
	}
	record(func() { s = jsonvalue.Object(v.names, v.values, o) })
	return s
}

// encodeOutputs encodes results: one result as its own JSON value, several
// as an array in order; marked as recording while the encoder may call
// the program's methods.
func encodeOutputs(v *Values, o jsonvalue.Options) (s string) {
	encode := func() {
		if len(v.values) == 1 {
			s = jsonvalue.Marshal(v.values[0], o)
		} else {
			s = jsonvalue.Array(v.values, o)
		}
	}
	if anyMayRunCode(v.values) {
		record(encode)
	} else {
		encode()
	}
	return s
}

// hasFailed reports whether span's status was already set to Error, by
// CaptureException or through the OpenTelemetry API: a function that
// returns normally afterwards does not turn it back into a success.
func hasFailed(span trace.Span) bool {
	ro, ok := span.(sdktrace.ReadOnlySpan)
	return ok && ro.Status().Code == codes.Error
}

// panicNote is what the innermost instrumented frame a panic goes
// through works out about it, handed from frame to frame as the panic
// climbs: its message and type, and the stack, which only the first
// frame records (taking it is the costly part, and every frame's stack is
// the same: the panicking goroutine's, from the panic up).
type panicNote struct {
	value    any
	hasValue bool
	typ, msg string
	stack    string // "" once recorded
}

// notePanic returns the note for a panic ending a call: note, handed up
// by a nested call, when it is about the same panic; else a new one, with
// the stack. Two notes are about the same panic when they carry the very
// same value (the same interface words), or when the value is unknown
// (see package unwind) and a nested call saw a panic too.
func notePanic(note *panicNote, how ending) *panicNote {
	if note != nil && note.hasValue == how.hasValue && (!how.hasValue || unwind.Same(note.value, how.value)) {
		return note
	}
	n := &panicNote{value: how.value, hasValue: how.hasValue, typ: "panic", stack: string(debug.Stack())}
	if how.hasValue {
		n.typ = typeName(how.value)
		record(func() { n.msg = redact.Message(panicMessage(how.value)) })
	} else {
		n.msg = panicValueUnknown
	}
	return n
}

// panicValueUnknown is the message of a panic whose value the runtime
// cannot read without recovering it (see Config.RecoverPanics).
const panicValueUnknown = "panic (its value is not recorded on this platform; see Config.RecoverPanics)"

// passedOn is the note as the next frame up sees it: the same panic,
// whose stack is recorded already.
func (n *panicNote) passedOn() *panicNote {
	if n.stack == "" {
		return n
	}
	up := *n
	up.stack = ""
	return &up
}

// recordPanic marks span failed by the panic n describes: it sets the
// OTel status and an exception event (with the stack when n has it), and
// returns attrs with the overmind.status and error attributes appended,
// for the caller to set.
func recordPanic(span trace.Span, n *panicNote, attrs []attribute.KeyValue) []attribute.KeyValue {
	event := []attribute.KeyValue{
		attribute.String("exception.type", n.typ),
		attribute.String("exception.message", n.msg),
		attribute.Bool("exception.escaped", true),
	}
	if n.stack != "" {
		event = append(event, attribute.String("exception.stacktrace", n.stack))
	}
	span.AddEvent("exception", trace.WithAttributes(event...))
	span.SetStatus(codes.Error, n.msg)
	return append(attrs,
		attribute.String(attrStatus, statusFailed),
		attribute.String(attrErrorType, "panic"),
		attribute.String(attrErrorMessage, n.msg),
	)
}

// goexitMessage is the error message of a call its goroutine left through
// runtime.Goexit.
const goexitMessage = "runtime.Goexit ended the goroutine before the function returned"

// recordGoexit marks span failed by runtime.Goexit (t.FailNow, t.Fatal,
// t.SkipNow, ...): the function did not return, so it did not succeed,
// and nothing says why; error type "goexit".
func recordGoexit(span trace.Span, attrs []attribute.KeyValue) []attribute.KeyValue {
	span.SetStatus(codes.Error, goexitMessage)
	return append(attrs,
		attribute.String(attrStatus, statusFailed),
		attribute.String(attrErrorType, "goexit"),
		attribute.String(attrErrorMessage, goexitMessage),
	)
}

// recordError marks span failed by err, or cancelled when err is (or wraps)
// context.Canceled or context.DeadlineExceeded. Like recordPanic it sets
// the OTel status and event itself (not for a cancellation, which is not a
// failure of the span) and returns the attributes to set.
func recordError(span trace.Span, err error, attrs []attribute.KeyValue) []attribute.KeyValue {
	recording.Enter() // Error, Unwrap and Is may be the program's, and instrumented
	defer recording.Leave()
	msg := redact.Message(errorMessage(err))
	typ := errorTypeName(err)
	status := statusFailed
	if isCancellation(err) {
		status = statusCancelled
	} else {
		span.AddEvent("exception", trace.WithAttributes(
			attribute.String("exception.type", typ),
			attribute.String("exception.message", msg),
		))
		span.SetStatus(codes.Error, msg)
	}
	return append(attrs,
		attribute.String(attrStatus, status),
		attribute.String(attrErrorType, typ),
		attribute.String(attrErrorMessage, msg),
	)
}

func isCancellation(err error) (cancelled bool) {
	recording.Enter()
	defer recording.Leave()
	defer func() {
		if recover() != nil { // a broken Is or Unwrap method
			cancelled = false
		}
	}()
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// errorMessage returns err.Error(), surviving an Error method that panics.
func errorMessage(err error) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprintf("%T (Error method panicked: %v)", err, r)
		}
	}()
	return err.Error()
}

// panicMessage renders a panic value; fmt already survives String and Error
// methods that panic.
func panicMessage(v any) string {
	if err, ok := v.(error); ok {
		return errorMessage(err)
	}
	return fmt.Sprint(v)
}

// wrapperTypes are the standard library's anonymous wrappers: the type of
// the error they wrap says more than theirs.
var wrapperTypes = map[string]bool{"*fmt.wrapError": true}

// errorTypeName is the Go type of err, like "*fs.PathError", looking
// through fmt.Errorf's %w wrapper to the error it wraps.
func errorTypeName(err error) string {
	for {
		name := typeName(err)
		if !wrapperTypes[name] {
			return name
		}
		inner := errors.Unwrap(err)
		if inner == nil {
			return name
		}
		err = inner
	}
}

func typeName(v any) string {
	if v == nil {
		return "nil"
	}
	return reflect.TypeOf(v).String()
}

// Values are pooled: an instrumented call reuses one instead of growing
// two slices.
var valuesPool = sync.Pool{New: func() any { return &Values{} }}

func getValues() *Values { return valuesPool.Get().(*Values) }

func putValues(v *Values) {
	if cap(v.values) > 64 {
		return
	}
	clear(v.values) // drop references to the program's values
	v.names, v.values = v.names[:0], v.values[:0]
	valuesPool.Put(v)
}
