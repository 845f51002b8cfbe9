package llmcapture

import "strings"

// This file is the table of the providers the engine captures: one row
// per provider, naming it, the hosts it serves (with the
// gen_ai.provider.name each records) and the API it speaks. An API is one
// file (openai.go, anthropic.go, gemini.go, bedrock.go) that defines its
// endpoints and the parsers of their requests, responses and streams.
// Adding a provider that speaks a known API is one row here; adding an
// API is one file more. The names Options.Providers accepts, and the
// runtime's Config.Providers, come from this table.
var providers = []provider{
	{name: "openai", api: openaiAPI, hosts: []host{
		{pattern: "api.openai.com", provider: "openai"},
		{pattern: "*.openai.azure.com", provider: "azure.ai.openai"},
	}},
	{name: "anthropic", api: anthropicAPI, hosts: []host{
		{pattern: "api.anthropic.com", provider: "anthropic"},
	}},
	{name: "google", aliases: []string{"gemini", "genai", "google-genai"}, api: geminiAPI, hosts: []host{
		{pattern: "generativelanguage.googleapis.com", provider: "gcp.gemini"},
		{pattern: "aiplatform.googleapis.com", provider: "gcp.vertex_ai"},
		{pattern: "*-aiplatform.googleapis.com", provider: "gcp.vertex_ai"},
	}},

	{name: "bedrock", aliases: []string{"aws-bedrock"}, api: bedrockAPI, hosts: []host{
		{pattern: "bedrock-runtime.*.amazonaws.com", provider: "aws.bedrock"},
		{pattern: "bedrock-runtime-fips.*.amazonaws.com", provider: "aws.bedrock"},
		{pattern: "bedrock-runtime.*.amazonaws.com.cn", provider: "aws.bedrock"},
	}},
	// OpenAI-compatible services, which Go programs call through an
	// OpenAI client given their base URL.
	{name: "groq", api: openaiAPI, hosts: []host{{pattern: "api.groq.com", provider: "groq"}}},
	{name: "deepseek", api: openaiAPI, hosts: []host{{pattern: "api.deepseek.com", provider: "deepseek"}}},
	{name: "mistral", api: openaiAPI, hosts: []host{{pattern: "api.mistral.ai", provider: "mistral_ai"}}},
	{name: "xai", api: openaiAPI, hosts: []host{{pattern: "api.x.ai", provider: "x_ai"}}},
	{name: "openrouter", api: openaiAPI, hosts: []host{{pattern: "openrouter.ai", provider: "openrouter"}}},
	{name: "together", api: openaiAPI, hosts: []host{{pattern: "api.together.xyz", provider: "together_ai"}}},
	{name: "fireworks", api: openaiAPI, hosts: []host{{pattern: "api.fireworks.ai", provider: "fireworks_ai"}}},
	{name: "perplexity", api: openaiAPI, hosts: []host{{pattern: "api.perplexity.ai", provider: "perplexity"}}},

	// OpenAI-compatible servers on this machine, at their default ports
	// (see host.port for what is matched).
	{name: "ollama", api: openaiAPI, hosts: []host{{port: 11434, provider: "ollama"}}},
	{name: "vllm", api: openaiAPI, hosts: []host{{port: 8000, provider: "vllm"}}},
	{name: "lmstudio", aliases: []string{"lm-studio"}, api: openaiAPI, hosts: []host{{port: 1234, provider: "lm_studio"}}},
}

// provider is a row of the table.
type provider struct {
	// name is the provider's name in Options.Providers.
	name string
	// aliases are other names Options.Providers takes for it. The
	// gen_ai.provider.name values of its hosts are taken too.
	aliases []string
	// api is the API it speaks.
	api *api
	// hosts are the servers whose calls are its.
	hosts []host
}

// host names the servers of a provider.
type host struct {
	// pattern is a host name, in lower case, in which one '*' stands for
	// a part of one label: "*.openai.azure.com" matches
	// "myres.openai.azure.com", "*-aiplatform.googleapis.com" matches
	// "us-central1-aiplatform.googleapis.com". An empty pattern with a
	// port stands for this machine.
	pattern string
	// port, when set with no pattern, is the default port of a server
	// that runs on the machine itself: a request is its provider's when
	// its host is localhost, 127.0.0.1 or ::1 and it names this port, over
	// http or https. Its path must still be one of the API's endpoints, so
	// that only a request of the API's shape is taken for the provider's;
	// another OpenAI-compatible server listening on that port is recorded
	// under this provider's name unless a base URL names it.
	port int
	// provider is the gen_ai.provider.name its calls record.
	provider string
}

// api is a wire protocol the engine understands.
type api struct {
	// name is the protocol's name in BaseURL.Protocol.
	name string
	// provider is the gen_ai.provider.name of a base URL that names none.
	provider string
	// operations are its endpoints.
	operations []*operation
	// match reports which of the API's endpoints an escaped URL path
	// calls (the whole path, or what follows a base URL's path), with the
	// model the path names. It must not allocate for paths that are not
	// its endpoints.
	match func(path string) (endpoint, bool)
	// errorTypeHeader is the response header in which the API names the
	// type of an error, if it has one.
	errorTypeHeader string
	// sdkSpans are the spans a provider SDK starts for calls of the API,
	// which the engine's own replace (see sdkspans.go).
	sdkSpans []sdkSpan
}

