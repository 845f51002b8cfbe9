package llmcapture

import (
	"bytes"
	"sort"
	"strings"

	"github.com/overmind-core/overmind-go/runtime/internal/llmcapture/jsonscan"
)

// This file is the OpenAI API: chat completions, responses and
// embeddings, which Azure OpenAI and the OpenAI-compatible services and
// servers speak too.

// openaiAPI is the OpenAI API.
var openaiAPI = &api{name: "openai", provider: "openai", match: matchOpenAI,
	operations: []*operation{opOpenAIChat, opOpenAIResponses, opOpenAIEmbeddings}}

// The OpenAI endpoints.
var (
	opOpenAIChat = &operation{name: "chat", request: parseOpenAIChatRequest,
		response: parseOpenAIChatResponse, stream: func() stream { return &oaChatStream{} }}
	opOpenAIResponses = &operation{name: "chat", request: parseOpenAIResponsesRequest,
		response: parseOpenAIResponsesResponse, stream: func() stream { return &oaResponsesStream{} }}
	opOpenAIEmbeddings = &operation{name: "embeddings", request: parseOpenAIEmbeddingsRequest,
		response: parseOpenAIEmbeddingsResponse, embeddings: true}
)

// matchOpenAI recognises the OpenAI endpoints by the end of the path, so
// that /v1/chat/completions, an Azure deployment's
// /openai/deployments/{name}/chat/completions and a compatible server's
// /api/v1/chat/completions all match.
func matchOpenAI(path string) (endpoint, bool) {
	path = strings.TrimSuffix(path, "/")
	var op *operation
	var prefix string
	switch {
	case strings.HasSuffix(path, "/chat/completions"):
		op, prefix = opOpenAIChat, strings.TrimSuffix(path, "/chat/completions")
	case strings.HasSuffix(path, "/responses"):
		op, prefix = opOpenAIResponses, strings.TrimSuffix(path, "/responses")
	case strings.HasSuffix(path, "/embeddings"):
		op, prefix = opOpenAIEmbeddings, strings.TrimSuffix(path, "/embeddings")
	default:
		return endpoint{}, false
	}
	ep := endpoint{op: op}
	if i := strings.LastIndex(prefix, "/deployments/"); i >= 0 {
		ep.pathModel = unescapePath(prefix[i+len("/deployments/"):])
	}
	return ep, true
}

// --- chat completions ---

type oaChatRequest struct {
	Model               string
	Messages            []message // converted as they are read
	Temperature         number
	TopP                number
	MaxTokens           count
	MaxCompletionTokens count
	N                   count
	Stop                string // JSON text: a string or a list of strings
	Seed                count
	FrequencyPenalty    number
	PresencePenalty     number
	Stream              bool
	Tools               []oaTool
	Functions           []oaFunctionDef
}

func (in *oaChatRequest) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "model":
			in.Model = d.Str()
		case "messages":
			if d.Array() {
				in.Messages = make([]message, 0, 4)
				for d.NextElem() {
					var m oaMessage
					m.decode(d)
					in.Messages = append(in.Messages, oaChatMessage(&m))
				}
			}
		case "temperature":
			in.Temperature = readNumber(d)
		case "top_p":
			in.TopP = readNumber(d)
		case "max_tokens":
			in.MaxTokens = readCount(d)
		case "max_completion_tokens":
			in.MaxCompletionTokens = readCount(d)
		case "n":
			in.N = readCount(d)
		case "stop":
			in.Stop = d.Raw()
		case "seed":
			in.Seed = readCount(d)
		case "frequency_penalty":
			in.FrequencyPenalty = readNumber(d)
		case "presence_penalty":
			in.PresencePenalty = readNumber(d)
		case "stream":
			in.Stream = d.Bool()
		case "tools":
			in.Tools = decodeList(d, (*oaTool).decode)
		case "functions":
			in.Functions = decodeList(d, (*oaFunctionDef).decode)
		default:
			d.Skip()
		}
	}
}

type oaMessage struct {
	Role             string
	Content          oaContent
	Name             string
	ToolCalls        []oaToolCall
	ToolCallID       string
	FunctionCall     *oaFunction
	Refusal          string
	ReasoningContent string
}

