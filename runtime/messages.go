package overmind

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/overmind-core/overmind-go/runtime/internal/jsonvalue"
)

// Messages recorded on a span are kept in the order they were recorded and
// written as the GenAI conventions' gen_ai.input.messages and
// gen_ai.output.messages attributes, the structured JSON the provider
// capture writes for the messages of a model call:
//
//	[{"role":"user","parts":[{"type":"text","content":"Where is my order?"}]}]
//
// The output is the run of assistant messages that ends the transcript
// (the model's answer); the input is everything before it. Read one after
// the other, the two are the transcript in the order it was recorded.
// docs/manual-spans.md gives the full form.

// Attribute keys of the messages.
const (
	attrInputMessages   = "gen_ai.input.messages"
	attrOutputMessages  = "gen_ai.output.messages"
	attrDroppedMessages = "overmind.messages.dropped"
)

// Message is one message of a conversation: mv37's trace.message(role,
// content, tool_call_id, is_internal), or one of the messages of an LLM
// call.
type Message struct {
	// Role is "system", "user", "assistant" or "tool".
	Role string
	// Content is the message's text. For a message of role "tool" with a
	// ToolCallID it is the tool's result.
	Content string
	// Parts is structured content, for multimodal messages, tool calls and
	// tool results, after Content if both are set.
	Parts []MessagePart
	// ToolCallID links a message of role "tool" to the tool call it
	// answers.
	ToolCallID string
	// Name is the name of the participant, when a conversation has
	// several of one role.
	Name string
	// FinishReason is why the model stopped, for the model's answer:
	// "stop", "length", "tool_call", ...
	FinishReason string
	// Internal marks a message the end user never sees, such as a
	// scratchpad or a reflection (mv37's is_internal).
	Internal bool
}

// MessagePart is one part of a message's structured content, as the GenAI
// conventions define them.
type MessagePart struct {
	// Type is "text" (the default), "reasoning", "tool_call",
	// "tool_call_response", "uri" or "blob".
	Type string
	// Content is the text of a text or reasoning part, or the
	// base64-encoded data of a blob.
	Content string
	// ID is a tool call's id, in a tool_call part and the
	// tool_call_response part that answers it.
	ID string
	// Name is the tool a tool_call part calls.
	Name string
	// Arguments are a tool call's arguments: any value, recorded as JSON
	// (a json.RawMessage as it is).
	Arguments any
	// Response is a tool call's result, in a tool_call_response part.
	Response any
	// URI is where a uri part's content is.
	URI string
	// MimeType and Modality ("image", "video", "audio") describe a uri or
	// blob part.
	MimeType string
	Modality string
}

// RecordMessage records m on the current span (ctx's, else the calling
// goroutine's), after the messages recorded on it before. Recorded on an
// LLM span, the messages are the call's; on the span of [StartTrace],
// the conversation's. Content goes through the same redaction and size cap
// as inputs; nothing is recorded while SetIncludeSensitiveData(false) is
// in force.
func RecordMessage(ctx context.Context, m Message) {
	if active.Load() == nil {
		return
	}
	recordMessage(ctx, m, false)
}

// RecordTraceMessage records m on the trace rather than on the current
// span: on the root span of the trace [StartTrace] opened, wherever below
// it the call is made (mv37's trace.message). Outside such a trace it
// records on the current span, as [RecordMessage].
func RecordTraceMessage(ctx context.Context, m Message) {
	if active.Load() == nil {
		return
	}
	recordMessage(ctx, m, true)
}

//go:noinline
func recordMessage(ctx context.Context, m Message, onTrace bool) {
	st := active.Load()
	if st == nil || !recordsData() {
		return
	}
	span := targetSpan(ctx)
	if onTrace {
		if root := traceRoot(ctx, span); root != nil {
			span = root
		}
	}
	if span == nil || !span.IsRecording() {
		return
	}
	encoded := marshalRecording(m.conventional(), st.jsonOpts)
	withSpanData(span, func(d *spanData) {
		if d.msgs.add(m.Role, encoded, st.jsonOpts.MaxBytes) {
			span.SetAttributes(d.msgs.attributes()...)
		}
	})
}

// traceRoot returns the root span of the trace StartTrace opened that ctx,
// or else span, is in, if it is still recording.
func traceRoot(ctx context.Context, span trace.Span) trace.Span {
	var l *labels
	if ctx != nil {
		l, _ = carriedLabels(ctx)
	}
	if (l == nil || l.root == nil) && span != nil {
		l = labelsOfSpan(span.SpanContext().SpanID())
	}
	if l == nil || l.root == nil || !l.root.IsRecording() {
		return nil
	}
	return l.root
}

