package integration

import (
	"bytes"
	"context"

	"errors"

	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/eventstream"
)

// bedrockModel is the model the Bedrock tests call: an inference
// profile, whose ID has a colon that the path escapes.
const bedrockModel = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"

// newBedrock returns a bedrockruntime client of region us-east-1 (so that
// it calls bedrock-runtime.us-east-1.amazonaws.com) whose HTTP client is
// the rig's, captured, and whose retries wait not at all.
func newBedrock(r *rig) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region: "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: testAPIKey}, nil
		}),
		HTTPClient: r.client(),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		}),
	})
}

// converseInput is a Converse request with a system prompt, an image, a
// tool and inference settings.
func converseInput() *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{
		ModelId: aws.String(bedrockModel),
		System:  []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "You are a support agent."}},
		Messages: []types.Message{{
			Role: types.ConversationRoleUser,
			Content: []types.ContentBlock{
				&types.ContentBlockMemberText{Value: "Where is order A-1001?"},
				&types.ContentBlockMemberImage{Value: types.ImageBlock{Format: types.ImageFormatPng, Source: &types.ImageSourceMemberBytes{Value: []byte("PNG")}}},
			},
		}},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(512), Temperature: aws.Float32(0.5), StopSequences: []string{"END"}},
		ToolConfig: &types.ToolConfiguration{Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{
			Name:        aws.String("lookup_order"),
			Description: aws.String("Look an order up"),
			InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(map[string]any{"type": "object"})},
		}}}},
	}
}

const converseResponse = `{"output":{"message":{"role":"assistant","content":[{"text":"Let me look."},{"toolUse":{"toolUseId":"tooluse_1","name":"lookup_order","input":{"order_id":"A-1001"}}}]}},"stopReason":"tool_use","usage":{"inputTokens":40,"outputTokens":12,"totalTokens":2152,"cacheReadInputTokens":2000,"cacheWriteInputTokens":100},"metrics":{"latencyMs":412}}`

func TestBedrockConverse(t *testing.T) {
	r := newRig(t, replyJSON(200, []byte(converseResponse)))
	out, err := newBedrock(r).Converse(context.Background(), converseInput())
	if err != nil {
		t.Fatal(err)
	}
	if out.StopReason != types.StopReasonToolUse {
		t.Errorf("the SDK decoded stop reason %q", out.StopReason)
	}
	if got := r.requests()[0].Path; got != "/model/"+bedrockModel+"/converse" {
		t.Errorf("path %q", got)
	}
	s := r.only()
	if s.Name() != "chat "+bedrockModel {
		t.Errorf("span name %q", s.Name())
	}
	checkAttrs(t, s.Attributes(), map[string]any{
		"overmind.span.type":                       "llm_call",
		"gen_ai.operation.name":                    "chat",
		"gen_ai.provider.name":                     "aws.bedrock",
		"gen_ai.request.model":                     bedrockModel,
		"gen_ai.request.max_tokens":                int64(512),
		"gen_ai.request.temperature":               0.5,
		"gen_ai.request.stop_sequences":            []string{"END"},
		"server.address":                           "bedrock-runtime.us-east-1.amazonaws.com",
		"server.port":                              int64(443),
		"gen_ai.system_instructions":               jsonText(`[{"type":"text","content":"You are a support agent."}]`),
		"gen_ai.input.messages":                    jsonText(`[{"role":"user","parts":[{"type":"text","content":"Where is order A-1001?"},{"type":"blob","modality":"image","mime_type":"image/png","content":"UE5H"}]}]`),
		"gen_ai.tool.definitions":                  jsonText(`[{"type":"function","name":"lookup_order","description":"Look an order up","parameters":{"type":"object"}}]`),
		"inputs":                                   jsonText(`[{"role":"system","content":"You are a support agent."},{"role":"user","content":[{"type":"text","text":"Where is order A-1001?"},{"type":"image","mime_type":"image/png","data":"UE5H"}]}]`),
		"overmind.llm.attempts":                    int64(1),
		"http.response.status_code":                int64(200),
		"gen_ai.response.finish_reasons":           []string{"tool_use"},
		"gen_ai.usage.input_tokens":                int64(2140),
		"gen_ai.usage.output_tokens":               int64(12),
		"gen_ai.usage.cache_read.input_tokens":     int64(2000),
		"gen_ai.usage.cache_creation.input_tokens": int64(100),
		"gen_ai.usage.total_tokens":                int64(2152),
		"gen_ai.output.messages":                   jsonText(`[{"role":"assistant","parts":[{"type":"text","content":"Let me look."},{"type":"tool_call","id":"tooluse_1","name":"lookup_order","arguments":{"order_id":"A-1001"}}],"finish_reason":"tool_use"}]`),
		"outputs":                                  jsonText(`[{"role":"assistant","content":"Let me look.","finish_reason":"tool_use","tool_calls":[{"id":"tooluse_1","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"A-1001\"}"}}]}]`),
		"overmind.duration.seconds":                anyPositive{},
		"overmind.status":                          "success",
	})
	noSecrets(t, r.spans())
}

