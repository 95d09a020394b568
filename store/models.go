package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

// SettingServingModel is the setting naming the model whose vectors Settle
// records (the model answering searches): a vector of another model is
// refused with catalog.ErrModelChanged, in the transaction that would
// store it. Unset: any model is accepted.
const SettingServingModel = "serving_model"

// Setting returns a stored setting ("" when unset).
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	v, err := getSetting(ctx, s.read(), key)
	return v, s.note(err)
}

func getSetting(ctx context.Context, q Querier, key string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read setting %s: %w", key, err)
	}
	return v, nil
}

// SetSettings stores settings in one transaction.
func (s *Store) SetSettings(ctx context.Context, kv map[string]string) error {
	return s.write(ctx, func(tx *wtx) error {
		for k, v := range kv {
			if err := putSetting(ctx, tx, k, v); err != nil {
				return err
			}
		}
		return nil
	}, nil)
}

// InitSetting stores value under key unless key has a value already, and
// returns the value key has then: every caller, however many replicas start
// at once on one database, gets the first one's (the data directory id).
func (s *Store) InitSetting(ctx context.Context, key, value string) (string, error) {
	err := s.write(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
			return fmt.Errorf("store setting %s: %w", key, err)
		}
		return nil
	}, nil)
	if err != nil {
		return "", err
	}
	return s.Setting(ctx, key)
}

// SetSettingIf stores value under key only while setting ifKey still holds
// ifValue, and reports whether it did. It waits for a model switch in
// progress (LockAll) and reads ifKey after it, so a value decided from
// settings read before the switch is not written over the switch's.
func (s *Store) SetSettingIf(ctx context.Context, key, value, ifKey, ifValue string) (bool, error) {
	ok := false
	err := s.write(ctx, func(tx *wtx) error {
		ok = false
		if err := tx.lock(ctx, catalog.Key{ProductID: "settings"}); err != nil {
			return err
		}
		cur, err := getSetting(ctx, tx, ifKey)
		if err != nil || cur != ifValue {
			return err
		}
		ok = true
		return putSetting(ctx, tx, key, value)
	}, nil)
	return ok, err
}

func putSetting(ctx context.Context, tx *wtx, k, v string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, k, v); err != nil {
		return fmt.Errorf("store setting %s: %w", k, err)
	}
	return nil
}

