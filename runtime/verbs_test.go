package overmind

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

type refund struct {
	Order  string `json:"order"`
	APIKey string `json:"api_key"`
}

func TestRecordInputOutput(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx, span := StartSpan(context.Background(), SpanTypeRetrieval, "search_docs")
	RecordInput(ctx, map[string]any{"query": "first"})
	RecordInput(ctx, map[string]any{"query": "refund policy"}) // the last call wins
	RecordOutput(ctx, refund{Order: "4421", APIKey: "sk-live"})
	span.End()
	func() { // without a span in ctx: the goroutine's current span
		om := Enter(SpanTypeTool, "tool", "p.tool", nil)
		if om != nil {
			defer func() { om.Exit(recover(), nil, nil) }()
		}
		RecordOutput(context.Background(), []int{1, 2})
	}()
	spans := endedByName(t, rec.Ended())
	s := spans["search_docs"]
	wantAttr(t, s, "overmind.span.type", "retrieval")
	wantAttr(t, s, "inputs", `{"query":"refund policy"}`)
	wantAttr(t, s, "outputs", `{"order":"4421","api_key":"<redacted>"}`)
	wantAttr(t, spans["tool"], "outputs", `[1,2]`)
}

func TestRecordInputWithoutSensitiveData(t *testing.T) {
	rec := recordForTest(t, Config{})
	SetIncludeSensitiveData(false)
	ctx, span := StartToolSpan(context.Background(), "issue_refund", refund{Order: "4421"})
	RecordInput(ctx, "secret")
	RecordOutput(ctx, "secret")
	RecordMessage(ctx, Message{Role: "user", Content: "secret"})
	span.End()
	s := onlySpan(t, rec.Ended())
	for _, key := range []string{"inputs", "outputs", "gen_ai.input.messages"} {
		wantNoAttr(t, s, key)
	}
	wantAttr(t, s, "tool.name", "issue_refund")
}

func TestStartToolSpan(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx, call := StartToolSpan(context.Background(), "issue_refund", map[string]string{"order": "4421"}, attribute.String("tier", "gold"))
	RecordOutput(ctx, "refunded")
	call.SetError(errors.New("card declined"))
	call.End()
	s := onlySpan(t, rec.Ended())
	wantAttr(t, s, "overmind.span.type", "tool_call")
	wantAttr(t, s, "tool.name", "issue_refund")
	wantAttr(t, s, "inputs", `{"order":"4421"}`)
	wantAttr(t, s, "outputs", `"refunded"`)
	wantAttr(t, s, "tier", "gold")
	wantAttr(t, s, "overmind.status", "failed")
}

var testPrices = map[string]Price{
	"gpt-4.1-mini":      {Input: 0.40, Output: 1.60, CachedInput: 0.10},
	"claude-sonnet-4-5": {Input: 3, Output: 15, CachedInput: 0.30, CacheCreationInput: 3.75},
}

func TestStartLLMSpanUsageAndCost(t *testing.T) {
	rec := recordForTest(t, Config{Prices: testPrices})
	ctx := context.Background()

	ctx1, s1 := StartLLMSpan(ctx, "openai.chat", Model{Provider: "openai", Name: "gpt-4.1-mini"})
	SetUsage(ctx1, Usage{InputTokens: 1000, CachedTokens: 800})
	SetUsage(ctx1, Usage{OutputTokens: 500, ContextWindowTokens: 1047576, ContextUsedTokens: 1500}) // adds up
	s1.End()

	ctx2, s2 := StartSpan(ctx, SpanTypeLLM, "usage_then_model")
	SetUsage(ctx2, Usage{InputTokens: 1e6})
	SetModel(ctx2, Model{Name: "claude-sonnet-4-5-20250929"}) // the dated name takes the base price
	s2.End()

	ctx3, s3 := StartLLMSpan(ctx, "explicit_cost", Model{Name: "gpt-4.1-mini"})
	SetUsage(ctx3, Usage{InputTokens: 10, CostUSD: 0.5})
	s3.End()

	ctx4, s4 := StartLLMSpan(ctx, "unpriced", Model{Name: "gpt-5"})
	SetUsage(ctx4, Usage{InputTokens: 10, OutputTokens: 2})
	s4.End()

	spans := endedByName(t, rec.Ended())
	a := spans["openai.chat"]
	wantAttr(t, a, "overmind.span.type", "llm_call")
	wantAttr(t, a, "gen_ai.provider.name", "openai")
	wantAttr(t, a, "gen_ai.request.model", "gpt-4.1-mini")
	wantAttr(t, a, "gen_ai.usage.input_tokens", 1000)
	wantAttr(t, a, "gen_ai.usage.output_tokens", 500)
	wantAttr(t, a, "gen_ai.usage.cache_read.input_tokens", 800)
	wantAttr(t, a, "gen_ai.usage.total_tokens", 1500)
	wantAttr(t, a, "overmind.llm.context_window_tokens", 1047576)
	wantAttr(t, a, "overmind.llm.context_used_tokens", 1500)
	wantCost(t, a, (200*0.40+800*0.10+500*1.60)/1e6)
	wantCost(t, spans["usage_then_model"], 3)
	wantCost(t, spans["explicit_cost"], 0.5)
	wantNoAttr(t, spans["unpriced"], "overmind.llm.cost_usd") // never an invented price
	wantAttr(t, spans["unpriced"], "gen_ai.usage.total_tokens", 12)
	if n := spanDataCount.Load(); n != 0 {
		t.Errorf("%d span data entries outlived their spans", n)
	}
}

