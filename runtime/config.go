package overmind

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/pricing"
)

// Config configures [Init]. Every field is optional: a zero field falls
// back to its environment variable, then to its default.
type Config struct {
	// APIKey authenticates exports to Overmind. Falls back to
	// OVERMIND_API_KEY. Without a key nothing is sent to Overmind.
	APIKey string
	// ServiceName is the service.name shown in the dashboard. Falls back
	// to OVERMIND_SERVICE_NAME, then OTEL_SERVICE_NAME, then
	// "overmind-telemetry".
	ServiceName string
	// ServiceVersion is service.version. Falls back to
	// OVERMIND_SERVICE_VERSION, then SERVICE_VERSION, then the main
	// module's version from the build info, then "unknown".
	ServiceVersion string
	// Environment is deployment.environment ("production", "staging",
	// ...). Falls back to OVERMIND_ENVIRONMENT, then ENVIRONMENT, then
	// "development".
	Environment string
	// Providers lists the LLM providers whose calls are captured, by the
	// names of docs/providers.md ("openai", "anthropic", "google", "groq",
	// "ollama", ...). Empty means all.
	// Init captures them by wrapping http.DefaultTransport, which openai-go
	// and anthropic-sdk-go clients copy when they are built: build those
	// clients after Init. [Middleware] and [WrapTransport] capture clients
	// with a transport of their own.
	Providers []string
	// ProviderBaseURLs names more servers whose LLM calls are captured:
	// Azure OpenAI, OpenAI-compatible local servers, proxies. See
	// [ProviderBaseURL].
	ProviderBaseURLs []ProviderBaseURL
	// NoProviderContent leaves prompts, completions, tool definitions and
	// prompt kwargs out of llm_call spans; model, parameters, token usage,
	// latency and errors stay. Content is captured by default, as in the
	// Python SDK; OVERMIND_CAPTURE_CONTENT=false also turns it off. Once
	// an Init turns it off, it stays off.
	NoProviderContent bool
	// NoDefaultTransport leaves http.DefaultTransport unwrapped: only the
	// clients given [Middleware] or [WrapTransport] are captured.
	NoDefaultTransport bool
	// BaseURL is the Overmind API. Falls back to OVERMIND_API_URL, then
	// https://api.overmindlab.ai. An invalid BaseURL makes Init fail; an
	// invalid OVERMIND_API_URL is reported on stderr and the default used.
	// Spans go there with the API key; with none, only when it names this
	// machine (localhost or a loopback address, as `overmind serve` does).
	BaseURL string
	// TracesPath is where spans are posted under BaseURL. Falls back to
	// OVERMIND_TRACES_PATH, then /api/v1/traces.
	TracesPath string
	// Debug prints a tree of every finished trace to stderr. Also turned on
	// by OVERMIND_DEBUG=1 (or true, yes, on).
	Debug bool
	// MaxExportBatchSize is the most spans sent in one export request.
	// Falls back to OVERMIND_SPAN_MAX_EXPORT_BATCH_SIZE, then
	// OTEL_BSP_MAX_EXPORT_BATCH_SIZE, then 512.
	MaxExportBatchSize int
	// FlushInterval is the longest a finished span waits before it is
	// exported. Falls back to OVERMIND_SPAN_FLUSH_INTERVAL_MS (in
	// milliseconds), then OTEL_BSP_SCHEDULE_DELAY, then 5s.
	FlushInterval time.Duration
	// MaxQueueSize bounds the finished spans waiting for export, per
	// destination; when it is full new spans are dropped (and counted),
	// never waited for. Falls back to OVERMIND_SPAN_MAX_QUEUE_SIZE, then
	// OTEL_BSP_MAX_QUEUE_SIZE, then 2048.
	MaxQueueSize int
	// MaxAttributeBytes caps one serialized inputs, outputs or tag value.
	// Falls back to OVERMIND_MAX_ATTRIBUTE_BYTES, then 32 KiB.
	MaxAttributeBytes int
	// Sampler decides which traces are recorded. When nil, the standard
	// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG apply; their default
	// records every trace.
	Sampler sdktrace.Sampler
	// SpanProcessors are added to the tracer provider, after the runtime's
	// own: for example a tracetest.SpanRecorder in tests, or a processor
	// feeding another exporter. Each processor is registered once, however
	// many Init calls (or entries of the list) name it.
	SpanProcessors []sdktrace.SpanProcessor
	// SkipGlobalProvider leaves OpenTelemetry's global TracerProvider and
	// propagator alone. By default Init installs its provider, and the W3C
	// trace context and baggage propagators, as the globals when nothing
	// else has, so other OpenTelemetry instrumentation nests its spans
	// with Overmind's.
	SkipGlobalProvider bool
	// Prices are the prices of the models the program calls, by model
	// name: with them, every llm_call span that has token usage (captured
	// provider calls, and spans given SetUsage) records its cost in USD as
	// overmind.llm.cost_usd. They are added to (and win over) the prices
	// in the JSON file that OVERMIND_PRICES names. The runtime knows no
	// prices of its own: a model without a price gets no cost. See
	// [Price].
	Prices map[string]Price
	// RecoverPanics records a panic through an instrumented function by
	// recovering it and panicking again with the same value, as code
	// generated by earlier versions did. Also turned on by
	// OVERMIND_RECOVER_PANICS=1. By default a panic is recorded without
	// being recovered, so that an uncaught panic prints exactly what it
	// would without instrumentation; where the runtime cannot read the
	// panic value that way (see docs/semantics.md), the span records
	// that it panicked but not the value, unless RecoverPanics is set.
	// The cost of recovering: the crash output says
	// "[recovered, repanicked]" and its top frame is the runtime's.
	RecoverPanics bool
}

