package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

// Product is the catalogue's product type, re-exported for the hook's signature.
type Product = catalog.Product

const productColumns = `shop_id, product_id, title, price_minor, currency, price_raw, height_cm, height_raw,
	is_available, image_url, extra, created_at, updated_at, deleted_at, index_state, index_error,
	indexed_at, image_sha256, model, generation, source_version`

// searchable is catalog.Product.Searchable in SQL, for the products table
// aliased p: the one place it is written (searchableIn for another alias).
const searchable = "p.deleted_at IS NULL AND p.index_state = 'indexed'"

// searchableIn is searchable for products aliased alias ("" for none).
func searchableIn(alias string) string {
	if alias == "" {
		return strings.ReplaceAll(searchable, "p.", "")
	}
	return strings.ReplaceAll(searchable, "p.", alias+".")
}

type rowScanner interface{ Scan(dest ...any) error }

func scanProduct(row rowScanner) (catalog.Product, error) {
	var (
		p         catalog.Product
		priceMin  sql.NullInt64
		currency  sql.NullString
		height    sql.NullFloat64
		avail     int64
		extra     string
		created   int64
		updated   int64
		deleted   sql.NullInt64
		indexedAt sql.NullInt64
		state     string
		version   sql.NullInt64
	)
	err := row.Scan(&p.ShopID, &p.ProductID, &p.Title, &priceMin, &currency, &p.PriceRaw, &height, &p.HeightRaw,
		&avail, &p.ImageURL, &extra, &created, &updated, &deleted, &state, &p.IndexError,
		&indexedAt, &p.ImageSHA256, &p.Model, &p.Generation, &version)
	if err != nil {
		return p, err
	}
	if priceMin.Valid {
		p.Price = &catalog.Price{Minor: priceMin.Int64, Currency: currency.String}
	}
	if height.Valid {
		h := height.Float64
		p.HeightCM = &h
	}
	p.Available = avail != 0
	if extra != "" && extra != "{}" {
		if err := json.Unmarshal([]byte(extra), &p.Extra); err != nil {
			return p, fmt.Errorf("product %d/%s: extra fields: %w", p.ShopID, p.ProductID, err)
		}
	}
	p.CreatedAt = fromMicros(created)
	p.UpdatedAt = fromMicros(updated)
	p.DeletedAt = fromNullMicros(deleted)
	p.IndexedAt = fromNullMicros(indexedAt)
	p.IndexState = catalog.IndexState(state)
	if version.Valid {
		v := version.Int64
		p.SourceVersion = &v
	}
	return p, nil
}

// productColumnsP is productColumns of the products table aliased p.
var productColumnsP = "p." + strings.Join(strings.Fields(strings.ReplaceAll(productColumns, ",", " ")), ", p.")

// getProduct reads a product and its photos in one query (in a write, sent
// with the statements queued before it where the driver pipelines).
func getProduct(ctx context.Context, q Querier, k catalog.Key) (catalog.Product, error) {
	query := "SELECT " + productColumnsP + ", i.url, i.sha256, i.state, i.error, i.transient" +
		" FROM products p LEFT JOIN product_images i ON i.shop_id = p.shop_id AND i.product_id = p.product_id" +
		" WHERE p.shop_id = ? AND p.product_id = ? ORDER BY i.position"
	args := []any{k.ShopID, k.ProductID}
	var p catalog.Product
	found := false
	each := func(scan func(dest ...any) error) error {
		var url, sha, state, perr sql.NullString
		var transient sql.NullInt64
		row, err := scanProduct(extraScanner{scanFunc(scan), []any{&url, &sha, &state, &perr, &transient}})
		if err != nil {
			return err
		}
		if !found {
			p, found = row, true
		}
		if url.Valid {
			p.Photos = append(p.Photos, catalog.Photo{URL: url.String, SHA256: sha.String, State: catalog.PhotoState(state.String),
				Error: perr.String, Transient: transient.Int64 != 0})
		}
		return nil
	}
	var err error
	if tx, ok := q.(*wtx); ok {
		err = tx.queryEach(ctx, query, args, each)
	} else {
		err = queryEach(ctx, q, query, args, each)
	}
	if err != nil {
		return p, fmt.Errorf("get product: %w", err)
	}
	if !found {
		return p, ErrNotFound
	}
	return p, nil
}

// scanFunc is a rowScanner made of a row's Scan.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// extraScanner scans a row into the destinations given, then extra.
type extraScanner struct {
	row   rowScanner
	extra []any
}

func (e extraScanner) Scan(dest ...any) error { return e.row.Scan(append(dest, e.extra...)...) }

// putProduct stores a product and its photos.
func putProduct(ctx context.Context, tx *wtx, p *catalog.Product) error {
	if err := putProductRow(ctx, tx, p); err != nil {
		return err
	}
	return putPhotos(ctx, tx, p.Key, p.Photos)
}

