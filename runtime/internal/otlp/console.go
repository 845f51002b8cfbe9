package otlp

import (
	"context"
	"io"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// LineExporter writes each batch of spans to a writer as one line of
// OTLP/JSON: an ExportTraceServiceRequest per line, the format of the
// OpenTelemetry Collector's file exporter, which its otlpjsonfile receiver
// reads back.
type LineExporter struct {
	mu sync.Mutex
	w  io.Writer
}

var _ sdktrace.SpanExporter = (*LineExporter)(nil)

// NewLineExporter returns an exporter writing to w.
func NewLineExporter(w io.Writer) *LineExporter { return &LineExporter{w: w} }

// ExportSpans writes spans as one line.
func (e *LineExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	line := append(AppendJSON(nil, spans), '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := e.w.Write(line)
	return err
}

// Shutdown does nothing: the writer belongs to the caller.
func (e *LineExporter) Shutdown(context.Context) error { return nil }
