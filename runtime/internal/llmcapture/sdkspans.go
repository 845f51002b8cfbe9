package llmcapture

import (
	"context"
	"net"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// This file keeps a provider SDK's own span of a call from doubling the
// engine's. anthropic-sdk-go (v1.84 and later) starts an OpenTelemetry
// span for each messages call, through the global tracer provider unless
// given one, and sends every attempt in its context. Recorded beside the
// engine's span, it would count the call's tokens twice; and called with
// context.Background() inside an instrumented function, it would be a
// trace of its own. Adopting it instead (setting the engine's attributes on
// it) does not work either: the SDK ends it before it closes a stream's
// body, and sets keys and a status of its own on it.
//
// So the tracer provider the runtime installs as the global one gives
// the SDK's instrumentation scope a tracer from [Engine.Tracer]: for a
// call the engine captures, it starts no span, and returns the context of
// the call's parent (the span in the context, else the goroutine's current
// span) in a span that records nothing, which the SDK passes on to its
// attempts. The engine's own span is then the call's one span, under that
// parent. The SDK's other spans (count_tokens, batches, tool runners) are
// left as they are, and so is a span the SDK starts through a tracer
// provider given to it with option.WithTracerProvider.

// sdkSpan names a span a provider SDK starts for a call the engine
// captures; an API lists those of its calls.
type sdkSpan struct {
	scope string // the SDK's instrumentation scope
	name  string // the span's name
}

// Tracer returns the tracer to give for instrumentation scope: t itself,
// unless scope is a provider SDK's whose call spans the engine replaces by
// its own, when it returns t wrapped so that it starts none for the calls
// the engine captures.
func (e *Engine) Tracer(scope string, t trace.Tracer) trace.Tracer {
	for _, a := range apis {
		for i := range a.sdkSpans {
			if a.sdkSpans[i].scope == scope {
				return &replacingTracer{Tracer: t, e: e, api: a, span: &a.sdkSpans[i]}
			}
		}
	}
	return t
}

// replacingTracer is the tracer of a provider SDK's scope.
type replacingTracer struct {
	trace.Tracer
	e    *Engine
	api  *api
	span *sdkSpan
}

// Start starts the span as t would, unless it is a call span the engine
// replaces.
func (t *replacingTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if name == t.span.name && t.e.replaces(t.api, opts) {
		parent := trace.SpanContextFromContext(t.e.deps.Parent(ctx))
		ctx = trace.ContextWithSpanContext(ctx, parent)
		return ctx, trace.SpanFromContext(ctx)
	}
	return t.Tracer.Start(ctx, name, opts...)
}

// replaces reports whether the engine captures the calls of API a to the
// server that the attributes of the SDK's span name (server.address and
// server.port).
func (e *Engine) replaces(a *api, opts []trace.SpanStartOption) bool {
	if e == nil || e.deps.Tracer() == nil {
		return false
	}
	cfg := trace.NewSpanStartConfig(opts...)
	var host string
	var port int
	for _, kv := range cfg.Attributes() {
		switch kv.Key {
		case keyServerAddress:
			host = kv.Value.AsString()
		case keyServerPort:
			port = int(kv.Value.AsInt64())
		}
	}
	return host != "" && e.config.Load().servesAPI(a, host, port)
}

// servesAPI reports whether cfg captures the calls of API a to host:port,
// whatever their path.
func (cfg *config) servesAPI(a *api, host string, port int) bool {
	if r := cfg.hosts.find(host, port); r != nil && r.api == a {
		return true
	}
	for _, b := range cfg.bases {
		if b.api != a {
			continue
		}
		bhost, bport := splitHost(b.host, b.scheme)
		if strings.EqualFold(bhost, host) && bport == port {
			return true
		}
	}
	return false
}

// splitHost splits a URL's host into its name and port, the scheme's
// default when it names none.
func splitHost(hostport, scheme string) (string, int) {
	name, port, err := net.SplitHostPort(hostport)
	if err != nil {
		name = strings.Trim(hostport, "[]")
		if scheme == "http" {
			return name, 80
		}
		return name, 443
	}
	return name, portNumber(port)
}
