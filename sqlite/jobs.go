package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

// Job is a claimed reindex job.
type Job = catalog.Job

// upsertJob makes sure the product has a job. With reset, an existing job is
// re-armed for the new generation (a running one finishes as stale); without
// it an existing job is left as it is.
func upsertJob(ctx context.Context, tx *sql.Tx, k catalog.Key, gen int64, now time.Time, reset bool) error {
	q := `INSERT INTO jobs (shop_id, product_id, generation, state, attempt, run_at, last_error, created_at, updated_at)
		VALUES (?, ?, ?, 'available', 0, ?, '', ?, ?)
		ON CONFLICT (shop_id, product_id) DO `
	if reset {
		q += `UPDATE SET generation = excluded.generation, state = 'available', attempt = 0,
			run_at = excluded.run_at, lease_until = NULL, last_error = '', transient = 0, updated_at = excluded.updated_at`
	} else {
		q += `NOTHING`
	}
	if _, err := tx.ExecContext(ctx, q, k.ShopID, k.ProductID, gen, micros(now), micros(now), micros(now)); err != nil {
		return fmt.Errorf("enqueue reindex: %w", err)
	}
	return nil
}

// storedJob reads the state of a product's job row (JobNone when it has none).
func storedJob(ctx context.Context, tx *sql.Tx, k catalog.Key) (catalog.StoredJob, error) {
	var j catalog.StoredJob
	err := tx.QueryRowContext(ctx, "SELECT state, transient FROM jobs WHERE shop_id = ? AND product_id = ?", k.ShopID, k.ProductID).
		Scan(&j.State, &j.Transient)
	if errors.Is(err, sql.ErrNoRows) {
		return catalog.StoredJob{}, nil
	}
	if err != nil {
		return j, fmt.Errorf("read job: %w", err)
	}
	return j, nil
}

// Claim takes the next due job (or one whose lease expired) and leases it
// until now+lease. It returns nil when nothing is due.
func (s *Store) Claim(ctx context.Context, now time.Time, lease time.Duration) (*Job, error) {
	var job *Job
	err := s.write(ctx, func(tx *sql.Tx) error {
		job = nil
		row := tx.QueryRowContext(ctx, `UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_until = ?, updated_at = ?
			WHERE id = (SELECT id FROM jobs
				WHERE (state = 'available' AND run_at <= ?) OR (state = 'running' AND lease_until < ?)
				ORDER BY run_at LIMIT 1)
			RETURNING id, shop_id, product_id, generation, attempt`,
			micros(now.Add(lease)), micros(now), micros(now), micros(now))
		var j Job
		if err := row.Scan(&j.ID, &j.Key.ShopID, &j.Key.ProductID, &j.Generation, &j.Attempt); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			return fmt.Errorf("claim job: %w", err)
		}
		if err := tx.QueryRowContext(ctx, "SELECT image_url FROM products WHERE shop_id = ? AND product_id = ?",
			j.Key.ShopID, j.Key.ProductID).Scan(&j.ImageURL); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("claim job: %w", err)
		}
		job = &j
		return nil
	}, nil)
	return job, err
}

// ExpireLeases makes every running job due now. Call it at start, while
// holding the data directory's lock: no other process can be running
// them, so their leases belong to a process that died (or to the server a
// backup was taken from).
func (s *Store) ExpireLeases(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, "UPDATE jobs SET lease_until = ? WHERE state = 'running' AND lease_until >= ?", micros(now)-1, micros(now))
		if err != nil {
			return fmt.Errorf("expire leases: %w", err)
		}
		n, _ = r.RowsAffected()
		return nil
	}, nil)
	return n, err
}

