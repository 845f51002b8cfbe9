package overmind

import (
	"context"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/pricing"
)

// This file holds the verbs that record by hand what generated code and
// the provider capture record by themselves: a span's input and output,
// its model and token usage, and the LLM and tool spans of mv37's
// trace.llm and trace.tool. Each acts on the span ctx carries, else on
// the calling goroutine's current span, and does nothing (allocating
// nothing) before Init, while tracing is off, and on a span that is not
// recording.

// Attribute keys of the GenAI conventions (semconv v1.41.0) that the verbs
// write, the same the provider capture writes, so that spans recorded by
// hand and captured ones read alike; and Overmind's keys for what the
// conventions do not name.
const (
	attrProviderName        = "gen_ai.provider.name"
	attrRequestModel        = "gen_ai.request.model"
	attrInputTokens         = "gen_ai.usage.input_tokens"
	attrOutputTokens        = "gen_ai.usage.output_tokens"
	attrCacheReadTokens     = "gen_ai.usage.cache_read.input_tokens"
	attrCacheCreationTokens = "gen_ai.usage.cache_creation.input_tokens"
	attrReasoningTokens     = "gen_ai.usage.reasoning.output_tokens"
	attrTotalTokens         = "gen_ai.usage.total_tokens"
	attrContextWindow       = "overmind.llm.context_window_tokens"
	attrContextUsed         = "overmind.llm.context_used_tokens"
)

// Model names the model an LLM span calls.
type Model struct {
	// Provider is gen_ai.provider.name: "openai", "anthropic",
	// "gcp.gemini", "aws.bedrock", ... as the GenAI conventions name them.
	Provider string
	// Name is the model requested, gen_ai.request.model: "gpt-4.1-mini".
	Name string
}

// Usage is the token usage of an LLM call, the fields of mv37's set_usage.
// A zero field is not recorded. Token counts follow the GenAI conventions,
// as [UsageFrom] returns them: InputTokens includes the cached tokens and
// OutputTokens the reasoning tokens.
type Usage struct {
	// InputTokens are the prompt's tokens (gen_ai.usage.input_tokens).
	InputTokens int64
	// OutputTokens are the completion's tokens
	// (gen_ai.usage.output_tokens).
	OutputTokens int64
	// CachedTokens are the input tokens read from the provider's prompt
	// cache (gen_ai.usage.cache_read.input_tokens).
	CachedTokens int64
	// CacheCreationTokens are the input tokens written to the prompt
	// cache (gen_ai.usage.cache_creation.input_tokens).
	CacheCreationTokens int64
	// ReasoningTokens are the output tokens spent reasoning
	// (gen_ai.usage.reasoning.output_tokens).
	ReasoningTokens int64
	// TotalTokens is the call's total (gen_ai.usage.total_tokens); when
	// zero, InputTokens plus OutputTokens is recorded.
	TotalTokens int64
	// CostUSD is the call's cost in USD (overmind.llm.cost_usd). When
	// zero, the cost is computed from the price table in Config.Prices,
	// if it has the span's model.
	CostUSD float64
	// ContextWindowTokens is the size of the model's context window
	// (overmind.llm.context_window_tokens).
	ContextWindowTokens int64
	// ContextUsedTokens is how much of the context window the call used
	// (overmind.llm.context_used_tokens).
	ContextUsedTokens int64
}

// merge returns u with the non-zero fields of over on top.
func (u Usage) merge(over Usage) Usage {
	for _, f := range [...]struct{ dst, src *int64 }{
		{&u.InputTokens, &over.InputTokens}, {&u.OutputTokens, &over.OutputTokens},
		{&u.CachedTokens, &over.CachedTokens}, {&u.CacheCreationTokens, &over.CacheCreationTokens},
		{&u.ReasoningTokens, &over.ReasoningTokens}, {&u.TotalTokens, &over.TotalTokens},
		{&u.ContextWindowTokens, &over.ContextWindowTokens}, {&u.ContextUsedTokens, &over.ContextUsedTokens},
	} {
		if *f.src != 0 {
			*f.dst = *f.src
		}
	}
	if over.CostUSD != 0 {
		u.CostUSD = over.CostUSD
	}
	return u
}

