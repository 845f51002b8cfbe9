package integration

import (
	"context"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	overmind "github.com/overmind-core/overmind-go/runtime"
)

func newAnthropic(r *rig, opts ...option.RequestOption) anthropic.Client {
	return anthropic.NewClient(append([]option.RequestOption{
		option.WithAPIKey(testAPIKey),
		option.WithHTTPClient(r.client()),
		option.WithMaxRetries(0),
	}, opts...)...)
}

func TestAnthropicMessage(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "anthropic_message.json")))
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
	if got := r.requests()[0].Header.Get("X-Api-Key"); got != testAPIKey {
		t.Errorf("the server got X-Api-Key %q", got)
	}
}

func TestAnthropicStreamThinkingAndToolUse(t *testing.T) {
	r := newRig(t, replySSE(fixture(t, "anthropic_stream.sse")))
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

// anthropicSDKSpans returns the spans anthropic-sdk-go started for
// messages calls.
func anthropicSDKSpans(spans []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if strings.HasPrefix(s.InstrumentationScope().Name, "com.anthropic.sdk.go") && s.Name() == "anthropic.messages.create" {
			out = append(out, s)
		}
	}
	return out
}

// TestAnthropicSDKSpanReplaced: anthropic-sdk-go starts spans of its own
// through the global tracer provider, which Init installs. A call must
// still give one span, the capture's.
func TestAnthropicSDKSpanReplaced(t *testing.T) {
	for _, streaming := range []bool{false, true} {
		r := newRig(t, func(w http.ResponseWriter, req *http.Request, body []byte) {
			if streaming {
				replySSE(fixture(t, "anthropic_stream.sse"))(w, req, body)
				return
			}
			replyJSON(200, fixture(t, "anthropic_message.json"))(w, req, body)
		})
		client := newAnthropic(r)
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
		if scope := s.InstrumentationScope().Name; scope != "github.com/overmind-core/overmind-go/runtime" {
			t.Errorf("the one span is from scope %q, want the runtime's", scope)
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

// TestAnthropicSDKSpanNesting: a call with the function's context is a
// child of the function's span; so is one made with context.Background()
// inside an instrumented function, whose span is only the goroutine's
// current one. Either gives one span, in the function's trace: the SDK's
// own span, which would be a root of its own with the same token usage, is
// not recorded.
func TestAnthropicSDKSpanNesting(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "anthropic_message.json")))
	client := newAnthropic(r)
	params := anthropic.MessageNewParams{
		Model:     anthropic.ModelClaudeSonnet4_5,
		MaxTokens: 10,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}
	ctx, withCtx := overmind.StartSpan(context.Background(), "agent", "with_context")
	if _, err := client.Messages.New(ctx, params); err != nil {
		t.Fatal(err)
	}
	withCtx.End()
	func() {
		om := overmind.Enter(overmind.SpanTypeWorkflow, "without_context", "example.com/shop.Greet", nil)
		defer func() { om.Exit(recover(), nil, nil) }()
		if _, err := client.Messages.New(context.Background(), params); err != nil {
			t.Fatal(err)
		}
	}()
	if sdk := anthropicSDKSpans(r.spans()); len(sdk) != 0 {
		t.Errorf("%d spans of anthropic-sdk-go's own", len(sdk))
	}
	spans := r.spans()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want the two functions' and one for each call", len(spans))
	}
	childOf(t, spans[0], spans[1].SpanContext())
	childOf(t, spans[2], spans[3].SpanContext())
	if spans[3].Name() != "without_context" || attrMap(spans[2].Attributes())["gen_ai.usage.output_tokens"] != int64(14) {
		t.Errorf("spans %q, %q", spans[2].Name(), spans[3].Name())
	}
}

