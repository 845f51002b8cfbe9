package store

import (
	"context"
	"fmt"
)

// retainChunk is the most traces one retention transaction deletes, so
// that ingest never waits long behind it.
const retainChunk = 500

// Retain deletes the traces that last received a span before cutoffNs
// (Unix nanoseconds; 0 keeps every age), then, while the database's live
// pages take more than maxBytes (0 for no cap), the oldest traces, and
// returns the number of traces deleted. Freed pages go back to the file
// system.
func (s *Store) Retain(ctx context.Context, cutoffNs, maxBytes int64) (int64, error) {
	var deleted int64
	if cutoffNs > 0 {
		for {
			n, err := s.deleteOldest(ctx, cutoffNs, retainChunk)
			deleted += n
			if err != nil {
				return deleted, err
			}
			if n < retainChunk {
				break
			}
		}
	}
	if maxBytes > 0 {
		for {
			size, err := s.Size(ctx)
			if err != nil {
				return deleted, err
			}
			if size <= maxBytes {
				break
			}
			traces, _, err := s.Counts(ctx)
			if err != nil {
				return deleted, err
			}
			// A twentieth of the traces at a time, and a few more than the
			// excess at least, so the cap is met in a handful of rounds.
			n, err := s.deleteOldest(ctx, 0, max(1, min(retainChunk, traces/20)))
			deleted += n
			if err != nil {
				return deleted, err
			}
			if n == 0 {
				break
			}
		}
	}
	if deleted > 0 {
		if _, err := s.write.ExecContext(ctx, "PRAGMA incremental_vacuum"); err != nil {
			return deleted, fmt.Errorf("retention: vacuum: %w", err)
		}
	}
	return deleted, nil
}

// deleteOldest deletes up to limit traces, oldest received first, that
// last received a span before cutoffNs (any, for 0).
func (s *Store) deleteOldest(ctx context.Context, cutoffNs int64, limit int64) (int64, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("retention: begin: %w", err)
	}
	defer tx.Rollback()
	query := `SELECT trace_id FROM traces ORDER BY received_ns LIMIT ?`
	args := []any{limit}
	if cutoffNs > 0 {
		query = `SELECT trace_id FROM traces WHERE received_ns < ? ORDER BY received_ns LIMIT ?`
		args = []any{cutoffNs, limit}
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("retention: %w", err)
	}
	var ids [][]byte
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("retention: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("retention: %w", err)
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `DELETE FROM spans WHERE trace_id = ?`, id); err != nil {
			return 0, fmt.Errorf("retention: delete spans: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM traces WHERE trace_id = ?`, id); err != nil {
			return 0, fmt.Errorf("retention: delete trace: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("retention: commit: %w", err)
	}
	return int64(len(ids)), nil
}