// attributes are u's attributes, with cost the cost to record (0 for
// none).
func (u Usage) attributes(cost float64) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 10)
	total := u.TotalTokens
	if total == 0 {
		total = u.InputTokens + u.OutputTokens
	}
	for _, f := range [...]struct {
		key string
		n   int64
	}{
		{attrInputTokens, u.InputTokens}, {attrOutputTokens, u.OutputTokens},
		{attrCacheReadTokens, u.CachedTokens}, {attrCacheCreationTokens, u.CacheCreationTokens},
		{attrReasoningTokens, u.ReasoningTokens}, {attrTotalTokens, total},
		{attrContextWindow, u.ContextWindowTokens}, {attrContextUsed, u.ContextUsedTokens},
	} {
		if f.n != 0 {
			attrs = append(attrs, attribute.Int64(f.key, f.n))
		}
	}
	if cost != 0 {
		attrs = append(attrs, attribute.Float64(attrCostUSD, cost))
	}
	return attrs
}

// RecordInput records v as the span's input (the inputs attribute), as
// JSON under the same rules as an instrumented function's parameters:
// secrets redacted, size capped. The last call wins. It is mv37's
// span.record_input. Nothing is recorded while
// SetIncludeSensitiveData(false) is in force.
func RecordInput[T any](ctx context.Context, v T) {
	if active.Load() == nil {
		return
	}
	recordValue(ctx, attrInputs, v)
}

// RecordOutput records v as the span's output (the outputs attribute),
// like [RecordInput]: mv37's span.record_output.
func RecordOutput[T any](ctx context.Context, v T) {
	if active.Load() == nil {
		return
	}
	recordValue(ctx, attrOutputs, v)
}

// recordValue is RecordInput and RecordOutput once tracing is on.
func recordValue(ctx context.Context, key string, v any) {
	st := active.Load()
	if st == nil || !recordsData() {
		return
	}
	span := targetSpan(ctx)
	if span == nil || !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.String(key, marshalRecording(v, st.jsonOpts)))
}

// SetModel records the model the span calls: gen_ai.request.model and,
// when m names one, gen_ai.provider.name. With Config.Prices, a span that
// has both a model and token usage records its cost.
func SetModel(ctx context.Context, m Model) {
	if active.Load() == nil || (m.Name == "" && m.Provider == "") {
		return
	}
	setModel(ctx, m)
}

//go:noinline
func setModel(ctx context.Context, m Model) {
	span := targetSpan(ctx)
	if span == nil || !span.IsRecording() {
		return
	}
	span.SetAttributes(m.attributes()...)
	if m.Name != "" {
		withSpanData(span, func(d *spanData) {
			d.model = m.Name
			d.recordCost(span)
		})
	}
}

func (m Model) attributes() []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 2)
	if m.Name != "" {
		attrs = append(attrs, attribute.String(attrRequestModel, m.Name))
	}
	if m.Provider != "" {
		attrs = append(attrs, attribute.String(attrProviderName, m.Provider))
	}
	return attrs
}

// SetUsage records the token usage of the span's LLM call as the GenAI
// conventions' attributes (gen_ai.usage.input_tokens, ...), the fields of
// mv37's set_usage. Several calls add up field by field, the later
// non-zero value winning. Without an explicit CostUSD, the cost is
// computed from Config.Prices when the span has a model ([SetModel],
// [StartLLMSpan]); never otherwise.
//
//	overmind.SetUsage(ctx, overmind.UsageFrom(resp))
func SetUsage(ctx context.Context, u Usage) {
	if active.Load() == nil || u == (Usage{}) {
		return
	}
	setUsage(ctx, u)
}

//go:noinline
func setUsage(ctx context.Context, u Usage) {
	span := targetSpan(ctx)
	if span == nil || !span.IsRecording() {
		return
	}
	withSpanData(span, func(d *spanData) {
		d.usage = d.usage.merge(u)
		span.SetAttributes(d.usage.attributes(d.usage.CostUSD)...)
		if d.usage.CostUSD == 0 {
			d.recordCost(span)
		}
	})
}

