package overmind

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	goopenai "github.com/sashabaranov/go-openai"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/overmind-core/overmind-go/internal/otlptest"
	"github.com/overmind-core/overmind-go/runtime/internal/llmcapture"
)

const (
	chatCompletion = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-5-mini-2025-08-07","choices":[{"index":0,"message":{"role":"assistant","content":"Your order has shipped."},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":5,"total_tokens":25}}`
	chatToolCall   = `{"id":"chatcmpl-2","object":"chat.completion","created":1,"model":"gpt-5-mini-2025-08-07","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"A-1001\",\"api_key\":\"k-live-123\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":20,"completion_tokens":5,"total_tokens":25}}`
	claudeMessage  = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hello!"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":3}}`
)

// resetCaptureForTest forgets the capture settings of earlier Inits and
// unwraps http.DefaultTransport, now and when t ends.
func resetCaptureForTest(t *testing.T) {
	t.Helper()
	reset := func() {
		captureMu.Lock()
		captured = captureSettings{}
		if w, ok := http.DefaultTransport.(*captureTransport); ok {
			http.DefaultTransport = w.base
		}
		defaultWrapped = false
		captureMu.Unlock()
		_ = captureEngine.Configure(llmcapture.Options{})
	}
	reset()
	t.Cleanup(reset)
}

// provider is a local fake provider answering with body, counting the
// requests it gets.
type provider struct {
	*httptest.Server
	mu       sync.Mutex
	requests int
}

func newProvider(t *testing.T, status int, body string) *provider {
	t.Helper()
	p := &provider{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		p.mu.Lock()
		p.requests++
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(p.Close)
	return p
}

// llmSpans returns the ended llm_call spans.
func llmSpans(rec *tracetest.SpanRecorder) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if attrsOf(s)["overmind.span.type"].AsString() == "llm_call" {
			out = append(out, s)
		}
	}
	return out
}

// TestDefaultTransportCaptured: after Init, an openai-go client built
// without an HTTP client of its own is captured through
// http.DefaultTransport, and a call made with context.Background() inside
// an instrumented function nests under it.
func TestDefaultTransportCaptured(t *testing.T) {
	resetCaptureForTest(t)
	srv := newProvider(t, 200, chatCompletion)
	before := openai.NewClient(option.WithAPIKey("sk-before"), option.WithBaseURL(srv.URL+"/v1"), option.WithMaxRetries(0))
	rec := recordForTest(t, Config{Providers: []string{"openai"}, ProviderBaseURLs: []ProviderBaseURL{{URL: srv.URL + "/v1", Name: "ollama"}}})
	if _, ok := http.DefaultTransport.(*captureTransport); !ok {
		t.Fatalf("http.DefaultTransport is %T after Init", http.DefaultTransport)
	}
	client := openai.NewClient(option.WithAPIKey("sk-test"), option.WithBaseURL(srv.URL+"/v1"), option.WithMaxRetries(0))
	system := PromptString("support_v1", "You are {name}, a support agent.", map[string]any{"name": "Astra"})

	func() {
		om := Enter(SpanTypeWorkflow, "support", "example.com/shop.Support", nil)
		if om != nil {
			defer func() { om.Exit(recover(), nil, nil) }()
		}
		SetWorkflowName(context.Background(), "support-flow")
		if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model:    "llama3.2",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(system), openai.UserMessage("Where is my order?")},
		}); err != nil {
			t.Fatal(err)
		}
	}()
	// A client built before Init kept a copy of the unwrapped transport.
	if _, err := before.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "llama3.2",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}); err != nil {
		t.Fatal(err)
	}
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}

	llm := llmSpans(rec)
	if len(llm) != 1 {
		t.Fatalf("%d llm spans, want 1 (the client built before Init is not captured)", len(llm))
	}
	s := llm[0]
	spans := endedByName(t, rec.Ended())
	if s.Parent().SpanID() != spans["support"].SpanContext().SpanID() {
		t.Error("the llm span is not a child of the instrumented function")
	}
	if s.Name() != "chat llama3.2" {
		t.Errorf("name %q", s.Name())
	}
	wantAttr(t, s, "gen_ai.provider.name", "ollama")
	wantAttr(t, s, "gen_ai.usage.input_tokens", 20)
	wantAttr(t, s, "overmind.status", "success")
	wantAttr(t, s, "overmind.prompt.id", "support_v1")
	wantAttr(t, s, "overmind.prompt.hash", promptHash("You are {name}, a support agent."))
	wantAttr(t, s, "overmind.prompt.kwargs", `{"name":"Astra"}`)
	wantAttr(t, s, "overmind.prompt.template", "You are {name}, a support agent.")
	wantAttr(t, s, "outputs", `[{"role":"assistant","content":"Your order has shipped.","finish_reason":"stop"}]`)
	wantAttr(t, s, "traceloop.workflow.name", "support-flow")
}

