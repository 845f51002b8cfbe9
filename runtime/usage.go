package overmind

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// UsageFrom reads the token usage off an LLM provider's response, for
// [SetUsage]: mv37's usage_from_openai and usage_from_anthropic in one
// function. response is one of
//
//   - a response of openai-go (*openai.ChatCompletion, *responses.Response,
//     a ChatCompletionAccumulator, ...), anthropic-sdk-go (*anthropic.Message,
//     the Message a stream accumulates), google.golang.org/genai
//     (*genai.GenerateContentResponse) or github.com/sashabaranov/go-openai;
//   - the usage value itself (openai.CompletionUsage, anthropic.Usage,
//     *genai.GenerateContentResponseUsageMetadata, ...);
//   - the raw JSON of a response or of its usage, as []byte,
//     json.RawMessage or string.
//
// The runtime imports none of those SDKs: it finds the field named Usage
// or UsageMetadata by reflection and reads the JSON the SDK's types encode
// to (rather than the raw JSON the SDKs keep, which the stream
// accumulators leave as the first event had it). The counts are those of the GenAI conventions, as the provider
// capture records them: InputTokens includes the tokens read from and
// written to the prompt cache (Anthropic reports them apart), OutputTokens
// includes the reasoning tokens (Gemini reports its thoughts apart). The
// result is the zero Usage when response holds no usage it recognizes.
func UsageFrom(response any) Usage {
	data, ok := usageJSON(response)
	if !ok {
		return Usage{}
	}
	return parseUsage(data)
}

// usageJSON returns the JSON of response's usage, or of response itself
// when no usage field is found.
func usageJSON(response any) (data []byte, ok bool) {
	defer func() {
		if recover() != nil { // a MarshalJSON or a getter that panics
			data, ok = nil, false
		}
	}()
	switch r := response.(type) {
	case nil:
		return nil, false
	case []byte:
		return r, true
	case json.RawMessage:
		return r, true
	case string:
		return []byte(r), true
	}
	v := reflect.ValueOf(response)
	if u, found := usageField(v); found {
		v = u
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil, false
		}
		v = v.Elem()
	}
	data, err := json.Marshal(v.Interface())
	return data, err == nil
}

// usageField returns the field named Usage or UsageMetadata of the struct
// v is or points to, promoted fields included.
func usageField(v reflect.Value) (reflect.Value, bool) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return reflect.Value{}, false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	for _, name := range [...]string{"Usage", "UsageMetadata"} {
		f, ok := v.Type().FieldByName(name)
		if !ok || !f.IsExported() {
			continue
		}
		fv, err := v.FieldByIndexErr(f.Index)
		if err != nil {
			continue // through a nil embedded pointer
		}
		if (fv.Kind() == reflect.Pointer || fv.Kind() == reflect.Interface) && fv.IsNil() {
			return reflect.Value{}, false // the response has no usage
		}
		return fv, true
	}
	return reflect.Value{}, false
}

// count is a token count that may be absent.
type count = *int64

