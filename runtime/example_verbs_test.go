package overmind_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/overmind-core/overmind-go/runtime"
)

// traced runs f with tracing on, recording spans in memory instead of
// exporting them, and returns the spans by name.
func traced(cfg overmind.Config, f func(ctx context.Context)) map[string]sdktrace.ReadOnlySpan {
	defer overmind.DiscardLogsForExamples()()
	rec := tracetest.NewSpanRecorder()
	cfg.SpanProcessors = append(cfg.SpanProcessors, rec)
	if err := overmind.Init(cfg); err != nil {
		panic(err)
	}
	f(context.Background())
	overmind.Shutdown(context.Background())
	spans := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		spans[s.Name()] = s
	}
	return spans
}

// attr returns the value of the attribute key of s, or "-".
func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return "-"
}

func ExampleStartTrace() {
	spans := traced(overmind.Config{}, func(ctx context.Context) {
		ctx, tr := overmind.StartTrace(ctx, "support_agent", overmind.TraceOptions{
			TraceID:        "4bf92f3577b34da6a3ce929d0e0e4736",
			UserID:         "cus_123",
			ConversationID: "thread_123",
			Attributes:     []attribute.KeyValue{attribute.String("tenant", "acme")},
		})
		defer tr.End()
		_, call := overmind.StartToolSpan(ctx, "lookup_order", map[string]string{"order": "4421"})
		call.End()
	})
	root, tool := spans["support_agent"], spans["lookup_order"]
	fmt.Println(root.SpanContext().TraceID(), attr(root, "overmind.span.type"))
	fmt.Println(attr(tool, "user.id"), attr(tool, "gen_ai.conversation.id"), attr(tool, "tenant"), attr(tool, "gen_ai.workflow.name"))
	// Output:
	// 4bf92f3577b34da6a3ce929d0e0e4736 entry_point
	// cus_123 thread_123 acme support_agent
}

func ExampleStartTrace_disabled() {
	spans := traced(overmind.Config{}, func(ctx context.Context) {
		ctx, tr := overmind.StartTrace(ctx, "health_check", overmind.TraceOptions{Disabled: true})
		defer tr.End()
		_, s := overmind.StartSpan(ctx, overmind.SpanTypeFunction, "ping") // records nothing
		s.End()
	})
	fmt.Println(len(spans), "spans")
	// Output: 0 spans
}

func ExampleParseTraceID() {
	for _, id := range []string{"trace_0123456789abcdef0123456789abcdef", "123e4567-e89b-12d3-a456-426614174000", "42"} {
		tid, err := overmind.ParseTraceID(id)
		fmt.Println(tid, err != nil)
	}
	// Output:
	// 0123456789abcdef0123456789abcdef false
	// 123e4567e89b12d3a456426614174000 false
	// 00000000000000000000000000000000 true
}

func ExampleRecordInput() {
	spans := traced(overmind.Config{}, func(ctx context.Context) {
		ctx, span := overmind.StartSpan(ctx, overmind.SpanTypeRetrieval, "search_docs")
		defer span.End()
		overmind.RecordInput(ctx, map[string]any{"query": "refund policy", "api_key": "sk-live-1"})
	})
	fmt.Println(attr(spans["search_docs"], "inputs"))
	// Output: {"api_key":"<redacted>","query":"refund policy"}
}

func ExampleRecordOutput() {
	spans := traced(overmind.Config{}, func(ctx context.Context) {
		ctx, span := overmind.StartSpan(ctx, overmind.SpanTypeRetrieval, "search_docs")
		defer span.End()
		docs := []string{"refunds.md", "shipping.md"}
		overmind.RecordOutput(ctx, map[string]int{"hits": len(docs)})
	})
	fmt.Println(attr(spans["search_docs"], "outputs"))
	// Output: {"hits":2}
}