// IndexedModels counts live indexed products by the model of their vector.
func (s *Store) IndexedModels(ctx context.Context) (map[string]int64, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT p.model, count(*) FROM products p
		WHERE `+searchable+` GROUP BY p.model`)
	if err != nil {
		return nil, s.note(fmt.Errorf("count models: %w", err))
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var m string
		var n int64
		if err := rows.Scan(&m, &n); err != nil {
			return nil, err
		}
		out[m] = n
	}
	return out, s.note(rows.Err())
}

// MissingEmbeddings lists the hashes of the indexed photos of live
// products that have no vector of model yet.
func (s *Store) MissingEmbeddings(ctx context.Context, model string) ([]string, error) {
	rows, err := s.read().QueryContext(ctx, `SELECT DISTINCT i.sha256 FROM products p
		JOIN product_images i ON i.shop_id = p.shop_id AND i.product_id = p.product_id
		WHERE `+searchable+` AND i.state = 'indexed' AND i.sha256 != ''
		AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.image_sha256 = i.sha256 AND e.model = ?)`, model)
	if err != nil {
		return nil, s.note(fmt.Errorf("missing vectors: %w", err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sha string
		if err := rows.Scan(&sha); err != nil {
			return nil, err
		}
		out = append(out, sha)
	}
	return out, s.note(rows.Err())
}

// PutEmbedding stores a vector for an image and model (kept if present).
func (s *Store) PutEmbedding(ctx context.Context, sha, model string, vec []float32, now time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO embeddings (image_sha256, model, dim, vector, created_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, sha, model, len(vec), EncodeVector(vec), micros(now))
		if err != nil {
			return fmt.Errorf("store vector: %w", err)
		}
		return nil
	}, nil)
}

// SwitchModel makes model the index's model in one transaction, under
// LockAll (no product write runs beside it): indexed products whose image
// has a vector of model move to it; the others are queued for a fresh
// reindex. after runs once it has committed, before any
// other write (rebuild the in-memory index there). It returns how many
// products moved and how many were queued.
func (s *Store) SwitchModel(ctx context.Context, model string, settings map[string]string, now time.Time, after func()) (moved, queued int64, err error) {
	err = s.write(ctx, func(tx *wtx) error {
		// Alone in the fleet: a product write that read the product before
		// the switch and wrote it after would put the old model back.
		if err := s.d.LockAll(ctx, tx.raw); err != nil {
			return fmt.Errorf("switch model: %w", err)
		}
		// A product moves when every indexed photo has a vector of model;
		// the others (of another model) are queued afresh, first: their
		// locks come before the transaction's first write.
		lacking := `EXISTS (SELECT 1 FROM product_images i WHERE i.shop_id = products.shop_id AND i.product_id = products.product_id
				AND i.state = 'indexed' AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.image_sha256 = i.sha256 AND e.model = ?))`
		left, err := selectKeys(ctx, tx, `SELECT shop_id, product_id FROM products
			WHERE `+searchableIn("")+` AND model != ? AND image_url != '' AND `+lacking, model, model)
		if err != nil {
			return fmt.Errorf("switch model: %w", err)
		}
		reset, _, err := markPendingKeys(ctx, tx, left, now)
		if err != nil {
			return fmt.Errorf("switch model: %w", err)
		}
		r, err := tx.ExecContext(ctx, `UPDATE products SET model = ? WHERE `+searchableIn("")+` AND NOT `+lacking, model, model)
		if err != nil {
			return fmt.Errorf("switch model: %w", err)
		}
		moved, _ = r.RowsAffected()
		if _, err := recordChange(ctx, tx, catalog.Key{}, now); err != nil { // every product may have changed
			return err
		}
		queued = int64(len(reset))
		for k, v := range settings {
			if err := putSetting(ctx, tx, k, v); err != nil {
				return fmt.Errorf("switch model: %w", err)
			}
		}
		return nil
	}, after)
	return moved, queued, err
}

// PruneEmbeddings deletes vectors of images no product's photo (live or
// deleted) refers to any more, and returns how many went. Like blob.Dir.Prune it
// removes nothing (catalog.ErrPruneRefused) when that would be more than a
// small part of them.
func (s *Store) PruneEmbeddings(ctx context.Context) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *wtx) error {
		const orphan = `NOT EXISTS (SELECT 1 FROM product_images i WHERE i.sha256 = embeddings.image_sha256)`
		var total, doomed int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(CASE WHEN `+orphan+` THEN 1 ELSE 0 END), 0) FROM embeddings`).Scan(&total, &doomed); err != nil {
			return fmt.Errorf("prune vectors: %w", err)
		}
		if err := catalog.CheckPrune("vectors", doomed, total); err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, `DELETE FROM embeddings WHERE `+orphan)
		if err != nil {
			return fmt.Errorf("prune vectors: %w", err)
		}
		n, _ = r.RowsAffected()
		return nil
	}, nil)
	return n, err
}

// KnowsImages reports whether the database refers to any stored image (a
// product's image hash or a vector): a database that does not is new or
// was emptied.
func (s *Store) KnowsImages(ctx context.Context) (bool, error) {
	var yes bool
	err := s.read().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM product_images WHERE sha256 != '')
		OR EXISTS (SELECT 1 FROM embeddings)`).Scan(&yes)
	if err != nil {
		return false, s.note(fmt.Errorf("read database: %w", err))
	}
	return yes, nil
}

// ReferencedImages returns the image hashes products' photos refer to.
func (s *Store) ReferencedImages(ctx context.Context) (map[string]bool, error) {
	rows, err := s.read().QueryContext(ctx, "SELECT DISTINCT sha256 FROM product_images WHERE sha256 != ''")
	if err != nil {
		return nil, s.note(fmt.Errorf("referenced images: %w", err))
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var sha string
		if err := rows.Scan(&sha); err != nil {
			return nil, err
		}
		out[sha] = true
	}
	return out, s.note(rows.Err())
}
