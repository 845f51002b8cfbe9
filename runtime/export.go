package overmind

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

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
	newExporter func(settings) (sdktrace.SpanExporter, error)
}

// planExport decides the export destinations:
//
//   - Overmind, when an API key is set: OTLP/HTTP protobuf, gzipped, to
//     BaseURL+TracesPath with the X-Api-Key header. None of the standard
//     OTEL_EXPORTER_OTLP_* variables apply to it (they describe the user's
//     collector): not the endpoint or headers (the key is never sent
//     elsewhere), nor the protocol, compression, timeout, certificates or
//     client certificate; see newOvermindExporter.
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
	if selected["otlp"] && s.apiKey != "" {
		p.sinks = append(p.sinks, sinkPlan{kind: sinkOvermind, dest: displayURL(s.baseURL + s.tracesPath), newExporter: newOvermindExporter})
	}
	if endpoint := standardEndpoint(); selected["otlp"] && endpoint != "" {
		if proto := firstNonEmpty(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")); proto == "grpc" {
			p.warnings = append(p.warnings, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported; exporting with http/protobuf (point the endpoint at the collector's HTTP port, usually 4318)")
		}
		p.sinks = append(p.sinks, sinkPlan{kind: sinkOTLP, dest: displayURL(endpoint), newExporter: newStandardExporter})
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

func (p exportPlan) withDebugNote(s settings) exportPlan {
	if p.reason != "" && s.debug {
		p.reason += " (OVERMIND_DEBUG prints them to stderr)"
	}
	return p
}

// standardEndpoint is the traces URL the OTEL_EXPORTER_OTLP_* variables
// select, or "" when neither endpoint variable is set. A per-signal
// endpoint is used as is; a base endpoint gets /v1/traces appended.
func standardEndpoint() string {
	if e := strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")); e != "" {
		return e
	}
	base := strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
	if base == "" {
		return ""
	}
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = path.Join(u.Path, "/v1/traces")
	return u.String()
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

// overmindExportTimeout bounds one export request to Overmind.
const overmindExportTimeout = 10 * time.Second

// newOvermindExporter builds the exporter to Overmind. otlptracehttp reads
// every OTEL_EXPORTER_OTLP_* variable, which describe the user's own
// collector; each setting they could change is given explicitly here, so
// that none of them applies: protobuf encoding, gzip, its own timeout, the
// X-Api-Key header alone, and TLS verified against the system's roots with
// no client certificate (or no TLS at all for an http:// URL, which the
// exporter requires).
func newOvermindExporter(s settings) (sdktrace.SpanExporter, error) {
	endpoint := s.baseURL + s.tracesPath
	var tlsConfig *tls.Config
	if strings.HasPrefix(endpoint, "https://") {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return otlptracehttp.New(context.Background(),
		otlptracehttp.WithEndpointURL(endpoint),
		otlptracehttp.WithHeaders(map[string]string{"X-Api-Key": s.apiKey}),
		otlptracehttp.WithEncoding(otlptracehttp.EncodingProtobuf),
		otlptracehttp.WithCompression(otlptracehttp.GzipCompression),
		otlptracehttp.WithTimeout(overmindExportTimeout),
		otlptracehttp.WithTLSClientConfig(tlsConfig),
	)
}

func newStandardExporter(settings) (sdktrace.SpanExporter, error) {
	return otlptracehttp.New(context.Background())
}

func newConsoleExporter(settings) (sdktrace.SpanExporter, error) {
	return stdouttrace.New(stdouttrace.WithWriter(os.Stdout), stdouttrace.WithPrettyPrint())
}

// build creates the destination: its exporter behind a batching processor
// with a bounded queue, both wrapped to count what is delivered.
func (p sinkPlan) build(s settings) (*sink, error) {
	exp, err := p.newExporter(s)
	if err != nil {
		return nil, fmt.Errorf("overmind: %s exporter for %s: %w", p.kind, p.dest, err)
	}
	sk := &sink{kind: p.kind, dest: p.dest}
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

	ended, exported, failed atomic.Int64
	warned                  atomic.Bool
	errMu                   sync.Mutex
	lastErr                 string
}

func (sk *sink) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (sk *sink) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		sk.ended.Add(1)
	}
	sk.bsp.OnEnd(s)
}

func (sk *sink) Shutdown(ctx context.Context) error   { return sk.bsp.Shutdown(ctx) }
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
	e.sink.failed.Add(int64(len(spans)))
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
// failed while it waited, with their last error, and wrapping ctx's error
// when it gave up first.
func (st *state) flush(ctx context.Context) error {
	st.sinksMu.Lock()
	sinks := slices.Clone(st.sinks)
	st.sinksMu.Unlock()
	failedBefore := make([]int64, len(sinks))
	for i, sk := range sinks {
		failedBefore[i] = sk.failed.Load()
	}
	err := st.tp.ForceFlush(ctx)
	var problems []string
	for i, sk := range sinks {
		if n := sk.failed.Load() - failedBefore[i]; n > 0 {
			problems = append(problems, fmt.Sprintf("%s export to %s: %s not delivered (last error: %s)", sk.kind, sk.dest, countOf(n, "span"), sk.lastError()))
		}
	}
	msg := "overmind: flush: " + strings.Join(problems, "; ")
	switch {
	case err != nil:
		if len(problems) > 0 {
			msg += "; "
		}
		var bound boundPassed
		if errors.As(context.Cause(ctx), &bound) {
			return fmt.Errorf("%snot every span was delivered within %v: %w", msg, time.Duration(bound), err)
		}
		return fmt.Errorf("%snot every span was delivered: %w", msg, err)
	case len(problems) > 0:
		return errors.New(msg)
	}
	return nil
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