func wantCost(t *testing.T, s sdktrace.ReadOnlySpan, want float64) {
	t.Helper()
	v, ok := attrsOf(s)["overmind.llm.cost_usd"]
	if !ok {
		t.Errorf("%s: no overmind.llm.cost_usd", s.Name())
		return
	}
	if got := v.AsFloat64(); got < want*(1-1e-9) || got > want*(1+1e-9) {
		t.Errorf("%s: cost %v, want %v", s.Name(), got, want)
	}
}

func TestNoPricesNoCost(t *testing.T) {
	rec := recordForTest(t, Config{})
	ctx, s := StartLLMSpan(context.Background(), "llm", Model{Name: "gpt-4.1-mini"})
	SetUsage(ctx, Usage{InputTokens: 10, OutputTokens: 2})
	s.End()
	wantNoAttr(t, onlySpan(t, rec.Ended()), "overmind.llm.cost_usd")
}

func TestPricesFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "prices.json")
	os.WriteFile(path, []byte(`{"gpt-4.1-mini": {"input": 1, "output": 2}, "m2": {"input": 5}}`), 0o600)
	t.Setenv("OVERMIND_PRICES", path)
	// Config.Prices win over the file's.
	rec := recordForTest(t, Config{Prices: map[string]Price{"m2": {Input: 7}}})
	for _, model := range []string{"gpt-4.1-mini", "m2"} {
		ctx, s := StartLLMSpan(context.Background(), model, Model{Name: model})
		SetUsage(ctx, Usage{InputTokens: 1e6, OutputTokens: 1e6})
		s.End()
	}
	spans := endedByName(t, rec.Ended())
	wantCost(t, spans["gpt-4.1-mini"], 3)
	wantCost(t, spans["m2"], 7)
}

func TestBadPrices(t *testing.T) {
	resetForTest()
	captureStderr(t)
	if err := Init(Config{Prices: map[string]Price{"m": {Input: -1}}}); err == nil || !strings.Contains(err.Error(), "Config.Prices") {
		t.Errorf("Init with a negative price: %v", err)
	}
	path := filepath.Join(t.TempDir(), "prices.json")
	os.WriteFile(path, []byte(`{"m": {"inputs": 1}}`), 0o600)
	t.Setenv("OVERMIND_PRICES", path)
	rec := tracetest.NewSpanRecorder()
	logs := initForTest(t, Config{SpanProcessors: []sdktrace.SpanProcessor{rec}}).String()
	if !strings.Contains(logs, "ignoring OVERMIND_PRICES") || !strings.Contains(logs, `unknown field "inputs"`) {
		t.Errorf("stderr = %q", logs)
	}
	ctx, s := StartLLMSpan(context.Background(), "llm", Model{Name: "m"})
	SetUsage(ctx, Usage{InputTokens: 1})
	s.End()
	wantNoAttr(t, onlySpan(t, rec.Ended()), "overmind.llm.cost_usd")
}

// TestCapturedAndManualUsageAgree: the same provider response, captured
// from the wire and read with UsageFrom into a span by hand, gives the
// same usage attributes and the same cost.
func TestCapturedAndManualUsageAgree(t *testing.T) {
	prices := map[string]Price{
		"gpt-5-mini":        {Input: 0.25, Output: 2, CachedInput: 0.025},
		"claude-sonnet-4-5": {Input: 3, Output: 15, CachedInput: 0.30, CacheCreationInput: 3.75},
		"gemini-2.5-flash":  {Input: 0.30, Output: 2.50, CachedInput: 0.075},
		"gpt-5":             {Input: 1.25, Output: 10},
	}
	for _, c := range []struct{ fixture, protocol, path string }{
		{"openai_chat.json", "openai", "/v1/chat/completions"},
		{"openai_responses.json", "openai", "/v1/responses"},
		{"anthropic_message.json", "anthropic", "/v1/messages"},
		{"gemini.json", "google", "/v1beta/models/gemini-2.5-flash:generateContent"},
	} {
		t.Run(c.fixture, func(t *testing.T) {
			resetCaptureForTest(t)
			body := string(fixture(t, c.fixture))
			srv := newProvider(t, 200, body)
			base := srv.URL + "/v1"
			if c.protocol == "google" {
				base = srv.URL + "/v1beta"
			}
			rec := recordForTest(t, Config{Prices: prices, ProviderBaseURLs: []ProviderBaseURL{{URL: base, Protocol: c.protocol}}})
			client := &http.Client{Transport: WrapTransport(nil)}
			resp, err := client.Post(srv.URL+c.path, "application/json", strings.NewReader(`{"model":"x","messages":[{"role":"user","content":"hi"}],"contents":[]}`))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			captured := onlySpan(t, llmSpans(rec))

			model := attrsOf(captured)["gen_ai.response.model"].AsString()
			ctx, s := StartLLMSpan(context.Background(), "by_hand", Model{Name: model})
			SetUsage(ctx, UsageFrom(body))
			s.End()
			manual := endedByName(t, rec.Ended())["by_hand"]
			for _, key := range []string{
				"gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens",
				"gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.total_tokens",
				"overmind.llm.cost_usd",
			} {
				// SetUsage leaves out a zero count, which the capture
				// writes when the response reports it.
				got, want := attrsOf(manual)[key].AsInterface(), attrsOf(captured)[key].AsInterface()
				if got == nil && (want == int64(0) || want == 0.0) {
					continue
				}
				if got != want {
					t.Errorf("%s: by hand %v, captured %v", key, got, want)
				}
			}
			if _, ok := attrsOf(captured)["overmind.llm.cost_usd"]; !ok {
				t.Errorf("the captured span of %s has no cost", model)
			}
		})
	}
}