func (m *oaMessage) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "role":
			m.Role = d.Str()
		case "content":
			m.Content.decode(d)
		case "name":
			m.Name = d.Str()
		case "tool_calls":
			m.ToolCalls = decodeList(d, (*oaToolCall).decode)
		case "tool_call_id":
			m.ToolCallID = d.Str()
		case "function_call":
			m.FunctionCall = decodeOptional(d, (*oaFunction).decode)
		case "refusal":
			m.Refusal = d.Str()
		case "reasoning_content":
			m.ReasoningContent = d.Str()
		default:
			d.Skip()
		}
	}
}

type oaToolCall struct {
	Index    int
	ID       string
	Type     string
	Function oaFunction
}

func (tc *oaToolCall) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "index":
			tc.Index = readInt(d)
		case "id":
			tc.ID = d.Str()
		case "type":
			tc.Type = d.Str()
		case "function":
			tc.Function.decode(d)
		default:
			d.Skip()
		}
	}
}

type oaFunction struct {
	Name      string
	Arguments string
}

func (f *oaFunction) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "name":
			f.Name = d.Str()
		case "arguments":
			f.Arguments = d.Str()
		default:
			d.Skip()
		}
	}
}

type oaTool struct {
	Type     string
	Function oaFunctionDef
	// The responses API puts a function's fields on the tool itself.
	Name        string
	Description string
	Parameters  string // JSON text
}

func (t *oaTool) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "type":
			t.Type = d.Str()
		case "function":
			t.Function.decode(d)
		case "name":
			t.Name = d.Str()
		case "description":
			t.Description = d.Str()
		case "parameters":
			t.Parameters = d.Raw()
		default:
			d.Skip()
		}
	}
}

type oaFunctionDef struct {
	Name        string
	Description string
	Parameters  string // JSON text
}

func (f *oaFunctionDef) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "name":
			f.Name = d.Str()
		case "description":
			f.Description = d.Str()
		case "parameters":
			f.Parameters = d.Raw()
		default:
			d.Skip()
		}
	}
}

type oaContentPart struct {
	Type       string
	Text       jsonscan.Literal
	Refusal    string
	ImageURL   string // image_url: {"url": ...} in chat, a string in responses
	InputAudio *oaAudio
	File       *oaFile
	FileID     string
	FileURL    string
	FileData   string
}

type oaAudio struct {
	Data   string
	Format string
}

type oaFile struct {
	FileData string
	FileID   string
}

func (p *oaContentPart) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "type":
			p.Type = d.Str()
		case "text":
			p.Text, _ = d.StrLiteral()
		case "refusal":
			p.Refusal = d.Str()
		case "image_url":
			p.ImageURL = readURL(d)
		case "input_audio":
			p.InputAudio = decodeOptional(d, func(a *oaAudio, d *decoder) {
				if d.Object() {
					for d.NextKey() {
						switch d.Key() {
						case "data":
							a.Data = d.Str()
						case "format":
							a.Format = d.Str()
						default:
							d.Skip()
						}
					}
				}
			})
		case "file":
			p.File = decodeOptional(d, func(f *oaFile, d *decoder) {
				if d.Object() {
					for d.NextKey() {
						switch d.Key() {
						case "file_data":
							f.FileData = d.Str()
						case "file_id":
							f.FileID = d.Str()
						default:
							d.Skip()
						}
					}
				}
			})
		case "file_id":
			p.FileID = d.Str()
		case "file_url":
			p.FileURL = d.Str()
		case "file_data":
			p.FileData = d.Str()
		default:
			d.Skip()
		}
	}
}

// readURL reads an image_url: a string, or an object with a url.
func readURL(d *decoder) string {
	if d.Kind() != jsonscan.Object {
		return d.Str()
	}
	var u string
	d.Object()
	for d.NextKey() {
		if d.Key() == "url" {
			u = d.Str()
		} else {
			d.Skip()
		}
	}
	return u
}

