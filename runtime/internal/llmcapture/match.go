package llmcapture

import (
	"net/http"
	"strings"
)

// operation is one of the captured endpoints.
type operation uint8

const (
	opNone              operation = iota
	opOpenAIChat                  // POST .../chat/completions
	opOpenAIResponses             // POST .../responses
	opOpenAIEmbeddings            // POST .../embeddings
	opAnthropicMessages           // POST .../v1/messages
	opGeminiGenerate              // POST .../models/{model}:generateContent or :streamGenerateContent
)

// name is the operation's gen_ai.operation.name.
func (op operation) name() string {
	switch op {
	case opOpenAIEmbeddings:
		return "embeddings"
	case opGeminiGenerate:
		return "generate_content"
	default:
		return "chat"
	}
}

// endpoint is what a matched request is.
type endpoint struct {
	op       operation
	provider string // gen_ai.provider.name
	// pathModel is the model named in the path: Gemini's models/{model}, or
	// an Azure OpenAI deployment.
	pathModel string
	// pathStream is whether the path asks for a stream (Gemini's
	// streamGenerateContent).
	pathStream bool
}

// match reports which endpoint req calls, if it is one this configuration
// captures. It allocates nothing for requests it does not capture.
func (cfg *config) match(req *http.Request) (endpoint, bool) {
	if req.Method != http.MethodPost || req.URL == nil {
		return endpoint{}, false
	}
	host, hostname := req.URL.Host, req.URL.Hostname()
	path := req.URL.Path
	switch {
	case cfg.openai && strings.EqualFold(hostname, "api.openai.com"):
		return matchOpenAI(path, "openai")
	case cfg.openai && hasSuffixFold(hostname, ".openai.azure.com"):
		return matchOpenAI(path, "azure.ai.openai")
	case cfg.anthropic && strings.EqualFold(hostname, "api.anthropic.com"):
		return matchAnthropic(path, "anthropic")
	case cfg.google && strings.EqualFold(hostname, "generativelanguage.googleapis.com"):
		return matchGemini(path, "gcp.gemini")
	case cfg.google && (strings.EqualFold(hostname, "aiplatform.googleapis.com") || hasSuffixFold(hostname, "-aiplatform.googleapis.com")):
		return matchGemini(path, "gcp.vertex_ai")
	}
	for i := range cfg.bases {
		b := &cfg.bases[i]
		if !strings.EqualFold(req.URL.Scheme, b.scheme) || !strings.EqualFold(host, b.host) {
			continue
		}
		rest, ok := strings.CutPrefix(path, b.path)
		if !ok || (rest != "" && rest[0] != '/' && b.path != "") {
			continue
		}
		var ep endpoint
		switch b.protocol {
		case ProviderOpenAI:
			ep, ok = matchOpenAI(rest, b.name)
		case ProviderAnthropic:
			ep, ok = matchAnthropic(rest, b.name)
		case ProviderGoogle:
			ep, ok = matchGemini(rest, b.name)
		}
		if ok {
			return ep, true
		}
	}
	return endpoint{}, false
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// matchOpenAI recognises the OpenAI endpoints by the end of the path, so
// that /v1/chat/completions, an Azure deployment's
// /openai/deployments/{name}/chat/completions and a compatible server's
// /api/v1/chat/completions all match.
func matchOpenAI(path, provider string) (endpoint, bool) {
	path = strings.TrimSuffix(path, "/")
	var op operation
	var prefix string
	switch {
	case strings.HasSuffix(path, "/chat/completions"):
		op, prefix = opOpenAIChat, strings.TrimSuffix(path, "/chat/completions")
	case strings.HasSuffix(path, "/responses"):
		op, prefix = opOpenAIResponses, strings.TrimSuffix(path, "/responses")
	case strings.HasSuffix(path, "/embeddings"):
		op, prefix = opOpenAIEmbeddings, strings.TrimSuffix(path, "/embeddings")
	default:
		return endpoint{}, false
	}
	ep := endpoint{op: op, provider: provider}
	if i := strings.LastIndex(prefix, "/deployments/"); i >= 0 {
		ep.pathModel = prefix[i+len("/deployments/"):]
	}
	return ep, true
}

// matchAnthropic recognises the messages endpoint, and nothing under it
// (count_tokens, batches).
func matchAnthropic(path, provider string) (endpoint, bool) {
	path = strings.TrimSuffix(path, "/")
	if !strings.HasSuffix(path, "/messages") {
		return endpoint{}, false
	}
	return endpoint{op: opAnthropicMessages, provider: provider}, true
}

// matchGemini recognises .../models/{model}:generateContent and
// :streamGenerateContent, on the Gemini API and on Vertex AI
// (.../publishers/google/models/{model}:...).
func matchGemini(path, provider string) (endpoint, bool) {
	slash := strings.LastIndexByte(path, '/')
	last := path[slash+1:]
	model, method, ok := strings.Cut(last, ":")
	if !ok {
		return endpoint{}, false
	}
	ep := endpoint{op: opGeminiGenerate, provider: provider, pathModel: model}
	switch method {
	case "generateContent":
	case "streamGenerateContent":
		ep.pathStream = true
	default:
		return endpoint{}, false
	}
	return ep, true
}
