package llmcapture

import (
	"strconv"
	"sync"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
)

// This file renders a request and a response as span attributes. Content
// attributes come in two shapes: the GenAI conventions' structured messages
// (gen_ai.input.messages, gen_ai.output.messages, gen_ai.system_instructions,
// gen_ai.tool.definitions), and the inputs/outputs pair the Overmind
// dashboard reads on every span, where an LLM call's messages take the
// OpenAI chat shape ({"role", "content", "tool_calls", "tool_call_id"}) for
// all providers.
//
// The messages' structure and text are written here directly; the values
// that are the application's own data (tool arguments and results, tool
// schemas, inline media) go through Deps.Encode, so that the redaction
// rules apply to them, and each attribute through Deps.Truncate.

// spanName is "{operation} {model}", or the operation alone.
func spanName(op operation, model string) string {
	if model == "" {
		return op.name()
	}
	return op.name() + " " + model
}

// requestAttrs returns the attributes of a parsed request.
func (e *Engine) requestAttrs(ep endpoint, r *request, cfg *config) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 16)
	if r.model != "" {
		attrs = append(attrs, keyRequestModel.String(r.model))
	}
	if r.stream {
		attrs = append(attrs, keyRequestStream.Bool(true))
	}
	if r.temperature.ok {
		attrs = append(attrs, keyTemperature.Float64(r.temperature.v))
	}
	if r.topP.ok {
		attrs = append(attrs, keyTopP.Float64(r.topP.v))
	}
	if r.topK.ok {
		attrs = append(attrs, keyTopK.Float64(float64(r.topK.v)))
	}
	if r.maxTokens.ok {
		attrs = append(attrs, keyMaxTokens.Int64(r.maxTokens.v))
	}
	if r.frequencyPenalty.ok {
		attrs = append(attrs, keyFrequencyPenalty.Float64(r.frequencyPenalty.v))
	}
	if r.presPenalty.ok {
		attrs = append(attrs, keyPresencePenalty.Float64(r.presPenalty.v))
	}
	if r.seed.ok {
		attrs = append(attrs, keySeed.Int64(r.seed.v))
	}
	if r.choices.ok && r.choices.v != 1 {
		attrs = append(attrs, keyChoiceCount.Int64(r.choices.v))
	}
	if len(r.stop) > 0 {
		attrs = append(attrs, keyStopSequences.StringSlice(r.stop))
	}
	if len(r.encodingFormats) > 0 {
		attrs = append(attrs, keyEncodingFormats.StringSlice(r.encodingFormats))
	}
	if r.dimensions.ok {
		attrs = append(attrs, keyDimensions.Int64(r.dimensions.v))
	}
	if p, ok := e.findPrompt(r); ok {
		attrs = append(attrs, keyPromptID.String(p.ID), keyPromptHash.String(p.Hash))
		if cfg.content && p.Kwargs != "" {
			attrs = append(attrs, keyPromptKwargs.String(p.Kwargs))
		}
		if cfg.content && p.Template != "" {
			attrs = append(attrs, keyPromptTemplate.String(p.Template))
		}
	}
	if !cfg.content {
		return attrs
	}
	if ep.op == opOpenAIEmbeddings {
		if r.embedInput != nil {
			attrs = append(attrs, keyInputs.String(e.deps.Truncate(e.deps.Encode(r.embedInput))))
		}
		return attrs
	}
	w := e.writer()
	defer w.release()
	if len(r.system) > 0 {
		w.semconvParts(r.system)
		attrs = append(attrs, keySystem.String(w.take()))
	}
	if len(r.messages) > 0 {
		w.semconvMessages(r.messages, false)
		attrs = append(attrs, keyInputMessages.String(w.take()))
	}
	if len(r.tools) > 0 {
		w.semconvTools(r.tools)
		attrs = append(attrs, keyToolDefinitions.String(w.take()))
	}
	if len(r.system) > 0 || len(r.messages) > 0 {
		w.chatMessages(r.system, r.messages)
		attrs = append(attrs, keyInputs.String(w.take()))
	}
	return attrs
}

// findPrompt returns the first PromptString whose text is a text part of
// r's system instructions or messages.
func (e *Engine) findPrompt(r *request) (Prompt, bool) {
	if e.deps.Prompt == nil {
		return Prompt{}, false
	}
	for _, p := range r.system {
		if p.kind == "text" {
			if found, ok := e.deps.Prompt(p.text); ok {
				return found, true
			}
		}
	}
	for _, m := range r.messages {
		for _, p := range m.parts {
			if p.kind == "text" {
				if found, ok := e.deps.Prompt(p.text); ok {
					return found, true
				}
			}
		}
	}
	return Prompt{}, false
}

