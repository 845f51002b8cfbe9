// Package client is a Go client of the Overmind traces API, usable against
// Overmind itself and against a local `overmind serve`:
//
//	c := client.FromEnv() // OVERMIND_API_URL, OVERMIND_API_KEY
//	trace, err := c.RetrieveTrace(ctx, "4bf92f3577b34da6a3ce929d0e0e4736")
//
// It reads the same environment variables as the runtime, so a program
// that sends its spans somewhere can read them back from the same place.
// It depends on the standard library alone; the runtime never imports it.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is Overmind's API, the base URL when OVERMIND_API_URL is
// not set.
const DefaultBaseURL = "https://api.overmindlab.ai"

// Environment variables read by [FromEnv], the runtime's own.
const (
	EnvAPIURL = "OVERMIND_API_URL"
	EnvAPIKey = "OVERMIND_API_KEY"
)

// maxBody bounds the responses the client reads.
const maxBody = 256 << 20

// Client calls the traces API. Its zero value is not usable; call [New] or
// [FromEnv].
type Client struct {
	// BaseURL is the API's base, such as "https://api.overmindlab.ai" or
	// "http://127.0.0.1:4318".
	BaseURL string
	// APIKey is sent as X-Api-Key when set.
	APIKey string
	// HTTPClient sends the requests; nil means a client with a 30-second
	// timeout.
	HTTPClient *http.Client
}

// New returns a client of the API at baseURL ("" for Overmind's) that
// authenticates with apiKey ("" for none).
func New(baseURL, apiKey string) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), APIKey: apiKey}
}

// FromEnv returns a client configured by OVERMIND_API_URL and
// OVERMIND_API_KEY.
func FromEnv() *Client {
	return New(os.Getenv(EnvAPIURL), os.Getenv(EnvAPIKey))
}

// Error is a response other than 2xx, with what the server said.
type Error struct {
	// Method and URL are the request's.
	Method, URL string
	// StatusCode is the HTTP status.
	StatusCode int
	// Message is the error the server gave (its JSON "error", "detail" or
	// "message"), else the start of its body.
	Message string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.StatusCode, msg)
}

// IsNotFound reports whether err is the API's 404, as for an unknown trace.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// RetrieveTrace returns the trace with the given ID (32 hex digits) and
// all its spans.
func (c *Client) RetrieveTrace(ctx context.Context, traceID string) (*TraceRetrieveResponse, error) {
	body, err := c.RetrieveTraceJSON(ctx, traceID)
	if err != nil {
		return nil, err
	}
	var resp TraceRetrieveResponse
	if err := decode(body, &resp); err != nil {
		return nil, fmt.Errorf("decode trace %s: %w", traceID, err)
	}
	return &resp, nil
}

// RetrieveTraceJSON is [Client.RetrieveTrace]'s response body as the
// server sent it.
func (c *Client) RetrieveTraceJSON(ctx context.Context, traceID string) ([]byte, error) {
	return c.get(ctx, "/api/traces/"+url.PathEscape(traceID)+"/", nil)
}

// ListParams filters and pages [Client.ListTraces]. Zero fields do not
// filter.
type ListParams struct {
	// Service is a service.name.
	Service string
	// Status is a root status (success, failed, cancelled, unset), or
	// "error" for traces with at least one failed span.
	Status string
	// SpanType keeps traces with at least one span of this type
	// (llm_call, tool_call, workflow, ...).
	SpanType string
	// Text is searched in span names, the trace ID and the service.
	Text string
	// Since and Until bound the traces' start times.
	Since, Until time.Time
	// Limit is the page size (the server caps it).
	Limit int
	// Cursor is a previous page's NextCursor.
	Cursor string
}

// ListTraces returns recent traces, newest first. It is the list endpoint
// of `overmind serve`.
func (c *Client) ListTraces(ctx context.Context, p ListParams) (*TraceList, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("service", p.Service)
	set("status", p.Status)
	set("span_type", p.SpanType)
	set("q", p.Text)
	set("cursor", p.Cursor)
	if !p.Since.IsZero() {
		q.Set("since", p.Since.Format(time.RFC3339Nano))
	}
	if !p.Until.IsZero() {
		q.Set("until", p.Until.Format(time.RFC3339Nano))
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	body, err := c.get(ctx, "/api/traces/", q)
	if err != nil {
		return nil, err
	}
	var list TraceList
	if err := decode(body, &list); err != nil {
		return nil, fmt.Errorf("decode trace list: %w", err)
	}
	return &list, nil
}

// decode reads JSON with numbers kept as json.Number, so that integer
// attributes keep every digit.
func decode(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	return d.Decode(v)
}

// get sends GET path?query and returns the body of a 2xx response.
func (c *Client) get(ctx context.Context, path string, query url.Values) ([]byte, error) {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("traces API request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if c.APIKey != "" {
		req.Header.Set("X-Api-Key", c.APIKey)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("traces API: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("GET %s: read response: %w", u, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, &Error{Method: http.MethodGet, URL: u, StatusCode: resp.StatusCode, Message: serverMessage(body)}
	}
	return body, nil
}

// serverMessage is the error message in a response body: the "error",
// "detail" or "message" of a JSON object, else the body's first line.
func serverMessage(body []byte) string {
	var obj map[string]any
	if json.Unmarshal(body, &obj) == nil {
		for _, k := range []string{"error", "detail", "message"} {
			if s, ok := obj[k].(string); ok && s != "" {
				return s
			}
		}
	}
	s := strings.TrimSpace(string(body))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
