package otlp

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/overmind-core/overmind-go/internal/otlptest"
)

var (
	traceA = trace.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	traceB = trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
)

func spanContext(t trace.TraceID, s byte, remote bool, state string) trace.SpanContext {
	ts, err := trace.ParseTraceState(state)
	if err != nil {
		panic(err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: t, SpanID: trace.SpanID{0, 0, 0, 0, 0, 0, 0, s},
		TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: remote,
	})
}

// richSpans covers every field and attribute type the encoder writes:
// two resources, scopes with and without version, attributes and schema,
// events, links, status codes, kinds, a remote parent, trace state,
// dropped counts and strings that are not valid UTF-8.
func richSpans() []sdktrace.ReadOnlySpan {
	start := time.Unix(1_700_000_000, 123456789)
	resA := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.String("service.name", "support-agent"), attribute.Int("pid", 42))
	resB := resource.NewSchemaless(attribute.String("service.name", "other"))
	scope := instrumentation.Scope{
		Name: "github.com/overmind-core/overmind-go/runtime", Version: "v1.2.3",
		SchemaURL:  "https://opentelemetry.io/schemas/1.40.0",
		Attributes: attribute.NewSet(attribute.Bool("scope.attr", true)),
	}
	everyType := []attribute.KeyValue{
		attribute.Bool("b", true), attribute.Bool("f", false),
		attribute.Int64("i", -7), attribute.Int64("zero", 0), attribute.Int64("big", math.MaxInt64),
		attribute.Float64("pi", 3.25), attribute.Float64("tiny", 1e-300),
		attribute.String("s", "héllo \"quoted\" <tag> & \n\t\x01 \u2028"),
		attribute.String("empty", ""),
		attribute.String("bad utf8", "a\xffb\xc3"),
		attribute.BoolSlice("bs", []bool{true, false}),
		attribute.Int64Slice("is", []int64{1, -2, 3}),
		attribute.Float64Slice("fs", []float64{0.5, -1}),
		attribute.StringSlice("ss", []string{"x", "", "z"}),
		attribute.StringSlice("empty slice", nil),
		attribute.ByteSlice("bytes", []byte{0, 1, 0xff}),
		attribute.Slice("mixed", attribute.StringValue("a"), attribute.Int64Value(2), attribute.SliceValue(attribute.BoolValue(true))),
		attribute.Map("map", attribute.String("k", "v"), attribute.Map("inner", attribute.Int64("n", 1))),
		{Key: "nothing"},
	}
	stubs := tracetest.SpanStubs{
		{
			Name:        "handle_request",
			SpanContext: spanContext(traceA, 1, false, "vendor=value"),
			Parent:      spanContext(traceA, 9, true, ""),
			SpanKind:    trace.SpanKindServer,
			StartTime:   start, EndTime: start.Add(1500 * time.Millisecond),
			Attributes: everyType,
			Events: []sdktrace.Event{
				{Name: "exception", Time: start.Add(time.Millisecond), Attributes: []attribute.KeyValue{attribute.String("exception.message", "boom")}, DroppedAttributeCount: 2},
				{Name: "bare", Time: start.Add(2 * time.Millisecond)},
			},
			Links: []sdktrace.Link{
				{SpanContext: spanContext(traceB, 5, true, "a=b"), Attributes: []attribute.KeyValue{attribute.String("link", "x")}, DroppedAttributeCount: 1},
			},
			Status:            sdktrace.Status{Code: codes.Error, Description: "upstream failed"},
			DroppedAttributes: 3, DroppedEvents: 4, DroppedLinks: 5,
			Resource: resA, InstrumentationScope: scope,
		},
		{
			Name:        "lookup_order",
			SpanContext: spanContext(traceA, 2, false, ""),
			Parent:      spanContext(traceA, 1, false, ""),
			SpanKind:    trace.SpanKindClient,
			StartTime:   start.Add(time.Millisecond), EndTime: start.Add(2 * time.Millisecond),
			Status:   sdktrace.Status{Code: codes.Ok},
			Resource: resA, InstrumentationScope: scope,
		},
		{
			Name:        "other scope",
			SpanContext: spanContext(traceA, 3, false, ""),
			SpanKind:    trace.SpanKindInternal,
			StartTime:   start, EndTime: start,
			Resource: resA, InstrumentationScope: instrumentation.Scope{Name: "raw-otel"},
		},
		{
			Name:        "other resource",
			SpanContext: spanContext(traceB, 4, false, ""),
			SpanKind:    trace.SpanKindProducer,
			StartTime:   start, EndTime: start.Add(time.Second),
			Resource: resB,
		},
	}
	return stubs.Snapshots()
}