// Defaults.
const (
	defaultServiceName = "overmind-telemetry"
	defaultEnvironment = "development"
	defaultBaseURL     = "https://api.overmindlab.ai"
	defaultTracesPath  = "/api/v1/traces"
)

// settings is a Config with every fallback resolved.
type settings struct {
	apiKey            string
	serviceName       string
	serviceVersion    string
	environment       string
	providers         providerSet
	capture           captureSettings
	baseURL           string
	tracesPath        string
	debug             bool
	maxExportBatch    int
	flushInterval     time.Duration
	maxQueueSize      int
	maxAttributeBytes int
	sampler           sdktrace.Sampler
	processors        []sdktrace.SpanProcessor
	skipGlobal        bool
	prices            *pricing.Table
	recoverPanics     bool
}

// resolve applies environment fallbacks and defaults to cfg. Invalid
// Config fields are errors; invalid environment values are warnings (the
// default is used), since a typo in the environment should not stop a
// program from starting.
func resolve(cfg Config) (settings, []string, error) {
	var r resolver
	s := settings{
		apiKey:         firstNonEmpty(cfg.APIKey, os.Getenv("OVERMIND_API_KEY")),
		serviceName:    firstNonEmpty(cfg.ServiceName, os.Getenv("OVERMIND_SERVICE_NAME"), os.Getenv("OTEL_SERVICE_NAME"), envResourceServiceName(), defaultServiceName),
		serviceVersion: firstNonEmpty(cfg.ServiceVersion, os.Getenv("OVERMIND_SERVICE_VERSION"), os.Getenv("SERVICE_VERSION"), mainModuleVersion(), "unknown"),
		environment:    firstNonEmpty(cfg.Environment, os.Getenv("OVERMIND_ENVIRONMENT"), os.Getenv("ENVIRONMENT"), defaultEnvironment),
		tracesPath:     firstNonEmpty(cfg.TracesPath, os.Getenv("OVERMIND_TRACES_PATH"), defaultTracesPath),
		debug:          cfg.Debug || envBool("OVERMIND_DEBUG"),
		sampler:        cfg.Sampler,
		processors:     slices.Clone(cfg.SpanProcessors),
		skipGlobal:     cfg.SkipGlobalProvider,
		recoverPanics:  cfg.RecoverPanics || envBool("OVERMIND_RECOVER_PANICS"),
	}
	if !strings.HasPrefix(s.tracesPath, "/") {
		s.tracesPath = "/" + s.tracesPath
	}
	s.baseURL = r.baseURL(cfg.BaseURL)

	var err error
	if s.providers, err = parseProviders(cfg.Providers); err != nil {
		r.errs = append(r.errs, err)
	}
	if s.capture, err = resolveCapture(cfg); err != nil {
		r.errs = append(r.errs, err)
	}

	s.maxExportBatch = r.intSetting("MaxExportBatchSize", cfg.MaxExportBatchSize, "OVERMIND_SPAN_MAX_EXPORT_BATCH_SIZE")
	s.maxQueueSize = r.intSetting("MaxQueueSize", cfg.MaxQueueSize, "OVERMIND_SPAN_MAX_QUEUE_SIZE")
	s.maxAttributeBytes = r.intSetting("MaxAttributeBytes", cfg.MaxAttributeBytes, "OVERMIND_MAX_ATTRIBUTE_BYTES")
	s.flushInterval = r.flushInterval(cfg.FlushInterval)
	s.prices = r.prices(cfg.Prices)
	return s, r.warnings, errors.Join(r.errs...)
}

