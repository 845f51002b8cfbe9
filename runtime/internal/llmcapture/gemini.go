package llmcapture

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
)

// This file parses Gemini's generateContent and streamGenerateContent, on
// the Gemini API and on Vertex AI. The JSON names are camelCase, as the
// SDKs send them; the REST API also takes snake_case, which the fields
// with a second tag accept.

type gmRequest struct {
	Model              string       `json:"model"`
	Contents           []gmContent  `json:"contents"`
	SystemInstruction  *gmContent   `json:"systemInstruction"`
	SystemInstruction2 *gmContent   `json:"system_instruction"`
	GenerationConfig   *gmGenConfig `json:"generationConfig"`
	GenerationConfig2  *gmGenConfig `json:"generation_config"`
	Tools              []gmTool     `json:"tools"`
}

type gmContent struct {
	Role  string   `json:"role"`
	Parts []gmPart `json:"parts"`
}

type gmPart struct {
	Text              *string             `json:"text"`
	Thought           bool                `json:"thought"`
	InlineData        *gmBlob             `json:"inlineData"`
	InlineData2       *gmBlob             `json:"inline_data"`
	FileData          *gmFile             `json:"fileData"`
	FileData2         *gmFile             `json:"file_data"`
	FunctionCall      *gmFunctionCall     `json:"functionCall"`
	FunctionCall2     *gmFunctionCall     `json:"function_call"`
	FunctionResponse  *gmFunctionResponse `json:"functionResponse"`
	FunctionResponse2 *gmFunctionResponse `json:"function_response"`
	ExecutableCode    json.RawMessage     `json:"executableCode"`
	CodeResult        json.RawMessage     `json:"codeExecutionResult"`
}

type gmBlob struct {
	MimeType  string `json:"mimeType"`
	MimeType2 string `json:"mime_type"`
	Data      string `json:"data"`
}

type gmFile struct {
	MimeType  string `json:"mimeType"`
	MimeType2 string `json:"mime_type"`
	FileURI   string `json:"fileUri"`
	FileURI2  string `json:"file_uri"`
}

