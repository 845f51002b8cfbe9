package llmcapture

import (
	"sort"
	"strings"

	"github.com/overmind-core/overmind-go/runtime/internal/llmcapture/jsonscan"
)

// This file is the Anthropic messages API.

// anthropicAPI is the Anthropic messages API. anthropic-sdk-go starts a
// span of its own for each messages call, which the engine's replaces.
var anthropicAPI = &api{name: "anthropic", provider: "anthropic", match: matchAnthropic,
	operations: []*operation{opAnthropicMessages},
	sdkSpans:   []sdkSpan{{scope: "com.anthropic.sdk.go", name: "anthropic.messages.create"}}}

// opAnthropicMessages is the messages endpoint.
var opAnthropicMessages = &operation{name: "chat", request: parseAnthropicRequest,
	response: parseAnthropicResponse, stream: func() stream { return &anStream{} }}

// matchAnthropic recognises the messages endpoint, and nothing under it
// (count_tokens, batches).
func matchAnthropic(path string) (endpoint, bool) {
	path = strings.TrimSuffix(path, "/")
	if !strings.HasSuffix(path, "/messages") {
		return endpoint{}, false
	}
	return endpoint{op: opAnthropicMessages}, true
}

type anRequest struct {
	Model         string
	MaxTokens     count
	Messages      []anMessage
	System        string // JSON text: a string or a list of blocks
	Temperature   number
	TopP          number
	TopK          count
	StopSequences []string
	Stream        bool
	Tools         []anTool
}

func (in *anRequest) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "model":
			in.Model = d.Str()
		case "max_tokens":
			in.MaxTokens = readCount(d)
		case "messages":
			in.Messages = decodeList(d, (*anMessage).decode)
		case "system":
			in.System = d.Raw()
		case "temperature":
			in.Temperature = readNumber(d)
		case "top_p":
			in.TopP = readNumber(d)
		case "top_k":
			in.TopK = readCount(d)
		case "stop_sequences":
			in.StopSequences = decodeStrings(d)
		case "stream":
			in.Stream = d.Bool()
		case "tools":
			in.Tools = decodeList(d, (*anTool).decode)
		default:
			d.Skip()
		}
	}
}

type anTool struct {
	Type        string
	Name        string
	Description string
	InputSchema string // JSON text
}

func (t *anTool) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "type":
			t.Type = d.Str()
		case "name":
			t.Name = d.Str()
		case "description":
			t.Description = d.Str()
		case "input_schema":
			t.InputSchema = d.Raw()
		default:
			d.Skip()
		}
	}
}

type anMessage struct {
	Role    string
	Content string // JSON text: a string or a list of blocks
}

func (m *anMessage) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "role":
			m.Role = d.Str()
		case "content":
			m.Content = d.Raw()
		default:
			d.Skip()
		}
	}
}

type anBlock struct {
	Type string
	// The text of a text block: as the body writes it (TextJSON), or as a
	// stream built it (Text).
	Text      string
	TextJSON  jsonscan.Literal
	Thinking  string
	ID        string
	Name      string
	Input     string // JSON text
	ToolUseID string
	Content   string // JSON text
	Source    *anSource
}

type anSource struct {
	Type      string
	MediaType string
	Data      string
	URL       string
	FileID    string
}

func (b *anBlock) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "type":
			b.Type = d.Str()
		case "text":
			b.TextJSON, _ = d.StrLiteral()
		case "thinking":
			b.Thinking = d.Str()
		case "id":
			b.ID = d.Str()
		case "name":
			b.Name = d.Str()
		case "input":
			b.Input = d.Raw()
		case "tool_use_id":
			b.ToolUseID = d.Str()
		case "content":
			b.Content = d.Raw()
		case "source":
			b.Source = decodeOptional(d, (*anSource).decode)
		default:
			d.Skip()
		}
	}
}

func (s *anSource) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "type":
			s.Type = d.Str()
		case "media_type":
			s.MediaType = d.Str()
		case "data":
			s.Data = d.Str()
		case "url":
			s.URL = d.Str()
		case "file_id":
			s.FileID = d.Str()
		default:
			d.Skip()
		}
	}
}

type anUsage struct {
	InputTokens              count
	OutputTokens             count
	CacheCreationInputTokens count
	CacheReadInputTokens     count
}

func (u *anUsage) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "input_tokens":
			u.InputTokens = readCount(d)
		case "output_tokens":
			u.OutputTokens = readCount(d)
		case "cache_creation_input_tokens":
			u.CacheCreationInputTokens = readCount(d)
		case "cache_read_input_tokens":
			u.CacheReadInputTokens = readCount(d)
		default:
			d.Skip()
		}
	}
}

