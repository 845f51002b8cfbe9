package integration

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
	goopenai "github.com/sashabaranov/go-openai"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

func newOpenAI(r *rig, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{
		option.WithAPIKey(testAPIKey),
		option.WithHTTPClient(r.client()),
		option.WithMaxRetries(0),
	}, opts...)...)
}

func TestOpenAIChat(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "openai_chat.json")))
	client := newOpenAI(r)
	res, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-5-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("You are a helpful customer support agent."),
			openai.UserMessage("Where is my order?"),
		},
		Temperature:         openai.Float(0.2),
		TopP:                openai.Float(0.9),
		MaxCompletionTokens: openai.Int(300),
		Seed:                openai.Int(7),
		Stop:                openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"END"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Choices[0].Message.Content; got != "Your order A-1001 has shipped and should arrive on Thursday." {
		t.Errorf("the SDK decoded content %q", got)
	}
	s := r.only()
	if s.Name() != "chat gpt-5-mini" || s.SpanKind() != trace.SpanKindClient || s.Status().Code != codes.Unset {
		t.Errorf("span %q kind %v status %v", s.Name(), s.SpanKind(), s.Status())
	}
	checkAttrs(t, s.Attributes(), map[string]any{
		"overmind.span.type":                   "llm_call",
		"gen_ai.operation.name":                "chat",
		"gen_ai.provider.name":                 "openai",
		"gen_ai.request.model":                 "gpt-5-mini",
		"server.address":                       "api.openai.com",
		"server.port":                          int64(443),
		"gen_ai.request.temperature":           0.2,
		"gen_ai.request.top_p":                 0.9,
		"gen_ai.request.max_tokens":            int64(300),
		"gen_ai.request.seed":                  int64(7),
		"gen_ai.request.stop_sequences":        []string{"END"},
		"gen_ai.input.messages":                jsonText(`[{"role":"system","parts":[{"type":"text","content":"You are a helpful customer support agent."}]},{"role":"user","parts":[{"type":"text","content":"Where is my order?"}]}]`),
		"inputs":                               jsonText(`[{"role":"system","content":"You are a helpful customer support agent."},{"role":"user","content":"Where is my order?"}]`),
		"overmind.llm.attempts":                int64(1),
		"http.response.status_code":            int64(200),
		"gen_ai.response.id":                   "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
		"gen_ai.response.model":                "gpt-5-mini-2025-08-07",
		"gen_ai.response.finish_reasons":       []string{"stop"},
		"gen_ai.usage.input_tokens":            int64(1117),
		"gen_ai.usage.output_tokens":           int64(46),
		"gen_ai.usage.total_tokens":            int64(1163),
		"gen_ai.usage.cache_read.input_tokens": int64(1024),
		"gen_ai.usage.reasoning.output_tokens": int64(30),
		"gen_ai.output.messages":               jsonText(`[{"role":"assistant","parts":[{"type":"text","content":"Your order A-1001 has shipped and should arrive on Thursday."}],"finish_reason":"stop"}]`),
		"outputs":                              jsonText(`[{"role":"assistant","content":"Your order A-1001 has shipped and should arrive on Thursday.","finish_reason":"stop"}]`),
		"overmind.duration.seconds":            anyPositive{},
		"overmind.status":                      "success",
	})
	noSecrets(t, r.spans())
}

