package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/genai"

	overmind "github.com/overmind-core/overmind-go/runtime"
)

// failFirst answers the first n attempts of each distinct request body
// with status and body, then with ok.
func failFirst(n, status int, errBody string, ok func(http.ResponseWriter, *http.Request, []byte)) func(http.ResponseWriter, *http.Request, []byte) {
	var mu sync.Mutex
	seen := map[string]int{}
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		mu.Lock()
		seen[string(body)]++
		k := seen[string(body)]
		mu.Unlock()
		if k <= n {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After-Ms", "1")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(errBody))
			return
		}
		ok(w, r, body)
	}
}

const openAIRateLimit = `{"error":{"message":"Rate limit reached for gpt-5-mini in organization org-x on requests per min (RPM): Limit 3, Used 3.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`

// retryEvents returns the attempt, status code and error type of each
// retry event of a span. The error type of a response the SDK closed
// unread is its status: the engine never reads a body the caller does not.
func retryEvents(s sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, ev := range s.Events() {
		if ev.Name != "overmind.llm.retry" {
			continue
		}
		m := attrMap(ev.Attributes)
		out = append(out, fmt.Sprintf("attempt %v: %v %v", m["overmind.llm.attempt"], m["http.response.status_code"], m["error.type"]))
	}
	return out
}

func TestRetry429Then200(t *testing.T) {
	for _, path := range []string{"transport", "middleware"} {
		t.Run(path, func(t *testing.T) {
			r := newRig(t, failFirst(1, 429, openAIRateLimit, replyJSON(200, fixture(t, "openai_chat.json"))))
			opts := []option.RequestOption{option.WithAPIKey(testAPIKey), option.WithMaxRetries(2)}
			if path == "transport" {
				opts = append(opts, option.WithHTTPClient(r.client()))
			} else {
				opts = append(opts, option.WithHTTPClient(r.plainClient()), option.WithMiddleware(overmind.Middleware))
			}
			client := openai.NewClient(opts...)
			_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model:    "gpt-5-mini",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
			})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(r.requests()); n != 2 {
				t.Fatalf("the server got %d requests, want 2", n)
			}
			s := r.only()
			attrs := attrMap(s.Attributes())
			if attrs["overmind.llm.attempts"] != int64(2) || attrs["overmind.status"] != "success" ||
				attrs["http.response.status_code"] != int64(200) || attrs["gen_ai.usage.input_tokens"] != int64(1117) {
				t.Errorf("attributes %v", attrs)
			}
			if _, ok := attrs["overmind.error.type"]; ok {
				t.Error("a call that succeeded on retry carries an error")
			}
			if got, want := strings.Join(retryEvents(s), "; "), "attempt 1: 429 429"; got != want {
				t.Errorf("retry events %q, want %q", got, want)
			}
		})
	}
}

func TestRetry500500ThenFail(t *testing.T) {
	errBody := `{"type":"error","error":{"type":"api_error","message":"Internal server error"},"request_id":"req_011"}`
	r := newRig(t, failFirst(100, 500, errBody, nil))
	client := newAnthropic(r, anthropicoption.WithMaxRetries(1))
	_, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model:     anthropic.ModelClaudeSonnet4_5,
		MaxTokens: 10,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	})
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
		t.Fatalf("the SDK returned %v", err)
	}
	if n := len(r.requests()); n != 2 {
		t.Fatalf("the server got %d requests, want 2", n)
	}
	s := r.only()
	checkAttrs(t, s.Attributes(), map[string]any{
		"overmind.span.type":        "llm_call",
		"gen_ai.operation.name":     "chat",
		"gen_ai.provider.name":      "anthropic",
		"gen_ai.request.model":      "claude-sonnet-4-5",
		"gen_ai.request.max_tokens": int64(10),
		"server.address":            "api.anthropic.com",
		"server.port":               int64(443),
		"gen_ai.input.messages":     jsonText(`[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`),
		"inputs":                    jsonText(`[{"role":"user","content":"hi"}]`),
		"overmind.llm.attempts":     int64(2),
		"http.response.status_code": int64(500),
		"error.type":                "api_error",
		"overmind.error.type":       "api_error",
		"overmind.error.message":    "Internal server error",
		"overmind.duration.seconds": anyPositive{},
		"overmind.status":           "failed",
	})
	if got, want := strings.Join(retryEvents(s), "; "), "attempt 1: 500 500"; got != want {
		t.Errorf("retry events %q, want %q", got, want)
	}
}