// putProductRow stores a product's row, leaving its stored photos as they are.
func putProductRow(ctx context.Context, tx *wtx, p *catalog.Product) error {
	var priceMinor, currency, height, version any
	if p.SourceVersion != nil {
		version = *p.SourceVersion
	}
	if p.Price != nil {
		priceMinor, currency = p.Price.Minor, p.Price.Currency
	}
	if p.HeightCM != nil {
		height = *p.HeightCM
	}
	extra := "{}"
	if len(p.Extra) > 0 {
		b, err := json.Marshal(p.Extra)
		if err != nil {
			return fmt.Errorf("encode extra fields: %w", err)
		}
		extra = string(b)
	}
	err := tx.execLater(ctx, `INSERT INTO products (`+productColumns+`)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (shop_id, product_id) DO UPDATE SET
			title=excluded.title, price_minor=excluded.price_minor, currency=excluded.currency,
			price_raw=excluded.price_raw, height_cm=excluded.height_cm, height_raw=excluded.height_raw,
			is_available=excluded.is_available, image_url=excluded.image_url, extra=excluded.extra,
			created_at=excluded.created_at, updated_at=excluded.updated_at, deleted_at=excluded.deleted_at,
			index_state=excluded.index_state, index_error=excluded.index_error, indexed_at=excluded.indexed_at,
			image_sha256=excluded.image_sha256, model=excluded.model, generation=excluded.generation,
			source_version=excluded.source_version`,
		p.ShopID, p.ProductID, p.Title, priceMinor, currency, p.PriceRaw, height, p.HeightRaw,
		flag(p.Available), p.ImageURL, extra, micros(p.CreatedAt), micros(p.UpdatedAt), nullMicros(p.DeletedAt),
		string(p.IndexState), p.IndexError, nullMicros(p.IndexedAt), p.ImageSHA256, p.Model, p.Generation, version)
	if err != nil {
		return fmt.Errorf("store product: %w", err)
	}
	return nil
}