func parseAnthropicRequest(body string, r *request) {
	var in anRequest
	if !decodeBody(body, in.decode) {
		return
	}
	r.model = in.Model
	r.stream = in.Stream
	r.maxTokens.set(in.MaxTokens)
	r.temperature.set(in.Temperature)
	r.topP.set(in.TopP)
	r.topK.set(in.TopK)
	r.stop = in.StopSequences
	r.system = anContent(in.System)
	for _, m := range in.Messages {
		r.messages = append(r.messages, message{role: m.Role, parts: anContent(m.Content)})
	}
	for _, t := range in.Tools {
		kind := t.Type
		if kind == "" || kind == "custom" {
			kind = "function"
		}
		r.tools = append(r.tools, toolDef{kind: kind, name: t.Name, description: t.Description, params: decodeRaw(t.InputSchema)})
	}
}

// anContent converts a content that is a string or a list of blocks.
func anContent(raw string) []part {
	if s, ok := rawString(raw); ok {
		return []part{{kind: "text", text: s}}
	}
	var blocks []anBlock
	if raw == "" || !decodeBody(raw, func(d *decoder) { blocks = decodeList(d, (*anBlock).decode) }) {
		return nil
	}
	parts := make([]part, 0, len(blocks))
	for _, b := range blocks {
		parts = append(parts, anPart(b))
	}
	return parts
}

func anPart(b anBlock) part {
	switch b.Type {
	case "text":
		if b.TextJSON.JSON != "" {
			return textPart("text", b.TextJSON)
		}
		return part{kind: "text", text: b.Text}
	case "thinking":
		return part{kind: "reasoning", text: b.Thinking}
	case "redacted_thinking":
		return part{kind: "reasoning"}
	case "tool_use", "server_tool_use", "mcp_tool_use":
		args := decodeRaw(b.Input)
		if args == nil {
			args = map[string]any{}
		}
		return part{kind: "tool_call", id: b.ID, name: b.Name, args: args}
	case "tool_result", "mcp_tool_result":
		return part{kind: "tool_call_response", id: b.ToolUseID, response: anResult(b.Content)}
	case "image", "document":
		if s := b.Source; s != nil {
			switch s.Type {
			case "base64":
				p := part{kind: "blob", mime: s.MediaType, modality: modalityOf(s.MediaType), data: s.Data}
				if p.modality == "" && b.Type == "image" {
					p.modality = "image"
				}
				return p
			case "url":
				return part{kind: "uri", uri: s.URL, modality: modalityOf(s.MediaType)}
			case "file":
				return part{kind: "file", id: s.FileID}
			case "text":
				return part{kind: "text", text: s.Data}
			}
		}
	}
	if strings.HasSuffix(b.Type, "_tool_result") {
		return part{kind: "tool_call_response", id: b.ToolUseID, response: decodeRaw(b.Content)}
	}
	return part{kind: b.Type}
}

// anResult is a tool result's content: its text when it is text, else the
// decoded blocks.
func anResult(raw string) any {
	if s, ok := rawString(raw); ok {
		return s
	}
	parts := anContent(raw)
	allText := len(parts) > 0
	for _, p := range parts {
		if p.kind != "text" {
			allText = false
		}
	}
	if allText {
		return textOf(parts)
	}
	return decodeRaw(raw)
}

type anMessageObject struct {
	ID         string
	Model      string
	Role       string
	Content    []anBlock
	StopReason string
	Usage      *anUsage
}

func (m *anMessageObject) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "id":
			m.ID = d.Str()
		case "model":
			m.Model = d.Str()
		case "role":
			m.Role = d.Str()
		case "content":
			m.Content = decodeList(d, (*anBlock).decode)
		case "stop_reason":
			m.StopReason = d.Str()
		case "usage":
			m.Usage = decodeOptional(d, (*anUsage).decode)
		default:
			d.Skip()
		}
	}
}

func parseAnthropicResponse(body string) *response {
	var in anMessageObject
	if !decodeBody(body, in.decode) {
		return nil
	}
	r := &response{id: in.ID, model: in.Model}
	anSetUsage(&r.usage, in.Usage)
	msg := message{role: "assistant", finish: in.StopReason}
	for _, b := range in.Content {
		msg.parts = append(msg.parts, anPart(b))
	}
	r.output = []message{msg}
	if in.StopReason != "" {
		r.finishReasons = []string{in.StopReason}
	}
	return r
}