func TestOpenAIChatToolCalls(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "openai_chat_tools.json")))
	client := newOpenAI(r)
	res, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-5-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage("Where is A-1001?"),
			{OfAssistant: &openai.ChatCompletionAssistantMessageParam{
				ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{
					OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
						ID:       "call_prev",
						Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "lookup_order", Arguments: `{"order_id":"A-0999"}`},
					},
				}},
			}},
			openai.ToolMessage(`{"status":"delivered"}`, "call_prev"),
		},
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name:        "lookup_order",
			Description: openai.String("Look an order up"),
			Parameters:  shared.FunctionParameters{"type": "object", "properties": map[string]any{"order_id": map[string]any{"type": "string"}}},
		})},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Choices[0].Message.ToolCalls[0].Function.Arguments; got != `{"order_id":"A-1001","api_key":"k-live-123"}` {
		t.Errorf("the SDK decoded arguments %q", got)
	}
	checkAttrs(t, r.only().Attributes(), map[string]any{
		"overmind.span.type":             "llm_call",
		"gen_ai.operation.name":          "chat",
		"gen_ai.provider.name":           "openai",
		"gen_ai.request.model":           "gpt-5-mini",
		"server.address":                 "api.openai.com",
		"server.port":                    int64(443),
		"gen_ai.input.messages":          jsonText(`[{"role":"user","parts":[{"type":"text","content":"Where is A-1001?"}]},{"role":"assistant","parts":[{"type":"tool_call","id":"call_prev","name":"lookup_order","arguments":{"order_id":"A-0999"}}]},{"role":"tool","parts":[{"type":"tool_call_response","id":"call_prev","response":"{\"status\":\"delivered\"}"}]}]`),
		"gen_ai.tool.definitions":        jsonText(`[{"type":"function","name":"lookup_order","description":"Look an order up","parameters":{"type":"object","properties":{"order_id":{"type":"string"}}}}]`),
		"inputs":                         jsonText(`[{"role":"user","content":"Where is A-1001?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_prev","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"A-0999\"}"}}]},{"role":"tool","tool_call_id":"call_prev","content":"{\"status\":\"delivered\"}"}]`),
		"overmind.llm.attempts":          int64(1),
		"http.response.status_code":      int64(200),
		"gen_ai.response.id":             "chatcmpl-tool123",
		"gen_ai.response.model":          "gpt-5-mini-2025-08-07",
		"gen_ai.response.finish_reasons": []string{"tool_calls"},
		"gen_ai.usage.input_tokens":      int64(82),
		"gen_ai.usage.output_tokens":     int64(17),
		"gen_ai.usage.total_tokens":      int64(99),
		"gen_ai.output.messages":         jsonText(`[{"role":"assistant","parts":[{"type":"tool_call","id":"call_VSPygqKTWdrhaFErNvMV18Yl","name":"lookup_order","arguments":{"order_id":"A-1001","api_key":"<redacted>"}}],"finish_reason":"tool_calls"}]`),
		"outputs":                        jsonText(`[{"role":"assistant","content":null,"finish_reason":"tool_calls","tool_calls":[{"id":"call_VSPygqKTWdrhaFErNvMV18Yl","type":"function","function":{"name":"lookup_order","arguments":"{\"api_key\":\"<redacted>\",\"order_id\":\"A-1001\"}"}}]}]`),
		"overmind.duration.seconds":      anyPositive{},
		"overmind.status":                "success",
	})
	for _, s := range r.spans() {
		for _, kv := range s.Attributes() {
			if strings.Contains(kv.Value.Emit(), "k-live-123") {
				t.Errorf("%s holds the redacted key: %s", kv.Key, kv.Value.Emit())
			}
		}
	}
}

