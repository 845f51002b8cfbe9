package llmcapture

import (
	"strings"

	"github.com/overmind-core/overmind-go/runtime/internal/llmcapture/jsonscan"
)

// This file is the provider-neutral form of a call that the provider
// parsers fill in and the span attributes are made from.

// part is one part of a message, in the terms of the GenAI conventions'
// message parts.
type part struct {
	kind string // text, reasoning, tool_call, tool_call_response, blob, uri, file, or another type
	// text is the content of text and reasoning parts; read it with
	// content, as it is left empty when lit holds it with escapes.
	text string
	// lit is the text's JSON string, quotes included, as the body had it:
	// it is written out as it is rather than escaped again. Empty when the
	// text has none (it was built, or was not valid UTF-8).
	lit  string
	id   string // tool call id, or file id for a file part
	name string // tool name
	// args are a tool call's arguments: decoded JSON, or the raw string
	// when it is not JSON (as a stream cut short leaves it).
	args any
	// argsJSON is args encoded, once rendered.
	argsJSON string
	// response is a tool call's result.
	response                  any
	mime, modality, uri, data string
}

// message is one input or output message.
type message struct {
	role   string
	parts  []part
	finish string // an output message's finish reason
}

// toolDef is a tool offered to the model.
type toolDef struct {
	kind, name, description string
	params                  any
}

// number is an optional request parameter.
type number struct {
	v  float64
	ok bool
}

// set takes v if it is present.
func (n *number) set(v number) {
	if v.ok {
		*n = v
	}
}

// or returns n if present, else o.
func (n number) or(o number) number {
	if n.ok {
		return n
	}
	return o
}

// count is an optional integer.
type count struct {
	v  int64
	ok bool
}

// set takes v if it is present.
func (c *count) set(v count) {
	if v.ok {
		*c = v
	}
}

// add adds v if it is present.
func (c *count) add(v count) {
	if v.ok {
		c.v += v.v
		c.ok = true
	}
}

// or returns c if present, else o.
func (c count) or(o count) count {
	if c.ok {
		return c
	}
	return o
}

// request is what a request says.
type request struct {
	model                         string
	stream                        bool
	temperature, topP             number
	frequencyPenalty, presPenalty number
	maxTokens, topK, seed         count
	choices, dimensions           count
	stop                          []string
	encodingFormats               []string
	system                        []part
	messages                      []message
	tools                         []toolDef
	// embedInput is an embeddings request's input, decoded.
	embedInput any
}

// usage is a response's token counts, in the conventions' terms: input
// includes cached input, output includes reasoning.
type usage struct {
	input, output, cacheRead, cacheCreation, reasoning, total count
}

// response is what a response, or a whole stream, says.
type response struct {
	id, model     string
	finishReasons []string
	output        []message
	usage         usage
	embeddings    int
	dimensions    int
	// errType and errMessage are an error the provider reported in a
	// successful response, such as an error event in a stream.
	errType, errMessage string
	// complete is whether a stream reached its final event.
	complete bool
}

// textPart returns a part of kind with the text of a string as the body
// writes it. Text with escapes is decoded only if it is read.
func textPart(kind string, l jsonscan.Literal) part {
	switch {
	case l.Plain():
		return part{kind: kind, text: l.Value(), lit: l.JSON}
	case l.ValidUTF8():
		return part{kind: kind, lit: l.JSON}
	}
	return part{kind: kind, text: l.Value()}
}

// content returns the part's text, decoding it from lit the first time
// if the parser left it there.
func (p *part) content() string {
	if p.text == "" && len(p.lit) > 2 {
		p.text, _ = jsonscan.Unquote(p.lit)
	}
	return p.text
}

// textOf joins the text parts of parts.
func textOf(parts []part) string {
	var n int
	var only string
	for i := range parts {
		if p := &parts[i]; p.kind == "text" {
			n++
			only = p.content()
		}
	}
	if n <= 1 {
		return only
	}
	var b strings.Builder
	first := true
	for i := range parts {
		if p := &parts[i]; p.kind == "text" {
			if !first {
				b.WriteByte('\n')
			}
			first = false
			b.WriteString(p.content())
		}
	}
	return b.String()
}

// mediaPart returns the part for inline data or a URL of mime type mime.
func mediaPart(mime, dataOrURL string) part {
	modality := modalityOf(mime)
	if rest, ok := strings.CutPrefix(dataOrURL, "data:"); ok {
		// A data URL: data:image/png;base64,....
		meta, data, _ := strings.Cut(rest, ",")
		if m, _, _ := strings.Cut(meta, ";"); m != "" && mime == "" {
			mime = m
			modality = modalityOf(m)
		}
		return part{kind: "blob", mime: mime, modality: modality, data: data}
	}
	if strings.Contains(dataOrURL, "://") {
		return part{kind: "uri", mime: mime, modality: modality, uri: dataOrURL}
	}
	return part{kind: "blob", mime: mime, modality: modality, data: dataOrURL}
}

// modalityOf returns the conventions' modality of a MIME type.
func modalityOf(mime string) string {
	switch {
	case strings.HasPrefix(mime, "image/"):
		return "image"
	case strings.HasPrefix(mime, "audio/"):
		return "audio"
	case strings.HasPrefix(mime, "video/"):
		return "video"
	}
	return ""
}
