package overmind

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The provider SDKs are not imported here (their tests live in a module
// of their own). These types copy the shape of theirs that UsageFrom
// relies on: openai-go's and anthropic-sdk-go's generated response types
// (json tags, an "api" tag, a JSON metadata field that encoding/json
// skips, RawJSON, stream accumulators that embed the response), and
// genai's (camelCase tags with omitempty, a pointer to the usage
// metadata, a MarshalJSON of its own on the response). The JSON in
// testdata/usage is that of the providers' responses.

type respMeta struct {
	raw string
}

type oaPromptDetails struct {
	CachedTokens int64 `json:"cached_tokens"`
	AudioTokens  int64 `json:"audio_tokens"`
}

type oaCompletionDetails struct {
	ReasoningTokens int64 `json:"reasoning_tokens"`
	AudioTokens     int64 `json:"audio_tokens"`
}

type oaCompletionUsage struct {
	CompletionTokens        int64               `json:"completion_tokens" api:"required"`
	PromptTokens            int64               `json:"prompt_tokens" api:"required"`
	TotalTokens             int64               `json:"total_tokens" api:"required"`
	CompletionTokensDetails oaCompletionDetails `json:"completion_tokens_details"`
	PromptTokensDetails     oaPromptDetails     `json:"prompt_tokens_details"`
	JSON                    respMeta            `json:"-"`
}

func (r oaCompletionUsage) RawJSON() string { return r.JSON.raw }

type oaChatCompletion struct {
	ID    string            `json:"id" api:"required"`
	Model string            `json:"model" api:"required"`
	Usage oaCompletionUsage `json:"usage"`
	JSON  respMeta          `json:"-"`
}

func (r oaChatCompletion) RawJSON() string { return r.JSON.raw }

// oaChatCompletionAccumulator embeds the completion, as openai-go's does.
type oaChatCompletionAccumulator struct {
	oaChatCompletion
	choiceStates []int
}

type oaResponseUsage struct {
	InputTokens        int64 `json:"input_tokens" api:"required"`
	InputTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens" api:"required"`
	} `json:"input_tokens_details" api:"required"`
	OutputTokens        int64 `json:"output_tokens" api:"required"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens" api:"required"`
	} `json:"output_tokens_details" api:"required"`
	TotalTokens int64    `json:"total_tokens" api:"required"`
	JSON        respMeta `json:"-"`
}

type oaResponse struct {
	ID    string          `json:"id"`
	Usage oaResponseUsage `json:"usage"`
}

type anUsage struct {
	CacheCreationInputTokens int64    `json:"cache_creation_input_tokens" api:"required"`
	CacheReadInputTokens     int64    `json:"cache_read_input_tokens" api:"required"`
	InputTokens              int64    `json:"input_tokens" api:"required"`
	OutputTokens             int64    `json:"output_tokens" api:"required"`
	ServiceTier              string   `json:"service_tier" api:"required"`
	JSON                     respMeta `json:"-"`
}

func (r anUsage) RawJSON() string { return r.JSON.raw }

type anMessage struct {
	ID    string   `json:"id" api:"required"`
	Model string   `json:"model" api:"required"`
	Usage anUsage  `json:"usage" api:"required"`
	JSON  respMeta `json:"-"`
}

type gmUsageMetadata struct {
	CachedContentTokenCount int32 `json:"cachedContentTokenCount,omitempty"`
	CandidatesTokenCount    int32 `json:"candidatesTokenCount,omitempty"`
	PromptTokenCount        int32 `json:"promptTokenCount,omitempty"`
	ThoughtsTokenCount      int32 `json:"thoughtsTokenCount,omitempty"`
	ToolUsePromptTokenCount int32 `json:"toolUsePromptTokenCount,omitempty"`
	TotalTokenCount         int32 `json:"totalTokenCount,omitempty"`
}

type gmResponse struct {
	ModelVersion  string           `json:"modelVersion,omitempty"`
	UsageMetadata *gmUsageMetadata `json:"usageMetadata,omitempty"`
}

// MarshalJSON stands for genai's own; UsageFrom reads the usage field
// and never needs it.
func (r *gmResponse) MarshalJSON() ([]byte, error) { panic("gmResponse.MarshalJSON called") }

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "usage", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The usage each fixture reports, counted as the conventions count it.
var (
	wantOpenAIChat = Usage{InputTokens: 1117, OutputTokens: 46, CachedTokens: 1024, ReasoningTokens: 30, TotalTokens: 1163}
	wantResponses  = Usage{InputTokens: 36, OutputTokens: 87, ReasoningTokens: 64, TotalTokens: 123}
	// Anthropic's input_tokens (21) leaves out the cache reads and writes.
	wantAnthropic = Usage{InputTokens: 2121, OutputTokens: 14, CachedTokens: 2000, CacheCreationTokens: 100, TotalTokens: 2135}
	// Gemini's candidates (8) leave out the thoughts (30).
	wantGemini = Usage{InputTokens: 14, OutputTokens: 38, ReasoningTokens: 30, CachedTokens: 4, TotalTokens: 52}
)