// wantSpan is s as the opentelemetry-proto messages define it, built with
// the generated types: what a decoder must find.
func wantSpan(s sdktrace.ReadOnlySpan) *tracepb.Span {
	sc, parent := s.SpanContext(), s.Parent()
	tid, sid := sc.TraceID(), sc.SpanID()
	out := &tracepb.Span{
		TraceId: tid[:], SpanId: sid[:], TraceState: sc.TraceState().String(),
		Name:                   validUTF8(s.Name()),
		Kind:                   tracepb.Span_SpanKind(s.SpanKind()),
		StartTimeUnixNano:      uint64(s.StartTime().UnixNano()),
		EndTimeUnixNano:        uint64(s.EndTime().UnixNano()),
		Attributes:             wantKeyValues(s.Attributes()),
		DroppedAttributesCount: uint32(s.DroppedAttributes()),
		DroppedEventsCount:     uint32(s.DroppedEvents()),
		DroppedLinksCount:      uint32(s.DroppedLinks()),
		Status:                 &tracepb.Status{Message: s.Status().Description},
		Flags:                  uint32(sc.TraceFlags()) | uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK),
	}
	if parent.IsRemote() {
		out.Flags |= uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
	}
	if pid := parent.SpanID(); pid.IsValid() {
		out.ParentSpanId = pid[:]
	}
	switch s.Status().Code {
	case codes.Ok:
		out.Status.Code = tracepb.Status_STATUS_CODE_OK
	case codes.Error:
		out.Status.Code = tracepb.Status_STATUS_CODE_ERROR
	}
	for _, e := range s.Events() {
		out.Events = append(out.Events, &tracepb.Span_Event{
			TimeUnixNano: uint64(e.Time.UnixNano()), Name: e.Name,
			Attributes: wantKeyValues(e.Attributes), DroppedAttributesCount: uint32(e.DroppedAttributeCount),
		})
	}
	for _, l := range s.Links() {
		ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		flags := uint32(l.SpanContext.TraceFlags()) | uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
		if l.SpanContext.IsRemote() {
			flags |= uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
		}
		out.Links = append(out.Links, &tracepb.Span_Link{
			TraceId: ltid[:], SpanId: lsid[:], TraceState: l.SpanContext.TraceState().String(),
			Attributes: wantKeyValues(l.Attributes), DroppedAttributesCount: uint32(l.DroppedAttributeCount), Flags: flags,
		})
	}
	return out
}

func wantKeyValues(kvs []attribute.KeyValue) []*commonpb.KeyValue {
	var out []*commonpb.KeyValue
	for _, kv := range kvs {
		out = append(out, &commonpb.KeyValue{Key: string(kv.Key), Value: wantValue(kv.Value)})
	}
	return out
}

func wantValue(v attribute.Value) *commonpb.AnyValue {
	array := func(vals []*commonpb.AnyValue) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vals}}}
	}
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: strings.ToValidUTF8(s, "\uFFFD")}}
	}
	var vals []*commonpb.AnyValue
	switch v.Type() {
	case attribute.BOOL:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: v.AsBool()}}
	case attribute.INT64:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v.AsInt64()}}
	case attribute.FLOAT64:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: v.AsFloat64()}}
	case attribute.STRING:
		return str(v.AsString())
	case attribute.BYTESLICE:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: v.AsByteSlice()}}
	case attribute.MAP:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: wantKeyValues(v.AsMap())}}}
	case attribute.BOOLSLICE:
		for _, b := range v.AsBoolSlice() {
			vals = append(vals, wantValue(attribute.BoolValue(b)))
		}
	case attribute.INT64SLICE:
		for _, n := range v.AsInt64Slice() {
			vals = append(vals, wantValue(attribute.Int64Value(n)))
		}
	case attribute.FLOAT64SLICE:
		for _, f := range v.AsFloat64Slice() {
			vals = append(vals, wantValue(attribute.Float64Value(f)))
		}
	case attribute.STRINGSLICE:
		for _, s := range v.AsStringSlice() {
			vals = append(vals, str(s))
		}
	case attribute.SLICE:
		for _, e := range v.AsSlice() {
			vals = append(vals, wantValue(e))
		}
	default:
		return &commonpb.AnyValue{}
	}
	return array(vals)
}