// conventionalMessage is a message in the GenAI conventions' JSON form.
type conventionalMessage struct {
	Role         string             `json:"role"`
	Parts        []conventionalPart `json:"parts"`
	Name         string             `json:"name,omitempty"`
	FinishReason string             `json:"finish_reason,omitempty"`
	// Internal is mv37's is_internal, which the conventions do not have.
	Internal bool `json:"internal,omitempty"`
}

type conventionalPart struct {
	Type      string `json:"type"`
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
	Content   any    `json:"content,omitempty"`
	Arguments any    `json:"arguments,omitempty"`
	Response  any    `json:"response,omitempty"`
	URI       string `json:"uri,omitempty"`
	MimeType  string `json:"mime_type,omitempty"`
	Modality  string `json:"modality,omitempty"`
}

// conventional converts m to the conventions' form: Content becomes a
// text part (a tool_call_response part for a tool's result), followed by
// Parts.
func (m *Message) conventional() conventionalMessage {
	c := conventionalMessage{Role: m.Role, Name: m.Name, FinishReason: m.FinishReason, Internal: m.Internal}
	c.Parts = make([]conventionalPart, 0, len(m.Parts)+1)
	switch {
	case m.Content != "" && m.Role == "tool" && m.ToolCallID != "":
		c.Parts = append(c.Parts, conventionalPart{Type: "tool_call_response", ID: m.ToolCallID, Response: m.Content})
	case m.Content != "":
		c.Parts = append(c.Parts, conventionalPart{Type: "text", Content: m.Content})
	}
	for i := range m.Parts {
		c.Parts = append(c.Parts, m.Parts[i].conventional())
	}
	return c
}

func (p *MessagePart) conventional() conventionalPart {
	c := conventionalPart{Type: p.Type, ID: p.ID, Name: p.Name, Arguments: p.Arguments, Response: p.Response, URI: p.URI, MimeType: p.MimeType, Modality: p.Modality}
	if c.Type == "" {
		c.Type = "text"
	}
	switch c.Type {
	case "text", "reasoning", "blob":
		c.Content = p.Content
	default:
		if p.Content != "" {
			c.Content = p.Content
		}
	}
	if c.Type == "tool_call" && c.Arguments == nil {
		c.Arguments = map[string]any{}
	}
	return c
}

// transcript is the messages recorded on one span, each as its JSON.
type transcript struct {
	roles   []string
	encoded []string
	bytes   int
	dropped int
	// wroteInput and wroteOutput record that an attribute was written,
	// so that it is written again, empty, when the split moves.
	wroteInput, wroteOutput bool
}

// maxTranscriptFactor bounds what a transcript keeps: this many times the
// attribute size cap, past which the attributes are cut anyway.
const maxTranscriptFactor = 4

// add appends a message, or counts it dropped once the transcript holds
// more than the attributes can show. It reports whether the attributes
// changed.
func (t *transcript) add(role, encoded string, maxBytes int) bool {
	if maxBytes <= 0 {
		maxBytes = jsonvalue.DefaultMaxBytes
	}
	if t.bytes+len(encoded) > maxTranscriptFactor*maxBytes {
		t.dropped++
		return true
	}
	t.roles = append(t.roles, role)
	t.encoded = append(t.encoded, encoded)
	t.bytes += len(encoded) + 1
	return true
}

// split is where the output starts: after the last message that is not
// the assistant's.
func (t *transcript) split() int {
	i := len(t.roles)
	for i > 0 && t.roles[i-1] == "assistant" {
		i--
	}
	return i
}

// attributes are the transcript's attributes. An empty side is left out
// unless it was written before: a user message recorded after an answer
// moves the answer to the input and leaves the output "[]".
func (t *transcript) attributes() []attribute.KeyValue {
	split := t.split()
	attrs := make([]attribute.KeyValue, 0, 3)
	if split > 0 || t.wroteInput {
		attrs = append(attrs, attribute.String(attrInputMessages, truncateAttribute(jsonArray(t.encoded[:split]))))
		t.wroteInput = true
	}
	if split < len(t.encoded) || t.wroteOutput {
		attrs = append(attrs, attribute.String(attrOutputMessages, truncateAttribute(jsonArray(t.encoded[split:]))))
		t.wroteOutput = true
	}
	if t.dropped > 0 {
		attrs = append(attrs, attribute.Int(attrDroppedMessages, t.dropped))
	}
	return attrs
}

func jsonArray(items []string) string {
	var b strings.Builder
	n := 2
	for _, s := range items {
		n += len(s) + 1
	}
	b.Grow(n)
	b.WriteByte('[')
	for i, s := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s)
	}
	b.WriteByte(']')
	return b.String()
}
