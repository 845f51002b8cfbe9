package server

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	collectorpb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/overmind-core/overmind-go/client"
)

// newTestServer serves an in-memory store until the test ends.
func newTestServer(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.DB == "" {
		cfg.DB = ":memory:"
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(s)
	hs.Config.RegisterOnShutdown(s.CloseFeeds)
	hs.Start()
	t.Cleanup(func() { s.CloseFeeds(); hs.Close(); s.Close() })
	return s, hs
}

// agentExport is an export request as the runtime sends one: a root and
// an LLM call that failed, with a recorded exception.
func agentExport() ([]byte, string) {
	tid := bytes.Repeat([]byte{0x4b}, 16)
	now := uint64(time.Now().UnixNano())
	str := func(k, v string) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
	}
	root := &tracepb.Span{TraceId: tid, SpanId: []byte{1, 1, 1, 1, 1, 1, 1, 1}, Name: "handle_request", Kind: tracepb.Span_SPAN_KIND_INTERNAL,
		StartTimeUnixNano: now, EndTimeUnixNano: now + 5e6,
		Attributes: []*commonpb.KeyValue{str("overmind.span.type", "entry_point"), str("overmind.status", "success")}}
	llm := &tracepb.Span{TraceId: tid, SpanId: []byte{2, 2, 2, 2, 2, 2, 2, 2}, ParentSpanId: root.SpanId, Name: "chat gpt-4o",
		Kind: tracepb.Span_SPAN_KIND_INTERNAL, StartTimeUnixNano: now + 1e6, EndTimeUnixNano: now + 4e6,
		Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "rate limited"},
		Attributes: []*commonpb.KeyValue{str("overmind.span.type", "llm_call"),
			{Key: "gen_ai.usage.input_tokens", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 7}}},
			{Key: "gen_ai.response.finish_reasons", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{
				Values: []*commonpb.AnyValue{{Value: &commonpb.AnyValue_StringValue{StringValue: "stop"}}}}}}}},
		Events: []*tracepb.Span_Event{{Name: "exception", TimeUnixNano: now + 2e6,
			Attributes: []*commonpb.KeyValue{str("exception.message", "retry: 429"), str("exception.stacktrace", "goroutine 1 [running]:")}}}}
	td := &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "shop")}},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "github.com/overmind-core/overmind-go/runtime"},
			Spans: []*tracepb.Span{root, llm}}},
	}}}
	body, err := proto.Marshal(td)
	if err != nil {
		panic(err)
	}
	return body, hex.EncodeToString(tid)
}

// exportGzipped posts agentExport gzipped, as the runtime does, and
// returns the trace ID.
func exportGzipped(t *testing.T, url string, headers map[string]string) string {
	t.Helper()
	body, id := agentExport()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(gz(body)))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "gzip")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if r := do(t, req); r.code != 200 || r.body != "" || r.header.Get("Content-Type") != "application/x-protobuf" {
		t.Fatalf("export: %d %q", r.code, r.body)
	}
	return id
}