// awsEvent is one event of an AWS event stream: its type and payload.
type awsEvent struct {
	kind    string // :event-type, or :exception-type with exception set
	payload string
	// exception makes it an exception message.
	exception bool
}

// replyEventStream answers with events in the AWS event stream framing,
// as ConverseStream does, flushing each.
func replyEventStream(events []awsEvent) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		w.WriteHeader(http.StatusOK)
		enc := eventstream.NewEncoder()
		for _, ev := range events {
			msg := eventstream.Message{Payload: []byte(ev.payload)}
			msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
			if ev.exception {
				msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
				msg.Headers.Set(":exception-type", eventstream.StringValue(ev.kind))
			} else {
				msg.Headers.Set(":message-type", eventstream.StringValue("event"))
				msg.Headers.Set(":event-type", eventstream.StringValue(ev.kind))
			}
			var buf bytes.Buffer
			if err := enc.Encode(&buf, msg); err != nil {
				panic(err)
			}
			_, _ = w.Write(buf.Bytes())
			w.(http.Flusher).Flush()
		}
	}
}

// converseStreamEvents are a ConverseStream's events: reasoning, text and
// a tool call, then the stop reason and the usage.
var converseStreamEvents = []awsEvent{
	{kind: "messageStart", payload: `{"p":"abcd","role":"assistant"}`},
	{kind: "contentBlockDelta", payload: `{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"The user wants an order."}}}`},
	{kind: "contentBlockDelta", payload: `{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"c2ln"}}}`},
	{kind: "contentBlockStop", payload: `{"contentBlockIndex":0}`},
	{kind: "contentBlockDelta", payload: `{"contentBlockIndex":1,"delta":{"text":"Let me "}}`},
	{kind: "contentBlockDelta", payload: `{"contentBlockIndex":1,"delta":{"text":"look."}}`},
	{kind: "contentBlockStop", payload: `{"contentBlockIndex":1}`},
	{kind: "contentBlockStart", payload: `{"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"tooluse_2","name":"lookup_order"}}}`},
	{kind: "contentBlockDelta", payload: `{"contentBlockIndex":2,"delta":{"toolUse":{"input":"{\"order_id\":"}}}`},
	{kind: "contentBlockDelta", payload: `{"contentBlockIndex":2,"delta":{"toolUse":{"input":"\"A-1001\"}"}}}`},
	{kind: "contentBlockStop", payload: `{"contentBlockIndex":2}`},
	{kind: "messageStop", payload: `{"stopReason":"tool_use"}`},
	{kind: "metadata", payload: `{"usage":{"inputTokens":40,"outputTokens":30,"totalTokens":70},"metrics":{"latencyMs":800}}`},
}

