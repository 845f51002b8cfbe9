package llmcapture

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// This file is the provider-neutral form of a call that the provider
// parsers fill in and the span attributes are made from.

// part is one part of a message, in the terms of the GenAI conventions'
// message parts.
type part struct {
	kind string // text, reasoning, tool_call, tool_call_response, blob, uri, file, or another type
	text string // text and reasoning content
	id   string // tool call id, or file id for a file part
	name string // tool name
	// args are a tool call's arguments: decoded JSON, or the raw string
	// when it is not JSON (as a stream cut short leaves it).
	args any
	// argsJSON is args encoded, once rendered.
	argsJSON string
	// response is a tool call's result.
	response                  any
	mime, modality, uri, data string
}

// message is one input or output message.
type message struct {
	role   string
	parts  []part
	finish string // an output message's finish reason
}

// toolDef is a tool offered to the model.
type toolDef struct {
	kind, name, description string
	params                  any
}

// number is an optional request parameter.
type number struct {
	v  float64
	ok bool
}

func (n *number) set(v *float64) {
	if v != nil {
		n.v, n.ok = *v, true
	}
}

// count is an optional integer.
type count struct {
	v  int64
	ok bool
}

func (c *count) set(v *int64) {
	if v != nil {
		c.v, c.ok = *v, true
	}
}

func (c *count) add(v *int64) {
	if v != nil {
		c.v += *v
		c.ok = true
	}
}

// request is what a request says.
type request struct {
	model                         string
	stream                        bool
	temperature, topP             number
	frequencyPenalty, presPenalty number
	maxTokens, topK, seed         count
	choices, dimensions           count
	stop                          []string
	encodingFormats               []string
	system                        []part
	messages                      []message
	tools                         []toolDef
	// embedInput is an embeddings request's input, as sent.
	embedInput any
}

// usage is a response's token counts, in the conventions' terms: input
// includes cached input, output includes reasoning.
type usage struct {
	input, output, cacheRead, cacheCreation, reasoning, total count
}

// response is what a response, or a whole stream, says.
type response struct {
	id, model     string
	finishReasons []string
	output        []message
	usage         usage
	embeddings    int
	dimensions    int
	// errType and errMessage are an error the provider reported in a
	// successful response, such as an error event in a stream.
	errType, errMessage string
	// complete is whether a stream reached its final event.
	complete bool
}

// textOf joins the text parts of parts.
func textOf(parts []part) string {
	var n int
	var only string
	for _, p := range parts {
		if p.kind == "text" {
			n++
			only = p.text
		}
	}
	if n <= 1 {
		return only
	}
	var b strings.Builder
	for _, p := range parts {
		if p.kind == "text" {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(p.text)
		}
	}
	return b.String()
}

// decodeArgs decodes a tool call's arguments string; one that is not JSON
// stays a string.
func decodeArgs(s string) any {
	if s == "" {
		return map[string]any{}
	}
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	return v
}

// decodeRaw decodes a JSON value; one that does not decode is dropped.
func decodeRaw(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	return v
}

// rawString returns raw as a string if it is a JSON string, else "".
func rawString(raw json.RawMessage) (string, bool) {
	n := len(raw)
	if n < 2 || raw[0] != '"' || raw[n-1] != '"' {
		return "", false
	}
	if inner := raw[1 : n-1]; plainString(inner) {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// mediaPart returns the part for inline data or a URL of mime type mime.
func mediaPart(mime, dataOrURL string) part {
	modality := modalityOf(mime)
	if rest, ok := strings.CutPrefix(dataOrURL, "data:"); ok {
		// A data URL: data:image/png;base64,....
		meta, data, _ := strings.Cut(rest, ",")
		if m, _, _ := strings.Cut(meta, ";"); m != "" && mime == "" {
			mime = m
			modality = modalityOf(m)
		}
		return part{kind: "blob", mime: mime, modality: modality, data: data}
	}
	if strings.Contains(dataOrURL, "://") {
		return part{kind: "uri", mime: mime, modality: modality, uri: dataOrURL}
	}
	return part{kind: "blob", mime: mime, modality: modality, data: dataOrURL}
}

// modalityOf returns the conventions' modality of a MIME type.
func modalityOf(mime string) string {
	switch {
	case strings.HasPrefix(mime, "image/"):
		return "image"
	case strings.HasPrefix(mime, "audio/"):
		return "audio"
	case strings.HasPrefix(mime, "video/"):
		return "video"
	}
	return ""
}

// plainString reports whether b, the inside of a JSON string, needs no
// unescaping: no backslash, quote or control byte, and valid UTF-8.
func plainString(b []byte) bool {
	ascii := true
	for _, c := range b {
		if c == '\\' || c == '"' || c < 0x20 {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return ascii || utf8.Valid(b)
}
