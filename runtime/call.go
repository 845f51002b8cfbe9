package overmind

import (
	"context"

	"go.opentelemetry.io/otel/trace"
)

// spanHandle is the OpenTelemetry span behind a Call.
type spanHandle = trace.Span

// enter is the shared implementation of the Enter functions. It returns a
// nil *Call when tracing is off. Until Init exists it always is.
func enter(ctx context.Context, typ SpanType, name, function string, inputs func(*Values)) (context.Context, *Call) {
	return ctx, nil
}

// exit ends c's span.
func (c *Call) exit(recovered any, err error, outputs func(*Values)) {
	c.span.End()
}
