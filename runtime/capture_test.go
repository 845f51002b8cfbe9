package overmind

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/internal/otlptest"
	"github.com/overmind-core/overmind-go/runtime/internal/llmcapture"
)

const (
	chatCompletion = `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-5-mini-2025-08-07","choices":[{"index":0,"message":{"role":"assistant","content":"Your order has shipped."},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":5,"total_tokens":25}}`
	claudeMessage  = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hello!"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":3}}`
)

// resetCaptureForTest forgets the capture settings of earlier Inits and
// unwraps http.DefaultTransport, now and when t ends.
func resetCaptureForTest(t *testing.T) {
	t.Helper()
	reset := func() {
		captureMu.Lock()
		captured = captureSettings{}
		if w, ok := http.DefaultTransport.(*captureTransport); ok {
			http.DefaultTransport = w.base
		}
		defaultWrapped = false
		captureMu.Unlock()
		_ = captureEngine.Configure(llmcapture.Options{})
	}
	reset()
	t.Cleanup(reset)
}

// provider is a local fake provider answering with body, counting the
// requests it gets.
type provider struct {
	*httptest.Server
	mu       sync.Mutex
	requests int
}

func newProvider(t *testing.T, status int, body string) *provider {
	t.Helper()
	p := &provider{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		p.mu.Lock()
		p.requests++
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(p.Close)
	return p
}

// llmSpans returns the ended llm_call spans.
func llmSpans(rec *tracetest.SpanRecorder) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if attrsOf(s)["overmind.span.type"].AsString() == "llm_call" {
			out = append(out, s)
		}
	}
	return out
}

// TestMiddlewareAndWrapTransport: Middleware and WrapTransport pass
// requests through before Init, capture the providers an Init enables, and
// those a later Init adds.
func TestMiddlewareAndWrapTransport(t *testing.T) {
	resetCaptureForTest(t)
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Host+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(r.Host, "api.anthropic.com") {
			_, _ = io.WriteString(w, claudeMessage)
			return
		}
		_, _ = io.WriteString(w, chatCompletion)
	}))
	defer srv.Close()
	local := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", srv.Listener.Addr().String())
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}
	defer local.CloseIdleConnections()
	plain, wrapped := &http.Client{Transport: local}, &http.Client{Transport: WrapTransport(local)}
	call := func() {
		send(t, func(req *http.Request) (*http.Response, error) { return Middleware(req, plain.Do) },
			"https://api.anthropic.com/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
		send(t, wrapped.Do, "https://api.openai.com/v1/chat/completions", `{"model":"gpt-5-mini","messages":[{"role":"user","content":"hi"}]}`)
	}
	call() // before Init: passed through

	rec := recordForTest(t, Config{Providers: []string{"anthropic"}, NoDefaultTransport: true})
	call()
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if llm := llmSpans(rec); len(llm) != 1 || llm[0].Name() != "chat claude-sonnet-4-5" {
		t.Fatalf("with anthropic enabled: %d llm spans", len(llm))
	}

	// A later Init adds openai.
	if err := Init(Config{Providers: []string{"openai"}}); err != nil {
		t.Fatal(err)
	}
	call()
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	llm := llmSpans(rec)
	if len(llm) != 3 {
		t.Fatalf("with both enabled: %d llm spans, want 3", len(llm))
	}
	wantAttr(t, llm[2], "gen_ai.provider.name", "openai")
	wantAttr(t, llm[2], "server.address", "api.openai.com")
	if n := len(paths); n != 6 {
		t.Errorf("the server got %d requests, want 6", n)
	}
}

// send posts body to url with do, reads the response and closes it.
func send(t *testing.T, do func(*http.Request) (*http.Response, error), url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sk-test-SECRET-0000000000")
	res, err := do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res
}

func TestNoProviderContent(t *testing.T) {
	resetCaptureForTest(t)
	srv := newProvider(t, 200, chatCompletion)
	rec := recordForTest(t, Config{NoProviderContent: true, ProviderBaseURLs: []ProviderBaseURL{{URL: srv.URL}}})
	client := &http.Client{Transport: WrapTransport(srv.Client().Transport)}
	const body = `{"model":"gpt-5-mini","messages":[{"role":"user","content":"my secret question"}]}`
	send(t, client.Do, srv.URL+"/chat/completions", body)
	// A later Init does not turn content back on.
	if err := Init(Config{}); err != nil {
		t.Fatal(err)
	}
	send(t, client.Do, srv.URL+"/chat/completions", body)
	if err := ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	llm := llmSpans(rec)
	if len(llm) != 2 {
		t.Fatalf("%d llm spans", len(llm))
	}
	for _, s := range llm {
		wantAttr(t, s, "gen_ai.usage.output_tokens", 5)
		for _, k := range []string{"inputs", "outputs", "gen_ai.input.messages", "gen_ai.output.messages"} {
			wantNoAttr(t, s, k)
		}
	}
}

func TestInvalidProviderBaseURL(t *testing.T) {
	resetCaptureForTest(t)
	resetForTest()
	err := Init(Config{ProviderBaseURLs: []ProviderBaseURL{{URL: "localhost:11434"}}, Debug: true})
	if err == nil || !strings.Contains(err.Error(), "ProviderBaseURLs") {
		t.Fatalf("Init = %v", err)
	}
	if active.Load() != nil {
		t.Error("a failed Init started tracing")
	}
}

// TestShutdownEndsParkedSpans: a call whose attempts failed without a
// response waits for a retry; Shutdown exports it.
func TestShutdownEndsParkedSpans(t *testing.T) {
	resetCaptureForTest(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = conn.Close()
		}
	}))
	defer srv.Close()
	rec := recordForTest(t, Config{ProviderBaseURLs: []ProviderBaseURL{{URL: srv.URL}}})
	client := &http.Client{Transport: WrapTransport(srv.Client().Transport)}
	// Two attempts of one call, numbered as openai-go numbers them.
	for attempt := range 2 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/chat/completions", strings.NewReader(`{"model":"gpt-5-mini","messages":[]}`))
		req.Header.Set("X-Stainless-Retry-Count", fmt.Sprint(attempt))
		if res, err := client.Do(req); err == nil {
			_ = res.Body.Close()
			t.Fatal("the call succeeded")
		}
	}
	if n := len(llmSpans(rec)); n != 0 {
		t.Fatalf("%d llm spans before Shutdown", n)
	}
	if err := Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	llm := llmSpans(rec)
	if len(llm) != 1 {
		t.Fatalf("%d llm spans after Shutdown", len(llm))
	}
	wantAttr(t, llm[0], "overmind.llm.attempts", 2)
	wantAttr(t, llm[0], "overmind.status", "failed")
}

// TestProviderSDKSpanGivesWay: the global tracer provider Init installs
// starts no span of anthropic-sdk-go's instrumentation for a messages call
// the capture records; it hands on the context of the call's parent, the
// goroutine's current span here. Its other spans, and calls to servers
// the capture does not record, keep theirs.
func TestProviderSDKSpanGivesWay(t *testing.T) {
	resetCaptureForTest(t)
	rec := recordForTest(t, Config{Providers: []string{"anthropic"}})
	tracer := otel.GetTracerProvider().Tracer("com.anthropic.sdk.go")
	server := func(host string) trace.SpanStartOption {
		return trace.WithAttributes(attribute.String("server.address", host), attribute.Int("server.port", 443))
	}
	om := Enter(SpanTypeWorkflow, "greet", "example.com/shop.Greet", nil)
	ctx, s := tracer.Start(context.Background(), "anthropic.messages.create", server("api.anthropic.com"))
	if s.IsRecording() || !trace.SpanContextFromContext(ctx).Equal(om.span.SpanContext()) {
		t.Error("the SDK's span of a captured call was started, or does not hand on the function's context")
	}
	_, other := tracer.Start(context.Background(), "anthropic.messages.count_tokens", server("api.anthropic.com"))
	_, elsewhere := tracer.Start(context.Background(), "anthropic.messages.create", server("llm-proxy.internal"))
	if !other.IsRecording() || !elsewhere.IsRecording() {
		t.Error("a span of a call the capture does not record was left out")
	}
	other.End()
	elsewhere.End()
	om.Exit(nil, nil, nil)
	if n := len(rec.Ended()); n != 3 {
		t.Errorf("%d spans, want the function's and two of the SDK's", n)
	}
}

// TestCaptureExportedOverOTLP exports a captured call to an OTLP receiver
// and checks the tree and that no credential travels with it.
func TestCaptureExportedOverOTLP(t *testing.T) {
	resetCaptureForTest(t)
	srv := newProvider(t, 200, chatCompletion)
	recv := otlptest.NewReceiver()
	defer recv.Close()
	initForTest(t, Config{APIKey: "ovr_test_key", BaseURL: recv.URL(), ProviderBaseURLs: []ProviderBaseURL{{URL: srv.URL + "/v1"}}})
	client := &http.Client{Transport: WrapTransport(srv.Client().Transport)}
	func() {
		om := Enter(SpanTypeEntryPoint, "handle_support_query", "example.com/shop.Handle", nil)
		if om != nil {
			defer func() { om.Exit(recover(), nil, nil) }()
		}
		send(t, client.Do, srv.URL+"/v1/chat/completions", `{"model":"gpt-5-mini","messages":[{"role":"user","content":"Where is my order?"}]}`)
	}()
	shutdownForTest(t)
	spans := recv.WaitForSpans(2, 5*time.Second)
	if got := otlptest.Tree(spans); !strings.Contains(got, "handle_support_query [entry_point]\n  chat gpt-5-mini [llm_call]\n") {
		t.Fatalf("tree:\n%s", got)
	}
	for _, s := range spans {
		for k, v := range s.Attrs {
			if strings.Contains(fmt.Sprint(v), "SECRET") {
				t.Errorf("%s carries the provider key: %v", k, v)
			}
		}
		// The attributes computed when the span is exported are there.
		if s.Name == "chat gpt-5-mini" && (fmt.Sprint(s.Attrs["gen_ai.usage.input_tokens"]) != "20" ||
			!strings.Contains(fmt.Sprint(s.Attrs["outputs"]), "Your order has shipped.")) {
			t.Errorf("exported llm span attributes %v", s.Attrs)
		}
	}
}
