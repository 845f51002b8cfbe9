// Package llmcapture turns HTTP calls to LLM providers into OpenTelemetry
// spans: one llm_call span per logical call, with the request's model,
// parameters and messages, the response's messages, finish reasons and token
// usage, latency, time to first chunk for streams, and errors.
//
// Go has no monkey-patching, so the capture happens at the HTTP layer. An
// [Engine] recognises the requests of the supported endpoints by host and
// path, from one table of providers (providers.go: each provider's name,
// hosts and API; each API's endpoints and parsers are one file of their
// own: openai.go, anthropic.go, gemini.go, bedrock.go), plus any base URL
// named in [Options.BaseURLs], and leaves every other request untouched.
// It is reached three ways: [Engine.Transport] wraps an [http.RoundTripper]
// (the runtime wraps [http.DefaultTransport] with it), [Engine.Middleware]
// has the shape of the openai-go and anthropic-sdk-go option.WithMiddleware
// functions, and [Engine.RoundTrip] is the shared entry point. Whichever way
// a request arrives, it is captured once: the request passed on carries a
// context mark that makes the layers below pass it through.
//
// The package parses the providers' JSON itself and imports no provider
// SDK; what it needs from the runtime it receives through [Deps].
//
// # Never breaking the call
//
// The caller gets exactly the bytes and errors it would get without capture.
// The request body is read (up to [Options.MaxBodyBytes]) and replaced by a
// reader that yields the same bytes followed by the rest of the original
// body, whose Close it forwards. The response body is wrapped by a reader
// that observes what the caller reads and never reads ahead of it, so a
// stream's first chunk reaches the caller as soon as the server sends it. A
// body that cannot be parsed, or is larger than the cap, gives a span with
// less detail; a panic in the capture code is recovered and the call goes
// on uncaptured.
//
// # On the caller's path
//
// The engine starts no goroutine of its own. Before sending the request
// it copies its body and starts the span with its name and the attributes
// the GenAI conventions ask for at creation, where samplers see them:
// operation, provider, server and the requested model, which it finds
// with one pass over the body that keeps nothing. It watches the response
// body as the caller reads it; when the body ends (the caller's last
// Read, or its Close) it ends the span with the time it ended at. Parsing
// the two bodies and writing the rest of the attributes can wait until the
// span is read: with [Deps.DeferAttributes] (the runtime sets it) the span
// ends at once, and the span processors wrapped by [Engine.Processor] get
// a span that computes its attributes and status the first time they are
// read, which for a batching exporter is on the exporter's goroutine (see
// deferred.go); without it they are computed before the span ends. The
// parsing is one pass over each body that copies only the strings it must
// unescape, and the content attributes are written into one buffer. See
// BenchmarkOpenAIChat, in the integration module, for the cost against
// the same call uncaptured, and against the same call with a span written
// by hand. A body is parsed only up to [Options.MaxBodyBytes].
//
// # One span per logical call
//
// The SDKs retry by sending the request again through the same transport
// and middleware chain, so each attempt arrives as its own request. The
// attempts of one call are tied together by a fingerprint: the parent span
// (from [Deps.Parent]), the method, the URL and a hash of the request body,
// which are the same for every attempt. An attempt that fails in a way the
// SDKs retry (status 408, 409, 429 or 5xx, unless x-should-retry says
// false, or a transport error) does not end the span at once: the span is
// parked under its fingerprint. The SDKs close the body of a response they
// are about to retry without reading it, and read the body of the response
// that ends the call (to build their error), so a retryable response whose
// body is read ends the span, and one whose body is closed unread parks it.
// The next attempt with the same fingerprint resumes the parked span and
// counts one more attempt (overmind.llm.attempts). Identical calls made at
// once from one parent (a fan-out that hits a rate limit) park side by side
// under one fingerprint, and each retry resumes the one that has waited
// longest, so each call still gives one span. The failed attempt is
// recorded as an overmind.llm.retry event. When openai-go and
// anthropic-sdk-go send X-Stainless-Retry-Count, "0" always starts a new
// call, so two identical calls in a row are never merged. The AWS SDK
// reads the error it retries, but numbers its attempts
// (amz-sdk-request: attempt=N; max=M) and gives each call an id that its
// attempts share (amz-sdk-invocation-id), which goes into the fingerprint:
// a retryable error parks the span unless it was the last attempt (see
// attempts.go). A parked span
// that no attempt resumes ends after a grace period (the server's
// Retry-After plus a margin, else 15 seconds) or at [Engine.Flush], with the
// end time of its last attempt, so its duration is exact even when it is
// exported late.
//
// anthropic-sdk-go (v1.84 and later) starts an OpenTelemetry span of its
// own for each call. [Engine.Tracer] gives the tracer for its
// instrumentation scope, which starts none for the calls the engine
// captures, so that a call gives one span: see sdkspans.go.
//
// # Streams
//
// A response with Content-Type text/event-stream (server-sent events), or
// application/vnd.amazon.eventstream (the AWS event stream framing of
// Bedrock's ConverseStream), is parsed incrementally as the caller reads
// it. The span stays open until the stream is read to
// the end, closed, or fails; usage comes from the final events (OpenAI chat
// sends it only when the request sets stream_options.include_usage), and
// gen_ai.response.time_to_first_chunk records the seconds from the start of
// the call to the first server-sent event. A stream closed before its final
// event ends the span with overmind.status "cancelled".
package llmcapture
