package overmind

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/otlp"
	"github.com/overmind-core/overmind-go/runtime/internal/redact"
)

// Kinds of export destination.
const (
	sinkOvermind = "overmind" // OTLP/HTTP to Overmind, with the API key
	sinkOTLP     = "otlp"     // OTLP/HTTP configured by OTEL_EXPORTER_OTLP_*
	sinkConsole  = "console"  // JSON on stdout, for OTEL_TRACES_EXPORTER=console
)

// exportPlan is where spans will go, decided from settings and the
// standard OpenTelemetry environment before anything is built.
type exportPlan struct {
	sinks    []sinkPlan
	reason   string // why nothing is exported, when sinks is empty
	warnings []string
}

// sinkPlan is one destination to build.
type sinkPlan struct {
	// kind is the destination's kind; dest is where it sends spans, for
	// messages only (see displayURL).
	kind, dest  string
	newExporter func() (sdktrace.SpanExporter, error)
}

// planExport decides the export destinations:
//
//   - Overmind, when an API key is set: OTLP/HTTP protobuf, gzipped, to
//     BaseURL+TracesPath with the X-Api-Key header; or, with no key, when
//     BaseURL (or OVERMIND_API_URL) names a loopback host, as a local
//     `overmind serve` is, without the header. None of the standard
//     OTEL_EXPORTER_OTLP_* variables apply to it (they describe the user's
//     collector): not the endpoint or headers (the key is never sent
//     elsewhere), nor the protocol, compression, timeout, certificates or
//     client certificate; see overmindExporterConfig.
//   - the standard OTLP endpoint, when OTEL_EXPORTER_OTLP_ENDPOINT or
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, configured entirely by the
//     OTEL_EXPORTER_OTLP_* variables as in any OpenTelemetry SDK.
//   - stdout, when OTEL_TRACES_EXPORTER lists console.
//
// OTEL_TRACES_EXPORTER selects among them: its default, otlp, enables the
// first two; none disables all export.
func planExport(s settings) exportPlan {
	var p exportPlan
	selected := map[string]bool{"otlp": true}
	if raw := strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")); raw != "" {
		selected = map[string]bool{}
		for _, name := range strings.Split(raw, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			switch name {
			case "otlp", "console", "none":
				selected[name] = true
			case "":
			default:
				p.warnings = append(p.warnings, fmt.Sprintf("OTEL_TRACES_EXPORTER: unsupported exporter %q ignored (supported: otlp, console, none)", name))
			}
		}
	}
	if selected["none"] {
		p.reason = "OTEL_TRACES_EXPORTER=none: spans are not exported"
		return p.withDebugNote(s)
	}
	if selected["otlp"] && (s.apiKey != "" || isLoopback(s.baseURL)) {
		cfg := overmindExporterConfig(s)
		p.sinks = append(p.sinks, sinkPlan{kind: sinkOvermind, dest: displayURL(cfg.URL), newExporter: otlpExporter(cfg)})
	}
	if selected["otlp"] {
		p.planStandard()
	}
	if selected["console"] {
		p.sinks = append(p.sinks, sinkPlan{kind: sinkConsole, dest: "stdout", newExporter: newConsoleExporter})
	}
	if len(p.sinks) == 0 {
		p.reason = "OVERMIND_API_KEY is not set and no OTEL_EXPORTER_OTLP_ENDPOINT is configured: spans are not exported"
		if !selected["otlp"] {
			p.reason = "OTEL_TRACES_EXPORTER does not list otlp or console: spans are not exported"
		}
	}
	return p.withDebugNote(s)
}

// planStandard adds the destination the OTEL_EXPORTER_OTLP_* variables
// configure, if they name an endpoint; what is wrong with them is a
// warning, not a failure.
func (p *exportPlan) planStandard() {
	env := otlp.Env(os.Getenv)
	if endpoint, err := env.Endpoint(); endpoint == "" && err == nil {
		return
	}
	cfg, warnings, err := env.Config()
	for _, w := range warnings {
		p.warnings = append(p.warnings, redact.Message(w))
	}
	if err != nil {
		p.warnings = append(p.warnings, fmt.Sprintf("%v: spans are not sent there", err))
		return
	}
	cfg.UserAgent = userAgent()
	p.sinks = append(p.sinks, sinkPlan{kind: sinkOTLP, dest: displayURL(cfg.URL), newExporter: otlpExporter(cfg)})
}

func (p exportPlan) withDebugNote(s settings) exportPlan {
	if p.reason != "" && s.debug {
		p.reason += " (OVERMIND_DEBUG prints them to stderr)"
	}
	return p
}

// displayURL is an endpoint URL as messages show it: scheme, host and path,
// which is where the OTLP exporter sends spans. The user information and
// the query, which the exporter does not use and which may hold
// credentials, are left out, and what remains is scrubbed like an error
// message.
func displayURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid URL>"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return redact.Message(u.String())
}

// overmindExportTimeout bounds one export to Overmind, retries included.
const overmindExportTimeout = 10 * time.Second

