package overmind

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/jsonvalue"
	"github.com/overmind-core/overmind-go/runtime/internal/pricing"
	"github.com/overmind-core/overmind-go/runtime/internal/unwind"
)

// scopeName is the instrumentation scope of the runtime's spans.
const scopeName = "github.com/overmind-core/overmind-go/runtime"

// state is the tracing set up by Init. The fields the hot path reads
// (tracer, jsonOpts) never change; the rest is guarded by initMu.
type state struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	// gated is tracer for spans the runtime does not start itself (the
	// provider capture, Tracer()): it starts none in a disabled trace.
	gated    trace.Tracer
	jsonOpts jsonvalue.Options
	// prices is the price table of every Init so far.
	prices atomic.Pointer[pricing.Table]
	// recoverPanics makes the deferred end of a call recover a panic to
	// record it, and panic again (see Config.RecoverPanics).
	recoverPanics bool

	settings settings
	// sinks are the export destinations; Init appends under sinksMu too,
	// since ForceFlush reads them without initMu.
	sinks   []*sink
	sinksMu sync.Mutex
	debug   *debugTree
	// processors are the Config.SpanProcessors registered so far, so that
	// a later Init registers each processor once.
	processors []sdktrace.SpanProcessor
}

var (
	// active is the current tracing state, nil before Init and after
	// Shutdown. Every entry point starts with one atomic load of it.
	active atomic.Pointer[state]

	// initMu serialises Init, Shutdown and the fields below.
	initMu sync.Mutex
	// noExportNoted records that the "nothing is exported" line was
	// printed, so that it is printed once.
	noExportNoted bool
	// globalSet records that Init installed its provider as OpenTelemetry's
	// global one, which a later Init may then replace after a Shutdown.
	globalSet bool
)

// Init sets up tracing: call it once, early in main, before any LLM call.
// cfg's zero fields fall back to environment variables (see [Config]).
//
// Spans go to Overmind when an API key is set, and to the endpoint of the
// standard OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// when one is set; OTEL_TRACES_EXPORTER (otlp, console, none) selects
// exporters as in any OpenTelemetry SDK. With nowhere to send spans, Init
// prints one line to stderr saying so and tracing stays off, unless debug
// output or extra span processors want the spans.
//
// Init is idempotent and re-entrant: a second call can enable more
// (providers, debug output, an export destination, span processors) but
// never tears down or replaces the tracer provider, so spans in flight are
// unaffected. Init returns an error, and changes nothing, when cfg is
// invalid.
func Init(cfg Config) error {
	s, warnings, err := resolve(cfg)
	if err != nil {
		return err
	}
	initMu.Lock()
	defer initMu.Unlock()
	for _, w := range warnings {
		logf("%s", w)
	}
	if envBool("OTEL_SDK_DISABLED") {
		if !noExportNoted {
			logf("OTEL_SDK_DISABLED is set; tracing is off")
			noExportNoted = true
		}
		return nil
	}
	addCaptureSettings(s.capture)
	s.processors = append(slices.Clone(pendingProcessors), s.processors...) // install forgets them
	plan := planExport(s)
	if st := installed.Load(); st != nil {
		if err := st.extend(s, plan); err != nil {
			return err
		}
		enableProviders(s.providers)
		return nil
	}
	for _, w := range plan.warnings {
		logf("%s", w)
	}
	if len(plan.sinks) == 0 && !noExportNoted {
		logf("%s", plan.reason)
		noExportNoted = true
	}
	if len(plan.sinks) == 0 && !s.debug && len(s.processors) == 0 {
		idle = &s // until a span processor is added
		enableProviders(s.providers)
		return nil // nothing would see a span: leave tracing off
	}
	st, err := newState(s, plan)
	if err != nil {
		return err
	}
	install(st)
	enableProviders(s.providers)
	return nil
}

