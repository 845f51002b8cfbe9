package llmcapture

import (
	"sort"
	"strings"

	"github.com/overmind-core/overmind-go/runtime/internal/llmcapture/jsonscan"
)

// This file is Gemini's generateContent and streamGenerateContent, on
// the Gemini API and on Vertex AI. The JSON names are camelCase, as the
// SDKs send them; the REST API also takes snake_case, which the fields
// with a second tag accept.

// geminiAPI is the Gemini API.
var geminiAPI = &api{name: "google", provider: "gcp.gemini", match: matchGemini,
	operations: []*operation{opGeminiGenerate}}

// opGeminiGenerate is generateContent and streamGenerateContent.
var opGeminiGenerate = &operation{name: "generate_content", request: parseGeminiRequest,
	response: parseGeminiResponse, stream: func() stream { return &gmStream{} }, modelPrefix: "models/"}

// matchGemini recognises .../models/{model}:generateContent and
// :streamGenerateContent, on the Gemini API and on Vertex AI
// (.../publishers/google/models/{model}:...).
func matchGemini(path string) (endpoint, bool) {
	slash := strings.LastIndexByte(path, '/')
	last := path[slash+1:]
	model, method, ok := strings.Cut(last, ":")
	if !ok {
		return endpoint{}, false
	}
	ep := endpoint{op: opGeminiGenerate}
	switch method {
	case "generateContent":
	case "streamGenerateContent":
		ep.pathStream = true
	default:
		return endpoint{}, false
	}
	ep.pathModel = unescapePath(model)
	return ep, true
}

type gmRequest struct {
	Model              string
	Contents           []gmContent
	SystemInstruction  *gmContent
	SystemInstruction2 *gmContent // system_instruction
	GenerationConfig   *gmGenConfig
	GenerationConfig2  *gmGenConfig // generation_config
	Tools              []gmTool
}

func (in *gmRequest) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "model":
			in.Model = d.Str()
		case "contents":
			in.Contents = decodeList(d, (*gmContent).decode)
		case "systemInstruction":
			in.SystemInstruction = decodeOptional(d, (*gmContent).decode)
		case "system_instruction":
			in.SystemInstruction2 = decodeOptional(d, (*gmContent).decode)
		case "generationConfig":
			in.GenerationConfig = decodeOptional(d, (*gmGenConfig).decode)
		case "generation_config":
			in.GenerationConfig2 = decodeOptional(d, (*gmGenConfig).decode)
		case "tools":
			in.Tools = decodeList(d, (*gmTool).decode)
		default:
			d.Skip()
		}
	}
}

type gmContent struct {
	Role  string
	Parts []gmPart
}

func (c *gmContent) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "role":
			c.Role = d.Str()
		case "parts":
			c.Parts = decodeList(d, (*gmPart).decode)
		default:
			d.Skip()
		}
	}
}

// gmPart is a part; the fields with a 2 are the snake_case spellings.
type gmPart struct {
	Text              jsonscan.Literal
	HasText           bool
	Thought           bool
	InlineData        *gmBlob
	InlineData2       *gmBlob
	FileData          *gmFile
	FileData2         *gmFile
	FunctionCall      *gmFunctionCall
	FunctionCall2     *gmFunctionCall
	FunctionResponse  *gmFunctionResponse
	FunctionResponse2 *gmFunctionResponse
	ExecutableCode    string // JSON text
	CodeResult        string // JSON text
}

func (p *gmPart) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "text":
			p.Text, p.HasText = d.StrLiteral()
		case "thought":
			p.Thought = d.Bool()
		case "inlineData":
			p.InlineData = decodeOptional(d, (*gmBlob).decode)
		case "inline_data":
			p.InlineData2 = decodeOptional(d, (*gmBlob).decode)
		case "fileData":
			p.FileData = decodeOptional(d, (*gmFile).decode)
		case "file_data":
			p.FileData2 = decodeOptional(d, (*gmFile).decode)
		case "functionCall":
			p.FunctionCall = decodeOptional(d, (*gmFunctionCall).decode)
		case "function_call":
			p.FunctionCall2 = decodeOptional(d, (*gmFunctionCall).decode)
		case "functionResponse":
			p.FunctionResponse = decodeOptional(d, (*gmFunctionResponse).decode)
		case "function_response":
			p.FunctionResponse2 = decodeOptional(d, (*gmFunctionResponse).decode)
		case "executableCode":
			p.ExecutableCode = d.Raw()
		case "codeExecutionResult":
			p.CodeResult = d.Raw()
		default:
			d.Skip()
		}
	}
}