// anSetUsage merges u into out. Anthropic's input_tokens leaves out the
// cached input, which the conventions' input_tokens includes, so out.input
// is recomputed from the three whenever one changes.
func anSetUsage(out *usage, u *anUsage) {
	if u == nil {
		return
	}
	var raw count
	if out.input.ok {
		raw = count{v: out.input.v - out.cacheRead.v - out.cacheCreation.v, ok: true}
	}
	raw.set(u.InputTokens)
	out.cacheRead.set(u.CacheReadInputTokens)
	out.cacheCreation.set(u.CacheCreationInputTokens)
	out.output.set(u.OutputTokens)
	if raw.ok || out.cacheRead.ok || out.cacheCreation.ok {
		out.input = count{v: raw.v + out.cacheRead.v + out.cacheCreation.v, ok: true}
	}
}

// anStream accumulates a messages stream.
type anStream struct {
	r      response
	blocks map[int]*anBlockAcc
	stop   string
}

type anBlockAcc struct {
	block anBlock
	text  strings.Builder
	json  strings.Builder
}

type anEvent struct {
	Type         string
	Message      *anMessageObject
	Index        int
	ContentBlock *anBlock
	Delta        *anDelta
	Usage        *anUsage
	Error        *anError
}

type anDelta struct {
	Type        string
	Text        string
	Thinking    string
	PartialJSON string
	StopReason  string
}

type anError struct {
	Type    string
	Message string
}

func (ev *anEvent) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "type":
			ev.Type = d.Str()
		case "message":
			ev.Message = decodeOptional(d, (*anMessageObject).decode)
		case "index":
			ev.Index = readInt(d)
		case "content_block":
			ev.ContentBlock = decodeOptional(d, (*anBlock).decode)
		case "delta":
			ev.Delta = decodeOptional(d, (*anDelta).decode)
		case "usage":
			ev.Usage = decodeOptional(d, (*anUsage).decode)
		case "error":
			ev.Error = decodeOptional(d, (*anError).decode)
		default:
			d.Skip()
		}
	}
}

func (dl *anDelta) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "type":
			dl.Type = d.Str()
		case "text":
			dl.Text = d.Str()
		case "thinking":
			dl.Thinking = d.Str()
		case "partial_json":
			dl.PartialJSON = d.Str()
		case "stop_reason":
			dl.StopReason = d.Str()
		default:
			d.Skip()
		}
	}
}

func (e *anError) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "type":
			e.Type = d.Str()
		case "message":
			e.Message = d.Str()
		default:
			d.Skip()
		}
	}
}

func (s *anStream) event(_, data []byte) {
	var ev anEvent
	if !decodeBody(string(data), ev.decode) {
		return
	}
	switch ev.Type {
	case "message_start":
		if m := ev.Message; m != nil {
			s.r.id, s.r.model = m.ID, m.Model
			anSetUsage(&s.r.usage, m.Usage)
		}
	case "content_block_start":
		if ev.ContentBlock != nil {
			if s.blocks == nil {
				s.blocks = make(map[int]*anBlockAcc, 2)
			}
			acc := &anBlockAcc{block: *ev.ContentBlock}
			acc.text.WriteString(ev.ContentBlock.TextJSON.Value())
			acc.text.WriteString(ev.ContentBlock.Thinking)
			s.blocks[ev.Index] = acc
		}
	case "content_block_delta":
		acc := s.blocks[ev.Index]
		if acc == nil || ev.Delta == nil {
			return
		}
		acc.text.WriteString(ev.Delta.Text)
		acc.text.WriteString(ev.Delta.Thinking)
		acc.json.WriteString(ev.Delta.PartialJSON)
	case "message_delta":
		if ev.Delta != nil && ev.Delta.StopReason != "" {
			s.stop = ev.Delta.StopReason
		}
		anSetUsage(&s.r.usage, ev.Usage)
	case "message_stop":
		s.r.complete = true
	case "error":
		if ev.Error != nil {
			s.r.errType, s.r.errMessage = ev.Error.Type, ev.Error.Message
		}
	}
}

func (s *anStream) result() *response {
	r := s.r
	msg := message{role: "assistant", finish: s.stop}
	keys := make([]int, 0, len(s.blocks))
	for k := range s.blocks {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		acc := s.blocks[k]
		b := acc.block
		switch b.Type {
		case "text":
			b.Text, b.TextJSON = acc.text.String(), jsonscan.Literal{}
		case "thinking":
			b.Thinking = acc.text.String()
		case "tool_use", "server_tool_use", "mcp_tool_use":
			if acc.json.Len() > 0 {
				b.Input = acc.json.String()
			}
		}
		p := anPart(b)
		if p.kind == "tool_call" && acc.json.Len() > 0 && !validJSON(b.Input) {
			// A stream cut short leaves the arguments unfinished.
			p.args = acc.json.String()
		}
		msg.parts = append(msg.parts, p)
	}
	if len(msg.parts) > 0 || s.stop != "" {
		r.output = []message{msg}
	}
	if s.stop != "" {
		r.finishReasons = []string{s.stop}
	}
	return &r
}
