// Package otelsdk sends traces to `overmind serve` with the upstream
// OpenTelemetry Go SDK's OTLP/HTTP exporter, as programs that do not use
// the overmind runtime do, and reads them back through the client.
package otelsdk

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/client"
	"github.com/overmind-core/overmind-go/server"
)

func TestUpstreamExporter(t *testing.T) {
	s, err := server.New(server.Config{DB: ":memory:", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer func() { s.CloseFeeds(); hs.Close(); s.Close() }()

	for _, compression := range []otlptracehttp.Compression{otlptracehttp.GzipCompression, otlptracehttp.NoCompression} {
		exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(hs.URL+"/v1/traces"),
			otlptracehttp.WithCompression(compression), otlptracehttp.WithHeaders(map[string]string{"X-Api-Key": "k"}))
		if err != nil {
			t.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
			sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "py-like"))))
		tracer := tp.Tracer("my.library")
		ctx, root := tracer.Start(context.Background(), "GET /orders", trace.WithSpanKind(trace.SpanKindServer))
		_, llm := tracer.Start(ctx, "chat gpt-4o", trace.WithSpanKind(trace.SpanKindClient))
		llm.SetAttributes(attribute.String("gen_ai.operation.name", "chat"), attribute.Int("gen_ai.usage.input_tokens", 9),
			attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}), attribute.Float64("gen_ai.request.temperature", 0.5))
		llm.RecordError(errors.New("retry: 429"), trace.WithStackTrace(true))
		llm.SetStatus(codes.Error, "rate limited")
		llm.End()
		root.End()
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Fatalf("export: %v", err)
		}

		tr, err := client.New(hs.URL, "k").RetrieveTrace(context.Background(), root.SpanContext().TraceID().String())
		if err != nil {
			t.Fatal(err)
		}
		if tr.SpanCount != 2 || tr.Root == nil || tr.Root.Operation != "server" || tr.Root.Kind != 2 || tr.Root.SpanType != "tool_call" {
			t.Fatalf("root: %+v", tr.Root)
		}
		got := tr.Spans[1]
		if got.Operation != "chat" || got.SpanType != "llm_call" || got.Kind != 3 || got.StatusCode != 2 ||
			got.Attributes["gen_ai.usage.input_tokens"] != json.Number("9") || got.ServiceName != "py-like" || got.ScopeName != "my.library" {
			t.Fatalf("llm span: %+v", got)
		}
		if ev := got.Events.Items; len(ev) != 1 || ev[0].Attributes["exception.message"] != "retry: 429" || ev[0].Attributes["exception.stacktrace"] == nil {
			t.Fatalf("exception event: %+v", got.Events)
		}
	}
}