type gmBlob struct {
	MimeType  string
	MimeType2 string
	Data      string
}

func (b *gmBlob) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "mimeType":
			b.MimeType = d.Str()
		case "mime_type":
			b.MimeType2 = d.Str()
		case "data":
			b.Data = d.Str()
		default:
			d.Skip()
		}
	}
}

type gmFile struct {
	MimeType  string
	MimeType2 string
	FileURI   string
	FileURI2  string
}

func (f *gmFile) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "mimeType":
			f.MimeType = d.Str()
		case "mime_type":
			f.MimeType2 = d.Str()
		case "fileUri":
			f.FileURI = d.Str()
		case "file_uri":
			f.FileURI2 = d.Str()
		default:
			d.Skip()
		}
	}
}

type gmFunctionCall struct {
	ID   string
	Name string
	Args string // JSON text
}

func (fc *gmFunctionCall) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "id":
			fc.ID = d.Str()
		case "name":
			fc.Name = d.Str()
		case "args":
			fc.Args = d.Raw()
		default:
			d.Skip()
		}
	}
}

type gmFunctionResponse struct {
	ID       string
	Name     string
	Response string // JSON text
}

func (fr *gmFunctionResponse) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "id":
			fr.ID = d.Str()
		case "name":
			fr.Name = d.Str()
		case "response":
			fr.Response = d.Raw()
		default:
			d.Skip()
		}
	}
}

// gmGenConfig is a generation config; the fields with a 2 are the
// snake_case spellings.
type gmGenConfig struct {
	Temperature      number
	TopP             number
	TopP2            number
	TopK             number
	TopK2            number
	MaxOutputTokens  count
	MaxOutputTokens2 count
	CandidateCount   count
	CandidateCount2  count
	StopSequences    []string
	StopSequences2   []string
	Seed             count
	PresencePenalty  number
	PresencePenalty2 number
	FrequencyPenalty number
	FreqPenalty2     number
}

func (g *gmGenConfig) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "temperature":
			g.Temperature = readNumber(d)
		case "topP":
			g.TopP = readNumber(d)
		case "top_p":
			g.TopP2 = readNumber(d)
		case "topK":
			g.TopK = readNumber(d)
		case "top_k":
			g.TopK2 = readNumber(d)
		case "maxOutputTokens":
			g.MaxOutputTokens = readCount(d)
		case "max_output_tokens":
			g.MaxOutputTokens2 = readCount(d)
		case "candidateCount":
			g.CandidateCount = readCount(d)
		case "candidate_count":
			g.CandidateCount2 = readCount(d)
		case "stopSequences":
			g.StopSequences = decodeStrings(d)
		case "stop_sequences":
			g.StopSequences2 = decodeStrings(d)
		case "seed":
			g.Seed = readCount(d)
		case "presencePenalty":
			g.PresencePenalty = readNumber(d)
		case "presence_penalty":
			g.PresencePenalty2 = readNumber(d)
		case "frequencyPenalty":
			g.FrequencyPenalty = readNumber(d)
		case "frequency_penalty":
			g.FreqPenalty2 = readNumber(d)
		default:
			d.Skip()
		}
	}
}

type gmTool struct {
	FunctionDeclarations  []gmFunctionDecl
	FunctionDeclarations2 []gmFunctionDecl // function_declarations
}

func (t *gmTool) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "functionDeclarations":
			t.FunctionDeclarations = decodeList(d, (*gmFunctionDecl).decode)
		case "function_declarations":
			t.FunctionDeclarations2 = decodeList(d, (*gmFunctionDecl).decode)
		default:
			d.Skip()
		}
	}
}

type gmFunctionDecl struct {
	Name        string
	Description string
	Parameters  string // JSON text
	JSONSchema  string // JSON text of parametersJsonSchema
}