func TestOpenAIChatStream(t *testing.T) {
	r := newRig(t, replySSE(fixture(t, "openai_chat_stream.sse")))
	client := newOpenAI(r)
	stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:         "gpt-5-mini",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Explain quantum computing")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if err := stream.Close(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != "Quantum computers use qubits." {
		t.Errorf("the SDK accumulated %q", got)
	}
	checkAttrs(t, r.only().Attributes(), map[string]any{
		"overmind.span.type":                   "llm_call",
		"gen_ai.operation.name":                "chat",
		"gen_ai.provider.name":                 "openai",
		"gen_ai.request.model":                 "gpt-5-mini",
		"gen_ai.request.stream":                true,
		"server.address":                       "api.openai.com",
		"server.port":                          int64(443),
		"gen_ai.input.messages":                jsonText(`[{"role":"user","parts":[{"type":"text","content":"Explain quantum computing"}]}]`),
		"inputs":                               jsonText(`[{"role":"user","content":"Explain quantum computing"}]`),
		"overmind.llm.attempts":                int64(1),
		"http.response.status_code":            int64(200),
		"gen_ai.response.id":                   "chatcmpl-stream1",
		"gen_ai.response.model":                "gpt-5-mini-2025-08-07",
		"gen_ai.response.finish_reasons":       []string{"stop"},
		"gen_ai.response.time_to_first_chunk":  anyPositive{},
		"gen_ai.usage.input_tokens":            int64(12),
		"gen_ai.usage.output_tokens":           int64(9),
		"gen_ai.usage.total_tokens":            int64(21),
		"gen_ai.usage.cache_read.input_tokens": int64(0),
		"gen_ai.usage.reasoning.output_tokens": int64(0),
		"gen_ai.output.messages":               jsonText(`[{"role":"assistant","parts":[{"type":"text","content":"Quantum computers use qubits."}],"finish_reason":"stop"}]`),
		"outputs":                              jsonText(`[{"role":"assistant","content":"Quantum computers use qubits.","finish_reason":"stop"}]`),
		"overmind.duration.seconds":            anyPositive{},
		"overmind.status":                      "success",
	})
}

