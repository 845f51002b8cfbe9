package otlp

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/jsonstr"
)

// AppendJSON appends spans to b as an ExportTraceServiceRequest in OTLP's
// JSON encoding: the protobuf JSON mapping with lowerCamelCase keys, trace
// and span IDs in hex, enums as numbers, 64-bit integers as strings, and
// fields at their default value left out.
func AppendJSON(b []byte, spans []sdktrace.ReadOnlySpan) []byte {
	w := jsonWriter{b: b}
	w.open('{')
	w.key("resourceSpans")
	w.open('[')
	for _, rg := range group(spans) {
		w.resourceSpans(rg)
	}
	w.close(']')
	w.close('}')
	return w.b
}

// jsonWriter appends JSON to b, putting the commas between members and
// elements.
type jsonWriter struct {
	b     []byte
	comma bool // a value was just written: the next one needs a comma
}

func (w *jsonWriter) open(c byte) {
	w.sep()
	w.b = append(w.b, c)
	w.comma = false
}

func (w *jsonWriter) close(c byte) {
	w.b = append(w.b, c)
	w.comma = true
}

func (w *jsonWriter) sep() {
	if w.comma {
		w.b = append(w.b, ',')
	}
}

func (w *jsonWriter) key(k string) {
	w.sep()
	w.b = appendJSONString(w.b, k)
	w.b = append(w.b, ':')
	w.comma = false
}

// raw appends a value already encoded.
func (w *jsonWriter) raw(v []byte) {
	w.sep()
	w.b = append(w.b, v...)
	w.comma = true
}

func (w *jsonWriter) str(s string) {
	w.sep()
	w.b = appendJSONString(w.b, s)
	w.comma = true
}

// field appends "k":"s", unless s is empty.
func (w *jsonWriter) field(k, s string) {
	if s != "" {
		w.key(k)
		w.str(s)
	}
}

// uintField appends "k":n, unless n is 0.
func (w *jsonWriter) uintField(k string, n uint64) {
	if n != 0 {
		w.key(k)
		w.raw(strconv.AppendUint(nil, n, 10))
	}
}

// uint64Field appends "k":"n", a 64-bit integer as a string, unless n is 0.
func (w *jsonWriter) uint64Field(k string, n uint64) {
	if n != 0 {
		w.key(k)
		w.str(strconv.FormatUint(n, 10))
	}
}

func (w *jsonWriter) hexField(k string, id []byte) {
	w.key(k)
	w.str(hex.EncodeToString(id))
}

func (w *jsonWriter) resourceSpans(rg *resourceGroup) {
	w.open('{')
	if rg.resource != nil {
		w.key("resource")
		w.open('{')
		w.attributeSet("attributes", rg.resource.Iter())
		w.close('}')
	}
	w.key("scopeSpans")
	w.open('[')
	for _, sg := range rg.scopes {
		w.scopeSpans(sg)
	}
	w.close(']')
	if rg.resource != nil {
		w.field("schemaUrl", rg.resource.SchemaURL())
	}
	w.close('}')
}

func (w *jsonWriter) scopeSpans(sg *scopeGroup) {
	w.open('{')
	if sg.scope != (instrumentation.Scope{}) {
		w.key("scope")
		w.open('{')
		w.field("name", sg.scope.Name)
		w.field("version", sg.scope.Version)
		w.attributeSet("attributes", sg.scope.Attributes.Iter())
		w.close('}')
	}
	w.key("spans")
	w.open('[')
	for _, s := range sg.spans {
		w.span(s)
	}
	w.close(']')
	w.field("schemaUrl", sg.scope.SchemaURL)
	w.close('}')
}

