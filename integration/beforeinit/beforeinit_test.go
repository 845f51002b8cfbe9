// Package beforeinit tests what Init changes for the clients a program
// builds before and after it: it runs in a process of its own, whose
// tracing starts in the test.
package beforeinit

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	overmind "github.com/overmind-core/overmind-go/runtime"
)

const chatCompletion = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-5-mini-2025-08-07","choices":[{"index":0,"message":{"role":"assistant","content":"Your order has shipped."},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":5,"total_tokens":25}}`

// TestDefaultTransportCaptured: after Init, an openai-go client built
// without an HTTP client of its own is captured through
// http.DefaultTransport, and a call made with context.Background() inside
// an instrumented function nests under it; a client built before Init
// kept a copy of the unwrapped transport and is not captured.
func TestDefaultTransportCaptured(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, chatCompletion)
	}))
	defer srv.Close()
	before := openai.NewClient(option.WithAPIKey("sk-before"), option.WithBaseURL(srv.URL+"/v1"), option.WithMaxRetries(0))
	rec := tracetest.NewSpanRecorder()
	if err := overmind.Init(overmind.Config{
		Providers:        []string{"openai"},
		ProviderBaseURLs: []overmind.ProviderBaseURL{{URL: srv.URL + "/v1", Name: "ollama"}},
		SpanProcessors:   []sdktrace.SpanProcessor{rec},
	}); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = overmind.Shutdown(context.Background()) }()
	if _, ok := http.DefaultTransport.(*http.Transport); ok {
		t.Fatal("http.DefaultTransport is not wrapped after Init")
	}
	client := openai.NewClient(option.WithAPIKey("sk-test"), option.WithBaseURL(srv.URL+"/v1"), option.WithMaxRetries(0))
	system := overmind.PromptString("support_v1", "You are {name}, a support agent.", map[string]any{"name": "Astra"})
	func() {
		om := overmind.Enter(overmind.SpanTypeWorkflow, "support", "example.com/shop.Support", nil)
		defer func() { om.Exit(recover(), nil, nil) }()
		overmind.SetWorkflowName(context.Background(), "support-flow")
		if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model:    "llama3.2",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(system), openai.UserMessage("Where is my order?")},
		}); err != nil {
			t.Fatal(err)
		}
	}()
	if _, err := before.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "llama3.2",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}); err != nil {
		t.Fatal(err)
	}
	if err := overmind.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the function's and one call's (the client built before Init is not captured)", len(spans))
	}
	s, fn := spans[0], spans[1]
	if s.Parent().SpanID() != fn.SpanContext().SpanID() || fn.Name() != "support" {
		t.Error("the llm span is not a child of the instrumented function")
	}
	if s.Name() != "chat llama3.2" {
		t.Errorf("name %q", s.Name())
	}
	got := map[string]string{}
	for _, kv := range s.Attributes() {
		got[string(kv.Key)] = kv.Value.Emit()
	}
	for k, want := range map[string]string{
		"gen_ai.provider.name":      "ollama",
		"gen_ai.usage.input_tokens": "20",
		"overmind.status":           "success",
		"overmind.prompt.id":        "support_v1",
		"overmind.prompt.kwargs":    `{"name":"Astra"}`,
		"overmind.prompt.template":  "You are {name}, a support agent.",
		"outputs":                   `[{"role":"assistant","content":"Your order has shipped.","finish_reason":"stop"}]`,
		"traceloop.workflow.name":   "support-flow",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
}
