package llmcapture

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func post(t *testing.T, c *http.Client, url string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	return res, got
}

func TestPassThrough(t *testing.T) {
	r := newRig(t, replyJSON(200, []byte(`{"data":[]}`)), nil, nil)
	c := r.client()
	for _, tc := range []struct{ method, url string }{
		{http.MethodGet, "https://api.openai.com/v1/models"},
		{http.MethodPost, "https://api.openai.com/v1/files"},
		{http.MethodPost, "https://api.anthropic.com/v1/messages/count_tokens"},
		{http.MethodPost, "https://api.anthropic.com/v1/messages/batches"},
		{http.MethodPost, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:countTokens"},
		{http.MethodPost, "https://example.com/v1/chat/completions"},
	} {
		req, _ := http.NewRequest(tc.method, tc.url, strings.NewReader(`{"model":"x"}`))
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := res.Body.(*body); ok {
			t.Errorf("%s %s: the response body was wrapped", tc.method, tc.url)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
	}
	if n := len(r.spans()); n != 0 {
		t.Errorf("%d spans for requests to no captured endpoint", n)
	}
}

func TestProvidersEnabledSeparately(t *testing.T) {
	opts := Options{Providers: []string{"anthropic"}}
	r := newRig(t, replyJSON(200, fixture(t, "openai_chat.json")), &opts, nil)
	post(t, r.client(), "https://api.openai.com/v1/chat/completions", strings.NewReader(`{"model":"gpt-5-mini","messages":[]}`))
	if n := len(r.spans()); n != 0 {
		t.Fatalf("%d spans with openai not enabled", n)
	}
	opts.Providers = append(opts.Providers, "openai")
	if err := r.engine.Configure(opts); err != nil {
		t.Fatal(err)
	}
	post(t, r.client(), "https://api.openai.com/v1/chat/completions", strings.NewReader(`{"model":"gpt-5-mini","messages":[]}`))
	if n := len(r.spans()); n != 1 {
		t.Fatalf("%d spans once openai is enabled, want 1", n)
	}
}

func TestOptionErrors(t *testing.T) {
	tracer := trace.NewNoopTracerProvider().Tracer("")
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Providers: []string{"openia"}}, `unknown provider "openia"`},
		{Options{BaseURLs: []BaseURL{{URL: "localhost:8080"}}}, `want http(s)://host`},
		{Options{BaseURLs: []BaseURL{{URL: "http://localhost:8080", Protocol: "cohere"}}}, `unknown protocol "cohere"`},
	} {
		if _, err := New(Deps{Tracer: func() trace.Tracer { return tracer }}, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error with %q", tc.opts, err, tc.want)
		}
	}
	if _, err := New(Deps{}, Options{}); err == nil {
		t.Error("New without a tracer succeeded")
	}
}

