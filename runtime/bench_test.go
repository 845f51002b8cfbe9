package overmind

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The benchmarks compare the runtime with a baseline measured in the same
// run; their ratios are the figures that matter:
//
//	go test -run '^$' -bench . -benchmem ./runtime/
//
//   - BenchmarkCall: a call through the generated-code API against a
//     hand-written OpenTelemetry span doing the same capture (target: at
//     most 1.25x).
//   - BenchmarkBeforeInit: the generated-code API and helpers before Init
//     (target: at most 25 ns and 0 allocs), against the bare function.
//   - BenchmarkNesting: three nested calls that find their parent through
//     the goroutine against the same calls passing a context (target: at
//     most 1.2x).
//
// BenchmarkCall and BenchmarkNesting also have a "ratio" sub-benchmark
// that alternates the two sides in short rounds (ABBA) and reports the
// median of the per-round wall-time ratios, and the ratio of the process
// CPU time spent in each side's rounds (cpu-ratio). Compare two sides
// with these, never with the ns/op of separate sub-benchmarks: on a shared
// machine, ns/op is wall time, which includes the time the process waits
// for a processor. Measured on a 2-core machine shared with other builds,
// the wall time of the same sub-benchmark varied 9 to 28 µs between runs
// seconds apart while its CPU time stayed within 6.8 to 8.2 µs; that
// drift is what made the "generated" sub-benchmark look 1.6 times the
// hand-written one in one session while the ratio said 0.95-1.0. The plain
// sub-benchmarks report cpu-ns/op too: the process's CPU time per call,
// garbage collection and the exporter's goroutine included, which is what
// a program pays. (The ratio sub-benchmarks' B/op and allocs/op count a
// whole round of both sides; read the allocations from the plain
// sub-benchmarks.)

// discardExporter accepts and drops spans, so that benchmarks measure the
// full pipeline up to the network.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// initBench turns tracing on with a batching processor that exports to
// nowhere, the production pipeline minus the network.
func initBench(b *testing.B) {
	b.Helper()
	initForTest(b, Config{SpanProcessors: []sdktrace.SpanProcessor{
		sdktrace.NewBatchSpanProcessor(discardExporter{}),
	}})
}

// manualLookupOrder is what a careful developer writes by hand with the
// OpenTelemetry API to record what lookupOrder's generated code records.
func manualLookupOrder(ctx context.Context, tracer trace.Tracer, orderID string) (order Order, err error) {
	ctx, span := tracer.Start(ctx, "lookup_order", trace.WithAttributes(
		attribute.String("overmind.span.type", "tool_call"),
		attribute.String("code.namespace", "example.com/shop"),
		attribute.String("code.function.name", "LookupOrder"),
		attribute.String("tool.name", "lookup_order"),
	))
	start := time.Now()
	if span.IsRecording() {
		in, _ := json.Marshal(map[string]any{"orderID": orderID})
		span.SetAttributes(attribute.String("inputs", string(in)))
	}
	defer func() {
		if span.IsRecording() {
			if err != nil {
				span.SetAttributes(
					attribute.String("overmind.status", "failed"),
					attribute.String("overmind.error.type", "*errors.errorString"),
					attribute.String("overmind.error.message", err.Error()),
				)
				span.SetStatus(codes.Error, err.Error())
			} else {
				out, _ := json.Marshal(order)
				span.SetAttributes(attribute.String("outputs", string(out)), attribute.String("overmind.status", "success"))
			}
			span.SetAttributes(attribute.Float64("overmind.duration.seconds", time.Since(start).Seconds()))
		}
		span.End()
	}()
	_ = ctx
	if orderID == "" {
		return Order{}, errors.New("empty order id")
	}
	return Order{ID: orderID, Status: "shipped"}, nil
}

// benchRatio runs subject and baseline alternately, in rounds of n calls
// each (ABBA order, to cancel drift), and reports the median per-round
// ratio of their wall times, each side's median ns/op, and the ratio of
// the process CPU time spent in each side's rounds (when rounds are long
// enough for the CPU time to be read precisely).
func benchRatio(b *testing.B, subject, baseline func()) {
	b.Helper()
	benchRatioN(b, 200, subject, baseline)
}

// benchRatioN is benchRatio with rounds of n calls.
func benchRatioN(b *testing.B, n int, subject, baseline func()) {
	b.Helper()
	var ratios, subj, base []float64
	var cpu [2]time.Duration
	cpuOK := true
	run := func(f func(), side int) float64 {
		c0, ok0 := processCPU()
		start := time.Now()
		for range n {
			f()
		}
		wall := time.Since(start)
		c1, ok1 := processCPU()
		cpu[side] += c1 - c0
		cpuOK = cpuOK && ok0 && ok1
		return float64(wall.Nanoseconds()) / float64(n)
	}
	for i := 0; b.Loop(); i++ {
		var s, t float64
		if i%2 == 0 {
			s, t = run(subject, 0), run(baseline, 1)
		} else {
			t, s = run(baseline, 1), run(subject, 0)
		}
		ratios, subj, base = append(ratios, s/t), append(subj, s), append(base, t)
	}
	b.ReportMetric(median(ratios), "ratio")
	b.ReportMetric(median(subj), "subject-ns/op")
	b.ReportMetric(median(base), "baseline-ns/op")
	// Reading the CPU time is a system call of about a microsecond, on
	// both sides of each round: only rounds much longer than that give a
	// CPU ratio worth reporting.
	const minCPURound = 100 * time.Microsecond
	shortest := time.Duration(min(median(subj), median(base)) * float64(n))
	if cpuOK && cpu[1] > 0 && shortest >= minCPURound {
		b.ReportMetric(float64(cpu[0])/float64(cpu[1]), "cpu-ratio")
	}
	b.ReportMetric(0, "ns/op") // a round's time means nothing on its own
}