type gmFunctionCall struct {
	ID   string          `json:"id"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

type gmFunctionResponse struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

type gmGenConfig struct {
	Temperature      *float64 `json:"temperature"`
	TopP             *float64 `json:"topP"`
	TopP2            *float64 `json:"top_p"`
	TopK             *float64 `json:"topK"`
	TopK2            *float64 `json:"top_k"`
	MaxOutputTokens  *int64   `json:"maxOutputTokens"`
	MaxOutputTokens2 *int64   `json:"max_output_tokens"`
	CandidateCount   *int64   `json:"candidateCount"`
	CandidateCount2  *int64   `json:"candidate_count"`
	StopSequences    []string `json:"stopSequences"`
	StopSequences2   []string `json:"stop_sequences"`
	Seed             *int64   `json:"seed"`
	PresencePenalty  *float64 `json:"presencePenalty"`
	PresencePenalty2 *float64 `json:"presence_penalty"`
	FrequencyPenalty *float64 `json:"frequencyPenalty"`
	FreqPenalty2     *float64 `json:"frequency_penalty"`
}

type gmTool struct {
	FunctionDeclarations  []gmFunctionDecl `json:"functionDeclarations"`
	FunctionDeclarations2 []gmFunctionDecl `json:"function_declarations"`
}

type gmFunctionDecl struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	JSONSchema  json.RawMessage `json:"parametersJsonSchema"`
}

func parseGeminiRequest(body []byte, r *request) {
	var in gmRequest
	if json.Unmarshal(body, &in) != nil {
		return
	}
	r.model = strings.TrimPrefix(in.Model, "models/")
	if si := firstNonNil(in.SystemInstruction, in.SystemInstruction2); si != nil {
		r.system = gmParts(si.Parts)
	}
	for _, c := range in.Contents {
		r.messages = append(r.messages, message{role: gmRole(c.Role), parts: gmParts(c.Parts)})
	}
	if g := firstNonNil(in.GenerationConfig, in.GenerationConfig2); g != nil {
		r.temperature.set(g.Temperature)
		r.topP.set(firstNonNil(g.TopP, g.TopP2))
		if k := firstNonNil(g.TopK, g.TopK2); k != nil {
			v := int64(*k)
			r.topK.set(&v)
		}
		r.maxTokens.set(firstNonNil(g.MaxOutputTokens, g.MaxOutputTokens2))
		r.choices.set(firstNonNil(g.CandidateCount, g.CandidateCount2))
		r.seed.set(g.Seed)
		r.presPenalty.set(firstNonNil(g.PresencePenalty, g.PresencePenalty2))
		r.frequencyPenalty.set(firstNonNil(g.FrequencyPenalty, g.FreqPenalty2))
		r.stop = g.StopSequences
		if r.stop == nil {
			r.stop = g.StopSequences2
		}
	}
	for _, t := range in.Tools {
		decls := t.FunctionDeclarations
		if decls == nil {
			decls = t.FunctionDeclarations2
		}
		for _, d := range decls {
			params := d.Parameters
			if len(params) == 0 {
				params = d.JSONSchema
			}
			r.tools = append(r.tools, toolDef{kind: "function", name: d.Name, description: d.Description, params: decodeRaw(params)})
		}
	}
}

func firstNonNil[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// gmRole maps Gemini's "model" to the conventions' "assistant".
func gmRole(role string) string {
	if role == "model" {
		return "assistant"
	}
	return role
}

func gmParts(in []gmPart) []part {
	parts := make([]part, 0, len(in))
	for _, p := range in {
		switch {
		case p.Text != nil && p.Thought:
			parts = append(parts, part{kind: "reasoning", text: *p.Text})
		case p.Text != nil:
			parts = append(parts, part{kind: "text", text: *p.Text})
		case p.InlineData != nil || p.InlineData2 != nil:
			b := firstNonNil(p.InlineData, p.InlineData2)
			mime := b.MimeType + b.MimeType2
			parts = append(parts, part{kind: "blob", mime: mime, modality: modalityOf(mime), data: b.Data})
		case p.FileData != nil || p.FileData2 != nil:
			f := firstNonNil(p.FileData, p.FileData2)
			mime := f.MimeType + f.MimeType2
			parts = append(parts, part{kind: "uri", mime: mime, modality: modalityOf(mime), uri: f.FileURI + f.FileURI2})
		case p.FunctionCall != nil || p.FunctionCall2 != nil:
			fc := firstNonNil(p.FunctionCall, p.FunctionCall2)
			args := decodeRaw(fc.Args)
			if args == nil {
				args = map[string]any{}
			}
			parts = append(parts, part{kind: "tool_call", id: fc.ID, name: fc.Name, args: args})
		case p.FunctionResponse != nil || p.FunctionResponse2 != nil:
			fr := firstNonNil(p.FunctionResponse, p.FunctionResponse2)
			parts = append(parts, part{kind: "tool_call_response", id: fr.ID, name: fr.Name, response: decodeRaw(fr.Response)})
		case len(p.ExecutableCode) > 0:
			parts = append(parts, part{kind: "executable_code"})
		case len(p.CodeResult) > 0:
			parts = append(parts, part{kind: "code_execution_result"})
		}
	}
	return parts
}

type gmResponse struct {
	Candidates []struct {
		Index        int       `json:"index"`
		Content      gmContent `json:"content"`
		FinishReason string    `json:"finishReason"`
	} `json:"candidates"`
	UsageMetadata *struct {
		PromptTokenCount        *int64 `json:"promptTokenCount"`
		CandidatesTokenCount    *int64 `json:"candidatesTokenCount"`
		TotalTokenCount         *int64 `json:"totalTokenCount"`
		CachedContentTokenCount *int64 `json:"cachedContentTokenCount"`
		ThoughtsTokenCount      *int64 `json:"thoughtsTokenCount"`
		ToolUsePromptTokenCount *int64 `json:"toolUsePromptTokenCount"`
	} `json:"usageMetadata"`
	ModelVersion string `json:"modelVersion"`
	ResponseID   string `json:"responseId"`
	Error        *gmErr `json:"error"`
}

type gmErr struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
}

// usage converts Gemini's counts: input includes the tool-use prompt,
// output includes the thoughts, as the conventions count them.
func (g *gmResponse) usage() (usage, bool) {
	var u usage
	m := g.UsageMetadata
	if m == nil {
		return u, false
	}
	u.input.add(m.PromptTokenCount)
	u.input.add(m.ToolUsePromptTokenCount)
	u.output.add(m.CandidatesTokenCount)
	u.output.add(m.ThoughtsTokenCount)
	u.reasoning.set(m.ThoughtsTokenCount)
	u.cacheRead.set(m.CachedContentTokenCount)
	u.total.set(m.TotalTokenCount)
	return u, true
}

func parseGeminiResponse(body []byte) *response {
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '[' {
		// streamGenerateContent without alt=sse: a JSON array of the
		// responses a stream's events would carry.
		var chunks []json.RawMessage
		if json.Unmarshal(b, &chunks) != nil {
			return nil
		}
		s := &gmStream{}
		for _, c := range chunks {
			s.event(nil, c)
		}
		return s.result()
	}
	var in gmResponse
	if json.Unmarshal(body, &in) != nil {
		return nil
	}
	r := &response{id: in.ResponseID, model: in.ModelVersion}
	r.usage, _ = in.usage()
	for _, c := range in.Candidates {
		finish := strings.ToLower(c.FinishReason)
		r.output = append(r.output, message{role: "assistant", parts: gmParts(c.Content.Parts), finish: finish})
		r.finishReasons = append(r.finishReasons, finish)
	}
	return r
}

// gmStream accumulates a streamGenerateContent stream (alt=sse): each
// event is a GenerateContentResponse with the next parts of each candidate
// and the usage so far.
type gmStream struct {
	r          response
	candidates map[int]*gmCandidateAcc
}

type gmCandidateAcc struct {
	parts  []part
	finish string
	// tail is the text of a text or reasoning part still being streamed,
	// of kind tailKind.
	tail     strings.Builder
	tailKind string
}

// add appends p, joining consecutive text (or thought) chunks into one part.
func (acc *gmCandidateAcc) add(p part) {
	if p.kind == "text" || p.kind == "reasoning" {
		if acc.tailKind != p.kind {
			acc.flush()
			acc.tailKind = p.kind
		}
		acc.tail.WriteString(p.text)
		return
	}
	acc.flush()
	acc.parts = append(acc.parts, p)
}

// flush ends the part being streamed.
func (acc *gmCandidateAcc) flush() {
	if acc.tailKind != "" {
		acc.parts = append(acc.parts, part{kind: acc.tailKind, text: acc.tail.String()})
		acc.tail.Reset()
		acc.tailKind = ""
	}
}

func (s *gmStream) event(_, data []byte) {
	var in gmResponse
	if json.Unmarshal(data, &in) != nil {
		return
	}
	if in.Error != nil {
		s.r.errType, s.r.errMessage = in.Error.Status, in.Error.Message
	}
	if in.ResponseID != "" {
		s.r.id = in.ResponseID
	}
	if in.ModelVersion != "" {
		s.r.model = in.ModelVersion
	}
	if u, ok := in.usage(); ok {
		s.r.usage = u
	}
	for _, c := range in.Candidates {
		if s.candidates == nil {
			s.candidates = make(map[int]*gmCandidateAcc, 1)
		}
		acc := s.candidates[c.Index]
		if acc == nil {
			acc = &gmCandidateAcc{}
			s.candidates[c.Index] = acc
		}
		for _, p := range gmParts(c.Content.Parts) {
			acc.add(p)
		}
		if c.FinishReason != "" {
			acc.finish = strings.ToLower(c.FinishReason)
			s.r.complete = true
		}
	}
}

func (s *gmStream) result() *response {
	r := s.r
	keys := make([]int, 0, len(s.candidates))
	for k := range s.candidates {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, k := range keys {
		acc := s.candidates[k]
		acc.flush()
		r.output = append(r.output, message{role: "assistant", parts: acc.parts, finish: acc.finish})
		r.finishReasons = append(r.finishReasons, acc.finish)
	}
	return &r
}
