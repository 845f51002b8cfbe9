package llmcapture

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/pricing"
)

// ProviderAll in [Options.Providers] enables every provider.
const ProviderAll = "all"

// DefaultMaxBodyBytes is the largest request or response body parsed when
// [Options.MaxBodyBytes] is zero. Larger bodies pass through untouched and
// give a span without their content.
const DefaultMaxBodyBytes = 4 << 20

// DefaultMaxAttributeBytes is the cap of a content attribute when Deps
// has no Truncate.
const DefaultMaxAttributeBytes = 32 << 10

// Deps is what the engine needs from the runtime.
type Deps struct {
	// Tracer returns the tracer that starts the llm_call spans, or nil
	// while tracing is off, when requests pass through. Required; it is
	// called once per captured request.
	Tracer func() trace.Tracer
	// Parent returns the context a span for a request with context ctx
	// starts in: ctx itself when it carries a span, else ctx with the
	// calling goroutine's current span. Nil means ctx itself.
	Parent func(ctx context.Context) context.Context
	// Encode serializes the application's data found in a call to JSON,
	// applying the redaction rules: tool call arguments and results, tool
	// schemas and embeddings inputs (decoded JSON: maps, slices, strings,
	// float64s, booleans and nil), and inline media data (a string). The
	// messages' structure and text are written by the engine. Nil means
	// encoding/json without redaction.
	Encode func(v any) string
	// Truncate caps the value of a content attribute at the runtime's
	// attribute size limit, with a visible mark. Nil means a cap of
	// DefaultMaxAttributeBytes.
	Truncate func(s string) string
	// Prompt reports the PromptString whose rendered text is text, if any.
	// The engine calls it with each text part of a request's system
	// instructions and messages, in order, and records the first match.
	// Nil means no prompt lookup.
	Prompt func(text string) (Prompt, bool)
	// ErrorMessage scrubs secrets from a provider's error message and
	// truncates it. Nil means truncation to 1024 bytes.
	ErrorMessage func(msg string) string
	// DeferAttributes lets the engine end a call's span before computing
	// most of its attributes, which it then computes when they are first
	// read (see [Engine.Processor]). Set it only when every span processor
	// of the tracer provider Tracer comes from that reads ended spans'
	// attributes or status is wrapped by Engine.Processor. The functions
	// above may then be called after the call, from another goroutine.
	DeferAttributes bool
	// Cost returns the cost in USD of a call to model (the response's
	// model) with the given token usage, or false when it is not known.
	// Nil means no cost is recorded.
	Cost func(model string, usage pricing.Tokens) (usd float64, ok bool)
}

// Prompt identifies a rendered PromptString found in a request.
type Prompt struct {
	ID       string // overmind.prompt.id
	Hash     string // overmind.prompt.hash
	Kwargs   string // overmind.prompt.kwargs, a JSON object; content
	Template string // overmind.prompt.template; content
}

// BaseURL names one more endpoint to capture: a server that speaks a
// provider's protocol at another address, such as Azure OpenAI, an
// OpenAI-compatible local server or a proxy.
type BaseURL struct {
	// URL is the base URL the client is configured with, such as
	// "http://localhost:11434/v1". A request is captured when its scheme and
	// host match and its path starts with URL's path and ends with one of
	// the protocol's endpoints (/chat/completions, /responses, /embeddings;
	// /messages; :generateContent, :streamGenerateContent).
	URL string
	// Protocol is the API the server speaks: "openai" (the default),
	// "anthropic", "google" or "bedrock".
	Protocol string
	// Name is recorded as gen_ai.provider.name. It defaults to the
	// protocol's ("openai", "anthropic", "gcp.gemini", "aws.bedrock").
	Name string
}