// TestVerbsBeforeInit: every verb is a no-op that allocates nothing before
// Init, and while tracing is off.
func TestVerbsBeforeInit(t *testing.T) {
	for _, phase := range []string{"before Init", "tracing off"} {
		resetForTest()
		if phase == "tracing off" {
			initForTest(t, Config{Debug: true})
			SetTracingDisabled(true)
		}
		ctx := context.Background()
		order := Order{ID: "A-1", Status: "shipped"}
		parts := []MessagePart{{Type: "text", Content: "hi"}}
		cases := map[string]func(){
			"RecordInput":        func() { RecordInput(ctx, order) },
			"RecordOutput":       func() { RecordOutput(ctx, order) },
			"SetModel":           func() { SetModel(ctx, Model{Provider: "openai", Name: "gpt-4.1-mini"}) },
			"SetUsage":           func() { SetUsage(ctx, Usage{InputTokens: 10, OutputTokens: 2, CostUSD: 0.1}) },
			"RecordMessage":      func() { RecordMessage(ctx, Message{Role: "user", Content: "Where is my order?"}) },
			"RecordMessageParts": func() { RecordMessage(ctx, Message{Role: "user", Parts: parts}) },
			"RecordTraceMessage": func() { RecordTraceMessage(ctx, Message{Role: "assistant", Content: "Shipped."}) },
			"StartLLMSpan": func() {
				_, s := StartLLMSpan(ctx, "llm", Model{Name: "gpt-4.1-mini"}, attribute.Int("n", 1))
				s.End()
			},
			"StartToolSpan": func() {
				_, s := StartToolSpan(ctx, "tool", order)
				s.End()
			},
			"StartTrace": func() {
				_, s := StartTrace(ctx, "t", TraceOptions{UserID: "u"})
				s.End()
			},
			"Fork+Adopt": func() { Fork().Adopt() },
		}
		for name, f := range cases {
			if allocs := testing.AllocsPerRun(100, f); allocs != 0 {
				t.Errorf("%s %s: %v allocations, want 0", name, phase, allocs)
			}
		}
	}
}

// TestSecondInitAddsPrices: a later Init adds prices to those in force,
// its own winning for a model both name.
func TestSecondInitAddsPrices(t *testing.T) {
	rec := recordForTest(t, Config{Prices: map[string]Price{"a": {Input: 1}, "b": {Input: 2}}})
	if err := Init(Config{Prices: map[string]Price{"b": {Input: 3}, "c": {Input: 4}}}); err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{"a", "b", "c"} {
		ctx, s := StartLLMSpan(context.Background(), model, Model{Name: model})
		SetUsage(ctx, Usage{InputTokens: 1e6})
		s.End()
	}
	spans := endedByName(t, rec.Ended())
	wantCost(t, spans["a"], 1)
	wantCost(t, spans["b"], 3)
	wantCost(t, spans["c"], 4)
}

// TestCapturedCostAfterShutdown: a captured call's attributes are computed
// when they are first read, which for a short program is while Shutdown
// flushes its spans; its cost must still be there.
func TestCapturedCostAfterShutdown(t *testing.T) {
	resetCaptureForTest(t)
	srv := newProvider(t, 200, string(fixture(t, "openai_chat.json")))
	rec := recordForTest(t, Config{
		Prices:           map[string]Price{"gpt-5-mini": {Input: 0.25, Output: 2}},
		ProviderBaseURLs: []ProviderBaseURL{{URL: srv.URL + "/v1", Protocol: "openai"}},
	})
	client := &http.Client{Transport: WrapTransport(nil)}
	resp, err := client.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"x","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err := Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	captured := onlySpan(t, llmSpans(rec))
	if _, ok := attrsOf(captured)["overmind.llm.cost_usd"]; !ok {
		t.Errorf("a call whose span is read after Shutdown has no cost: %v", captured.Attributes())
	}
}
