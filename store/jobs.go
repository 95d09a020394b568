package store

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
func upsertJob(ctx context.Context, tx *wtx, k catalog.Key, gen int64, now time.Time, reset bool) error {
	q := `INSERT INTO jobs (shop_id, product_id, generation, state, attempt, run_at, last_error, created_at, updated_at)
		VALUES (?, ?, ?, 'available', 0, ?, '', ?, ?)
		ON CONFLICT (shop_id, product_id) DO `
	if reset {
		q += `UPDATE SET generation = excluded.generation, state = 'available', attempt = 0,
			run_at = excluded.run_at, lease_until = NULL, last_error = '', transient = 0, updated_at = excluded.updated_at`
	} else {
		q += `NOTHING`
	}
	if err := tx.execLater(ctx, q, k.ShopID, k.ProductID, gen, micros(now), micros(now), micros(now)); err != nil {
		return fmt.Errorf("enqueue reindex: %w", err)
	}
	return nil
}

// applyJobOp does what a decision says to the product's job.
func applyJobOp(ctx context.Context, tx *wtx, k catalog.Key, op catalog.JobOp, gen int64, now time.Time) error {
	switch op {
	case catalog.JobEnsure, catalog.JobReset:
		return upsertJob(ctx, tx, k, gen, now, op == catalog.JobReset)
	case catalog.JobDrop:
		if err := tx.execLater(ctx, "DELETE FROM jobs WHERE shop_id = ? AND product_id = ?", k.ShopID, k.ProductID); err != nil {
			return fmt.Errorf("drop job: %w", err)
		}
	}
	return nil
}

// markPending resets a product to pending (catalog.MarkPending), stores it,
// re-arms its job and records the change; it returns the change's seq, 0
// when the product has no photos (nothing stored).
func markPending(ctx context.Context, tx *wtx, p *catalog.Product, now time.Time) (int64, error) {
	if !catalog.MarkPending(p) {
		return 0, nil
	}
	if err := putProduct(ctx, tx, p); err != nil {
		return 0, err
	}
	if err := upsertJob(ctx, tx, p.Key, p.Generation, now, true); err != nil {
		return 0, err
	}
	return recordChange(ctx, tx, p.Key, now)
}