func ExampleSetModel() {
	spans := traced(overmind.Config{}, func(ctx context.Context) {
		ctx, span := overmind.StartSpan(ctx, overmind.SpanTypeLLM, "summarize")
		defer span.End()
		overmind.SetModel(ctx, overmind.Model{Provider: "anthropic", Name: "claude-sonnet-4-5"})
	})
	s := spans["summarize"]
	fmt.Println(attr(s, "gen_ai.provider.name"), attr(s, "gen_ai.request.model"))
	// Output: anthropic claude-sonnet-4-5
}

func ExampleSetUsage() {
	prices := map[string]overmind.Price{"gpt-4.1-mini": {Input: 0.40, Output: 1.60, CachedInput: 0.10}}
	spans := traced(overmind.Config{Prices: prices}, func(ctx context.Context) {
		ctx, span := overmind.StartLLMSpan(ctx, "openai.responses", overmind.Model{Provider: "openai", Name: "gpt-4.1-mini"})
		defer span.End()
		overmind.SetUsage(ctx, overmind.Usage{InputTokens: 1000, CachedTokens: 800, OutputTokens: 500})
	})
	s := spans["openai.responses"]
	fmt.Println(attr(s, "gen_ai.usage.input_tokens"), attr(s, "gen_ai.usage.cache_read.input_tokens"),
		attr(s, "gen_ai.usage.output_tokens"), attr(s, "gen_ai.usage.total_tokens"))
	fmt.Println("$" + attr(s, "overmind.llm.cost_usd"))
	// Output:
	// 1000 800 500 1500
	// $0.00096
}

func ExampleUsageFrom() {
	// The JSON of an Anthropic response; an *anthropic.Message, an
	// *openai.ChatCompletion or a *genai.GenerateContentResponse works the
	// same.
	response := `{"type":"message","model":"claude-sonnet-4-5","usage":{"input_tokens":21,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,"output_tokens":14}}`
	u := overmind.UsageFrom(response)
	fmt.Printf("input %d (cached %d, written to cache %d), output %d, total %d\n",
		u.InputTokens, u.CachedTokens, u.CacheCreationTokens, u.OutputTokens, u.TotalTokens)
	// Output: input 2121 (cached 2000, written to cache 100), output 14, total 2135
}

func ExampleStartLLMSpan() {
	spans := traced(overmind.Config{}, func(ctx context.Context) {
		ctx, span := overmind.StartLLMSpan(ctx, "local.llama", overmind.Model{Provider: "ollama", Name: "llama3.2"})
		defer span.End()
		overmind.RecordMessage(ctx, overmind.Message{Role: "user", Content: "Say hi"})
		overmind.RecordMessage(ctx, overmind.Message{Role: "assistant", Content: "Hi!", FinishReason: "stop"})
		overmind.SetUsage(ctx, overmind.Usage{InputTokens: 3, OutputTokens: 2})
	})
	s := spans["local.llama"]
	fmt.Println(attr(s, "overmind.span.type"), attr(s, "gen_ai.request.model"))
	fmt.Println(attr(s, "gen_ai.output.messages"))
	// Output:
	// llm_call llama3.2
	// [{"role":"assistant","parts":[{"type":"text","content":"Hi!"}],"finish_reason":"stop"}]
}

func ExampleStartToolSpan() {
	spans := traced(overmind.Config{}, func(ctx context.Context) {
		ctx, call := overmind.StartToolSpan(ctx, "issue_refund", map[string]string{"order": "4421"})
		defer call.End()
		overmind.RecordOutput(ctx, "refunded")
	})
	s := spans["issue_refund"]
	fmt.Println(attr(s, "overmind.span.type"), attr(s, "tool.name"), attr(s, "inputs"), attr(s, "outputs"))
	// Output: tool_call issue_refund {"order":"4421"} "refunded"
}

