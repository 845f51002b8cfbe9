package llmcapture

import (
	"strings"
	"testing"
)

// TestGeminiStreamAsJSONArray: streamGenerateContent without alt=sse
// answers one JSON array of the stream's responses.
func TestGeminiStreamAsJSONArray(t *testing.T) {
	var chunks []string
	for _, ev := range strings.Split(strings.TrimSpace(string(fixture(t, "gemini_stream.sse"))), "\n\n") {
		chunks = append(chunks, strings.TrimPrefix(ev, "data: "))
	}
	r := newRig(t, replyJSON(200, []byte("["+strings.Join(chunks, ",\n")+"]")), nil, nil)
	post(t, r.client(), "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent",
		strings.NewReader(`{"contents":[{"role":"user","parts":[{"text":"Weather in Paris?"}]}]}`))
	a := attrMap(r.only().Attributes())
	if a["gen_ai.usage.total_tokens"] != int64(42) || a["gen_ai.request.stream"] != true ||
		!jsonEqual(a["gen_ai.output.messages"].(string), `[{"role":"assistant","parts":[{"type":"text","content":"The weather tool says:"},{"type":"tool_call","name":"get_weather","arguments":{"city":"Paris"}}],"finish_reason":"stop"}]`) {
		t.Errorf("attributes %v", a)
	}
}
