package integration

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	overmind "github.com/overmind-core/overmind-go/runtime"
)

// The benchmarks measure what capture adds to a call, against the same
// call uncaptured in the same run, through the runtime's public API as a
// program uses it:
//
//	go test -run '^$' -bench . -benchmem
//
//   - BenchmarkOpenAIChat: a chat completion with a 1 KB response through
//     openai-go to a local server, captured against uncaptured.
//   - BenchmarkHTTP: the same call with net/http alone, the smallest
//     baseline, so the hardest ratio.
//
// Both also measure the floor under the capture: "span-ratio" is the same
// call with a span written by hand with the OpenTelemetry API, carrying
// the attributes the capture records (taken from a captured call
// beforehand, so that it costs only what the span itself does: start,
// attributes, end, the batch processor and the garbage collector), against
// the call uncaptured; and "vs-span-ratio" is the captured call against
// that hand-written span, the cost of the capture's own work.
//   - BenchmarkCaptureOverhead: the capture's own cost with no network, a
//     transport answering from memory.
//   - BenchmarkPassThrough: what a request to another endpoint pays for
//     going through the wrapped transport.
//
// The spans go through a batch span processor to an exporter that reads
// every attribute and drops the span, as a real exporter takes them off
// the call's path; each round of calls ends with a ForceFlush, so that its
// export is counted in its CPU time ("cpu-ratio") though not in the time
// the calls take ("ratio").
//
// The "ratio" sub-benchmarks alternate the two sides in short rounds and
// report the median of the per-round ratios: on a shared, busy machine the
// separate ns/op figures drift with the load, the ratio of neighbouring
// rounds does not. "ratio" compares elapsed time; "cpu-ratio" compares
// the CPU time the process spent (client, server, exporter and garbage
// collector together, where the platform reports it), which other
// processes on the machine disturb less. (Their B/op and allocs/op count a
// whole round of both sides; read the allocations from the plain
// sub-benchmarks.)

// benchRequest is the request body of the net/http benchmarks, as openai-go
// sends it for benchParams.
var benchRequest = []byte(`{"messages":[{"content":"You are a helpful customer support agent for an online shop. Answer briefly and politely.","role":"system"},{"content":"Where is my order A-1001? I ordered it last week.","role":"user"}],"model":"gpt-5-mini","temperature":0.2}`)

// benchParams is the chat completion the openai-go benchmarks send.
var benchParams = openai.ChatCompletionNewParams{
	Model: "gpt-5-mini",
	Messages: []openai.ChatCompletionMessageParamUnion{
		openai.SystemMessage("You are a helpful customer support agent for an online shop. Answer briefly and politely."),
		openai.UserMessage("Where is my order A-1001? I ordered it last week."),
	},
	Temperature: openai.Float(0.2),
}

// benchResponse is a chat completion of about 1 KB, as OpenAI sends it.
var benchResponse = []byte(`{
  "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
  "object": "chat.completion",
  "created": 1741570283,
  "model": "gpt-5-mini-2025-08-07",
  "choices": [
    {
      "index": 0,
      "message": {
        "role": "assistant",
        "content": "Thanks for reaching out! Your order A-1001 shipped on Monday with UPS and is on its way.\n\nTracking number: 1Z999AA10123456784. It left the regional hub this morning; delivery is expected on Thursday.\n\nIf it hasn't arrived by Friday, reply here and I'll open a claim with the carrier for you.",
        "refusal": null,
        "annotations": []
      },
      "logprobs": null,
      "finish_reason": "stop"
    }
  ],
  "usage": {
    "prompt_tokens": 1117,
    "completion_tokens": 46,
    "total_tokens": 1163,
    "prompt_tokens_details": {
      "cached_tokens": 1024,
      "audio_tokens": 0
    },
    "completion_tokens_details": {
      "reasoning_tokens": 30,
      "audio_tokens": 0
    }
  },
  "service_tier": "default",
  "system_fingerprint": "fp_fc9f1d7035"
}`)

// benchServer is a local OpenAI-compatible server answering
// benchResponse, which the runtime captures as a provider base URL, with
// the spans exported through a batch processor to an exporter that drops
// them.
func benchServer(b *testing.B) *httptest.Server {
	if len(benchResponse) < 950 || len(benchResponse) > 1100 {
		b.Fatalf("response is %d bytes", len(benchResponse))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(benchResponse)
	}))
	b.Cleanup(srv.Close)
	if err := overmind.Init(overmind.Config{
		ProviderBaseURLs: []overmind.ProviderBaseURL{{URL: srv.URL + "/v1"}},
		SpanProcessors:   []sdktrace.SpanProcessor{benchExport},
	}); err != nil {
		b.Fatal(err)
	}
	return srv
}

