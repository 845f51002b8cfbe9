// Package server is `overmind serve`: one process, one port, that receives
// OpenTelemetry traces over OTLP/HTTP (protobuf or JSON, gzipped or not) on
// /v1/traces and /api/v1/traces, keeps them in an embedded SQLite file,
// answers the Overmind traces API (GET /api/traces/{trace_id}/) and a list
// endpoint, and serves a page at / that shows LLM traces as a waterfall,
// a tree and chats.
//
// The runtime never imports this package.
package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/overmind-core/overmind-go/server/internal/otlpin"
	"github.com/overmind-core/overmind-go/server/internal/store"
)

// DefaultMaxBodyBytes is the largest request body, before and after
// decompression.
const DefaultMaxBodyBytes = 32 << 20

// Config configures a Server.
type Config struct {
	// DB is the database file, or store.Memory (":memory:").
	DB string
	// APIKey, when set, is required of every request: as the X-Api-Key
	// header, an "Authorization: Bearer" header, or the cookie the page
	// sets when opened as /?api_key=KEY.
	APIKey string
	// Retain deletes traces whose last span arrived longer ago (0 keeps
	// them); MaxDBBytes deletes the oldest traces while the database is
	// larger (0 for no cap).
	Retain     time.Duration
	MaxDBBytes int64
	// MaxBodyBytes bounds request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Log receives errors the server meets; nil discards them.
	Log *log.Logger
}

// Server serves the API and the page over one store.
type Server struct {
	cfg   Config
	store *store.Store
	hub   *hub
	mux   *http.ServeMux
}

// New opens the database and returns a server; Close it when done.
func New(cfg Config) (*Server, error) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Log == nil {
		cfg.Log = log.New(io.Discard, "", 0)
	}
	st, err := store.Open(cfg.DB)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, store: st, hub: newHub(), mux: http.NewServeMux()}
	s.routes()
	return s, nil
}

// Close stops the live feeds and closes the database.
func (s *Server) Close() error {
	s.hub.close()
	return s.store.Close()
}

// CloseFeeds ends the page's live feeds (server-sent events), so that an
// http.Server's Shutdown does not wait for them.
func (s *Server) CloseFeeds() { s.hub.close() }

func (s *Server) routes() {
	s.mux.HandleFunc("POST /v1/traces", s.ingest)
	s.mux.HandleFunc("POST /api/v1/traces", s.ingest)
	for _, path := range []string{"/v1/traces", "/api/v1/traces"} {
		s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "OTLP/HTTP exports are POSTed; "+r.Method+" "+r.URL.Path+" is not")
		})
	}
	s.mux.HandleFunc("GET /api/traces/{$}", s.list)
	s.mux.HandleFunc("GET /api/traces/{id}/{$}", s.trace)
	s.mux.HandleFunc("GET /api/traces/{id}", s.trace)
	s.mux.HandleFunc("GET /api/services/{$}", s.services)
	s.mux.HandleFunc("GET /api/events", s.events)
	s.mux.HandleFunc("GET /api/health", s.health)
	s.mux.HandleFunc("GET /{$}", s.page)
	s.mux.Handle("GET /assets/", assetHandler())
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
}

// ServeHTTP checks the request's key and host, then routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.cfg.Log.Printf("panic serving %s %s: %v", r.Method, r.URL.Path, v)
			writeError(w, http.StatusInternalServerError, "internal error")
		}
	}()
	if s.cfg.APIKey == "" {
		if !loopbackHost(r.Host) {
			// A page elsewhere that resolves its own name to 127.0.0.1
			// (DNS rebinding) must not read the traces.
			writeError(w, http.StatusForbidden, "Host "+r.Host+" is not this machine; start the server with -api-key to accept other names")
			return
		}
	} else if !s.authorized(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// authorized checks the request's API key, and lets /?api_key=KEY set it
// as a cookie so that the page (and its live feed) works in a browser.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if k := r.URL.Query().Get("api_key"); r.URL.Path == "/" && k != "" && s.keyMatches(k) {
		http.SetCookie(w, &http.Cookie{Name: keyCookie, Value: k, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return false
	}
	key := r.Header.Get("X-Api-Key")
	if key == "" {
		key, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	if key == "" {
		if c, err := r.Cookie(keyCookie); err == nil {
			key = c.Value
		}
	}
	if key == "" || !s.keyMatches(key) {
		writeError(w, http.StatusUnauthorized, "missing or wrong X-Api-Key (this server was started with -api-key)")
		return false
	}
	return true
}

const keyCookie = "overmind_api_key"

func (s *Server) keyMatches(k string) bool {
	return subtle.ConstantTimeCompare([]byte(k), []byte(s.cfg.APIKey)) == 1
}

// loopbackHost reports whether a Host header names this machine.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ingest receives one OTLP/HTTP export request and answers 200 once its
// spans are committed.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	enc, err := otlpin.ContentEncoding(r.Header.Get("Content-Type"))
	if err != nil {
		writeError(w, http.StatusUnsupportedMediaType, err.Error())
		return
	}
	td, err := otlpin.Decode(r.Body, r.Header.Get("Content-Encoding"), enc, s.cfg.MaxBodyBytes)
	if err != nil {
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, otlpin.ErrTooLarge):
			status = http.StatusRequestEntityTooLarge
		case errors.Is(err, otlpin.ErrMediaType):
			status = http.StatusUnsupportedMediaType
		}
		writeStatus(w, enc, status, err.Error())
		return
	}
	res, err := s.store.Ingest(r.Context(), td, time.Now().UnixNano())
	if err != nil {
		s.cfg.Log.Printf("ingest: %v", err)
		writeStatus(w, enc, http.StatusServiceUnavailable, "spans not stored: "+err.Error())
		return
	}
	if res.Stored > 0 {
		s.hub.notify()
	}
	msg := ""
	if res.Rejected > 0 {
		msg = fmt.Sprintf("%d spans without a valid trace or span ID were rejected", res.Rejected)
	}
	w.Header().Set("Content-Type", contentType(enc))
	w.WriteHeader(http.StatusOK)
	w.Write(otlpin.Response(enc, res.Rejected, msg))
}

