package llmcapture

import (
	"context"
	"net/http"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func newAnthropic(r *rig, opts ...option.RequestOption) anthropic.Client {
	return anthropic.NewClient(append([]option.RequestOption{
		option.WithAPIKey(testAPIKey),
		option.WithHTTPClient(r.client()),
		option.WithMaxRetries(0),
	}, opts...)...)
}

func TestAnthropicMessage(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "anthropic_message.json")), nil, nil)
	client := newAnthropic(r)
	msg, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model:         anthropic.ModelClaudeSonnet4_5,
		MaxTokens:     1024,
		System:        []anthropic.TextBlockParam{{Text: "You are a helpful support agent."}},
		Messages:      []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"), anthropic.NewImageBlockBase64("image/png", "iVBORw0KGgo="))},
		Temperature:   anthropic.Float(0.5),
		TopK:          anthropic.Int(40),
		StopSequences: []string{"\n\nHuman:"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if msg.Content[0].Text != "Hello! How can I help with your order today?" {
		t.Errorf("the SDK decoded %q", msg.Content[0].Text)
	}
	s := r.only()
	if s.Name() != "chat claude-sonnet-4-5" || s.SpanKind() != trace.SpanKindClient {
		t.Errorf("span %q kind %v", s.Name(), s.SpanKind())
	}
	checkAttrs(t, s.Attributes(), map[string]any{
		"overmind.span.type":                       "llm_call",
		"gen_ai.operation.name":                    "chat",
		"gen_ai.provider.name":                     "anthropic",
		"gen_ai.request.model":                     "claude-sonnet-4-5",
		"gen_ai.request.max_tokens":                int64(1024),
		"gen_ai.request.temperature":               0.5,
		"gen_ai.request.top_k":                     40.0,
		"gen_ai.request.stop_sequences":            []string{"\n\nHuman:"},
		"server.address":                           "api.anthropic.com",
		"server.port":                              int64(443),
		"gen_ai.system_instructions":               jsonText(`[{"type":"text","content":"You are a helpful support agent."}]`),
		"gen_ai.input.messages":                    jsonText(`[{"role":"user","parts":[{"type":"text","content":"Hello"},{"type":"blob","modality":"image","mime_type":"image/png","content":"iVBORw0KGgo="}]}]`),
		"inputs":                                   jsonText(`[{"role":"system","content":"You are a helpful support agent."},{"role":"user","content":[{"type":"text","text":"Hello"},{"type":"image","mime_type":"image/png","data":"iVBORw0KGgo="}]}]`),
		"overmind.llm.attempts":                    int64(1),
		"http.response.status_code":                int64(200),
		"gen_ai.response.id":                       "msg_01XFDUDYJgAACzvnptvVoYEL",
		"gen_ai.response.model":                    "claude-sonnet-4-5-20250929",
		"gen_ai.response.finish_reasons":           []string{"end_turn"},
		"gen_ai.usage.input_tokens":                int64(2121),
		"gen_ai.usage.cache_read.input_tokens":     int64(2000),
		"gen_ai.usage.cache_creation.input_tokens": int64(100),
		"gen_ai.usage.output_tokens":               int64(14),
		"gen_ai.usage.total_tokens":                int64(2135),
		"gen_ai.output.messages":                   jsonText(`[{"role":"assistant","parts":[{"type":"text","content":"Hello! How can I help with your order today?"}],"finish_reason":"end_turn"}]`),
		"outputs":                                  jsonText(`[{"role":"assistant","content":"Hello! How can I help with your order today?","finish_reason":"end_turn"}]`),
		"overmind.duration.seconds":                anyPositive{},
		"overmind.status":                          "success",
	})
	noSecrets(t, r.spans())
	if got := r.requests()[0].header.Get("X-Api-Key"); got != testAPIKey {
		t.Errorf("the server got X-Api-Key %q", got)
	}
}

