package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// TraceRetrieveResponse is the payload of GET /api/traces/{trace_id}/:
// the trace's root span and every span sharing its trace ID.
type TraceRetrieveResponse struct {
	// Root is the span without a parent, or nil when the server has none
	// (it has not arrived yet, or the trace continues a remote one).
	Root      *Span  `json:"root"`
	SpanCount int    `json:"span_count"`
	Spans     []Span `json:"spans"`
	TraceID   string `json:"trace_id"`
}

// Span is one span of a trace, as the traces API returns it.
type Span struct {
	Agent         *string        `json:"agent"`
	Attributes    map[string]any `json:"attributes"`
	DurationNs    int64          `json:"duration_ns"`
	EndTimeNs     int64          `json:"end_time_ns"`
	Events        Events         `json:"events"`
	IsRoot        bool           `json:"is_root"`
	Iteration     *string        `json:"iteration"`
	Job           *string        `json:"job"`
	Kind          int            `json:"kind"`
	Links         Links          `json:"links"`
	Name          string         `json:"name"`
	Operation     string         `json:"operation"`
	ParentSpanID  *string        `json:"parent_span_id"`
	Project       string         `json:"project"`
	ReceivedAt    time.Time      `json:"received_at"`
	ResourceAttrs map[string]any `json:"resource_attrs"`
	ScopeName     string         `json:"scope_name"`
	ScopeVersion  string         `json:"scope_version"`
	ServiceName   string         `json:"service_name"`
	SpanID        string         `json:"span_id"`
	// SpanType is "llm_call" or "tool_call"; Operation holds the span's
	// own type (entry_point, workflow, function, ...).
	SpanType      string `json:"span_type"`
	StartTimeNs   int64  `json:"start_time_ns"`
	StatusCode    int    `json:"status_code"`
	StatusMessage string `json:"status_message"`
	TraceID       string `json:"trace_id"`
}

// The span_type values of the traces API.
const (
	SpanTypeLLMCall  = "llm_call"
	SpanTypeToolCall = "tool_call"
)

// Event is a span event, such as a recorded exception.
type Event struct {
	Name       string         `json:"name"`
	TimeNs     int64          `json:"time_ns"`
	Attributes map[string]any `json:"attributes"`
}

// Link is a span's link to another span.
type Link struct {
	TraceID    string         `json:"trace_id"`
	SpanID     string         `json:"span_id"`
	TraceState string         `json:"trace_state,omitempty"`
	Attributes map[string]any `json:"attributes"`
}

// Events is a span's events. The API types the field as a JSON object:
// {} for none, else {"items": [...]} with "dropped" counting events the
// sender dropped. A bare JSON list is read too.
type Events struct {
	Items   []Event
	Dropped int
}

// Links is a span's links, in the same shape as [Events].
type Links struct {
	Items   []Link
	Dropped int
}

// listObject is the JSON form of Events and Links.
type listObject[T any] struct {
	Items   []T `json:"items,omitempty"`
	Dropped int `json:"dropped,omitempty"`
}

// MarshalJSON writes {} or {"items": [...]}.
func (e Events) MarshalJSON() ([]byte, error) {
	return json.Marshal(listObject[Event]{e.Items, e.Dropped})
}

// UnmarshalJSON reads {"items": [...]}, {}, a bare list, or null.
func (e *Events) UnmarshalJSON(b []byte) error {
	items, dropped, err := unmarshalList[Event](b)
	e.Items, e.Dropped = items, dropped
	return err
}

// MarshalJSON writes {} or {"items": [...]}.
func (l Links) MarshalJSON() ([]byte, error) {
	return json.Marshal(listObject[Link]{l.Items, l.Dropped})
}

// UnmarshalJSON reads {"items": [...]}, {}, a bare list, or null.
func (l *Links) UnmarshalJSON(b []byte) error {
	items, dropped, err := unmarshalList[Link](b)
	l.Items, l.Dropped = items, dropped
	return err
}

func unmarshalList[T any](b []byte) ([]T, int, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		return nil, 0, nil
	case b[0] == '[':
		var items []T
		err := json.Unmarshal(b, &items)
		return items, 0, err
	}
	var obj listObject[T]
	err := json.Unmarshal(b, &obj)
	return obj.Items, obj.Dropped, err
}

// TraceList is a page of the list endpoint of `overmind serve`,
// GET /api/traces/, most recent first.
type TraceList struct {
	Traces []TraceSummary `json:"traces"`
	// NextCursor fetches the next page; "" on the last one.
	NextCursor string `json:"next_cursor"`
}

// TraceSummary describes one trace of a TraceList.
type TraceSummary struct {
	TraceID     string `json:"trace_id"`
	RootName    string `json:"root_name"`
	ServiceName string `json:"service_name"`
	StartTimeNs int64  `json:"start_time_ns"`
	EndTimeNs   int64  `json:"end_time_ns"`
	DurationNs  int64  `json:"duration_ns"`
	SpanCount   int    `json:"span_count"`
	ErrorCount  int    `json:"error_count"`
	LLMCalls    int    `json:"llm_calls"`
	// Status is the root span's: success, failed, cancelled, or unset
	// while the root has not arrived.
	Status       string `json:"status"`
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
}

// AttrText is an attribute value as text: a string as it is, a number as
// written, a boolean as true or false, anything else as JSON; "" when
// absent.
func AttrText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return strconv.FormatInt(int64(v), 10)
		}
		return fmt.Sprint(v)
	case bool:
		return strconv.FormatBool(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
