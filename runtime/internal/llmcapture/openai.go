package llmcapture

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
)

// This file parses the OpenAI chat completions, responses and embeddings
// APIs, which Azure OpenAI and the OpenAI-compatible servers speak too.

// --- chat completions ---

type oaChatRequest struct {
	Model               string          `json:"model"`
	Messages            []oaMessage     `json:"messages"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	MaxTokens           *int64          `json:"max_tokens"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	N                   *int64          `json:"n"`
	Stop                json.RawMessage `json:"stop"`
	Seed                *int64          `json:"seed"`
	FrequencyPenalty    *float64        `json:"frequency_penalty"`
	PresencePenalty     *float64        `json:"presence_penalty"`
	Stream              bool            `json:"stream"`
	Tools               []oaTool        `json:"tools"`
	Functions           []oaFunctionDef `json:"functions"`
}

type oaMessage struct {
	Role             string          `json:"role"`
	Content          json.RawMessage `json:"content"`
	Name             string          `json:"name"`
	ToolCalls        []oaToolCall    `json:"tool_calls"`
	ToolCallID       string          `json:"tool_call_id"`
	FunctionCall     *oaFunction     `json:"function_call"`
	Refusal          string          `json:"refusal"`
	ReasoningContent string          `json:"reasoning_content"`
}

type oaToolCall struct {
	Index    int        `json:"index"`
	ID       string     `json:"id"`
	Type     string     `json:"type"`
	Function oaFunction `json:"function"`
}

type oaFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type oaTool struct {
	Type     string        `json:"type"`
	Function oaFunctionDef `json:"function"`
	// The responses API puts a function's fields on the tool itself.
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

type oaFunctionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

type oaContentPart struct {
	Type       string `json:"type"`
	Text       string `json:"text"`
	Refusal    string `json:"refusal"`
	ImageURL   any    `json:"image_url"` // {"url": ...} in chat, a string in responses
	InputAudio *struct {
		Data   string `json:"data"`
		Format string `json:"format"`
	} `json:"input_audio"`
	File *struct {
		FileData string `json:"file_data"`
		FileID   string `json:"file_id"`
	} `json:"file"`
	FileID   string `json:"file_id"`
	FileURL  string `json:"file_url"`
	FileData string `json:"file_data"`
}

type oaUsage struct {
	PromptTokens        *int64 `json:"prompt_tokens"`
	CompletionTokens    *int64 `json:"completion_tokens"`
	InputTokens         *int64 `json:"input_tokens"`
	OutputTokens        *int64 `json:"output_tokens"`
	TotalTokens         *int64 `json:"total_tokens"`
	PromptTokensDetails *struct {
		CachedTokens *int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	InputTokensDetails *struct {
		CachedTokens *int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens *int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
	OutputTokensDetails *struct {
		ReasoningTokens *int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

func (u *oaUsage) toUsage() usage {
	var out usage
	if u == nil {
		return out
	}
	out.input.set(u.PromptTokens)
	out.input.set(u.InputTokens)
	out.output.set(u.CompletionTokens)
	out.output.set(u.OutputTokens)
	out.total.set(u.TotalTokens)
	if d := u.PromptTokensDetails; d != nil {
		out.cacheRead.set(d.CachedTokens)
	}
	if d := u.InputTokensDetails; d != nil {
		out.cacheRead.set(d.CachedTokens)
	}
	if d := u.CompletionTokensDetails; d != nil {
		out.reasoning.set(d.ReasoningTokens)
	}
	if d := u.OutputTokensDetails; d != nil {
		out.reasoning.set(d.ReasoningTokens)
	}
	return out
}

func parseOpenAIChatRequest(body []byte, r *request) {
	var in oaChatRequest
	if json.Unmarshal(body, &in) != nil {
		return
	}
	r.model = in.Model
	r.stream = in.Stream
	r.temperature.set(in.Temperature)
	r.topP.set(in.TopP)
	r.maxTokens.set(in.MaxTokens)
	r.maxTokens.set(in.MaxCompletionTokens)
	r.choices.set(in.N)
	r.seed.set(in.Seed)
	r.frequencyPenalty.set(in.FrequencyPenalty)
	r.presPenalty.set(in.PresencePenalty)
	r.stop = stopSequences(in.Stop)
	for _, m := range in.Messages {
		r.messages = append(r.messages, oaChatMessage(m))
	}
	for _, t := range in.Tools {
		r.tools = append(r.tools, oaToolDef(t))
	}
	for _, f := range in.Functions {
		r.tools = append(r.tools, toolDef{kind: "function", name: f.Name, description: f.Description, params: decodeRaw(f.Parameters)})
	}
}

// stopSequences reads OpenAI's stop, a string or a list of strings.
func stopSequences(raw json.RawMessage) []string {
	if s, ok := rawString(raw); ok {
		return []string{s}
	}
	var list []string
	if len(raw) > 0 && raw[0] == '[' && json.Unmarshal(raw, &list) == nil {
		return list
	}
	return nil
}

func oaToolDef(t oaTool) toolDef {
	if t.Type == "function" && t.Function.Name != "" {
		return toolDef{kind: "function", name: t.Function.Name, description: t.Function.Description, params: decodeRaw(t.Function.Parameters)}
	}
	return toolDef{kind: t.Type, name: t.Name, description: t.Description, params: decodeRaw(t.Parameters)}
}

// oaChatMessage converts one chat message.
func oaChatMessage(m oaMessage) message {
	msg := message{role: m.Role}
	switch m.Role {
	case "tool":
		msg.parts = []part{{kind: "tool_call_response", id: m.ToolCallID, response: oaContentValue(m.Content)}}
		return msg
	case "function":
		msg.role = "tool"
		msg.parts = []part{{kind: "tool_call_response", name: m.Name, id: m.Name, response: oaContentValue(m.Content)}}
		return msg
	}
	if m.ReasoningContent != "" {
		msg.parts = append(msg.parts, part{kind: "reasoning", text: m.ReasoningContent})
	}
	msg.parts = append(msg.parts, oaContentParts(m.Content)...)
	if m.Refusal != "" {
		msg.parts = append(msg.parts, part{kind: "refusal", text: m.Refusal})
	}
	for _, tc := range m.ToolCalls {
		msg.parts = append(msg.parts, part{kind: "tool_call", id: tc.ID, name: tc.Function.Name, args: decodeArgs(tc.Function.Arguments)})
	}
	if fc := m.FunctionCall; fc != nil {
		msg.parts = append(msg.parts, part{kind: "tool_call", name: fc.Name, args: decodeArgs(fc.Arguments)})
	}
	return msg
}

// oaContentValue is a tool message's content: its text, or its parts'.
func oaContentValue(raw json.RawMessage) any {
	if s, ok := rawString(raw); ok {
		return s
	}
	return textOf(oaContentParts(raw))
}

// oaContentParts converts a content that is a string or a list of parts
// (chat completions and responses both).
func oaContentParts(raw json.RawMessage) []part {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if s, ok := rawString(raw); ok {
		return []part{{kind: "text", text: s}}
	}
	var list []oaContentPart
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	parts := make([]part, 0, len(list))
	for _, p := range list {
		switch p.Type {
		case "text", "input_text", "output_text":
			parts = append(parts, part{kind: "text", text: p.Text})
		case "refusal":
			parts = append(parts, part{kind: "refusal", text: p.Refusal})
		case "image_url", "input_image":
			var u string
			switch v := p.ImageURL.(type) {
			case string:
				u = v
			case map[string]any:
				u, _ = v["url"].(string)
			}
			if u == "" && p.FileID != "" {
				parts = append(parts, part{kind: "file", id: p.FileID, modality: "image"})
				continue
			}
			mp := mediaPart("", u)
			if mp.modality == "" {
				mp.modality = "image"
			}
			parts = append(parts, mp)
		case "input_audio":
			if a := p.InputAudio; a != nil {
				parts = append(parts, part{kind: "blob", modality: "audio", mime: "audio/" + a.Format, data: a.Data})
			}
		case "file", "input_file":
			switch {
			case p.File != nil && p.File.FileID != "":
				parts = append(parts, part{kind: "file", id: p.File.FileID})
			case p.File != nil:
				parts = append(parts, mediaPart("", p.File.FileData))
			case p.FileID != "":
				parts = append(parts, part{kind: "file", id: p.FileID})
			case p.FileURL != "":
				parts = append(parts, part{kind: "uri", uri: p.FileURL})
			default:
				parts = append(parts, mediaPart("", p.FileData))
			}
		default:
			parts = append(parts, part{kind: p.Type, text: p.Text})
		}
	}
	return parts
}

type oaChatResponse struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int       `json:"index"`
		Message      oaMessage `json:"message"`
		FinishReason string    `json:"finish_reason"`
	} `json:"choices"`
	Usage *oaUsage `json:"usage"`
}

func parseOpenAIChatResponse(body []byte) *response {
	var in oaChatResponse
	if json.Unmarshal(body, &in) != nil {
		return nil
	}
	r := &response{id: in.ID, model: in.Model, usage: in.Usage.toUsage()}
	for _, c := range in.Choices {
		msg := oaChatMessage(c.Message)
		if msg.role == "" {
			msg.role = "assistant"
		}
		msg.finish = c.FinishReason
		r.output = append(r.output, msg)
		r.finishReasons = append(r.finishReasons, c.FinishReason)
	}
	return r
}

// oaChatStream accumulates a chat completions stream.
type oaChatStream struct {
	r       response
	choices map[int]*oaChoiceAcc
}

type oaChoiceAcc struct {
	role      string
	text      strings.Builder
	refusal   strings.Builder
	reasoning strings.Builder
	calls     map[int]*oaCallAcc
	finish    string
}

type oaCallAcc struct {
	id, name string
	args     strings.Builder
}

type oaChatChunk struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int       `json:"index"`
		Delta        oaMessage `json:"delta"`
		FinishReason *string   `json:"finish_reason"`
	} `json:"choices"`
	Usage *oaUsage  `json:"usage"`
	Error *oaErrObj `json:"error"`
}

func (s *oaChatStream) event(_, data []byte) {
	if bytes.Equal(bytes.TrimSpace(data), []byte("[DONE]")) {
		s.r.complete = true
		return
	}
	var c oaChatChunk
	if json.Unmarshal(data, &c) != nil {
		return
	}
	if c.Error != nil {
		s.r.errType, s.r.errMessage = c.Error.kind(), c.Error.Message
	}
	if c.ID != "" {
		s.r.id = c.ID
	}
	if c.Model != "" {
		s.r.model = c.Model
	}
	if c.Usage != nil {
		s.r.usage = c.Usage.toUsage()
	}
	if s.choices == nil && len(c.Choices) > 0 {
		s.choices = make(map[int]*oaChoiceAcc, 1)
	}
	for _, ch := range c.Choices {
		acc := s.choices[ch.Index]
		if acc == nil {
			acc = &oaChoiceAcc{}
			s.choices[ch.Index] = acc
		}
		d := ch.Delta
		if d.Role != "" {
			acc.role = d.Role
		}
		if text, ok := rawString(d.Content); ok {
			acc.text.WriteString(text)
		}
		acc.refusal.WriteString(d.Refusal)
		acc.reasoning.WriteString(d.ReasoningContent)
		for _, tc := range d.ToolCalls {
			if acc.calls == nil {
				acc.calls = make(map[int]*oaCallAcc, 1)
			}
			call := acc.calls[tc.Index]
			if call == nil {
				call = &oaCallAcc{}
				acc.calls[tc.Index] = call
			}
			if tc.ID != "" {
				call.id = tc.ID
			}
			if tc.Function.Name != "" {
				call.name = tc.Function.Name
			}
			call.args.WriteString(tc.Function.Arguments)
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			acc.finish = *ch.FinishReason
		}
	}
}

func (s *oaChatStream) result() *response {
	r := s.r
	for _, i := range sortedKeys(s.choices) {
		acc := s.choices[i]
		msg := message{role: acc.role, finish: acc.finish}
		if msg.role == "" {
			msg.role = "assistant"
		}
		if acc.reasoning.Len() > 0 {
			msg.parts = append(msg.parts, part{kind: "reasoning", text: acc.reasoning.String()})
		}
		if acc.text.Len() > 0 {
			msg.parts = append(msg.parts, part{kind: "text", text: acc.text.String()})
		}
		if acc.refusal.Len() > 0 {
			msg.parts = append(msg.parts, part{kind: "refusal", text: acc.refusal.String()})
		}
		for _, j := range sortedKeys(acc.calls) {
			call := acc.calls[j]
			msg.parts = append(msg.parts, part{kind: "tool_call", id: call.id, name: call.name, args: decodeArgs(call.args.String())})
		}
		r.output = append(r.output, msg)
		r.finishReasons = append(r.finishReasons, acc.finish)
	}
	return &r
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}

// --- responses ---

type oaResponsesRequest struct {
	Model           string          `json:"model"`
	Input           json.RawMessage `json:"input"`
	Instructions    json.RawMessage `json:"instructions"`
	Temperature     *float64        `json:"temperature"`
	TopP            *float64        `json:"top_p"`
	MaxOutputTokens *int64          `json:"max_output_tokens"`
	Stream          bool            `json:"stream"`
	Tools           []oaTool        `json:"tools"`
}

type oaItem struct {
	Type      string          `json:"type"`
	ID        string          `json:"id"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments string          `json:"arguments"`
	Output    json.RawMessage `json:"output"`
	Summary   []struct {
		Text string `json:"text"`
	} `json:"summary"`
}

func parseOpenAIResponsesRequest(body []byte, r *request) {
	var in oaResponsesRequest
	if json.Unmarshal(body, &in) != nil {
		return
	}
	r.model = in.Model
	r.stream = in.Stream
	r.temperature.set(in.Temperature)
	r.topP.set(in.TopP)
	r.maxTokens.set(in.MaxOutputTokens)
	if s, ok := rawString(in.Instructions); ok && s != "" {
		r.system = []part{{kind: "text", text: s}}
	}
	if s, ok := rawString(in.Input); ok {
		r.messages = []message{{role: "user", parts: []part{{kind: "text", text: s}}}}
	} else {
		var items []oaItem
		if json.Unmarshal(in.Input, &items) == nil {
			for _, it := range items {
				if msg, ok := oaItemMessage(it); ok {
					r.messages = append(r.messages, msg)
				}
			}
		}
	}
	for _, t := range in.Tools {
		r.tools = append(r.tools, oaToolDef(t))
	}
}

// oaItemMessage converts an input item of the responses API.
func oaItemMessage(it oaItem) (message, bool) {
	switch it.Type {
	case "", "message":
		return message{role: it.Role, parts: oaContentParts(it.Content)}, true
	case "function_call", "custom_tool_call":
		return message{role: "assistant", parts: []part{{kind: "tool_call", id: it.CallID, name: it.Name, args: decodeArgs(it.Arguments)}}}, true
	case "function_call_output", "custom_tool_call_output":
		return message{role: "tool", parts: []part{{kind: "tool_call_response", id: it.CallID, response: oaContentValue(it.Output)}}}, true
	case "reasoning":
		return message{role: "assistant", parts: []part{{kind: "reasoning", text: summaryText(it)}}}, true
	}
	return message{}, false
}

func summaryText(it oaItem) string {
	var b strings.Builder
	for _, s := range it.Summary {
		b.WriteString(s.Text)
	}
	return b.String()
}

type oaResponseObject struct {
	ID                string    `json:"id"`
	Model             string    `json:"model"`
	Status            string    `json:"status"`
	Output            []oaItem  `json:"output"`
	Usage             *oaUsage  `json:"usage"`
	Error             *oaErrObj `json:"error"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
}

func parseOpenAIResponsesResponse(body []byte) *response {
	var in oaResponseObject
	if json.Unmarshal(body, &in) != nil {
		return nil
	}
	return in.toResponse()
}

func (in *oaResponseObject) toResponse() *response {
	r := &response{id: in.ID, model: in.Model, usage: in.Usage.toUsage()}
	msg := message{role: "assistant"}
	calls := false
	for _, it := range in.Output {
		switch it.Type {
		case "message":
			msg.parts = append(msg.parts, oaContentParts(it.Content)...)
		case "function_call", "custom_tool_call":
			calls = true
			msg.parts = append(msg.parts, part{kind: "tool_call", id: it.CallID, name: it.Name, args: decodeArgs(it.Arguments)})
		case "reasoning":
			if text := summaryText(it); text != "" {
				msg.parts = append(msg.parts, part{kind: "reasoning", text: text})
			}
		default:
			msg.parts = append(msg.parts, part{kind: it.Type})
		}
	}
	switch in.Status {
	case "completed":
		msg.finish = "stop"
		if calls {
			msg.finish = "tool_call"
		}
	case "incomplete":
		msg.finish = "length"
		if d := in.IncompleteDetails; d != nil && d.Reason == "content_filter" {
			msg.finish = "content_filter"
		}
	case "failed":
		msg.finish = "error"
	}
	if in.Error != nil {
		r.errType, r.errMessage = in.Error.kind(), in.Error.Message
	}
	if msg.finish != "" {
		r.finishReasons = []string{msg.finish}
	}
	if len(msg.parts) > 0 || msg.finish != "" {
		r.output = []message{msg}
	}
	return r
}

// oaResponsesStream accumulates a responses stream: the final event
// carries the whole response; the items that are done stand in for it if
// the stream is cut short.
type oaResponsesStream struct {
	id, model string
	items     []oaItem
	final     *response
	errType   string
	errMsg    string
}

type oaResponsesEvent struct {
	Type     string            `json:"type"`
	Response *oaResponseObject `json:"response"`
	Item     *oaItem           `json:"item"`
	Code     string            `json:"code"`
	Message  string            `json:"message"`
}

func (s *oaResponsesStream) event(_, data []byte) {
	var ev oaResponsesEvent
	if json.Unmarshal(data, &ev) != nil {
		return
	}
	switch ev.Type {
	case "response.created", "response.in_progress":
		if ev.Response != nil {
			s.id, s.model = ev.Response.ID, ev.Response.Model
		}
	case "response.output_item.done":
		if ev.Item != nil {
			s.items = append(s.items, *ev.Item)
		}
	case "response.completed", "response.incomplete", "response.failed":
		if ev.Response != nil {
			s.final = ev.Response.toResponse()
			s.final.complete = true
		}
	case "error":
		s.errType, s.errMsg = ev.Code, ev.Message
		if s.errType == "" {
			s.errType = "error"
		}
	}
}

func (s *oaResponsesStream) result() *response {
	r := s.final
	if r == nil {
		partial := oaResponseObject{ID: s.id, Model: s.model, Output: s.items}
		r = partial.toResponse()
	}
	if s.errType != "" {
		r.errType, r.errMessage = s.errType, s.errMsg
	}
	return r
}

// --- embeddings ---

type oaEmbeddingsRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int64          `json:"dimensions"`
}