// overmindExporterConfig is how spans reach Overmind: protobuf, gzipped,
// with the X-Api-Key header alone, each export bounded to 10 seconds, and
// TLS verified against the system's roots with no client certificate (or
// no TLS for an http:// URL). No OTEL_EXPORTER_OTLP_* variable changes
// it: they describe the user's own collector.
func overmindExporterConfig(s settings) otlp.Config {
	return otlp.Config{
		URL:       s.baseURL + s.tracesPath,
		Headers:   overmindHeaders(s.apiKey),
		Gzip:      true,
		Timeout:   overmindExportTimeout,
		UserAgent: userAgent(),
	}
}

// overmindHeaders is the X-Api-Key header, when there is a key.
func overmindHeaders(apiKey string) map[string]string {
	if apiKey == "" {
		return nil
	}
	return map[string]string{"X-Api-Key": apiKey}
}

// isLoopback reports whether rawURL's host is this machine: localhost or
// a loopback address. Spans sent there without a key stay on the machine.
// The default BaseURL is not, so a loopback one was set by the user.
func isLoopback(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// userAgent identifies the exporter, as the OTLP specification asks.
func userAgent() string { return "overmind-go/" + sdkVersion() + " (OTLP/HTTP exporter)" }

// otlpExporter returns the constructor of an OTLP/HTTP exporter for cfg.
func otlpExporter(cfg otlp.Config) func() (sdktrace.SpanExporter, error) {
	return func() (sdktrace.SpanExporter, error) { return otlp.New(cfg) }
}

// newConsoleExporter writes spans to stdout as OTLP/JSON lines.
func newConsoleExporter() (sdktrace.SpanExporter, error) {
	return otlp.NewLineExporter(os.Stdout), nil
}

// build creates the destination: its exporter behind a batching processor
// with a bounded queue, both wrapped to count what is delivered.
func (p sinkPlan) build(s settings) (*sink, error) {
	exp, err := p.newExporter()
	if err != nil {
		return nil, fmt.Errorf("overmind: %s exporter for %s: %w", p.kind, p.dest, err)
	}
	sk := &sink{kind: p.kind, dest: p.dest, exporter: exp}
	var opts []sdktrace.BatchSpanProcessorOption
	if s.maxQueueSize > 0 {
		opts = append(opts, sdktrace.WithMaxQueueSize(s.maxQueueSize))
	}
	if s.maxExportBatch > 0 {
		batch := s.maxExportBatch
		if s.maxQueueSize > 0 {
			batch = min(batch, s.maxQueueSize)
		}
		opts = append(opts, sdktrace.WithMaxExportBatchSize(batch))
	}
	if s.flushInterval > 0 {
		opts = append(opts, sdktrace.WithBatchTimeout(s.flushInterval))
	}
	sk.bsp = sdktrace.NewBatchSpanProcessor(countingExporter{SpanExporter: exp, sink: sk}, opts...)
	return sk, nil
}

// sink is one export destination. It is the span processor registered
// with the tracer provider: it counts the sampled spans that end, hands
// them to a batching processor (which never blocks: when its queue is full
// it drops the span), and learns from its exporter how many were
// delivered. What ended but was neither delivered nor failed was dropped.
type sink struct {
	kind, dest string
	bsp        sdktrace.SpanProcessor
	exporter   sdktrace.SpanExporter

	ended, exported, failed atomic.Int64
	// flushReported is how many of the failed spans a ForceFlush has
	// reported already.
	flushReported atomic.Int64
	// warned and partialWarned record that the first failure, and the
	// first warning of an accepted export, were printed.
	warned, partialWarned atomic.Bool
	errMu                 sync.Mutex
	lastErr               string
}

func (sk *sink) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (sk *sink) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		sk.ended.Add(1)
	}
	sk.bsp.OnEnd(s)
}

// Shutdown flushes the sink and shuts its exporter down. When ctx ends
// first, the exports still in flight are ended too, so that nothing goes
// on after Shutdown returns.
func (sk *sink) Shutdown(ctx context.Context) error {
	err := sk.bsp.Shutdown(ctx)
	if err != nil && sk.exporter != nil {
		sk.exporter.Shutdown(context.Background())
	}
	return err
}

func (sk *sink) ForceFlush(ctx context.Context) error { return sk.bsp.ForceFlush(ctx) }

// report is the line Shutdown prints about sk, or "" when every span was
// delivered.
func (sk *sink) report() string {
	ended, exported, failed := sk.ended.Load(), sk.exported.Load(), sk.failed.Load()
	dropped := max(ended-exported-failed, 0)
	if dropped == 0 && failed == 0 {
		return ""
	}
	line := fmt.Sprintf("%s export to %s: %d of %d spans not delivered", sk.kind, sk.dest, dropped+failed, ended)
	if dropped > 0 {
		line += fmt.Sprintf("; %d dropped (export queue full, or still queued at the Shutdown deadline)", dropped)
	}
	if failed > 0 {
		line += fmt.Sprintf("; %d rejected or unreachable (last error: %s)", failed, sk.lastError())
	}
	return line
}

