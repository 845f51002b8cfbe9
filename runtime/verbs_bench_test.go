package overmind

import (
	"context"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

// The benchmarks of the verbs, the switches and the goroutine handoff:
//
//	go test -run '^$' -bench 'Verbs|Goroutine|Switched' -benchmem ./runtime/
//
//   - BenchmarkVerbsBeforeInit: each verb before Init (0 allocs), against
//     the bare function call of BenchmarkBeforeInit's "uninstrumented".
//   - BenchmarkVerbs: each verb after Init, on a span of its own: the
//     "span" sub-benchmark opens and ends the span alone, so a verb's own
//     cost is its figure minus that one.
//   - BenchmarkSwitchedOff: an instrumented call while tracing is off by
//     SetTracingDisabled and inside a disabled trace, against the same call
//     before Init.
//   - BenchmarkGoroutineStart: starting a goroutine and waiting for it,
//     plain and through Go, Fork/Adopt and Wrap.

var (
	benchOrder = Order{ID: "A-1001", Status: "shipped"}
	benchUsage = Usage{InputTokens: 1117, OutputTokens: 46, CachedTokens: 1024, ReasoningTokens: 30}
	benchModel = Model{Provider: "openai", Name: "gpt-4.1-mini"}
	benchMsg   = Message{Role: "user", Content: "Where is my order A-1001?"}
)

// verbCases are the verbs, each called with ctx, whose span is the one
// they act on.
func verbCases() []struct {
	name string
	f    func(ctx context.Context)
} {
	return []struct {
		name string
		f    func(ctx context.Context)
	}{
		{"RecordInput", func(ctx context.Context) { RecordInput(ctx, benchOrder) }},
		{"RecordOutput", func(ctx context.Context) { RecordOutput(ctx, benchOrder) }},
		{"SetModel", func(ctx context.Context) { SetModel(ctx, benchModel) }},
		{"SetUsage", func(ctx context.Context) { SetUsage(ctx, benchUsage) }},
		{"SetModel+SetUsage(priced)", func(ctx context.Context) { SetModel(ctx, benchModel); SetUsage(ctx, benchUsage) }},
		{"RecordMessage", func(ctx context.Context) { RecordMessage(ctx, benchMsg) }},
		{"RecordTraceMessage", func(ctx context.Context) { RecordTraceMessage(ctx, benchMsg) }},
	}
}

type benchCase struct {
	name string
	f    func()
}

// startCases open and end a span with each of the starting verbs.
func startCases(ctx context.Context) []benchCase {
	return []benchCase{
		{"StartTrace+End", func() {
			_, s := StartTrace(ctx, "t", TraceOptions{UserID: "u", ConversationID: "c"})
			s.End()
		}},
		{"StartLLMSpan+End", func() {
			_, s := StartLLMSpan(ctx, "llm", benchModel)
			s.End()
		}},
		{"StartToolSpan+End", func() {
			_, s := StartToolSpan(ctx, "tool", benchOrder)
			s.End()
		}},
	}
}

func BenchmarkVerbsBeforeInit(b *testing.B) {
	resetForTest()
	ctx := context.Background()
	for _, c := range verbCases() {
		b.Run(c.name, func(b *testing.B) { benchFastest(b, func() { c.f(ctx) }) })
	}
	starts := append(startCases(ctx),
		benchCase{"Fork+Run", func() { Fork().Run(func() {}) }},
		benchCase{"Wrap", func() { Wrap(func() {})() }})
	for _, c := range starts {
		b.Run(c.name, func(b *testing.B) { benchFastest(b, c.f) })
	}
}

func BenchmarkVerbs(b *testing.B) {
	ctx := context.Background()
	prices := map[string]Price{"gpt-4.1-mini": {Input: 0.40, Output: 1.60, CachedInput: 0.10}}
	b.Run("span", func(b *testing.B) {
		initBench(b)
		b.ReportAllocs()
		for b.Loop() {
			_, s := StartSpan(ctx, SpanTypeLLM, "llm")
			s.End()
		}
	})
	for _, c := range verbCases() {
		withVerb := func() {
			sctx, s := StartSpan(ctx, SpanTypeLLM, "llm")
			c.f(sctx)
			s.End()
		}
		b.Run("span+"+c.name, func(b *testing.B) {
			initBench(b)
			Init(Config{Prices: prices})
			b.ReportAllocs()
			for b.Loop() {
				withVerb()
			}
		})
		// The same against the span alone, alternated: the verb's own
		// cost is subject-ns/op minus baseline-ns/op.
		b.Run("ratio/span+"+c.name, func(b *testing.B) {
			initBench(b)
			Init(Config{Prices: prices})
			benchRatio(b, withVerb, func() {
				_, s := StartSpan(ctx, SpanTypeLLM, "llm")
				s.End()
			})
		})
	}
	for _, c := range startCases(ctx) {
		b.Run(c.name, func(b *testing.B) {
			initBench(b)
			b.ReportAllocs()
			for b.Loop() {
				c.f()
			}
		})
		b.Run("ratio/"+c.name+"-vs-StartSpan", func(b *testing.B) {
			initBench(b)
			benchRatio(b, c.f, func() {
				_, s := StartSpan(ctx, SpanTypeFunction, "span")
				s.End()
			})
		})
	}
	b.Run("UsageFrom(json)", func(b *testing.B) {
		raw := []byte(`{"usage":{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163,"prompt_tokens_details":{"cached_tokens":1024},"completion_tokens_details":{"reasoning_tokens":30}}}`)
		b.ReportAllocs()
		for b.Loop() {
			UsageFrom(raw)
		}
	})
	b.Run("UsageFrom(struct)", func(b *testing.B) {
		resp := &oaChatCompletion{Usage: oaCompletionUsage{PromptTokens: 1117, CompletionTokens: 46, TotalTokens: 1163}}
		b.ReportAllocs()
		for b.Loop() {
			UsageFrom(resp)
		}
	})
}

func BenchmarkSwitchedOff(b *testing.B) {
	ctx := context.Background()
	b.Run("before-Init", func(b *testing.B) {
		resetForTest()
		benchFastest(b, func() { instrumentedNoop(ctx, "A-1", 1) })
	})
	b.Run("SetTracingDisabled", func(b *testing.B) {
		initBench(b)
		SetTracingDisabled(true)
		benchFastest(b, func() { instrumentedNoop(ctx, "A-1", 1) })
	})
	b.Run("disabled-trace-ctx", func(b *testing.B) {
		initBench(b)
		tctx, tr := StartTrace(ctx, "quiet", TraceOptions{Disabled: true})
		defer tr.End()
		benchFastest(b, func() { instrumentedNoop(tctx, "A-1", 1) })
	})
	b.Run("disabled-trace-goroutine", func(b *testing.B) {
		initBench(b)
		_, tr := StartTrace(ctx, "quiet", TraceOptions{Disabled: true})
		defer tr.End()
		benchFastest(b, func() { instrumentedNoCtx("A-1") })
	})
}

func BenchmarkGoroutineStart(b *testing.B) {
	noop := func() {}
	run := func(b *testing.B, start func(done func())) {
		b.ReportAllocs()
		var wg sync.WaitGroup
		for b.Loop() {
			wg.Add(1)
			start(wg.Done)
			wg.Wait()
		}
	}
	b.Run("go", func(b *testing.B) {
		resetForTest()
		run(b, func(done func()) { go func() { noop(); done() }() })
	})
	b.Run("Go/before-Init", func(b *testing.B) {
		resetForTest()
		run(b, func(done func()) { Go(func() { noop(); done() }) })
	})
	inSpan := func(b *testing.B, start func(done func())) {
		initBench(b)
		_, s := StartSpan(context.Background(), SpanTypeWorkflow, "parent", attribute.Int("n", 1))
		defer s.End()
		run(b, start)
	}
	b.Run("go/in-span", func(b *testing.B) {
		inSpan(b, func(done func()) { go func() { noop(); done() }() })
	})
	b.Run("Go/in-span", func(b *testing.B) {
		inSpan(b, func(done func()) { Go(func() { noop(); done() }) })
	})
	b.Run("Fork+Adopt/in-span", func(b *testing.B) {
		inSpan(b, func(done func()) {
			h := Fork()
			go func() { h.Adopt(); noop(); done() }()
		})
	})
	b.Run("Wrap/in-span", func(b *testing.B) {
		inSpan(b, func(done func()) { go Wrap(func() { noop(); done() })() })
	})
	b.Run("ratio/Go-vs-go/before-Init", func(b *testing.B) {
		resetForTest()
		var wg sync.WaitGroup
		benchRatio(b,
			func() { wg.Add(1); Go(wg.Done); wg.Wait() },
			func() { wg.Add(1); go wg.Done(); wg.Wait() })
	})
	b.Run("ratio/Fork+Adopt-vs-go/in-span", func(b *testing.B) {
		initBench(b)
		_, s := StartSpan(context.Background(), SpanTypeWorkflow, "parent")
		defer s.End()
		var wg sync.WaitGroup
		benchRatio(b,
			func() { wg.Add(1); h := Fork(); go func() { h.Adopt(); wg.Done() }(); wg.Wait() },
			func() { wg.Add(1); go func() { wg.Done() }(); wg.Wait() })
	})
	b.Run("ratio/Go-vs-go/in-span", func(b *testing.B) {
		initBench(b)
		_, s := StartSpan(context.Background(), SpanTypeWorkflow, "parent")
		defer s.End()
		var wg sync.WaitGroup
		benchRatio(b,
			func() { wg.Add(1); Go(wg.Done); wg.Wait() },
			func() { wg.Add(1); go wg.Done(); wg.Wait() })
	})
}