func TestProtobufExportAndRetrieve(t *testing.T) {
	t.Parallel()
	_, hs := newTestServer(t, Config{})
	for _, path := range []string{"/v1/traces", "/api/v1/traces"} {
		id := exportGzipped(t, hs.URL+path, nil)
		resp, err := client.New(hs.URL, "").RetrieveTrace(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if resp.TraceID != id || resp.SpanCount != 2 || resp.Root == nil || resp.Root.Name != "handle_request" {
			t.Fatalf("%s: %+v", path, resp)
		}
		llm := resp.Spans[1]
		if llm.SpanType != "llm_call" || llm.StatusCode != 2 || llm.StatusMessage != "rate limited" || llm.Kind != 1 ||
			llm.Attributes["gen_ai.usage.input_tokens"] != json.Number("7") || client.AttrText(llm.Attributes["gen_ai.response.finish_reasons"]) != `["stop"]` ||
			llm.ResourceAttrs["service.name"] != "shop" || llm.ScopeName != "github.com/overmind-core/overmind-go/runtime" {
			t.Fatalf("%s: llm span %+v", path, llm)
		}
		if len(llm.Events.Items) != 1 || llm.Events.Items[0].Name != "exception" || llm.Events.Items[0].Attributes["exception.message"] != "retry: 429" {
			t.Fatalf("%s: events %+v", path, llm.Events)
		}
	}
}

// jsonExport is a request as OpenTelemetry's JavaScript and Python
// exporters send OTLP/JSON: hex IDs (any case), 64-bit integers as
// strings or numbers, enums as numbers.
const jsonExport = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"web"}}]},
 "scopeSpans":[{"scope":{"name":"@opentelemetry/instrumentation-openai","version":"0.1.0"},"spans":[
  {"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174","parentSpanId":"","name":"chat gpt-4o-mini",
   "kind":3,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":1700000000250000000,
   "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
    {"key":"gen_ai.usage.input_tokens","value":{"intValue":"11"}},{"key":"gen_ai.usage.output_tokens","value":{"intValue":3}},
    {"key":"ok","value":{"boolValue":true}},{"key":"ratio","value":{"doubleValue":0.25}},
    {"key":"tags","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"2"}]}}},
    {"key":"meta","value":{"kvlistValue":{"values":[{"key":"k","value":{"stringValue":"v"}}]}}}],
   "events":[],"links":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":[]}],
   "status":{"code":1},"droppedAttributesCount":0}]}]}]}`

func TestJSONExport(t *testing.T) {
	t.Parallel()
	_, hs := newTestServer(t, Config{})
	resp := post(t, hs.URL+"/v1/traces", "application/json", "", []byte(jsonExport))
	if resp.code != 200 || resp.body != "{}" || resp.header.Get("Content-Type") != "application/json" {
		t.Fatalf("export: %d %q", resp.code, resp.body)
	}
	tr, err := client.New(hs.URL, "").RetrieveTrace(context.Background(), "5b8efff798038103d269b633813fc60c")
	if err != nil {
		t.Fatal(err)
	}
	s := tr.Spans[0]
	if !s.IsRoot || s.SpanID != "eee19b7ec3c1b174" || s.Kind != 3 || s.SpanType != "llm_call" || s.Operation != "chat" ||
		s.StartTimeNs != 1700000000000000000 || s.DurationNs != 250000000 || s.StatusCode != 1 || s.ServiceName != "web" {
		t.Fatalf("span: %+v", s)
	}
	attrs, _ := json.Marshal(s.Attributes)
	if want := `{"gen_ai.operation.name":"chat","gen_ai.usage.input_tokens":11,"gen_ai.usage.output_tokens":3,"meta":{"k":"v"},"ok":true,"ratio":0.25,"tags":["a",2]}`; string(attrs) != want {
		t.Fatalf("attributes:\n%s\nwant\n%s", attrs, want)
	}
	if len(s.Links.Items) != 1 || s.Links.Items[0].TraceID != "0af7651916cd43dd8448eb211c80319c" {
		t.Fatalf("links: %+v", s.Links)
	}
	list, _ := client.New(hs.URL, "").ListTraces(context.Background(), client.ListParams{})
	if got := list.Traces[0]; got.InputTokens != 11 || got.OutputTokens != 3 || got.LLMCalls != 1 || got.Status != "success" {
		t.Fatalf("summary: %+v", got)
	}
}

type response struct {
	code   int
	body   string
	header http.Header
}

func post(t *testing.T, url, contentType, encoding string, body []byte) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, string(b), res.Header}
}

func get(t *testing.T, url string) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	return do(t, req)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	_, hs := newTestServer(t, Config{MaxBodyBytes: 1 << 16})
	valid, _ := proto.Marshal(&tracepb.TracesData{})
	for _, tc := range []struct {
		name, contentType, encoding string
		body                        []byte
		code                        int
		want                        string
	}{
		{"malformed protobuf", "application/x-protobuf", "", []byte("\xff\xff\xff garbage"), 400, "decode OTLP protobuf"},
		{"malformed JSON", "application/json", "", []byte(`{"resourceSpans":[{`), 400, "decode OTLP JSON"},
		{"JSON of the wrong shape", "application/json", "", []byte(`{"resourceSpans":"x"}`), 400, "decode OTLP JSON"},
		{"trailing JSON", "application/json", "", []byte(`{} {}`), 400, "data after"},
		{"no content type", "", "", valid, 415, "Content-Type"},
		{"form post", "application/x-www-form-urlencoded", "", valid, 415, "Content-Type"},
		{"unknown encoding", "application/x-protobuf", "br", valid, 415, "Content-Encoding"},
		{"bad gzip", "application/x-protobuf", "gzip", []byte("not gzip"), 400, "gzip"},
		{"body over the limit", "application/x-protobuf", "", make([]byte, 1<<16+1), 413, "too large"},
		{"gzip bomb", "application/json", "gzip", gz(bytes.Repeat([]byte(" "), 1<<20)), 413, "too large"},
		{"empty body", "application/x-protobuf", "", nil, 200, ""},
	} {
		resp := post(t, hs.URL+"/v1/traces", tc.contentType, tc.encoding, tc.body)
		msg := resp.body
		if strings.HasPrefix(resp.header.Get("Content-Type"), "application/x-protobuf") && tc.code != 200 {
			var st status.Status
			if err := proto.Unmarshal([]byte(resp.body), &st); err != nil {
				t.Errorf("%s: error body is not a google.rpc.Status: %v", tc.name, err)
			}
			msg = st.GetMessage()
		}
		if resp.code != tc.code || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, resp.code, msg, tc.code, tc.want)
		}
	}
	for _, tc := range []struct {
		path string
		code int
		want string
	}{
		{"/api/traces/xyz/", 400, `malformed trace_id \"xyz\"`},
		{"/api/traces/5b8efff798038103d269b633813fc60c/", 404, "trace 5b8efff798038103d269b633813fc60c not found"},
		{"/api/traces/5B8EFFF798038103D269B633813FC60C", 404, "not found"},
		{"/api/traces/?limit=x", 400, "limit"},
		{"/api/traces/?since=yesterday", 400, "since"},
		{"/api/traces/?cursor=!!", 400, "cursor"},
		{"/nowhere", 404, "no such endpoint"},
		{"/v1/traces", 405, "POSTed"},
	} {
		resp := get(t, hs.URL+tc.path)
		if resp.code != tc.code || !strings.Contains(resp.body, tc.want) {
			t.Errorf("GET %s: %d %s, want %d with %q", tc.path, resp.code, resp.body, tc.code, tc.want)
		}
		if resp.header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: Content-Type %q", tc.path, resp.header.Get("Content-Type"))
		}
	}
}