// TestAnthropicSDKSpanOfItsOwnProvider: a span anthropic-sdk-go starts
// through a tracer provider given to it is left alone; the capture's span
// is its child.
func TestAnthropicSDKSpanOfItsOwnProvider(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "anthropic_message.json")))
	own := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(own))
	client := newAnthropic(r, option.WithTracerProvider(tp))
	if _, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model:     anthropic.ModelClaudeSonnet4_5,
		MaxTokens: 10,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}); err != nil {
		t.Fatal(err)
	}
	sdk := anthropicSDKSpans(own.Ended())
	if len(sdk) != 1 {
		t.Fatalf("%d spans of the SDK's", len(sdk))
	}
	childOf(t, r.only(), sdk[0].SpanContext())
}

// claudeStream is a message stream.
const claudeStream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_3\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n" +
	"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo!\"}}\n\n" +
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
	"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n" +
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

// holdStream answers the first n events of stream, then holds the stream
// open until the client goes away.
func holdStream(stream string, n int) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range strings.SplitAfter(stream, "\n\n")[:n] {
			_, _ = io.WriteString(w, ev)
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
}

// TestAnthropicStreamClosedEarly: a stream closed after its first events
// ends its span cancelled, with its duration, attempts and time to first
// chunk, as the other providers' do.
func TestAnthropicStreamClosedEarly(t *testing.T) {
	r := newRig(t, holdStream(claudeStream, 3))
	client := newAnthropic(r)
	ctx, span := overmind.StartSpan(context.Background(), "agent", "greeter")
	stream := client.Messages.NewStreaming(ctx, anthropic.MessageNewParams{
		Model: anthropic.ModelClaudeSonnet4_5, MaxTokens: 10,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	})
	if !stream.Next() {
		t.Fatal(stream.Err())
	}
	_ = stream.Close()
	span.End()
	llm := r.llm()
	if len(llm) != 1 {
		t.Fatalf("%d llm spans, want 1", len(llm))
	}
	a := attrMap(llm[0].Attributes())
	if a["overmind.status"] != "cancelled" || a["overmind.llm.attempts"] != int64(1) {
		t.Errorf("overmind.status %v, overmind.llm.attempts %v", a["overmind.status"], a["overmind.llm.attempts"])
	}
	for _, k := range []string{"overmind.duration.seconds", "gen_ai.response.time_to_first_chunk"} {
		if v, _ := a[k].(float64); v <= 0 {
			t.Errorf("%s = %v, want a positive duration", k, a[k])
		}
	}
}

// TestAnthropicSpanAsOthers: the span of a call has the attributes and
// status of every provider's: the conventions' cache creation key alone,
// no OTel status on success, and a duration that is the span's own length.
func TestAnthropicSpanAsOthers(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "anthropic_message.json")))
	client := newAnthropic(r)
	ctx, span := overmind.StartSpan(context.Background(), "agent", "greeter")
	if _, err := client.Messages.New(ctx, anthropic.MessageNewParams{
		Model: anthropic.ModelClaudeSonnet4_5, MaxTokens: 10,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}); err != nil {
		t.Fatal(err)
	}
	span.End()
	llm := r.llm()
	if len(llm) != 1 {
		t.Fatalf("%d llm spans, want 1", len(llm))
	}
	s := llm[0]
	a := attrMap(s.Attributes())
	if a["gen_ai.usage.cache_creation.input_tokens"] != int64(100) || a["gen_ai.usage.input_tokens"] != int64(2121) {
		t.Errorf("usage %v", a)
	}
	if v, ok := a["gen_ai.usage.cache_write.input_tokens"]; ok {
		t.Errorf("gen_ai.usage.cache_write.input_tokens = %v beside the conventions' key", v)
	}
	if s.Status().Code != codes.Unset {
		t.Errorf("status %v, want unset", s.Status())
	}
	length := s.EndTime().Sub(s.StartTime()).Seconds()
	if d, _ := a["overmind.duration.seconds"].(float64); math.Abs(d-length) > 1e-6 {
		t.Errorf("overmind.duration.seconds = %v, the span lasts %v", d, length)
	}
}