// TestStreamFirstChunkBeforeEnd proves that the caller receives the first
// chunk while the server still holds the stream open, and that the span
// stays open until the stream ends.
func TestStreamFirstChunkBeforeEnd(t *testing.T) {
	events := strings.SplitAfter(string(fixture(t, "openai_chat_stream.sse")), "\n\n")
	release := make(chan struct{})
	r := newRig(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, events[0]+events[1])
		w.(http.Flusher).Flush()
		<-release // hold the stream open until the client has the first chunk
		for _, ev := range events[2:] {
			_, _ = io.WriteString(w, ev)
		}
	})
	client := newOpenAI(r)
	stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt-5-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	defer stream.Close()
	var text strings.Builder
	for i := 0; i < 2 && stream.Next(); i++ {
		text.WriteString(stream.Current().Choices[0].Delta.Content)
	}
	if got := text.String(); got != "Quantum computers" {
		t.Fatalf("first chunks = %q", got)
	}
	if n := len(r.spans()); n != 0 {
		t.Fatalf("%d spans ended while the stream was open", n)
	}
	close(release)
	for stream.Next() {
		if len(stream.Current().Choices) > 0 {
			text.WriteString(stream.Current().Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := text.String(); got != "Quantum computers use qubits." {
		t.Errorf("stream = %q", got)
	}
	_ = stream.Close()
	attrs := attrMap(r.only().Attributes())
	if attrs["overmind.status"] != "success" || attrs["gen_ai.output.messages"] == nil {
		t.Errorf("span attributes %v", attrs)
	}
}

func TestOpenAIStreamClosedEarlyIsCancelled(t *testing.T) {
	r := newRig(t, replySSE(fixture(t, "openai_chat_stream.sse")))
	client := newOpenAI(r)
	stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt-5-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if !stream.Next() {
		t.Fatal(stream.Err())
	}
	_ = stream.Close()
	attrs := attrMap(r.only().Attributes())
	if attrs["overmind.status"] != "cancelled" {
		t.Errorf("overmind.status = %v, want cancelled", attrs["overmind.status"])
	}
	noFinishReason(t, attrs)
}

// noFinishReason fails if the span of a stream closed before its end
// records a finish reason: the model gave none.
func noFinishReason(t *testing.T, attrs map[string]any) {
	t.Helper()
	if v, ok := attrs["gen_ai.response.finish_reasons"]; ok {
		t.Errorf("gen_ai.response.finish_reasons = %#v", v)
	}
	for _, k := range []string{"gen_ai.output.messages", "outputs"} {
		if s, _ := attrs[k].(string); strings.Contains(s, "finish_reason") {
			t.Errorf("%s = %s", k, s)
		}
	}
}

func TestOpenAIResponses(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "openai_responses.json")))
	client := newOpenAI(r)
	res, err := client.Responses.New(context.Background(), responses.ResponseNewParams{
		Model:           "gpt-5-mini",
		Instructions:    openai.String("You are a helpful support agent."),
		Input:           responses.ResponseNewParamsInputUnion{OfString: openai.String("Write a haiku about computers")},
		MaxOutputTokens: openai.Int(300),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.OutputText(), "Silent circuits hum") {
		t.Errorf("the SDK decoded %q", res.OutputText())
	}
	checkAttrs(t, r.only().Attributes(), map[string]any{
		"overmind.span.type":                   "llm_call",
		"gen_ai.operation.name":                "chat",
		"gen_ai.provider.name":                 "openai",
		"gen_ai.request.model":                 "gpt-5-mini",
		"gen_ai.request.max_tokens":            int64(300),
		"server.address":                       "api.openai.com",
		"server.port":                          int64(443),
		"gen_ai.system_instructions":           jsonText(`[{"type":"text","content":"You are a helpful support agent."}]`),
		"gen_ai.input.messages":                jsonText(`[{"role":"user","parts":[{"type":"text","content":"Write a haiku about computers"}]}]`),
		"inputs":                               jsonText(`[{"role":"system","content":"You are a helpful support agent."},{"role":"user","content":"Write a haiku about computers"}]`),
		"overmind.llm.attempts":                int64(1),
		"http.response.status_code":            int64(200),
		"gen_ai.response.id":                   "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
		"gen_ai.response.model":                "gpt-5-mini-2025-08-07",
		"gen_ai.response.finish_reasons":       []string{"stop"},
		"gen_ai.usage.input_tokens":            int64(36),
		"gen_ai.usage.output_tokens":           int64(87),
		"gen_ai.usage.total_tokens":            int64(123),
		"gen_ai.usage.cache_read.input_tokens": int64(0),
		"gen_ai.usage.reasoning.output_tokens": int64(64),
		"gen_ai.output.messages":               jsonText(`[{"role":"assistant","parts":[{"type":"reasoning","content":"The user wants a haiku."},{"type":"text","content":"Silent circuits hum,\nthoughts in qubits intertwine."}],"finish_reason":"stop"}]`),
		"outputs":                              jsonText(`[{"role":"assistant","content":"Silent circuits hum,\nthoughts in qubits intertwine.","reasoning":"The user wants a haiku.","finish_reason":"stop"}]`),
		"overmind.duration.seconds":            anyPositive{},
		"overmind.status":                      "success",
	})
}

