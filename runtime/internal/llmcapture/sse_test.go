package llmcapture

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

type sseEvent struct{ name, data string }

func parseSSE(max int, pieces ...string) []sseEvent {
	var got []sseEvent
	p := &sseParser{max: max, onEvent: func(name, data []byte) {
		got = append(got, sseEvent{string(name), string(data)})
	}}
	for _, piece := range pieces {
		p.feed([]byte(piece))
	}
	p.end()
	return got
}

func TestSSEParser(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []sseEvent
	}{
		{"data only", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []sseEvent{{"", `{"a":1}`}, {"", "[DONE]"}}},
		{"named", "event: message_start\ndata: {}\n\n", []sseEvent{{"message_start", "{}"}}},
		{"name resets", "event: a\ndata: 1\n\ndata: 2\n\n", []sseEvent{{"a", "1"}, {"", "2"}}},
		{"crlf", "event: x\r\ndata: 1\r\n\r\ndata: 2\r\n\r\n", []sseEvent{{"x", "1"}, {"", "2"}}},
		{"cr", "data: 1\r\rdata: 2\r\r", []sseEvent{{"", "1"}, {"", "2"}}},
		{"multi-line data", "data: a\ndata: b\n\n", []sseEvent{{"", "a\nb"}}},
		{"no space", "data:x\n\n", []sseEvent{{"", "x"}}},
		{"comments and ids", ": keep-alive\nid: 7\nretry: 10\ndata: x\n\n", []sseEvent{{"", "x"}}},
		{"no data", "event: ping\n\n", nil},
		{"no blank line at the end", "data: last", []sseEvent{{"", "last"}}},
		{"long line dropped", "data: " + strings.Repeat("x", 100) + "\n\ndata: ok\n\n", []sseEvent{{"", "ok"}}},
		{"long event dropped", "data: " + strings.Repeat("x", 30) + "\ndata: " + strings.Repeat("y", 30) + "\n\ndata: ok\n\n", []sseEvent{{"", "ok"}}},
	} {
		if got := parseSSE(50, tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestSSEParserPieces feeds a stream split at every position, and byte by
// byte: the events are those of the whole.
func TestSSEParserPieces(t *testing.T) {
	for _, name := range []string{"anthropic_stream.sse", "openai_chat_stream.sse"} {
		in := strings.ReplaceAll(string(fixture(t, name)), "\n\n", "\r\n\r\n")
		whole := parseSSE(1<<20, in)
		if len(whole) < 5 {
			t.Fatalf("%s: %d events", name, len(whole))
		}
		for i := range len(in) {
			if got := parseSSE(1<<20, in[:i], in[i:]); !reflect.DeepEqual(got, whole) {
				t.Fatalf("%s split at %d: %d events, want %d", name, i, len(got), len(whole))
			}
		}
		bytes := strings.Split(in, "")
		if got := parseSSE(1<<20, bytes...); !reflect.DeepEqual(got, whole) {
			t.Fatalf("%s byte by byte: %d events", name, len(got))
		}
	}
}

// FuzzSSEParser checks that how the stream is split never changes the
// events.
func FuzzSSEParser(f *testing.F) {
	f.Add("event: a\r\ndata: 1\r\n\r\ndata: 2\n\n", 3)
	f.Add("data: x\r\rdata:y\n: c\n\n", 1)
	f.Fuzz(func(t *testing.T, in string, cut int) {
		if cut < 0 || cut > len(in) {
			return
		}
		whole := parseSSE(64, in)
		if got := parseSSE(64, in[:cut], in[cut:]); !reflect.DeepEqual(got, whole) {
			t.Errorf("split at %d: %q, whole: %q", cut, got, whole)
		}
	})
}

func TestNewFraming(t *testing.T) {
	for ct, want := range map[string]string{
		"text/event-stream":                  "*llmcapture.sseParser",
		"text/event-stream; charset=utf-8":   "*llmcapture.sseParser",
		" Text/Event-Stream ;charset=utf-8":  "*llmcapture.sseParser",
		"text/event-stream; charset":         "*llmcapture.sseParser",
		"application/vnd.amazon.eventstream": "*llmcapture.eventStreamParser",
		"application/json":                   "<nil>",
		"text/event-streams":                 "<nil>",
		"":                                   "<nil>",
	} {
		if got := fmt.Sprintf("%T", newFraming(ct, 10, nil)); got != want {
			t.Errorf("newFraming(%q) is %s, want %s", ct, got, want)
		}
	}
}

// FuzzParse feeds arbitrary bodies to every parser: they must return, not
// panic (the recover in parseRequest would hide a panic, so the parsers
// are called directly).
func FuzzParse(f *testing.F) {
	for _, name := range []string{"openai_chat.json", "openai_chat_tools.json", "openai_responses.json", "anthropic_message.json", "gemini.json", "openai_embeddings.json", "bedrock_converse.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"messages":[{"role":"tool","content":[{"type":"text"}]}],"input":[{"type":"function_call_output","output":[1]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		text := string(body)
		var r request
		for _, a := range apis {
			for _, op := range a.operations {
				op.request(text, &r)
				ep := endpoint{op: op, pathModel: "path-model"}
				if got, want := requestModel(ep, bodyText{text: text, ok: true}), parseRequest(ep, bodyText{text: text, ok: true}).model; got != want {
					t.Errorf("%s %s: requestModel %q, parseRequest's model %q", a.name, op.name, got, want)
				}
				op.response(text)
				if s := newStream(op); s != nil {
					s.event(nil, body)
					s.result()
				}
			}
		}
		e := &Engine{deps: Deps{Encode: encodeJSON, Truncate: func(s string) string { return s }, ErrorMessage: func(s string) string { return s }}}
		w := e.writer()
		_ = w.attrs(e.requestAttrs(nil, &w, endpoint{op: opOpenAIChat}, &r, &config{content: true}))
		w.release()
		_, _ = parseError(text)
		_ = fmt.Sprint(r.model)
	})
}

// FuzzAppendString checks the engine's JSON strings against
// encoding/json: they decode to what encoding/json's decode to.
func FuzzAppendString(f *testing.F) {
	f.Add("plain")
	f.Add("quote \" backslash \\ newline \n tab \t nul \x00 bad \xff line sep \u2028 <&>")
	f.Fuzz(func(t *testing.T, s string) {
		var got string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil {
			t.Fatalf("appendString(%q) is not JSON: %v", s, err)
		}
		want, _ := json.Marshal(s)
		var w string
		_ = json.Unmarshal(want, &w)
		if got != w {
			t.Errorf("appendString(%q) decodes to %q, encoding/json's to %q", s, got, w)
		}
	})
}