func (f *gmFunctionDecl) decode(d *decoder) {
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
		case "parametersJsonSchema":
			f.JSONSchema = d.Raw()
		default:
			d.Skip()
		}
	}
}

func parseGeminiRequest(body string, r *request) {
	var in gmRequest
	if !decodeBody(body, in.decode) {
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
		r.topP.set(g.TopP.or(g.TopP2))
		if k := g.TopK.or(g.TopK2); k.ok {
			r.topK.set(count{v: int64(k.v), ok: true})
		}
		r.maxTokens.set(g.MaxOutputTokens.or(g.MaxOutputTokens2))
		r.choices.set(g.CandidateCount.or(g.CandidateCount2))
		r.seed.set(g.Seed)
		r.presPenalty.set(g.PresencePenalty.or(g.PresencePenalty2))
		r.frequencyPenalty.set(g.FrequencyPenalty.or(g.FreqPenalty2))
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
			if params == "" {
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
		case p.HasText && p.Thought:
			parts = append(parts, textPart("reasoning", p.Text))
		case p.HasText:
			parts = append(parts, textPart("text", p.Text))
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
	Candidates    []gmCandidate
	UsageMetadata *gmUsage
	ModelVersion  string
	ResponseID    string
	Error         *gmErr
}

type gmCandidate struct {
	Index        int
	Content      gmContent
	FinishReason string
}

type gmUsage struct {
	PromptTokenCount        count
	CandidatesTokenCount    count
	TotalTokenCount         count
	CachedContentTokenCount count
	ThoughtsTokenCount      count
	ToolUsePromptTokenCount count
}

type gmErr struct {
	Message string
	Status  string
}

func (in *gmResponse) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "candidates":
			in.Candidates = decodeList(d, (*gmCandidate).decode)
		case "usageMetadata":
			in.UsageMetadata = decodeOptional(d, (*gmUsage).decode)
		case "modelVersion":
			in.ModelVersion = d.Str()
		case "responseId":
			in.ResponseID = d.Str()
		case "error":
			in.Error = decodeOptional(d, (*gmErr).decode)
		default:
			d.Skip()
		}
	}
}

func (c *gmCandidate) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "index":
			c.Index = readInt(d)
		case "content":
			c.Content.decode(d)
		case "finishReason":
			c.FinishReason = d.Str()
		default:
			d.Skip()
		}
	}
}

func (u *gmUsage) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "promptTokenCount":
			u.PromptTokenCount = readCount(d)
		case "candidatesTokenCount":
			u.CandidatesTokenCount = readCount(d)
		case "totalTokenCount":
			u.TotalTokenCount = readCount(d)
		case "cachedContentTokenCount":
			u.CachedContentTokenCount = readCount(d)
		case "thoughtsTokenCount":
			u.ThoughtsTokenCount = readCount(d)
		case "toolUsePromptTokenCount":
			u.ToolUsePromptTokenCount = readCount(d)
		default:
			d.Skip()
		}
	}
}

func (e *gmErr) decode(d *decoder) {
	if !d.Object() {
		return
	}
	for d.NextKey() {
		switch d.Key() {
		case "message":
			e.Message = d.Str()
		case "status":
			e.Status = d.Str()
		default:
			d.Skip()
		}
	}
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

func parseGeminiResponse(body string) *response {
	text := body
	if b := strings.TrimSpace(text); len(b) > 0 && b[0] == '[' {
		// streamGenerateContent without alt=sse: a JSON array of the
		// responses a stream's events would carry.
		var chunks []string
		if !decodeBody(b, func(d *decoder) { chunks = decodeList(d, func(c *string, d *decoder) { *c = d.Raw() }) }) {
			return nil
		}
		s := &gmStream{}
		for _, c := range chunks {
			s.add(c)
		}
		return s.result()
	}
	var in gmResponse
	if !decodeBody(text, in.decode) {
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
		acc.tail.WriteString(p.content())
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
	s.add(string(data))
}

// add takes the next response of the stream.
func (s *gmStream) add(data string) {
	var in gmResponse
	if !decodeBody(data, in.decode) {
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