// ClaimProduct starts a reindex of one product now, whatever its state: it
// bumps the product's generation and leases its job to the caller (so the
// background workers leave it alone). ErrNotFound for unknown or deleted
// products.
func (s *Store) ClaimProduct(ctx context.Context, k catalog.Key, now time.Time, lease time.Duration) (*Job, error) {
	var job *Job
	var p catalog.Product
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = getProduct(ctx, tx, k)
		if err != nil {
			return err
		}
		if p.DeletedAt != nil {
			return ErrNotFound
		}
		if p.ImageURL == "" {
			job = &Job{Key: k, Generation: p.Generation}
			return nil
		}
		p.Generation++
		p.IndexState, p.IndexError = catalog.StatePending, ""
		if err := putProduct(ctx, tx, &p); err != nil {
			return err
		}
		if err := upsertJob(ctx, tx, k, p.Generation, now, true); err != nil {
			return err
		}
		var j Job
		if err := tx.QueryRowContext(ctx, `UPDATE jobs SET state = 'running', attempt = 1, lease_until = ?
			WHERE shop_id = ? AND product_id = ? RETURNING id`, micros(now.Add(lease)), k.ShopID, k.ProductID).Scan(&j.ID); err != nil {
			return fmt.Errorf("claim job: %w", err)
		}
		j.Key, j.Generation, j.Attempt, j.ImageURL = k, p.Generation, 1, p.ImageURL
		job = &j
		return nil
	}, func() {
		if s.hook != nil && job != nil && job.ID != 0 {
			s.hook(p, nil) // the old vector is no longer current
		}
	})
	return job, err
}

// ErrStale is returned by Complete when the product changed (new image,
// deleted) while the job ran; the result was discarded.
var ErrStale = catalog.ErrStale

// Complete records a job's vector: the embedding (deduplicated by image hash
// and model), the product's index state, and removes the job.
func (s *Store) Complete(ctx context.Context, j *Job, sha, model string, vec []float32, now time.Time) error {
	var p catalog.Product
	stale, otherModel := false, false
	err := s.write(ctx, func(tx *sql.Tx) error {
		stale, otherModel = false, false
		if s.modelOK != nil && !s.modelOK(model) {
			otherModel = true // the job stays leased; the caller puts it back
			return nil
		}
		var err error
		p, err = getProduct(ctx, tx, j.Key)
		if errors.Is(err, ErrNotFound) || err == nil && (p.Generation != j.Generation || p.DeletedAt != nil) {
			stale = true
			_, err := tx.ExecContext(ctx, "DELETE FROM jobs WHERE id = ? AND generation = ?", j.ID, j.Generation)
			return err
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO embeddings (image_sha256, model, dim, vector, created_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, sha, model, len(vec), encodeVector(vec), micros(now)); err != nil {
			return fmt.Errorf("store vector: %w", err)
		}
		t := now.UTC().Truncate(time.Microsecond)
		p.IndexState, p.IndexError, p.IndexedAt, p.ImageSHA256, p.Model = catalog.StateIndexed, "", &t, sha, model
		if err := putProduct(ctx, tx, &p); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM jobs WHERE id = ? AND generation = ?", j.ID, j.Generation); err != nil {
			return fmt.Errorf("finish job: %w", err)
		}
		return nil
	}, func() {
		if !stale && !otherModel && s.hook != nil {
			s.hook(p, vec)
		}
	})
	switch {
	case err != nil:
		return err
	case otherModel:
		return catalog.ErrModelChanged
	case stale:
		return ErrStale
	}
	return nil
}

