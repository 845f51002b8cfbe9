package overmind

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestRecordMessageOnLLMSpan(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx, span := StartLLMSpan(context.Background(), "chat", Model{Provider: "openai", Name: "gpt-4.1-mini"})
	RecordMessage(ctx, Message{Role: "system", Content: "You are a support agent."})
	RecordMessage(ctx, Message{Role: "user", Content: "Refund order 4421", Name: "ada"})
	RecordMessage(ctx, Message{Role: "assistant", Parts: []MessagePart{
		{Type: "reasoning", Content: "The user wants a refund."},
		{Type: "tool_call", ID: "call_1", Name: "issue_refund", Arguments: json.RawMessage(`{"order":"4421","api_key":"sk-1"}`)},
	}, FinishReason: "tool_call"})
	span.End()

	s := onlySpan(t, rec.Ended())
	wantAttr(t, s, "gen_ai.input.messages",
		`[{"role":"system","parts":[{"type":"text","content":"You are a support agent."}]},`+
			`{"role":"user","parts":[{"type":"text","content":"Refund order 4421"}],"name":"ada"}]`)
	wantAttr(t, s, "gen_ai.output.messages",
		`[{"role":"assistant","parts":[{"type":"reasoning","content":"The user wants a refund."},`+
			`{"type":"tool_call","id":"call_1","name":"issue_refund","arguments":{"api_key":"<redacted>","order":"4421"}}],"finish_reason":"tool_call"}]`)
}

// TestTranscriptOrder: a conversation recorded turn by turn replays in
// order, input then output, and a turn after an answer moves the answer
// into the input.
func TestTranscriptOrder(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx, tr := StartTrace(context.Background(), "support_agent", TraceOptions{})
	RecordMessage(ctx, Message{Role: "user", Content: "Where is my order?"})
	RecordMessage(ctx, Message{Role: "assistant", Content: "Which order?"})
	RecordMessage(ctx, Message{Role: "user", Content: "4421"})
	RecordMessage(ctx, Message{Role: "tool", ToolCallID: "call_9", Content: `{"status":"shipped"}`})
	RecordMessage(ctx, Message{Role: "assistant", Content: "thinking about tone", Internal: true})
	RecordMessage(ctx, Message{Role: "assistant", Content: "It has shipped."})
	tr.End()

	s := onlySpan(t, rec.Ended())
	var in, out []map[string]any
	json.Unmarshal([]byte(attrsOf(s)["gen_ai.input.messages"].AsString()), &in)
	json.Unmarshal([]byte(attrsOf(s)["gen_ai.output.messages"].AsString()), &out)
	var replay []string
	for _, m := range append(in, out...) {
		part := m["parts"].([]any)[0].(map[string]any)
		text, _ := part["content"].(string)
		if part["type"] == "tool_call_response" {
			text = part["id"].(string) + "=" + part["response"].(string)
		}
		if m["internal"] == true {
			text += " (internal)"
		}
		replay = append(replay, m["role"].(string)+": "+text)
	}
	want := []string{
		"user: Where is my order?", "assistant: Which order?", "user: 4421",
		`tool: call_9={"status":"shipped"}`,
		"assistant: thinking about tone (internal)", "assistant: It has shipped.",
	}
	if strings.Join(replay, "\n") != strings.Join(want, "\n") {
		t.Errorf("replayed:\n%s\nwant:\n%s", strings.Join(replay, "\n"), strings.Join(want, "\n"))
	}
	if len(out) != 2 {
		t.Errorf("output has %d messages, want the final 2 assistant messages", len(out))
	}
}

func TestAnswerMovesToInput(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx, span := StartSpan(context.Background(), SpanTypeAgent, "agent")
	RecordMessage(ctx, Message{Role: "user", Content: "hi"})
	RecordMessage(ctx, Message{Role: "assistant", Content: "hello"})
	RecordMessage(ctx, Message{Role: "user", Content: "bye"})
	span.End()
	s := onlySpan(t, rec.Ended())
	wantAttr(t, s, "gen_ai.output.messages", `[]`)
	if in := attrsOf(s)["gen_ai.input.messages"].AsString(); strings.Count(in, `"role"`) != 3 {
		t.Errorf("input = %s, want the 3 messages", in)
	}
}

func TestRecordTraceMessage(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx, tr := StartTrace(context.Background(), "support_agent", TraceOptions{})
	RecordTraceMessage(ctx, Message{Role: "user", Content: "Where is my order?"})
	func() {
		// Deep below the trace, through the goroutine, a message for the
		// trace goes to its root, not to the current span.
		om := Enter(SpanTypeTool, "lookup", "p.lookup", nil)
		if om != nil {
			defer func() { om.Exit(recover(), nil, nil) }()
		}
		RecordTraceMessage(context.Background(), Message{Role: "assistant", Content: "It has shipped."})
		RecordMessage(context.Background(), Message{Role: "tool", ToolCallID: "c1", Content: "shipped"})
	}()
	tr.End()
	// Outside a trace, it records on the current span.
	ctx2, other := StartSpan(context.Background(), SpanTypeFunction, "plain")
	RecordTraceMessage(ctx2, Message{Role: "user", Content: "hello"})
	other.End()

	spans := endedByName(t, rec.Ended())
	wantAttr(t, spans["support_agent"], "gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"Where is my order?"}]}]`)
	wantAttr(t, spans["support_agent"], "gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"It has shipped."}]}]`)
	wantAttr(t, spans["lookup"], "gen_ai.input.messages", `[{"role":"tool","parts":[{"type":"tool_call_response","id":"c1","response":"shipped"}]}]`)
	wantAttr(t, spans["plain"], "gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"hello"}]}]`)
}

func TestMessagesRedactedAndBounded(t *testing.T) {
	rec := recordForTest(t, Config{MaxAttributeBytes: 200})
	ctx, span := StartSpan(context.Background(), SpanTypeFunction, "long")
	blob := strings.Repeat("QUJD", 100) // 400 base64 characters
	RecordMessage(ctx, Message{Role: "user", Parts: []MessagePart{{Type: "blob", Modality: "image", MimeType: "image/png", Content: blob}}})
	for range 20 {
		RecordMessage(ctx, Message{Role: "user", Content: strings.Repeat("x", 60)})
	}
	span.End()
	s := onlySpan(t, rec.Ended())
	in := attrsOf(s)["gen_ai.input.messages"].AsString()
	if !strings.Contains(in, `"content":"<base64 400 chars>"`) {
		t.Errorf("blob not replaced: %.120s", in)
	}
	if !strings.HasSuffix(in, "…[truncated]") || len(in) > 200+len("…[truncated]") {
		t.Errorf("input not cut at the cap: %d bytes, ends %q", len(in), in[max(0, len(in)-20):])
	}
	if n := attrsOf(s)["overmind.messages.dropped"].AsInt64(); n == 0 {
		t.Error("no message counted dropped past the transcript's bound")
	}
}