type oaUsage struct {
	PromptTokens        count
	CompletionTokens    count
	InputTokens         count
	OutputTokens        count
	TotalTokens         count
	PromptCached        count // prompt_tokens_details.cached_tokens
	InputCached         count // input_tokens_details.cached_tokens
	CompletionReasoning count // completion_tokens_details.reasoning_tokens
	OutputReasoning     count // output_tokens_details.reasoning_tokens
}

func (u *oaUsage) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "prompt_tokens":
			u.PromptTokens = readCount(d)
		case "completion_tokens":
			u.CompletionTokens = readCount(d)
		case "input_tokens":
			u.InputTokens = readCount(d)
		case "output_tokens":
			u.OutputTokens = readCount(d)
		case "total_tokens":
			u.TotalTokens = readCount(d)
		case "prompt_tokens_details":
			u.PromptCached = readDetail(d, "cached_tokens")
		case "input_tokens_details":
			u.InputCached = readDetail(d, "cached_tokens")
		case "completion_tokens_details":
			u.CompletionReasoning = readDetail(d, "reasoning_tokens")
		case "output_tokens_details":
			u.OutputReasoning = readDetail(d, "reasoning_tokens")
		default:
			d.Skip()
		}
	}
}

// readDetail reads the count named key of a usage details object.
func readDetail(d *decoder, key string) count {
	var c count
	if d.Object() {
		for d.NextKey() {
			if d.Key() == key {
				c = readCount(d)
			} else {
				d.Skip()
			}
		}
	}
	return c
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
	out.cacheRead.set(u.PromptCached)
	out.cacheRead.set(u.InputCached)
	out.reasoning.set(u.CompletionReasoning)
	out.reasoning.set(u.OutputReasoning)
	return out
}

func parseOpenAIChatRequest(body string, r *request) {
	var in oaChatRequest
	if !decodeBody(body, in.decode) {
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
	r.messages = in.Messages
	for _, t := range in.Tools {
		r.tools = append(r.tools, oaToolDef(t))
	}
	for _, f := range in.Functions {
		r.tools = append(r.tools, toolDef{kind: "function", name: f.Name, description: f.Description, params: decodeRaw(f.Parameters)})
	}
}

// stopSequences reads OpenAI's stop, a string or a list of strings.
func stopSequences(raw string) []string {
	if s, ok := rawString(raw); ok {
		return []string{s}
	}
	var list []string
	if len(raw) > 0 && raw[0] == '[' && decodeBody(raw, func(d *decoder) { list = decodeStrings(d) }) {
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
func oaChatMessage(m *oaMessage) message {
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
	content := oaContentParts(m.Content)
	extra := len(m.ToolCalls)
	for _, has := range [...]bool{m.ReasoningContent != "", m.Refusal != "", m.FunctionCall != nil} {
		if has {
			extra++
		}
	}
	if extra == 0 {
		// The common case: the content's parts are the message's.
		msg.parts = content
		return msg
	}
	msg.parts = make([]part, 0, len(content)+extra)
	if m.ReasoningContent != "" {
		msg.parts = append(msg.parts, part{kind: "reasoning", text: m.ReasoningContent})
	}
	msg.parts = append(msg.parts, content...)
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

// oaContent is a message's content: a string or a list of parts (chat
// completions and responses both).
type oaContent struct {
	isText bool
	text   jsonscan.Literal // a string
	raw    string           // the JSON text of a value that is not a string
}

func (c *oaContent) decode(d *decoder) {
	if d.Kind() == jsonscan.String {
		c.text, c.isText = d.StrLiteral()
		return
	}
	c.raw = d.Raw()
}

// oaContentValue is a tool message's content: its text, or its parts'.
func oaContentValue(c oaContent) any {
	if c.isText {
		return c.text.Value()
	}
	return textOf(oaContentParts(c))
}

// oaContentParts converts a content.
func oaContentParts(c oaContent) []part {
	if c.isText {
		return []part{textPart("text", c.text)}
	}
	raw := c.raw
	if raw == "" || raw == "null" {
		return nil
	}
	var list []oaContentPart
	if !decodeBody(raw, func(d *decoder) { list = decodeList(d, (*oaContentPart).decode) }) {
		return nil
	}
	parts := make([]part, 0, len(list))
	for _, p := range list {
		switch p.Type {
		case "text", "input_text", "output_text":
			parts = append(parts, textPart("text", p.Text))
		case "refusal":
			parts = append(parts, part{kind: "refusal", text: p.Refusal})
		case "image_url", "input_image":
			u := p.ImageURL
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
			parts = append(parts, part{kind: p.Type, text: p.Text.Value()})
		}
	}
	return parts
}

// oaChatResponse is a chat completion, or a chunk of a stream of them.
type oaChatResponse struct {
	ID       string
	Model    string
	usage    usage
	hasUsage bool
	Error    *oaErrObj
	// chunk is set for a stream's chunk, whose choices are kept in Choices;
	// a whole response's choices become output messages as they are read.
	chunk         bool
	Choices       []oaChoice
	output        []message
	finishReasons []string
}

// oaChoice is a choice of a response (with a message) or of a stream's
// chunk (with a delta).
type oaChoice struct {
	Index        int
	Message      oaMessage
	Delta        oaMessage
	FinishReason string
}

func (c *oaChoice) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "index":
			c.Index = readInt(d)
		case "message":
			c.Message.decode(d)
		case "delta":
			c.Delta.decode(d)
		case "finish_reason":
			c.FinishReason = d.Str()
		default:
			d.Skip()
		}
	}
}

func (in *oaChatResponse) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "id":
			in.ID = d.Str()
		case "model":
			in.Model = d.Str()
		case "choices":
			if d.Array() {
				for d.NextElem() {
					in.decodeChoice(d)
				}
			}
		case "usage":
			if d.Kind() != jsonscan.Object {
				d.Skip()
				continue
			}
			var u oaUsage
			u.decode(d)
			in.usage, in.hasUsage = u.toUsage(), true
		case "error":
			in.Error = decodeOptional(d, (*oaErrObj).decode)
		default:
			d.Skip()
		}
	}
}

