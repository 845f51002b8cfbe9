package llmcapture

import (
	"sort"
	"strings"

	"github.com/overmind-core/overmind-go/runtime/internal/llmcapture/jsonscan"
)

// This file is Amazon Bedrock's Converse API: Converse and ConverseStream,
// as aws-sdk-go-v2's bedrockruntime client sends them
// (POST /model/{modelId}/converse and /converse-stream). The model is in
// the path; ConverseStream answers with the AWS event stream framing
// (eventstream.go), one JSON payload per event. Errors name their type in
// the X-Amzn-Errortype header and the body's "__type".

// bedrockAPI is the Converse API.
var bedrockAPI = &api{name: "bedrock", provider: "aws.bedrock", match: matchBedrock,
	operations: []*operation{opBedrockConverse}, errorTypeHeader: "X-Amzn-Errortype"}

// opBedrockConverse is Converse and ConverseStream.
var opBedrockConverse = &operation{name: "chat", request: parseBedrockRequest,
	response: parseBedrockResponse, stream: func() stream { return &brStream{} }, modelInPath: true}

// matchBedrock recognises /model/{modelId}/converse and
// /model/{modelId}/converse-stream. The model ID is escaped in the path
// (an inference profile's ARN has slashes, a version a colon).
func matchBedrock(path string) (endpoint, bool) {
	rest, method, ok := cutLast(path, '/')
	if !ok {
		return endpoint{}, false
	}
	ep := endpoint{op: opBedrockConverse}
	switch method {
	case "converse":
	case "converse-stream":
		ep.pathStream = true
	default:
		return endpoint{}, false
	}
	i := strings.LastIndex(rest, "/model/")
	if i < 0 {
		return endpoint{}, false
	}
	ep.pathModel = unescapePath(rest[i+len("/model/"):])
	return ep, true
}

// cutLast cuts s around the last sep.
func cutLast(s string, sep byte) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

type brRequest struct {
	Messages        []brMessage
	System          []brBlock
	InferenceConfig *brInference
	ToolConfig      *brToolConfig
}

func (in *brRequest) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "messages":
			in.Messages = decodeList(d, (*brMessage).decode)
		case "system":
			in.System = decodeList(d, (*brBlock).decode)
		case "inferenceConfig":
			in.InferenceConfig = decodeOptional(d, (*brInference).decode)
		case "toolConfig":
			in.ToolConfig = decodeOptional(d, (*brToolConfig).decode)
		default:
			d.Skip()
		}
	}
}

type brInference struct {
	MaxTokens     count
	Temperature   number
	TopP          number
	StopSequences []string
}

func (c *brInference) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "maxTokens":
			c.MaxTokens = readCount(d)
		case "temperature":
			c.Temperature = readNumber(d)
		case "topP":
			c.TopP = readNumber(d)
		case "stopSequences":
			c.StopSequences = decodeStrings(d)
		default:
			d.Skip()
		}
	}
}

type brToolConfig struct {
	Tools []brTool
}

func (c *brToolConfig) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		if d.Key() == "tools" {
			c.Tools = decodeList(d, (*brTool).decode)
		} else {
			d.Skip()
		}
	}
}

// brTool is a tool: {"toolSpec": {"name", "description", "inputSchema":
// {"json": schema}}}, or a cache point.
type brTool struct {
	Name, Description string
	Schema            string // JSON text
	IsSpec            bool
}

func (t *brTool) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		if d.Key() != "toolSpec" || !d.Object() {
			d.Skip()
			continue
		}
		t.IsSpec = true
		for d.NextKey() {
			switch d.Key() {
			case "name":
				t.Name = d.Str()
			case "description":
				t.Description = d.Str()
			case "inputSchema":
				t.Schema = jsonMember(d, "json")
			default:
				d.Skip()
			}
		}
	}
}

// jsonMember reads an object and returns the JSON text of its member key.
func jsonMember(d *decoder, key string) string {
	var raw string
	if d.Object() {
		for d.NextKey() {
			if d.Key() == key {
				raw = d.Raw()
			} else {
				d.Skip()
			}
		}
	}
	return raw
}

type brMessage struct {
	Role    string
	Content []brBlock
}

func (m *brMessage) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "role":
			m.Role = d.Str()
		case "content":
			m.Content = decodeList(d, (*brBlock).decode)
		default:
			d.Skip()
		}
	}
}