// Retry puts a job back for another attempt at runAt, recording why the
// last one failed. The product stays pending.
func (s *Store) Retry(ctx context.Context, j *Job, reason string, runAt, now time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'available', run_at = ?, lease_until = NULL, last_error = ?, updated_at = ?
			WHERE id = ? AND generation = ?`, micros(runAt), reason, micros(now), j.ID, j.Generation)
		if err != nil {
			return fmt.Errorf("retry job: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // superseded
		}
		_, err = tx.ExecContext(ctx, `UPDATE products SET index_error = ? WHERE shop_id = ? AND product_id = ? AND generation = ?`,
			reason, j.Key.ShopID, j.Key.ProductID, j.Generation)
		return err
	}, nil)
	s.signal()
	return err
}

// Fail ends a job for good: the job is kept as failed (dead letter) with its
// reason, and the product's index state becomes failed. transient says the
// last error was a temporary one that ran out of attempts; a repeated event
// for the same image then tries again (catalog.PlanUpsert).
func (s *Store) Fail(ctx context.Context, j *Job, reason string, transient bool, now time.Time) error {
	var p catalog.Product
	changed := false
	err := s.write(ctx, func(tx *sql.Tx) error {
		changed = false
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'failed', lease_until = NULL, last_error = ?, transient = ?, updated_at = ?
			WHERE id = ? AND generation = ?`, reason, transient, micros(now), j.ID, j.Generation)
		if err != nil {
			return fmt.Errorf("fail job: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 && j.ID != 0 {
			return nil // superseded
		}
		p, err = getProduct(ctx, tx, j.Key)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if p.Generation != j.Generation || p.DeletedAt != nil {
			return nil
		}
		p.IndexState, p.IndexError, p.ImageSHA256, p.Model, p.IndexedAt = catalog.StateFailed, reason, "", "", nil
		changed = true
		return putProduct(ctx, tx, &p)
	}, func() {
		if changed && s.hook != nil {
			s.hook(p, nil)
		}
	})
	return err
}

// Embedding returns the stored vector for an image hash and model.
func (s *Store) Embedding(ctx context.Context, sha, model string) ([]float32, bool, error) {
	var blob []byte
	err := s.r.QueryRowContext(ctx, "SELECT vector FROM embeddings WHERE image_sha256 = ? AND model = ?", sha, model).Scan(&blob)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.note(fmt.Errorf("get vector: %w", err))
	}
	v, err := decodeVector(blob)
	return v, err == nil, err
}

// LoadIndex calls fn for every live product that has a current vector of
// the given model, in no particular order.
func (s *Store) LoadIndex(ctx context.Context, model string, fn func(p catalog.Product, vec []float32) error) error {
	rows, err := s.r.QueryContext(ctx, "SELECT "+prefixed("p.", productColumns)+`, e.vector
		FROM products p JOIN embeddings e ON e.image_sha256 = p.image_sha256 AND e.model = p.model
		WHERE p.deleted_at IS NULL AND p.index_state = 'indexed' AND p.model = ?`, model)
	if err != nil {
		return s.note(fmt.Errorf("load index: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var blob []byte
		p, err := scanProduct(scanPlus{rows, []any{&blob}})
		if err != nil {
			return s.note(fmt.Errorf("load index: %w", err))
		}
		vec, err := decodeVector(blob)
		if err != nil {
			return s.note(fmt.Errorf("load index: product %d/%s: %w", p.ShopID, p.ProductID, err))
		}
		if err := fn(p, vec); err != nil {
			return err
		}
	}
	return s.note(rows.Err())
}

// scanPlus appends extra destinations to a row scan.
type scanPlus struct {
	rows  *sql.Rows
	extra []any
}

func (s scanPlus) Scan(dest ...any) error { return s.rows.Scan(append(dest, s.extra...)...) }

// Stats counts products, current vectors of model and jobs.
func (s *Store) Stats(ctx context.Context, model string) (Stats, error) {
	var st Stats
	err := s.r.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM products WHERE deleted_at IS NULL AND index_state = 'indexed' AND model = ?),
		(SELECT count(*) FROM products WHERE deleted_at IS NULL),
		(SELECT count(*) FROM products WHERE deleted_at IS NOT NULL),
		(SELECT count(*) FROM jobs WHERE state = 'available'),
		(SELECT count(*) FROM jobs WHERE state = 'running'),
		(SELECT count(*) FROM jobs WHERE state = 'failed')`, model).
		Scan(&st.Vectors, &st.ActiveProducts, &st.Deleted, &st.Pending, &st.Running, &st.Failed)
	if err != nil {
		return st, s.note(fmt.Errorf("stats: %w", err))
	}
	return st, nil
}

func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func decodeVector(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("vector blob of %d bytes is not float32s", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

func prefixed(prefix, cols string) string {
	fields := strings.Split(cols, ",")
	for i, f := range fields {
		fields[i] = prefix + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}