// resolver collects what is wrong with a Config and its environment while
// resolve reads them: errors in the Config, warnings about the
// environment.
type resolver struct {
	errs     []error
	warnings []string
}

// baseURL is Config.BaseURL if set, else OVERMIND_API_URL if set, cleaned
// of spaces and trailing slashes; the default when the one set is not an
// http or https URL.
func (r *resolver) baseURL(configured string) string {
	switch env := firstNonEmpty(os.Getenv("OVERMIND_API_URL")); {
	case strings.TrimSpace(configured) != "":
		if validBaseURL(configured) {
			return cleanBaseURL(configured)
		}
		r.errs = append(r.errs, fmt.Errorf("overmind: Config.BaseURL %q is not an http or https URL", displayURL(configured)))
	case env != "":
		if validBaseURL(env) {
			return cleanBaseURL(env)
		}
		r.warnings = append(r.warnings, fmt.Sprintf("ignoring OVERMIND_API_URL=%q: not an http or https URL; using %s", displayURL(env), defaultBaseURL))
	}
	return defaultBaseURL
}

// intSetting is value, the Config field of that name, when positive;
// else the positive integer in the environment variable env, if it holds
// one; else 0, which means the default.
func (r *resolver) intSetting(field string, value int, env string) int {
	if value < 0 {
		r.errs = append(r.errs, fmt.Errorf("overmind: Config.%s is negative (%d)", field, value))
		return 0
	}
	if value > 0 {
		return value
	}
	raw := os.Getenv(env)
	if raw == "" {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil || n <= 0 {
		r.warnings = append(r.warnings, fmt.Sprintf("ignoring %s=%q: not a positive integer", env, raw))
		return 0
	}
	return n
}

// flushInterval is Config.FlushInterval when positive, else the
// milliseconds in OVERMIND_SPAN_FLUSH_INTERVAL_MS, if it holds a positive
// number; else configured, where zero means the default.
func (r *resolver) flushInterval(configured time.Duration) time.Duration {
	if configured < 0 {
		r.errs = append(r.errs, fmt.Errorf("overmind: Config.FlushInterval is negative (%v)", configured))
	}
	if configured > 0 {
		return configured
	}
	if ms := r.intSetting("FlushInterval", 0, "OVERMIND_SPAN_FLUSH_INTERVAL_MS"); ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return configured
}

// validBaseURL reports whether raw is an absolute http or https URL.
func validBaseURL(raw string) bool {
	u, err := url.Parse(strings.TrimSpace(raw))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func cleanBaseURL(raw string) string { return strings.TrimRight(strings.TrimSpace(raw), "/") }

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// envBool reads a boolean environment variable: 1, true, yes and on (in
// any case) are true.
func envBool(name string) bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(name))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// envResourceServiceName is service.name from OTEL_RESOURCE_ATTRIBUTES.
func envResourceServiceName() string {
	for _, kv := range strings.Split(os.Getenv("OTEL_RESOURCE_ATTRIBUTES"), ",") {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.TrimSpace(k) == "service.name" {
			if u, err := url.QueryUnescape(strings.TrimSpace(v)); err == nil {
				return u
			}
		}
	}
	return ""
}

// mainModuleVersion is the version of the program's main module, when the
// build recorded one (go install pkg@version does; go build in a work tree
// records a pseudo-version or "(devel)").
func mainModuleVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" || info.Main.Version == "(devel)" {
		return ""
	}
	return info.Main.Version
}

// modulePath is this module's path, used to find its version in the build
// info of the program that imports it.
const modulePath = "github.com/overmind-core/overmind-go"

// sdkVersion is the version of this module as built into the program, or
// "devel" when it is the main module or replaced by a local copy.
func sdkVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	for _, dep := range info.Deps {
		if dep.Path == modulePath {
			if dep.Replace != nil || dep.Version == "" || dep.Version == "(devel)" {
				return "devel"
			}
			return dep.Version
		}
	}
	return "devel"
}
