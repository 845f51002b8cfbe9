package store

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/overmind-core/overmind-go/client"
)

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func num(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

func tid(b byte) []byte { return bytes.Repeat([]byte{b}, 16) }
func sid(b byte) []byte { return []byte{0, 0, 0, 0, 0, 0, 0, b} }

const t0 = int64(1_700_000_000_000_000_000)

// request is one export request from service with the given spans.
func request(service string, spans ...*tracepb.Span) *tracepb.TracesData {
	return &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", service)}},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "overmind", Version: "1.2.3"}, Spans: spans}},
	}}}
}

// agentTrace is a trace of an entry point, a tool that failed, and an LLM
// call with tokens, as the runtime records them.
func agentTrace(trace byte, start int64) []*tracepb.Span {
	return []*tracepb.Span{
		{TraceId: tid(trace), SpanId: sid(1), Name: "handle", Kind: tracepb.Span_SPAN_KIND_INTERNAL,
			StartTimeUnixNano: uint64(start), EndTimeUnixNano: uint64(start + 9e6),
			Attributes: []*commonpb.KeyValue{str("overmind.span.type", "entry_point"), str("overmind.status", "success")}},
		{TraceId: tid(trace), SpanId: sid(2), ParentSpanId: sid(1), Name: "lookup_order",
			StartTimeUnixNano: uint64(start + 1e6), EndTimeUnixNano: uint64(start + 2e6),
			Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "boom"},
			Attributes: []*commonpb.KeyValue{str("overmind.span.type", "tool_call"), str("overmind.status", "failed"),
				str("inputs", `{"id":"A-1001"}`)},
			Events: []*tracepb.Span_Event{{Name: "exception", TimeUnixNano: uint64(start + 2e6),
				Attributes: []*commonpb.KeyValue{str("exception.type", "*errors.errorString"), str("exception.stacktrace", "goroutine 1\nmain.go:12")}}}},
		{TraceId: tid(trace), SpanId: sid(3), ParentSpanId: sid(1), Name: "chat gpt-4o", Kind: tracepb.Span_SPAN_KIND_CLIENT,
			StartTimeUnixNano: uint64(start + 3e6), EndTimeUnixNano: uint64(start + 8e6),
			Attributes: []*commonpb.KeyValue{str("overmind.span.type", "llm_call"), str("gen_ai.operation.name", "chat"),
				num("gen_ai.usage.input_tokens", 12), num("gen_ai.usage.output_tokens", 34)}},
	}
}

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ingest(t *testing.T, s *Store, td *tracepb.TracesData) IngestResult {
	t.Helper()
	res, err := s.Ingest(context.Background(), td, t0+5e9)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func retrieve(t *testing.T, s *Store, trace byte) *client.TraceRetrieveResponse {
	t.Helper()
	var b bytes.Buffer
	found, err := s.TraceJSON(context.Background(), tid(trace), &b)
	if err != nil || !found {
		t.Fatalf("TraceJSON: found %v, %v", found, err)
	}
	d := json.NewDecoder(&b)
	d.DisallowUnknownFields()
	d.UseNumber()
	var resp client.TraceRetrieveResponse
	if err := d.Decode(&resp); err != nil {
		t.Fatalf("response does not decode as TraceRetrieveResponse: %v\n%s", err, b.String())
	}
	return &resp
}

func TestIngestAndRetrieve(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "db"))
	res := ingest(t, s, request("shop", agentTrace(7, t0)...))
	if res.Stored != 3 || res.Traces != 1 {
		t.Fatalf("ingest: %+v", res)
	}
	resp := retrieve(t, s, 7)
	if resp.SpanCount != 3 || len(resp.Spans) != 3 || resp.TraceID != "07070707070707070707070707070707" {
		t.Fatalf("response: %+v", resp)
	}
	root := resp.Root
	if root == nil || root.SpanID != "0000000000000001" || !root.IsRoot || root.ParentSpanID != nil {
		t.Fatalf("root: %+v", root)
	}
	tool, llm := resp.Spans[1], resp.Spans[2]
	if tool.SpanType != "tool_call" || tool.Operation != "tool_call" || tool.StatusCode != 2 || tool.StatusMessage != "boom" ||
		*tool.ParentSpanID != "0000000000000001" || tool.DurationNs != 1e6 || tool.StartTimeNs != t0+1e6 {
		t.Fatalf("tool span: %+v", tool)
	}
	if root.SpanType != "tool_call" || root.Operation != "entry_point" || root.Kind != 1 {
		t.Fatalf("entry point: span_type %q operation %q kind %d", root.SpanType, root.Operation, root.Kind)
	}
	if llm.SpanType != "llm_call" || llm.Operation != "llm_call" || llm.Kind != 3 || llm.Attributes["gen_ai.usage.input_tokens"] != json.Number("12") {
		t.Fatalf("llm span: %+v", llm)
	}
	if len(tool.Events.Items) != 1 || tool.Events.Items[0].Attributes["exception.stacktrace"] != "goroutine 1\nmain.go:12" {
		t.Fatalf("events: %+v", tool.Events)
	}
	if tool.ServiceName != "shop" || tool.ScopeName != "overmind" || tool.ScopeVersion != "1.2.3" ||
		tool.ResourceAttrs["service.name"] != "shop" || tool.Project != Project || tool.Agent != nil ||
		!tool.ReceivedAt.Equal(time.Unix(0, t0+5e9)) {
		t.Fatalf("span's other fields: %+v", tool)
	}
}