// benchExport exports the benchmarks' spans in batches to an exporter
// that reads every attribute and the status, as a real one does, and
// keeps nothing.
var benchExport = sdktrace.NewBatchSpanProcessor(&readingExporter{})

// readingExporter reads the spans it is given and drops them.
type readingExporter struct{ bytes atomic.Int64 }

func (e *readingExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	var n int
	for _, s := range spans {
		for _, kv := range s.Attributes() {
			if kv.Value.Type() == attribute.STRING {
				n += len(kv.Value.AsString())
			} else {
				n++
			}
		}
		n += len(s.Status().Description)
	}
	e.bytes.Add(int64(n))
	return nil
}

func (e *readingExporter) Shutdown(context.Context) error { return nil }

// benchTransports returns an uncaptured transport to srv, a captured
// one, and one that records each call with a hand-written span, each with
// its own connections.
func benchTransports(b *testing.B, srv *httptest.Server) (uncaptured, captured, handWritten http.RoundTripper) {
	return &http.Transport{MaxIdleConnsPerHost: 4},
		overmind.WrapTransport(&http.Transport{MaxIdleConnsPerHost: 4}),
		newHandWrittenSpan(b, srv, &http.Transport{MaxIdleConnsPerHost: 4})
}

// handWrittenSpan records each call with a client span, as a developer
// would by hand with the OpenTelemetry API, with the attributes the
// capture records for the benchmarks' call.
type handWrittenSpan struct {
	base       http.RoundTripper
	start, end []attribute.KeyValue
}

// newHandWrittenSpan captures one call to srv and keeps its attributes:
// those a span starts with, and the rest.
func newHandWrittenSpan(b *testing.B, srv *httptest.Server, base http.RoundTripper) *handWrittenSpan {
	rec := spans.record(b)
	client := &http.Client{Transport: overmind.WrapTransport(base)}
	res, err := client.Post(srv.URL+"/v1/chat/completions", "application/json", bytes.NewReader(benchRequest))
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	flush(b)
	ended := rec.Ended()
	if len(ended) != 1 {
		b.Fatalf("%d spans", len(ended))
	}
	h := &handWrittenSpan{base: base}
	for _, kv := range ended[0].Attributes() {
		switch kv.Key {
		case "overmind.span.type", "gen_ai.operation.name", "gen_ai.provider.name", "server.address", "server.port", "gen_ai.request.model":
			h.start = append(h.start, kv)
		default:
			h.end = append(h.end, kv)
		}
	}
	if len(h.start) != 6 || len(h.end) < 15 {
		b.Fatalf("%d and %d attributes", len(h.start), len(h.end))
	}
	spans.set(nil)
	return h
}

func (h *handWrittenSpan) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, span := overmind.Tracer().Start(req.Context(), "chat gpt-5-mini",
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(h.start...))
	resp, err := h.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		span.End()
		return resp, err
	}
	resp.Body = &spanBody{ReadCloser: resp.Body, span: span, attrs: h.end}
	return resp, nil
}

// spanBody ends its span when the body ends.
type spanBody struct {
	io.ReadCloser
	span  trace.Span
	attrs []attribute.KeyValue
	done  bool
}

func (b *spanBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.end()
	}
	return n, err
}

func (b *spanBody) Close() error {
	err := b.ReadCloser.Close()
	b.end()
	return err
}

func (b *spanBody) end() {
	if !b.done {
		b.done = true
		b.span.SetAttributes(b.attrs...)
		b.span.End()
	}
}

// benchSides runs the sub-benchmarks of a call made uncaptured, captured
// and with a hand-written span: the ratios, and each side alone for its
// allocations.
func benchSides(b *testing.B, uncaptured, captured, handWritten func()) {
	b.Run("ratio", func(b *testing.B) {
		benchRatio(b, captured, uncaptured)
	})
	b.Run("span-ratio", func(b *testing.B) {
		benchRatio(b, handWritten, uncaptured)
	})
	b.Run("vs-span-ratio", func(b *testing.B) {
		benchRatio(b, captured, handWritten)
	})
	for _, side := range []struct {
		name string
		call func()
	}{{"uncaptured", uncaptured}, {"captured", captured}, {"hand-written-span", handWritten}} {
		b.Run(side.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				side.call()
			}
			benchFlush()
		})
	}
}