// brBlock is a content block: a union of which one member is set.
type brBlock struct {
	Text      jsonscan.Literal
	HasText   bool
	Image     *brMedia
	Document  *brMedia
	Video     *brMedia
	ToolUse   *brToolUse
	Result    *brToolResult
	Reasoning *brReasoning
	JSON      string // JSON text: a tool result's json block
}

func (b *brBlock) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "text":
			b.Text, b.HasText = d.StrLiteral()
		case "image":
			b.Image = decodeOptional(d, (*brMedia).decode)
		case "document":
			b.Document = decodeOptional(d, (*brMedia).decode)
		case "video":
			b.Video = decodeOptional(d, (*brMedia).decode)
		case "toolUse":
			b.ToolUse = decodeOptional(d, (*brToolUse).decode)
		case "toolResult":
			b.Result = decodeOptional(d, (*brToolResult).decode)
		case "reasoningContent":
			b.Reasoning = decodeOptional(d, (*brReasoning).decode)
		case "json":
			b.JSON = d.Raw()
		default:
			d.Skip()
		}
	}
}

// brMedia is an image, document or video: its format and where its bytes
// are.
type brMedia struct {
	Format, Name     string
	Bytes, Text, URI string
}

func (m *brMedia) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "format":
			m.Format = d.Str()
		case "name":
			m.Name = d.Str()
		case "source":
			m.decodeSource(d)
		default:
			d.Skip()
		}
	}
}

func (m *brMedia) decodeSource(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "bytes":
			m.Bytes = d.Str()
		case "text":
			m.Text = d.Str()
		case "s3Location":
			m.URI = strings.Trim(jsonMember(d, "uri"), `"`)
		default:
			d.Skip()
		}
	}
}

type brToolUse struct {
	ID, Name string
	Input    string // JSON text in a body; the partial JSON string in a stream
}

func (t *brToolUse) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "toolUseId":
			t.ID = d.Str()
		case "name":
			t.Name = d.Str()
		case "input":
			if d.Kind() == jsonscan.String {
				t.Input = d.Str()
			} else {
				t.Input = d.Raw()
			}
		default:
			d.Skip()
		}
	}
}

type brToolResult struct {
	ID      string
	Content []brBlock
	Status  string
}

func (r *brToolResult) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "toolUseId":
			r.ID = d.Str()
		case "content":
			r.Content = decodeList(d, (*brBlock).decode)
		case "status":
			r.Status = d.Str()
		default:
			d.Skip()
		}
	}
}

// brReasoning is reasoning content: in a body {"reasoningText": {"text"}}
// or {"redactedContent"}; in a stream delta {"text"} or {"signature"}.
type brReasoning struct {
	Text     string
	Redacted bool
}

func (r *brReasoning) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "reasoningText":
			r.Text = strings.Clone(jsonStringMember(d, "text"))
		case "text":
			r.Text = d.Str()
		case "redactedContent":
			r.Redacted = true
			d.Skip()
		default:
			d.Skip()
		}
	}
}

// jsonStringMember reads an object and returns its string member key.
func jsonStringMember(d *decoder, key string) string {
	var s string
	if d.Object() {
		for d.NextKey() {
			if d.Key() == key {
				s = d.Str()
			} else {
				d.Skip()
			}
		}
	}
	return s
}

func parseBedrockRequest(body string, r *request) {
	var in brRequest
	if !decodeBody(body, in.decode) {
		return
	}
	if c := in.InferenceConfig; c != nil {
		r.maxTokens.set(c.MaxTokens)
		r.temperature.set(c.Temperature)
		r.topP.set(c.TopP)
		r.stop = c.StopSequences
	}
	r.system = brParts(in.System)
	for _, m := range in.Messages {
		r.messages = append(r.messages, message{role: m.Role, parts: brParts(m.Content)})
	}
	if c := in.ToolConfig; c != nil {
		for _, t := range c.Tools {
			if t.IsSpec {
				r.tools = append(r.tools, toolDef{kind: "function", name: t.Name, description: t.Description, params: decodeRaw(t.Schema)})
			}
		}
	}
}

// brParts converts content blocks; cache points and guard content, which
// are not content, are left out.
func brParts(blocks []brBlock) []part {
	parts := make([]part, 0, len(blocks))
	for i := range blocks {
		if p, ok := brPart(&blocks[i]); ok {
			parts = append(parts, p)
		}
	}
	return parts
}