// operation is one endpoint of an API, with the parsers of its bodies.
type operation struct {
	// name is its gen_ai.operation.name.
	name string
	// request parses a request body into r.
	request func(body string, r *request)
	// response parses a whole successful response body; nil if it does
	// not parse.
	response func(body string) *response
	// stream returns an accumulator of a streamed response's events; nil
	// when the endpoint does not stream.
	stream func() stream
	// embeddings is set for an embeddings endpoint, whose content is its
	// input.
	embeddings bool
	// modelPrefix is a prefix the endpoint's model names carry in the
	// body, which the span leaves out ("models/" for Gemini).
	modelPrefix string
	// modelInPath is set for an endpoint whose model is in its path
	// alone, its body having none.
	modelInPath bool
}

// apis are the APIs the table's providers speak, each once, in the
// table's order.
var apis = func() []*api {
	var list []*api
	for _, p := range providers {
		if !containsAPI(list, p.api) {
			list = append(list, p.api)
		}
	}
	return list
}()

func containsAPI(list []*api, a *api) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// ProviderNames returns the names of the providers the engine captures,
// in the table's order: the names Options.Providers takes, besides
// ProviderAll and the aliases.
func ProviderNames() []string {
	names := make([]string, len(providers))
	for i, p := range providers {
		names[i] = p.name
	}
	return names
}

// ProviderIndex returns the position in ProviderNames of the provider
// that name (a name, an alias, or a gen_ai.provider.name it records, in
// any case) stands for.
func ProviderIndex(name string) (int, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for i, p := range providers {
		if p.name == name {
			return i, true
		}
		for _, a := range p.aliases {
			if a == name {
				return i, true
			}
		}
		for _, h := range p.hosts {
			if h.provider == name {
				return i, true
			}
		}
	}
	return 0, false
}

// apiNamed returns the API whose name is name, in any case.
func apiNamed(name string) *api {
	for _, a := range apis {
		if strings.EqualFold(a.name, name) {
			return a
		}
	}
	return nil
}

// apiNames lists the APIs' names, for messages.
func apiNames() string {
	names := make([]string, len(apis))
	for i, a := range apis {
		names[i] = `"` + a.name + `"`
	}
	return strings.Join(names, ", ")
}

// hostRule is a host of an enabled provider, as the configuration
// matches it.
type hostRule struct {
	host
	api *api
	// prefix and suffix are pattern's parts around its '*'.
	prefix, suffix string
}

// hostRules are the hosts of the enabled providers, compiled for matching
// requests without allocating.
type hostRules struct {
	exact    map[string]*hostRule // by lower-case host name
	wildcard []*hostRule
	local    map[int]*hostRule // by port, on this machine
}

// add adds the hosts of provider p.
func (hr *hostRules) add(p *provider) {
	for _, h := range p.hosts {
		r := &hostRule{host: h, api: p.api}
		switch {
		case h.pattern == "":
			if hr.local == nil {
				hr.local = make(map[int]*hostRule)
			}
			hr.local[h.port] = r
		case strings.Contains(h.pattern, "*"):
			r.prefix, r.suffix, _ = strings.Cut(h.pattern, "*")
			hr.wildcard = append(hr.wildcard, r)
		default:
			if hr.exact == nil {
				hr.exact = make(map[string]*hostRule)
			}
			hr.exact[h.pattern] = r
		}
	}
}

// find returns the rule of hostname (and port, 0 when the URL names
// none), if any.
func (hr *hostRules) find(hostname string, port int) *hostRule {
	if hasUpper(hostname) {
		hostname = strings.ToLower(hostname) // rare: allocates
	}
	if r := hr.exact[hostname]; r != nil {
		return r
	}
	for _, r := range hr.wildcard {
		if matchWildcard(hostname, r.prefix, r.suffix) {
			return r
		}
	}
	if r := hr.local[port]; r != nil && isLoopback(hostname) {
		return r
	}
	return nil
}

// matchWildcard reports whether host is prefix, then one or more
// characters other than '.', then suffix.
func matchWildcard(host, prefix, suffix string) bool {
	if len(host) <= len(prefix)+len(suffix) || !strings.HasPrefix(host, prefix) || !strings.HasSuffix(host, suffix) {
		return false
	}
	return !strings.Contains(host[len(prefix):len(host)-len(suffix)], ".")
}

// isLoopback reports whether hostname names this machine: localhost,
// 127.0.0.1 or ::1.
func isLoopback(hostname string) bool {
	switch hostname {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// portNumber returns the number of a URL's port, 0 when it names none or
// one that is not a number, without allocating.
func portNumber(port string) int {
	n := 0
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' || n > 65535 {
			return 0
		}
		n = n*10 + int(port[i]-'0')
	}
	return n
}