func ExampleRecordMessage() {
	spans := traced(overmind.Config{}, func(ctx context.Context) {
		ctx, span := overmind.StartLLMSpan(ctx, "chat", overmind.Model{Name: "gpt-4.1-mini"})
		defer span.End()
		overmind.RecordMessage(ctx, overmind.Message{Role: "user", Content: "Where is order 4421?"})
		overmind.RecordMessage(ctx, overmind.Message{Role: "assistant", Parts: []overmind.MessagePart{
			{Type: "tool_call", ID: "call_1", Name: "lookup_order", Arguments: map[string]string{"order": "4421"}},
		}})
	})
	s := spans["chat"]
	fmt.Println(attr(s, "gen_ai.input.messages"))
	fmt.Println(attr(s, "gen_ai.output.messages"))
	// Output:
	// [{"role":"user","parts":[{"type":"text","content":"Where is order 4421?"}]}]
	// [{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"lookup_order","arguments":{"order":"4421"}}]}]
}

func ExampleRecordTraceMessage() {
	spans := traced(overmind.Config{}, func(ctx context.Context) {
		ctx, tr := overmind.StartTrace(ctx, "support_agent", overmind.TraceOptions{ConversationID: "thread_123"})
		defer tr.End()
		overmind.RecordTraceMessage(ctx, overmind.Message{Role: "user", Content: "Where is my order?"})
		answer(ctx)
	})
	fmt.Println(attr(spans["support_agent"], "gen_ai.output.messages"))
	fmt.Println(attr(spans["draft_answer"], "gen_ai.output.messages"))
	// Output:
	// [{"role":"assistant","parts":[{"type":"text","content":"Your order has shipped."}]}]
	// -
}

// answer works below the trace, and records the answer on the trace.
func answer(ctx context.Context) {
	ctx, span := overmind.StartSpan(ctx, overmind.SpanTypeTask, "draft_answer")
	defer span.End()
	overmind.RecordTraceMessage(ctx, overmind.Message{Role: "assistant", Content: "Your order has shipped."})
}

func ExampleSetTracingDisabled() {
	spans := traced(overmind.Config{}, func(ctx context.Context) {
		overmind.SetTracingDisabled(true) // e.g. from an admin endpoint
		_, s := overmind.StartSpan(ctx, overmind.SpanTypeFunction, "while_off")
		s.End()
		overmind.SetTracingDisabled(false)
		_, s = overmind.StartSpan(ctx, overmind.SpanTypeFunction, "while_on")
		s.End()
	})
	fmt.Println(names(spans))
	// Output: [while_on]
}

func ExampleSetIncludeSensitiveData() {
	spans := traced(overmind.Config{}, func(ctx context.Context) {
		overmind.SetIncludeSensitiveData(false)
		defer overmind.SetIncludeSensitiveData(true)
		ctx, s := overmind.StartToolSpan(ctx, "lookup_patient", map[string]string{"ssn": "078-05-1120"})
		overmind.RecordOutput(ctx, "record")
		s.End()
	})
	s := spans["lookup_patient"]
	fmt.Println(attr(s, "inputs"), attr(s, "outputs"), attr(s, "overmind.status"))
	// Output: - - success
}

// printer is a span processor that prints the name of each span that
// ends.
type printer struct{}

func (printer) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (printer) OnEnd(s sdktrace.ReadOnlySpan)                   { fmt.Println("ended:", s.Name()) }
func (printer) Shutdown(context.Context) error                  { return nil }
func (printer) ForceFlush(context.Context) error                { return nil }

func ExampleAddSpanProcessor() {
	traced(overmind.Config{}, func(ctx context.Context) {
		overmind.AddSpanProcessor(printer{})
		_, s := overmind.StartSpan(ctx, overmind.SpanTypeFunction, "after_add")
		s.End()
	})
	// Output: ended: after_add
}

func ExampleSetSpanProcessors() {
	traced(overmind.Config{SpanProcessors: []sdktrace.SpanProcessor{printer{}}}, func(ctx context.Context) {
		_, s := overmind.StartSpan(ctx, overmind.SpanTypeFunction, "printed")
		s.End()
		overmind.SetSpanProcessors() // drops the program's processors, printer{} included
		_, s = overmind.StartSpan(ctx, overmind.SpanTypeFunction, "not_printed")
		s.End()
	})
	// Output: ended: printed
}

