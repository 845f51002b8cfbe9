package llmcapture

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// blobEncode is an Encode with the runtime serializer's rule for strings:
// a base64 data URL, or a string of 256 or more base64 characters only,
// becomes "<base64 N chars>".
func blobEncode(v any) string {
	if s, ok := v.(string); ok {
		allBase64 := len(s) >= 256
		for i := 0; i < len(s) && allBase64; i++ {
			allBase64 = isBase64Char(s[i])
		}
		if allBase64 || (strings.HasPrefix(s, "data:") && strings.Contains(s[:min(len(s), 256)], ";base64,")) {
			return `"<base64 ` + strconv.Itoa(len(s)) + ` chars>"`
		}
	}
	return encodeJSON(v)
}

// TestMessageTextBase64: message text that is encoded binary data goes
// through the serializer's rule, in every content attribute, alone or
// joined with other text; text that only looks like it at first stays.
func TestMessageTextBase64(t *testing.T) {
	blob := strings.Repeat("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk", 6) // 360 chars
	dataURL := "data:image/png;base64," + blob[:100]
	prose := "data: the figures for March are in the attached table, with notes below."
	numbers := strings.Repeat("0123456789", 30) + " and more"
	request, _ := json.Marshal(map[string]any{
		"model": "gpt-5-mini",
		"messages": []any{
			map[string]any{"role": "system", "content": prose},
			map[string]any{"role": "user", "content": []any{
				map[string]any{"type": "text", "text": "Decode this:"},
				map[string]any{"type": "text", "text": blob},
			}},
			map[string]any{"role": "user", "content": dataURL},
			map[string]any{"role": "user", "content": numbers},
		},
	})
	response, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "model": "gpt-5-mini",
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": blob}}},
	})
	r := newRig(t, replyJSON(200, response), nil, func(d *Deps) { d.Encode = blobEncode })
	post(t, r.client(), "https://api.openai.com/v1/chat/completions", strings.NewReader(string(request)))

	placeholder := "<base64 " + strconv.Itoa(len(blob)) + " chars>"
	urlPlaceholder := "<base64 " + strconv.Itoa(len(dataURL)) + " chars>"
	attrs := attrMap(r.only().Attributes())
	for key, want := range map[string]string{
		"gen_ai.input.messages": `[
			{"role":"system","parts":[{"type":"text","content":` + strconv.Quote(prose) + `}]},
			{"role":"user","parts":[{"type":"text","content":"Decode this:"},{"type":"text","content":"` + placeholder + `"}]},
			{"role":"user","parts":[{"type":"text","content":"` + urlPlaceholder + `"}]},
			{"role":"user","parts":[{"type":"text","content":"` + numbers + `"}]}]`,
		"inputs": `[
			{"role":"system","content":` + strconv.Quote(prose) + `},
			{"role":"user","content":"Decode this:\n` + placeholder + `"},
			{"role":"user","content":"` + urlPlaceholder + `"},
			{"role":"user","content":"` + numbers + `"}]`,
		"gen_ai.output.messages": `[{"role":"assistant","parts":[{"type":"text","content":"` + placeholder + `"}],"finish_reason":"stop"}]`,
		"outputs":                `[{"role":"assistant","content":"` + placeholder + `","finish_reason":"stop"}]`,
	} {
		got, _ := attrs[key].(string)
		if !jsonEqual(got, want) {
			t.Errorf("%s:\n\tgot  %s\n\twant %s", key, got, want)
		}
	}
}

// TestMessageTextAsSent: text is recorded as the body has it, escapes
// and all, and decodes to the text the provider meant; invalid UTF-8
// becomes U+FFFD, so that every attribute is valid UTF-8.
func TestMessageTextAsSent(t *testing.T) {
	request := `{"model":"gpt-5-mini","messages":[` +
		`{"role":"user","content":"Line one\nline \"two\" caf\u00e9 \ud83d\ude00 <tag> &amp; \/"},` +
		`{"role":"user","content":"bad ` + "\xff" + ` byte"}]}`
	response := `{"id":"c","model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Sure:\n\t- caf\u00e9 \u2028 done"}}]}`
	r := newRig(t, replyJSON(200, []byte(response)), nil, nil)
	post(t, r.client(), "https://api.openai.com/v1/chat/completions", strings.NewReader(request))

	attrs := attrMap(r.only().Attributes())
	for key, want := range map[string]string{
		"gen_ai.input.messages": `[
			{"role":"user","parts":[{"type":"text","content":"Line one\nline \"two\" café 😀 <tag> &amp; /"}]},
			{"role":"user","parts":[{"type":"text","content":"bad \ufffd byte"}]}]`,
		"inputs":                 `[{"role":"user","content":"Line one\nline \"two\" café 😀 <tag> &amp; /"},{"role":"user","content":"bad \ufffd byte"}]`,
		"gen_ai.output.messages": `[{"role":"assistant","parts":[{"type":"text","content":"Sure:\n\t- café \u2028 done"}],"finish_reason":"stop"}]`,
		"outputs":                `[{"role":"assistant","content":"Sure:\n\t- café \u2028 done","finish_reason":"stop"}]`,
	} {
		got, _ := attrs[key].(string)
		if !utf8.ValidString(got) {
			t.Errorf("%s is not valid UTF-8: %q", key, got)
		}
		if !jsonEqual(got, want) {
			t.Errorf("%s:\n\tgot  %s\n\twant %s", key, got, want)
		}
	}
}
