// Package store keeps spans in an embedded SQLite database (the pure-Go
// modernc.org/sqlite, one file, write-ahead log) and answers the traces
// API's queries from it.
//
// Each Ingest is one transaction: when it returns nil the spans are
// committed, and a crash of the process afterwards loses none of them
// (synchronous=NORMAL in WAL mode survives a killed process; a power cut
// may lose the last transactions). Writes go through one connection,
// reads through a small pool that never waits for a write.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Memory is the path of a database that lives in memory only.
const Memory = ":memory:"

// Store is an open database.
type Store struct {
	write *sql.DB // one connection: writes are serialized
	read  *sql.DB // the same database, read-only connections

	mu        sync.Mutex
	resources map[[32]byte]int64 // committed resource IDs by hash
}

const schema = `
CREATE TABLE IF NOT EXISTS resources (
	id    INTEGER PRIMARY KEY,
	hash  BLOB NOT NULL UNIQUE,
	attrs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS spans (
	trace_id       BLOB NOT NULL,
	span_id        BLOB NOT NULL,
	parent_span_id BLOB,
	name           TEXT NOT NULL,
	kind           INTEGER NOT NULL,
	span_type      TEXT NOT NULL,
	operation      TEXT NOT NULL,
	start_ns       INTEGER NOT NULL,
	end_ns         INTEGER NOT NULL,
	status_code    INTEGER NOT NULL,
	status_message TEXT NOT NULL,
	attributes     TEXT NOT NULL,
	events         TEXT NOT NULL,
	links          TEXT NOT NULL,
	resource_id    INTEGER NOT NULL,
	scope_name     TEXT NOT NULL,
	scope_version  TEXT NOT NULL,
	service_name   TEXT NOT NULL,
	received_ns    INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS spans_id ON spans (trace_id, span_id);
CREATE TABLE IF NOT EXISTS traces (
	trace_id      BLOB PRIMARY KEY,
	start_ns      INTEGER NOT NULL,
	end_ns        INTEGER NOT NULL,
	root_span_id  BLOB,
	root_start_ns INTEGER NOT NULL,
	root_name     TEXT NOT NULL,
	service_name  TEXT NOT NULL,
	status        TEXT NOT NULL,
	span_count    INTEGER NOT NULL,
	error_count   INTEGER NOT NULL,
	llm_calls     INTEGER NOT NULL,
	input_tokens  INTEGER NOT NULL,
	output_tokens INTEGER NOT NULL,
	types         TEXT NOT NULL,
	received_ns   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS traces_start ON traces (start_ns DESC, trace_id DESC);
CREATE INDEX IF NOT EXISTS traces_received ON traces (received_ns);
`