// newState builds the tracer provider: the label processor first, then a
// batching processor per export destination, the debug tree, and the
// caller's processors.
func newState(s settings, plan exportPlan) (*state, error) {
	res, err := buildResource(s)
	if err != nil {
		return nil, err
	}
	st := &state{
		settings: s,
		jsonOpts: jsonvalue.Options{MaxBytes: s.maxAttributeBytes},
		// Where a panic cannot be told from a return without recovering
		// it, recovering is the only way to record it.
		recoverPanics: s.recoverPanics || unwind.Check() == unwind.None,
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSpanProcessor(labelProcessor{}),
		sdktrace.WithIDGenerator(idGenerator{}), // honours StartTrace's TraceID
	}
	if s.sampler != nil {
		opts = append(opts, sdktrace.WithSampler(s.sampler))
	}
	for _, plan := range plan.sinks {
		sk, err := plan.build(s)
		if err != nil {
			for _, built := range st.sinks {
				built.Shutdown(context.Background())
			}
			return nil, err
		}
		st.sinks = append(st.sinks, sk)
		opts = append(opts, sdktrace.WithSpanProcessor(captureProcessor(sk)))
	}
	if s.debug {
		st.debug = newDebugTree(stderrWriter())
		opts = append(opts, sdktrace.WithSpanProcessor(captureProcessor(st.debug)))
	}
	for _, p := range s.processors {
		if st.addProcessor(p) {
			opts = append(opts, sdktrace.WithSpanProcessor(captureProcessor(p)))
		}
	}
	st.tp = sdktrace.NewTracerProvider(opts...)
	st.tracer = st.tp.Tracer(scopeName, trace.WithInstrumentationVersion(sdkVersion()))
	st.gated = gatedTracer{st.tracer}
	st.prices.Store(s.prices)
	if !s.skipGlobal {
		installGlobal(st.tp)
	}
	return st, nil
}

// extend applies a second Init: it adds what s enables and the first Init
// did not, and ignores the rest (service name, sampler, ...), which cannot
// change without replacing the tracer provider.
func (st *state) extend(s settings, plan exportPlan) error {
	have := map[string]bool{}
	for _, sk := range st.sinks {
		have[sk.kind] = true
	}
	for _, p := range plan.sinks {
		if have[p.kind] {
			continue
		}
		sk, err := p.build(s)
		if err != nil {
			return err
		}
		st.addSink(sk)
		st.tp.RegisterSpanProcessor(captureProcessor(sk))
	}
	if s.debug && st.debug == nil {
		st.debug = newDebugTree(stderrWriter())
		st.tp.RegisterSpanProcessor(captureProcessor(st.debug))
	}
	for _, p := range s.processors {
		if st.addProcessor(p) {
			st.tp.RegisterSpanProcessor(captureProcessor(p))
		}
	}
	st.prices.Store(st.prices.Load().Merge(s.prices))
	return nil
}

// addProcessor records p as registered and reports whether it is new: a
// processor given to several Init calls (the same Config passed twice, say)
// is registered once, or it would see every span twice.
func (st *state) addProcessor(p sdktrace.SpanProcessor) bool {
	if p == nil {
		return false
	}
	for _, have := range st.processors {
		if sameProcessor(have, p) {
			return false
		}
	}
	st.processors = append(st.processors, p)
	return true
}

// sameProcessor reports whether a and b are the same processor: equal
// pointers, or equal values of a comparable type. Values of a type that
// cannot be compared are never the same (comparing them would panic).
func sameProcessor(a, b sdktrace.SpanProcessor) bool {
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta.Comparable() && a == b
}

// buildResource describes the service: the standard OTEL_RESOURCE_ATTRIBUTES
// and the SDK's own telemetry.sdk.* attributes, overridden by Overmind's.
func buildResource(s settings) (*resource.Resource, error) {
	res, err := resource.New(context.Background(),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(
			attribute.String("service.name", s.serviceName),
			attribute.String("service.version", s.serviceVersion),
			attribute.String("deployment.environment", s.environment),
			attribute.String("deployment.environment.name", s.environment),
			attribute.String("overmind.sdk.name", "overmind-go"),
			attribute.String("overmind.sdk.version", sdkVersion()),
		),
	)
	if err != nil && res == nil {
		return nil, fmt.Errorf("overmind: building the resource: %w", err)
	}
	// A partial resource (say, a malformed OTEL_RESOURCE_ATTRIBUTES entry)
	// is still usable; the problem is worth a line, not a failure.
	if err != nil {
		logf("resource: %v", err)
	}
	return res, nil
}

