package integration

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	goopenai "github.com/sashabaranov/go-openai"

	overmind "github.com/overmind-core/overmind-go/runtime"
)

func chatParams(text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: "gpt-5-mini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}
}

// TestNesting: a call made with a context that carries a span is its
// child; one made with context.Background() inside an instrumented
// function is a child of the function's span, the goroutine's current one.
func TestNesting(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "openai_chat.json")))
	client := newOpenAI(r)
	ctx, handle := overmind.StartSpan(context.Background(), overmind.SpanTypeEntryPoint, "handle_request")
	if _, err := client.Chat.Completions.New(ctx, chatParams("hi")); err != nil {
		t.Fatal(err)
	}
	handle.End()
	func() {
		om := overmind.Enter(overmind.SpanTypeWorkflow, "research", "example.com/agent.Research", nil)
		defer func() { om.Exit(recover(), nil, nil) }()
		if _, err := client.Chat.Completions.New(context.Background(), chatParams("hi")); err != nil {
			t.Fatal(err)
		}
	}()
	spans := r.spans()
	if len(spans) != 4 {
		t.Fatalf("%d spans", len(spans))
	}
	childOf(t, spans[0], spans[1].SpanContext())
	childOf(t, spans[2], spans[3].SpanContext())
	if spans[1].Name() != "handle_request" || spans[3].Name() != "research" {
		t.Errorf("parents %q, %q", spans[1].Name(), spans[3].Name())
	}
}

// TestMiddlewareAndTransport: a request that passes overmind.Middleware
// and a transport that overmind.WrapTransport wrapped gives one span.
func TestMiddlewareAndTransport(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "openai_chat.json")))
	client := newOpenAI(r, option.WithMiddleware(overmind.Middleware))
	if _, err := client.Chat.Completions.New(context.Background(), chatParams("hi")); err != nil {
		t.Fatal(err)
	}
	r.only()
}

// TestMiddlewareAndWrapTransport: clients with an HTTP client of their own
// are captured through overmind.Middleware (anthropic-sdk-go) and
// overmind.WrapTransport (go-openai).
func TestMiddlewareAndWrapTransport(t *testing.T) {
	r := newRig(t, func(w http.ResponseWriter, req *http.Request, body []byte) {
		if strings.HasPrefix(req.Host, "api.anthropic.com") {
			replyJSON(200, fixture(t, "anthropic_message.json"))(w, req, body)
			return
		}
		replyJSON(200, fixture(t, "openai_chat.json"))(w, req, body)
	})
	claude := anthropic.NewClient(anthropicoption.WithAPIKey(testAPIKey), anthropicoption.WithHTTPClient(r.plainClient()),
		anthropicoption.WithMiddleware(overmind.Middleware), anthropicoption.WithMaxRetries(0))
	if _, err := claude.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model: anthropic.ModelClaudeSonnet4_5, MaxTokens: 10,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}); err != nil {
		t.Fatal(err)
	}
	cfg := goopenai.DefaultConfig(testAPIKey)
	cfg.HTTPClient = r.client()
	if _, err := goopenai.NewClientWithConfig(cfg).CreateChatCompletion(context.Background(), goopenai.ChatCompletionRequest{
		Model: "gpt-5-mini", Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
	}); err != nil {
		t.Fatal(err)
	}
	spans := r.spans()
	if len(spans) != 2 || spans[0].Name() != "chat claude-sonnet-4-5" || spans[1].Name() != "chat gpt-5-mini" {
		t.Fatalf("%d spans", len(spans))
	}
	noSecrets(t, spans)
}