// TestRequestBodyRestored sends bodies the engine must read, cap or fail
// to read, and checks the server gets each byte for byte.
func TestRequestBodyRestored(t *testing.T) {
	opts := Options{Providers: []string{ProviderAll}, MaxBodyBytes: 64 << 10}
	r := newRig(t, func(w http.ResponseWriter, _ *http.Request, body []byte) {
		sum := sha256.Sum256(body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"x","choices":[],"sha":"` + string(hexString(sum[:])) + `"}`))
	}, &opts, nil)
	big := `{"model":"gpt-5-mini","messages":[{"role":"user","content":"` + strings.Repeat("é", 100<<10) + `"}]}`
	for name, body := range map[string]string{
		"small":        `{"model":"gpt-5-mini","messages":[{"role":"user","content":"hi"}]}`,
		"over the cap": big,
		"empty":        ``,
	} {
		for _, reader := range []string{"bytes", "half reads"} {
			var rd io.Reader = strings.NewReader(body)
			if reader != "bytes" {
				rd = iotest.HalfReader(strings.NewReader(body))
			}
			_, got := post(t, r.client(), "https://api.openai.com/v1/chat/completions", rd)
			sum := sha256.Sum256([]byte(body))
			if !bytes.Contains(got, []byte(hexString(sum[:]))) {
				t.Errorf("%s body (%s): the server got other bytes", name, reader)
			}
		}
	}
	spans := r.spans()
	if len(spans) != 6 {
		t.Fatalf("%d spans, want 6", len(spans))
	}
	for _, s := range spans {
		a := attrMap(s.Attributes())
		if a["overmind.status"] != "success" {
			t.Errorf("span %v", a)
		}
	}
}

// closeCounter is a request body that counts its Close calls.
type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

// TestRequestBodyKind: a body that net/http knows to be in memory (as
// http.NewRequest makes them from bytes and strings readers) reaches the
// transport still known to be in memory, so that it sends the headers and
// the body in one packet as it would have; any other body reaches it as a
// body whose Close closes the original.
func TestRequestBodyKind(t *testing.T) {
	e, err := New(Deps{Tracer: func() trace.Tracer { return sdktrace.NewTracerProvider().Tracer("t") }}, Options{Providers: []string{ProviderAll}})
	if err != nil {
		t.Fatal(err)
	}
	var sent io.ReadCloser
	rt := e.Transport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent = r.Body
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
		return nil, errors.New("no network")
	}))
	const url = "https://api.openai.com/v1/chat/completions"
	body := `{"model":"gpt-5-mini","messages":[]}`
	for _, rd := range []io.Reader{bytes.NewReader([]byte(body)), bytes.NewBufferString(body), strings.NewReader(body)} {
		req, _ := http.NewRequest(http.MethodPost, url, rd)
		_, _ = rt.RoundTrip(req)
		if got, want := reflect.TypeOf(sent), reflect.TypeOf(req.Body); got != want {
			t.Errorf("%T body: sent as %v, want %v", rd, got, want)
		}
	}
	own := &closeCounter{Reader: strings.NewReader(body)}
	req, _ := http.NewRequest(http.MethodPost, url, own)
	req.ContentLength = int64(len(body))
	_, _ = rt.RoundTrip(req)
	if own.closed != 1 {
		t.Errorf("the original body was closed %d times, want 1", own.closed)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// TestRequestBodyReadError: a body that fails part-way reaches the
// transport with the same bytes and the same error.
func TestRequestBodyReadError(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "openai_chat.json")), nil, nil)
	boom := errors.New("disk on fire")
	req, _ := http.NewRequest(http.MethodPost, "https://api.openai.com/v1/chat/completions",
		io.MultiReader(strings.NewReader(`{"model":`), iotest.ErrReader(boom)))
	_, err := r.client().Do(req)
	if !errors.Is(err, boom) {
		t.Errorf("Do = %v, want the body's error", err)
	}
}

// TestUnparsableBodies: bodies the engine cannot parse reach the caller
// unchanged, and the span has what could be known.
func TestUnparsableBodies(t *testing.T) {
	garbage := []byte("<html>502 Bad Gateway</html>\x00\xff")
	r := newRig(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(garbage)
	}, nil, nil)
	_, got := post(t, r.client(), "https://api.openai.com/v1/chat/completions", strings.NewReader(`{"model": [not json`))
	if !bytes.Equal(got, garbage) {
		t.Errorf("the caller got %q", got)
	}
	checkAttrs(t, r.only().Attributes(), map[string]any{
		"overmind.span.type":        "llm_call",
		"gen_ai.operation.name":     "chat",
		"gen_ai.provider.name":      "openai",
		"server.address":            "api.openai.com",
		"server.port":               int64(443),
		"overmind.llm.attempts":     int64(1),
		"http.response.status_code": int64(200),
		"overmind.duration.seconds": anyPositive{},
		"overmind.status":           "success",
	})
}

// TestEncodePanics: a panic in the capture code loses the span, never the
// call.
func TestEncodePanics(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "openai_chat_tools.json")), nil, func(d *Deps) {
		d.Encode = func(any) string { panic("encoder bug") }
	})
	res, got := post(t, r.client(), "https://api.openai.com/v1/chat/completions", strings.NewReader(`{"model":"gpt-5-mini","messages":[{"role":"user","content":"hi"}]}`))
	if res.StatusCode != 200 || !bytes.Equal(got, fixture(t, "openai_chat_tools.json")) {
		t.Fatalf("the caller got %d %s", res.StatusCode, got)
	}
}

func TestNoContent(t *testing.T) {
	opts := Options{Providers: []string{ProviderAll}, NoContent: true}
	r := newRig(t, replyJSON(200, fixture(t, "openai_chat_tools.json")), &opts, func(d *Deps) {
		d.Prompt = func(text string) (Prompt, bool) {
			return Prompt{ID: "support_v1", Hash: "abc123", Kwargs: `{"name":"Astra"}`}, text == "You are Astra."
		}
	})
	post(t, r.client(), "https://api.openai.com/v1/chat/completions", strings.NewReader(
		`{"messages":[{"content":"You are Astra.","role":"system"},{"content":"hi","role":"user"}],"model":"gpt-5-mini","tools":[{"function":{"name":"lookup_order"},"type":"function"}]}`))
	checkAttrs(t, r.only().Attributes(), map[string]any{
		"overmind.span.type":             "llm_call",
		"gen_ai.operation.name":          "chat",
		"gen_ai.provider.name":           "openai",
		"gen_ai.request.model":           "gpt-5-mini",
		"server.address":                 "api.openai.com",
		"server.port":                    int64(443),
		"overmind.prompt.id":             "support_v1",
		"overmind.prompt.hash":           "abc123",
		"overmind.llm.attempts":          int64(1),
		"http.response.status_code":      int64(200),
		"gen_ai.response.id":             "chatcmpl-tool123",
		"gen_ai.response.model":          "gpt-5-mini-2025-08-07",
		"gen_ai.response.finish_reasons": []string{"tool_calls"},
		"gen_ai.usage.input_tokens":      int64(82),
		"gen_ai.usage.output_tokens":     int64(17),
		"gen_ai.usage.total_tokens":      int64(99),
		"overmind.duration.seconds":      anyPositive{},
		"overmind.status":                "success",
	})
}

func TestPromptString(t *testing.T) {
	system := "You are a helpful support agent. Your name is Astra."
	r := newRig(t, replyJSON(200, fixture(t, "anthropic_message.json")), nil, func(d *Deps) {
		d.Prompt = func(text string) (Prompt, bool) {
			if text != system {
				return Prompt{}, false
			}
			return Prompt{ID: "support_greeter_v1", Hash: "9f86d081884c7d65", Kwargs: `{"agent_name":"Astra"}`}, true
		}
	})
	post(t, r.client(), "https://api.anthropic.com/v1/messages", strings.NewReader(
		`{"model":"claude-sonnet-4-5","max_tokens":100,"system":[{"type":"text","text":"`+system+`"}],"messages":[{"role":"user","content":"hi"}]}`))
	a := attrMap(r.only().Attributes())
	if a["overmind.prompt.id"] != "support_greeter_v1" || a["overmind.prompt.hash"] != "9f86d081884c7d65" || a["overmind.prompt.kwargs"] != `{"agent_name":"Astra"}` {
		t.Errorf("prompt attributes: %v %v %v", a["overmind.prompt.id"], a["overmind.prompt.hash"], a["overmind.prompt.kwargs"])
	}
}

// TestMiddlewareAndTransport: a request that passes a capturing middleware
// and a capturing transport gives one span.
func TestMiddlewareAndTransport(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "openai_chat.json")), nil, nil)
	client := r.client()
	req, _ := http.NewRequest(http.MethodPost, "https://api.openai.com/v1/chat/completions", strings.NewReader(`{"model":"gpt-5-mini","messages":[]}`))
	res, err := r.engine.Middleware(req, client.Do)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	r.only()
}

// TestBaseURLs captures an OpenAI-compatible local server and an Azure
// OpenAI deployment named as base URLs.
func TestBaseURLs(t *testing.T) {
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fixture(t, "openai_chat.json"))
	}))
	defer local.Close()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tracer := tp.Tracer("test")
	e, err := New(Deps{Tracer: func() trace.Tracer { return tracer }}, Options{BaseURLs: []BaseURL{
		{URL: local.URL + "/v1"},
		{URL: local.URL + "/openai", Name: "azure.ai.openai"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	httpClient := &http.Client{Transport: e.Transport(http.DefaultTransport)}
	post(t, httpClient, local.URL+"/v1/chat/completions", strings.NewReader(`{"model":"llama3.2","messages":[{"role":"user","content":"hi"}]}`))
	post(t, httpClient, local.URL+"/openai/deployments/my-gpt-4o/chat/completions?api-version=2024-10-21", strings.NewReader(`{"messages":[{"role":"user","content":"hi"}]}`))
	post(t, httpClient, local.URL+"/other/chat/completions", strings.NewReader(`{}`))

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	for i, want := range []struct{ name, provider string }{
		{"chat llama3.2", "openai"},
		{"chat my-gpt-4o", "azure.ai.openai"},
	} {
		a := attrMap(spans[i].Attributes())
		if spans[i].Name() != want.name || a["gen_ai.provider.name"] != want.provider || a["server.address"] != "127.0.0.1" {
			t.Errorf("span %q: %v", spans[i].Name(), a)
		}
	}
}

func TestUnsampled(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithSpanProcessor(rec))
	r := newRig(t, replyJSON(200, fixture(t, "openai_chat.json")), nil, func(d *Deps) { d.Tracer = func() trace.Tracer { return tp.Tracer("test") } })
	res, got := post(t, r.client(), "https://api.openai.com/v1/chat/completions", strings.NewReader(`{"model":"gpt-5-mini","messages":[]}`))
	if res.StatusCode != 200 || !bytes.Equal(got, fixture(t, "openai_chat.json")) {
		t.Error("the caller got another response")
	}
	if _, ok := res.Body.(*body); ok {
		t.Error("an unsampled call's body was wrapped")
	}
	if n := len(rec.Ended()); n != 0 {
		t.Errorf("%d spans recorded", n)
	}
}

func TestStreamCutShort(t *testing.T) {
	events := strings.SplitAfter(string(fixture(t, "anthropic_stream.sse")), "\n\n")
	r := newRig(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range events[:5] {
			_, _ = io.WriteString(w, ev)
		}
		w.(http.Flusher).Flush()
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = buf.Flush()
			_ = conn.Close()
		}
	}, nil, nil)
	req, _ := http.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages", strings.NewReader(`{"model":"claude-sonnet-4-5","stream":true,"max_tokens":5,"messages":[]}`))
	res, err := r.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, readErr := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if readErr == nil {
		t.Fatal("reading a cut stream succeeded")
	}
	a := attrMap(r.only().Attributes())
	if a["overmind.status"] != "failed" || a["error.type"] != "io.ErrUnexpectedEOF" {
		t.Errorf("attributes %v", a)
	}
	if out, _ := a["gen_ai.output.messages"].(string); !jsonEqual(out, `[{"role":"assistant","parts":[{"type":"reasoning","content":"I should look up the weather."}]}]`) {
		t.Errorf("partial output %s", out)
	}
}

// recordingSampler samples every span and records what it was shown.
type recordingSampler struct {
	mu    sync.Mutex
	names []string
	attrs [][]attribute.KeyValue
}

func (s *recordingSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.names = append(s.names, p.Name)
	s.attrs = append(s.attrs, append([]attribute.KeyValue(nil), p.Attributes...))
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
}

func (s *recordingSampler) Description() string { return "recording" }

// TestSamplerSeesModel: a span starts with its full name and the
// attributes the GenAI conventions ask for at creation, the model among
// them, so that samplers can decide on them.
func TestSamplerSeesModel(t *testing.T) {
	sampler := &recordingSampler{}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithSpanProcessor(rec))
	r := newRig(t, replyJSON(200, fixture(t, "openai_chat.json")), nil, func(d *Deps) { d.Tracer = func() trace.Tracer { return tp.Tracer("test") } })
	post(t, r.client(), "https://api.openai.com/v1/chat/completions", strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"model":"gpt-5-mini"}`))
	if len(sampler.names) != 1 || sampler.names[0] != "chat gpt-5-mini" {
		t.Fatalf("the sampler saw spans %q", sampler.names)
	}
	checkAttrs(t, sampler.attrs[0], map[string]any{
		"overmind.span.type":    "llm_call",
		"gen_ai.operation.name": "chat",
		"gen_ai.provider.name":  "openai",
		"gen_ai.request.model":  "gpt-5-mini",
		"server.address":        "api.openai.com",
		"server.port":           int64(443),
	})
	if spans := rec.Ended(); len(spans) != 1 || spans[0].Name() != "chat gpt-5-mini" {
		t.Errorf("ended spans %v", spans)
	}
}
