package overmind

import (
	"reflect"
	"slices"
	"sync/atomic"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// This file holds the switches a program flips while it runs: tracing off
// and on (the OpenAI Agents SDK's set_tracing_disabled), span processors
// added or replaced after Init (add_trace_processor, set_trace_processors),
// and the sensitive-data switch (trace_include_sensitive_data, and the
// Overmind SDK's observe_safe for every function at once).

var (
	// installed is the state the last Init built, kept while tracing is
	// paused; active is installed unless SetTracingDisabled(true) paused
	// it. Both change only under initMu.
	installed atomic.Pointer[state]
	paused    atomic.Bool

	// excludeData is set by SetIncludeSensitiveData(false): spans record
	// no inputs, outputs or messages.
	excludeData atomic.Bool

	// idle holds the settings of an Init that left tracing off because
	// nothing would see a span; a span processor added later starts
	// tracing from them. Guarded by initMu.
	idle *settings
	// pendingProcessors are the span processors added before Init, which
	// the next Init registers. Guarded by initMu.
	pendingProcessors []sdktrace.SpanProcessor
)

// install makes st the tracing state, active unless tracing is paused.
// The caller holds initMu.
func install(st *state) {
	idle = nil
	pendingProcessors = nil // registered by st
	installed.Store(st)
	priced.Store(st)
	if !paused.Load() {
		active.Store(st)
	}
}

// uninstall turns tracing off and returns the state that was installed,
// if any. The caller holds initMu.
func uninstall() *state {
	idle = nil
	active.Store(nil)
	return installed.Swap(nil)
}

// SetTracingDisabled turns tracing off (true) or back on (false) while the
// program runs, without losing what Init set up. While it is off, every
// function of the package costs what it costs before Init (instrumented
// functions: one atomic load, no allocation) and records nothing; spans
// that were open when it was turned off end and are exported as usual.
// [ForceFlush] and [Shutdown] still flush. The switch outlives Shutdown
// and a later Init: tracing stays off until SetTracingDisabled(false).
func SetTracingDisabled(disabled bool) {
	initMu.Lock()
	defer initMu.Unlock()
	paused.Store(disabled)
	if disabled {
		active.Store(nil)
		return
	}
	if st := installed.Load(); st != nil && active.Swap(st) == nil {
		enableProviders(0) // an Init made while paused left the capture unhooked
	}
}

// SetIncludeSensitiveData turns the recording of data off (false) or back
// on (true) for every span at once, as if every instrumented function had
// capture=none: while it is off, spans keep their names, types, timing,
// status, errors, token usage and labels, but record no inputs or outputs
// (generated code, [RecordInput], [RecordOutput], [StartToolSpan]'s
// arguments), no messages ([RecordMessage]), and no prompts, completions
// or tool definitions of captured provider calls. It takes effect for
// spans started, and values recorded, after the call. Data is included by
// default.
func SetIncludeSensitiveData(include bool) {
	excludeData.Store(!include)
	if enabledProviders() != 0 {
		configureCapture(enabledProviders())
	}
}

// recordsData reports whether spans record inputs, outputs and messages.
func recordsData() bool { return !excludeData.Load() }

// AddSpanProcessor adds p to the span processors that see every span,
// after those already registered, while the program runs (the OpenAI
// Agents SDK's add_trace_processor). Before Init, p is kept and registered
// by the next Init, as if it were in Config.SpanProcessors; after an Init
// that left tracing off because nothing would see a span, adding a
// processor turns tracing on. A processor already registered is not added
// twice. Shutdown shuts p down with the rest; processors added afterwards
// belong to the next Init.
func AddSpanProcessor(p sdktrace.SpanProcessor) {
	if p == nil {
		return
	}
	initMu.Lock()
	defer initMu.Unlock()
	if st := installed.Load(); st != nil {
		if st.addProcessor(p) {
			st.tp.RegisterSpanProcessor(captureProcessor(p))
		}
		return
	}
	if idle != nil {
		s := *idle
		s.processors = []sdktrace.SpanProcessor{p}
		startIdle(s)
		return
	}
	if !containsProcessor(pendingProcessors, p) {
		pendingProcessors = append(pendingProcessors, p)
	}
}

// SetSpanProcessors replaces the span processors the program supplied
// (Config.SpanProcessors and those added with [AddSpanProcessor]) with
// ps, while the program runs (the OpenAI Agents SDK's
// set_trace_processors). Each removed processor is shut down, which flushes
// what it holds. The runtime's own processors stay: the export to Overmind
// or the OTLP endpoint and the debug tree are configured by Init (turn
// them off with OTEL_TRACES_EXPORTER=none). With no arguments it removes
// every processor the program supplied. Before Init it replaces the
// processors the next Init will register.
//
// A processor whose type cannot be compared (a struct value holding a
// slice, a map or a func) cannot be told apart from others, so it is never
// removed: pass such processors by pointer.
func SetSpanProcessors(ps ...sdktrace.SpanProcessor) {
	var want []sdktrace.SpanProcessor
	for _, p := range ps {
		if p != nil && !containsProcessor(want, p) {
			want = append(want, p)
		}
	}
	initMu.Lock()
	defer initMu.Unlock()
	if st := installed.Load(); st != nil {
		st.replaceProcessors(want)
		return
	}
	if idle != nil && len(want) > 0 {
		s := *idle
		s.processors = want
		startIdle(s)
		return
	}
	pendingProcessors = want
}

// replaceProcessors makes want the program's processors: those no longer
// wanted are unregistered (and so shut down), the new ones registered.
// The caller holds initMu.
func (st *state) replaceProcessors(want []sdktrace.SpanProcessor) {
	var kept []sdktrace.SpanProcessor
	for _, have := range st.processors {
		switch {
		case containsProcessor(want, have):
			kept = append(kept, have)
		case !reflect.TypeOf(have).Comparable():
			logf("SetSpanProcessors: a span processor of type %T cannot be removed (its type is not comparable); pass it by pointer", have)
			kept = append(kept, have)
		default:
			st.tp.UnregisterSpanProcessor(captureProcessor(have))
		}
	}
	st.processors = kept
	for _, p := range want {
		if st.addProcessor(p) {
			st.tp.RegisterSpanProcessor(captureProcessor(p))
		}
	}
}

// startIdle turns tracing on from the settings of an Init that had left it
// off, now that a processor wants the spans. The caller holds initMu.
func startIdle(s settings) {
	st, err := newState(s, planExport(s))
	if err != nil {
		logf("starting tracing for the added span processor: %v", err)
		return
	}
	install(st)
	enableProviders(0) // the capture wraps http.DefaultTransport once tracing is on
}

func containsProcessor(ps []sdktrace.SpanProcessor, p sdktrace.SpanProcessor) bool {
	return slices.ContainsFunc(ps, func(q sdktrace.SpanProcessor) bool { return sameProcessor(q, p) })
}
