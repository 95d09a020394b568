package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

// The fleet: each replica's heartbeat row (replicas) and its per-minute
// request activity (activity), written by the replica every few seconds in
// one transaction, so that /stats and the dashboard of any replica show
// the whole fleet. One replica's rows are written by that replica only.

// Heartbeat records r (its seen_at is now) and its activity minutes, in
// one transaction. A minute is written whole (its counts so far), so
// writing one again, or after a retry, changes nothing.
func (s *Store) Heartbeat(ctx context.Context, r catalog.Replica, act []catalog.Activity) error {
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO replicas (id, host, pid, addr, version, model, started_at, seen_at, feed_seq, feed_behind, index_vectors)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, addr = excluded.addr, version = excluded.version,
				model = excluded.model, seen_at = excluded.seen_at, feed_seq = excluded.feed_seq, feed_behind = excluded.feed_behind,
				index_vectors = excluded.index_vectors`,
			r.ID, r.Host, int64(r.PID), r.Addr, r.Version, r.Model, micros(r.StartedAt), micros(r.SeenAt), r.FeedSeq, r.FeedBehind, r.IndexVectors); err != nil {
			return fmt.Errorf("heartbeat: %w", err)
		}
		for _, a := range act {
			if _, err := tx.ExecContext(ctx, `INSERT INTO activity (replica_id, kind, minute, count, errors, sum_ms, max_ms, hist)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (replica_id, kind, minute) DO UPDATE SET count = excluded.count, errors = excluded.errors,
					sum_ms = excluded.sum_ms, max_ms = excluded.max_ms, hist = excluded.hist`,
				a.Replica, a.Kind, a.Minute.Minute, a.Count, a.Errors, a.SumMS, a.MaxMS, encodeHist(a.Hist[:])); err != nil {
				return fmt.Errorf("record activity: %w", err)
			}
		}
		return nil
	}, nil)
}

// Leave removes replica id's row (a replica stopping); its activity stays.
func (s *Store) Leave(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM replicas WHERE id = ?", id); err != nil {
			return fmt.Errorf("leave: %w", err)
		}
		return nil
	}, nil)
}

// Replicas returns every replica row (catalog.LiveReplicas tells which
// are live).
func (s *Store) Replicas(ctx context.Context) ([]catalog.Replica, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT id, host, pid, addr, version, model, started_at, seen_at, feed_seq, feed_behind, index_vectors FROM replicas`)
	if err != nil {
		return nil, s.note(fmt.Errorf("read replicas: %w", err))
	}
	defer rows.Close()
	var out []catalog.Replica
	for rows.Next() {
		var r catalog.Replica
		var pid, started, seen int64
		if err := rows.Scan(&r.ID, &r.Host, &pid, &r.Addr, &r.Version, &r.Model, &started, &seen, &r.FeedSeq, &r.FeedBehind, &r.IndexVectors); err != nil {
			return nil, s.note(fmt.Errorf("read replicas: %w", err))
		}
		r.PID, r.StartedAt, r.SeenAt = int(pid), fromMicros(started), fromMicros(seen)
		out = append(out, r)
	}
	return out, s.note(rows.Err())
}

// Activity returns the activity rows of every replica from minute since
// (a Unix minute) on.
func (s *Store) Activity(ctx context.Context, since int64) ([]catalog.Activity, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT replica_id, kind, minute, count, errors, sum_ms, max_ms, hist FROM activity WHERE minute >= ?`, since)
	if err != nil {
		return nil, s.note(fmt.Errorf("read activity: %w", err))
	}
	defer rows.Close()
	var out []catalog.Activity
	for rows.Next() {
		var a catalog.Activity
		var hist string
		if err := rows.Scan(&a.Replica, &a.Kind, &a.Minute.Minute, &a.Count, &a.Errors, &a.SumMS, &a.MaxMS, &hist); err != nil {
			return nil, s.note(fmt.Errorf("read activity: %w", err))
		}
		if err := decodeHist(hist, a.Hist[:]); err != nil {
			return nil, fmt.Errorf("read activity of %s: %w", a.Replica, err)
		}
		out = append(out, a)
	}
	return out, s.note(rows.Err())
}

// PruneFleet forgets replicas not seen since before and activity of
// minutes before it, and returns how many rows went.
func (s *Store) PruneFleet(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *wtx) error {
		n = 0
		for _, q := range []struct {
			sql string
			arg int64
		}{{"DELETE FROM replicas WHERE seen_at < ?", micros(before)}, {"DELETE FROM activity WHERE minute < ?", before.Unix() / 60}} {
			r, err := tx.ExecContext(ctx, q.sql, q.arg)
			if err != nil {
				return fmt.Errorf("prune fleet: %w", err)
			}
			m, _ := r.RowsAffected()
			n += m
		}
		return nil
	}, nil)
	return n, err
}

// FeedLag says how far a reader of the change feed that has applied every
// change up to after is behind: how many changes it has yet to read (at
// most limit are counted) and when the oldest of them was written (zero
// when there is none). Like Changes, it counts no further than the
// FeedHorizon.
func (s *Store) FeedLag(ctx context.Context, after int64, limit int) (behind int64, oldest time.Time, err error) {
	q := "SELECT seq, at FROM changes WHERE seq > ?"
	args := []any{after}
	if fh, ok := s.d.(FeedHorizon); ok {
		h, err := fh.FeedHorizon(ctx, s.d.Read())
		if err != nil {
			return 0, time.Time{}, s.note(fmt.Errorf("feed lag: %w", err))
		}
		q += " AND seq <= ?"
		args = append(args, h)
	}
	var at int64
	err = s.read().QueryRowContext(ctx, `SELECT count(*), coalesce(min(at), 0) FROM (`+q+` ORDER BY seq LIMIT ?) AS pending`, append(args, limit)...).Scan(&behind, &at)
	if err != nil {
		return 0, time.Time{}, s.note(fmt.Errorf("feed lag: %w", err))
	}
	if behind > 0 {
		oldest = fromMicros(at)
	}
	return behind, oldest, nil
}

// encodeHist is how a latency histogram is stored: its counts, comma-separated.
func encodeHist(h []int64) string {
	var b strings.Builder
	for i, n := range h {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(n, 10))
	}
	return b.String()
}

func decodeHist(s string, h []int64) error {
	parts := strings.Split(s, ",")
	if len(parts) != len(h) {
		return fmt.Errorf("latency histogram of %d buckets, want %d", len(parts), len(h))
	}
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return fmt.Errorf("latency histogram: %w", err)
		}
		h[i] = n
	}
	return nil
}