func TestOpenAIResponsesStreamToolCall(t *testing.T) {
	r := newRig(t, replySSE(fixture(t, "openai_responses_stream.sse")))
	client := newOpenAI(r)
	stream := client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{
		Model: "gpt-5-mini",
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: []responses.ResponseInputItemUnionParam{
			responses.ResponseInputItemParamOfMessage("Where is A-1001?", responses.EasyInputMessageRoleUser),
		}},
		Tools: []responses.ToolUnionParam{{OfFunction: &responses.FunctionToolParam{
			Name:       "lookup_order",
			Parameters: map[string]any{"type": "object"},
		}}},
	})
	var completed bool
	for stream.Next() {
		if stream.Current().Type == "response.completed" {
			completed = true
		}
	}
	if err := stream.Err(); err != nil || !completed {
		t.Fatalf("stream: err %v, completed %v", err, completed)
	}
	_ = stream.Close()
	checkAttrs(t, r.only().Attributes(), map[string]any{
		"overmind.span.type":                   "llm_call",
		"gen_ai.operation.name":                "chat",
		"gen_ai.provider.name":                 "openai",
		"gen_ai.request.model":                 "gpt-5-mini",
		"gen_ai.request.stream":                true,
		"server.address":                       "api.openai.com",
		"server.port":                          int64(443),
		"gen_ai.input.messages":                jsonText(`[{"role":"user","parts":[{"type":"text","content":"Where is A-1001?"}]}]`),
		"gen_ai.tool.definitions":              jsonText(`[{"type":"function","name":"lookup_order","parameters":{"type":"object"}}]`),
		"inputs":                               jsonText(`[{"role":"user","content":"Where is A-1001?"}]`),
		"overmind.llm.attempts":                int64(1),
		"http.response.status_code":            int64(200),
		"gen_ai.response.id":                   "resp_stream1",
		"gen_ai.response.model":                "gpt-5-mini-2025-08-07",
		"gen_ai.response.finish_reasons":       []string{"tool_call"},
		"gen_ai.response.time_to_first_chunk":  anyPositive{},
		"gen_ai.usage.input_tokens":            int64(57),
		"gen_ai.usage.output_tokens":           int64(18),
		"gen_ai.usage.total_tokens":            int64(75),
		"gen_ai.usage.cache_read.input_tokens": int64(0),
		"gen_ai.usage.reasoning.output_tokens": int64(0),
		"gen_ai.output.messages":               jsonText(`[{"role":"assistant","parts":[{"type":"tool_call","id":"call_fc1","name":"lookup_order","arguments":{"order_id":"A-1001"}}],"finish_reason":"tool_call"}]`),
		"outputs":                              jsonText(`[{"role":"assistant","content":null,"finish_reason":"tool_call","tool_calls":[{"id":"call_fc1","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"A-1001\"}"}}]}]`),
		"overmind.duration.seconds":            anyPositive{},
		"overmind.status":                      "success",
	})
}

func TestOpenAIEmbeddings(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "openai_embeddings.json")))
	client := newOpenAI(r)
	res, err := client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model:          "text-embedding-3-small",
		Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"first", "second"}},
		EncodingFormat: openai.EmbeddingNewParamsEncodingFormatFloat,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Data) != 2 || len(res.Data[1].Embedding) != 4 {
		t.Errorf("the SDK decoded %d embeddings", len(res.Data))
	}
	checkAttrs(t, r.only().Attributes(), map[string]any{
		"overmind.span.type":                "llm_call",
		"gen_ai.operation.name":             "embeddings",
		"gen_ai.provider.name":              "openai",
		"gen_ai.request.model":              "text-embedding-3-small",
		"gen_ai.request.encoding_formats":   []string{"float"},
		"server.address":                    "api.openai.com",
		"server.port":                       int64(443),
		"inputs":                            jsonText(`["first","second"]`),
		"overmind.llm.attempts":             int64(1),
		"http.response.status_code":         int64(200),
		"gen_ai.response.model":             "text-embedding-3-small",
		"gen_ai.usage.input_tokens":         int64(8),
		"gen_ai.usage.total_tokens":         int64(8),
		"gen_ai.embeddings.dimension.count": int64(4),
		"overmind.duration.seconds":         anyPositive{},
		"overmind.status":                   "success",
	})
}