func TestAnthropicStreamThinkingAndToolUse(t *testing.T) {
	r := newRig(t, replySSE(fixture(t, "anthropic_stream.sse")), nil, nil)
	client := newAnthropic(r)
	stream := client.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
		Model:     anthropic.ModelClaudeSonnet4_5,
		MaxTokens: 2048,
		Thinking:  anthropic.ThinkingConfigParamOfEnabled(1024),
		Messages: []anthropic.MessageParam{
			anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in SF?")),
			anthropic.NewAssistantMessage(anthropic.NewToolUseBlock("toolu_prev", map[string]any{"location": "SF"}, "get_weather")),
			anthropic.NewUserMessage(anthropic.NewToolResultBlock("toolu_prev", "foggy", false)),
		},
		Tools: []anthropic.ToolUnionParam{anthropic.ToolUnionParamOfTool(anthropic.ToolInputSchemaParam{
			Properties: map[string]any{"location": map[string]any{"type": "string"}},
		}, "get_weather")},
	})
	var msg anthropic.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	_ = stream.Close()
	if len(msg.Content) != 3 || msg.Content[1].Text != "Let me check the weather." {
		t.Errorf("the SDK accumulated %+v", msg.Content)
	}
	checkAttrs(t, r.only().Attributes(), map[string]any{
		"overmind.span.type":                       "llm_call",
		"gen_ai.operation.name":                    "chat",
		"gen_ai.provider.name":                     "anthropic",
		"gen_ai.request.model":                     "claude-sonnet-4-5",
		"gen_ai.request.max_tokens":                int64(2048),
		"gen_ai.request.stream":                    true,
		"server.address":                           "api.anthropic.com",
		"server.port":                              int64(443),
		"gen_ai.input.messages":                    jsonText(`[{"role":"user","parts":[{"type":"text","content":"Weather in SF?"}]},{"role":"assistant","parts":[{"type":"tool_call","id":"toolu_prev","name":"get_weather","arguments":{"location":"SF"}}]},{"role":"tool","parts":[{"type":"tool_call_response","id":"toolu_prev","response":"foggy"}]}]`),
		"gen_ai.tool.definitions":                  jsonText(`[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"location":{"type":"string"}}}}]`),
		"inputs":                                   jsonText(`[{"role":"user","content":"Weather in SF?"},{"role":"assistant","content":null,"tool_calls":[{"id":"toolu_prev","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"SF\"}"}}]},{"role":"tool","tool_call_id":"toolu_prev","content":"foggy"}]`),
		"overmind.llm.attempts":                    int64(1),
		"http.response.status_code":                int64(200),
		"gen_ai.response.id":                       "msg_01Stream",
		"gen_ai.response.model":                    "claude-sonnet-4-5-20250929",
		"gen_ai.response.finish_reasons":           []string{"tool_use"},
		"gen_ai.response.time_to_first_chunk":      anyPositive{},
		"gen_ai.usage.input_tokens":                int64(472),
		"gen_ai.usage.cache_read.input_tokens":     int64(0),
		"gen_ai.usage.cache_creation.input_tokens": int64(0),
		"gen_ai.usage.output_tokens":               int64(89),
		"gen_ai.usage.total_tokens":                int64(561),
		"gen_ai.output.messages":                   jsonText(`[{"role":"assistant","parts":[{"type":"reasoning","content":"I should look up the weather."},{"type":"text","content":"Let me check the weather."},{"type":"tool_call","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","arguments":{"location":"San Francisco, CA"}}],"finish_reason":"tool_use"}]`),
		"outputs":                                  jsonText(`[{"role":"assistant","content":"Let me check the weather.","reasoning":"I should look up the weather.","finish_reason":"tool_use","tool_calls":[{"id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"San Francisco, CA\"}"}}]}]`),
		"overmind.duration.seconds":                anyPositive{},
		"overmind.status":                          "success",
	})
}

// replacingProvider is a tracer provider whose tracers come from the
// engine's Tracer, as the runtime's global one.
type replacingProvider struct {
	*sdktrace.TracerProvider
	e *Engine
}

func (p replacingProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return p.e.Tracer(name, p.TracerProvider.Tracer(name, opts...))
}

