package overmind

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
)

// Attribute keys of a prompt built with PromptString.
const (
	attrPromptID       = "overmind.prompt.id"
	attrPromptHash     = "overmind.prompt.hash"
	attrPromptKwargs   = "overmind.prompt.kwargs"
	attrPromptTemplate = "overmind.prompt.template"
)

// PromptString renders a prompt template and remembers where the text came
// from, so that Overmind groups LLM calls by prompt reliably across
// providers and versions: when the rendered text is sent to a captured
// provider, its llm_call span records the prompt's id, the SHA-256 of the
// template (overmind.prompt.hash), the template and kwargs.
//
// Placeholders are written {name}, as in Python's str.format; {{ and }}
// stand for literal braces. A placeholder with no kwarg is left as is.
// Strings are inserted as they are, other values as fmt's %v prints them.
//
//	system := overmind.PromptString("support_greeter_v1",
//		"You are a helpful support agent. Your name is {agent_name}.",
//		map[string]any{"agent_name": "Astra"})
//
// Before Init it only renders.
func PromptString(id, template string, kwargs map[string]any) string {
	text := renderPrompt(template, kwargs)
	if st := active.Load(); st != nil {
		prompts.add(text, promptInfo{
			ID:       id,
			Template: template,
			Hash:     promptHash(template),
			Kwargs:   marshalRecording(kwargs, st.jsonOpts),
		})
	}
	return text
}

// renderPrompt substitutes {name} placeholders.
func renderPrompt(template string, kwargs map[string]any) string {
	if !strings.ContainsAny(template, "{}") {
		return template
	}
	var b strings.Builder
	b.Grow(len(template))
	for i := 0; i < len(template); i++ {
		c := template[i]
		switch {
		case c == '{' && i+1 < len(template) && template[i+1] == '{':
			b.WriteByte('{')
			i++
		case c == '}' && i+1 < len(template) && template[i+1] == '}':
			b.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(template[i+1:], '}')
			if end < 0 {
				b.WriteString(template[i:])
				return b.String()
			}
			name := template[i+1 : i+1+end]
			v, ok := kwargs[name]
			if !ok {
				b.WriteString(template[i : i+end+2])
			} else if s, isString := v.(string); isString {
				b.WriteString(s)
			} else {
				fmt.Fprint(&b, v)
			}
			i += end + 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func promptHash(template string) string {
	sum := sha256.Sum256([]byte(template))
	return hex.EncodeToString(sum[:])
}

// promptInfo is what PromptString remembers about a rendered prompt.
type promptInfo struct {
	ID, Template, Hash, Kwargs string
}

// attributes are the span attributes of an LLM call that sent the prompt.
func (p promptInfo) attributes() []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String(attrPromptID, p.ID),
		attribute.String(attrPromptHash, p.Hash),
		attribute.String(attrPromptKwargs, p.Kwargs),
		attribute.String(attrPromptTemplate, p.Template),
	}
}

// Limits of the prompt registry: the most recent prompts are kept, up to
// a count and a total size, so a program rendering many large prompts
// holds a bounded amount of memory.
const (
	maxPrompts      = 1024
	maxPromptsBytes = 8 << 20
)

// promptRegistry maps rendered prompt texts to their origin, evicting the
// oldest first.
type promptRegistry struct {
	mu     sync.Mutex
	byText map[string]promptInfo
	order  []string
	bytes  int
}

var prompts promptRegistry

func (r *promptRegistry) add(text string, p promptInfo) {
	if len(text) > maxPromptsBytes/4 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byText == nil {
		r.byText = map[string]promptInfo{}
	}
	if _, ok := r.byText[text]; ok {
		r.byText[text] = p
		return
	}
	r.byText[text] = p
	r.order = append(r.order, text)
	r.bytes += len(text)
	for len(r.order) > maxPrompts || r.bytes > maxPromptsBytes {
		oldest := r.order[0]
		r.order = r.order[1:]
		r.bytes -= len(oldest)
		delete(r.byText, oldest)
	}
}

// lookup returns the prompt that rendered exactly text.
func (r *promptRegistry) lookup(text string) (promptInfo, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.byText[text]
	return p, ok
}

func (r *promptRegistry) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byText, r.order, r.bytes = nil, nil, 0
}