// TestMiddlewareAndWrapTransport: clients with an HTTP client of their own
// are captured through Middleware (anthropic-sdk-go) and WrapTransport
// (go-openai), against the providers' real hosts, which a dialer sends to
// a local server.
func TestMiddlewareAndWrapTransport(t *testing.T) {
	resetCaptureForTest(t)
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Host+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(r.Host, "api.anthropic.com") {
			_, _ = io.WriteString(w, claudeMessage)
			return
		}
		_, _ = io.WriteString(w, chatCompletion)
	}))
	defer srv.Close()
	local := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", srv.Listener.Addr().String())
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}
	defer local.CloseIdleConnections()

	// Before Init, both pass requests through.
	claude := anthropic.NewClient(anthropicoption.WithAPIKey("sk-ant-test"), anthropicoption.WithHTTPClient(&http.Client{Transport: local}),
		anthropicoption.WithMiddleware(Middleware), anthropicoption.WithMaxRetries(0))
	cfg := goopenai.DefaultConfig("sk-test")
	cfg.HTTPClient = &http.Client{Transport: WrapTransport(local)}
	gpt := goopenai.NewClientWithConfig(cfg)
	call := func() {
		if _, err := claude.Messages.New(context.Background(), anthropic.MessageNewParams{
			Model: anthropic.ModelClaudeSonnet4_5, MaxTokens: 10,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := gpt.CreateChatCompletion(context.Background(), goopenai.ChatCompletionRequest{
			Model: "gpt-5-mini", Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	call()

	rec := recordForTest(t, Config{Providers: []string{"anthropic"}, NoDefaultTransport: true})
	call()
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if llm := llmSpans(rec); len(llm) != 1 || llm[0].Name() != "chat claude-sonnet-4-5" {
		t.Fatalf("with anthropic enabled: %d llm spans", len(llm))
	}

	// A later Init adds openai.
	if err := Init(Config{Providers: []string{"openai"}}); err != nil {
		t.Fatal(err)
	}
	call()
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	llm := llmSpans(rec)
	if len(llm) != 3 {
		t.Fatalf("with both enabled: %d llm spans, want 3", len(llm))
	}
	wantAttr(t, llm[2], "gen_ai.provider.name", "openai")
	wantAttr(t, llm[2], "server.address", "api.openai.com")
	if n := len(paths); n != 6 {
		t.Errorf("the server got %d requests, want 6", n)
	}
}

// TestCaptureRedaction: the runtime's serializer redacts the tool call
// arguments, and the error message is scrubbed of the key it echoes.
func TestCaptureRedaction(t *testing.T) {
	resetCaptureForTest(t)
	tools := newProvider(t, 200, chatToolCall)
	denied := newProvider(t, 401, `{"error":{"message":"Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvwx. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","code":"invalid_api_key"}}`)
	rec := recordForTest(t, Config{ProviderBaseURLs: []ProviderBaseURL{{URL: tools.URL}, {URL: denied.URL}}})

	client := openai.NewClient(option.WithAPIKey("sk-test"), option.WithBaseURL(tools.URL), option.WithMaxRetries(0))
	if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-5-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}); err != nil {
		t.Fatal(err)
	}
	bad := openai.NewClient(option.WithAPIKey("sk-proj-abcdefghijklmnopqrstuvwx"), option.WithBaseURL(denied.URL), option.WithMaxRetries(0))
	_, err := bad.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-5-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("err = %v", err)
	}
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	llm := llmSpans(rec)
	if len(llm) != 2 {
		t.Fatalf("%d llm spans", len(llm))
	}
	var out []map[string]any
	if err := json.Unmarshal([]byte(attrsOf(llm[0])["gen_ai.output.messages"].AsString()), &out); err != nil {
		t.Fatal(err)
	}
	args := out[0]["parts"].([]any)[0].(map[string]any)["arguments"].(map[string]any)
	if args["api_key"] != "<redacted>" || args["order_id"] != "A-1001" {
		t.Errorf("arguments %v", args)
	}
	wantAttr(t, llm[1], "overmind.status", "failed")
	wantAttr(t, llm[1], "error.type", "invalid_request_error")
	wantAttr(t, llm[1], "http.response.status_code", 401)
	for _, s := range llm {
		for _, kv := range s.Attributes() {
			if v := kv.Value.Emit(); strings.Contains(v, "k-live-123") || strings.Contains(v, "abcdefghijklmnopqrstuvwx") {
				t.Errorf("%s holds a secret: %s", kv.Key, v)
			}
		}
	}
}

// TestCaptureBase64Text: message text that is encoded binary data is
// recorded as the serializer records such strings, "<base64 N chars>".
func TestCaptureBase64Text(t *testing.T) {
	resetCaptureForTest(t)
	blob := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 10)[:300]
	p := newProvider(t, 200, chatCompletion)
	rec := recordForTest(t, Config{ProviderBaseURLs: []ProviderBaseURL{{URL: p.URL}}})
	client := openai.NewClient(option.WithAPIKey("sk-test"), option.WithBaseURL(p.URL), option.WithMaxRetries(0))
	if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-5-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(blob)},
	}); err != nil {
		t.Fatal(err)
	}
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	llm := llmSpans(rec)
	if len(llm) != 1 {
		t.Fatalf("%d llm spans", len(llm))
	}
	wantAttr(t, llm[0], "inputs", `[{"role":"user","content":"<base64 300 chars>"}]`)
	wantAttr(t, llm[0], "gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"<base64 300 chars>"}]}]`)
}