// ApplyEvent stores one webhook event and, when the product needs a new
// vector, enqueues its reindex job, all in one transaction. A delivery id
// seen before returns the first reply and changes nothing; an event older
// (by its version) than the stored state changes nothing.
func (s *Store) ApplyEvent(ctx context.Context, ev catalog.Event, o ApplyOptions) (ApplyResult, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	key := catalog.Key{ShopID: o.ShopID, ProductID: ev.Product.ID}
	var res ApplyResult
	changed := false
	var seq int64
	err := s.write(ctx, func(tx *wtx) error {
		res, changed, seq = ApplyResult{}, false, 0
		if err := tx.lock(ctx, key); err != nil { // before the delivery check: a concurrent repeat waits, then sees it
			return err
		}
		// The delivery check goes with the product's read (one round trip
		// where the driver pipelines): a repeat reads the product for
		// nothing, which is rare, and saves a round trip on every other.
		var seen struct {
			action          sql.NullString
			reindex, change sql.NullInt64
		}
		if o.DeliveryID != "" {
			if err := tx.queryRowLater(ctx, []any{&seen.action, &seen.reindex, &seen.change},
				"SELECT d.action, d.reindex_triggered, d.changed FROM (SELECT 1 AS one) x LEFT JOIN webhook_deliveries d ON d.id = ?", o.DeliveryID); err != nil {
				return fmt.Errorf("check delivery: %w", err)
			}
		}
		old, found, err := readForApply(ctx, tx, key)
		if err != nil {
			return err
		}
		if seen.action.Valid {
			res = ApplyResult{Action: catalog.Action(seen.action.String), ReindexTriggered: seen.reindex.Int64 != 0, Duplicate: true}
			res.Changed = seen.change.Int64 != 0
			return nil
		}
		res, changed, err = applyEvent(ctx, tx, ev, key, old, found, o.Now, o.MaxPhotos)
		if err != nil {
			return err
		}
		if changed {
			if err := recordChangeLater(ctx, tx, key, o.Now, &seq); err != nil { // wakes the workers too; seq is read after the commit
				return err
			}
		}
		if o.DeliveryID != "" {
			if err := tx.execLater(ctx, `INSERT INTO webhook_deliveries (id, shop_id, product_id, action, reindex_triggered, changed, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, o.DeliveryID, key.ShopID, key.ProductID, string(res.Action), flag(res.ReindexTriggered), flag(changed), micros(o.Now)); err != nil {
				return fmt.Errorf("record delivery: %w", err)
			}
		}
		return nil
	}, func() {
		if changed && s.hook != nil {
			s.hook(seq, res.Product, nil)
		}
	})
	if err != nil {
		return ApplyResult{}, err
	}
	if !res.Duplicate {
		res.Changed = changed
	}
	return res, nil
}

// applyEvent does ApplyEvent's work inside its transaction: catalog.Decide
// decides, this persists.
func applyEvent(ctx context.Context, tx *wtx, ev catalog.Event, key catalog.Key, old catalog.Product, found bool, now time.Time, maxPhotos int) (res ApplyResult, changed bool, err error) {
	d, err := catalog.Decide(old, found, ev, key, now, maxPhotos)
	if err != nil {
		return res, false, err
	}
	res = ApplyResult{Action: d.Action, Product: d.Product, ReindexTriggered: d.ReindexTriggered, PhotosDropped: d.PhotosDropped}
	if err := applyJobOp(ctx, tx, key, d.Job, d.Product.Generation, d.At); err != nil {
		return res, false, err
	}
	if !d.Write {
		return res, false, nil
	}
	put := putProductRow // a price, title or stock change, or a delete: the photos are as stored
	if d.PhotosChanged {
		put = putProduct
	}
	if err := put(ctx, tx, &d.Product); err != nil {
		return res, false, err
	}
	return res, true, nil
}

// readForApply reads the stored product an event applies to (found false:
// none).
func readForApply(ctx context.Context, tx *wtx, key catalog.Key) (catalog.Product, bool, error) {
	old, err := getProduct(ctx, tx, key)
	if errors.Is(err, ErrNotFound) {
		return old, false, nil
	}
	return old, err == nil, err
}

// PruneDeliveries forgets webhook ids recorded before t.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *wtx) error {
		r, err := tx.ExecContext(ctx, "DELETE FROM webhook_deliveries WHERE created_at < ?", micros(before))
		if err != nil {
			return fmt.Errorf("prune deliveries: %w", err)
		}
		n, _ = r.RowsAffected()
		return nil
	}, nil)
	return n, err
}

// Get returns one product, deleted or not; ErrNotFound if unknown.
func (s *Store) Get(ctx context.Context, k catalog.Key) (catalog.Product, error) {
	p, err := getProduct(ctx, s.read(), k)
	return p, s.note(err)
}

// keysWhere is a WHERE clause matching any of keys, and its arguments: the
// driver's (KeysMatcher), else one term per key.
func (s *Store) keysWhere(keys []catalog.Key) (string, []any) {
	if m, ok := s.d.(KeysMatcher); ok {
		return m.KeysIn(keys)
	}
	var b strings.Builder
	args := make([]any, 0, 2*len(keys))
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("(shop_id = ? AND product_id = ?)")
		args = append(args, k.ShopID, k.ProductID)
	}
	return b.String(), args
}

// GetMany returns the products with the given keys that exist.
func (s *Store) GetMany(ctx context.Context, keys []catalog.Key) (map[catalog.Key]catalog.Product, error) {
	out := make(map[catalog.Key]catalog.Product, len(keys))
	for start := 0; start < len(keys); start += 200 {
		where, args := s.keysWhere(keys[start:min(len(keys), start+200)])
		rows, err := s.read().QueryContext(ctx, "SELECT "+productColumns+" FROM products WHERE "+where, args...)
		if err != nil {
			return nil, s.note(fmt.Errorf("get products: %w", err))
		}
		for rows.Next() {
			p, err := scanProduct(rows)
			if err != nil {
				rows.Close()
				return nil, s.note(fmt.Errorf("get products: %w", err))
			}
			out[p.Key] = p
		}
		if err := rows.Close(); err != nil {
			return nil, s.note(fmt.Errorf("get products: %w", err))
		}
	}
	ps := make([]catalog.Product, 0, len(out))
	for _, p := range out {
		ps = append(ps, p)
	}
	if err := s.withPhotos(ctx, ps); err != nil {
		return nil, s.note(err)
	}
	for _, p := range ps {
		out[p.Key] = p
	}
	return out, nil
}

// List returns live products of a shop ordered by id, and whether more follow.
func (s *Store) List(ctx context.Context, o ListOptions) ([]catalog.Product, bool, error) {
	q := "SELECT " + productColumns + " FROM products WHERE shop_id = ? AND product_id > ?"
	args := []any{o.ShopID, o.After}
	if !o.Deleted {
		q += " AND deleted_at IS NULL"
	}
	if o.Available != nil {
		q += " AND is_available = ?"
		args = append(args, flag(*o.Available))
	}
	q += " ORDER BY product_id LIMIT ?"
	args = append(args, o.Limit+1)
	rows, err := s.read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, false, s.note(fmt.Errorf("list products: %w", err))
	}
	defer rows.Close()
	var out []catalog.Product
	more := false
	for rows.Next() {
		if len(out) == o.Limit { // the row after the page only says that more follow: not decoded
			more = true
			break
		}
		p, err := scanProduct(rows)
		if err != nil {
			return nil, false, s.note(fmt.Errorf("list products: %w", err))
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, false, s.note(fmt.Errorf("list products: %w", err))
	}
	rows.Close()
	if err := s.withPhotos(ctx, out); err != nil {
		return nil, false, s.note(err)
	}
	return out, more, nil
}