func TestDuplicatesAndLateSpans(t *testing.T) {
	t.Parallel()
	s := open(t, Memory)
	spans := agentTrace(1, t0)
	// The children arrive first: the trace is partial until its root does.
	ingest(t, s, request("shop", spans[1:]...))
	list, err := s.List(context.Background(), ListQuery{})
	if err != nil || len(list.Traces) != 1 || list.Traces[0].Status != "partial" {
		t.Fatalf("before the root: %+v %v", list, err)
	}
	if res := ingest(t, s, request("shop", spans...)); res.Stored != 1 || res.Duplicates != 2 {
		t.Fatalf("resend: %+v", res)
	}
	list, _ = s.List(context.Background(), ListQuery{})
	got := list.Traces[0]
	if got.SpanCount != 3 || got.Status != "success" || got.RootName != "handle" || got.ErrorCount != 1 ||
		got.InputTokens != 12 || got.OutputTokens != 34 || got.LLMCalls != 1 || got.DurationNs != 9e6 {
		t.Fatalf("summary: %+v", got)
	}
}

func TestRejectsSpansWithoutIDs(t *testing.T) {
	t.Parallel()
	s := open(t, Memory)
	res := ingest(t, s, request("x",
		&tracepb.Span{TraceId: tid(1), Name: "no span id"},
		&tracepb.Span{SpanId: sid(1), Name: "no trace id"},
		&tracepb.Span{TraceId: tid(2), SpanId: sid(1)}, // nothing else: stored as far as it goes
	))
	if res.Rejected != 2 || res.Stored != 1 {
		t.Fatalf("%+v", res)
	}
	if resp := retrieve(t, s, 2); resp.Spans[0].Name != "" || resp.Spans[0].Operation != "unspecified" {
		t.Fatalf("%+v", resp.Spans[0])
	}
}