func TestNoProviderContent(t *testing.T) {
	resetCaptureForTest(t)
	srv := newProvider(t, 200, chatCompletion)
	rec := recordForTest(t, Config{NoProviderContent: true, ProviderBaseURLs: []ProviderBaseURL{{URL: srv.URL}}})
	client := openai.NewClient(option.WithAPIKey("sk-test"), option.WithBaseURL(srv.URL), option.WithMaxRetries(0))
	if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-5-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("my secret question")},
	}); err != nil {
		t.Fatal(err)
	}
	// A later Init does not turn content back on.
	if err := Init(Config{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-5-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("my secret question")},
	}); err != nil {
		t.Fatal(err)
	}
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	llm := llmSpans(rec)
	if len(llm) != 2 {
		t.Fatalf("%d llm spans", len(llm))
	}
	for _, s := range llm {
		wantAttr(t, s, "gen_ai.usage.output_tokens", 5)
		for _, k := range []string{"inputs", "outputs", "gen_ai.input.messages", "gen_ai.output.messages"} {
			wantNoAttr(t, s, k)
		}
	}
}

func TestInvalidProviderBaseURL(t *testing.T) {
	resetCaptureForTest(t)
	resetForTest()
	err := Init(Config{ProviderBaseURLs: []ProviderBaseURL{{URL: "localhost:11434"}}, Debug: true})
	if err == nil || !strings.Contains(err.Error(), "ProviderBaseURLs") {
		t.Fatalf("Init = %v", err)
	}
	if active.Load() != nil {
		t.Error("a failed Init started tracing")
	}
}

// TestShutdownEndsParkedSpans: a call whose attempts failed without a
// response waits for a retry; Shutdown exports it.
func TestShutdownEndsParkedSpans(t *testing.T) {
	resetCaptureForTest(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = conn.Close()
		}
	}))
	defer srv.Close()
	rec := recordForTest(t, Config{ProviderBaseURLs: []ProviderBaseURL{{URL: srv.URL}}})
	client := openai.NewClient(option.WithAPIKey("sk-test"), option.WithBaseURL(srv.URL), option.WithMaxRetries(1), option.WithMaxRetryDelay(1))
	if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-5-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}); err == nil {
		t.Fatal("the call succeeded")
	}
	if err := Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	llm := llmSpans(rec)
	if len(llm) != 1 {
		t.Fatalf("%d llm spans after Shutdown", len(llm))
	}
	wantAttr(t, llm[0], "overmind.llm.attempts", 2)
	wantAttr(t, llm[0], "overmind.status", "failed")
}