func (w *jsonWriter) span(s sdktrace.ReadOnlySpan) {
	sc := s.SpanContext()
	traceID, spanID := sc.TraceID(), sc.SpanID()
	w.open('{')
	w.hexField("traceId", traceID[:])
	w.hexField("spanId", spanID[:])
	w.field("traceState", sc.TraceState().String())
	parent := s.Parent()
	if id := parent.SpanID(); id.IsValid() {
		w.hexField("parentSpanId", id[:])
	}
	w.uintField("flags", uint64(spanFlags(sc.TraceFlags(), parent)))
	w.field("name", s.Name())
	w.uintField("kind", uint64(spanKind(s.SpanKind())))
	w.uint64Field("startTimeUnixNano", unixNano(s.StartTime().UnixNano()))
	w.uint64Field("endTimeUnixNano", unixNano(s.EndTime().UnixNano()))
	w.attributes("attributes", s.Attributes())
	w.uintField("droppedAttributesCount", clampUint32(s.DroppedAttributes()))
	if events := s.Events(); len(events) > 0 {
		w.key("events")
		w.open('[')
		for _, e := range events {
			w.open('{')
			w.uint64Field("timeUnixNano", unixNano(e.Time.UnixNano()))
			w.field("name", e.Name)
			w.attributes("attributes", e.Attributes)
			w.uintField("droppedAttributesCount", clampUint32(e.DroppedAttributeCount))
			w.close('}')
		}
		w.close(']')
	}
	w.uintField("droppedEventsCount", clampUint32(s.DroppedEvents()))
	if links := s.Links(); len(links) > 0 {
		w.key("links")
		w.open('[')
		for _, l := range links {
			w.link(l)
		}
		w.close(']')
	}
	w.uintField("droppedLinksCount", clampUint32(s.DroppedLinks()))
	status := s.Status()
	w.key("status")
	w.open('{')
	w.field("message", status.Description)
	w.uintField("code", uint64(statusCode(status.Code)))
	w.close('}')
	w.close('}')
}

func (w *jsonWriter) link(l sdktrace.Link) {
	traceID, spanID := l.SpanContext.TraceID(), l.SpanContext.SpanID()
	w.open('{')
	w.hexField("traceId", traceID[:])
	w.hexField("spanId", spanID[:])
	w.field("traceState", l.SpanContext.TraceState().String())
	w.attributes("attributes", l.Attributes)
	w.uintField("droppedAttributesCount", clampUint32(l.DroppedAttributeCount))
	w.uintField("flags", uint64(spanFlags(l.SpanContext.TraceFlags(), l.SpanContext)))
	w.close('}')
}

func (w *jsonWriter) attributes(k string, attrs []attribute.KeyValue) {
	if len(attrs) == 0 {
		return
	}
	w.key(k)
	w.open('[')
	for _, kv := range attrs {
		w.keyValue(kv)
	}
	w.close(']')
}

func (w *jsonWriter) attributeSet(k string, it attribute.Iterator) {
	if it.Len() == 0 {
		return
	}
	w.key(k)
	w.open('[')
	for it.Next() {
		w.keyValue(it.Attribute())
	}
	w.close(']')
}

func (w *jsonWriter) keyValue(kv attribute.KeyValue) {
	w.open('{')
	w.field("key", string(kv.Key))
	w.key("value")
	w.anyValue(kv.Value)
	w.close('}')
}

func (w *jsonWriter) anyValue(v attribute.Value) {
	w.open('{')
	switch v.Type() {
	case attribute.EMPTY:
	case attribute.BOOL:
		w.key("boolValue")
		w.raw(strconv.AppendBool(nil, v.AsBool()))
	case attribute.INT64:
		w.key("intValue")
		w.str(strconv.FormatInt(v.AsInt64(), 10))
	case attribute.FLOAT64:
		w.key("doubleValue")
		w.raw(appendJSONFloat(nil, v.AsFloat64()))
	case attribute.STRING:
		w.key("stringValue")
		w.str(v.AsString())
	case attribute.BYTESLICE:
		w.key("bytesValue")
		w.str(base64.StdEncoding.EncodeToString(v.AsByteSlice()))
	case attribute.MAP:
		w.key("kvlistValue")
		w.open('{')
		w.attributes("values", v.AsMap())
		w.close('}')
	default:
		elems, ok := sliceElements(v)
		if !ok {
			w.key("stringValue")
			w.str(v.Emit())
			break
		}
		w.key("arrayValue")
		w.open('{')
		if len(elems) > 0 {
			w.key("values")
			w.open('[')
			for _, e := range elems {
				w.anyValue(e)
			}
			w.close(']')
		}
		w.close('}')
	}
	w.close('}')
}

// appendJSONFloat appends f as the protobuf JSON mapping writes a double:
// a number, or the strings "NaN", "Infinity" and "-Infinity".
func appendJSONFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// appendJSONString appends s as a JSON string, with invalid UTF-8 replaced
// by U+FFFD, and the characters that JSON or a <script> element cannot
// hold literally escaped.
func appendJSONString(b []byte, s string) []byte { return jsonstr.Append(b, s, true) }
