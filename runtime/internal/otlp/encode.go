// Package otlp exports spans over OTLP/HTTP, in protobuf or JSON, without
// the upstream exporter's dependencies: it encodes the
// ExportTraceServiceRequest itself (with protowire, for protobuf) and
// posts it with net/http, retrying throttled and unavailable answers
// within the export timeout.
//
// The upstream otlptracehttp exporter shares its configuration package
// with the gRPC exporter, which links gRPC, grpc-gateway and protobuf
// reflection into every program that imports it
// (open-telemetry/opentelemetry-go#2579). The messages encoded here are
// those of opentelemetry-proto's collector/trace/v1 and trace/v1; the
// tests decode them with the generated messages of
// go.opentelemetry.io/proto/otlp.
package otlp

import (
	"math"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/encoding/protowire"
)

// resourceGroup is the spans of one resource, by instrumentation scope, in
// the order they were first seen.
type resourceGroup struct {
	resource *resource.Resource
	scopes   []*scopeGroup
}

// scopeGroup is the spans of one resource and instrumentation scope.
type scopeGroup struct {
	scope instrumentation.Scope
	spans []sdktrace.ReadOnlySpan
}

// group sorts spans into resources and scopes, as ResourceSpans and
// ScopeSpans nest them; nil spans are skipped.
func group(spans []sdktrace.ReadOnlySpan) []*resourceGroup {
	type scopeKey struct {
		resource attribute.Distinct
		scope    instrumentation.Scope
	}
	var groups []*resourceGroup
	byResource := map[attribute.Distinct]*resourceGroup{}
	byScope := map[scopeKey]*scopeGroup{}
	for _, s := range spans {
		if s == nil {
			continue
		}
		res := s.Resource()
		rk := res.Equivalent()
		rg := byResource[rk]
		if rg == nil {
			rg = &resourceGroup{resource: res}
			byResource[rk] = rg
			groups = append(groups, rg)
		}
		sk := scopeKey{rk, s.InstrumentationScope()}
		sg := byScope[sk]
		if sg == nil {
			sg = &scopeGroup{scope: sk.scope}
			byScope[sk] = sg
			rg.scopes = append(rg.scopes, sg)
		}
		sg.spans = append(sg.spans, s)
	}
	return groups
}

// Field numbers of the OTLP messages (opentelemetry-proto).
const (
	// ExportTraceServiceRequest
	fRequestResourceSpans protowire.Number = 1
	// ResourceSpans
	fResourceSpansResource   protowire.Number = 1
	fResourceSpansScopeSpans protowire.Number = 2
	fResourceSpansSchemaURL  protowire.Number = 3
	// Resource
	fResourceAttributes protowire.Number = 1
	// ScopeSpans
	fScopeSpansScope     protowire.Number = 1
	fScopeSpansSpans     protowire.Number = 2
	fScopeSpansSchemaURL protowire.Number = 3
	// InstrumentationScope
	fScopeName       protowire.Number = 1
	fScopeVersion    protowire.Number = 2
	fScopeAttributes protowire.Number = 3
	// Span
	fSpanTraceID           protowire.Number = 1
	fSpanSpanID            protowire.Number = 2
	fSpanTraceState        protowire.Number = 3
	fSpanParentSpanID      protowire.Number = 4
	fSpanName              protowire.Number = 5
	fSpanKind              protowire.Number = 6
	fSpanStartTime         protowire.Number = 7
	fSpanEndTime           protowire.Number = 8
	fSpanAttributes        protowire.Number = 9
	fSpanDroppedAttributes protowire.Number = 10
	fSpanEvents            protowire.Number = 11
	fSpanDroppedEvents     protowire.Number = 12
	fSpanLinks             protowire.Number = 13
	fSpanDroppedLinks      protowire.Number = 14
	fSpanStatus            protowire.Number = 15
	fSpanFlags             protowire.Number = 16
	// Span.Event
	fEventTime              protowire.Number = 1
	fEventName              protowire.Number = 2
	fEventAttributes        protowire.Number = 3
	fEventDroppedAttributes protowire.Number = 4
	// Span.Link
	fLinkTraceID           protowire.Number = 1
	fLinkSpanID            protowire.Number = 2
	fLinkTraceState        protowire.Number = 3
	fLinkAttributes        protowire.Number = 4
	fLinkDroppedAttributes protowire.Number = 5
	fLinkFlags             protowire.Number = 6
	// Status
	fStatusMessage protowire.Number = 2
	fStatusCode    protowire.Number = 3
	// KeyValue
	fKeyValueKey   protowire.Number = 1
	fKeyValueValue protowire.Number = 2
	// AnyValue
	fAnyString protowire.Number = 1
	fAnyBool   protowire.Number = 2
	fAnyInt    protowire.Number = 3
	fAnyDouble protowire.Number = 4
	fAnyArray  protowire.Number = 5
	fAnyKVList protowire.Number = 6
	fAnyBytes  protowire.Number = 7
	// ArrayValue, KeyValueList
	fListValues protowire.Number = 1
)