// installGlobal makes tp OpenTelemetry's global tracer provider, with the
// W3C propagators, unless the program already installed its own.
func installGlobal(tp *sdktrace.TracerProvider) {
	// Until something is installed, the global provider is the API's
	// internal delegating type.
	if !globalSet && fmt.Sprintf("%T", otel.GetTracerProvider()) != "*global.tracerProvider" {
		return
	}
	otel.SetTracerProvider(globalProvider{tp})
	if fmt.Sprintf("%T", otel.GetTextMapPropagator()) == "*global.textMapPropagator" {
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	}
	globalSet = true
}

// flushTimeout bounds Shutdown and ForceFlush when their context has no
// deadline, so that a slow, throttling or dead backend cannot hold a
// process at exit, or a serverless handler, for the exporter's retries.
// Tests shorten it.
var flushTimeout = 10 * time.Second

// boundedContext is ctx (context.Background() when nil), bounded by
// flushTimeout when it has no deadline of its own.
func boundedContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, flushTimeout, boundPassed(flushTimeout))
}

// Shutdown flushes every ended span to its destinations and stops tracing;
// call it before the program exits (defer it in main). It waits until the
// spans are delivered or ctx is done, and at most 10 seconds when ctx has
// no deadline (a nil ctx is taken as context.Background()). Spans dropped
// because a queue was full, or that could not be delivered, are counted
// and reported on stderr. After Shutdown every
// function of the package is a no-op again until the next Init.
func Shutdown(ctx context.Context) error {
	initMu.Lock()
	defer initMu.Unlock()
	flushCapture()
	noExportNoted = false
	st := uninstall()
	if st == nil {
		return nil
	}
	ctx, cancel := boundedContext(ctx)
	defer cancel()
	err := errors.Join(st.shutdownSinks(ctx), st.tp.Shutdown(ctx))
	// Spans still open will end on a provider without processors, so
	// their labels would never be deleted: forget them all. Forget the
	// goroutines' stacks of open spans too, so that a span never ended
	// is not the parent of spans after a later Init.
	calls.Clear()
	spanLabels.Clear()
	spanLabelsCount.Store(0)
	cancelledSpans.Clear()
	cancelledCount.Store(0)
	spanDatas.Clear()
	spanDataCount.Store(0)
	if st.debug != nil {
		st.debug.flushPending()
	}
	for _, sk := range st.sinks {
		if line := sk.report(); line != "" {
			logf("%s", line)
		}
	}
	if err != nil {
		return fmt.Errorf("overmind: shutdown: %w", gaveUp(ctx, err))
	}
	return nil
}

// ForceFlush exports every span ended so far, waiting until they are
// delivered or ctx is done, and at most 10 seconds when ctx has no
// deadline (a nil ctx is taken as context.Background()). Call it at the
// end of a short-lived job (a serverless handler, a script) that does not
// call Shutdown. It returns an error when it gave up before every span
// was delivered (wrapping ctx's error), or when a destination refused or
// could not be reached since the previous ForceFlush (or Init), so that
// each failed span is reported once; tracing goes on either way.
func ForceFlush(ctx context.Context) error {
	st := installed.Load()
	if st == nil {
		return nil
	}
	ctx, cancel := boundedContext(ctx)
	defer cancel()
	flushCapture()
	return st.flush(ctx)
}

var (
	stderrMu sync.Mutex
	stderr   io.Writer = os.Stderr
)

func stderrWriter() io.Writer {
	stderrMu.Lock()
	defer stderrMu.Unlock()
	return stderr
}

// logf prints one line to stderr, prefixed with "overmind: ".
func logf(format string, args ...any) {
	stderrMu.Lock()
	defer stderrMu.Unlock()
	fmt.Fprintf(stderr, "overmind: "+format+"\n", args...)
}
