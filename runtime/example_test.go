package overmind_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"

	"go.opentelemetry.io/otel/attribute"

	"github.com/overmind-core/overmind-go/runtime"
)

func Example() {
	// With OVERMIND_API_KEY in the environment, spans go to Overmind.
	if err := overmind.Init(overmind.Config{
		ServiceName: "support-agent",
		Environment: "production",
		Providers:   []string{"openai"},
	}); err != nil {
		log.Fatal(err)
	}
	defer overmind.Shutdown(context.Background())
}

func ExampleStartSpan() {
	ctx := context.Background()
	documents := []string{"a.pdf", "b.pdf"}
	for i, doc := range documents {
		func() {
			ctx, span := overmind.StartSpan(ctx, overmind.SpanTypeFunction, "process_document",
				attribute.Int("doc.index", i))
			defer span.End() // every return and panic ends the span
			tokens, err := process(ctx, doc)
			span.SetError(err)
			overmind.SetTag(ctx, "doc.tokens", tokens)
		}()
	}
}

func process(context.Context, string) (int, error) { return 42, nil }

func ExampleSetUser() {
	middleware := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := overmind.SetUser(r.Context(), overmind.User{ID: r.Header.Get("X-User-Id")})
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
	_ = middleware
}

func ExampleCaptureException() {
	ctx := context.Background()
	if err := charge(ctx); err != nil {
		overmind.CaptureException(ctx, err) // handled, but visible in the trace
	}
}

func charge(context.Context) error { return errors.New("card declined") }

func ExamplePromptString() {
	system := overmind.PromptString("support_greeter_v1",
		"You are a helpful support agent. Your name is {agent_name}.",
		map[string]any{"agent_name": "Astra"})
	fmt.Println(system)
	// Output: You are a helpful support agent. Your name is Astra.
}

func ExampleTracer() {
	tracer := overmind.Tracer()
	ctx, span := tracer.Start(context.Background(), "long_lived_op")
	defer span.End()
	span.SetAttributes(attribute.String("phase", "begin"))
	_ = ctx
}