// Options are the engine's settings; [Engine.Configure] replaces them.
type Options struct {
	// Providers are the providers whose own hosts are captured, by the
	// names ProviderNames returns (or their aliases), or ProviderAll.
	Providers []string
	// BaseURLs are further endpoints, captured whatever Providers says.
	BaseURLs []BaseURL
	// NoContent leaves prompts, completions, tool definitions and prompt
	// kwargs out of the spans. Content is captured by default.
	NoContent bool
	// MaxBodyBytes caps the bodies parsed; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// Engine captures provider calls. Its methods are safe for concurrent use,
// and a nil *Engine passes every request through.
type Engine struct {
	deps   Deps
	config atomic.Pointer[config]

	mu     sync.Mutex
	parked parkedCalls

	deferred deferredCalls
}

// New returns an engine with deps and opts. It fails if deps has no
// tracer or opts names an unknown provider or a malformed base URL.
func New(deps Deps, opts Options) (*Engine, error) {
	if deps.Tracer == nil {
		return nil, fmt.Errorf("llmcapture: Deps.Tracer is nil")
	}
	if deps.Parent == nil {
		deps.Parent = func(ctx context.Context) context.Context { return ctx }
	}
	if deps.Encode == nil {
		deps.Encode = encodeJSON
	}
	if deps.Truncate == nil {
		deps.Truncate = func(s string) string { return truncate(s, DefaultMaxAttributeBytes) }
	}
	if deps.ErrorMessage == nil {
		deps.ErrorMessage = func(s string) string { return truncate(s, 1024) }
	}
	e := &Engine{deps: deps}
	if err := e.Configure(opts); err != nil {
		return nil, err
	}
	return e, nil
}

// Configure replaces the engine's options. Requests already under way keep
// the options they started with. On error the options are left unchanged.
func (e *Engine) Configure(opts Options) error {
	cfg, err := newConfig(opts)
	if err != nil {
		return err
	}
	e.config.Store(cfg)
	return nil
}

// Options returns the engine's current options.
func (e *Engine) Options() Options {
	return e.config.Load().opts
}

// Flush ends every span parked for a retry that has not come, with the end
// time of its last attempt. The runtime calls it before flushing or
// shutting down the exporter.
func (e *Engine) Flush() {
	if e == nil {
		return
	}
	e.mu.Lock()
	parked := e.parked.drain()
	e.mu.Unlock()
	for _, c := range parked {
		c.stopTimer()
		c.finish()
	}
}

// config is the parsed form of Options.
type config struct {
	opts    Options
	hosts   hostRules // of the enabled providers
	content bool
	maxBody int64
	bases   []base
}

// base is a parsed BaseURL.
type base struct {
	scheme, host, path string // host in lower case, path escaped
	api                *api
	name               string
}

func newConfig(opts Options) (*config, error) {
	cfg := &config{opts: opts, content: !opts.NoContent, maxBody: opts.MaxBodyBytes}
	if cfg.maxBody <= 0 {
		cfg.maxBody = DefaultMaxBodyBytes
	}
	enabled := make([]bool, len(providers))
	for _, name := range opts.Providers {
		if strings.EqualFold(strings.TrimSpace(name), ProviderAll) {
			for i := range enabled {
				enabled[i] = true
			}
			continue
		}
		i, ok := ProviderIndex(name)
		if !ok {
			return nil, fmt.Errorf("llmcapture: unknown provider %q (want one of %s, or %q)", name, strings.Join(ProviderNames(), ", "), ProviderAll)
		}
		enabled[i] = true
	}
	for i := range providers {
		if enabled[i] {
			cfg.hosts.add(&providers[i])
		}
	}
	for _, b := range opts.BaseURLs {
		parsed, err := parseBase(b)
		if err != nil {
			return nil, err
		}
		cfg.bases = append(cfg.bases, parsed)
	}
	return cfg, nil
}

func parseBase(b BaseURL) (base, error) {
	u, err := url.Parse(strings.TrimSpace(b.URL))
	if err != nil {
		return base{}, fmt.Errorf("llmcapture: base URL %q: %w", b.URL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return base{}, fmt.Errorf("llmcapture: base URL %q: want http(s)://host[:port][/path]", b.URL)
	}
	protocol := b.Protocol
	if protocol == "" {
		protocol = openaiAPI.name
	}
	a := apiNamed(protocol)
	if a == nil && strings.EqualFold(protocol, "gemini") {
		a = geminiAPI
	}
	if a == nil {
		return base{}, fmt.Errorf("llmcapture: base URL %q: unknown protocol %q (want %s)", b.URL, b.Protocol, apiNames())
	}
	name := b.Name
	if name == "" {
		name = a.provider
	}
	return base{
		scheme: u.Scheme,
		host:   strings.ToLower(u.Host),
		path:   strings.TrimSuffix(u.EscapedPath(), "/"),
		api:    a,
		name:   name,
	}, nil
}

// encodeJSON is the Encode used when Deps has none.
func encodeJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("<unserializable: %v>", err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "...(truncated)"
}