func TestListFiltersAndPaging(t *testing.T) {
	t.Parallel()
	s := open(t, Memory)
	for i := byte(1); i <= 5; i++ {
		spans := agentTrace(i, t0+int64(i)*1e9)
		if i%2 == 0 {
			spans = spans[:1] // no LLM call, no failure
		}
		svc := "shop"
		if i == 5 {
			svc = "billing"
		}
		ingest(t, s, request(svc, spans...))
	}
	ids := func(q ListQuery) []string {
		t.Helper()
		l, err := s.List(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tr := range l.Traces {
			out = append(out, tr.TraceID[:2])
		}
		return out
	}
	for _, tc := range []struct {
		q    ListQuery
		want string
	}{
		{ListQuery{}, "[05 04 03 02 01]"},
		{ListQuery{Service: "billing"}, "[05]"},
		{ListQuery{SpanType: "llm_call"}, "[05 03 01]"},
		{ListQuery{SpanType: "entry_point"}, "[05 04 03 02 01]"},
		{ListQuery{SpanType: "llm"}, "[]"},
		{ListQuery{Status: "error"}, "[05 03 01]"},
		{ListQuery{Status: "success", Service: "shop"}, "[04 03 02 01]"},
		{ListQuery{Text: "A-1001"}, "[05 03 01]"},
		{ListQuery{Text: "02020202020202020202020202020202"}, "[02]"},
		{ListQuery{Text: "%"}, "[]"},
		{ListQuery{SinceNs: t0 + 2e9, UntilNs: t0 + 4e9}, "[03 02]"},
	} {
		if got := fmtList(ids(tc.q)); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.q, got, tc.want)
		}
	}
	var pages []string
	cursor := ""
	for {
		l, err := s.List(context.Background(), ListQuery{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range l.Traces {
			pages = append(pages, tr.TraceID[:2])
		}
		pages = append(pages, "|")
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	if got := fmtList(pages); got != "[05 04 | 03 02 | 01 |]" {
		t.Fatalf("pages: %s", got)
	}
	if _, err := s.List(context.Background(), ListQuery{Cursor: "junk!"}); err != ErrBadCursor {
		t.Fatalf("bad cursor: %v", err)
	}
}

func fmtList(s []string) string {
	b, _ := json.Marshal(s)
	return strings.NewReplacer(`","`, " ", `"`, "", "null", "[]").Replace(string(b))
}

func TestRetain(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "db"))
	ctx := context.Background()
	for i := byte(1); i <= 40; i++ {
		if _, err := s.Ingest(ctx, request("shop", agentTrace(i, t0)...), t0+int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Retain(ctx, t0+11, 0) // received before t0+11: traces 1..10
	if err != nil || n != 10 {
		t.Fatalf("by age: deleted %d, %v", n, err)
	}
	if _, found, _ := traceExists(s, 10); found {
		t.Fatal("trace 10 kept")
	}
	if _, found, _ := traceExists(s, 11); !found {
		t.Fatal("trace 11 deleted")
	}
	size, _ := s.Size(ctx)
	if _, err := s.Retain(ctx, 0, size/2); err != nil {
		t.Fatal(err)
	}
	if after, _ := s.Size(ctx); after > size/2 {
		t.Fatalf("size %d over the cap %d", after, size/2)
	}
	traces, spans, _ := s.Counts(ctx)
	if traces == 0 || traces >= 30 || spans != traces*3 {
		t.Fatalf("after the size cap: %d traces, %d spans", traces, spans)
	}
	if _, found, _ := traceExists(s, 40); !found {
		t.Fatal("the newest trace was deleted")
	}
}

func traceExists(s *Store, trace byte) (*bytes.Buffer, bool, error) {
	var b bytes.Buffer
	found, err := s.TraceJSON(context.Background(), tid(trace), &b)
	return &b, found, err
}

func TestWriteStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", `q"b\s`, "ctl\x00\x01\x1f\n\r\t", "<a&b>", "é ünï 中文 🙂", "bad \xff\xfe utf8", "\u2028\u2029", "\xed\xa0\x80"} {
		var b bytes.Buffer
		writeString(&b, s)
		want, _ := json.Marshal(s)
		if b.String() != string(want) {
			t.Errorf("writeString(%q) = %s, want %s", s, b.String(), want)
		}
	}
}
