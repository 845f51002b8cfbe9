package otlptest_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"testing"
	"time"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/overmind-core/overmind-go/internal/otlptest"
)

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

// request is a parent and a child span, built with the generated messages.
func request() *collectorpb.ExportTraceServiceRequest {
	traceID := []byte{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	return &collectorpb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "svc")}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{
			{TraceId: traceID, SpanId: []byte{0, 0, 0, 0, 0, 0, 0, 1}, Name: "parent", StartTimeUnixNano: 1, Attributes: []*commonpb.KeyValue{str("overmind.span.type", "workflow")}},
			{TraceId: traceID, SpanId: []byte{0, 0, 0, 0, 0, 0, 0, 2}, ParentSpanId: []byte{0, 0, 0, 0, 0, 0, 0, 1}, Name: "child", StartTimeUnixNano: 2, Attributes: []*commonpb.KeyValue{
				str("overmind.span.type", "tool_call"),
				{Key: "n", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 3}}},
			}},
		}}},
	}}}
}

// The same request in OTLP's JSON encoding, with hex IDs.
const requestJSON = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
 "scopeSpans":[{"spans":[
  {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"0000000000000001","name":"parent","startTimeUnixNano":"1",
   "attributes":[{"key":"overmind.span.type","value":{"stringValue":"workflow"}}]},
  {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"0000000000000002","parentSpanId":"0000000000000001","name":"child","startTimeUnixNano":"2",
   "attributes":[{"key":"overmind.span.type","value":{"stringValue":"tool_call"}},{"key":"n","value":{"intValue":"3"}}]}]}]}]}`

func post(t *testing.T, url, contentType string, body []byte, gz bool) {
	t.Helper()
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Api-Key", "k")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
}

func TestReceiverDecodesExports(t *testing.T) {
	pb, err := proto.Marshal(request())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, contentType string
		body              []byte
		gzip              bool
	}{
		{"protobuf gzip", "application/x-protobuf", pb, true},
		{"protobuf", "application/x-protobuf", pb, false},
		{"json", "application/json", []byte(requestJSON), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rcv := otlptest.NewReceiver()
			defer rcv.Close()
			post(t, rcv.URL()+"/api/v1/traces", tc.contentType, tc.body, tc.gzip)
			spans := rcv.WaitForSpans(2, 5*time.Second)
			if len(spans) != 2 {
				t.Fatalf("got %d spans, want 2", len(spans))
			}
			if got, want := otlptest.Tree(spans), "parent [workflow]\n  child [tool_call]\n"; got != want {
				t.Errorf("tree:\n%s\nwant:\n%s", got, want)
			}
			if spans[1].Attrs["n"] != int64(3) || spans[1].Resource["service.name"] != "svc" {
				t.Errorf("attributes not decoded: %v %v", spans[1].Attrs, spans[1].Resource)
			}
			if spans[0].TraceID != "5b8efff798038103d269b633813fc60c" || spans[1].ParentSpanID != spans[0].SpanID {
				t.Errorf("ids: %+v", spans)
			}
			reqs := rcv.Requests()
			if len(reqs) == 0 || reqs[0].Path != "/api/v1/traces" || reqs[0].Header.Get("X-Api-Key") != "k" {
				t.Errorf("request not recorded: %+v", reqs)
			}
		})
	}
}
