package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

// The change feed: every transaction that changes a product's searchable
// state (ApplyEvent, Settle, ClaimProduct, a requeue or verify repair, a
// model switch) writes a row to changes, so that every process on the
// database can keep its in-memory index equal to the store: it tails the
// feed (Changes, woken by ChangesAvailable, polling as a fallback) and
// re-reads each changed product by key. A model switch writes one row with
// the zero key: every product may have changed.

const insertChange = "INSERT INTO changes (shop_id, product_id, at) VALUES (?, ?, ?) RETURNING seq"

// recordChange adds k to the feed in tx and returns its seq; the feed's
// readers in every process are woken once tx commits.
func recordChange(ctx context.Context, tx *wtx, k catalog.Key, now time.Time) (int64, error) {
	var seq int64
	if err := tx.QueryRowContext(ctx, insertChange, k.ShopID, string(k.ProductID), micros(now)).Scan(&seq); err != nil {
		return 0, fmt.Errorf("record change: %w", err)
	}
	return seq, tx.notify(ctx)
}

// recordChangeLater is recordChange with the row queued (wtx.queryRowLater):
// *seq is set by the time the write returns, for its after callback.
func recordChangeLater(ctx context.Context, tx *wtx, k catalog.Key, now time.Time, seq *int64) error {
	if err := tx.queryRowLater(ctx, []any{seq}, insertChange, k.ShopID, string(k.ProductID), micros(now)); err != nil {
		return fmt.Errorf("record change: %w", err)
	}
	return tx.notify(ctx)
}

// Changes returns up to limit changes after seq after, oldest first, and
// the seq to ask after next time (after itself when there are none). It
// never returns a change while one before it may still commit
// (FeedHorizon), so a reader that moves its cursor to next skips nothing.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]Change, int64, error) {
	q := "SELECT seq, shop_id, product_id, at FROM changes WHERE seq > ?"
	args := []any{after}
	if fh, ok := s.d.(FeedHorizon); ok {
		h, err := fh.FeedHorizon(ctx, s.d.Read())
		if err != nil {
			return nil, after, s.note(fmt.Errorf("read changes: %w", err))
		}
		q += " AND seq <= ?"
		args = append(args, h)
	}
	q += " ORDER BY seq LIMIT ?"
	args = append(args, limit)
	rows, err := s.read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, after, s.note(fmt.Errorf("read changes: %w", err))
	}
	defer rows.Close()
	var out []Change
	next := after
	for rows.Next() {
		var c Change
		var at int64
		if err := rows.Scan(&c.Seq, &c.Key.ShopID, &c.Key.ProductID, &at); err != nil {
			return nil, after, s.note(fmt.Errorf("read changes: %w", err))
		}
		c.At = fromMicros(at)
		out = append(out, c)
		next = c.Seq
	}
	if err := rows.Err(); err != nil {
		return nil, after, s.note(fmt.Errorf("read changes: %w", err))
	}
	return out, next, nil
}

// LastChange is the seq of the newest change (0 when there is none), or
// the FeedHorizon when that is lower (a transaction still running may yet
// commit a change below the newest one): a reader that loads the whole
// catalogue first tails the feed from here, and at worst reads a few
// changes again.
func (s *Store) LastChange(ctx context.Context) (int64, error) {
	h := int64(math.MaxInt64)
	if fh, ok := s.d.(FeedHorizon); ok { // first: what was final before the newest is read
		var err error
		if h, err = fh.FeedHorizon(ctx, s.d.Read()); err != nil {
			return 0, s.note(fmt.Errorf("read changes: %w", err))
		}
	}
	var seq int64
	if err := s.read().QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM changes").Scan(&seq); err != nil {
		return 0, s.note(fmt.Errorf("read changes: %w", err))
	}
	return min(seq, h), nil
}

// PruneChanges forgets changes written before t (every reader has passed
// them: they re-read the catalogue at start).
func (s *Store) PruneChanges(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *wtx) error {
		r, err := tx.ExecContext(ctx, "DELETE FROM changes WHERE at < ?", micros(before))
		if err != nil {
			return fmt.Errorf("prune changes: %w", err)
		}
		n, _ = r.RowsAffected()
		return nil
	}, nil)
	return n, err
}

// ChangesAvailable is signalled (without blocking) when changes may have
// been committed, by this process or (where the driver can tell) another.
func (s *Store) ChangesAvailable() <-chan struct{} { return s.changesCh }

// fanout hands each of the driver's wake-ups to both the job workers and
// the feed's reader.
func (s *Store) fanout() {
	defer close(s.fanoutDone)
	for {
		select {
		case <-s.quit:
			return
		case <-s.d.Wake():
			for _, ch := range []chan struct{}{s.jobsCh, s.changesCh} {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}
}

// ErrLeadershipLost is the cause of a leadership context (TryLeader) that
// ended because the lock was lost (its connection failed): another process
// may be leader now.
var ErrLeadershipLost = errors.New("leadership lost: the connection holding the leader lock failed")

// TryLeader takes the named fleet-wide lock if it is free (Driver.TryLeader):
// work that must run once in the fleet (housekeeping, the model switch) runs
// only while holding it, under lctx: a context derived from ctx that also
// ends when the lock is lost (context.Cause says why) or released, so that
// a pass in progress stops once another process may be leader.
func (s *Store) TryLeader(ctx context.Context, name string) (lctx context.Context, release func(), ok bool, err error) {
	held, rel, ok, err := s.d.TryLeader(ctx, name)
	if err != nil || !ok {
		return nil, nil, false, s.note(err)
	}
	lctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(held, func() { cancel(context.Cause(held)) })
	return lctx, func() {
		stop()
		rel()
		cancel(context.Canceled)
	}, true, nil
}
