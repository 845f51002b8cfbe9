// Package overmind is the Go runtime of the Overmind LLM tracing SDK.
//
// The import path is github.com/overmind-core/overmind-go/runtime and the
// package name is overmind, so code reads as in the Overmind tracing guide:
//
//	import "github.com/overmind-core/overmind-go/runtime"
//
//	func main() {
//		if err := overmind.Init(overmind.Config{ServiceName: "support-agent"}); err != nil {
//			log.Fatal(err)
//		}
//		defer overmind.Shutdown(context.Background())
//		...
//	}
//
// [Init] sets up an OpenTelemetry tracer provider that exports to Overmind
// (with an API key) and to any OTLP endpoint the standard OTEL_* variables
// name; OVERMIND_DEBUG prints each finished trace as a tree on stderr.
//
// Functions annotated with //overmind: directives are expanded by the
// overmind command into calls to [EnterContext], [Enter] or [EnterRequest]
// and a deferred [Call.Leave], deferred only when tracing is on:
//
//	ctx, _om := overmind.EnterContext(ctx, overmind.SpanTypeTool, "lookup_order", "example.com/shop.LookupOrder",
//		func(in *overmind.Values) { in.Add("orderID", orderID) })
//	if _om != nil {
//		defer _om.Leave(&err, func(out *overmind.Values) { out.Add("", order) })
//	}
//
// A go statement in such a function starts its function through
// [Adopting0] or a sibling for the function's shape, and a directive's
// label options (user=userID) call [Label]. That small API is meant for
// generated code. People call the rest:
// [StartTrace] for a trace with its identity, [StartSpan] for blocks,
// [StartLLMSpan] and [StartToolSpan], [RecordInput], [RecordOutput],
// [RecordMessage], [SetModel], [SetUsage] (with [UsageFrom]), [SetTag],
// [SetUser], [CaptureException], [SetWorkflowName], [SetAgentName],
// [SetConversationID], [PromptString], [Tracer] for raw OpenTelemetry
// spans; [Go], [Wrap] and [Fork] for goroutines that keep their trace;
// and the switches [SetTracingDisabled], [SetIncludeSensitiveData],
// [AddSpanProcessor] and [SetSpanProcessors].
//
// Each helper acts on the span its context carries or, when the context
// carries none, on the calling goroutine's current span: the innermost
// span the goroutine opened and has not ended. Instrumented functions
// without a context.Context therefore still nest, as decorated functions
// do in the Python SDK. A context that carries a span always wins.
//
// Until [Init] runs, and after [Shutdown], every function in this package
// is a cheap no-op that allocates nothing, but [PromptString], which still
// renders its text. A pointer, slice or variadic argument of an
// instrumented function does escape to the heap at compile time, as it
// would if the function passed it to fmt or log/slog.
package overmind