// usageObject holds every usage field the providers send; the JSON may be
// the usage object or a whole response that has one.
type usageObject struct {
	// OpenAI chat completions (and go-openai).
	PromptTokens        count `json:"prompt_tokens"`
	CompletionTokens    count `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens count `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens count `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
	// OpenAI responses, and Anthropic.
	InputTokens        count `json:"input_tokens"`
	OutputTokens       count `json:"output_tokens"`
	TotalTokens        count `json:"total_tokens"`
	InputTokensDetails *struct {
		CachedTokens count `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokensDetails *struct {
		ReasoningTokens count `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	// Anthropic: input_tokens leaves these out.
	CacheReadInputTokens     count `json:"cache_read_input_tokens"`
	CacheCreationInputTokens count `json:"cache_creation_input_tokens"`
	// Gemini, in the API's and the Go SDK's camelCase.
	PromptTokenCount        count `json:"promptTokenCount"`
	CandidatesTokenCount    count `json:"candidatesTokenCount"`
	TotalTokenCount         count `json:"totalTokenCount"`
	CachedContentTokenCount count `json:"cachedContentTokenCount"`
	ThoughtsTokenCount      count `json:"thoughtsTokenCount"`
	ToolUsePromptTokenCount count `json:"toolUsePromptTokenCount"`
}

// envelope is a whole response: the usage is one of its fields.
type envelope struct {
	Usage         json.RawMessage `json:"usage"`
	UsageMetadata json.RawMessage `json:"usageMetadata"`
	// A stream event of Anthropic carries the usage in its message.
	Message *struct {
		Usage json.RawMessage `json:"usage"`
	} `json:"message"`
}

// parseUsage reads usage from JSON, converting each provider's counts to
// the conventions'.
func parseUsage(data []byte) Usage {
	data = bytes.TrimSpace(data)
	var env envelope
	if json.Unmarshal(data, &env) != nil {
		return Usage{}
	}
	switch {
	case isObject(env.Usage):
		data = env.Usage
	case isObject(env.UsageMetadata):
		data = env.UsageMetadata
	case env.Message != nil && isObject(env.Message.Usage):
		data = env.Message.Usage
	}
	var o usageObject
	if json.Unmarshal(data, &o) != nil {
		return Usage{}
	}
	return o.usage()
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

func (o *usageObject) usage() Usage {
	switch {
	case o.PromptTokenCount != nil || o.CandidatesTokenCount != nil || o.TotalTokenCount != nil:
		return o.gemini()
	case o.CacheReadInputTokens != nil || o.CacheCreationInputTokens != nil:
		return o.anthropic()
	}
	return o.openAI()
}

// openAI reads chat completions' and responses' usage: the input includes
// the cached tokens, the output the reasoning tokens, as the conventions
// count them.
func (o *usageObject) openAI() Usage {
	u := Usage{
		InputTokens:  first(o.PromptTokens, o.InputTokens),
		OutputTokens: first(o.CompletionTokens, o.OutputTokens),
		TotalTokens:  value(o.TotalTokens),
	}
	if d := o.PromptTokensDetails; d != nil {
		u.CachedTokens = value(d.CachedTokens)
	}
	if d := o.InputTokensDetails; d != nil && u.CachedTokens == 0 {
		u.CachedTokens = value(d.CachedTokens)
	}
	if d := o.CompletionTokensDetails; d != nil {
		u.ReasoningTokens = value(d.ReasoningTokens)
	}
	if d := o.OutputTokensDetails; d != nil && u.ReasoningTokens == 0 {
		u.ReasoningTokens = value(d.ReasoningTokens)
	}
	return u
}

// anthropic reads Anthropic's usage, whose input_tokens leaves out the
// tokens read from and written to the cache.
func (o *usageObject) anthropic() Usage {
	read, created := value(o.CacheReadInputTokens), value(o.CacheCreationInputTokens)
	u := Usage{
		InputTokens:         value(o.InputTokens) + read + created,
		OutputTokens:        value(o.OutputTokens),
		CachedTokens:        read,
		CacheCreationTokens: created,
	}
	u.TotalTokens = u.InputTokens + u.OutputTokens
	return u
}

// gemini reads Gemini's usage metadata: the input includes the tool-use
// prompt, the output the thoughts.
func (o *usageObject) gemini() Usage {
	return Usage{
		InputTokens:     value(o.PromptTokenCount) + value(o.ToolUsePromptTokenCount),
		OutputTokens:    value(o.CandidatesTokenCount) + value(o.ThoughtsTokenCount),
		ReasoningTokens: value(o.ThoughtsTokenCount),
		CachedTokens:    value(o.CachedContentTokenCount),
		TotalTokens:     value(o.TotalTokenCount),
	}
}

func value(c count) int64 {
	if c == nil {
		return 0
	}
	return *c
}

func first(cs ...count) int64 {
	for _, c := range cs {
		if c != nil {
			return *c
		}
	}
	return 0
}