// located is a decoded span with the resource and scope it was filed
// under.
type located struct {
	resource  []*commonpb.KeyValue
	resSchema string
	scope     *commonpb.InstrumentationScope
	scSchema  string
	span      *tracepb.Span
}

func locate(req *collectorpb.ExportTraceServiceRequest) map[string]located {
	out := map[string]located{}
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				out[s.GetName()] = located{rs.GetResource().GetAttributes(), rs.GetSchemaUrl(), ss.GetScope(), ss.GetSchemaUrl(), s}
			}
		}
	}
	return out
}

// checkDecoded compares a decoded request with what spans should give.
func checkDecoded(t *testing.T, req *collectorpb.ExportTraceServiceRequest, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	// Spans are grouped: one ResourceSpans per resource, one ScopeSpans
	// per scope within it, in the order first seen.
	var shape []string
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			var names []string
			for _, s := range ss.GetSpans() {
				names = append(names, s.GetName())
			}
			service := ""
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			shape = append(shape, service+"/"+ss.GetScope().GetName()+": "+strings.Join(names, ","))
		}
	}
	wantShape := []string{
		"support-agent/github.com/overmind-core/overmind-go/runtime: handle_request,lookup_order",
		"support-agent/raw-otel: other scope",
		"other/: other resource",
	}
	if !slices.Equal(shape, wantShape) {
		t.Errorf("grouping:\n%s\nwant:\n%s", strings.Join(shape, "\n"), strings.Join(wantShape, "\n"))
	}
	got := locate(req)
	for _, s := range spans {
		g, ok := got[s.Name()]
		if !ok {
			t.Errorf("span %q missing", s.Name())
			continue
		}
		if want := wantSpan(s); !proto.Equal(g.span, want) {
			t.Errorf("span %q:\n got %v\nwant %v", s.Name(), g.span, want)
		}
		res := s.Resource()
		if want := wantKeyValues(res.Attributes()); !proto.Equal(&commonpb.KeyValueList{Values: g.resource}, &commonpb.KeyValueList{Values: want}) {
			t.Errorf("span %q resource %v, want %v", s.Name(), g.resource, want)
		}
		if g.resSchema != res.SchemaURL() {
			t.Errorf("span %q resource schema %q", s.Name(), g.resSchema)
		}
		sc := s.InstrumentationScope()
		wantScope := &commonpb.InstrumentationScope{Name: sc.Name, Version: sc.Version, Attributes: wantKeyValues(sc.Attributes.ToSlice())}
		if sc == (instrumentation.Scope{}) {
			wantScope = nil
		}
		if !proto.Equal(g.scope, wantScope) || g.scSchema != sc.SchemaURL {
			t.Errorf("span %q scope %v %q, want %v %q", s.Name(), g.scope, g.scSchema, wantScope, sc.SchemaURL)
		}
	}
}

// The protobuf bytes, decoded by the generated messages, hold every span
// with every field.
func TestProtobufDecodes(t *testing.T) {
	t.Parallel()
	spans := richSpans()
	var req collectorpb.ExportTraceServiceRequest
	if err := proto.Unmarshal(AppendProtobuf(nil, spans), &req); err != nil {
		t.Fatalf("the real decoder rejects the request: %v", err)
	}
	checkDecoded(t, &req, spans)
}

// The JSON, decoded by protojson once its hex IDs are made base64 (see
// otlptest.UnmarshalJSON), holds what the protobuf holds.
func TestJSONDecodes(t *testing.T) {
	t.Parallel()
	spans := richSpans()
	data := AppendJSON(nil, spans)
	if !json.Valid(data) {
		t.Fatalf("invalid JSON:\n%s", data)
	}
	var req collectorpb.ExportTraceServiceRequest
	if err := otlptest.UnmarshalJSON(data, &req); err != nil {
		t.Fatalf("decode: %v\n%s", err, data)
	}
	checkDecoded(t, &req, spans)
}

