package jsonvalue

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// The types below are shaped like openai-go's client (v1 to v3): a
// client and nested services, each holding the request options it was
// built with, which are funcs behind an interface.

type requestConfig struct {
	BaseURL    string
	APIKey     string
	HTTPClient *http.Client
}

// RequestOption is an option of the lookalike client.
type RequestOption interface{ Apply(*requestConfig) error }

// RequestOptionFunc is a RequestOption made of a function.
type RequestOptionFunc func(*requestConfig) error

// Apply applies the option.
func (f RequestOptionFunc) Apply(c *requestConfig) error { return f(c) }

type MessageService struct{ Options []RequestOption }

type CompletionService struct {
	Options  []RequestOption
	Messages MessageService
}

type ChatService struct {
	Options     []RequestOption
	Completions CompletionService
}

type FileService struct{ Options []RequestOption }

// LookalikeClient is openai.Client's shape.
type LookalikeClient struct {
	Options     []RequestOption
	Completions CompletionService
	Chat        ChatService
	Embeddings  FileService
	Files       FileService
	Images      FileService
	Audio       FileService
	Moderations FileService
	Models      FileService
	Batches     FileService
	Uploads     FileService
	Responses   FileService
}

func newLookalikeClient() LookalikeClient {
	opts := make([]RequestOption, 12)
	for i := range opts {
		opts[i] = RequestOptionFunc(func(*requestConfig) error { return nil })
	}
	s := FileService{Options: opts}
	chat := ChatService{Options: opts, Completions: CompletionService{Options: opts, Messages: MessageService{Options: opts}}}
	return LookalikeClient{
		Options: opts, Completions: CompletionService{Options: opts, Messages: MessageService{Options: opts}}, Chat: chat,
		Embeddings: s, Files: s, Images: s, Audio: s, Moderations: s, Models: s, Batches: s, Uploads: s, Responses: s,
	}
}

// funcOptionsClient holds its options as funcs, an http.Client and a
// logger, as many hand-written API clients do.
type funcOptionsClient struct {
	BaseURL    string
	Options    []func(*requestConfig)
	HTTPClient *http.Client
	Logger     *slog.Logger
	Retry      func(int) time.Duration
}

// Agent is data that holds a client: the data is recorded, the client is
// one placeholder.
type Agent struct {
	Name         string
	Instructions string
	Model        string
	Tools        []string
	Client       *LookalikeClient
	Logger       *slog.Logger
}

// Order has a few unexported fields beside its data: it stays recorded.
type Order struct {
	ID     string
	Items  []string
	Total  float64
	dirty  bool
	cached map[string]int
}

// Tool has a func among its data: it stays recorded, the func a
// placeholder.
type Tool struct {
	Name        string
	Description string
	Handler     func(context.Context, string) (string, error)
}

// Shape is an interface of getters: the values behind it are data.
type Shape interface{ Area() float64 }

// Circle is a Shape.
type Circle struct{ R float64 }

// Area is the circle's area.
func (c Circle) Area() float64 { return 3 * c.R * c.R }

// Drawing holds data behind an interface.
type Drawing struct{ Shapes []Shape }

// Content is a sealed interface, as sum types are written.
type Content interface{ isContent() }

// Text is a Content.
type Text struct{ Text string }

func (Text) isContent() {}

// Message holds data behind a sealed interface.
type Message struct {
	Role    string
	Content Content
}

// Upload has a reader among its data.
type Upload struct {
	Name string
	Size int64
	Body io.Reader
}

// Store is a dependency holder: an interface of methods with arguments,
// a logger and a mutex.
type Store struct {
	DB     *sql.DB
	Cache  map[string]string
	Logger *slog.Logger
	Hooks  []func(string)
}

type list struct {
	Value string
	Next  *list
}