func brPart(b *brBlock) (part, bool) {
	switch {
	case b.HasText:
		return textPart("text", b.Text), true
	case b.ToolUse != nil:
		args := decodeRaw(b.ToolUse.Input)
		if args == nil {
			args = map[string]any{}
		}
		return part{kind: "tool_call", id: b.ToolUse.ID, name: b.ToolUse.Name, args: args}, true
	case b.Result != nil:
		return part{kind: "tool_call_response", id: b.Result.ID, response: brResult(b.Result.Content)}, true
	case b.Reasoning != nil:
		return part{kind: "reasoning", text: b.Reasoning.Text}, true
	case b.Image != nil:
		return brMediaPart("image", b.Image), true
	case b.Video != nil:
		return brMediaPart("video", b.Video), true
	case b.Document != nil:
		if b.Document.Text != "" {
			return part{kind: "text", text: b.Document.Text}, true
		}
		return brMediaPart("", b.Document), true
	}
	return part{}, false
}

// brMediaPart is the part of an image, video or document: its bytes, or
// its S3 location.
func brMediaPart(modality string, m *brMedia) part {
	mime := brMIME(modality, m.Format)
	if modality == "" {
		modality = modalityOf(mime)
	}
	if m.URI != "" {
		return part{kind: "uri", mime: mime, modality: modality, uri: m.URI}
	}
	return part{kind: "blob", mime: mime, modality: modality, data: m.Bytes}
}

// brMIME is the MIME type of a Bedrock media format ("png", "pdf", ...).
func brMIME(modality, format string) string {
	switch format {
	case "":
		return ""
	case "pdf":
		return "application/pdf"
	case "txt":
		return "text/plain"
	case "md":
		return "text/markdown"
	case "html":
		return "text/html"
	case "csv":
		return "text/csv"
	case "jpg":
		format = "jpeg"
	}
	if modality == "" {
		return "application/" + format
	}
	return modality + "/" + format
}

// brResult is a tool result's content: its text when it is all text, else
// the JSON of its json block, else its blocks' parts' text.
func brResult(blocks []brBlock) any {
	if len(blocks) == 1 && blocks[0].JSON != "" {
		return decodeRaw(blocks[0].JSON)
	}
	parts := brParts(blocks)
	return textOf(parts)
}

type brResponse struct {
	Message    *brMessage
	StopReason string
	Usage      *brUsage
}

func (in *brResponse) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "output":
			if d.Object() {
				for d.NextKey() {
					if d.Key() == "message" {
						in.Message = decodeOptional(d, (*brMessage).decode)
					} else {
						d.Skip()
					}
				}
			}
		case "stopReason":
			in.StopReason = d.Str()
		case "usage":
			in.Usage = decodeOptional(d, (*brUsage).decode)
		default:
			d.Skip()
		}
	}
}

type brUsage struct {
	InputTokens, OutputTokens, TotalTokens count
	CacheRead, CacheWrite                  count
}

func (u *brUsage) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "inputTokens":
			u.InputTokens = readCount(d)
		case "outputTokens":
			u.OutputTokens = readCount(d)
		case "totalTokens":
			u.TotalTokens = readCount(d)
		case "cacheReadInputTokens":
			u.CacheRead = readCount(d)
		case "cacheWriteInputTokens":
			u.CacheWrite = readCount(d)
		default:
			d.Skip()
		}
	}
}

// usage returns u in the conventions' terms: Bedrock's inputTokens leaves
// out the cached input, which the conventions' input_tokens includes.
func (u *brUsage) usage() usage {
	if u == nil {
		return usage{}
	}
	out := usage{output: u.OutputTokens, cacheRead: u.CacheRead, cacheCreation: u.CacheWrite, total: u.TotalTokens}
	if u.InputTokens.ok || u.CacheRead.ok || u.CacheWrite.ok {
		out.input = count{v: u.InputTokens.v + u.CacheRead.v + u.CacheWrite.v, ok: true}
	}
	return out
}

func parseBedrockResponse(body string) *response {
	var in brResponse
	if !decodeBody(body, in.decode) {
		return nil
	}
	r := &response{usage: in.Usage.usage()}
	if in.StopReason != "" {
		r.finishReasons = []string{in.StopReason}
	}
	if m := in.Message; m != nil {
		r.output = []message{{role: m.Role, parts: brParts(m.Content), finish: in.StopReason}}
	}
	return r
}

// brStream accumulates a ConverseStream's events.
type brStream struct {
	r      response
	role   string
	stop   string
	blocks map[int]*brBlockAcc
}

