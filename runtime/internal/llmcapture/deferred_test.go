package llmcapture

import (
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TestDeferredAttributesIdentical makes the same calls through an engine
// that computes the attributes before the span ends and through one that
// defers them: every span processor must see the same attributes, in the
// same order, and the same status.
func TestDeferredAttributesIdentical(t *testing.T) {
	t.Parallel()
	cutShort := func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range strings.SplitAfter(string(fixture(t, "anthropic_stream.sse")), "\n\n")[:5] {
			_, _ = io.WriteString(w, ev)
		}
		w.(http.Flusher).Flush()
		if conn, buf, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = buf.Flush()
			_ = conn.Close()
		}
	}
	for _, tc := range []struct {
		name, url, body string
		reply           func(http.ResponseWriter, *http.Request, []byte)
	}{
		{"chat", "https://api.openai.com/v1/chat/completions", `{"model":"gpt-5-mini","temperature":0.2,"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Where is my order?"}]}`, replyJSON(200, fixture(t, "openai_chat.json"))},
		{"tools", "https://api.openai.com/v1/chat/completions", `{"model":"gpt-5-mini","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"lookup_order","parameters":{"type":"object"}}}]}`, replyJSON(200, fixture(t, "openai_chat_tools.json"))},
		{"anthropic stream", "https://api.anthropic.com/v1/messages", `{"model":"claude-sonnet-4-5","stream":true,"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, replySSE(fixture(t, "anthropic_stream.sse"))},
		{"gemini", "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, replyJSON(200, fixture(t, "gemini.json"))},
		{"error", "https://api.openai.com/v1/chat/completions", `{"model":"gpt-5-mini","messages":[]}`, replyJSON(400, []byte(`{"error":{"message":"bad request","type":"invalid_request_error"}}`))},
		{"cut short", "https://api.anthropic.com/v1/messages", `{"model":"claude-sonnet-4-5","stream":true,"max_tokens":5,"messages":[]}`, cutShort},
	} {
		var spans [2]sdktrace.ReadOnlySpan
		for i, deferred := range []bool{false, true} {
			r := newRig(t, tc.reply, nil, func(d *Deps) { d.DeferAttributes = deferred })
			req, _ := http.NewRequest(http.MethodPost, tc.url, strings.NewReader(tc.body))
			if res, err := r.client().Do(req); err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
			}
			spans[i] = r.only()
		}
		if _, ok := spans[1].(*completedSpan); !ok {
			t.Errorf("%s: the deferred span is a %T", tc.name, spans[1])
		}
		now, late := comparable(spans[0].Attributes()), comparable(spans[1].Attributes())
		if !reflect.DeepEqual(now, late) {
			t.Errorf("%s: attributes differ:\n\tnow  %v\n\tlate %v", tc.name, now, late)
		}
		if spans[0].Status() != spans[1].Status() {
			t.Errorf("%s: status %v, deferred %v", tc.name, spans[0].Status(), spans[1].Status())
		}
		if tc.name == "error" && spans[1].Status().Code != codes.Error {
			t.Errorf("%s: status %v", tc.name, spans[1].Status())
		}
	}
}

// comparable returns the attributes as key=value strings, the timings
// (which differ between two calls) left out.
func comparable(attrs []attribute.KeyValue) []string {
	var out []string
	for _, kv := range attrs {
		switch kv.Key {
		case keyDuration, keyTimeToFirst:
			out = append(out, string(kv.Key))
		default:
			out = append(out, string(kv.Key)+"="+kv.Value.Emit())
		}
	}
	return out
}

// TestDeferredLeavesNothing: once a deferred span has ended the engine
// keeps nothing of it; the span a wrapped processor got computes its
// attributes when read.
func TestDeferredLeavesNothing(t *testing.T) {
	t.Parallel()
	r := newRig(t, replyJSON(200, fixture(t, "openai_chat.json")), nil, func(d *Deps) { d.DeferAttributes = true })
	post(t, r.client(), "https://api.openai.com/v1/chat/completions", strings.NewReader(`{"model":"gpt-5-mini","messages":[]}`))
	if n := r.engine.deferred.n.Load(); n != 0 {
		t.Errorf("%d deferred calls left", n)
	}
	if a := attrMap(r.only().Attributes()); a["gen_ai.usage.input_tokens"] != int64(1117) {
		t.Errorf("attributes %v", a)
	}
}

// TestCompleteAttrsUnique: the attributes a call completes with repeat no
// key, which mergeAttrs relies on.
func TestCompleteAttrsUnique(t *testing.T) {
	t.Parallel()
	r := newRig(t, replyJSON(200, fixture(t, "openai_chat_tools.json")), nil, nil)
	post(t, r.client(), "https://api.openai.com/v1/chat/completions", strings.NewReader(`{"model":"gpt-5-mini","temperature":0.1,"stop":["x"],"messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}`))
	seen := map[attribute.Key]bool{}
	for _, kv := range r.only().Attributes() {
		if seen[kv.Key] {
			t.Errorf("%s twice", kv.Key)
		}
		seen[kv.Key] = true
	}
	base := []attribute.KeyValue{attribute.String("a", "1"), attribute.String("b", "2")}
	got := mergeAttrs(base, []attribute.KeyValue{attribute.String("c", "3"), attribute.String("a", "4")})
	if fmt.Sprint(got) != fmt.Sprint([]attribute.KeyValue{attribute.String("a", "4"), attribute.String("b", "2"), attribute.String("c", "3")}) || base[0].Value.AsString() != "1" {
		t.Errorf("mergeAttrs = %v, base %v", got, base)
	}
}