// StartLLMSpan opens an llm_call span for a model call the provider
// capture does not see (a provider the runtime does not know, a gateway,
// a model run in-process): mv37's trace.llm(name, model=...). It works
// like [StartSpan]; record the call with [RecordMessage] (or
// [RecordInput] and [RecordOutput]) and [SetUsage]:
//
//	ctx, span := overmind.StartLLMSpan(ctx, "openai.responses", overmind.Model{Provider: "openai", Name: "gpt-4.1-mini"})
//	defer span.End()
//	resp, err := client.Responses.New(ctx, params)
//	span.SetError(err)
//	overmind.SetUsage(ctx, overmind.UsageFrom(resp))
func StartLLMSpan(ctx context.Context, name string, m Model, attrs ...attribute.KeyValue) (context.Context, *Span) {
	st := active.Load()
	if st == nil {
		return ctx, nil
	}
	return st.startLLM(ctx, name, m, attrs)
}

//go:noinline
func (st *state) startLLM(ctx context.Context, name string, m Model, attrs []attribute.KeyValue) (context.Context, *Span) {
	ctx, c, _ := st.enter(ctx, SpanTypeLLM, name, "", nil, append(m.attributes(), attrs...))
	if c != nil && m.Name != "" && c.span.IsRecording() {
		withSpanData(c.span, func(d *spanData) { d.model = m.Name })
	}
	return ctx, (*Span)(c)
}

// StartToolSpan opens a tool_call span for a tool the program runs
// without an instrumented function: mv37's trace.tool(name,
// arguments=...). The arguments are recorded as the span's input, as
// [RecordInput] records them; record the result with [RecordOutput]. It
// works like [StartSpan].
func StartToolSpan[T any](ctx context.Context, name string, arguments T, attrs ...attribute.KeyValue) (context.Context, *Span) {
	st := active.Load()
	if st == nil {
		return ctx, nil
	}
	ctx, s := st.startTool(ctx, name, attrs)
	if s != nil && recordsData() && s.span.IsRecording() {
		s.span.SetAttributes(attribute.String(attrInputs, marshalRecording(arguments, st.jsonOpts)))
	}
	return ctx, s
}

//go:noinline
func (st *state) startTool(ctx context.Context, name string, attrs []attribute.KeyValue) (context.Context, *Span) {
	ctx, c, _ := st.enter(ctx, SpanTypeTool, name, "", nil, attrs)
	return ctx, (*Span)(c)
}

// spanData is what the verbs keep about an open span beyond its
// attributes: the model and usage that make its cost, and its messages.
type spanData struct {
	mu    sync.Mutex
	model string
	usage Usage
	msgs  transcript
}

// recordCost sets the span's cost from the price table, if it has the
// span's model and the span has usage. d.mu is held.
func (d *spanData) recordCost(span trace.Span) {
	if d.model == "" || d.usage.CostUSD != 0 {
		return
	}
	u := pricing.Tokens{Input: d.usage.InputTokens, Output: d.usage.OutputTokens, CacheRead: d.usage.CachedTokens, CacheCreation: d.usage.CacheCreationTokens}
	if cost, ok := llmCost(d.model, u); ok {
		span.SetAttributes(attribute.Float64(attrCostUSD, cost))
	}
}

var (
	// spanDatas maps the ID of every open span a verb keeps data for to
	// it; entries are deleted when the span ends (by the label
	// processor).
	spanDatas     sync.Map // trace.SpanID -> *spanData
	spanDataCount atomic.Int64
)

// withSpanData calls fn with span's data, under its lock, creating it on
// first use.
func withSpanData(span trace.Span, fn func(*spanData)) {
	id := span.SpanContext().SpanID()
	v, loaded := spanDatas.Load(id)
	if !loaded {
		v, loaded = spanDatas.LoadOrStore(id, &spanData{})
		if !loaded {
			spanDataCount.Add(1)
			// The span may have ended, and its data been forgotten,
			// before the entry was stored: forget it again.
			if !span.IsRecording() {
				forgetSpanData(id)
				return
			}
		}
	}
	d := v.(*spanData)
	d.mu.Lock()
	defer d.mu.Unlock()
	fn(d)
}

func forgetSpanData(id trace.SpanID) {
	if spanDataCount.Load() == 0 {
		return
	}
	if _, loaded := spanDatas.LoadAndDelete(id); loaded {
		spanDataCount.Add(-1)
	}
}