func TestValuesThatAreNotData(t *testing.T) {
	t.Parallel()
	client := newLookalikeClient()
	tests := []struct {
		name string
		v    any
		want string
	}{
		// Clients, loggers, database handles: one placeholder.
		{"*http.Client", &http.Client{Timeout: time.Second}, `"<*http.Client>"`},
		{"http.Client", http.Client{}, `"<http.Client>"`},
		{"*http.Client nil", (*http.Client)(nil), `null`},
		{"*slog.Logger", slog.Default(), `"<*slog.Logger>"`},
		{"*log.Logger", log.Default(), `"<guarded:*log.Logger>"`}, // holds a lock: never read
		{"*sql.DB", &sql.DB{}, `"<guarded:*sql.DB>"`},
		{"*sql.Rows", &sql.Rows{}, `"<guarded:*sql.Rows>"`},
		{"*sql.Stmt", &sql.Stmt{}, `"<guarded:*sql.Stmt>"`},
		{"openai-like client", client, `"<jsonvalue.LookalikeClient>"`},
		{"*openai-like client", &client, `"<*jsonvalue.LookalikeClient>"`},
		{"service", client.Chat, `"<jsonvalue.ChatService>"`},
		{"func options", funcOptionsClient{BaseURL: "https://x", HTTPClient: http.DefaultClient}, `"<jsonvalue.funcOptionsClient>"`},
		{"variadic options", client.Options, `"<[]jsonvalue.RequestOption>"`},
		{"funcs", []func(){func() {}}, `"<[]func()>"`},
		{"handlers", map[string]http.Handler{"/": http.NotFoundHandler()}, `"<map[string]http.Handler>"`},
		{"context", context.Background(), `"<context.backgroundCtx>"`},
		{"store", Store{Logger: slog.Default()}, `"<jsonvalue.Store>"`},
		{"strings.Builder", strings.Builder{}, `"<strings.Builder>"`},

		// Data stays data, with what is not data inside as a placeholder.
		{"agent", Agent{Name: "support", Model: "gpt-5", Tools: []string{"lookup"}, Client: &client, Logger: slog.Default()},
			`{"Name":"support","Instructions":"","Model":"gpt-5","Tools":["lookup"],"Client":"<*jsonvalue.LookalikeClient>","Logger":"<*slog.Logger>"}`},
		{"order with unexported fields", Order{ID: "A-1", Items: []string{"x"}, Total: 2.5, dirty: true}, `{"ID":"A-1","Items":["x"],"Total":2.5}`},
		{"tool with a func", Tool{Name: "search", Description: "web"}, `{"Name":"search","Description":"web","Handler":null}`},
		{"data behind getters", Drawing{Shapes: []Shape{Circle{R: 1}}}, `{"Shapes":[{"R":1}]}`},
		{"shapes", []Shape{Circle{R: 2}}, `[{"R":2}]`},
		{"sealed interface", Message{Role: "user", Content: Text{Text: "hi"}}, `{"Role":"user","Content":{"Text":"hi"}}`},
		{"upload", Upload{Name: "a.txt", Size: 3}, `{"Name":"a.txt","Size":3,"Body":null}`},
		{"recursive data", &list{Value: "a", Next: &list{Value: "b"}}, `{"Value":"a","Next":{"Value":"b","Next":null}}`},
		{"http.Header", http.Header{"Accept": {"*/*"}}, `{"Accept":["*/*"]}`},
		{"url.Values", url.Values{"q": {"go"}}, `{"q":["go"]}`},
		{"time", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), `"2026-01-02T03:04:05Z"`},
		{"sql.NullString", sql.NullString{String: "x", Valid: true}, `{"String":"x","Valid":true}`},
		{"json.RawMessage", json.RawMessage(`{"a":1}`), `{"a":1}`},
		{"empty struct", struct{}{}, `{}`},
		{"any values", map[string]any{"f": func() {}, "n": 1}, `{"f":"<func()>","n":1}`},
		{"mutex-guarded data", &struct {
			mu    sync.Mutex
			Count int
		}{Count: 1}, `"<guarded:*struct { mu sync.Mutex; Count int }>"`},
	}
	for _, tt := range tests {
		if got := Marshal(tt.v, Options{}); got != tt.want {
			t.Errorf("%s:\n got %.300s\nwant %s", tt.name, got, tt.want)
		}
	}
}

// The openai-like client in a workflow's inputs stays small.
func TestClientInInputsIsSmall(t *testing.T) {
	t.Parallel()
	client := newLookalikeClient()
	got := Object([]string{"client", "question"}, []any{client, "why?"}, Options{})
	if want := `{"client":"<jsonvalue.LookalikeClient>","question":"why?"}`; got != want {
		t.Errorf("got %d bytes: %.200s\nwant %s", len(got), got, want)
	}
}

func BenchmarkMarshalClientHolder(b *testing.B) {
	client := newLookalikeClient()
	agent := Agent{Name: "support", Model: "gpt-5", Tools: []string{"lookup", "search"}, Client: &client, Logger: slog.Default()}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(Marshal(agent, Options{}))
	}
	b.ReportMetric(float64(n), "bytes")
}