// Claim takes the next due job (or one whose lease expired) and leases it
// until now+lease. It returns nil when nothing is due.
func (s *Store) Claim(ctx context.Context, now time.Time, lease time.Duration) (*Job, error) {
	var job *Job
	err := s.write(ctx, func(tx *wtx) error {
		job = nil
		row := tx.QueryRowContext(ctx, `UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_until = ?, updated_at = ?
			WHERE id = (SELECT id FROM jobs
				WHERE (state = 'available' AND run_at <= ?) OR (state = 'running' AND lease_until < ?)
				ORDER BY run_at LIMIT 1 `+s.d.SkipLocked()+`)
			RETURNING id, shop_id, product_id, generation, attempt`,
			micros(now.Add(lease)), micros(now), micros(now), micros(now))
		var j Job
		if err := row.Scan(&j.ID, &j.Key.ShopID, &j.Key.ProductID, &j.Generation, &j.Attempt); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			return fmt.Errorf("claim job: %w", err)
		}
		photos, err := loadPhotos(ctx, tx, j.Key)
		if err != nil {
			return fmt.Errorf("claim job: %w", err)
		}
		j.Photos = catalog.PendingPhotos(photos)
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
	err := s.write(ctx, func(tx *wtx) error {
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
	var seq int64
	err := s.write(ctx, func(tx *wtx) error {
		job, seq = nil, 0
		if err := tx.lock(ctx, k); err != nil {
			return err
		}
		var err error
		p, err = getProduct(ctx, tx, k)
		if err != nil {
			return err
		}
		if p.DeletedAt != nil {
			return ErrNotFound
		}
		if seq, err = markPending(ctx, tx, &p, now); err != nil || seq == 0 {
			job = &Job{Key: k, Generation: p.Generation}
			return err
		}
		var j Job
		if err := tx.QueryRowContext(ctx, `UPDATE jobs SET state = 'running', attempt = 1, lease_until = ?
			WHERE shop_id = ? AND product_id = ? RETURNING id`, micros(now.Add(lease)), k.ShopID, k.ProductID).Scan(&j.ID); err != nil {
			return fmt.Errorf("claim job: %w", err)
		}
		j.Key, j.Generation, j.Attempt, j.Photos = k, p.Generation, 1, catalog.PendingPhotos(p.Photos)
		job = &j
		return nil
	}, func() {
		if s.hook != nil && seq != 0 {
			s.hook(seq, p, nil) // the old vector is no longer current
		}
	})
	return job, err
}

// ErrStale is returned by Complete when the product changed (new image,
// deleted) while the job ran; the result was discarded.
var ErrStale = catalog.ErrStale

// Settle records what a job made of its photos: the vectors (deduplicated
// by image hash and model), each photo's state, the product's index state
// (catalog.SettleJob decides), and the job's fate: gone when nothing is
// left to do, due again at retryAt while photos are pending (giveUp: the
// attempts ran out, temporary failures become final), a dead letter when
// every photo failed. It returns ErrStale, recording nothing, when the
// product changed (new photos, deleted) while the job ran, and
// catalog.ErrModelChanged when the service switched models meanwhile.
func (s *Store) Settle(ctx context.Context, j *Job, model string, results []catalog.PhotoResult, giveUp bool, retryAt, now time.Time) (catalog.JobNext, error) {
	var p catalog.Product
	var next catalog.JobNext
	var seq int64
	stale, otherModel := false, false
	err := s.write(ctx, func(tx *wtx) error {
		stale, otherModel = false, false
		// The lock first: a model switch that commits while this waits
		// is seen by the read of the setting after it.
		if err := tx.lock(ctx, j.Key); err != nil {
			return err
		}
		serving, err := getSetting(ctx, tx, SettingServingModel)
		if err != nil {
			return err
		}
		if serving != "" && serving != model {
			otherModel = true // the job stays leased; the caller puts it back
			return nil
		}
		p, err = getProduct(ctx, tx, j.Key)
		if errors.Is(err, ErrNotFound) || err == nil && !catalog.JobCurrent(p, true, *j) {
			stale = true
			_, err := tx.ExecContext(ctx, "DELETE FROM jobs WHERE id = ? AND generation = ?", j.ID, j.Generation)
			return err
		}
		if err != nil {
			return err
		}
		for _, r := range results {
			if r.Err != "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO embeddings (image_sha256, model, dim, vector, created_at)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, r.SHA256, model, len(r.Vector), EncodeVector(r.Vector), micros(now)); err != nil {
				return fmt.Errorf("store vector: %w", err)
			}
		}
		next = catalog.MarkSettled(&p, results, giveUp, j.Attempt, model, now)
		photos := p.Photos
		if err := putProduct(ctx, tx, &p); err != nil {
			return err
		}
		if seq, err = recordChange(ctx, tx, p.Key, now); err != nil {
			return err
		}
		switch next {
		case catalog.JobDone:
			_, err = tx.ExecContext(ctx, "DELETE FROM jobs WHERE id = ? AND generation = ?", j.ID, j.Generation)
		case catalog.JobRetry:
			_, err = tx.ExecContext(ctx, `UPDATE jobs SET state = 'available', run_at = ?, lease_until = NULL, last_error = ?, updated_at = ?
				WHERE id = ? AND generation = ?`, micros(retryAt), lastError(photos), micros(now), j.ID, j.Generation)
		case catalog.JobDead:
			_, err = tx.ExecContext(ctx, `UPDATE jobs SET state = 'failed', lease_until = NULL, last_error = ?, transient = ?, updated_at = ?
				WHERE id = ? AND generation = ?`, p.IndexError, flag(allTransient(photos)), micros(now), j.ID, j.Generation)
		}
		if err != nil {
			return fmt.Errorf("finish job: %w", err)
		}
		if next == catalog.JobRetry {
			return tx.notify(ctx)
		}
		return nil
	}, func() {
		if !stale && !otherModel && s.hook != nil {
			s.hook(seq, p, resultVectors(results))
		}
	})
	switch {
	case err != nil:
		return "", err
	case otherModel:
		return "", catalog.ErrModelChanged
	case stale:
		return "", ErrStale
	}
	return next, nil
}

func resultVectors(results []catalog.PhotoResult) map[string][]float32 {
	out := map[string][]float32{}
	for _, r := range results {
		if r.Err == "" {
			out[r.SHA256] = r.Vector
		}
	}
	return out
}

func lastError(photos []catalog.Photo) string {
	for _, ph := range photos {
		if ph.State == catalog.PhotoPending && ph.Error != "" {
			return ph.Error
		}
	}
	return ""
}

func allTransient(photos []catalog.Photo) bool {
	for _, ph := range photos {
		if ph.State == catalog.PhotoFailed && !ph.Transient {
			return false
		}
	}
	return true
}

// Retry puts a job back for another attempt at runAt, recording why the
// last one failed. The product stays pending.
func (s *Store) Retry(ctx context.Context, j *Job, reason string, runAt, now time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		if err := tx.notify(ctx); err != nil {
			return err
		}
		if err := tx.lock(ctx, j.Key); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'available', run_at = ?, lease_until = NULL, last_error = ?, updated_at = ?
			WHERE id = ? AND generation = ?`, micros(runAt), reason, micros(now), j.ID, j.Generation)
		if err != nil {
			return fmt.Errorf("retry job: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // superseded
		}
		p, err := getProduct(ctx, tx, j.Key)
		if errors.Is(err, ErrNotFound) || err == nil && !catalog.JobCurrent(p, true, *j) {
			return nil
		}
		if err != nil {
			return err
		}
		catalog.MarkRetry(&p, reason)
		return putProduct(ctx, tx, &p)
	}, nil)
}

// Embedding returns the stored vector for an image hash and model.
func (s *Store) Embedding(ctx context.Context, sha, model string) ([]float32, bool, error) {
	var blob []byte
	err := s.read().QueryRowContext(ctx, "SELECT vector FROM embeddings WHERE image_sha256 = ? AND model = ?", sha, model).Scan(&blob)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.note(fmt.Errorf("get vector: %w", err))
	}
	v, err := DecodeVector(blob)
	return v, err == nil, err
}

// LoadIndex calls fn for every indexed photo of every live product whose
// vectors are of the given model, in no particular order; p is read
// without its photos.
func (s *Store) LoadIndex(ctx context.Context, model string, fn func(p catalog.Product, sha string, vec []float32) error) error {
	rows, err := s.read().QueryContext(ctx, "SELECT "+prefixed("p.", productColumns)+`, i.sha256, e.vector
		FROM products p JOIN product_images i ON i.shop_id = p.shop_id AND i.product_id = p.product_id
		JOIN embeddings e ON e.image_sha256 = i.sha256 AND e.model = p.model
		WHERE `+searchable+` AND p.model = ? AND i.state = 'indexed'`, model)
	if err != nil {
		return s.note(fmt.Errorf("load index: %w", err))
	}
	defer rows.Close()
	for rows.Next() {
		var blob []byte
		var sha string
		p, err := scanProduct(scanPlus{rows, []any{&sha, &blob}})
		if err != nil {
			return s.note(fmt.Errorf("load index: %w", err))
		}
		vec, err := DecodeVector(blob)
		if err != nil {
			return s.note(fmt.Errorf("load index: product %d/%s: %w", p.ShopID, p.ProductID, err))
		}
		if err := fn(p, sha, vec); err != nil {
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
	err := s.read().QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM products p WHERE `+searchable+` AND p.model = ?),
		(SELECT count(*) FROM products WHERE deleted_at IS NULL),
		(SELECT count(*) FROM products WHERE deleted_at IS NOT NULL),
		(SELECT count(*) FROM jobs WHERE state = 'available'),
		(SELECT count(*) FROM jobs WHERE state = 'running'),
		(SELECT count(*) FROM jobs WHERE state = 'failed'),
		(SELECT count(*) FROM product_images i JOIN products p ON p.shop_id = i.shop_id AND p.product_id = i.product_id
			WHERE `+searchable+` AND p.model = ? AND i.state = 'indexed'),
		(SELECT count(*) FROM product_images i JOIN products p ON p.shop_id = i.shop_id AND p.product_id = i.product_id
			WHERE p.deleted_at IS NULL)`, model, model).
		Scan(&st.Vectors, &st.ActiveProducts, &st.Deleted, &st.Pending, &st.Running, &st.Failed, &st.PhotosIndexed, &st.PhotosTotal)
	if err != nil {
		return st, s.note(fmt.Errorf("stats: %w", err))
	}
	return st, nil
}

// EncodeVector is how a vector is stored: little-endian float32s.
func EncodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

// DecodeVector reads a stored vector.
func DecodeVector(b []byte) ([]float32, error) {
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
