package overmind

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/jsonvalue"
	"github.com/overmind-core/overmind-go/runtime/internal/llmcapture"
	"github.com/overmind-core/overmind-go/runtime/internal/redact"
)

// This file captures the calls to LLM providers: after Init, every call to
// a provider that Config.Providers enables becomes an llm_call span with
// the prompts, completions, model, parameters, token usage, latency and
// errors, with no change where the calls are made.
//
// Go has no monkey-patching, so the capture happens at the HTTP layer, in
// three ways:
//
//   - Init wraps http.DefaultTransport. Every client that sends through
//     it is captured: the clients that google.golang.org/genai and
//     github.com/sashabaranov/go-openai build by default use it at each
//     request (an http.Client with a nil Transport does), and openai-go and
//     anthropic-sdk-go use it when it is wrapped at the time the client is
//     built. Those two SDKs give a client without option.WithHTTPClient a
//     copy of http.DefaultTransport made when the client is built, so call
//     Init before building clients: a client built earlier keeps the
//     unwrapped copy and is not captured. langchaingo's default client holds
//     the http.DefaultTransport of program start, before main runs; its
//     LLMs need a client with WrapTransport.
//   - Middleware is an option.WithMiddleware middleware for openai-go and
//     anthropic-sdk-go clients that have an http.Client of their own.
//   - WrapTransport wraps the http.RoundTripper of any other client.
//
// Only requests to the providers' API hosts and endpoints, and to the
// servers named in Config.ProviderBaseURLs, are touched; every other
// request goes through unchanged. Whichever ways a request passes, it is
// captured once. How the engine parses bodies, streams and retries is told
// in package llmcapture.
//
// One caveat of wrapping http.DefaultTransport: code that asserts
// http.DefaultTransport.(*http.Transport) without checking the assertion
// panics once it is wrapped; the SDKs above check it. Set
// Config.NoDefaultTransport to leave http.DefaultTransport alone and use
// Middleware or WrapTransport instead.

// ProviderBaseURL names a server whose LLM calls are captured besides the
// providers' own hosts: Azure OpenAI under a domain of its own, an
// OpenAI-compatible server the table of docs/providers.md does not know
// (or one on a port other than its default), or a proxy. A base URL wins
// over the table, so it also renames a server the table knows.
type ProviderBaseURL struct {
	// URL is the base URL the client is configured with, such as
	// "http://localhost:11434/v1" or "https://my-resource.openai.azure.com/openai".
	// A request is captured when its scheme and host match and its path
	// starts with URL's path and ends with one of the protocol's
	// endpoints (/chat/completions, /responses, /embeddings; /messages;
	// :generateContent, :streamGenerateContent; /model/{id}/converse,
	// /model/{id}/converse-stream).
	URL string
	// Protocol is the API the server speaks: "openai" (the default),
	// "anthropic", "google" or "bedrock".
	Protocol string
	// Name is recorded as gen_ai.provider.name, such as "azure.ai.openai"
	// or "ollama". It defaults to the protocol's provider name.
	Name string
}

// Middleware captures the LLM calls a client sends through it. Its
// signature is that of option.Middleware in openai-go and anthropic-sdk-go:
//
//	client := openai.NewClient(
//		option.WithHTTPClient(myHTTPClient),
//		option.WithMiddleware(overmind.Middleware),
//	)
//
// It captures the providers Config.Providers enables; before Init, and
// while tracing is off, it passes every request through.
func Middleware(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	return captureEngine.Middleware(req, next)
}

// WrapTransport returns an http.RoundTripper that sends requests through
// base (http.DefaultTransport if nil) and captures the LLM calls among
// them, for clients with a transport of their own:
//
//	httpClient := &http.Client{Transport: overmind.WrapTransport(myTransport)}
//
// It may be called before Init: the returned transport captures the
// providers enabled by Init at the time of each request, and passes every
// request through while tracing is off.
func WrapTransport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &captureTransport{base: base}
}

// captureTransport is the transport of WrapTransport and of the wrapped
// http.DefaultTransport.
type captureTransport struct {
	base http.RoundTripper
}

func (t *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return captureEngine.RoundTrip(t.base, req)
}