// brBlockAcc is a content block as its events build it.
type brBlockAcc struct {
	kind      string // text, tool_call or reasoning
	id, name  string
	text      strings.Builder
	input     strings.Builder
	reasoning strings.Builder
}

// brEvent is the payload of a stream event.
type brEvent struct {
	Role       string
	Index      int
	Start      *brToolUse // contentBlockStart's start.toolUse
	Delta      *brDelta
	StopReason string
	Usage      *brUsage
	Message    string // an exception's
}

type brDelta struct {
	Text      string
	HasText   bool
	ToolInput string
	Reasoning *brReasoning
}

func (ev *brEvent) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "role":
			ev.Role = d.Str()
		case "contentBlockIndex":
			ev.Index = readInt(d)
		case "start":
			if d.Object() {
				for d.NextKey() {
					if d.Key() == "toolUse" {
						ev.Start = decodeOptional(d, (*brToolUse).decode)
					} else {
						d.Skip()
					}
				}
			}
		case "delta":
			ev.Delta = decodeOptional(d, (*brDelta).decode)
		case "stopReason":
			ev.StopReason = d.Str()
		case "usage":
			ev.Usage = decodeOptional(d, (*brUsage).decode)
		case "message", "Message":
			ev.Message = d.Str()
		default:
			d.Skip()
		}
	}
}

func (dl *brDelta) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "text":
			dl.Text, dl.HasText = d.StrOK()
		case "toolUse":
			dl.ToolInput = jsonStringMember(d, "input")
		case "reasoningContent":
			dl.Reasoning = decodeOptional(d, (*brReasoning).decode)
		default:
			d.Skip()
		}
	}
}

func (s *brStream) event(name, data []byte) {
	var ev brEvent
	if !decodeBody(string(data), ev.decode) {
		return
	}
	switch string(name) {
	case "messageStart":
		s.role = strings.Clone(ev.Role)
	case "contentBlockStart":
		acc := s.block(ev.Index)
		if ev.Start != nil {
			acc.kind, acc.id, acc.name = "tool_call", strings.Clone(ev.Start.ID), strings.Clone(ev.Start.Name)
		}
	case "contentBlockDelta":
		s.delta(ev.Index, ev.Delta)
	case "messageStop":
		s.stop = strings.Clone(ev.StopReason)
		s.r.complete = true
	case "metadata":
		if ev.Usage != nil {
			s.r.usage = ev.Usage.usage()
		}
	default:
		if strings.HasSuffix(string(name), "Exception") {
			s.r.errType, s.r.errMessage = string(name), strings.Clone(ev.Message)
		}
	}
}

// delta adds a contentBlockDelta to its block.
func (s *brStream) delta(index int, dl *brDelta) {
	if dl == nil {
		return
	}
	acc := s.block(index)
	switch {
	case dl.HasText:
		if acc.kind == "" {
			acc.kind = "text"
		}
		acc.text.WriteString(dl.Text)
	case dl.ToolInput != "":
		acc.input.WriteString(dl.ToolInput)
	case dl.Reasoning != nil:
		if acc.kind == "" {
			acc.kind = "reasoning"
		}
		acc.reasoning.WriteString(dl.Reasoning.Text)
	}
}

func (s *brStream) block(index int) *brBlockAcc {
	if s.blocks == nil {
		s.blocks = make(map[int]*brBlockAcc, 2)
	}
	acc := s.blocks[index]
	if acc == nil {
		acc = &brBlockAcc{}
		s.blocks[index] = acc
	}
	return acc
}

func (s *brStream) result() *response {
	r := s.r
	role := s.role
	if role == "" {
		role = "assistant"
	}
	msg := message{role: role, finish: s.stop}
	keys := make([]int, 0, len(s.blocks))
	for k := range s.blocks {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		msg.parts = append(msg.parts, s.blocks[k].part())
	}
	if len(msg.parts) > 0 || s.stop != "" {
		r.output = []message{msg}
	}
	if s.stop != "" {
		r.finishReasons = []string{s.stop}
	}
	return &r
}

// part is the block's part; a tool call whose input a stream cut short
// keeps the partial text.
func (acc *brBlockAcc) part() part {
	switch acc.kind {
	case "tool_call":
		input := acc.input.String()
		var args any = map[string]any{}
		if input != "" {
			args = decodeArgs(input)
		}
		return part{kind: "tool_call", id: acc.id, name: acc.name, args: args}
	case "reasoning":
		return part{kind: "reasoning", text: acc.reasoning.String()}
	}
	return part{kind: "text", text: acc.text.String()}
}