// Open opens (creating if needed) the database at path, or an in-memory
// one for [Memory].
func Open(path string) (*Store, error) {
	s := &Store{resources: map[[32]byte]int64{}}
	if path == Memory {
		// Every connection to :memory: is a database of its own: use one.
		db, err := sql.Open("sqlite", "file:overmind?mode=memory&_pragma=foreign_keys(0)")
		if err != nil {
			return nil, fmt.Errorf("open in-memory database: %w", err)
		}
		db.SetMaxOpenConns(1)
		s.write, s.read = db, db
	} else {
		pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(0)"
		dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?"
		w, err := sql.Open("sqlite", dsn+pragmas+"&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		w.SetMaxOpenConns(1)
		r, err := sql.Open("sqlite", dsn+pragmas+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		r.SetMaxOpenConns(4)
		s.write, s.read = w, r
	}
	ctx := context.Background()
	// auto_vacuum takes effect only before the first table exists: it lets
	// retention give freed pages back to the file system.
	if _, err := s.write.ExecContext(ctx, "PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if _, err := s.write.ExecContext(ctx, schema); err != nil {
		s.Close()
		return nil, fmt.Errorf("open %s: create tables: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// IngestResult says what one Ingest stored.
type IngestResult struct {
	// Stored counts the spans written, Duplicates the spans the database
	// had already (an exporter's retry), Rejected the spans without a
	// valid trace or span ID.
	Stored, Duplicates, Rejected int64
	// Traces counts the traces that gained spans.
	Traces int
}

// Ingest stores the spans of an export request in one transaction,
// received at receivedNs (Unix nanoseconds). When it returns nil they are
// committed.
func (s *Store) Ingest(ctx context.Context, td *tracepb.TracesData, receivedNs int64) (IngestResult, error) {
	rows, rejected := rowsOf(td, receivedNs)
	res := IngestResult{Rejected: rejected}
	if len(rows) == 0 {
		return res, nil
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("ingest: begin: %w", err)
	}
	defer tx.Rollback()
	newResources := map[[32]byte]int64{}
	if err := s.resolveResources(ctx, tx, rows, newResources); err != nil {
		return res, err
	}
	summaries, err := insertSpans(ctx, tx, rows, &res)
	if err != nil {
		return res, err
	}
	if err := mergeSummaries(ctx, tx, summaries); err != nil {
		return res, err
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("ingest: commit: %w", err)
	}
	s.mu.Lock()
	for h, id := range newResources {
		s.resources[h] = id
	}
	s.mu.Unlock()
	res.Traces = len(summaries)
	return res, nil
}

// resolveResources finds or inserts the resource of every row, recording
// the IDs it inserted in added (known to the cache only once committed).
func (s *Store) resolveResources(ctx context.Context, tx *sql.Tx, rows []spanRow, added map[[32]byte]int64) error {
	for i := range rows {
		r := rows[i].resource
		if r.id != 0 {
			continue
		}
		h := [32]byte(r.hash)
		s.mu.Lock()
		id, ok := s.resources[h]
		s.mu.Unlock()
		if !ok {
			id, ok = added[h]
		}
		if !ok {
			err := tx.QueryRowContext(ctx,
				`INSERT INTO resources (hash, attrs) VALUES (?, ?)
				 ON CONFLICT (hash) DO UPDATE SET hash = excluded.hash RETURNING id`, r.hash, string(r.attrs)).Scan(&id)
			if err != nil {
				return fmt.Errorf("ingest: store resource: %w", err)
			}
			added[h] = id
		}
		r.id = id
	}
	return nil
}

// insertSpans inserts rows, skipping the spans already stored, and
// returns the summary of each trace's new spans.
func insertSpans(ctx context.Context, tx *sql.Tx, rows []spanRow, res *IngestResult) (map[string]*summary, error) {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO spans (trace_id, span_id, parent_span_id, name, kind, span_type,
		operation, start_ns, end_ns, status_code, status_message, attributes, events, links, resource_id,
		scope_name, scope_version, service_name, received_ns)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (trace_id, span_id) DO NOTHING`)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	defer stmt.Close()
	summaries := map[string]*summary{}
	for i := range rows {
		r := &rows[i]
		out, err := stmt.ExecContext(ctx, r.traceID, r.spanID, r.parentID, r.name, r.kind, r.spanType,
			r.operation, r.startNs, r.endNs, r.statusCode, r.statusMessage, string(r.attributes), string(r.events), string(r.links),
			r.resource.id, r.scopeName, r.scopeVersion, r.serviceName, r.receivedNs)
		if err != nil {
			return nil, fmt.Errorf("ingest: store span: %w", err)
		}
		if n, _ := out.RowsAffected(); n == 0 {
			res.Duplicates++
			continue
		}
		res.Stored++
		sum := summaries[string(r.traceID)]
		if sum == nil {
			sum = &summary{traceID: r.traceID}
			summaries[string(r.traceID)] = sum
		}
		sum.add(r)
	}
	return summaries, nil
}

// Size is the number of bytes the database's live pages take, which is
// what retention's size cap bounds (the file may keep freed pages until
// they are vacuumed).
func (s *Store) Size(ctx context.Context) (int64, error) {
	var pages, free, pageSize int64
	err := s.read.QueryRowContext(ctx, `SELECT page_count, freelist_count, page_size
		FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()`).Scan(&pages, &free, &pageSize)
	if err != nil {
		return 0, fmt.Errorf("database size: %w", err)
	}
	return (pages - free) * pageSize, nil
}

// Counts returns how many traces and spans are stored.
func (s *Store) Counts(ctx context.Context) (traces, spans int64, err error) {
	err = s.read.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(span_count), 0) FROM traces`).Scan(&traces, &spans)
	if err != nil {
		return 0, 0, fmt.Errorf("count traces: %w", err)
	}
	return traces, spans, nil
}

// likePattern is s as a LIKE pattern that matches it anywhere, with LIKE's
// wildcards escaped by \.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// Check runs SQLite's integrity check and returns its complaint, if any.
func (s *Store) Check(ctx context.Context) error {
	var result string
	if err := s.read.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&result); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if result != "ok" {
		return fmt.Errorf("integrity check: %s", result)
	}
	return nil
}