func TestPartialSuccess(t *testing.T) {
	t.Parallel()
	_, hs := newTestServer(t, Config{})
	td := &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{
		{TraceId: make([]byte, 16), SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Name: "zero trace id"},
		{TraceId: bytes.Repeat([]byte{1}, 16), SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Name: "fine",
			Attributes: []*commonpb.KeyValue{{Key: "nil value"}}},
	}}}}}}
	body, _ := proto.Marshal(td)
	resp := post(t, hs.URL+"/v1/traces", "application/x-protobuf", "", body)
	var out collectorpb.ExportTraceServiceResponse
	if err := proto.Unmarshal([]byte(resp.body), &out); err != nil || resp.code != 200 {
		t.Fatalf("%d %v", resp.code, err)
	}
	if ps := out.GetPartialSuccess(); ps.GetRejectedSpans() != 1 || !strings.Contains(ps.GetErrorMessage(), "rejected") {
		t.Fatalf("partial success: %+v", ps)
	}
	tr, err := client.New(hs.URL, "").RetrieveTrace(context.Background(), "01010101010101010101010101010101")
	if err != nil || tr.Spans[0].Attributes["nil value"] != nil {
		t.Fatalf("%+v %v", tr, err)
	}
}

func TestAPIKey(t *testing.T) {
	t.Parallel()
	_, hs := newTestServer(t, Config{APIKey: "sesame"})
	if _, err := client.New(hs.URL, "").ListTraces(context.Background(), client.ListParams{}); err == nil || !strings.Contains(err.Error(), "401 missing or wrong X-Api-Key") {
		t.Fatalf("no key: %v", err)
	}
	if _, err := client.New(hs.URL, "wrong").ListTraces(context.Background(), client.ListParams{}); err == nil {
		t.Fatal("a wrong key was accepted")
	}
	exportGzipped(t, hs.URL+"/api/v1/traces", map[string]string{"X-Api-Key": "sesame"})
	if l, err := client.New(hs.URL, "sesame").ListTraces(context.Background(), client.ListParams{}); err != nil || len(l.Traces) != 1 {
		t.Fatalf("with the key: %+v %v", l, err)
	}
	if r := post(t, hs.URL+"/v1/traces", "application/json", "", []byte("{}")); r.code != 401 {
		t.Fatalf("export without the key: %d", r.code)
	}
	// The page: /?api_key= sets a cookie, which then authorizes requests.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Get(hs.URL + "/?api_key=sesame")
	if err != nil || res.StatusCode != http.StatusSeeOther || len(res.Cookies()) != 1 || !res.Cookies()[0].HttpOnly {
		t.Fatalf("key in the URL: %v %+v", err, res)
	}
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/api/traces/", nil)
	req.AddCookie(res.Cookies()[0])
	if r := do(t, req); r.code != 200 {
		t.Fatalf("with the cookie: %d", r.code)
	}
	if res, _ := noRedirect.Get(hs.URL + "/?api_key=wrong"); res.StatusCode != 401 {
		t.Fatalf("wrong key in the URL: %d", res.StatusCode)
	}
}

