package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/overmind-core/overmind-go/client"
)

// Project is the `project` of every span: a local server has one project,
// the nil UUID.
const Project = "00000000-0000-0000-0000-000000000000"

// TraceJSON appends to w the traces API's response for the trace (the
// shape of client.TraceRetrieveResponse) and reports whether the trace
// exists.
func (s *Store) TraceJSON(ctx context.Context, traceID []byte, w *bytes.Buffer) (bool, error) {
	resources, err := s.traceResources(ctx, traceID)
	if err != nil {
		return false, err
	}
	rows, err := s.read.QueryContext(ctx, `SELECT s.span_id, s.parent_span_id, s.name, s.kind, s.span_type,
		s.operation, s.start_ns, s.end_ns, s.status_code, s.status_message, s.attributes, s.events, s.links,
		s.resource_id, s.scope_name, s.scope_version, s.service_name, s.received_ns
		FROM spans s WHERE s.trace_id = ? ORDER BY s.start_ns, s.span_id`, traceID)
	if err != nil {
		return false, fmt.Errorf("read trace: %w", err)
	}
	defer rows.Close()
	idHex := hex.EncodeToString(traceID)
	var spans bytes.Buffer
	rootStart, rootEnd := -1, -1
	n := 0
	var c spanCols
	for rows.Next() {
		var resourceID int64
		if err := rows.Scan(&c.spanID, &c.parentID, &c.name, &c.kind, &c.spanType, &c.operation, &c.startNs,
			&c.endNs, &c.statusCode, &c.statusMessage, &c.attributes, &c.events, &c.links, &resourceID,
			&c.scopeName, &c.scopeVersion, &c.serviceName, &c.receivedNs); err != nil {
			return false, fmt.Errorf("read trace: %w", err)
		}
		if c.resourceAttrs = resources[resourceID]; c.resourceAttrs == nil {
			c.resourceAttrs = []byte("{}")
		}
		if c.receivedNs != c.receivedAtNs || c.receivedAt == "" {
			c.receivedAt, c.receivedAtNs = time.Unix(0, c.receivedNs).UTC().Format(time.RFC3339Nano), c.receivedNs
		}
		if n > 0 {
			spans.WriteByte(',')
		}
		start := spans.Len()
		c.writeJSON(&spans, idHex)
		if rootStart < 0 && c.parentID == nil {
			rootStart, rootEnd = start, spans.Len()
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("read trace: %w", err)
	}
	if n == 0 {
		return false, nil
	}
	w.Grow(spans.Len() + (rootEnd - rootStart) + 128)
	w.WriteString(`{"root":`)
	if rootStart >= 0 {
		w.Write(spans.Bytes()[rootStart:rootEnd])
	} else {
		w.WriteString("null")
	}
	w.WriteString(`,"span_count":`)
	w.WriteString(strconv.Itoa(n))
	w.WriteString(`,"spans":[`)
	w.Write(spans.Bytes())
	w.WriteString(`],"trace_id":"`)
	w.WriteString(idHex)
	w.WriteString("\"}")
	return true, nil
}

// traceResources returns the attributes of the resources of a trace's
// spans, by ID.
func (s *Store) traceResources(ctx context.Context, traceID []byte) (map[int64][]byte, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, attrs FROM resources
		WHERE id IN (SELECT DISTINCT resource_id FROM spans WHERE trace_id = ?)`, traceID)
	if err != nil {
		return nil, fmt.Errorf("read trace: resources: %w", err)
	}
	defer rows.Close()
	out := map[int64][]byte{}
	for rows.Next() {
		var id int64
		var attrs []byte
		if err := rows.Scan(&id, &attrs); err != nil {
			return nil, fmt.Errorf("read trace: resources: %w", err)
		}
		out[id] = attrs
	}
	return out, rows.Err()
}

// spanCols is one span as read back; the JSON columns are written out as
// they are.
type spanCols struct {
	spanID, parentID                     []byte
	name, spanType, operation            string
	kind, statusCode                     int64
	startNs, endNs, receivedNs           int64
	statusMessage                        string
	attributes, events, links            sql.RawBytes
	resourceAttrs                        []byte
	scopeName, scopeVersion, serviceName string
	receivedAt                           string // receivedAtNs, formatted
	receivedAtNs                         int64
}

// writeJSON writes the span as the API's Span object, keys in the order
// of the API's reference.
func (c *spanCols) writeJSON(b *bytes.Buffer, traceHex string) {
	str := func(key, v string) {
		b.WriteString(`,"` + key + `":`)
		writeString(b, v)
	}
	num := func(key string, v int64) {
		b.WriteString(`,"` + key + `":`)
		b.WriteString(strconv.FormatInt(v, 10))
	}
	raw := func(key string, v []byte) {
		b.WriteString(`,"` + key + `":`)
		b.Write(v)
	}
	b.WriteString(`{"agent":null`)
	raw("attributes", c.attributes)
	num("duration_ns", max(0, c.endNs-c.startNs))
	num("end_time_ns", c.endNs)
	raw("events", c.events)
	b.WriteString(`,"is_root":` + strconv.FormatBool(c.parentID == nil))
	b.WriteString(`,"iteration":null,"job":null`)
	num("kind", c.kind)
	raw("links", c.links)
	str("name", c.name)
	str("operation", c.operation)
	if c.parentID == nil {
		b.WriteString(`,"parent_span_id":null`)
	} else {
		str("parent_span_id", hex.EncodeToString(c.parentID))
	}
	str("project", Project)
	str("received_at", c.receivedAt)
	raw("resource_attrs", c.resourceAttrs)
	str("scope_name", c.scopeName)
	str("scope_version", c.scopeVersion)
	str("service_name", c.serviceName)
	str("span_id", hex.EncodeToString(c.spanID))
	str("span_type", c.spanType)
	num("start_time_ns", c.startNs)
	num("status_code", c.statusCode)
	str("status_message", c.statusMessage)
	str("trace_id", traceHex)
	b.WriteByte('}')
}

// ListQuery filters and pages List.
type ListQuery struct {
	Service, Status, SpanType, Text string
	// SinceNs and UntilNs bound the traces' start (Unix nanoseconds, 0
	// for no bound; UntilNs is exclusive).
	SinceNs, UntilNs int64
	Limit            int
	Cursor           string
}

// ErrBadCursor is returned by List for a cursor it did not make.
var ErrBadCursor = errors.New("malformed cursor")

// List returns the traces that match q, newest start first.
func (s *Store) List(ctx context.Context, q ListQuery) (*client.TraceList, error) {
	where, args := []string{"1"}, []any{}
	add := func(cond string, a ...any) { where, args = append(where, cond), append(args, a...) }
	if q.Service != "" {
		add("service_name = ?", q.Service)
	}
	switch q.Status {
	case "":
	case "error":
		add("error_count > 0")
	default:
		add("status = ?", q.Status)
	}
	if q.SpanType != "" {
		add("types LIKE ? ESCAPE '\\'", likePattern(" "+q.SpanType+" "))
	}
	if q.Text != "" {
		pat := likePattern(q.Text)
		add(`(root_name LIKE ? ESCAPE '\' OR service_name LIKE ? ESCAPE '\' OR lower(hex(trace_id)) = lower(?)
			OR EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = traces.trace_id
				AND (s.name LIKE ? ESCAPE '\' OR s.attributes LIKE ? ESCAPE '\')))`, pat, pat, q.Text, pat, pat)
	}
	if q.SinceNs > 0 {
		add("start_ns >= ?", q.SinceNs)
	}
	if q.UntilNs > 0 {
		add("start_ns < ?", q.UntilNs)
	}
	if q.Cursor != "" {
		start, id, err := parseCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		add("(start_ns < ? OR start_ns = ? AND trace_id < ?)", start, start, id)
	}
	limit := q.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	query := `SELECT trace_id, start_ns, end_ns, root_name, service_name, status, span_count, error_count,
		llm_calls, input_tokens, output_tokens FROM traces WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY start_ns DESC, trace_id DESC LIMIT ` + strconv.Itoa(limit+1)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list traces: %w", err)
	}
	defer rows.Close()
	list := &client.TraceList{Traces: []client.TraceSummary{}}
	var lastID []byte
	for rows.Next() {
		var t client.TraceSummary
		var id []byte
		if err := rows.Scan(&id, &t.StartTimeNs, &t.EndTimeNs, &t.RootName, &t.ServiceName, &t.Status,
			&t.SpanCount, &t.ErrorCount, &t.LLMCalls, &t.InputTokens, &t.OutputTokens); err != nil {
			return nil, fmt.Errorf("list traces: %w", err)
		}
		if len(list.Traces) == limit {
			last := list.Traces[limit-1]
			list.NextCursor = makeCursor(last.StartTimeNs, lastID)
			break
		}
		t.TraceID = hex.EncodeToString(id)
		t.DurationNs = max(0, t.EndTimeNs-t.StartTimeNs)
		list.Traces = append(list.Traces, t)
		lastID = id
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list traces: %w", err)
	}
	return list, nil
}

// makeCursor encodes the position after the trace (start, id).
func makeCursor(start int64, id []byte) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(start))
	return base64.RawURLEncoding.EncodeToString(append(b, id...))
}

func parseCursor(c string) (int64, []byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != 8+16 {
		return 0, nil, ErrBadCursor
	}
	return int64(binary.BigEndian.Uint64(b)), b[8:], nil
}

// Service is a service.name and how many traces it has.
type Service struct {
	Name   string `json:"name"`
	Traces int64  `json:"traces"`
}

// Services lists the services of the stored traces, by name.
func (s *Store) Services(ctx context.Context) ([]Service, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT service_name, count(*) FROM traces GROUP BY service_name ORDER BY service_name`)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	defer rows.Close()
	out := []Service{}
	for rows.Next() {
		var sv Service
		if err := rows.Scan(&sv.Name, &sv.Traces); err != nil {
			return nil, fmt.Errorf("list services: %w", err)
		}
		out = append(out, sv)
	}
	return out, rows.Err()
}
