package llmcapture

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// benchResponse is a chat completion of about 1 KB.
var benchResponse = []byte(`{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion","created":1741570283,"model":"gpt-5-mini-2025-08-07","choices":[{"index":0,"message":{"role":"assistant","content":"` +
	strings.Repeat("Your order has shipped. ", 20) +
	`","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":30,"audio_tokens":0}},"service_tier":"default","system_fingerprint":"fp_fc9f1d7035"}`)

// benchServer is a local OpenAI-compatible server answering benchResponse,
// and an engine that captures it as a base URL, exporting through a batch
// processor to an exporter that drops the spans, as a real exporter would
// take them off the call's path.
func benchServer(b *testing.B) (*httptest.Server, *Engine) {
	if len(benchResponse) < 950 || len(benchResponse) > 1100 {
		b.Fatalf("response is %d bytes", len(benchResponse))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(benchResponse)
	}))
	b.Cleanup(srv.Close)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tracer := tp.Tracer("bench")
	e, err := New(Deps{Tracer: func() trace.Tracer { return tracer }}, Options{BaseURLs: []BaseURL{{URL: srv.URL + "/v1"}}})
	if err != nil {
		b.Fatal(err)
	}
	return srv, e
}

// BenchmarkOpenAIChat compares a chat completion through openai-go with
// and without capture: the ratio of the two ns/op is the overhead.
func BenchmarkOpenAIChat(b *testing.B) {
	srv, e := benchServer(b)
	params := openai.ChatCompletionNewParams{
		Model: "gpt-5-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("You are a helpful customer support agent."),
			openai.UserMessage("Where is my order A-1001?"),
		},
		Temperature: openai.Float(0.2),
	}
	for _, captured := range []bool{false, true} {
		name := "uncaptured"
		transport := http.RoundTripper(&http.Transport{MaxIdleConnsPerHost: 4})
		if captured {
			name = "captured"
			transport = e.Transport(transport)
		}
		client := openai.NewClient(option.WithAPIKey("k"), option.WithBaseURL(srv.URL+"/v1"),
			option.WithHTTPClient(&http.Client{Transport: transport}))
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := client.Chat.Completions.New(context.Background(), params)
				if err != nil || len(res.Choices) != 1 {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHTTP compares the same call made with net/http alone, the
// smallest baseline: only the HTTP round trip and reading the body.
func BenchmarkHTTP(b *testing.B) {
	srv, e := benchServer(b)
	reqBody := []byte(`{"model":"gpt-5-mini","messages":[{"role":"system","content":"You are a helpful customer support agent."},{"role":"user","content":"Where is my order A-1001?"}],"temperature":0.2}`)
	for _, captured := range []bool{false, true} {
		name := "uncaptured"
		transport := http.RoundTripper(&http.Transport{MaxIdleConnsPerHost: 4})
		if captured {
			name = "captured"
			transport = e.Transport(transport)
		}
		client := &http.Client{Transport: transport}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := client.Post(srv.URL+"/v1/chat/completions", "application/json", bytes.NewReader(reqBody))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, res.Body); err != nil {
					b.Fatal(err)
				}
				_ = res.Body.Close()
			}
		})
	}
}

// BenchmarkPassThrough measures what a request to another host pays for
// going through the wrapped transport.
func BenchmarkPassThrough(b *testing.B) {
	srv, e := benchServer(b)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil)
	rt := e.Transport(roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, nil }))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = rt.RoundTrip(req)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// BenchmarkCaptureOverhead measures the capture's own cost, with no
// network: a transport that answers benchResponse from memory.
func BenchmarkCaptureOverhead(b *testing.B) {
	_, e := benchServer(b)
	reqBody := []byte(`{"model":"gpt-5-mini","messages":[{"role":"system","content":"You are a helpful customer support agent."},{"role":"user","content":"Where is my order A-1001?"}],"temperature":0.2}`)
	memory := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
		return &http.Response{
			StatusCode:    200,
			Header:        http.Header{"Content-Type": {"application/json"}},
			Body:          io.NopCloser(bytes.NewReader(benchResponse)),
			ContentLength: int64(len(benchResponse)),
			Request:       r,
		}, nil
	})
	url := e.config.Load().opts.BaseURLs[0].URL + "/chat/completions"
	for _, captured := range []bool{false, true} {
		name := "uncaptured"
		var rt http.RoundTripper = memory
		if captured {
			name = "captured"
			rt = e.Transport(memory)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(reqBody))
				res, err := rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
			}
		})
	}
}