// decodeChoice reads a choice: a chunk's into Choices, a response's into
// an output message.
func (in *oaChatResponse) decodeChoice(d *decoder) {
	if in.chunk {
		in.Choices = append(in.Choices, oaChoice{})
		in.Choices[len(in.Choices)-1].decode(d)
		return
	}
	var c oaChoice
	c.decode(d)
	msg := oaChatMessage(&c.Message)
	if msg.role == "" {
		msg.role = "assistant"
	}
	msg.finish = c.FinishReason
	in.output = append(in.output, msg)
	in.finishReasons = append(in.finishReasons, c.FinishReason)
}

func parseOpenAIChatResponse(body string) *response {
	var in oaChatResponse
	if !decodeBody(body, in.decode) {
		return nil
	}
	return &response{id: in.ID, model: in.Model, usage: in.usage, output: in.output, finishReasons: in.finishReasons}
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

// event adds a chunk of the stream, or its [DONE] end, to the response.
func (s *oaChatStream) event(_, data []byte) {
	if bytes.Equal(bytes.TrimSpace(data), []byte("[DONE]")) {
		s.r.complete = true
		return
	}
	c := oaChatResponse{chunk: true}
	if !decodeBody(string(data), c.decode) {
		return
	}
	s.header(&c)
	if s.choices == nil && len(c.Choices) > 0 {
		s.choices = make(map[int]*oaChoiceAcc, 1)
	}
	for i := range c.Choices {
		s.choice(c.Choices[i].Index).add(&c.Choices[i])
	}
}

// header keeps what chunk c says of the whole response: its error, ID,
// model and usage, when it has them.
func (s *oaChatStream) header(c *oaChatResponse) {
	if c.Error != nil {
		s.r.errType, s.r.errMessage = c.Error.kind(), c.Error.Message
	}
	if c.ID != "" {
		s.r.id = c.ID
	}
	if c.Model != "" {
		s.r.model = c.Model
	}
	if c.hasUsage {
		s.r.usage = c.usage
	}
}

// choice returns the accumulator of the choice of the index, adding it if
// it is new.
func (s *oaChatStream) choice(index int) *oaChoiceAcc {
	acc := s.choices[index]
	if acc == nil {
		acc = &oaChoiceAcc{}
		s.choices[index] = acc
	}
	return acc
}

// add adds the delta of a chunk's choice ch to the choice.
func (acc *oaChoiceAcc) add(ch *oaChoice) {
	d := &ch.Delta
	if d.Role != "" {
		acc.role = d.Role
	}
	if d.Content.isText {
		acc.text.WriteString(d.Content.text.Value())
	}
	acc.refusal.WriteString(d.Refusal)
	acc.reasoning.WriteString(d.ReasoningContent)
	for i := range d.ToolCalls {
		acc.toolCall(d.ToolCalls[i].Index).add(&d.ToolCalls[i])
	}
	if ch.FinishReason != "" {
		acc.finish = ch.FinishReason
	}
}

// toolCall returns the accumulator of the choice's tool call of the index,
// adding it if it is new.
func (acc *oaChoiceAcc) toolCall(index int) *oaCallAcc {
	if acc.calls == nil {
		acc.calls = make(map[int]*oaCallAcc, 1)
	}
	c := acc.calls[index]
	if c == nil {
		c = &oaCallAcc{}
		acc.calls[index] = c
	}
	return c
}

// add adds the delta of tool call tc to the call: its ID and name when it
// has them, and a piece of its arguments.
func (acc *oaCallAcc) add(tc *oaToolCall) {
	if tc.ID != "" {
		acc.id = tc.ID
	}
	if tc.Function.Name != "" {
		acc.name = tc.Function.Name
	}
	acc.args.WriteString(tc.Function.Arguments)
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
	Model           string
	Input           string // JSON text: a string or a list of items
	Instructions    string // JSON text
	Temperature     number
	TopP            number
	MaxOutputTokens count
	Stream          bool
	Tools           []oaTool
}

func (in *oaResponsesRequest) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "model":
			in.Model = d.Str()
		case "input":
			in.Input = d.Raw()
		case "instructions":
			in.Instructions = d.Raw()
		case "temperature":
			in.Temperature = readNumber(d)
		case "top_p":
			in.TopP = readNumber(d)
		case "max_output_tokens":
			in.MaxOutputTokens = readCount(d)
		case "stream":
			in.Stream = d.Bool()
		case "tools":
			in.Tools = decodeList(d, (*oaTool).decode)
		default:
			d.Skip()
		}
	}
}

