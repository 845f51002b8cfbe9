package otlptest_test

import (
	"context"
	"testing"
	"time"

	"github.com/overmind-core/overmind-go/internal/otlptest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestReceiverDecodesExports(t *testing.T) {
	rcv := otlptest.NewReceiver()
	defer rcv.Close()

	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx,
		otlptracehttp.WithEndpointURL(rcv.URL()+"/api/v1/traces"),
		otlptracehttp.WithHeaders(map[string]string{"X-Api-Key": "k"}))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "svc"))))
	tr := tp.Tracer("test")
	ctx, parent := tr.Start(ctx, "parent")
	parent.SetAttributes(attribute.String("overmind.span.type", "workflow"))
	_, child := tr.Start(ctx, "child")
	child.SetAttributes(attribute.String("overmind.span.type", "tool_call"), attribute.Int("n", 3))
	child.End()
	parent.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	spans := rcv.WaitForSpans(2, 5*time.Second)
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want 2", len(spans))
	}
	if got, want := otlptest.Tree(spans), "parent [workflow]\n  child [tool_call]\n"; got != want {
		t.Errorf("tree:\n%s\nwant:\n%s", got, want)
	}
	if spans[0].Attrs["n"] != int64(3) || spans[0].Resource["service.name"] != "svc" {
		t.Errorf("attributes not decoded: %v %v", spans[0].Attrs, spans[0].Resource)
	}
	reqs := rcv.Requests()
	if len(reqs) == 0 || reqs[0].Path != "/api/v1/traces" || reqs[0].Header.Get("X-Api-Key") != "k" {
		t.Errorf("request not recorded: %+v", reqs)
	}
	if spans[0].TraceID != spans[1].TraceID || spans[0].ParentSpanID != spans[1].SpanID {
		t.Errorf("trace ids differ: %s %s", spans[0].TraceID, spans[1].TraceID)
	}
}