func TestUsageFromRawJSON(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]Usage{
		"openai_chat.json":       wantOpenAIChat,
		"openai_responses.json":  wantResponses,
		"anthropic_message.json": wantAnthropic,
		"gemini.json":            wantGemini,
	} {
		raw := fixture(t, name)
		for _, in := range []any{raw, json.RawMessage(raw), string(raw)} {
			if got := UsageFrom(in); got != want {
				t.Errorf("%s as %T: %+v, want %+v", name, in, got, want)
			}
		}
	}
	// The usage object alone.
	if got := UsageFrom(`{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}`); got != (Usage{InputTokens: 3, OutputTokens: 2, TotalTokens: 5}) {
		t.Errorf("usage object: %+v", got)
	}
	// An Anthropic stream's message_start event.
	if got := UsageFrom(`{"type":"message_start","message":{"usage":{"input_tokens":5,"cache_read_input_tokens":0,"output_tokens":1}}}`); got != (Usage{InputTokens: 5, OutputTokens: 1, TotalTokens: 6}) {
		t.Errorf("message_start: %+v", got)
	}
}

func TestUsageFromSDKValues(t *testing.T) {
	t.Parallel()
	var chat oaChatCompletion
	if err := json.Unmarshal(fixture(t, "openai_chat.json"), &chat); err != nil {
		t.Fatal(err)
	}
	var resp oaResponse
	if err := json.Unmarshal(fixture(t, "openai_responses.json"), &resp); err != nil {
		t.Fatal(err)
	}
	var msg anMessage
	if err := json.Unmarshal(fixture(t, "anthropic_message.json"), &msg); err != nil {
		t.Fatal(err)
	}
	var gmFields struct {
		ModelVersion  string           `json:"modelVersion"`
		UsageMetadata *gmUsageMetadata `json:"usageMetadata"`
	}
	if err := json.Unmarshal(fixture(t, "gemini.json"), &gmFields); err != nil {
		t.Fatal(err)
	}
	gm := gmResponse(gmFields)

	// A stream accumulator updates the usage fields but keeps the raw
	// JSON of the first event: the fields are what counts.
	streamed := anMessage{Usage: anUsage{InputTokens: 21, CacheCreationInputTokens: 100, CacheReadInputTokens: 2000, OutputTokens: 14,
		JSON: respMeta{raw: `{"input_tokens":21,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":1}`}}}

	cases := []struct {
		name string
		in   any
		want Usage
	}{
		{"*ChatCompletion", &chat, wantOpenAIChat},
		{"ChatCompletion", chat, wantOpenAIChat},
		{"ChatCompletionAccumulator", &oaChatCompletionAccumulator{oaChatCompletion: chat}, wantOpenAIChat},
		{"CompletionUsage", chat.Usage, wantOpenAIChat},
		{"*responses.Response", &resp, wantResponses},
		{"*anthropic.Message", &msg, wantAnthropic},
		{"accumulated anthropic.Message", streamed, wantAnthropic},
		{"anthropic.Usage", msg.Usage, wantAnthropic},
		{"*genai.GenerateContentResponse", &gm, wantGemini},
		{"*genai.GenerateContentResponseUsageMetadata", gm.UsageMetadata, wantGemini},
	}
	for _, c := range cases {
		if got := UsageFrom(c.in); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

type panicky struct{ Usage panickyUsage }
type panickyUsage struct{}

func (panickyUsage) MarshalJSON() ([]byte, error) { panic("broken") }

func TestUsageFromNothing(t *testing.T) {
	t.Parallel()
	var nilResp *oaChatCompletion
	for name, in := range map[string]any{
		"nil":                     nil,
		"nil pointer":             nilResp,
		"no usage in a response":  &gmResponse{ModelVersion: "gemini-2.5-flash"},
		"unrelated struct":        struct{ Name string }{"x"},
		"invalid JSON":            "{not json",
		"JSON array":              "[1,2]",
		"a panicking MarshalJSON": panicky{},
		"a channel":               make(chan int),
	} {
		if got := UsageFrom(in); got != (Usage{}) {
			t.Errorf("%s: %+v, want the zero Usage", name, got)
		}
	}
}