type oaItem struct {
	Type      string
	ID        string
	Role      string
	Content   oaContent
	CallID    string
	Name      string
	Arguments string
	Output    oaContent
	Summary   []string
}

func (it *oaItem) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "type":
			it.Type = d.Str()
		case "id":
			it.ID = d.Str()
		case "role":
			it.Role = d.Str()
		case "content":
			it.Content.decode(d)
		case "call_id":
			it.CallID = d.Str()
		case "name":
			it.Name = d.Str()
		case "arguments":
			it.Arguments = d.Str()
		case "output":
			it.Output.decode(d)
		case "summary":
			// A list of {"type": "summary_text", "text": ...}.
			it.Summary = decodeList(d, func(text *string, d *decoder) {
				if d.Object() {
					for d.NextKey() {
						if d.Key() == "text" {
							*text = d.Str()
						} else {
							d.Skip()
						}
					}
				}
			})
		default:
			d.Skip()
		}
	}
}

func parseOpenAIResponsesRequest(body string, r *request) {
	var in oaResponsesRequest
	if !decodeBody(body, in.decode) {
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
		if decodeBody(in.Input, func(d *decoder) { items = decodeList(d, (*oaItem).decode) }) {
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
		b.WriteString(s)
	}
	return b.String()
}

type oaResponseObject struct {
	ID     string
	Model  string
	Status string
	Output []oaItem
	Usage  *oaUsage
	Error  *oaErrObj
	// IncompleteReason is incomplete_details.reason.
	IncompleteReason string
}

func (in *oaResponseObject) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "id":
			in.ID = d.Str()
		case "model":
			in.Model = d.Str()
		case "status":
			in.Status = d.Str()
		case "output":
			in.Output = decodeList(d, (*oaItem).decode)
		case "usage":
			in.Usage = decodeOptional(d, (*oaUsage).decode)
		case "error":
			in.Error = decodeOptional(d, (*oaErrObj).decode)
		case "incomplete_details":
			if d.Object() {
				for d.NextKey() {
					if d.Key() == "reason" {
						in.IncompleteReason = d.Str()
					} else {
						d.Skip()
					}
				}
			}
		default:
			d.Skip()
		}
	}
}

