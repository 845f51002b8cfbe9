package integration

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	overmind "github.com/overmind-core/overmind-go/runtime"
)

// TestOpenAICompatibleServices calls the OpenAI-compatible services with
// openai-go at their own base URLs, and the servers on this machine at
// their default ports: each is captured, with its gen_ai.provider.name,
// with no ProviderBaseURLs.
func TestOpenAICompatibleServices(t *testing.T) {
	r := newRig(t, replyJSON(200, fixture(t, "openai_chat.json")))
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.srv.Serve(w, req)
	}))
	defer local.Close()
	// toLocal sends plain HTTP requests to local, whatever their host and
	// port, as the rig sends TLS ones to its server.
	var dialer net.Dialer
	toLocal := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, "tcp", local.Listener.Addr().String())
	}}
	defer toLocal.CloseIdleConnections()
	for _, tc := range []struct{ baseURL, provider string }{
		{"https://api.groq.com/openai/v1/", "groq"},
		{"https://api.deepseek.com/", "deepseek"},
		{"https://api.mistral.ai/v1/", "mistral_ai"},
		{"https://api.x.ai/v1/", "x_ai"},
		{"https://openrouter.ai/api/v1/", "openrouter"},
		{"https://api.together.xyz/v1/", "together_ai"},
		{"https://api.fireworks.ai/inference/v1/", "fireworks_ai"},
		{"https://api.perplexity.ai/", "perplexity"},
		{"http://localhost:11434/v1/", "ollama"},
		{"http://127.0.0.1:8000/v1/", "vllm"},
		{"http://localhost:1234/v1/", "lm_studio"},
	} {
		base := http.RoundTripper(r.base)
		if tc.baseURL[:5] == "http:" {
			base = toLocal
		}
		client := openai.NewClient(option.WithAPIKey(testAPIKey), option.WithBaseURL(tc.baseURL),
			option.WithHTTPClient(&http.Client{Transport: overmind.WrapTransport(base)}), option.WithMaxRetries(0))
		if _, err := client.Chat.Completions.New(context.Background(), chatParams("hi")); err != nil {
			t.Fatalf("%s: %v", tc.baseURL, err)
		}
		llm := r.llm()
		if len(llm) == 0 {
			t.Fatalf("%s: not captured", tc.baseURL)
		}
		a := attrMap(llm[len(llm)-1].Attributes())
		if a["gen_ai.provider.name"] != tc.provider || a["gen_ai.usage.input_tokens"] != int64(1117) {
			t.Errorf("%s: provider %v, input tokens %v", tc.baseURL, a["gen_ai.provider.name"], a["gen_ai.usage.input_tokens"])
		}
	}
	if n, want := len(r.llm()), 11; n != want {
		t.Errorf("%d spans, want %d", n, want)
	}
}
