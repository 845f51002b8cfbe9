package llmcapture

import (
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// TestProviderHosts: requests are taken for a provider's by host (and, on
// this machine, by port) and path, and only those; a base URL wins over
// the table.
func TestProviderHosts(t *testing.T) {
	t.Parallel()
	tracer := trace.NewNoopTracerProvider().Tracer("")
	e, err := New(Deps{Tracer: func() trace.Tracer { return tracer }}, Options{
		Providers: []string{ProviderAll},
		BaseURLs:  []BaseURL{{URL: "http://localhost:8000/fastchat", Name: "fastchat"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := e.config.Load()
	for url, want := range map[string]string{
		"https://api.openai.com/v1/chat/completions":                                               "openai",
		"https://API.OpenAI.com/v1/chat/completions":                                               "openai",
		"https://myres.openai.azure.com/openai/deployments/gpt/chat/completions":                   "azure.ai.openai",
		"https://a.b.openai.azure.com/openai/deployments/gpt/chat/completions":                     "",
		"https://api.anthropic.com/v1/messages":                                                    "anthropic",
		"https://api.anthropic.com/v1/messages/count_tokens":                                       "",
		"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent": "gcp.gemini",
		"https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent": "gcp.vertex_ai",
		"https://api.groq.com/openai/v1/chat/completions":             "groq",
		"https://api.deepseek.com/chat/completions":                   "deepseek",
		"https://api.mistral.ai/v1/chat/completions":                  "mistral_ai",
		"https://api.mistral.ai/v1/embeddings":                        "mistral_ai",
		"https://api.x.ai/v1/chat/completions":                        "x_ai",
		"https://openrouter.ai/api/v1/chat/completions":               "openrouter",
		"https://api.together.xyz/v1/chat/completions":                "together_ai",
		"https://api.fireworks.ai/inference/v1/chat/completions":      "fireworks_ai",
		"https://api.perplexity.ai/chat/completions":                  "perplexity",
		"https://evil-api.groq.com/openai/v1/chat/completions":        "",
		"https://api.groq.com.example.com/openai/v1/chat/completions": "",
		"http://localhost:11434/v1/chat/completions":                  "ollama",
		"http://127.0.0.1:11434/v1/embeddings":                        "ollama",
		"http://localhost:11434/api/chat":                             "", // Ollama's own API is not OpenAI's
		"http://[::1]:1234/v1/chat/completions":                       "lm_studio",
		"http://localhost:8000/v1/chat/completions":                   "vllm",
		"http://localhost:8000/fastchat/v1/chat/completions":          "fastchat",
		"http://localhost:8000/admin/users":                           "",
		"http://localhost:8001/v1/chat/completions":                   "",
		"http://localhost/v1/chat/completions":                        "",
		"http://10.0.0.7:8000/v1/chat/completions":                    "",
		"http://my-vllm.internal:8000/v1/chat/completions":            "",
	} {
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if ep, ok := cfg.match(req); ok {
			got = ep.provider
		}
		if got != want {
			t.Errorf("%s: provider %q, want %q", url, got, want)
		}
	}
}

// TestProviderNames: every provider of the table has a name, its hosts a
// gen_ai.provider.name, and each name stands for one provider.
func TestProviderNames(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, p := range providers {
		if p.name == "" || p.api == nil || len(p.hosts) == 0 {
			t.Errorf("provider %+v is incomplete", p)
		}
		for _, name := range append([]string{p.name}, p.aliases...) {
			if other, dup := seen[name]; dup {
				t.Errorf("%q names %s and %s", name, other, p.name)
			}
			seen[name] = p.name
			if i, ok := ProviderIndex(strings.ToUpper(name)); !ok || providers[i].name != p.name {
				t.Errorf("ProviderIndex(%q) = %d, %v", name, i, ok)
			}
		}
		for _, h := range p.hosts {
			if h.provider == "" || h.pattern == "" && h.port == 0 {
				t.Errorf("provider %s: host %+v is incomplete", p.name, h)
			}
		}
	}
}
