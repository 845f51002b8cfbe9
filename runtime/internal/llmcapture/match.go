package llmcapture

import (
	"net/http"
	"net/url"
	"strings"
)

// endpoint is what a matched request is.
type endpoint struct {
	api      *api
	op       *operation
	provider string // gen_ai.provider.name
	// pathModel is the model named in the path: Gemini's models/{model},
	// Bedrock's model/{modelId}, or an Azure OpenAI deployment.
	pathModel string
	// pathStream is whether the path asks for a stream (Gemini's
	// streamGenerateContent, Bedrock's converse-stream).
	pathStream bool
}

// match reports which endpoint req calls, if it is one this configuration
// captures: a base URL's first, then an enabled provider's host. It
// allocates nothing for requests it does not capture.
func (cfg *config) match(req *http.Request) (endpoint, bool) {
	if req.Method != http.MethodPost || req.URL == nil {
		return endpoint{}, false
	}
	path := req.URL.EscapedPath()
	for i := range cfg.bases {
		if ep, ok := cfg.bases[i].match(req, path); ok {
			return ep, true
		}
	}
	r := cfg.hosts.find(req.URL.Hostname(), portNumber(req.URL.Port()))
	if r == nil {
		return endpoint{}, false
	}
	ep, ok := r.api.match(path)
	if !ok {
		return endpoint{}, false
	}
	ep.api, ep.provider = r.api, r.provider
	return ep, true
}

// match reports which endpoint of b's API req, whose escaped path is
// path, calls, if it is under b.
func (b *base) match(req *http.Request, path string) (endpoint, bool) {
	if !strings.EqualFold(req.URL.Scheme, b.scheme) || !strings.EqualFold(req.URL.Host, b.host) {
		return endpoint{}, false
	}
	rest, ok := strings.CutPrefix(path, b.path)
	if !ok || (rest != "" && rest[0] != '/' && b.path != "") {
		return endpoint{}, false
	}
	ep, ok := b.api.match(rest)
	if !ok {
		return endpoint{}, false
	}
	ep.api, ep.provider = b.api, b.name
	return ep, true
}

// unescapePath decodes the escapes of a part of an escaped path, such as a
// model name; one that does not decode stays as it is.
func unescapePath(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