// TestNoRetryLeftEndsAtOnce: a retryable status that the SDK does not retry
// (no retries left) is read, and ends its span at once; the next identical
// call is a call of its own.
func TestNoRetryLeftEndsAtOnce(t *testing.T) {
	r := newRig(t, failFirst(1, 429, openAIRateLimit, replyJSON(200, fixture(t, "openai_chat.json"))))
	client := newOpenAI(r) // no retries
	params := openai.ChatCompletionNewParams{
		Model:    "gpt-5-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}
	if _, err := client.Chat.Completions.New(context.Background(), params); err == nil {
		t.Fatal("the first call succeeded")
	}
	failed := r.only()
	if a := attrMap(failed.Attributes()); a["overmind.status"] != "failed" || a["http.response.status_code"] != int64(429) || a["overmind.error.type"] != "requests" {
		t.Errorf("failed call %v", a)
	}
	if _, err := client.Chat.Completions.New(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	spans := r.spans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	if a := attrMap(spans[1].Attributes()); a["overmind.status"] != "success" || a["overmind.llm.attempts"] != int64(1) {
		t.Errorf("second call %v", a)
	}
}

// dropFirst closes the connection of the first n requests without an
// answer, then answers with ok.
func dropFirst(n int, ok func(http.ResponseWriter, *http.Request, []byte)) func(http.ResponseWriter, *http.Request, []byte) {
	var mu sync.Mutex
	k := 0
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		mu.Lock()
		k++
		drop := k <= n
		mu.Unlock()
		if drop {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		ok(w, r, body)
	}
}

func TestRetryAfterConnectionError(t *testing.T) {
	r := newRig(t, dropFirst(1, replyJSON(200, fixture(t, "openai_chat.json"))))
	client := newOpenAI(r, option.WithMaxRetries(2), option.WithMaxRetryDelay(1))
	if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt-5-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}); err != nil {
		t.Fatal(err)
	}
	s := r.only()
	a := attrMap(s.Attributes())
	if a["overmind.llm.attempts"] != int64(2) || a["overmind.status"] != "success" {
		t.Errorf("attributes %v", a)
	}
	if got, want := strings.Join(retryEvents(s), "; "), "attempt 1: <nil> io.EOF"; got != want {
		t.Errorf("retry events %q, want %q", got, want)
	}
}

// TestConnectionErrorsParkedUntilFlush: the last attempt of a call whose
// attempts all fail without a response waits for a retry that never comes;
// Flush ends it with the time of that attempt.
func TestConnectionErrorsParkedUntilFlush(t *testing.T) {
	r := newRig(t, dropFirst(100, nil))
	client := newOpenAI(r, option.WithMaxRetries(1), option.WithMaxRetryDelay(1))
	_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt-5-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
	if err == nil {
		t.Fatal("the call succeeded")
	}
	if n := len(r.spans()); n != 0 {
		t.Fatalf("%d spans ended before Flush", n)
	}
	flush(t)
	s := r.only()
	a := attrMap(s.Attributes())
	if a["overmind.llm.attempts"] != int64(2) || a["overmind.status"] != "failed" || a["error.type"] != "io.EOF" {
		t.Errorf("attributes %v", a)
	}
	if msg, _ := a["overmind.error.message"].(string); !strings.Contains(msg, "EOF") {
		t.Errorf("error message %q", msg)
	}
}

// TestGenAIRetryWithoutHeader: genai retries without a retry-count header;
// the fingerprint alone ties its attempts together.
func TestGenAIRetryWithoutHeader(t *testing.T) {
	errBody := `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`
	r := newRig(t, failFirst(1, 503, errBody, replyJSON(200, fixture(t, "gemini.json"))))
	client := newGenAI(t, r, &genai.HTTPRetryOptions{
		Attempts:     genai.Ptr[int32](3),
		InitialDelay: genai.Ptr(0.001),
		Jitter:       genai.Ptr(0.0),
	})
	if _, err := client.Models.GenerateContent(context.Background(), "gemini-2.5-flash", genai.Text("hi"), nil); err != nil {
		t.Fatal(err)
	}
	s := r.only()
	a := attrMap(s.Attributes())
	if a["overmind.llm.attempts"] != int64(2) || a["overmind.status"] != "success" {
		t.Errorf("attributes %v", a)
	}
	if got, want := strings.Join(retryEvents(s), "; "), "attempt 1: 503 503"; got != want {
		t.Errorf("retry events %q, want %q", got, want)
	}
}