func contentType(enc otlpin.Encoding) string {
	if enc == otlpin.JSON {
		return "application/json"
	}
	return "application/x-protobuf"
}

// writeStatus answers an export request with an error in its own format,
// as OTLP/HTTP asks: exporters decode and log the message.
func writeStatus(w http.ResponseWriter, enc otlpin.Encoding, status int, msg string) {
	code := 3 // INVALID_ARGUMENT
	switch status {
	case http.StatusServiceUnavailable:
		code = 14 // UNAVAILABLE: the exporter retries
		w.Header().Set("Retry-After", "1")
	case http.StatusRequestEntityTooLarge:
		code = 8 // RESOURCE_EXHAUSTED
	}
	w.Header().Set("Content-Type", contentType(enc))
	w.WriteHeader(status)
	w.Write(otlpin.Status(enc, code, msg))
}

// trace answers GET /api/traces/{trace_id}/.
func (s *Server) trace(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("id")
	id, err := hex.DecodeString(raw)
	if err != nil || len(id) != 16 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("malformed trace_id %q: want 32 hex digits", raw))
		return
	}
	var b bytes.Buffer
	found, err := s.store.TraceJSON(r.Context(), id, &b)
	if err != nil {
		s.cfg.Log.Printf("trace %s: %v", raw, err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, "trace "+strings.ToLower(raw)+" not found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.Write(b.Bytes())
}

// list answers GET /api/traces/?service=&status=&span_type=&q=&since=&until=&limit=&cursor=.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lq := store.ListQuery{
		Service: q.Get("service"), Status: q.Get("status"), SpanType: q.Get("span_type"),
		Text: q.Get("q"), Cursor: q.Get("cursor"),
	}
	var err error
	if lq.SinceNs, err = parseTime(q.Get("since")); err != nil {
		writeError(w, http.StatusBadRequest, "since: "+err.Error())
		return
	}
	if lq.UntilNs, err = parseTime(q.Get("until")); err != nil {
		writeError(w, http.StatusBadRequest, "until: "+err.Error())
		return
	}
	if l := q.Get("limit"); l != "" {
		if lq.Limit, err = strconv.Atoi(l); err != nil || lq.Limit < 1 {
			writeError(w, http.StatusBadRequest, "limit: want a positive number, got "+strconv.Quote(l))
			return
		}
	}
	list, err := s.store.List(r.Context(), lq)
	if errors.Is(err, store.ErrBadCursor) {
		writeError(w, http.StatusBadRequest, "cursor: "+err.Error())
		return
	}
	if err != nil {
		s.cfg.Log.Printf("list: %v", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, list)
}

// parseTime reads a time bound: RFC 3339, or Unix nanoseconds.
func parseTime(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return 0, fmt.Errorf("want RFC 3339 (2006-01-02T15:04:05Z) or Unix nanoseconds, got %q", v)
	}
	return t.UnixNano(), nil
}

func (s *Server) services(w http.ResponseWriter, r *http.Request) {
	svcs, err := s.store.Services(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, map[string]any{"services": svcs})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	traces, spans, err := s.store.Counts(r.Context())
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	size, _ := s.store.Size(r.Context())
	writeJSON(w, map[string]any{"traces": traces, "spans": spans, "db_bytes": size})
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// writeError answers {"error": msg} with status.
func writeError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}

// Retain applies the retention settings once.
func (s *Server) Retain(ctx context.Context) (int64, error) {
	var cutoff int64
	if s.cfg.Retain > 0 {
		cutoff = time.Now().Add(-s.cfg.Retain).UnixNano()
	}
	if cutoff == 0 && s.cfg.MaxDBBytes == 0 {
		return 0, nil
	}
	return s.store.Retain(ctx, cutoff, s.cfg.MaxDBBytes)
}