// unreportedFailures is how many spans failed to export since a flush
// last asked, which are now reported.
func (sk *sink) unreportedFailures() int64 {
	failed := sk.failed.Load()
	return failed - sk.flushReported.Swap(failed)
}

// lastError is the message of the sink's last failed export.
func (sk *sink) lastError() string {
	sk.errMu.Lock()
	defer sk.errMu.Unlock()
	return sk.lastErr
}

// stats returns the sink's counters, for tests.
func (sk *sink) stats() (ended, exported, failed int64) {
	return sk.ended.Load(), sk.exported.Load(), sk.failed.Load()
}

// countingExporter counts what its exporter delivers. A failed export is
// counted, reported on stderr the first time, and not returned: the batch
// processor would hand it to OpenTelemetry's global error handler, which
// logs every failure, every few seconds, for as long as the backend is
// down.
type countingExporter struct {
	sdktrace.SpanExporter
	sink *sink
}

func (e countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err == nil {
		e.sink.exported.Add(int64(len(spans)))
		return nil
	}
	failed := int64(len(spans))
	var partial *otlp.PartialSuccess
	if errors.As(err, &partial) {
		// Accepted, but for the spans the server says it rejected.
		failed = min(max(partial.Rejected, 0), failed)
		e.sink.exported.Add(int64(len(spans)) - failed)
		if failed == 0 {
			if !e.sink.partialWarned.Swap(true) {
				logf("%s export to %s: the server accepted the spans with a warning: %s", e.sink.kind, e.sink.dest, redact.Message(partial.Message))
			}
			return nil
		}
	}
	e.sink.failed.Add(failed)
	msg := redact.Message(err.Error())
	e.sink.errMu.Lock()
	e.sink.lastErr = msg
	e.sink.errMu.Unlock()
	if !e.sink.warned.Swap(true) {
		logf("%s export to %s failed: %s (later failures are counted and reported at Shutdown)", e.sink.kind, e.sink.dest, msg)
	}
	return nil
}

// addSink adds a destination built by a later Init.
func (st *state) addSink(sk *sink) {
	st.sinksMu.Lock()
	defer st.sinksMu.Unlock()
	st.sinks = append(st.sinks, sk)
}

// flush is ForceFlush once ctx is bounded: it flushes every processor and
// reports what was not delivered, naming each destination whose exports
// failed since the last flush (before or during this one), with their
// last error, and wrapping ctx's error when it gave up first.
func (st *state) flush(ctx context.Context) error {
	sinks := st.sinkList()
	// Each destination has the whole bound: one that hangs does not keep
	// spans from the others. The provider's own flush then reaches the
	// other processors, and is quick for the sinks, whose queues are empty.
	err := eachSink(sinks, func(sk *sink) error { return sk.ForceFlush(ctx) })
	if err == nil {
		err = st.tp.ForceFlush(ctx)
	}
	var problems []string
	for _, sk := range sinks {
		if n := sk.unreportedFailures(); n > 0 {
			problems = append(problems, fmt.Sprintf("%s export to %s: %s not delivered (last error: %s)", sk.kind, sk.dest, countOf(n, "span"), sk.lastError()))
		}
	}
	msg := "overmind: flush: " + strings.Join(problems, "; ")
	switch {
	case err != nil:
		if len(problems) > 0 {
			msg += "; "
		}
		return fmt.Errorf("%s%w", msg, gaveUp(ctx, err))
	case len(problems) > 0:
		return errors.New(msg)
	}
	return nil
}

// gaveUp is err, the error of a flush or shutdown, said plainly when ctx
// ended before it was done: then it is ctx's error (once, however many
// destinations returned it), with the bound when boundedContext set it.
func gaveUp(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	var bound boundPassed
	if errors.As(context.Cause(ctx), &bound) {
		return fmt.Errorf("not every span was delivered within %v: %w", time.Duration(bound), ctx.Err())
	}
	return fmt.Errorf("not every span was delivered: %w", ctx.Err())
}

// shutdownSinks shuts every destination down at once, each with the whole
// of ctx's time, before the provider shuts down the other processors.
func (st *state) shutdownSinks(ctx context.Context) error {
	return eachSink(st.sinkList(), func(sk *sink) error { return sk.Shutdown(ctx) })
}

// sinkList is a copy of the destinations, which a later Init may extend.
func (st *state) sinkList() []*sink {
	st.sinksMu.Lock()
	defer st.sinksMu.Unlock()
	return slices.Clone(st.sinks)
}

// eachSink calls f on every sink concurrently and joins their errors.
func eachSink(sinks []*sink, f func(*sink) error) error {
	errs := make([]error, len(sinks))
	var wg sync.WaitGroup
	for i, sk := range sinks {
		wg.Go(func() { errs[i] = f(sk) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// boundPassed is the cause of a context that boundedContext ended: the
// bound, which messages give.
type boundPassed time.Duration

func (b boundPassed) Error() string {
	return fmt.Sprintf("waited %v, the most Shutdown and ForceFlush wait when their context has no deadline", time.Duration(b))
}

// countOf is n followed by noun, plural unless n is 1.
func countOf(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