func TestRetryWithAnthropicSDKSpans(t *testing.T) {
	errBody := `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`
	r := newRig(t, failFirst(1, 529, errBody, replyJSON(200, fixture(t, "anthropic_message.json"))))
	client := newAnthropic(r, anthropicoption.WithMaxRetries(2))
	if _, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model:     anthropic.ModelClaudeSonnet4_5,
		MaxTokens: 10,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	}); err != nil {
		t.Fatal(err)
	}
	s := r.only()
	a := attrMap(s.Attributes())
	if a["overmind.llm.attempts"] != int64(2) || a["overmind.status"] != "success" || s.Name() != "chat claude-sonnet-4-5" {
		t.Errorf("span of %s: %v", s.InstrumentationScope().Name, a)
	}
}

// TestConcurrentRetries runs calls that each fail once, in parallel, under
// parents of their own: each gives one span of two attempts.
func TestConcurrentRetries(t *testing.T) {
	r := newRig(t, failFirst(1, 429, openAIRateLimit, replyJSON(200, fixture(t, "openai_chat.json"))))
	client := newOpenAI(r, option.WithMaxRetries(2))
	tracer := overmind.Tracer()
	const calls = 8
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, parent := tracer.Start(context.Background(), "parent")
			defer parent.End()
			_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model:    "gpt-5-mini",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(fmt.Sprintf("call %d", i))},
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var llm int
	for _, s := range r.spans() {
		if s.Name() != "chat gpt-5-mini" {
			continue
		}
		llm++
		if a := attrMap(s.Attributes()); a["overmind.llm.attempts"] != int64(2) {
			t.Errorf("span with %v attempts", a["overmind.llm.attempts"])
		}
	}
	if llm != calls {
		t.Errorf("%d llm spans, want %d", llm, calls)
	}
}

// TestIdenticalConcurrentRetries runs two identical calls at once, with no
// parent span, each of which fails once with 429 and is retried: their
// attempts have the same fingerprint. Each must give one span of two
// attempts that succeeded. A middleware holds the retries back until both
// first attempts have been parked, which is when a second parked call
// used to take the place of the first and end it.
func TestIdenticalConcurrentRetries(t *testing.T) {
	var mu sync.Mutex
	served := 0
	r := newRig(t, func(w http.ResponseWriter, req *http.Request, body []byte) {
		mu.Lock()
		served++
		first := served <= 2
		mu.Unlock()
		if first {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After-Ms", "1")
			w.WriteHeader(429)
			_, _ = w.Write([]byte(openAIRateLimit))
			return
		}
		replyJSON(200, fixture(t, "openai_chat.json"))(w, req, body)
	})
	var parked sync.WaitGroup
	parked.Add(2)
	holdRetries := func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		if req.Header.Get("X-Stainless-Retry-Count") != "0" {
			parked.Wait()
			return next(req)
		}
		res, err := next(req)
		if err != nil {
			parked.Done()
			return res, err
		}
		res.Body = &onClose{ReadCloser: res.Body, done: parked.Done}
		return res, nil
	}
	client := newOpenAI(r, option.WithMaxRetries(1), option.WithMiddleware(holdRetries))
	params := openai.ChatCompletionNewParams{
		Model:    "gpt-5-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := client.Chat.Completions.New(context.Background(), params); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	flush(t)
	spans := r.spans()
	if len(spans) != 2 {
		t.Errorf("%d spans, want 2", len(spans))
	}
	for _, s := range spans {
		a := attrMap(s.Attributes())
		if a["overmind.llm.attempts"] != int64(2) || a["overmind.status"] != "success" {
			t.Errorf("span with %v attempts, status %v", a["overmind.llm.attempts"], a["overmind.status"])
		}
	}
}

// onClose calls done once its body is closed.
type onClose struct {
	io.ReadCloser
	done func()
	once sync.Once
}

func (b *onClose) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}