func parseOpenAIResponsesResponse(body string) *response {
	var in oaResponseObject
	if !decodeBody(body, in.decode) {
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
		if in.IncompleteReason == "content_filter" {
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
	Type     string
	Response *oaResponseObject
	Item     *oaItem
	Code     string
	Message  string
}

func (ev *oaResponsesEvent) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "type":
			ev.Type = d.Str()
		case "response":
			ev.Response = decodeOptional(d, (*oaResponseObject).decode)
		case "item":
			ev.Item = decodeOptional(d, (*oaItem).decode)
		case "code":
			ev.Code = d.Str()
		case "message":
			ev.Message = d.Str()
		default:
			d.Skip()
		}
	}
}

func (s *oaResponsesStream) event(_, data []byte) {
	var ev oaResponsesEvent
	if !decodeBody(string(data), ev.decode) {
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
	Model          string
	Input          string // JSON text
	EncodingFormat string
	Dimensions     count
}

func (in *oaEmbeddingsRequest) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "model":
			in.Model = d.Str()
		case "input":
			in.Input = d.Raw()
		case "encoding_format":
			in.EncodingFormat = d.Str()
		case "dimensions":
			in.Dimensions = readCount(d)
		default:
			d.Skip()
		}
	}
}

func parseOpenAIEmbeddingsRequest(body string, r *request) {
	var in oaEmbeddingsRequest
	if !decodeBody(body, in.decode) {
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
	Model string
	// First is the JSON text of data[0].embedding; Count counts data.
	First string
	Count int
	Usage *oaUsage
}

func (in *oaEmbeddingsResponse) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "model":
			in.Model = d.Str()
		case "data":
			if d.Array() {
				for d.NextElem() {
					in.Count++
					if !d.Object() {
						continue
					}
					for d.NextKey() {
						if d.Key() == "embedding" && in.Count == 1 {
							in.First = d.Raw()
						} else {
							d.Skip()
						}
					}
				}
			}
		case "usage":
			in.Usage = decodeOptional(d, (*oaUsage).decode)
		default:
			d.Skip()
		}
	}
}

func parseOpenAIEmbeddingsResponse(body string) *response {
	var in oaEmbeddingsResponse
	if !decodeBody(body, in.decode) {
		return nil
	}
	r := &response{model: in.Model, usage: in.Usage.toUsage(), embeddings: in.Count}
	if in.Count > 0 {
		r.dimensions = embeddingDimensions(in.First)
	}
	return r
}

// embeddingDimensions counts the numbers of an embedding: a JSON array of
// floats, or base64 of little-endian float32s.
func embeddingDimensions(raw string) int {
	raw = strings.TrimSpace(raw)
	if len(raw) < 2 {
		return 0
	}
	switch raw[0] {
	case '[':
		if len(strings.TrimSpace(raw[1:len(raw)-1])) == 0 {
			return 0
		}
		return strings.Count(raw, ",") + 1
	case '"':
		b64 := strings.TrimRight(raw[1:len(raw)-1], "=")
		return len(b64) * 6 / 8 / 4
	}
	return 0
}

// --- errors ---

type oaErrObj struct {
	Message string
	Type    string
	Code    string // JSON text: a string, a number or null
}

func (e *oaErrObj) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "message":
			e.Message = d.Str()
		case "type":
			e.Type = d.Str()
		case "code":
			e.Code = d.Raw()
		default:
			d.Skip()
		}
	}
}

// kind is the error's type, else its code.
func (e *oaErrObj) kind() string {
	if e.Type != "" {
		return e.Type
	}
	if s, ok := rawString(e.Code); ok {
		return s
	}
	if e.Code != "" && e.Code != "null" {
		return e.Code
	}
	return ""
}
