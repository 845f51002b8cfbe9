package integration

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/genai"
)

func newGenAI(t *testing.T, r *rig, retry *genai.HTTPRetryOptions) *genai.Client {
	t.Helper()
	client, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey:      testAPIKey,
		Backend:     genai.BackendGeminiAPI,
		HTTPClient:  r.client(),
		HTTPOptions: genai.HTTPOptions{RetryOptions: retry},
	})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func TestGeminiGenerateContent(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "gemini.json")))
	client := newGenAI(t, r, nil)
	res, err := client.Models.GenerateContent(context.Background(), "gemini-2.5-flash", genai.Text("What is the capital of France?"), &genai.GenerateContentConfig{
		SystemInstruction: genai.NewContentFromText("Answer in one sentence.", genai.RoleUser),
		Temperature:       genai.Ptr[float32](0.5),
		TopP:              genai.Ptr[float32](0.95),
		MaxOutputTokens:   256,
		CandidateCount:    1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Text() != "Paris is the capital of France." {
		t.Errorf("the SDK decoded %q", res.Text())
	}
	req := r.requests()[0]
	if req.Path != "/v1beta/models/gemini-2.5-flash:generateContent" {
		t.Errorf("request path %q", req.Path)
	}
	s := r.only()
	if s.Name() != "generate_content gemini-2.5-flash" {
		t.Errorf("span name %q", s.Name())
	}
	checkAttrs(t, s.Attributes(), map[string]any{
		"overmind.span.type":                   "llm_call",
		"gen_ai.operation.name":                "generate_content",
		"gen_ai.provider.name":                 "gcp.gemini",
		"gen_ai.request.model":                 "gemini-2.5-flash",
		"gen_ai.request.temperature":           0.5,
		"gen_ai.request.top_p":                 0.95,
		"gen_ai.request.max_tokens":            int64(256),
		"server.address":                       "generativelanguage.googleapis.com",
		"server.port":                          int64(443),
		"gen_ai.system_instructions":           jsonText(`[{"type":"text","content":"Answer in one sentence."}]`),
		"gen_ai.input.messages":                jsonText(`[{"role":"user","parts":[{"type":"text","content":"What is the capital of France?"}]}]`),
		"inputs":                               jsonText(`[{"role":"system","content":"Answer in one sentence."},{"role":"user","content":"What is the capital of France?"}]`),
		"overmind.llm.attempts":                int64(1),
		"http.response.status_code":            int64(200),
		"gen_ai.response.id":                   "2n1TaOqpM4adz7IP2Z-q8Q0",
		"gen_ai.response.model":                "gemini-2.5-flash",
		"gen_ai.response.finish_reasons":       []string{"stop"},
		"gen_ai.usage.input_tokens":            int64(14),
		"gen_ai.usage.output_tokens":           int64(38),
		"gen_ai.usage.reasoning.output_tokens": int64(30),
		"gen_ai.usage.cache_read.input_tokens": int64(4),
		"gen_ai.usage.total_tokens":            int64(52),
		"gen_ai.output.messages":               jsonText(`[{"role":"assistant","parts":[{"type":"text","content":"Paris is the capital of France."}],"finish_reason":"stop"}]`),
		"outputs":                              jsonText(`[{"role":"assistant","content":"Paris is the capital of France.","finish_reason":"stop"}]`),
		"overmind.duration.seconds":            anyPositive{},
		"overmind.status":                      "success",
	})
	noSecrets(t, r.spans())
}

func TestGeminiStreamFunctionCall(t *testing.T) {
	r := newRig(t, replySSE(fixture(t, "gemini_stream.sse")))
	client := newGenAI(t, r, nil)
	contents := []*genai.Content{
		genai.NewContentFromText("Weather in Paris?", genai.RoleUser),
		genai.NewContentFromFunctionCall("get_weather", map[string]any{"city": "Paris"}, genai.RoleModel),
		genai.NewContentFromFunctionResponse("get_weather", map[string]any{"forecast": "rain"}, genai.RoleUser),
	}
	cfg := &genai.GenerateContentConfig{Tools: []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{{
		Name:        "get_weather",
		Description: "Get the weather",
		Parameters:  &genai.Schema{Type: genai.TypeObject, Properties: map[string]*genai.Schema{"city": {Type: genai.TypeString}}},
	}}}}}
	var text string
	var calls int
	for chunk, err := range client.Models.GenerateContentStream(context.Background(), "gemini-2.5-flash", contents, cfg) {
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range chunk.Candidates[0].Content.Parts {
			text += p.Text
		}
		calls += len(chunk.FunctionCalls())
	}
	if text != "The weather tool says:" || calls != 1 {
		t.Errorf("the SDK streamed %q and %d calls", text, calls)
	}
	if q := r.requests()[0].Query; q != "alt=sse" {
		t.Errorf("request query %q", q)
	}
	checkAttrs(t, r.only().Attributes(), map[string]any{
		"overmind.span.type":                  "llm_call",
		"gen_ai.operation.name":               "generate_content",
		"gen_ai.provider.name":                "gcp.gemini",
		"gen_ai.request.model":                "gemini-2.5-flash",
		"gen_ai.request.stream":               true,
		"server.address":                      "generativelanguage.googleapis.com",
		"server.port":                         int64(443),
		"gen_ai.input.messages":               jsonText(`[{"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]},{"role":"assistant","parts":[{"type":"tool_call","name":"get_weather","arguments":{"city":"Paris"}}]},{"role":"tool","parts":[{"type":"tool_call_response","response":{"forecast":"rain"}}]}]`),
		"gen_ai.tool.definitions":             jsonText(`[{"type":"function","name":"get_weather","description":"Get the weather","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"}}}}]`),
		"inputs":                              jsonText(`[{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":null,"tool_calls":[{"id":"get_weather","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"get_weather","content":"{\"forecast\":\"rain\"}"}]`),
		"overmind.llm.attempts":               int64(1),
		"http.response.status_code":           int64(200),
		"gen_ai.response.id":                  "gemstream1",
		"gen_ai.response.model":               "gemini-2.5-flash",
		"gen_ai.response.finish_reasons":      []string{"stop"},
		"gen_ai.response.time_to_first_chunk": anyPositive{},
		"gen_ai.usage.input_tokens":           int64(30),
		"gen_ai.usage.output_tokens":          int64(12),
		"gen_ai.usage.total_tokens":           int64(42),
		"gen_ai.output.messages":              jsonText(`[{"role":"assistant","parts":[{"type":"text","content":"The weather tool says:"},{"type":"tool_call","name":"get_weather","arguments":{"city":"Paris"}}],"finish_reason":"stop"}]`),
		"outputs":                             jsonText(`[{"role":"assistant","content":"The weather tool says:","finish_reason":"stop","tool_calls":[{"id":"get_weather","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}]`),
		"overmind.duration.seconds":           anyPositive{},
		"overmind.status":                     "success",
	})
}

func TestGeminiStreamClosedEarlyIsCancelled(t *testing.T) {
	r := newRig(t, replySSE(fixture(t, "gemini_stream.sse")))
	client := newGenAI(t, r, nil)
	for _, err := range client.Models.GenerateContentStream(context.Background(), "gemini-2.5-flash", genai.Text("Weather in Paris?"), nil) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	attrs := attrMap(r.only().Attributes())
	if attrs["overmind.status"] != "cancelled" {
		t.Errorf("overmind.status = %v, want cancelled", attrs["overmind.status"])
	}
	if s, _ := attrs["gen_ai.output.messages"].(string); !strings.Contains(s, "The weather") {
		t.Errorf("gen_ai.output.messages = %s, want the text streamed so far", s)
	}
	noFinishReason(t, attrs)
}