func TestOpenAIError(t *testing.T) {
	body := []byte(`{"error":{"message":"Invalid value for 'temperature': must be at most 2.","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}`)
	r := newRig(t, replyJSON(400, body))
	client := newOpenAI(r)
	_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:       "gpt-5-mini",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		Temperature: openai.Float(3),
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Message != "Invalid value for 'temperature': must be at most 2." {
		t.Fatalf("the SDK returned %v", err)
	}
	s := r.only()
	if s.Status().Code != codes.Error || s.Status().Description != "Invalid value for 'temperature': must be at most 2." {
		t.Errorf("status %v", s.Status())
	}
	checkAttrs(t, s.Attributes(), map[string]any{
		"overmind.span.type":         "llm_call",
		"gen_ai.operation.name":      "chat",
		"gen_ai.provider.name":       "openai",
		"gen_ai.request.model":       "gpt-5-mini",
		"gen_ai.request.temperature": 3.0,
		"server.address":             "api.openai.com",
		"server.port":                int64(443),
		"gen_ai.input.messages":      jsonText(`[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`),
		"inputs":                     jsonText(`[{"role":"user","content":"hi"}]`),
		"overmind.llm.attempts":      int64(1),
		"http.response.status_code":  int64(400),
		"error.type":                 "invalid_request_error",
		"overmind.error.type":        "invalid_request_error",
		"overmind.error.message":     "Invalid value for 'temperature': must be at most 2.",
		"overmind.duration.seconds":  anyPositive{},
		"overmind.status":            "failed",
	})
}

func TestGoOpenAIChatAndStream(t *testing.T) {
	var stream bool
	r := newRig(t, func(w http.ResponseWriter, req *http.Request, body []byte) {
		if stream = strings.Contains(string(body), `"stream":true`); stream {
			replySSE(fixture(t, "openai_chat_stream_tools.sse"))(w, req, body)
			return
		}
		replyJSON(200, fixture(t, "openai_chat.json"))(w, req, body)
	})
	cfg := goopenai.DefaultConfig(testAPIKey)
	cfg.HTTPClient = r.client()
	client := goopenai.NewClientWithConfig(cfg)
	ctx := context.Background()

	res, err := client.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{
		Model:    "gpt-4o",
		Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "Where is my order?"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Choices[0].Message.Content == "" {
		t.Error("go-openai decoded no content")
	}

	st, err := client.CreateChatCompletionStream(ctx, goopenai.ChatCompletionRequest{
		Model:    "gpt-4o",
		Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "Weather in Paris?"}},
		Stream:   true,
	})
	if err != nil {
		t.Fatal(err)
	}
	var args strings.Builder
	for {
		chunk, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range chunk.Choices[0].Delta.ToolCalls {
			args.WriteString(tc.Function.Arguments)
		}
	}
	st.Close()
	if args.String() != `{"location":"Paris"}` {
		t.Errorf("go-openai streamed arguments %q", args.String())
	}

	spans := r.spans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	plain := attrMap(spans[0].Attributes())
	if plain["gen_ai.usage.input_tokens"] != int64(1117) || plain["overmind.status"] != "success" {
		t.Errorf("plain call attributes %v", plain)
	}
	checkAttrs(t, spans[1].Attributes(), map[string]any{
		"overmind.span.type":                  "llm_call",
		"gen_ai.operation.name":               "chat",
		"gen_ai.provider.name":                "openai",
		"gen_ai.request.model":                "gpt-4o",
		"gen_ai.request.stream":               true,
		"server.address":                      "api.openai.com",
		"server.port":                         int64(443),
		"gen_ai.input.messages":               jsonText(`[{"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]}]`),
		"inputs":                              jsonText(`[{"role":"user","content":"Weather in Paris?"}]`),
		"overmind.llm.attempts":               int64(1),
		"http.response.status_code":           int64(200),
		"gen_ai.response.id":                  "chatcmpl-st2",
		"gen_ai.response.model":               "gpt-4o-2024-08-06",
		"gen_ai.response.finish_reasons":      []string{"tool_calls"},
		"gen_ai.response.time_to_first_chunk": anyPositive{},
		"gen_ai.output.messages":              jsonText(`[{"role":"assistant","parts":[{"type":"tool_call","id":"call_abc","name":"get_weather","arguments":{"location":"Paris"}}],"finish_reason":"tool_calls"}]`),
		"outputs":                             jsonText(`[{"role":"assistant","content":null,"finish_reason":"tool_calls","tool_calls":[{"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}}]}]`),
		"overmind.duration.seconds":           anyPositive{},
		"overmind.status":                     "success",
	})
	noSecrets(t, spans)
}
