package llmcapture

import (
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/jsonstr"
	"github.com/overmind-core/overmind-go/runtime/internal/llmcapture/jsonscan"
	"github.com/overmind-core/overmind-go/runtime/internal/pricing"
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
func spanName(op *operation, model string) string {
	if model == "" {
		return op.name
	}
	return op.name + " " + model
}

// requestAttrs appends the attributes of a parsed request but its model
// (which the span starts with) to attrs, and writes its content attributes
// with w.
func (e *Engine) requestAttrs(attrs []attribute.KeyValue, w *writer, ep endpoint, r *request, cfg *config) []attribute.KeyValue {
	attrs = requestOptionAttrs(attrs, r)
	attrs = e.promptAttrs(attrs, r, cfg.content)
	if cfg.content {
		e.requestContent(w, ep, r)
	}
	return attrs
}

// requestOptionAttrs appends the attributes of the options a request
// sets (streaming, sampling, limits, output format) to attrs.
func requestOptionAttrs(attrs []attribute.KeyValue, r *request) []attribute.KeyValue {
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
		attrs = append(attrs, keyStopSequences.StringSlice(cloneStrings(r.stop)))
	}
	if len(r.encodingFormats) > 0 {
		attrs = append(attrs, keyEncodingFormats.StringSlice(cloneStrings(r.encodingFormats)))
	}
	if r.dimensions.ok {
		attrs = append(attrs, keyDimensions.Int64(r.dimensions.v))
	}
	return attrs
}

// promptAttrs appends the attributes of the registered prompt the request
// uses, if any, to attrs; its arguments and template only with content.
func (e *Engine) promptAttrs(attrs []attribute.KeyValue, r *request, content bool) []attribute.KeyValue {
	p, ok := e.findPrompt(r)
	if !ok {
		return attrs
	}
	attrs = append(attrs, keyPromptID.String(p.ID), keyPromptHash.String(p.Hash))
	if content && p.Kwargs != "" {
		attrs = append(attrs, keyPromptKwargs.String(p.Kwargs))
	}
	if content && p.Template != "" {
		attrs = append(attrs, keyPromptTemplate.String(p.Template))
	}
	return attrs
}

// requestContent writes the content attributes of a request with w: an
// embeddings request's input, or a chat's system instructions, messages
// and tool definitions.
func (e *Engine) requestContent(w *writer, ep endpoint, r *request) {
	if ep.op.embeddings {
		if r.embedInput != nil {
			w.raw(e.deps.Encode(r.embedInput))
			w.mark(keyInputs)
		}
		return
	}
	if len(r.system) > 0 {
		w.semconvParts(r.system)
		w.mark(keySystem)
	}
	if len(r.messages) > 0 {
		w.semconvMessages(r.messages, false)
		w.mark(keyInputMessages)
	}
	if len(r.tools) > 0 {
		w.semconvTools(r.tools)
		w.mark(keyToolDefinitions)
	}
	if len(r.system) > 0 || len(r.messages) > 0 {
		w.chatMessages(r.system, r.messages)
		w.mark(keyInputs)
	}
}

// cloneStrings copies strings that are parts of a body, so that an
// attribute does not keep the whole body alive.
func cloneStrings(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.Clone(s)
	}
	return out
}

// findPrompt returns the first PromptString whose text is a text part of
// r's system instructions or messages.
func (e *Engine) findPrompt(r *request) (Prompt, bool) {
	if e.deps.Prompt == nil {
		return Prompt{}, false
	}
	for i := range r.system {
		if p := &r.system[i]; p.kind == "text" {
			if found, ok := e.deps.Prompt(p.content()); ok {
				return found, true
			}
		}
	}
	for _, m := range r.messages {
		for i := range m.parts {
			if p := &m.parts[i]; p.kind == "text" {
				if found, ok := e.deps.Prompt(p.content()); ok {
					return found, true
				}
			}
		}
	}
	return Prompt{}, false
}

