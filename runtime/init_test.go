package overmind

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func resourceOf(t *testing.T, rec *tracetest.SpanRecorder) map[string]string {
	t.Helper()
	_, c := EnterContext(context.Background(), SpanTypeFunction, "probe", "p.probe", nil)
	c.Exit(nil, nil, nil)
	spans := rec.Ended()
	if len(spans) == 0 {
		t.Fatal("no span recorded")
	}
	m := map[string]string{}
	for _, kv := range spans[len(spans)-1].Resource().Attributes() {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

func TestResourceDefaults(t *testing.T) {
	rec := recordForTest(t, Config{})
	res := resourceOf(t, rec)
	want := map[string]string{
		"service.name":           "overmind-telemetry",
		"deployment.environment": "development",
		"overmind.sdk.name":      "overmind-go",
		"overmind.sdk.version":   "devel",
		"service.version":        "unknown",
		"telemetry.sdk.language": "go",
	}
	for k, v := range want {
		if res[k] != v {
			t.Errorf("%s = %q, want %q", k, res[k], v)
		}
	}
}

func TestEnvFallbacks(t *testing.T) {
	t.Setenv("OVERMIND_SERVICE_NAME", "env-service")
	t.Setenv("OVERMIND_ENVIRONMENT", "staging")
	t.Setenv("ENVIRONMENT", "ignored")
	t.Setenv("SERVICE_VERSION", "1.2.3")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "team=agents,service.name=from-resource-attrs")
	rec := recordForTest(t, Config{})
	res := resourceOf(t, rec)
	for k, v := range map[string]string{"service.name": "env-service", "deployment.environment": "staging", "service.version": "1.2.3", "team": "agents"} {
		if res[k] != v {
			t.Errorf("%s = %q, want %q", k, res[k], v)
		}
	}
}

func TestEnvFallbackOrder(t *testing.T) {
	t.Setenv("ENVIRONMENT", "qa")
	t.Setenv("OTEL_SERVICE_NAME", "otel-name")
	rec := recordForTest(t, Config{})
	res := resourceOf(t, rec)
	if res["deployment.environment"] != "qa" || res["service.name"] != "otel-name" {
		t.Fatalf("resource %v", res)
	}
}

func TestConfigBeatsEnv(t *testing.T) {
	t.Setenv("OVERMIND_SERVICE_NAME", "env-service")
	t.Setenv("OVERMIND_ENVIRONMENT", "staging")
	rec := recordForTest(t, Config{ServiceName: "cfg-service", Environment: "production", ServiceVersion: "v9"})
	res := resourceOf(t, rec)
	if res["service.name"] != "cfg-service" || res["deployment.environment"] != "production" || res["service.version"] != "v9" {
		t.Fatalf("resource %v", res)
	}
}

func TestResolveSettings(t *testing.T) {
	t.Setenv("OVERMIND_API_KEY", "env-key")
	t.Setenv("OVERMIND_API_URL", "https://eu.example.com/")
	t.Setenv("OVERMIND_TRACES_PATH", "v2/spans")
	t.Setenv("OVERMIND_DEBUG", "TRUE")
	t.Setenv("OVERMIND_SPAN_MAX_EXPORT_BATCH_SIZE", "64")
	t.Setenv("OVERMIND_SPAN_FLUSH_INTERVAL_MS", "250")
	t.Setenv("OVERMIND_SPAN_MAX_QUEUE_SIZE", "100")
	t.Setenv("OVERMIND_MAX_ATTRIBUTE_BYTES", "nope")
	s, warnings, err := resolve(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if s.apiKey != "env-key" || s.baseURL != "https://eu.example.com" || s.tracesPath != "/v2/spans" || !s.debug ||
		s.maxExportBatch != 64 || s.flushInterval != 250*time.Millisecond || s.maxQueueSize != 100 || s.maxAttributeBytes != 0 {
		t.Fatalf("settings %+v", s)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "OVERMIND_MAX_ATTRIBUTE_BYTES") {
		t.Fatalf("warnings %q", warnings)
	}

	s, _, err = resolve(Config{APIKey: "cfg-key", BaseURL: "http://localhost:9999", FlushInterval: time.Second, MaxExportBatchSize: 8})
	if err != nil || s.apiKey != "cfg-key" || s.baseURL != "http://localhost:9999" || s.flushInterval != time.Second || s.maxExportBatch != 8 {
		t.Fatalf("settings %+v, %v", s, err)
	}

	defaults, _, _ := func() (settings, []string, error) {
		for _, k := range []string{"OVERMIND_API_KEY", "OVERMIND_API_URL", "OVERMIND_TRACES_PATH", "OVERMIND_DEBUG"} {
			t.Setenv(k, "")
		}
		return resolve(Config{})
	}()
	if defaults.baseURL != "https://api.overmindlab.ai" || defaults.tracesPath != "/api/v1/traces" || defaults.debug || defaults.apiKey != "" {
		t.Fatalf("defaults %+v", defaults)
	}
}

func TestInvalidConfig(t *testing.T) {
	resetForTest()
	captureStderr(t)
	for _, cfg := range []Config{
		{BaseURL: "ftp://x"},
		{BaseURL: "not a url"},
		{MaxQueueSize: -1},
		{FlushInterval: -time.Second},
		{Providers: []string{"nope"}},
	} {
		if err := Init(cfg); err == nil {
			t.Errorf("Init(%+v) accepted", cfg)
		}
	}
	if active.Load() != nil || enabledProviders() != 0 {
		t.Fatal("a failed Init changed the state")
	}
}

func TestNoKeyNoEndpoint(t *testing.T) {
	logs := initForTest(t, Config{})
	want := "overmind: OVERMIND_API_KEY is not set and no OTEL_EXPORTER_OTLP_ENDPOINT is configured: spans are not exported\n"
	if logs.String() != want {
		t.Fatalf("stderr %q, want %q", logs.String(), want)
	}
	if _, c := EnterContext(context.Background(), SpanTypeTool, "t", "p.t", nil); c != nil {
		t.Fatal("tracing on with nowhere to send spans")
	}
	if err := Init(Config{}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(logs.String(), "\n") != 1 {
		t.Fatalf("the reason was printed again: %q", logs.String())
	}
}

func TestNoKeyWithDebugStillTraces(t *testing.T) {
	logs := initForTest(t, Config{Debug: true})
	if !strings.Contains(logs.String(), "spans are not exported (OVERMIND_DEBUG prints them to stderr)") {
		t.Fatalf("stderr %q", logs.String())
	}
	handleRequest("q")
	if !strings.Contains(logs.String(), "handle_request") {
		t.Fatalf("no debug tree: %q", logs.String())
	}
}

func TestTracesExporterNone(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	logs := initForTest(t, Config{APIKey: "k"})
	if !strings.Contains(logs.String(), "OTEL_TRACES_EXPORTER=none") {
		t.Fatalf("stderr %q", logs.String())
	}
	if active.Load() != nil {
		t.Fatal("tracing on with every exporter disabled")
	}
}

func TestTracesExporterUnknown(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "zipkin")
	logs := initForTest(t, Config{})
	if !strings.Contains(logs.String(), `unsupported exporter "zipkin"`) {
		t.Fatalf("stderr %q", logs.String())
	}
}

func TestSDKDisabled(t *testing.T) {
	t.Setenv("OTEL_SDK_DISABLED", "true")
	logs := initForTest(t, Config{APIKey: "k", Debug: true})
	if active.Load() != nil || !strings.Contains(logs.String(), "OTEL_SDK_DISABLED") {
		t.Fatalf("tracing on or silent: %q", logs.String())
	}
}

func TestSamplerFromEnv(t *testing.T) {
	t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
	rec := recordForTest(t, Config{})
	handleRequest("q")
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans recorded with OTEL_TRACES_SAMPLER=always_off", n)
	}
}

func TestReentrantInit(t *testing.T) {
	rec := recordForTest(t, Config{ServiceName: "first"})
	st := active.Load()
	tp := st.tp
	logs := captureStderr(t)
	rec2 := tracetest.NewSpanRecorder()
	if err := Init(Config{ServiceName: "second", Debug: true, SpanProcessors: []sdktrace.SpanProcessor{rec2}}); err != nil {
		t.Fatal(err)
	}
	if active.Load() != st || st.tp != tp {
		t.Fatal("second Init replaced the tracer provider")
	}
	handleRequest("q")
	if res := resourceOf(t, rec); res["service.name"] != "first" {
		t.Fatalf("service.name changed to %q", res["service.name"])
	}
	if !strings.Contains(logs.String(), "handle_request") {
		t.Fatal("second Init did not enable debug output")
	}
	if len(rec2.Ended()) == 0 {
		t.Fatal("second Init did not add its span processor")
	}
}

func TestInitAfterShutdownStartsAgain(t *testing.T) {
	rec := recordForTest(t, Config{})
	if err := Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, c := EnterContext(context.Background(), SpanTypeTool, "after", "p.t", nil); c != nil {
		t.Fatal("tracing still on after Shutdown")
	}
	if err := Shutdown(context.Background()); err != nil {
		t.Fatal("second Shutdown:", err)
	}
	rec2 := tracetest.NewSpanRecorder()
	if err := Init(Config{SpanProcessors: []sdktrace.SpanProcessor{rec2}}); err != nil {
		t.Fatal(err)
	}
	webSearch("again")
	if len(rec2.Ended()) != 1 || len(rec.Ended()) != 0 {
		t.Fatalf("spans: new %d, old %d", len(rec2.Ended()), len(rec.Ended()))
	}
}

func TestGlobalProviderInstalled(t *testing.T) {
	recordForTest(t, Config{})
	if gp, ok := otel.GetTracerProvider().(globalProvider); !ok || gp.TracerProvider != active.Load().tp {
		t.Fatal("the global tracer provider is not the runtime's")
	}
	// Raw OpenTelemetry instrumentation nests with the runtime's spans.
	om := Enter(SpanTypeWorkflow, "outer", "p.outer", nil)
	ctx := spanParent(context.Background())
	_, inner := otel.Tracer("other-lib").Start(ctx, "lib-span")
	if inner.SpanContext().TraceID() != om.span.SpanContext().TraceID() {
		t.Fatal("global tracer spans are in another trace")
	}
	inner.End()
	om.Exit(nil, nil, nil)
}

func TestInvalidAPIURLFromEnvFallsBackToDefault(t *testing.T) {
	t.Setenv("OVERMIND_API_URL", "api.overmindlab.ai") // no scheme
	s, warnings, err := resolve(Config{})
	if err != nil {
		t.Fatalf("resolve failed on an invalid environment value: %v", err)
	}
	if s.baseURL != defaultBaseURL {
		t.Errorf("baseURL = %q, want the default", s.baseURL)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "OVERMIND_API_URL") {
		t.Errorf("warnings %q", warnings)
	}

	// Through Init: reported on stderr, and tracing still starts.
	logs := initForTest(t, Config{Debug: true})
	if !strings.Contains(logs.String(), `ignoring OVERMIND_API_URL="api.overmindlab.ai"`) {
		t.Errorf("stderr %q", logs.String())
	}
	if active.Load() == nil {
		t.Error("Init did not start tracing")
	}

	// Credentials in a bad value are not echoed.
	t.Setenv("OVERMIND_API_URL", "ftp://user:hunter2@example.com")
	_, warnings, _ = resolve(Config{})
	if len(warnings) != 1 || strings.Contains(warnings[0], "hunter2") {
		t.Errorf("warnings %q", warnings)
	}
	// The same value set in code is an error, also without the password.
	err = Init(Config{BaseURL: "ftp://user:hunter2@example.com"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Init(invalid BaseURL) = %v", err)
	}
}

// uncomparableProcessor is a processor whose type cannot be compared.
type uncomparableProcessor struct {
	sdktrace.SpanProcessor
	tags []string
}

func TestInitTwiceRegistersProcessorsOnce(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	cfg := Config{SpanProcessors: []sdktrace.SpanProcessor{rec, rec}} // listed twice, too
	initForTest(t, cfg)
	if err := Init(cfg); err != nil { // the same Config again
		t.Fatal(err)
	}
	rec2 := tracetest.NewSpanRecorder()
	odd := uncomparableProcessor{SpanProcessor: rec2, tags: []string{"x"}}
	if err := Init(Config{SpanProcessors: []sdktrace.SpanProcessor{rec, odd}}); err != nil {
		t.Fatal(err)
	}
	webSearch("once")
	if n := len(rec.Ended()); n != 1 {
		t.Fatalf("one span ended, the processor saw %d", n)
	}
	if n := len(rec2.Ended()); n != 1 {
		t.Fatalf("a new processor added by a later Init saw %d spans, want 1", n)
	}
}