func TestHostCheckWithoutKey(t *testing.T) {
	t.Parallel()
	_, hs := newTestServer(t, Config{})
	for host, want := range map[string]int{"evil.example": 403, "localhost:4318": 200, "127.0.0.1": 200, "[::1]:4318": 200} {
		req, _ := http.NewRequest(http.MethodGet, hs.URL+"/api/traces/", nil)
		req.Host = host
		if r := do(t, req); r.code != want {
			t.Errorf("Host %s: %d, want %d", host, r.code, want)
		}
	}
}

func TestConcurrentExporters(t *testing.T) {
	t.Parallel()
	srv, hs := newTestServer(t, Config{})
	const exporters, batches, spans = 4, 5, 50
	var wg sync.WaitGroup
	for e := range exporters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				body, _ := proto.Marshal(batch(byte(e*batches+b+1), spans))
				if r := post(t, hs.URL+"/v1/traces", "application/x-protobuf", "", body); r.code != 200 {
					t.Errorf("export: %d %s", r.code, r.body)
				}
			}
		}()
	}
	wg.Wait()
	traces, stored, err := srv.store.Counts(context.Background())
	if err != nil || traces != exporters*batches || stored != exporters*batches*spans {
		t.Fatalf("%d traces, %d spans, %v", traces, stored, err)
	}
}

// batch is one trace of n spans: a root and its children.
func batch(trace byte, n int) *tracepb.TracesData {
	tid := bytes.Repeat([]byte{trace}, 16)
	now := uint64(time.Now().UnixNano())
	spans := make([]*tracepb.Span, n)
	for i := range spans {
		s := &tracepb.Span{TraceId: tid, SpanId: []byte{0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i) + 1}, Name: fmt.Sprintf("span %d", i),
			StartTimeUnixNano: now + uint64(i)*1000, EndTimeUnixNano: now + uint64(i)*1000 + 500,
			Attributes: []*commonpb.KeyValue{{Key: "overmind.span.type", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "tool_call"}}},
				{Key: "inputs", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: `{"query":"where is my order?","limit":10}`}}}}}
		if i > 0 {
			s.ParentSpanId = spans[0].SpanId
		}
		spans[i] = s
	}
	return &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}}}}}
}

func TestLiveFeed(t *testing.T) {
	t.Parallel()
	_, hs := newTestServer(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL+"/api/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("Content-Type %q", res.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(res.Body)
	lines.Scan() // retry:
	body, _ := proto.Marshal(batch(9, 1))
	post(t, hs.URL+"/v1/traces", "application/x-protobuf", "", body)
	for lines.Scan() {
		if lines.Text() == "event: ingest" {
			return
		}
	}
	t.Fatalf("no ingest event: %v", lines.Err())
}

func TestPage(t *testing.T) {
	t.Parallel()
	_, hs := newTestServer(t, Config{})
	page := get(t, hs.URL+"/")
	if page.code != 200 || !strings.Contains(page.body, `<script src="/assets/app.js">`) || !strings.Contains(page.header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("page: %d %.200s", page.code, page.body)
	}
	for _, asset := range []string{"/assets/app.js", "/assets/app.css"} {
		if r := get(t, hs.URL+asset); r.code != 200 || len(r.body) < 1000 {
			t.Errorf("%s: %d, %d bytes", asset, r.code, len(r.body))
		}
	}
	// Nothing on the page comes from elsewhere: it works offline.
	for _, asset := range []string{"/", "/assets/app.js", "/assets/app.css"} {
		if body := get(t, hs.URL+asset).body; strings.Contains(body, "http://") || strings.Contains(body, "https://") || strings.Contains(body, "//cdn") {
			t.Errorf("%s refers to another site", asset)
		}
	}
}
