package llmcapture

import (
	"strings"

	"go.opentelemetry.io/otel/attribute"
)

// This file renders a request and a response as span attributes. Content
// attributes come in two shapes: the GenAI conventions' structured messages
// (gen_ai.input.messages, gen_ai.output.messages, gen_ai.system_instructions,
// gen_ai.tool.definitions), and the inputs/outputs pair the Overmind
// dashboard reads on every span, where an LLM call's messages take the
// OpenAI chat shape ({"role", "content", "tool_calls", "tool_call_id"}) for
// all providers.

// spanName is "{operation} {model}", or the operation alone.
func spanName(op operation, model string) string {
	if model == "" {
		return op.name()
	}
	return op.name() + " " + model
}

// requestAttrs returns the attributes a span starts with.
func (e *Engine) requestAttrs(ep endpoint, r *request, cfg *config, host string, port int) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 24)
	attrs = append(attrs,
		keySpanType.String(spanTypeLLM),
		keyOperation.String(ep.op.name()),
		keyProvider.String(ep.provider),
	)
	if r.model != "" {
		attrs = append(attrs, keyRequestModel.String(r.model))
	}
	if host != "" {
		attrs = append(attrs, keyServerAddress.String(host))
		if port > 0 {
			attrs = append(attrs, keyServerPort.Int(port))
		}
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
	}
	if !cfg.content {
		return attrs
	}
	if ep.op == opOpenAIEmbeddings {
		if r.embedInput != nil {
			attrs = append(attrs, keyInputs.String(e.deps.Encode(r.embedInput)))
		}
		return attrs
	}
	if len(r.system) > 0 {
		attrs = append(attrs, keySystem.String(e.deps.Encode(semconvParts(r.system))))
	}
	if len(r.messages) > 0 {
		attrs = append(attrs, keyInputMessages.String(e.deps.Encode(semconvMessages(r.messages, false))))
	}
	if len(r.tools) > 0 {
		attrs = append(attrs, keyToolDefinitions.String(e.deps.Encode(semconvTools(r.tools))))
	}
	if len(r.system) > 0 || len(r.messages) > 0 {
		attrs = append(attrs, keyInputs.String(e.deps.Encode(e.chatMessages(r.system, r.messages))))
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
	for _, c := range []struct {
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
		attrs = append(attrs,
			keyOutputMessages.String(e.deps.Encode(semconvMessages(r.output, true))),
			keyOutputs.String(e.deps.Encode(e.chatMessages(nil, r.output))),
		)
	}
	return attrs
}

// semconvMessages renders messages in the conventions' structured form.
func semconvMessages(msgs []message, output bool) []any {
	out := make([]any, 0, len(msgs))
	for _, m := range msgs {
		v := map[string]any{"role": m.role, "parts": semconvParts(m.parts)}
		if output {
			v["finish_reason"] = m.finish
		}
		out = append(out, v)
	}
	return out
}

// semconvParts renders message parts in the conventions' form.
func semconvParts(parts []part) []any {
	out := make([]any, 0, len(parts))
	for _, p := range parts {
		v := map[string]any{"type": p.kind}
		switch p.kind {
		case "text", "reasoning":
			v["content"] = p.text
		case "tool_call":
			v["id"] = p.id
			v["name"] = p.name
			v["arguments"] = p.args
		case "tool_call_response":
			v["id"] = p.id
			v["response"] = p.response
		case "blob":
			setNonEmpty(v, "modality", p.modality)
			setNonEmpty(v, "mime_type", p.mime)
			v["content"] = p.data
		case "uri":
			setNonEmpty(v, "modality", p.modality)
			setNonEmpty(v, "mime_type", p.mime)
			v["uri"] = p.uri
		case "file":
			setNonEmpty(v, "modality", p.modality)
			setNonEmpty(v, "mime_type", p.mime)
			v["file_id"] = p.id
		default:
			setNonEmpty(v, "content", p.text)
		}
		out = append(out, v)
	}
	return out
}

func setNonEmpty(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// semconvTools renders tool definitions as the conventions' list.
func semconvTools(tools []toolDef) []any {
	out := make([]any, 0, len(tools))
	for _, t := range tools {
		v := map[string]any{"type": t.kind, "name": t.name}
		setNonEmpty(v, "description", t.description)
		if t.params != nil {
			v["parameters"] = t.params
		}
		out = append(out, v)
	}
	return out
}

// chatMessages renders system instructions and messages in the OpenAI chat
// shape of the inputs and outputs attributes. Tool results become messages
// of role "tool"; a tool call's arguments become the JSON string OpenAI
// sends, encoded with Encode so that the redaction rules apply inside it.
func (e *Engine) chatMessages(system []part, msgs []message) []any {
	out := make([]any, 0, len(msgs)+1)
	if len(system) > 0 {
		out = append(out, map[string]any{"role": "system", "content": chatContent(system)})
	}
	for _, m := range msgs {
		var calls []any
		var rest []part
		var reasoning strings.Builder
		for _, p := range m.parts {
			switch p.kind {
			case "tool_call_response":
				id := p.id
				if id == "" {
					id = p.name
				}
				out = append(out, map[string]any{"role": "tool", "tool_call_id": id, "content": e.resultText(p.response)})
			case "tool_call":
				args, ok := p.args.(string)
				if !ok {
					args = e.deps.Encode(p.args)
				}
				calls = append(calls, map[string]any{
					"id":       p.id,
					"type":     "function",
					"function": map[string]any{"name": p.name, "arguments": args},
				})
			case "reasoning":
				reasoning.WriteString(p.text)
			default:
				rest = append(rest, p)
			}
		}
		if len(rest) == 0 && len(calls) == 0 && reasoning.Len() == 0 {
			continue
		}
		v := map[string]any{"role": chatRole(m.role), "content": chatContent(rest)}
		if len(calls) > 0 {
			v["tool_calls"] = calls
		}
		if reasoning.Len() > 0 {
			v["reasoning"] = reasoning.String()
		}
		if m.finish != "" {
			v["finish_reason"] = m.finish
		}
		out = append(out, v)
	}
	return out
}

// chatRole maps the roles of the other providers to OpenAI's.
func chatRole(role string) string {
	if role == "model" {
		return "assistant"
	}
	return role
}

// chatContent is a message's content in the chat shape: a string when it is
// all text, a list of parts when it has media, null when it has nothing.
func chatContent(parts []part) any {
	if len(parts) == 0 {
		return nil
	}
	allText := true
	for _, p := range parts {
		if p.kind != "text" {
			allText = false
			break
		}
	}
	if allText {
		return textOf(parts)
	}
	out := make([]any, 0, len(parts))
	for _, p := range parts {
		switch p.kind {
		case "text":
			out = append(out, map[string]any{"type": "text", "text": p.text})
		case "blob":
			v := map[string]any{"type": partType(p), "data": p.data}
			setNonEmpty(v, "mime_type", p.mime)
			out = append(out, v)
		case "uri":
			v := map[string]any{"type": partType(p), "url": p.uri}
			setNonEmpty(v, "mime_type", p.mime)
			out = append(out, v)
		case "file":
			out = append(out, map[string]any{"type": "file", "file_id": p.id})
		default:
			out = append(out, map[string]any{"type": p.kind})
		}
	}
	return out
}

// partType names a media part by its modality.
func partType(p part) string {
	if p.modality != "" {
		return p.modality
	}
	return "file"
}

// resultText is a tool result as the content string of a tool message.
func (e *Engine) resultText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return e.deps.Encode(v)
}
