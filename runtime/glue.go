package overmind

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/jsonvalue"
)

// This file is what the LLM provider capture, which lives in this package
// too, builds on. Everything here is unexported and safe to call before
// Init (it then reports that tracing is off).
//
//   - spanParent(ctx): the parent context for an LLM span: ctx if it
//     carries a span, else ctx with the goroutine's current span, so that
//     a provider call made with context.Background() inside an
//     instrumented function still nests under it.
//   - activeTracer(): the runtime's tracer, or nil when tracing is off.
//     Spans started with it pass through the label processor, so the
//     workflow, agent, conversation and user labels reach LLM spans too.
//   - serialize(v), serializeObject(names, values): the JSON encoding
//     used for inputs and outputs, with the same redaction, caps and
//     placeholders.
//   - lookupPrompt(text): the PromptString that rendered exactly text, if
//     any; promptInfo.attributes() are the overmind.prompt.* attributes to
//     set on the LLM span.
//   - enabledProviders() and onProvidersEnabled(fn): the providers
//     Config.Providers enabled (all when it was empty), and a hook run by
//     every Init with the full set. Init does not touch
//     http.DefaultTransport; the capture installs its own hooks from fn.
//   - recordError(span, err, attrs), recordPanic(span, v, attrs): the
//     failure rules of instrumented functions. They set the OTel status and
//     exception event and return attrs plus overmind.status and the error
//     type and scrubbed message, for one SetAttributes call.

// spanParent returns the context to start a span from so that it nests
// under the current span: ctx's if ctx carries one, else the goroutine's.
func spanParent(ctx context.Context) context.Context {
	parent, _, _ := parentOf(ctx)
	return parent
}

// activeTracer returns the runtime's tracer, or nil when tracing is off.
func activeTracer() trace.Tracer {
	if st := active.Load(); st != nil {
		return st.gated
	}
	return nil
}

// jsonOptions are the serializer options in force.
func jsonOptions() jsonvalue.Options {
	if st := active.Load(); st != nil {
		return st.jsonOpts
	}
	return jsonvalue.Options{}
}

// serialize encodes v as the JSON of an inputs or outputs attribute.
func serialize(v any) (s string) {
	record(func() { s = jsonvalue.Marshal(v, jsonOptions()) })
	return s
}

// serializeObject encodes named values as one JSON object, redacting the
// values of secret names.
func serializeObject(names []string, values []any) string {
	var s string
	record(func() { s = jsonvalue.Object(names, values, jsonOptions()) })
	return s
}

// lookupPrompt returns the PromptString that rendered exactly text.
func lookupPrompt(text string) (promptInfo, bool) { return prompts.lookup(text) }
