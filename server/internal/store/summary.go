package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// statusPartial is a trace's status while its root span has not arrived.
const statusPartial = "partial"

// summary is one row of the traces table: what the list shows of a trace.
type summary struct {
	traceID                 []byte
	startNs, endNs          int64
	rootSpanID              []byte
	rootStartNs             int64
	rootName, service       string
	status                  string
	spans, errors, llmCalls int64
	inputTokens, outputToks int64
	types                   []string // operations and span types, sorted
	receivedNs              int64
}

// add counts span r into the summary.
func (s *summary) add(r *spanRow) {
	if s.spans == 0 || r.startNs < s.startNs {
		s.startNs = r.startNs
	}
	s.endNs = max(s.endNs, r.endNs)
	s.receivedNs = max(s.receivedNs, r.receivedNs)
	s.spans++
	if r.failed {
		s.errors++
	}
	if r.llm {
		s.llmCalls++
	}
	s.inputTokens += r.inputTokens
	s.outputToks += r.outputTokens
	s.addType(r.operation)
	s.addType(r.spanType)
	if s.service == "" {
		s.service = r.serviceName
	}
	if r.parentID == nil && (s.rootSpanID == nil || r.startNs < s.rootStartNs) {
		s.rootSpanID, s.rootStartNs = r.spanID, r.startNs
		s.rootName, s.service, s.status = r.name, r.serviceName, r.status
	}
}

func (s *summary) addType(t string) {
	if t == "" {
		return
	}
	if i, found := slices.BinarySearch(s.types, t); !found {
		s.types = slices.Insert(s.types, i, t)
	}
}

// merge adds the counts of older, the trace's stored summary, to s.
func (s *summary) merge(old *summary) {
	s.startNs = min(s.startNs, old.startNs)
	s.endNs = max(s.endNs, old.endNs)
	s.receivedNs = max(s.receivedNs, old.receivedNs)
	s.spans += old.spans
	s.errors += old.errors
	s.llmCalls += old.llmCalls
	s.inputTokens += old.inputTokens
	s.outputToks += old.outputToks
	for _, t := range old.types {
		s.addType(t)
	}
	if old.rootSpanID != nil && (s.rootSpanID == nil || old.rootStartNs <= s.rootStartNs) {
		s.rootSpanID, s.rootStartNs = old.rootSpanID, old.rootStartNs
		s.rootName, s.service, s.status = old.rootName, old.service, old.status
	}
	if s.rootSpanID == nil && old.service != "" {
		s.service = old.service
	}
}

// typesColumn is the types as stored: " a b c ", so that LIKE '% a %'
// finds one.
func (s *summary) typesColumn() string { return " " + strings.Join(s.types, " ") + " " }

// mergeSummaries folds each trace's new spans into its stored summary.
func mergeSummaries(ctx context.Context, tx *sql.Tx, sums map[string]*summary) error {
	get, err := tx.PrepareContext(ctx, `SELECT start_ns, end_ns, root_span_id, root_start_ns, root_name,
		service_name, status, span_count, error_count, llm_calls, input_tokens, output_tokens, types, received_ns
		FROM traces WHERE trace_id = ?`)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer get.Close()
	put, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO traces (trace_id, start_ns, end_ns, root_span_id,
		root_start_ns, root_name, service_name, status, span_count, error_count, llm_calls, input_tokens,
		output_tokens, types, received_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer put.Close()
	for _, s := range sums {
		var old summary
		var types string
		err := get.QueryRowContext(ctx, s.traceID).Scan(&old.startNs, &old.endNs, &old.rootSpanID, &old.rootStartNs,
			&old.rootName, &old.service, &old.status, &old.spans, &old.errors, &old.llmCalls, &old.inputTokens,
			&old.outputToks, &types, &old.receivedNs)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("ingest: read trace summary: %w", err)
		default:
			old.types = strings.Fields(types)
			s.merge(&old)
		}
		status := s.status
		if s.rootSpanID == nil {
			status = statusPartial
		}
		_, err = put.ExecContext(ctx, s.traceID, s.startNs, s.endNs, s.rootSpanID, s.rootStartNs, s.rootName,
			s.service, status, s.spans, s.errors, s.llmCalls, s.inputTokens, s.outputToks, s.typesColumn(), s.receivedNs)
		if err != nil {
			return fmt.Errorf("ingest: store trace summary: %w", err)
		}
	}
	return nil
}