// responseAttrs returns the attributes of a parsed response.
func (e *Engine) responseAttrs(op operation, r *response, content bool) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 12)
	if r.id != "" {
		attrs = append(attrs, keyResponseID.String(r.id))
	}
	if r.model != "" {
		attrs = append(attrs, keyResponseModel.String(r.model))
	}
	if len(r.finishReasons) > 0 {
		attrs = append(attrs, keyFinishReasons.StringSlice(r.finishReasons))
	}
	u := r.usage
	if !u.total.ok && u.input.ok && u.output.ok {
		u.total = count{v: u.input.v + u.output.v, ok: true}
	}
	for _, c := range [...]struct {
		key attribute.Key
		n   count
	}{
		{keyInputTokens, u.input},
		{keyOutputTokens, u.output},
		{keyCacheReadTokens, u.cacheRead},
		{keyCacheCreateTokens, u.cacheCreation},
		{keyReasoningTokens, u.reasoning},
		{keyTotalTokens, u.total},
	} {
		if c.n.ok {
			attrs = append(attrs, c.key.Int64(c.n.v))
		}
	}
	if r.dimensions > 0 {
		attrs = append(attrs, keyDimensions.Int(r.dimensions))
	}
	if content && len(r.output) > 0 {
		w := e.writer()
		defer w.release()
		w.semconvMessages(r.output, true)
		attrs = append(attrs, keyOutputMessages.String(w.take()))
		w.chatMessages(nil, r.output)
		attrs = append(attrs, keyOutputs.String(w.take()))
	}
	return attrs
}

// writer writes content attributes as JSON.
type writer struct {
	e *Engine
	b []byte
}

var writerBuffers = sync.Pool{New: func() any { return new([]byte) }}

// writer returns a writer; release it when done.
func (e *Engine) writer() *writer {
	return &writer{e: e, b: (*writerBuffers.Get().(*[]byte))[:0]}
}

// release gives the writer's buffer back, unless it grew large.
func (w *writer) release() {
	if cap(w.b) <= 64<<10 {
		b := w.b[:0]
		writerBuffers.Put(&b)
	}
	w.b = nil
}

// take returns what was written, capped by Deps.Truncate, and starts over.
func (w *writer) take() string {
	s := w.e.deps.Truncate(string(w.b))
	w.b = w.b[:0]
	return s
}

func (w *writer) raw(s string) { w.b = append(w.b, s...) }

func (w *writer) str(s string) { w.b = appendString(w.b, s) }

// field writes ,"key":"value", the comma unless first.
func (w *writer) field(first bool, key, value string) {
	if !first {
		w.b = append(w.b, ',')
	}
	w.b = appendString(w.b, key)
	w.b = append(w.b, ':')
	w.b = appendString(w.b, value)
}

// key writes ,"key": for a value that follows.
func (w *writer) key(key string) {
	w.b = append(w.b, ',')
	w.b = appendString(w.b, key)
	w.b = append(w.b, ':')
}

// value writes the application's data v, encoded by Deps.Encode.
func (w *writer) value(v any) {
	if v == nil {
		w.raw("null")
		return
	}
	w.raw(w.e.deps.Encode(v))
}

// args returns a tool call's arguments as JSON: encoded by Deps.Encode,
// or the raw text when they are not JSON. It is computed once per part.
func (w *writer) args(p *part) (text string, isJSON bool) {
	if s, ok := p.args.(string); ok {
		return s, false
	}
	if p.argsJSON == "" {
		p.argsJSON = w.e.deps.Encode(p.args)
	}
	return p.argsJSON, true
}

// semconvMessages writes messages in the conventions' structured form.
func (w *writer) semconvMessages(msgs []message, output bool) {
	w.raw("[")
	for i := range msgs {
		m := &msgs[i]
		if i > 0 {
			w.raw(",")
		}
		w.raw("{")
		w.field(true, "role", m.role)
		w.key("parts")
		w.semconvParts(m.parts)
		if output {
			w.field(false, "finish_reason", m.finish)
		}
		w.raw("}")
	}
	w.raw("]")
}

// semconvParts writes message parts in the conventions' form.
func (w *writer) semconvParts(parts []part) {
	w.raw("[")
	for i := range parts {
		p := &parts[i]
		if i > 0 {
			w.raw(",")
		}
		w.raw("{")
		w.field(true, "type", p.kind)
		switch p.kind {
		case "text", "reasoning":
			w.field(false, "content", p.text)
		case "tool_call":
			w.field(false, "id", p.id)
			w.field(false, "name", p.name)
			w.key("arguments")
			if args, isJSON := w.args(p); isJSON {
				w.raw(args)
			} else {
				w.str(args)
			}
		case "tool_call_response":
			w.field(false, "id", p.id)
			w.key("response")
			w.value(p.response)
		case "blob":
			w.media(p)
			w.key("content")
			w.value(p.data)
		case "uri":
			w.media(p)
			w.field(false, "uri", p.uri)
		case "file":
			w.media(p)
			w.field(false, "file_id", p.id)
		default:
			if p.text != "" {
				w.field(false, "content", p.text)
			}
		}
		w.raw("}")
	}
	w.raw("]")
}

// media writes a media part's modality and MIME type, when known.
func (w *writer) media(p *part) {
	if p.modality != "" {
		w.field(false, "modality", p.modality)
	}
	if p.mime != "" {
		w.field(false, "mime_type", p.mime)
	}
}

