package store

import (
	"context"
	"fmt"

	"github.com/lookalike/lookalike/catalog"
)

// The photos of a product live in product_images, one row per position.

const photoColumns = "url, sha256, state, error, transient"

func scanPhoto(row rowScanner, extra ...any) (catalog.Photo, error) {
	var ph catalog.Photo
	var state string
	err := row.Scan(append([]any{&ph.URL, &ph.SHA256, &state, &ph.Error, &ph.Transient}, extra...)...)
	ph.State = catalog.PhotoState(state)
	return ph, err
}

// loadPhotos returns a product's photos in order (nil without any).
func loadPhotos(ctx context.Context, q Querier, k catalog.Key) ([]catalog.Photo, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+photoColumns+" FROM product_images WHERE shop_id = ? AND product_id = ? ORDER BY position", k.ShopID, k.ProductID)
	if err != nil {
		return nil, fmt.Errorf("read photos: %w", err)
	}
	defer rows.Close()
	var out []catalog.Photo
	for rows.Next() {
		ph, err := scanPhoto(rows)
		if err != nil {
			return nil, fmt.Errorf("read photos: %w", err)
		}
		out = append(out, ph)
	}
	return out, rows.Err()
}

// withPhotos fills in the photos of products read without them.
func (s *Store) withPhotos(ctx context.Context, ps []catalog.Product) error {
	q := s.read()
	idx := make(map[catalog.Key]int, len(ps))
	for i := range ps {
		idx[ps[i].Key] = i
		ps[i].Photos = nil
	}
	for start := 0; start < len(ps); start += 200 {
		chunk := ps[start:min(len(ps), start+200)]
		keys := make([]catalog.Key, len(chunk))
		for i := range chunk {
			keys[i] = chunk[i].Key
		}
		where, args := s.keysWhere(keys)
		rows, err := q.QueryContext(ctx, "SELECT "+photoColumns+", shop_id, product_id FROM product_images WHERE "+where+
			" ORDER BY shop_id, product_id, position", args...)
		if err != nil {
			return fmt.Errorf("read photos: %w", err)
		}
		for rows.Next() {
			var k catalog.Key
			ph, err := scanPhoto(rows, &k.ShopID, &k.ProductID)
			if err != nil {
				rows.Close()
				return fmt.Errorf("read photos: %w", err)
			}
			if i, ok := idx[k]; ok {
				ps[i].Photos = append(ps[i].Photos, ph)
			}
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("read photos: %w", err)
		}
	}
	return nil
}

// putPhotos replaces a product's stored photos.
func putPhotos(ctx context.Context, tx *wtx, k catalog.Key, photos []catalog.Photo) error {
	if err := tx.execLater(ctx, "DELETE FROM product_images WHERE shop_id = ? AND product_id = ?", k.ShopID, k.ProductID); err != nil {
		return fmt.Errorf("store photos: %w", err)
	}
	for i, ph := range photos {
		if err := tx.execLater(ctx, `INSERT INTO product_images (shop_id, product_id, position, `+photoColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, k.ShopID, k.ProductID, i, ph.URL, ph.SHA256, string(ph.State), ph.Error, flag(ph.Transient)); err != nil {
			return fmt.Errorf("store photos: %w", err)
		}
	}
	return nil
}