// TestBaseURLs captures an OpenAI-compatible local server and an Azure
// OpenAI deployment that a later Init names in Config.ProviderBaseURLs.
func TestBaseURLs(t *testing.T) {
	r := newRig(t, nil)
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fixture(t, "openai_chat.json"))
	}))
	defer local.Close()
	if err := overmind.Init(overmind.Config{ProviderBaseURLs: []overmind.ProviderBaseURL{
		{URL: local.URL + "/v1", Name: "ollama"},
		{URL: local.URL + "/openai", Name: "azure.ai.openai"},
	}}); err != nil {
		t.Fatal(err)
	}
	httpClient := &http.Client{Transport: overmind.WrapTransport(local.Client().Transport)}
	cfg := goopenai.DefaultConfig("ollama")
	cfg.BaseURL = local.URL + "/v1"
	cfg.HTTPClient = httpClient
	if _, err := goopenai.NewClientWithConfig(cfg).CreateChatCompletion(context.Background(), goopenai.ChatCompletionRequest{
		Model:    "llama3.2",
		Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
	}); err != nil {
		t.Fatal(err)
	}
	azure := openai.NewClient(option.WithAPIKey(testAPIKey), option.WithBaseURL(local.URL+"/openai/deployments/my-gpt-4o/"),
		option.WithHTTPClient(httpClient), option.WithMaxRetries(0))
	if _, err := azure.Chat.Completions.New(context.Background(), chatParams("hi")); err != nil {
		t.Fatal(err)
	}
	spans := r.spans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	for i, want := range []struct{ name, provider string }{
		{"chat llama3.2", "ollama"},
		{"chat gpt-5-mini", "azure.ai.openai"},
	} {
		a := attrMap(spans[i].Attributes())
		if spans[i].Name() != want.name || a["gen_ai.provider.name"] != want.provider || a["server.address"] != "127.0.0.1" {
			t.Errorf("span %q: %v", spans[i].Name(), a)
		}
	}
}

func TestStreamContextCancelled(t *testing.T) {
	events := strings.SplitAfter(string(fixture(t, "openai_chat_stream.sse")), "\n\n")
	release := make(chan struct{})
	r := newRig(t, func(w http.ResponseWriter, req *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, events[0])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-req.Context().Done():
		}
	})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	client := newOpenAI(r)
	stream := client.Chat.Completions.NewStreaming(ctx, chatParams("hi"))
	if !stream.Next() {
		t.Fatal(stream.Err())
	}
	cancel()
	for stream.Next() {
	}
	_ = stream.Close()
	if a := attrMap(r.only().Attributes()); a["overmind.status"] != "cancelled" {
		t.Errorf("attributes %v", a)
	}
}

// TestCaptureRedaction: the runtime's serializer redacts the tool call
// arguments, and the error message is scrubbed of the key it echoes.
func TestCaptureRedaction(t *testing.T) {
	const leaked = "sk-proj-abcdefghijklmnopqrstuvwx"
	r := newRig(t, func(w http.ResponseWriter, req *http.Request, body []byte) {
		if strings.Contains(string(body), "denied") {
			replyJSON(401, []byte(`{"error":{"message":"Incorrect API key provided: `+leaked+`. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","code":"invalid_api_key"}}`))(w, req, body)
			return
		}
		replyJSON(200, fixture(t, "openai_chat_tools.json"))(w, req, body)
	})
	client := newOpenAI(r)
	if _, err := client.Chat.Completions.New(context.Background(), chatParams("hi")); err != nil {
		t.Fatal(err)
	}
	_, err := client.Chat.Completions.New(context.Background(), chatParams("denied"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("err = %v", err)
	}
	spans := r.spans()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	var out []map[string]any
	if err := json.Unmarshal([]byte(attrMap(spans[0].Attributes())["gen_ai.output.messages"].(string)), &out); err != nil {
		t.Fatal(err)
	}
	args := out[0]["parts"].([]any)[0].(map[string]any)["arguments"].(map[string]any)
	if args["api_key"] != "<redacted>" || args["order_id"] != "A-1001" {
		t.Errorf("arguments %v", args)
	}
	a := attrMap(spans[1].Attributes())
	if a["overmind.status"] != "failed" || a["error.type"] != "invalid_request_error" || a["http.response.status_code"] != int64(401) {
		t.Errorf("failed call %v", a)
	}
	for _, s := range spans {
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
	blob := strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", 10)[:300]
	r := newRig(t, replyJSON(200, fixture(t, "openai_chat.json")))
	client := newOpenAI(r)
	if _, err := client.Chat.Completions.New(context.Background(), chatParams(blob)); err != nil {
		t.Fatal(err)
	}
	checkAttrValues(t, r.only(), map[string]string{
		"inputs":                `[{"role":"user","content":"<base64 300 chars>"}]`,
		"gen_ai.input.messages": `[{"role":"user","parts":[{"type":"text","content":"<base64 300 chars>"}]}]`,
	})
}