// TestAnthropicSDKSpanReplaced turns on anthropic-sdk-go's own
// OpenTelemetry spans through a provider whose tracers come from the
// engine: the call must still give one span, the engine's.
func TestAnthropicSDKSpanReplaced(t *testing.T) {
	for _, streaming := range []bool{false, true} {
		r := newRig(t, func(w http.ResponseWriter, req *http.Request, body []byte) {
			if streaming {
				replySSE(fixture(t, "anthropic_stream.sse"))(w, req, body)
				return
			}
			replyJSON(200, fixture(t, "anthropic_message.json"))(w, req, body)
		}, nil, nil)
		client := newAnthropic(r, option.WithTracerProvider(replacingProvider{r.tp, r.engine}))
		params := anthropic.MessageNewParams{
			Model:     anthropic.ModelClaudeSonnet4_5,
			MaxTokens: 1024,
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello"))},
		}
		if streaming {
			stream := client.Messages.NewStreaming(context.Background(), params)
			for stream.Next() {
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			_ = stream.Close()
		} else if _, err := client.Messages.New(context.Background(), params); err != nil {
			t.Fatal(err)
		}
		s := r.only()
		if scope := s.InstrumentationScope().Name; scope != "github.com/overmind-core/overmind-go" {
			t.Errorf("the one span is from scope %q, want the engine's", scope)
		}
		if s.Name() != "chat claude-sonnet-4-5" {
			t.Errorf("span name %q", s.Name())
		}
		attrs := attrMap(s.Attributes())
		if attrs["overmind.status"] != "success" || attrs["overmind.llm.attempts"] != int64(1) {
			t.Errorf("streaming %v: attributes %v", streaming, attrs)
		}
	}
}

// TestAnthropicSDKSpanNesting: given a context with a span, or none inside
// a function whose span is only the goroutine's current one, the call's
// one span is a child of that span.
func TestAnthropicSDKSpanNesting(t *testing.T) {
	var current trace.SpanContext
	r := newRig(t, replyJSON(200, fixture(t, "anthropic_message.json")), nil, func(d *Deps) {
		d.Parent = func(ctx context.Context) context.Context {
			if trace.SpanContextFromContext(ctx).IsValid() || !current.IsValid() {
				return ctx
			}
			return trace.ContextWithSpanContext(ctx, current)
		}
	})
	client := newAnthropic(r, option.WithTracerProvider(replacingProvider{r.tp, r.engine}))
	params := anthropic.MessageNewParams{
		Model:     anthropic.ModelClaudeSonnet4_5,
		MaxTokens: 10,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}
	tracer := r.tp.Tracer("test")

	ctx, fn := tracer.Start(context.Background(), "with_context")
	if _, err := client.Messages.New(ctx, params); err != nil {
		t.Fatal(err)
	}
	fn.End()
	_, fn2 := tracer.Start(context.Background(), "without_context")
	current = fn2.SpanContext()
	if _, err := client.Messages.New(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	fn2.End()
	current = trace.SpanContext{}
	spans := r.spans()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want the two functions' and one for each call", len(spans))
	}
	childOf(t, spans[0], fn.SpanContext())
	childOf(t, spans[2], fn2.SpanContext())
}

// TestAnthropicSDKSpanOfItsOwnProvider: a span anthropic-sdk-go starts
// through a provider of its own is left alone; the engine's span is its
// child.
func TestAnthropicSDKSpanOfItsOwnProvider(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "anthropic_message.json")), nil, nil)
	client := newAnthropic(r, option.WithTracerProvider(r.tp))
	if _, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model:     anthropic.ModelClaudeSonnet4_5,
		MaxTokens: 10,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}); err != nil {
		t.Fatal(err)
	}
	spans := r.spans()
	if len(spans) != 2 || spans[1].Name() != "anthropic.messages.create" {
		t.Fatalf("%d spans, want the engine's and the SDK's", len(spans))
	}
	childOf(t, spans[0], spans[1].SpanContext())
}