func ExampleFork() {
	spans := traced(overmind.Config{}, func(ctx context.Context) {
		_, parent := overmind.StartSpan(ctx, overmind.SpanTypeWorkflow, "fan_out")
		h := overmind.Fork()
		done := make(chan struct{})
		go func() {
			h.Adopt() // first thing: this goroutine's spans nest under fan_out
			_, s := overmind.StartSpan(context.Background(), overmind.SpanTypeFunction, "in_goroutine")
			s.End()
			close(done)
		}()
		<-done
		parent.End()
	})
	fmt.Println(spans["in_goroutine"].Parent().SpanID() == spans["fan_out"].SpanContext().SpanID())
	// Output: true
}

func ExampleGo() {
	spans := traced(overmind.Config{}, func(ctx context.Context) {
		_, parent := overmind.StartSpan(ctx, overmind.SpanTypeWorkflow, "fan_out")
		var wg sync.WaitGroup
		wg.Add(1)
		overmind.Go(func() {
			defer wg.Done()
			_, s := overmind.StartSpan(context.Background(), overmind.SpanTypeFunction, "in_goroutine")
			s.End()
		})
		wg.Wait()
		parent.End()
	})
	fmt.Println(spans["in_goroutine"].Parent().SpanID() == spans["fan_out"].SpanContext().SpanID())
	// Output: true
}

func ExampleWrap() {
	spans := traced(overmind.Config{}, func(ctx context.Context) {
		_, parent := overmind.StartSpan(ctx, overmind.SpanTypeWorkflow, "fan_out")
		var wg sync.WaitGroup
		wg.Go(overmind.Wrap(func() {
			_, s := overmind.StartSpan(context.Background(), overmind.SpanTypeFunction, "in_waitgroup")
			s.End()
		}))
		wg.Wait()
		parent.End()
	})
	fmt.Println(spans["in_waitgroup"].Parent().SpanID() == spans["fan_out"].SpanContext().SpanID())
	// Output: true
}

// group has the shape of golang.org/x/sync/errgroup.Group.
type group struct {
	wg  sync.WaitGroup
	err error
	mu  sync.Mutex
}

func (g *group) Go(f func() error) {
	g.wg.Go(func() {
		if err := f(); err != nil {
			g.mu.Lock()
			g.err = err
			g.mu.Unlock()
		}
	})
}

func (g *group) Wait() error { g.wg.Wait(); return g.err }

func ExampleWrapErr() {
	var err error
	spans := traced(overmind.Config{}, func(ctx context.Context) {
		_, parent := overmind.StartSpan(ctx, overmind.SpanTypeWorkflow, "fan_out")
		var g group // errgroup.Group in a real program
		g.Go(overmind.WrapErr(func() error {
			_, s := overmind.StartSpan(context.Background(), overmind.SpanTypeFunction, "fetch")
			defer s.End()
			return errors.New("timeout")
		}))
		err = g.Wait()
		parent.End()
	})
	fmt.Println(err, spans["fetch"].Parent().SpanID() == spans["fan_out"].SpanContext().SpanID())
	// Output: timeout true
}

func ExampleForkContext() {
	spans := traced(overmind.Config{}, func(ctx context.Context) {
		ctx, parent := overmind.StartSpan(ctx, overmind.SpanTypeWorkflow, "handler")
		done := make(chan struct{})
		go overmind.ForkContext(ctx).Run(func() {
			defer close(done)
			_, s := overmind.StartSpan(context.Background(), overmind.SpanTypeFunction, "background")
			s.End()
		})
		<-done
		parent.End()
	})
	fmt.Println(spans["background"].Parent().SpanID() == spans["handler"].SpanContext().SpanID())
	// Output: true
}

func names(spans map[string]sdktrace.ReadOnlySpan) []string {
	var out []string
	for name := range spans {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
