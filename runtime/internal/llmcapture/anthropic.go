package llmcapture

import (
	"encoding/json"
	"sort"
	"strings"
)

// This file parses the Anthropic messages API.

type anRequest struct {
	Model         string          `json:"model"`
	MaxTokens     *int64          `json:"max_tokens"`
	Messages      []anMessage     `json:"messages"`
	System        json.RawMessage `json:"system"`
	Temperature   *float64        `json:"temperature"`
	TopP          *float64        `json:"top_p"`
	TopK          *int64          `json:"top_k"`
	StopSequences []string        `json:"stop_sequences"`
	Stream        bool            `json:"stream"`
	Tools         []struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		InputSchema json.RawMessage `json:"input_schema"`
	} `json:"tools"`
}

type anMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type anBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Thinking  string          `json:"thinking"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	Source    *struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
		URL       string `json:"url"`
		FileID    string `json:"file_id"`
	} `json:"source"`
}

type anUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
}

func parseAnthropicRequest(body []byte, r *request) {
	var in anRequest
	if json.Unmarshal(body, &in) != nil {
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
func anContent(raw json.RawMessage) []part {
	if s, ok := rawString(raw); ok {
		return []part{{kind: "text", text: s}}
	}
	var blocks []anBlock
	if len(raw) == 0 || json.Unmarshal(raw, &blocks) != nil {
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
func anResult(raw json.RawMessage) any {
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
	ID         string    `json:"id"`
	Model      string    `json:"model"`
	Role       string    `json:"role"`
	Content    []anBlock `json:"content"`
	StopReason string    `json:"stop_reason"`
	Usage      *anUsage  `json:"usage"`
}

func parseAnthropicResponse(body []byte) *response {
	var in anMessageObject
	if json.Unmarshal(body, &in) != nil {
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
	Type         string           `json:"type"`
	Message      *anMessageObject `json:"message"`
	Index        int              `json:"index"`
	ContentBlock *anBlock         `json:"content_block"`
	Delta        *struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		Thinking    string `json:"thinking"`
		PartialJSON string `json:"partial_json"`
		StopReason  string `json:"stop_reason"`
	} `json:"delta"`
	Usage *anUsage `json:"usage"`
	Error *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

func (s *anStream) event(_, data []byte) {
	var ev anEvent
	if json.Unmarshal(data, &ev) != nil {
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
			acc.text.WriteString(ev.ContentBlock.Text)
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
			b.Text = acc.text.String()
		case "thinking":
			b.Thinking = acc.text.String()
		case "tool_use", "server_tool_use", "mcp_tool_use":
			if acc.json.Len() > 0 {
				b.Input = json.RawMessage(acc.json.String())
			}
		}
		p := anPart(b)
		if p.kind == "tool_call" && acc.json.Len() > 0 && !json.Valid(b.Input) {
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

// anErr is Anthropic's error body.
type anErr struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}
