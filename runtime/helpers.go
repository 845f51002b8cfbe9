package overmind

import (
	"context"
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/overmind-core/overmind-go/runtime/internal/jsonvalue"
	"github.com/overmind-core/overmind-go/runtime/internal/redact"
)

// targetSpan is the span the helpers act on: ctx's span if ctx carries
// one, else the goroutine's current span, else nil.
func targetSpan(ctx context.Context) trace.Span {
	if ctx != nil {
		if span, ok := spanOf(ctx); ok && span.SpanContext().IsValid() {
			return span
		}
	}
	if c := currentCall(); c != nil {
		return unwrapAdopted(c.span)
	}
	return nil
}

// spanOf returns the span ctx carries; ok is false when ctx's Value
// method panics (see spanContextOf).
func spanOf(ctx context.Context) (span trace.Span, ok bool) {
	defer func() {
		if recover() != nil {
			span, ok = nil, false
		}
	}()
	return trace.SpanFromContext(ctx), true
}

// SetTag attaches key=value to the current span: ctx's span if ctx carries
// one, else the goroutine's current span. Strings, booleans, integers,
// floats and slices of them are stored natively; anything else (maps,
// structs, ...) as JSON, under the same redaction rules as inputs. A key
// that names a secret (password, token, api_key, ...) gets "<redacted>".
//
// SetTag is generic so that passing a value does not box it: before Init it
// costs nothing and allocates nothing.
func SetTag[T any](ctx context.Context, key string, value T) {
	st := active.Load()
	if st == nil || key == "" {
		return
	}
	span := targetSpan(ctx)
	if span == nil || !span.IsRecording() {
		return
	}
	span.SetAttributes(tagAttribute(key, value, st.jsonOpts))
}

// tagAttribute converts a tag to an attribute.
func tagAttribute(key string, value any, o jsonvalue.Options) attribute.KeyValue {
	if redact.IsSecretKey(key) {
		return attribute.String(key, redact.Placeholder)
	}
	switch v := value.(type) {
	case string:
		return attribute.String(key, v)
	case bool:
		return attribute.Bool(key, v)
	case int:
		return attribute.Int(key, v)
	case int64:
		return attribute.Int64(key, v)
	case float64:
		return attribute.Float64(key, v)
	case []string:
		return attribute.StringSlice(key, v)
	case []bool:
		return attribute.BoolSlice(key, v)
	case []int:
		return attribute.IntSlice(key, v)
	case []int64:
		return attribute.Int64Slice(key, v)
	case []float64:
		return attribute.Float64Slice(key, v)
	case attribute.Value:
		return attribute.KeyValue{Key: attribute.Key(key), Value: v}
	}
	// Named and other basic types (type Tier string, uint16, float32, ...),
	// unless they encode themselves.
	rv := reflect.ValueOf(value)
	if rv.IsValid() && !encodesItself(rv.Type()) {
		switch rv.Kind() {
		case reflect.String:
			return attribute.String(key, rv.String())
		case reflect.Bool:
			return attribute.Bool(key, rv.Bool())
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return attribute.Int64(key, rv.Int())
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			if u := rv.Uint(); u <= math.MaxInt64 {
				return attribute.Int64(key, int64(u))
			}
		case reflect.Float32, reflect.Float64:
			return attribute.Float64(key, rv.Float())
		}
	}
	var encoded string
	record(func() { encoded = jsonvalue.Marshal(value, o) })
	return attribute.String(key, encoded)
}

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	errorType         = reflect.TypeFor[error]()
)

// encodesItself reports whether t has a MarshalJSON, MarshalText or Error
// method, which a tag should honour rather than store the bare value.
func encodesItself(t reflect.Type) bool {
	return t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) || t.Implements(errorType)
}

// CaptureException records err on the current span (ctx's, else the
// goroutine's) for an error that is handled and not returned, so it would
// not otherwise show in the trace. The rules are those of an error the
// function returns: the span ends failed, with OpenTelemetry status Error,
// even if its function then returns normally; when err is (or wraps)
// context.Canceled or context.DeadlineExceeded it ends cancelled instead,
// which is not an OpenTelemetry error, unless an earlier error already
// failed it. A nil err does nothing.
func CaptureException(ctx context.Context, err error) {
	if err == nil || active.Load() == nil {
		return
	}
	span := targetSpan(ctx)
	if span == nil || !span.IsRecording() {
		return
	}
	if isCancellation(err) {
		if hasFailed(span) {
			return // a failure is not turned into a cancellation
		}
		span.SetAttributes(recordError(span, err, nil)...)
		markCancelled(span.SpanContext().SpanID())
		return
	}
	span.SetAttributes(recordError(span, err, nil)...)
}

// cancelledSpans holds the IDs of the open spans CaptureException marked
// cancelled, so that their function's normal return does not mark them a
// success. Entries are deleted when the span ends (by the label
// processor); cancelledCount lets every other span skip the lookup.
var (
	cancelledSpans sync.Map // trace.SpanID -> struct{}
	cancelledCount atomic.Int64
)

func markCancelled(id trace.SpanID) {
	if _, loaded := cancelledSpans.LoadOrStore(id, struct{}{}); !loaded {
		cancelledCount.Add(1)
	}
}

// wasCancelled reports whether CaptureException marked span cancelled.
func wasCancelled(span trace.Span) bool {
	if cancelledCount.Load() == 0 {
		return false
	}
	_, ok := cancelledSpans.Load(span.SpanContext().SpanID())
	return ok
}

func forgetCancelled(id trace.SpanID) {
	if cancelledCount.Load() == 0 {
		return
	}
	if _, loaded := cancelledSpans.LoadAndDelete(id); loaded {
		cancelledCount.Add(-1)
	}
}

// Tracer returns an OpenTelemetry tracer for spans whose lifetime does not
// fit [StartSpan]: start them with Start and end them yourself. Unlike a
// plain tracer, a span started from a context that carries no span becomes
// a child of the goroutine's current span. Such spans do not get
// overmind.status or overmind.duration.seconds unless you set them, and
// they do not become the goroutine's current span.
//
// The tracer may be obtained before Init (in a package variable, say): its
// spans are no-ops until Init and after Shutdown.
func Tracer() trace.Tracer { return runtimeTracer{} }

// runtimeTracer resolves the tracing state at each Start.
type runtimeTracer struct{ embedded.Tracer }

// noopSpan is what Tracer().Start returns when tracing is off; held in an
// interface once so that returning it does not allocate.
var noopSpan trace.Span = noop.Span{}

func (runtimeTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	st := active.Load()
	if st == nil {
		return ctx, noopSpan
	}
	return st.gated.Start(spanParent(ctx), name, opts...)
}