// TestAnthropicUnderInit: Init installs its provider as the global one,
// which anthropic-sdk-go's own spans would use. A call with the function's
// context gives one llm_call span, the capture's, in the function's trace.
func TestAnthropicUnderInit(t *testing.T) {
	resetCaptureForTest(t)
	srv := newProvider(t, 200, claudeMessage)
	rec := recordForTest(t, Config{ProviderBaseURLs: []ProviderBaseURL{{URL: srv.URL, Protocol: "anthropic"}}})
	client := anthropic.NewClient(anthropicoption.WithAPIKey("sk-ant-test"), anthropicoption.WithBaseURL(srv.URL), anthropicoption.WithMaxRetries(0))
	ctx, span := StartSpan(context.Background(), "agent", "greeter")
	if _, err := client.Messages.New(ctx, anthropic.MessageNewParams{
		Model: anthropic.ModelClaudeSonnet4_5, MaxTokens: 10,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}); err != nil {
		t.Fatal(err)
	}
	span.End()
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the agent's and one for the call", len(spans))
	}
	s := spans[0]
	if s.InstrumentationScope().Name != scopeName || s.Name() != "chat claude-sonnet-4-5" {
		t.Errorf("call span %q from %q", s.Name(), s.InstrumentationScope().Name)
	}
	if s.Parent().SpanID() != span.OTel().SpanContext().SpanID() {
		t.Error("the call is not a child of the agent span")
	}
	wantAttr(t, s, "overmind.span.type", "llm_call")
	wantAttr(t, s, "gen_ai.usage.output_tokens", 3)
}

// TestCaptureExportedOverOTLP exports a captured call to an OTLP receiver
// and checks the tree and that no credential travels with it.
func TestCaptureExportedOverOTLP(t *testing.T) {
	resetCaptureForTest(t)
	srv := newProvider(t, 200, chatCompletion)
	recv := otlptest.NewReceiver()
	defer recv.Close()
	initForTest(t, Config{APIKey: "ovr_test_key", BaseURL: recv.URL(), ProviderBaseURLs: []ProviderBaseURL{{URL: srv.URL + "/v1"}}})
	client := openai.NewClient(option.WithAPIKey("sk-test-SECRET-0000000000"), option.WithBaseURL(srv.URL+"/v1"), option.WithMaxRetries(0))
	func() {
		om := Enter(SpanTypeEntryPoint, "handle_support_query", "example.com/shop.Handle", nil)
		if om != nil {
			defer func() { om.Exit(recover(), nil, nil) }()
		}
		if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model: "gpt-5-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Where is my order?")},
		}); err != nil {
			t.Fatal(err)
		}
	}()
	shutdownForTest(t)
	spans := recv.WaitForSpans(2, 5*time.Second)
	if got := otlptest.Tree(spans); !strings.Contains(got, "handle_support_query [entry_point]\n  chat gpt-5-mini [llm_call]\n") {
		t.Fatalf("tree:\n%s", got)
	}
	for _, s := range spans {
		for k, v := range s.Attrs {
			if strings.Contains(fmt.Sprint(v), "SECRET") {
				t.Errorf("%s carries the provider key: %v", k, v)
			}
		}
	}
}

// claudeCached is a message whose usage has cache reads and writes.
const claudeCached = `{"id":"msg_2","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hello!"}],"stop_reason":"end_turn","usage":{"input_tokens":21,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":3}}`

// claudeStream is a message stream; a client that closes it after the
// first events leaves it unfinished.
const claudeStream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_3\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n" +
	"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo!\"}}\n\n" +
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
	"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n" +
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

// newStreamProvider is a local provider answering the first n events of
// a server-sent event stream, then holding the stream open until the
// client goes away.
func newStreamProvider(t *testing.T, stream string, n int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range strings.SplitAfter(stream, "\n\n")[:n] {
			_, _ = io.WriteString(w, ev)
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv
}

// anthropicSDKSpans returns the spans anthropic-sdk-go started for
// messages.create calls.
func anthropicSDKSpans(rec *tracetest.SpanRecorder) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if strings.HasPrefix(s.InstrumentationScope().Name, "com.anthropic.sdk.go") && s.Name() == "anthropic.messages.create" {
			out = append(out, s)
		}
	}
	return out
}