func TestBedrockConverseStream(t *testing.T) {
	r := newRig(t, replyEventStream(converseStreamEvents))
	in := converseInput()
	out, err := newBedrock(r).ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: in.ModelId, Messages: in.Messages, InferenceConfig: in.InferenceConfig,
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	var text strings.Builder
	for ev := range stream.Events() {
		if d, ok := ev.(*types.ConverseStreamOutputMemberContentBlockDelta); ok {
			if s, ok := d.Value.Delta.(*types.ContentBlockDeltaMemberText); ok {
				text.WriteString(s.Value)
			}
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	_ = stream.Close()
	if text.String() != "Let me look." {
		t.Errorf("the SDK streamed %q", text.String())
	}
	if got := r.requests()[0].Path; got != "/model/"+bedrockModel+"/converse-stream" {
		t.Errorf("path %q", got)
	}
	checkAttrs(t, r.only().Attributes(), map[string]any{
		"overmind.span.type":                  "llm_call",
		"gen_ai.operation.name":               "chat",
		"gen_ai.provider.name":                "aws.bedrock",
		"gen_ai.request.model":                bedrockModel,
		"gen_ai.request.max_tokens":           int64(512),
		"gen_ai.request.temperature":          0.5,
		"gen_ai.request.stop_sequences":       []string{"END"},
		"gen_ai.request.stream":               true,
		"server.address":                      "bedrock-runtime.us-east-1.amazonaws.com",
		"server.port":                         int64(443),
		"gen_ai.input.messages":               jsonText(`[{"role":"user","parts":[{"type":"text","content":"Where is order A-1001?"},{"type":"blob","modality":"image","mime_type":"image/png","content":"UE5H"}]}]`),
		"inputs":                              jsonText(`[{"role":"user","content":[{"type":"text","text":"Where is order A-1001?"},{"type":"image","mime_type":"image/png","data":"UE5H"}]}]`),
		"overmind.llm.attempts":               int64(1),
		"http.response.status_code":           int64(200),
		"gen_ai.response.finish_reasons":      []string{"tool_use"},
		"gen_ai.response.time_to_first_chunk": anyPositive{},
		"gen_ai.usage.input_tokens":           int64(40),
		"gen_ai.usage.output_tokens":          int64(30),
		"gen_ai.usage.total_tokens":           int64(70),
		"gen_ai.output.messages":              jsonText(`[{"role":"assistant","parts":[{"type":"reasoning","content":"The user wants an order."},{"type":"text","content":"Let me look."},{"type":"tool_call","id":"tooluse_2","name":"lookup_order","arguments":{"order_id":"A-1001"}}],"finish_reason":"tool_use"}]`),
		"outputs":                             jsonText(`[{"role":"assistant","content":"Let me look.","reasoning":"The user wants an order.","finish_reason":"tool_use","tool_calls":[{"id":"tooluse_2","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"A-1001\"}"}}]}]`),
		"overmind.duration.seconds":           anyPositive{},
		"overmind.status":                     "success",
	})
}

// TestBedrockStreamException: an exception in the middle of a stream
// fails the call with its type and message.
func TestBedrockStreamException(t *testing.T) {
	r := newRig(t, replyEventStream([]awsEvent{
		converseStreamEvents[0],
		converseStreamEvents[4],
		{kind: "modelStreamErrorException", payload: `{"message":"The model stream failed."}`, exception: true},
	}))
	out, err := newBedrock(r).ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(bedrockModel), Messages: converseInput().Messages,
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	for range stream.Events() {
	}
	var apiErr smithy.APIError
	if err := stream.Err(); !errors.As(err, &apiErr) {
		t.Fatalf("the SDK's stream ended with %v", err)
	}
	_ = stream.Close()
	a := attrMap(r.only().Attributes())
	if a["overmind.status"] != "failed" || a["error.type"] != "modelStreamErrorException" || a["overmind.error.message"] != "The model stream failed." {
		t.Errorf("attributes %v", a)
	}
	if s, _ := a["gen_ai.output.messages"].(string); !strings.Contains(s, "Let me ") {
		t.Errorf("gen_ai.output.messages = %s, want the text streamed before the exception", s)
	}
}

// TestBedrockValidationError: an error response fails the call with the
// type the API names and its message.
func TestBedrockValidationError(t *testing.T) {
	r := newRig(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Errortype", "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/")
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"message":"The provided model identifier is invalid."}`))
	})
	_, err := newBedrock(r).Converse(context.Background(), converseInput())
	var validation *types.ValidationException
	if !errors.As(err, &validation) {
		t.Fatalf("the SDK returned %v", err)
	}
	a := attrMap(r.only().Attributes())
	if a["overmind.status"] != "failed" || a["error.type"] != "ValidationException" ||
		a["overmind.error.message"] != "The provided model identifier is invalid." || a["http.response.status_code"] != int64(400) {
		t.Errorf("attributes %v", a)
	}
}

// TestBedrockThrottlingRetried runs identical calls at once, each of which
// is throttled once (the AWS SDK reads the error, then retries): each
// gives one span of two attempts, told apart by the SDK's invocation id.
func TestBedrockThrottlingRetried(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	r := newRig(t, func(w http.ResponseWriter, req *http.Request, body []byte) {
		mu.Lock()
		id := req.Header.Get("Amz-Sdk-Invocation-Id")
		seen[id]++
		first := seen[id] == 1
		mu.Unlock()
		if first {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(429)
			_, _ = w.Write([]byte(`{"__type":"ThrottlingException","message":"Too many requests, please wait before trying again."}`))
			return
		}
		replyJSON(200, []byte(converseResponse))(w, req, body)
	})
	client := newBedrock(r)
	const calls = 3
	var wg sync.WaitGroup
	for range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := client.Converse(context.Background(), converseInput()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	spans := r.spans()
	if len(spans) != calls {
		t.Fatalf("%d spans, want %d", len(spans), calls)
	}
	for _, s := range spans {
		a := attrMap(s.Attributes())
		if a["overmind.llm.attempts"] != int64(2) || a["overmind.status"] != "success" {
			t.Errorf("span with %v attempts, status %v", a["overmind.llm.attempts"], a["overmind.status"])
		}
		if got, want := strings.Join(retryEvents(s), "; "), "attempt 1: 429 ThrottlingException"; got != want {
			t.Errorf("retry events %q, want %q", got, want)
		}
	}
}

// TestBedrockThrottlingGivenUp: the last attempt the AWS SDK makes ends
// the span at once, failed.
func TestBedrockThrottlingGivenUp(t *testing.T) {
	r := newRig(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(429)
		_, _ = w.Write([]byte(`{"__type":"ThrottlingException","message":"Too many requests."}`))
	})
	if _, err := newBedrock(r).Converse(context.Background(), converseInput()); err == nil {
		t.Fatal("the call succeeded")
	}
	spans := r.spans() // before any flush: the span ended with the last attempt
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	a := attrMap(spans[0].Attributes())
	if a["overmind.llm.attempts"] != int64(3) || a["overmind.status"] != "failed" || a["error.type"] != "ThrottlingException" {
		t.Errorf("attributes %v", a)
	}
	if n := len(r.requests()); n != 3 {
		t.Errorf("the server got %d requests", n)
	}
}