// CloseIdleConnections closes the idle connections of the wrapped
// transport, as http.Client.CloseIdleConnections expects.
func (t *captureTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Unwrap returns the wrapped transport.
func (t *captureTransport) Unwrap() http.RoundTripper { return t.base }

// captureEngine captures the provider calls. It exists before Init and
// captures nothing until Init enables providers and tracing is on.
var captureEngine = mustEngine()

func mustEngine() *llmcapture.Engine {
	e, err := llmcapture.New(llmcapture.Deps{
		Tracer:          activeTracer,
		Parent:          spanParent,
		Encode:          captureSerialize,
		Truncate:        truncateAttribute,
		Prompt:          capturePrompt,
		ErrorMessage:    redact.Message,
		DeferAttributes: true, // every span processor that reads spans is wrapped by captureProcessor
		Cost:            llmCost,
	}, llmcapture.Options{})
	if err != nil {
		panic(err) // the options are empty: New cannot fail
	}
	return e
}

// capturePrompt adapts lookupPrompt to the engine.
func capturePrompt(text string) (llmcapture.Prompt, bool) {
	p, ok := lookupPrompt(text)
	if !ok {
		return llmcapture.Prompt{}, false
	}
	return llmcapture.Prompt{ID: p.ID, Hash: p.Hash, Kwargs: p.Kwargs, Template: p.Template}, true
}

// captureProcessor wraps a span processor of the tracer provider so that
// the LLM spans whose attributes the capture computes late (when they are
// first read, off the caller's path) reach it with them.
func captureProcessor(p sdktrace.SpanProcessor) sdktrace.SpanProcessor {
	return captureEngine.Processor(p)
}

// captureJSON holds the serializer options of the last Init, for the
// attributes the capture computes late: a span ended before Shutdown may
// be exported during it, when the options in force are gone.
var captureJSON atomic.Pointer[jsonvalue.Options]

// captureOptions returns the serializer options of the capture's
// attributes.
func captureOptions() jsonvalue.Options {
	if o := captureJSON.Load(); o != nil {
		return *o
	}
	return jsonOptions()
}

// captureSerialize encodes the application's data found in a provider call
// as inputs and outputs are encoded.
func captureSerialize(v any) string { return marshalRecording(v, captureOptions()) }

// truncateAttribute caps a content attribute as the serializer caps
// inputs and outputs: at Config.MaxAttributeBytes, cut on a character
// boundary and marked.
func truncateAttribute(s string) string {
	max := captureOptions().MaxBytes
	if max <= 0 {
		max = jsonvalue.DefaultMaxBytes
	}
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max] + jsonvalue.TruncationMark
}

// captureSettings are the capture's fields of Config, resolved.
type captureSettings struct {
	baseURLs         []llmcapture.BaseURL
	noContent        bool
	noDefaultWrapper bool
}

// resolveCapture validates the capture's fields of cfg.
func resolveCapture(cfg Config) (captureSettings, error) {
	s := captureSettings{
		noContent:        cfg.NoProviderContent || envFalse("OVERMIND_CAPTURE_CONTENT"),
		noDefaultWrapper: cfg.NoDefaultTransport,
	}
	for _, b := range cfg.ProviderBaseURLs {
		s.baseURLs = append(s.baseURLs, llmcapture.BaseURL{URL: b.URL, Protocol: b.Protocol, Name: b.Name})
	}
	// Validate the base URLs the way the engine will take them.
	if _, err := llmcapture.New(llmcapture.Deps{Tracer: activeTracer}, llmcapture.Options{BaseURLs: s.baseURLs}); err != nil {
		return s, fmt.Errorf("overmind: Config.ProviderBaseURLs: %w", err)
	}
	return s, nil
}

// envFalse reports whether an environment variable is set to a false
// value: 0, false, no or off (in any case).
func envFalse(name string) bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(name))) {
	case "0", "false", "no", "off":
		return true
	}
	return false
}

var (
	// captureMu guards the settings every Init added.
	captureMu sync.Mutex
	// captured accumulates the capture settings of every Init: a later
	// Init adds base URLs, and once content capture is off it stays off.
	captured captureSettings
	// defaultWrapped records that http.DefaultTransport was wrapped.
	defaultWrapped bool
)

// addCaptureSettings records the capture settings of an Init, before Init
// enables its providers.
func addCaptureSettings(s captureSettings) {
	captureMu.Lock()
	defer captureMu.Unlock()
	captured.baseURLs = append(captured.baseURLs, s.baseURLs...)
	captured.noContent = captured.noContent || s.noContent
	captured.noDefaultWrapper = captured.noDefaultWrapper || s.noDefaultWrapper
}

func init() { onProvidersEnabled(configureCapture) }

// configureCapture applies the providers every Init so far enabled, and the
// capture settings, to the engine, and wraps http.DefaultTransport the
// first time tracing is on with something to capture.
func configureCapture(set providerSet) {
	captureMu.Lock()
	defer captureMu.Unlock()
	names := set.names()
	jsonOpts := jsonOptions()
	captureJSON.Store(&jsonOpts)
	opts := llmcapture.Options{Providers: names, BaseURLs: captured.baseURLs, NoContent: captured.noContent || !recordsData()}
	if err := captureEngine.Configure(opts); err != nil {
		logf("provider capture: %v", err) // resolveCapture validated the options
		return
	}
	if defaultWrapped || captured.noDefaultWrapper || activeTracer() == nil || (len(names) == 0 && len(captured.baseURLs) == 0) {
		return
	}
	if _, ok := http.DefaultTransport.(*captureTransport); !ok {
		http.DefaultTransport = &captureTransport{base: http.DefaultTransport}
	}
	defaultWrapped = true
}

// globalProvider is the tracer provider Init installs as OpenTelemetry's
// global one: the runtime's, except that the tracer of a provider SDK's own
// instrumentation starts no span for the calls the capture records (see
// llmcapture.Engine.Tracer), so that anthropic-sdk-go's calls give one
// span, not two.
type globalProvider struct{ *sdktrace.TracerProvider }

// Tracer returns the tracer of the instrumentation scope name.
func (p globalProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return captureEngine.Tracer(name, p.TracerProvider.Tracer(name, opts...))
}

// flushCapture ends the spans of calls parked for a retry, before the
// exporters flush.
func flushCapture() { captureEngine.Flush() }