// responseAttrs appends the attributes of a parsed response to attrs, and
// writes its content attributes with w.
func (e *Engine) responseAttrs(attrs []attribute.KeyValue, w *writer, r *response, content bool) []attribute.KeyValue {
	if r.id != "" {
		attrs = append(attrs, keyResponseID.String(strings.Clone(r.id)))
	}
	if r.model != "" {
		attrs = append(attrs, keyResponseModel.String(strings.Clone(r.model)))
	}
	if reasons := finishReasons(r.finishReasons); len(reasons) > 0 {
		attrs = append(attrs, keyFinishReasons.StringSlice(reasons))
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
	if usd, ok := e.cost(r.model, u); ok {
		attrs = append(attrs, keyCost.Float64(usd))
	}
	if r.dimensions > 0 {
		attrs = append(attrs, keyDimensions.Int(r.dimensions))
	}
	if content && len(r.output) > 0 {
		w.semconvMessages(r.output, true)
		w.mark(keyOutputMessages)
		w.chatMessages(nil, r.output)
		w.mark(keyOutputs)
	}
	return attrs
}

// cost is the cost of a call to model with usage u, when Deps.Cost knows
// it.
func (e *Engine) cost(model string, u usage) (float64, bool) {
	if e.deps.Cost == nil || (!u.input.ok && !u.output.ok) {
		return 0, false
	}
	return e.deps.Cost(model, pricing.Tokens{Input: u.input.v, Output: u.output.v, CacheRead: u.cacheRead.v, CacheCreation: u.cacheCreation.v})
}

// finishReasons copies the finish reasons a response gives, leaving out
// the empty ones of the choices a stream closed early left unfinished.
func finishReasons(list []string) []string {
	var out []string
	for _, r := range list {
		if r != "" {
			out = append(out, strings.Clone(r))
		}
	}
	return out
}

// writer writes the content attributes of a span as JSON, one after the
// other into one buffer; attrs then makes them attributes.
//
// A writer is a value on its user's stack, so that writing into it costs
// no write barriers while the garbage collector marks; only its buffers
// are on the heap, borrowed from a pool.
type writer struct {
	e    *Engine
	bufs *writerBuffers
	b    []byte
	// The attributes written so far: keys[i] ends at ends[i] in b.
	keys [maxContentAttrs]attribute.Key
	ends [maxContentAttrs]int
	n    int
}

// maxContentAttrs is the most content attributes a span has: system
// instructions, input messages, tool definitions, inputs, output messages
// and outputs.
const maxContentAttrs = 8

// maxSharedContent is the most bytes of content attributes that share one
// string: past it each has its own, so that cutting one to the attribute
// size limit frees the rest of it.
const maxSharedContent = 16 << 10

// writerBuffers are the buffers a writer borrows.
type writerBuffers struct {
	b []byte
	// kv is a buffer for a span's attributes, kept for spans that copy the
	// attributes they are given.
	kv []attribute.KeyValue
}

var writerPool = sync.Pool{New: func() any { return new(writerBuffers) }}

// writer returns a writer; release it when done.
func (e *Engine) writer() writer {
	bufs := writerPool.Get().(*writerBuffers)
	return writer{e: e, bufs: bufs, b: bufs.b[:0]}
}

// kvBuffer returns an empty slice with room for a span's attributes.
func (w *writer) kvBuffer() []attribute.KeyValue {
	kv := w.bufs.kv
	if kv == nil {
		return make([]attribute.KeyValue, 0, 32)
	}
	w.bufs.kv = nil
	return kv
}

// keepKV keeps kv, whose attributes have been set on span, for the next
// span, if span is one of the OpenTelemetry SDK's: those copy the
// attributes they are given.
func (w *writer) keepKV(kv []attribute.KeyValue, span trace.Span) {
	if _, ok := span.(sdktrace.ReadWriteSpan); ok && cap(kv) <= 64 {
		clear(kv)
		w.bufs.kv = kv[:0]
	}
}

// release gives the writer's buffers back, unless they grew large.
func (w *writer) release() {
	if w.bufs == nil {
		return
	}
	if cap(w.b) <= 64<<10 {
		w.bufs.b = w.b[:0]
	} else {
		w.bufs.b = nil
	}
	writerPool.Put(w.bufs)
	w.bufs, w.b = nil, nil
}

// mark ends the attribute key, whose value is what was written since the
// last mark.
func (w *writer) mark(key attribute.Key) {
	w.keys[w.n] = key
	w.ends[w.n] = len(w.b)
	w.n++
}

// attrs appends the attributes written, each capped by Deps.Truncate, to
// attrs.
func (w *writer) attrs(attrs []attribute.KeyValue) []attribute.KeyValue {
	var all string
	if len(w.b) <= maxSharedContent {
		all = string(w.b)
	}
	start := 0
	for i := range w.n {
		end := w.ends[i]
		var v string
		if len(w.b) <= maxSharedContent {
			v = all[start:end]
		} else {
			v = string(w.b[start:end])
		}
		attrs = append(attrs, w.keys[i].String(w.e.deps.Truncate(v)))
		start = end
	}
	return attrs
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

// optionalField writes ,"key":"value" unless value is empty, as the
// conventions leave out what a provider does not send (Gemini's function
// calls have no id).
func (w *writer) optionalField(key, value string) {
	if value != "" {
		w.field(false, key, value)
	}
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
		if output && m.finish != "" {
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
			w.key("content")
			w.text(p)
		case "tool_call":
			w.optionalField("id", p.id)
			w.field(false, "name", p.name)
			w.key("arguments")
			if args, isJSON := w.args(p); isJSON {
				w.raw(args)
			} else {
				w.str(args)
			}
		case "tool_call_response":
			w.optionalField("id", p.id)
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
			if p.content() != "" {
				w.key("content")
				w.text(p)
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
	if len(system) > 0 {
		w.separate(&first)
		w.raw("{")
		w.field(true, "role", "system")
		w.key("content")
		w.chatContent(system)
		w.raw("}")
	}
	for i := range msgs {
		w.chatMessage(&msgs[i], &first)
	}
	w.raw("]")
}

// separate writes the comma between two items of a list, unless the one
// that follows is the first; it is not after.
func (w *writer) separate(first *bool) {
	if !*first {
		w.raw(",")
	}
	*first = false
}

// chatMessage writes m as items of a list of chat messages: one message of
// role "tool" for each of its tool results, then one with the rest of it,
// if it has anything else. first is as for separate.
func (w *writer) chatMessage(m *message, first *bool) {
	var calls, rest, reasoning int
	for j := range m.parts {
		p := &m.parts[j]
		switch p.kind {
		case "tool_call_response":
			w.separate(first)
			w.chatToolResult(p)
		case "tool_call":
			calls++
		case "reasoning":
			reasoning++
		default:
			rest++
		}
	}
	if rest == 0 && calls == 0 && reasoning == 0 {
		return
	}
	w.separate(first)
	w.raw("{")
	w.field(true, "role", chatRole(m.role))
	w.key("content")
	w.chatContent(m.parts)
	if calls > 0 {
		w.chatToolCalls(m.parts)
	}
	if reasoning > 0 {
		w.chatReasoning(m.parts)
	}
	if m.finish != "" {
		w.field(false, "finish_reason", m.finish)
	}
	w.raw("}")
}

// chatToolResult writes tool result p as a chat message of role "tool",
// the result a string as OpenAI sends it.
func (w *writer) chatToolResult(p *part) {
	w.raw("{")
	w.field(true, "role", "tool")
	w.field(false, "tool_call_id", chatToolCallID(p))
	w.key("content")
	if s, ok := p.response.(string); ok {
		w.textString(s)
	} else {
		w.str(w.e.deps.Encode(p.response))
	}
	w.raw("}")
}

// chatToolCallID is the id of a tool call or result in the chat shape,
// which requires one: the provider's, else the tool's name, as Gemini
// pairs calls and results by name.
func chatToolCallID(p *part) string {
	if p.id == "" {
		return p.name
	}
	return p.id
}

// chatToolCalls writes the tool calls among parts as the tool_calls field
// of a chat message.
func (w *writer) chatToolCalls(parts []part) {
	w.key("tool_calls")
	w.raw("[")
	n := 0
	for j := range parts {
		p := &parts[j]
		if p.kind != "tool_call" {
			continue
		}
		if n > 0 {
			w.raw(",")
		}
		n++
		w.raw("{")
		w.field(true, "id", chatToolCallID(p))
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

// chatReasoning writes the reasoning parts among parts, joined, as the
// reasoning field of a chat message.
func (w *writer) chatReasoning(parts []part) {
	w.key("reasoning")
	var text []byte
	for j := range parts {
		if p := &parts[j]; p.kind == "reasoning" {
			text = append(text, p.content()...)
		}
	}
	w.textString(string(text))
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
	for i := range parts {
		if kind := parts[i].kind; kind == "text" {
			texts++
		} else if isChatContent(kind) {
			others++
		}
	}
	switch {
	case texts == 0 && others == 0:
		w.raw("null")
	case others == 0:
		w.joinedText(parts)
	default:
		w.chatContentList(parts)
	}
}

// isChatContent reports whether a part of the kind is in the content of a
// chat message, which tool calls, tool results and reasoning are not.
func isChatContent(kind string) bool {
	switch kind {
	case "tool_call", "tool_call_response", "reasoning":
		return false
	}
	return true
}

// chatContentList writes the content parts among parts as a list of
// chat content parts.
func (w *writer) chatContentList(parts []part) {
	w.raw("[")
	n := 0
	for i := range parts {
		p := &parts[i]
		if !isChatContent(p.kind) {
			continue
		}
		if n > 0 {
			w.raw(",")
		}
		n++
		w.chatContentPart(p)
	}
	w.raw("]")
}

// chatContentPart writes content part p in the chat shape.
func (w *writer) chatContentPart(p *part) {
	w.raw("{")
	switch p.kind {
	case "text":
		w.field(true, "type", "text")
		w.key("text")
		w.text(p)
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
		if p.content() != "" {
			w.key("text")
			w.text(p)
		}
	}
	w.raw("}")
}

// text writes the text of a part as a JSON string: as the body had it
// when it can, else escaped, and encoded binary data as Deps.Encode writes
// it (the runtime's serializer replaces it by a placeholder).
func (w *writer) text(p *part) {
	switch {
	case p.maybeBlob():
		w.b = append(w.b, '"')
		w.blobInner(p.content())
		w.b = append(w.b, '"')
	case p.lit != "":
		w.raw(p.lit)
	default:
		w.str(p.text)
	}
}

// textString writes a text, as text does.
func (w *writer) textString(s string) {
	w.text(&part{text: s})
}

// joinedText writes the text parts of parts joined by newlines as one
// JSON string, as textOf joins them.
func (w *writer) joinedText(parts []part) {
	w.b = append(w.b, '"')
	first := true
	for i := range parts {
		p := &parts[i]
		if p.kind != "text" {
			continue
		}
		if !first {
			w.b = append(w.b, '\\', 'n')
		}
		first = false
		switch {
		case p.maybeBlob():
			w.blobInner(p.content())
		case p.lit != "":
			w.raw(p.lit[1 : len(p.lit)-1])
		default:
			w.b = appendStringContent(w.b, p.text)
		}
	}
	w.b = append(w.b, '"')
}

// blobInner writes the inside of the JSON string Deps.Encode makes of s,
// or of s itself if that is not a JSON string (as when it is cut).
func (w *writer) blobInner(s string) {
	if enc := w.e.deps.Encode(s); len(enc) >= 2 && enc[0] == '"' {
		if _, ok := jsonscan.Unquote(enc); ok {
			w.raw(enc[1 : len(enc)-1])
			return
		}
	}
	w.b = appendStringContent(w.b, s)
}

// maybeBlob reports whether the part's text may be encoded binary data,
// without decoding it when the beginning of its JSON text tells.
func (p *part) maybeBlob() bool {
	if p.text != "" || len(p.lit) <= 2 {
		return maybeBlob(p.text)
	}
	inner := p.lit[1 : len(p.lit)-1]
	if head := inner[:min(len(inner), minBlob)]; strings.IndexByte(head, '\\') < 0 {
		// Without escapes the beginning is the text's, and a text of
		// minBlob characters or more has one of minBlob bytes or more.
		return maybeBlob(inner)
	}
	return maybeBlob(p.content())
}

// minBlob is the length under which no string is taken for binary data.
const minBlob = 64

// maybeBlob reports whether s may be encoded binary data by the
// serializer's rule (a base64 data URL, or a long string of base64
// characters only): a quick test that almost all text fails at once, so
// that only the rest goes through Deps.Encode.
func maybeBlob(s string) bool {
	if len(s) < minBlob {
		return false
	}
	if strings.HasPrefix(s, "data:") {
		return true
	}
	for i := range minBlob {
		if !isBase64Char(s[i]) {
			return false
		}
	}
	return true
}

// isBase64Char reports whether c is in the standard or URL base64 alphabet.
func isBase64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '+' || c == '/' || c == '-' || c == '_' || c == '=' || c == '\n' || c == '\r'
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
func appendString(b []byte, s string) []byte { return jsonstr.Append(b, s, false) }

// appendStringContent appends s escaped as appendString does, without
// the quotes.
func appendStringContent(b []byte, s string) []byte { return jsonstr.AppendContent(b, s, false) }