// What the JSON encoding of OTLP specifies beyond the protobuf mapping,
// and the mapping's own choices, seen in the bytes.
func TestJSONEncoding(t *testing.T) {
	t.Parallel()
	data := string(AppendJSON(nil, richSpans()))
	for _, want := range []string{
		`"traceId":"` + hex.EncodeToString(traceA[:]) + `"`, // hex, not base64
		`"parentSpanId":"0000000000000009"`,
		`"kind":2`, // enums as numbers
		`"status":{"message":"upstream failed","code":2}`,
		`"startTimeUnixNano":"1700000000123456789"`, // 64-bit integers as strings
		`{"key":"i","value":{"intValue":"-7"}}`,
		`{"key":"zero","value":{"intValue":"0"}}`, // a oneof member is written at its zero value
		`{"key":"f","value":{"boolValue":false}}`,
		`{"key":"empty","value":{"stringValue":""}}`,
		`{"key":"bytes","value":{"bytesValue":"AAH/"}}`, // base64
		`{"key":"bad utf8","value":{"stringValue":"a\ufffdb\ufffd"}}`,
		`{"key":"empty slice","value":{"arrayValue":{}}}`,
		`{"key":"nothing","value":{}}`,
		`"flags":769`, // sampled, parent-is-remote known, parent remote
	} {
		if !strings.Contains(data, want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
}

func TestJSONFloats(t *testing.T) {
	t.Parallel()
	stubs := tracetest.SpanStubs{{
		Name:        "floats",
		SpanContext: spanContext(traceA, 1, false, ""),
		Attributes: []attribute.KeyValue{
			attribute.Float64("nan", math.NaN()), attribute.Float64("inf", math.Inf(1)),
			attribute.Float64("-inf", math.Inf(-1)), attribute.Float64("e", 1e21),
		},
	}}
	data := AppendJSON(nil, stubs.Snapshots())
	var req collectorpb.ExportTraceServiceRequest
	if err := otlptest.UnmarshalJSON(data, &req); err != nil {
		t.Fatalf("decode: %v\n%s", err, data)
	}
	attrs := req.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes
	got := map[string]float64{}
	for _, kv := range attrs {
		got[kv.Key] = kv.Value.GetDoubleValue()
	}
	if !math.IsNaN(got["nan"]) || !math.IsInf(got["inf"], 1) || !math.IsInf(got["-inf"], -1) || got["e"] != 1e21 {
		t.Fatalf("floats %v from %s", got, data)
	}
}

func TestEmptyBatch(t *testing.T) {
	t.Parallel()
	if b := AppendProtobuf(nil, nil); len(b) != 0 {
		t.Errorf("protobuf of no spans: %x", b)
	}
	if b := AppendJSON(nil, nil); string(b) != `{"resourceSpans":[]}` {
		t.Errorf("JSON of no spans: %s", b)
	}
}

// A message longer than 127 bytes needs a two-byte length: the encoder
// inserts the length before the content it has already written.
func TestLongLengths(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 70000)
	stubs := tracetest.SpanStubs{{Name: long, SpanContext: spanContext(traceA, 1, false, ""), Attributes: []attribute.KeyValue{attribute.String(long, long)}}}
	var req collectorpb.ExportTraceServiceRequest
	if err := proto.Unmarshal(AppendProtobuf(nil, stubs.Snapshots()), &req); err != nil {
		t.Fatal(err)
	}
	s := req.ResourceSpans[0].ScopeSpans[0].Spans[0]
	if s.Name != long || s.Attributes[0].Key != long || s.Attributes[0].Value.GetStringValue() != long {
		t.Fatal("long strings did not survive")
	}
}

func BenchmarkAppendProtobuf(b *testing.B) {
	spans := richSpans()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendProtobuf(buf[:0], spans)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppendJSON(b *testing.B) {
	spans := richSpans()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSON(buf[:0], spans)
	}
	b.SetBytes(int64(len(buf)))
}

// The console exporter writes one decodable request per line.
func TestLineExporter(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	e := NewLineExporter(&out)
	for range 2 {
		if err := e.ExportSpans(context.Background(), richSpans()); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.ExportSpans(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	for _, line := range lines {
		var req collectorpb.ExportTraceServiceRequest
		if err := otlptest.UnmarshalJSON([]byte(line), &req); err != nil {
			t.Fatal(err)
		}
		checkDecoded(t, &req, richSpans())
	}
}