func parseOpenAIEmbeddingsRequest(body []byte, r *request) {
	var in oaEmbeddingsRequest
	if json.Unmarshal(body, &in) != nil {
		return
	}
	r.model = in.Model
	r.dimensions.set(in.Dimensions)
	if in.EncodingFormat != "" {
		r.encodingFormats = []string{in.EncodingFormat}
	}
	r.embedInput = decodeRaw(in.Input)
}

type oaEmbeddingsResponse struct {
	Model string `json:"model"`
	Data  []struct {
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Usage *oaUsage `json:"usage"`
}

func parseOpenAIEmbeddingsResponse(body []byte) *response {
	var in oaEmbeddingsResponse
	if json.Unmarshal(body, &in) != nil {
		return nil
	}
	r := &response{model: in.Model, usage: in.Usage.toUsage(), embeddings: len(in.Data)}
	if len(in.Data) > 0 {
		r.dimensions = embeddingDimensions(in.Data[0].Embedding)
	}
	return r
}

// embeddingDimensions counts the numbers of an embedding: a JSON array of
// floats, or base64 of little-endian float32s.
func embeddingDimensions(raw json.RawMessage) int {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 {
		return 0
	}
	switch raw[0] {
	case '[':
		if len(bytes.TrimSpace(raw[1:len(raw)-1])) == 0 {
			return 0
		}
		return bytes.Count(raw, []byte{','}) + 1
	case '"':
		b64 := bytes.TrimRight(raw[1:len(raw)-1], "=")
		return len(b64) * 6 / 8 / 4
	}
	return 0
}

// --- errors ---

type oaErrObj struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
}

// kind is the error's type, else its code.
func (e *oaErrObj) kind() string {
	if e.Type != "" {
		return e.Type
	}
	if s, ok := rawString(e.Code); ok {
		return s
	}
	if len(e.Code) > 0 && !bytes.Equal(e.Code, []byte("null")) {
		return string(e.Code)
	}
	return ""
}