// benchRatio runs subject and baseline alternately, in rounds of about 5ms
// of calls each (ABBA order, to cancel drift), and reports the median
// per-round ratios of their times along with each side's median ns/op
// (named captured and uncaptured whatever the sides are).
//
// Every round ends with benchFlush, which exports the spans its calls
// ended: "ratio" compares the time of the calls alone, what the caller
// waits for; "cpu-ratio" compares the CPU time of the whole round, export
// included, so that work moved off the caller's path is still counted.
func benchRatio(b *testing.B, subject, baseline func()) {
	b.Helper()
	b.ReportAllocs()
	// A round's size is set from a first timing so that a round lasts
	// about 5ms whatever the call costs.
	n := 1
	for {
		start := time.Now()
		for range n {
			baseline()
		}
		if time.Since(start) > 5*time.Millisecond || n >= 1<<20 {
			break
		}
		n *= 2
	}
	benchFlush()
	var ratios, cpuRatios, subj, base []float64
	// run returns the elapsed time per call of a round of f, and the CPU
	// time per call of the round and its export.
	run := func(f func()) (wall, cpu float64) {
		start, startCPU := time.Now(), processCPU()
		for range n {
			f()
		}
		wall = float64(time.Since(start).Nanoseconds()) / float64(n)
		benchFlush()
		return wall, float64(processCPU()-startCPU) / float64(n)
	}
	for i := 0; b.Loop(); i++ {
		var s, t, sCPU, tCPU float64
		if i%2 == 0 {
			s, sCPU = run(subject)
			t, tCPU = run(baseline)
		} else {
			t, tCPU = run(baseline)
			s, sCPU = run(subject)
		}
		ratios, subj, base = append(ratios, s/t), append(subj, s), append(base, t)
		if tCPU > 0 {
			cpuRatios = append(cpuRatios, sCPU/tCPU)
		}
	}
	b.ReportMetric(median(ratios), "ratio")
	if len(cpuRatios) > 0 {
		b.ReportMetric(median(cpuRatios), "cpu-ratio")
	}
	b.ReportMetric(median(subj), "captured-ns/op")
	b.ReportMetric(median(base), "uncaptured-ns/op")
	b.ReportMetric(0, "ns/op") // a round's time means nothing on its own
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// BenchmarkOpenAIChat compares a chat completion through openai-go with
// and without capture.
func BenchmarkOpenAIChat(b *testing.B) {
	srv := benchServer(b)
	plain, wrapped, span := benchTransports(b, srv)
	call := func(rt http.RoundTripper) func() {
		c := openai.NewClient(option.WithAPIKey("k"), option.WithBaseURL(srv.URL+"/v1"),
			option.WithHTTPClient(&http.Client{Transport: rt}))
		return func() {
			res, err := c.Chat.Completions.New(context.Background(), benchParams)
			if err != nil || len(res.Choices) != 1 {
				b.Fatal(err)
			}
		}
	}
	benchSides(b, call(plain), call(wrapped), call(span))
}

// benchFlush exports the spans ended so far, so that a round is charged
// with all the work its calls caused.
func benchFlush() { _ = overmind.ForceFlush(context.Background()) }

// BenchmarkHTTP compares the same call made with net/http alone, the
// smallest baseline: only the HTTP round trip and reading the body.
func BenchmarkHTTP(b *testing.B) {
	srv := benchServer(b)
	plain, wrapped, span := benchTransports(b, srv)
	call := func(rt http.RoundTripper) func() {
		client := &http.Client{Transport: rt}
		return func() {
			res, err := client.Post(srv.URL+"/v1/chat/completions", "application/json", bytes.NewReader(benchRequest))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, res.Body); err != nil {
				b.Fatal(err)
			}
			_ = res.Body.Close()
		}
	}
	benchSides(b, call(plain), call(wrapped), call(span))
}

// BenchmarkPassThrough measures what a request to another host pays for
// going through the wrapped transport.
func BenchmarkPassThrough(b *testing.B) {
	srv := benchServer(b)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil)
	rt := overmind.WrapTransport(roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, nil }))
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
	srv := benchServer(b)
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
	url := srv.URL + "/v1/chat/completions"
	call := func(rt http.RoundTripper) func() {
		return func() {
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(benchRequest))
			res, err := rt.RoundTrip(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
		}
	}
	b.Run("uncaptured", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			call(memory)()
		}
	})
	b.Run("captured", func(b *testing.B) {
		b.ReportAllocs()
		rt := overmind.WrapTransport(memory)
		for b.Loop() {
			call(rt)()
		}
		benchFlush()
	})
}