// TestAnthropicBackgroundContextInFunction: an anthropic-sdk-go call made
// with context.Background() inside an instrumented function gives one
// span, in the function's trace; the SDK's own span, which would be a
// trace of its own with the same token usage, is not recorded.
func TestAnthropicBackgroundContextInFunction(t *testing.T) {
	resetCaptureForTest(t)
	srv := newProvider(t, 200, claudeMessage)
	rec := recordForTest(t, Config{ProviderBaseURLs: []ProviderBaseURL{{URL: srv.URL, Protocol: "anthropic"}}})
	client := anthropic.NewClient(anthropicoption.WithAPIKey("sk-ant-test"), anthropicoption.WithBaseURL(srv.URL), anthropicoption.WithMaxRetries(0))
	func() {
		om := Enter(SpanTypeWorkflow, "greet", "example.com/shop.Greet", nil)
		if om != nil {
			defer func() { om.Exit(recover(), nil, nil) }()
		}
		if _, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
			Model: anthropic.ModelClaudeSonnet4_5, MaxTokens: 10,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
		}); err != nil {
			t.Fatal(err)
		}
	}()
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sdk := anthropicSDKSpans(rec); len(sdk) != 0 {
		t.Errorf("%d spans of anthropic-sdk-go's own, in trace %s", len(sdk), sdk[0].SpanContext().TraceID())
	}
	llm := llmSpans(rec)
	if len(llm) != 1 {
		t.Fatalf("%d llm spans, want 1", len(llm))
	}
	fn := endedByName(t, rec.Ended())["greet"]
	if llm[0].Parent().SpanID() != fn.SpanContext().SpanID() {
		t.Error("the llm span is not a child of the function")
	}
	wantAttr(t, llm[0], "gen_ai.usage.output_tokens", 3)
}

// TestAnthropicStreamClosedEarly: an anthropic-sdk-go stream closed after
// its first event ends its span cancelled, with its duration, attempts and
// time to first chunk, as the other providers' do.
func TestAnthropicStreamClosedEarly(t *testing.T) {
	resetCaptureForTest(t)
	srv := newStreamProvider(t, claudeStream, 3)
	rec := recordForTest(t, Config{ProviderBaseURLs: []ProviderBaseURL{{URL: srv.URL, Protocol: "anthropic"}}})
	client := anthropic.NewClient(anthropicoption.WithAPIKey("sk-ant-test"), anthropicoption.WithBaseURL(srv.URL), anthropicoption.WithMaxRetries(0))
	ctx, span := StartSpan(context.Background(), "agent", "greeter")
	stream := client.Messages.NewStreaming(ctx, anthropic.MessageNewParams{
		Model: anthropic.ModelClaudeSonnet4_5, MaxTokens: 10,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	})
	if !stream.Next() {
		t.Fatal(stream.Err())
	}
	_ = stream.Close()
	span.End()
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	llm := llmSpans(rec)
	if len(llm) != 1 {
		t.Fatalf("%d llm spans, want 1", len(llm))
	}
	s := llm[0]
	wantAttr(t, s, "overmind.status", "cancelled")
	wantAttr(t, s, "overmind.llm.attempts", 1)
	for _, k := range []string{"overmind.duration.seconds", "gen_ai.response.time_to_first_chunk"} {
		if v, ok := attrsOf(s)[k]; !ok || v.AsFloat64() <= 0 {
			t.Errorf("%s = %v, want a positive duration", k, v.Emit())
		}
	}
}

// TestAnthropicSpanAsOthers: the span of an anthropic-sdk-go call has the
// attributes and status of every provider's: the conventions' cache
// creation key alone, no OTel status on success, and a duration that is
// the span's own length.
func TestAnthropicSpanAsOthers(t *testing.T) {
	resetCaptureForTest(t)
	srv := newProvider(t, 200, claudeCached)
	rec := recordForTest(t, Config{ProviderBaseURLs: []ProviderBaseURL{{URL: srv.URL, Protocol: "anthropic"}}})
	client := anthropic.NewClient(anthropicoption.WithAPIKey("sk-ant-test"), anthropicoption.WithBaseURL(srv.URL), anthropicoption.WithMaxRetries(0))
	ctx, span := StartSpan(context.Background(), "agent", "greeter")
	if _, err := client.Messages.New(ctx, anthropic.MessageNewParams{
		Model: anthropic.ModelClaudeSonnet4_5, MaxTokens: 10,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}); err != nil {
		t.Fatal(err)
	}
	span.End()
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	llm := llmSpans(rec)
	if len(llm) != 1 {
		t.Fatalf("%d llm spans, want 1", len(llm))
	}
	s := llm[0]
	wantAttr(t, s, "gen_ai.usage.cache_creation.input_tokens", 100)
	wantAttr(t, s, "gen_ai.usage.input_tokens", 2121)
	wantNoAttr(t, s, "gen_ai.usage.cache_write.input_tokens")
	if s.Status().Code != codes.Unset {
		t.Errorf("status %v, want unset", s.Status())
	}
	length := s.EndTime().Sub(s.StartTime()).Seconds()
	if d := attrsOf(s)["overmind.duration.seconds"].AsFloat64(); math.Abs(d-length) > 1e-6 {
		t.Errorf("overmind.duration.seconds = %v, the span lasts %v", d, length)
	}
}