// semconvTools writes tool definitions as the conventions' list.
func (w *writer) semconvTools(tools []toolDef) {
	w.raw("[")
	for i, t := range tools {
		if i > 0 {
			w.raw(",")
		}
		w.raw("{")
		w.field(true, "type", t.kind)
		w.field(false, "name", t.name)
		if t.description != "" {
			w.field(false, "description", t.description)
		}
		if t.params != nil {
			w.key("parameters")
			w.value(t.params)
		}
		w.raw("}")
	}
	w.raw("]")
}

// chatMessages writes system instructions and messages in the OpenAI chat
// shape of the inputs and outputs attributes. Tool results become messages
// of role "tool"; a tool call's arguments become the JSON string OpenAI
// sends.
func (w *writer) chatMessages(system []part, msgs []message) {
	w.raw("[")
	first := true
	open := func() {
		if !first {
			w.raw(",")
		}
		first = false
		w.raw("{")
	}
	if len(system) > 0 {
		open()
		w.field(true, "role", "system")
		w.key("content")
		w.chatContent(system)
		w.raw("}")
	}
	for i := range msgs {
		m := &msgs[i]
		var calls, rest, reasoning int
		for j := range m.parts {
			p := &m.parts[j]
			switch p.kind {
			case "tool_call_response":
				open()
				w.field(true, "role", "tool")
				id := p.id
				if id == "" {
					id = p.name
				}
				w.field(false, "tool_call_id", id)
				w.key("content")
				if s, ok := p.response.(string); ok {
					w.str(s)
				} else {
					w.str(w.e.deps.Encode(p.response))
				}
				w.raw("}")
			case "tool_call":
				calls++
			case "reasoning":
				reasoning++
			default:
				rest++
			}
		}
		if rest == 0 && calls == 0 && reasoning == 0 {
			continue
		}
		open()
		w.field(true, "role", chatRole(m.role))
		w.key("content")
		w.chatContent(m.parts)
		if calls > 0 {
			w.key("tool_calls")
			w.raw("[")
			n := 0
			for j := range m.parts {
				p := &m.parts[j]
				if p.kind != "tool_call" {
					continue
				}
				if n > 0 {
					w.raw(",")
				}
				n++
				w.raw("{")
				w.field(true, "id", p.id)
				w.field(false, "type", "function")
				w.key("function")
				w.raw("{")
				w.field(true, "name", p.name)
				args, _ := w.args(p)
				w.field(false, "arguments", args)
				w.raw("}}")
			}
			w.raw("]")
		}
		if reasoning > 0 {
			w.key("reasoning")
			var text []byte
			for _, p := range m.parts {
				if p.kind == "reasoning" {
					text = append(text, p.text...)
				}
			}
			w.str(string(text))
		}
		if m.finish != "" {
			w.field(false, "finish_reason", m.finish)
		}
		w.raw("}")
	}
	w.raw("]")
}

// chatRole maps the roles of the other providers to OpenAI's.
func chatRole(role string) string {
	if role == "model" {
		return "assistant"
	}
	return role
}

// chatContent writes a message's content in the chat shape, leaving out
// tool calls, tool results and reasoning: a string when it is all text, a
// list of parts when it has media, null when it has nothing.
func (w *writer) chatContent(parts []part) {
	var texts, others int
	for _, p := range parts {
		switch p.kind {
		case "text":
			texts++
		case "tool_call", "tool_call_response", "reasoning":
		default:
			others++
		}
	}
	switch {
	case texts == 0 && others == 0:
		w.raw("null")
		return
	case others == 0:
		w.str(textOf(parts))
		return
	}
	w.raw("[")
	n := 0
	for i := range parts {
		p := &parts[i]
		switch p.kind {
		case "tool_call", "tool_call_response", "reasoning":
			continue
		}
		if n > 0 {
			w.raw(",")
		}
		n++
		w.raw("{")
		switch p.kind {
		case "text":
			w.field(true, "type", "text")
			w.field(false, "text", p.text)
		case "blob":
			w.field(true, "type", partType(p))
			if p.mime != "" {
				w.field(false, "mime_type", p.mime)
			}
			w.key("data")
			w.value(p.data)
		case "uri":
			w.field(true, "type", partType(p))
			if p.mime != "" {
				w.field(false, "mime_type", p.mime)
			}
			w.field(false, "url", p.uri)
		case "file":
			w.field(true, "type", "file")
			w.field(false, "file_id", p.id)
		default:
			w.field(true, "type", p.kind)
			if p.text != "" {
				w.field(false, "text", p.text)
			}
		}
		w.raw("}")
	}
	w.raw("]")
}

// partType names a media part by its modality.
func partType(p *part) string {
	if p.modality != "" {
		return p.modality
	}
	return "file"
}

// appendString appends s as a JSON string, escaping as encoding/json does
// except for <, > and &, which stay as they are for the reader's sake.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = strconv.AppendInt(b, int64(r&0xF), 16)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