// SpanFlags bits (opentelemetry-proto trace/v1): the low byte holds the
// W3C trace flags.
const (
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// AppendProtobuf appends spans to b as a protobuf-encoded
// ExportTraceServiceRequest.
func AppendProtobuf(b []byte, spans []sdktrace.ReadOnlySpan) []byte {
	e := protoEncoder{b: b}
	for _, rg := range group(spans) {
		m := e.open(fRequestResourceSpans)
		e.resourceSpans(rg)
		e.close(m)
	}
	return e.b
}

// protoEncoder appends protobuf fields to b.
type protoEncoder struct{ b []byte }

func (e *protoEncoder) resourceSpans(rg *resourceGroup) {
	if rg.resource != nil {
		m := e.open(fResourceSpansResource)
		e.attributeSet(fResourceAttributes, rg.resource.Iter())
		e.close(m)
	}
	for _, sg := range rg.scopes {
		m := e.open(fResourceSpansScopeSpans)
		e.scopeSpans(sg)
		e.close(m)
	}
	if rg.resource != nil {
		e.string(fResourceSpansSchemaURL, rg.resource.SchemaURL())
	}
}

func (e *protoEncoder) scopeSpans(sg *scopeGroup) {
	if sg.scope != (instrumentation.Scope{}) {
		m := e.open(fScopeSpansScope)
		e.string(fScopeName, sg.scope.Name)
		e.string(fScopeVersion, sg.scope.Version)
		e.attributeSet(fScopeAttributes, sg.scope.Attributes.Iter())
		e.close(m)
	}
	for _, s := range sg.spans {
		m := e.open(fScopeSpansSpans)
		e.span(s)
		e.close(m)
	}
	e.string(fScopeSpansSchemaURL, sg.scope.SchemaURL)
}

func (e *protoEncoder) span(s sdktrace.ReadOnlySpan) {
	sc := s.SpanContext()
	traceID, spanID := sc.TraceID(), sc.SpanID()
	e.bytes(fSpanTraceID, traceID[:])
	e.bytes(fSpanSpanID, spanID[:])
	e.string(fSpanTraceState, sc.TraceState().String())
	parent := s.Parent()
	if id := parent.SpanID(); id.IsValid() {
		e.bytes(fSpanParentSpanID, id[:])
	}
	e.string(fSpanName, s.Name())
	e.uint(fSpanKind, uint64(spanKind(s.SpanKind())))
	e.fixed64(fSpanStartTime, unixNano(s.StartTime().UnixNano()))
	e.fixed64(fSpanEndTime, unixNano(s.EndTime().UnixNano()))
	e.attributes(fSpanAttributes, s.Attributes())
	e.uint(fSpanDroppedAttributes, clampUint32(s.DroppedAttributes()))
	for _, ev := range s.Events() {
		m := e.open(fSpanEvents)
		e.fixed64(fEventTime, unixNano(ev.Time.UnixNano()))
		e.string(fEventName, ev.Name)
		e.attributes(fEventAttributes, ev.Attributes)
		e.uint(fEventDroppedAttributes, clampUint32(ev.DroppedAttributeCount))
		e.close(m)
	}
	e.uint(fSpanDroppedEvents, clampUint32(s.DroppedEvents()))
	for _, l := range s.Links() {
		m := e.open(fSpanLinks)
		e.link(l)
		e.close(m)
	}
	e.uint(fSpanDroppedLinks, clampUint32(s.DroppedLinks()))
	// The status is always present, as the upstream exporter sends it.
	status := s.Status()
	m := e.open(fSpanStatus)
	e.string(fStatusMessage, status.Description)
	e.uint(fStatusCode, uint64(statusCode(status.Code)))
	e.close(m)
	e.fixed32(fSpanFlags, spanFlags(sc.TraceFlags(), parent))
}

func (e *protoEncoder) link(l sdktrace.Link) {
	traceID, spanID := l.SpanContext.TraceID(), l.SpanContext.SpanID()
	e.bytes(fLinkTraceID, traceID[:])
	e.bytes(fLinkSpanID, spanID[:])
	e.string(fLinkTraceState, l.SpanContext.TraceState().String())
	e.attributes(fLinkAttributes, l.Attributes)
	e.uint(fLinkDroppedAttributes, clampUint32(l.DroppedAttributeCount))
	e.fixed32(fLinkFlags, spanFlags(l.SpanContext.TraceFlags(), l.SpanContext))
}

func (e *protoEncoder) attributes(num protowire.Number, attrs []attribute.KeyValue) {
	for _, kv := range attrs {
		e.keyValue(num, kv)
	}
}

func (e *protoEncoder) attributeSet(num protowire.Number, it attribute.Iterator) {
	for it.Next() {
		e.keyValue(num, it.Attribute())
	}
}

func (e *protoEncoder) keyValue(num protowire.Number, kv attribute.KeyValue) {
	m := e.open(num)
	e.string(fKeyValueKey, string(kv.Key))
	v := e.open(fKeyValueValue)
	e.anyValue(kv.Value)
	e.close(v)
	e.close(m)
}

// anyValue appends the fields of the AnyValue that holds v. The oneof's
// field is written even when it holds its zero value, which is how
// protobuf marks which member is set.
func (e *protoEncoder) anyValue(v attribute.Value) {
	switch v.Type() {
	case attribute.EMPTY:
	case attribute.BOOL:
		e.b = protowire.AppendVarint(protowire.AppendTag(e.b, fAnyBool, protowire.VarintType), protowire.EncodeBool(v.AsBool()))
	case attribute.INT64:
		e.b = protowire.AppendVarint(protowire.AppendTag(e.b, fAnyInt, protowire.VarintType), uint64(v.AsInt64()))
	case attribute.FLOAT64:
		e.b = protowire.AppendFixed64(protowire.AppendTag(e.b, fAnyDouble, protowire.Fixed64Type), math.Float64bits(v.AsFloat64()))
	case attribute.STRING:
		e.b = protowire.AppendString(protowire.AppendTag(e.b, fAnyString, protowire.BytesType), validUTF8(v.AsString()))
	case attribute.BYTESLICE:
		e.bytes(fAnyBytes, v.AsByteSlice())
	case attribute.MAP:
		m := e.open(fAnyKVList)
		e.attributes(fListValues, v.AsMap())
		e.close(m)
	default:
		elems, ok := sliceElements(v)
		if !ok {
			// A type newer than this encoder: its text rather than nothing.
			e.b = protowire.AppendString(protowire.AppendTag(e.b, fAnyString, protowire.BytesType), validUTF8(v.Emit()))
			return
		}
		m := e.open(fAnyArray)
		for _, elem := range elems {
			ev := e.open(fListValues)
			e.anyValue(elem)
			e.close(ev)
		}
		e.close(m)
	}
}

// sliceElements is the elements of a slice-typed value.
func sliceElements(v attribute.Value) ([]attribute.Value, bool) {
	switch v.Type() {
	case attribute.BOOLSLICE:
		return mapSlice(v.AsBoolSlice(), attribute.BoolValue), true
	case attribute.INT64SLICE:
		return mapSlice(v.AsInt64Slice(), attribute.Int64Value), true
	case attribute.FLOAT64SLICE:
		return mapSlice(v.AsFloat64Slice(), attribute.Float64Value), true
	case attribute.STRINGSLICE:
		return mapSlice(v.AsStringSlice(), attribute.StringValue), true
	case attribute.SLICE:
		return v.AsSlice(), true
	}
	return nil, false
}

func mapSlice[T any](in []T, f func(T) attribute.Value) []attribute.Value {
	out := make([]attribute.Value, len(in))
	for i, x := range in {
		out[i] = f(x)
	}
	return out
}

// open appends the tag of an embedded message field and returns where its
// content starts; close then inserts the content's length there.
func (e *protoEncoder) open(num protowire.Number) int {
	e.b = protowire.AppendTag(e.b, num, protowire.BytesType)
	return len(e.b)
}

// close inserts, at start, the length of what follows it, making
// e.b[start:] the length-prefixed content of the field open began.
func (e *protoEncoder) close(start int) {
	n := len(e.b) - start
	var prefix [maxVarintLen]byte
	length := protowire.AppendVarint(prefix[:0], uint64(n))
	e.b = append(e.b, length...) // grow by the prefix's size
	copy(e.b[start+len(length):], e.b[start:start+n])
	copy(e.b[start:], length)
}

const maxVarintLen = 10

// string appends a string field, unless it is empty (proto3's default),
// with invalid UTF-8 replaced: decoders reject such strings, and with
// them the whole request.
func (e *protoEncoder) string(num protowire.Number, s string) {
	if s != "" {
		e.b = protowire.AppendString(protowire.AppendTag(e.b, num, protowire.BytesType), validUTF8(s))
	}
}

func (e *protoEncoder) bytes(num protowire.Number, v []byte) {
	e.b = protowire.AppendBytes(protowire.AppendTag(e.b, num, protowire.BytesType), v)
}

func (e *protoEncoder) uint(num protowire.Number, v uint64) {
	if v != 0 {
		e.b = protowire.AppendVarint(protowire.AppendTag(e.b, num, protowire.VarintType), v)
	}
}

func (e *protoEncoder) fixed64(num protowire.Number, v uint64) {
	if v != 0 {
		e.b = protowire.AppendFixed64(protowire.AppendTag(e.b, num, protowire.Fixed64Type), v)
	}
}

func (e *protoEncoder) fixed32(num protowire.Number, v uint32) {
	if v != 0 {
		e.b = protowire.AppendFixed32(protowire.AppendTag(e.b, num, protowire.Fixed32Type), v)
	}
}

// validUTF8 is s with each invalid UTF-8 sequence replaced by U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// spanKind is the OTLP SpanKind of k: the same numbers, UNSPECIFIED for
// anything unknown.
func spanKind(k trace.SpanKind) int {
	switch k {
	case trace.SpanKindInternal, trace.SpanKindServer, trace.SpanKindClient, trace.SpanKindProducer, trace.SpanKindConsumer:
		return int(k)
	}
	return 0
}

// statusCode is the OTLP StatusCode of c, whose numbers differ from the
// API's: UNSET 0, OK 1, ERROR 2.
func statusCode(c codes.Code) int {
	switch c {
	case codes.Ok:
		return 1
	case codes.Error:
		return 2
	}
	return 0
}

// spanFlags is the flags field of a span or link: the W3C trace flags,
// and whether the parent (or linked span) is remote, which is always
// known here.
func spanFlags(tf trace.TraceFlags, parent trace.SpanContext) uint32 {
	flags := uint32(tf) | flagHasIsRemote
	if parent.IsRemote() {
		flags |= flagIsRemote
	}
	return flags
}

func unixNano(ns int64) uint64 { return uint64(max(ns, 0)) }

func clampUint32(n int) uint64 { return uint64(min(max(n, 0), math.MaxUint32)) }