// loopWithCPU runs f in b.Loop and reports, besides ns/op, the process's
// CPU time per call.
func loopWithCPU(b *testing.B, f func()) {
	b.Helper()
	b.ReportAllocs()
	c0, ok0 := processCPU()
	for b.Loop() {
		f()
	}
	if c1, ok1 := processCPU(); ok0 && ok1 {
		b.ReportMetric(float64((c1-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// plainTracer returns a tracer of an OpenTelemetry provider of its own,
// with the same batching processor and exporter initBench gives the
// runtime: what a program using the OpenTelemetry API directly has, with
// none of the runtime's own span processors.
func plainTracer(b *testing.B) trace.Tracer {
	b.Helper()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sdktrace.NewBatchSpanProcessor(discardExporter{})))
	b.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp.Tracer("bench")
}

func BenchmarkCall(b *testing.B) {
	ctx := context.Background()
	b.Run("ratio", func(b *testing.B) {
		initBench(b)
		tracer := plainTracer(b)
		benchRatio(b,
			func() { lookupOrder(ctx, "A-1001") },
			func() { manualLookupOrder(ctx, tracer, "A-1001") })
	})
	b.Run("generated", func(b *testing.B) {
		initBench(b)
		loopWithCPU(b, func() { lookupOrder(ctx, "A-1001") })
	})
	b.Run("hand-written-otel", func(b *testing.B) {
		initBench(b)
		tracer := plainTracer(b)
		loopWithCPU(b, func() { manualLookupOrder(ctx, tracer, "A-1001") })
	})
}

// plainNoop is instrumentedNoop without its instrumentation.
//
//go:noinline
func plainNoop(ctx context.Context, id string, n int) (int, error) {
	_, _ = ctx, id
	return n + 1, nil
}

// benchFastest runs f in rounds of 1000 calls and reports the mean time
// per call and the fastest round's: for calls of a few nanoseconds on a
// busy machine, the fastest round is the figure closest to the code's own
// cost. Allocations are per round of 1000 calls.
func benchFastest(b *testing.B, f func()) {
	b.Helper()
	b.ReportAllocs()
	const n = 1000
	fastest, total, rounds := time.Duration(1<<62), time.Duration(0), 0
	for b.Loop() {
		start := time.Now()
		for range n {
			f()
		}
		d := time.Since(start)
		fastest, total, rounds = min(fastest, d), total+d, rounds+1
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(rounds*n), "ns/call")
	b.ReportMetric(float64(fastest.Nanoseconds())/n, "fastest-ns/call")
	b.ReportMetric(0, "ns/op")
}

func BenchmarkBeforeInit(b *testing.B) {
	resetForTest()
	ctx := context.Background()
	i := 0
	cases := []struct {
		name string
		f    func()
	}{
		{"uninstrumented", func() { plainNoop(ctx, "A-1", 1) }},
		{"EnterContext+Exit", func() { instrumentedNoop(ctx, "A-1", 1) }},
		{"Enter+Exit", func() { instrumentedNoCtx("A-1") }},
		{"StartSpan+End", func() {
			_, s := StartSpan(ctx, SpanTypeFunction, "block", attribute.Int("i", i))
			s.End()
		}},
		{"SetTag", func() { i++; SetTag(ctx, "retry.count", i) }},
		{"SetUser", func() { SetUser(ctx, User{ID: "user-123"}) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) { benchFastest(b, c.f) })
	}
}

func BenchmarkNesting(b *testing.B) {
	b.Run("ratio", func(b *testing.B) {
		initBench(b)
		ctx := context.Background()
		benchRatio(b,
			func() { handleRequest("go") },
			func() { handleRequestCtx(ctx, "go") })
	})
	b.Run("context", func(b *testing.B) {
		initBench(b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			handleRequestCtx(ctx, "go")
		}
	})
	b.Run("goroutine", func(b *testing.B) {
		initBench(b)
		b.ReportAllocs()
		for b.Loop() {
			handleRequest("go")
		}
	})
}

// BenchmarkContextGuard measures what surviving a context whose Value
// panics costs on the hot path: spanContextOf (a deferred recover around
// the lookup) against the bare lookup, on a context that carries a span.
func BenchmarkContextGuard(b *testing.B) {
	initBench(b)
	ctx, span := StartSpan(context.Background(), SpanTypeFunction, "parent")
	defer span.End()
	ctx = context.WithValue(ctx, labelsKey{}, (*labels)(nil)) // one more layer, as in real programs
	b.Run("ratio", func(b *testing.B) {
		benchRatio(b,
			func() { spanContextOf(ctx) },
			func() { trace.SpanContextFromContext(ctx) })
	})
	b.Run("guarded", func(b *testing.B) {
		for b.Loop() {
			spanContextOf(ctx)
		}
	})
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			trace.SpanContextFromContext(ctx)
		}
	})
}
