package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

// ListFailed returns live products in state failed, newest failure first;
// shop 0 means every shop.
func (s *Store) ListFailed(ctx context.Context, shop int64, limit int) ([]Failed, error) {
	rows, err := s.read().QueryContext(ctx, "SELECT "+prefixed("p.", productColumns)+`, coalesce(j.attempt, 0), coalesce(j.updated_at, p.updated_at)
		FROM products p LEFT JOIN jobs j ON j.shop_id = p.shop_id AND j.product_id = p.product_id
		WHERE p.deleted_at IS NULL AND p.index_state = 'failed' AND (? = 0 OR p.shop_id = ?)
		ORDER BY coalesce(j.updated_at, p.updated_at) DESC LIMIT ?`, shop, shop, limit)
	if err != nil {
		return nil, s.note(fmt.Errorf("list failed: %w", err))
	}
	defer rows.Close()
	var out []Failed
	for rows.Next() {
		var f Failed
		var at int64
		p, err := scanProduct(scanPlus{rows, []any{&f.Attempts, &at}})
		if err != nil {
			return nil, s.note(fmt.Errorf("list failed: %w", err))
		}
		f.Product, f.FailedAt = p, fromMicros(at)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, s.note(err)
	}
	ps := make([]catalog.Product, len(out))
	for i := range out {
		ps[i] = out[i].Product
	}
	if err := s.withPhotos(ctx, ps); err != nil {
		return nil, s.note(err)
	}
	for i := range out {
		out[i].Product = ps[i]
	}
	return out, nil
}

// Requeue schedules a fresh reindex of one live product with an image.
func (s *Store) Requeue(ctx context.Context, k catalog.Key, now time.Time) error {
	n, err := s.requeue(ctx, now, "shop_id = ? AND product_id = ?", k.ShopID, k.ProductID)
	if err == nil && n == 0 {
		return catalog.ErrNotFound
	}
	return err
}

// RequeueWhere schedules a fresh reindex of the live products with images
// that match a filter: failed ones only, or all; shop 0 means every shop.
// It returns how many were queued.
func (s *Store) RequeueWhere(ctx context.Context, shop int64, failedOnly bool, now time.Time) (int, error) {
	where := "(? = 0 OR shop_id = ?)"
	if failedOnly {
		where += " AND index_state = 'failed'"
	}
	return s.requeue(ctx, now, where, shop, shop)
}

func (s *Store) requeue(ctx context.Context, now time.Time, where string, args ...any) (int, error) {
	var changed []catalog.Product
	var seqs []int64
	err := s.write(ctx, func(tx *wtx) error {
		keys, err := selectKeys(ctx, tx, "SELECT shop_id, product_id FROM products WHERE deleted_at IS NULL AND image_url != '' AND "+where, args...)
		if err != nil {
			return fmt.Errorf("requeue: %w", err)
		}
		changed, seqs, err = markPendingKeys(ctx, tx, keys, now)
		return err
	}, func() {
		if s.hook != nil {
			for i, p := range changed {
				s.hook(seqs[i], p, nil)
			}
		}
	})
	if err != nil {
		return 0, err
	}
	return len(changed), nil
}

// selectKeys returns the product keys a query selects (shop_id, product_id).
func selectKeys(ctx context.Context, q Querier, query string, args ...any) ([]catalog.Key, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []catalog.Key
	for rows.Next() {
		var k catalog.Key
		if err := rows.Scan(&k.ShopID, &k.ProductID); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// markPendingKeys resets each live product of keys that has photos to
// pending (markPending), under its lock, and returns them with their
// changes' seqs. It takes every lock (in key order: no deadlock with
// another such transaction) before its first write, so that each
// product's change seqs follow its commit order on every engine (on
// PostgreSQL a seq comes from the transaction id, handed out at its first
// write).
func markPendingKeys(ctx context.Context, tx *wtx, keys []catalog.Key, now time.Time) ([]catalog.Product, []int64, error) {
	var out []catalog.Product
	var seqs []int64
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b catalog.Key) int {
		if c := cmp.Compare(a.ShopID, b.ShopID); c != 0 {
			return c
		}
		return cmp.Compare(a.ProductID, b.ProductID)
	})
	for _, k := range keys {
		if err := tx.lock(ctx, k); err != nil {
			return nil, nil, err
		}
	}
	for _, k := range keys {
		p, err := getProduct(ctx, tx, k)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("requeue: %w", err)
		}
		if p.DeletedAt != nil {
			continue
		}
		seq, err := markPending(ctx, tx, &p, now)
		if err != nil {
			return nil, nil, err
		}
		if seq != 0 {
			out, seqs = append(out, p), append(seqs, seq)
		}
	}
	return out, seqs, nil
}

// ScanLive calls fn for every live product, with its photos.
func (s *Store) ScanLive(ctx context.Context, fn func(c Check) error) error {
	rows, err := s.read().QueryContext(ctx, "SELECT "+prefixed("p.", productColumns)+`,
		EXISTS (SELECT 1 FROM jobs j WHERE j.shop_id = p.shop_id AND j.product_id = p.product_id)
		FROM products p WHERE p.deleted_at IS NULL ORDER BY p.shop_id, p.product_id`)
	if err != nil {
		return s.note(fmt.Errorf("scan products: %w", err))
	}
	defer rows.Close()
	// The photos, in the same order, read beside the products.
	photos, err := s.read().QueryContext(ctx, "SELECT "+prefixed("i.", photoColumns)+`, i.shop_id, i.product_id,
		EXISTS (SELECT 1 FROM embeddings e WHERE e.image_sha256 = i.sha256 AND e.model = p.model)
		FROM product_images i JOIN products p ON p.shop_id = i.shop_id AND p.product_id = i.product_id
		WHERE p.deleted_at IS NULL ORDER BY i.shop_id, i.product_id, i.position`)
	if err != nil {
		return s.note(fmt.Errorf("scan products: %w", err))
	}
	defer photos.Close()
	type photoRow struct {
		catalog.Photo
		key      catalog.Key
		embedded bool
	}
	var next *photoRow
	advance := func() error {
		next = nil
		if !photos.Next() {
			return photos.Err()
		}
		var r photoRow
		ph, err := scanPhoto(photos, &r.key.ShopID, &r.key.ProductID, &r.embedded)
		if err != nil {
			return err
		}
		r.Photo = ph
		next = &r
		return nil
	}
	before := func(a, b catalog.Key) bool {
		return a.ShopID < b.ShopID || a.ShopID == b.ShopID && a.ProductID < b.ProductID
	}
	if err := advance(); err != nil {
		return s.note(fmt.Errorf("scan products: %w", err))
	}
	for rows.Next() {
		var c Check
		p, err := scanProduct(scanPlus{rows, []any{&c.HasJob}})
		if err != nil {
			return s.note(fmt.Errorf("scan products: %w", err))
		}
		for next != nil && before(next.key, p.Key) {
			if err := advance(); err != nil {
				return s.note(fmt.Errorf("scan products: %w", err))
			}
		}
		for next != nil && next.key == p.Key {
			p.Photos = append(p.Photos, next.Photo)
			if next.State == catalog.PhotoIndexed && !next.embedded {
				c.Missing = append(c.Missing, next.SHA256)
			}
			if err := advance(); err != nil {
				return s.note(fmt.Errorf("scan products: %w", err))
			}
		}
		c.Product = p
		if err := fn(c); err != nil {
			return err
		}
	}
	return s.note(rows.Err())
}
