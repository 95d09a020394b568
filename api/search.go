package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/embed"
	"github.com/lookalike/lookalike/imagedecode"
	"github.com/lookalike/lookalike/localfeat"
	"github.com/lookalike/lookalike/metrics"
	"github.com/lookalike/lookalike/regions"
	"github.com/lookalike/lookalike/vectorindex"
)

const (
	defaultLimit = 10
	maxLimit     = 100
)

// searchQuery is a parsed search request.
type searchQuery struct {
	image     []byte // uploaded or base64 photo
	imageURL  string
	productID catalog.ProductID
	text      string
	crop      *regions.Box // the shopper's box around the product in the photo
	filter    vectorindex.Filter
	limit     int
	offset    int        // results skipped: the pages before ("show more")
	minBand   embed.Band // the weakest band returned
	// soldOutExact: availability was not asked for, so the in-stock
	// results follow the sold-out products of the exact band.
	soldOutExact bool
}

// searchFields are the request's parameters, as text, from a form or JSON.
var searchFields = map[string]bool{
	"image_url": true, "image_base64": true, "product_id": true, "text": true,
	"crop":    true,
	"shop_id": true, "limit": true, "available": true, "price_min": true, "price_max": true, "currency": true,
	"min_band": true, "offset": true, "height_min": true, "height_max": true,
}

// maxOffset bounds "show more": a shopper pages through a few screens, not
// the whole catalogue.
const maxOffset = 500

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	q, err := s.parseSearch(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	eng := s.engine()
	find, err := s.queryFinder(r, eng, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	results, more, err := s.search(r, eng, find, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply := map[string]any{
		"results": results,
		"took_ms": float64(time.Since(start).Microseconds()) / 1000,
		"model":   eng.Embedder.Model(),
	}
	if more {
		reply["next_offset"] = q.offset + len(results)
	}
	writeJSON(w, http.StatusOK, reply)
}

func (s *Server) parseSearch(w http.ResponseWriter, r *http.Request) (*searchQuery, error) {
	fields := map[string]string{}
	var upload []byte
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	limit := s.cfg.MaxUploadBytes + 1<<20 // room for the form around the photo
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	switch ct {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(limit); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, &Error{Status: http.StatusRequestEntityTooLarge, Err: err,
					Msg: "upload is larger than the limit of " + humanBytes(s.cfg.MaxUploadBytes)}
			}
			return nil, errorf(http.StatusBadRequest, "could not read the multipart form: %v", err)
		}
		defer r.MultipartForm.RemoveAll()
		for k, vs := range r.MultipartForm.Value {
			if !searchFields[k] {
				return nil, errorf(http.StatusBadRequest, "unknown form field %q; expected image, %s", k, fieldList())
			}
			fields[k] = vs[0]
		}
		for k, fhs := range r.MultipartForm.File {
			if k != "image" {
				return nil, errorf(http.StatusBadRequest, "unknown file field %q; send the photo as the field \"image\"", k)
			}
			if fhs[0].Size > s.cfg.MaxUploadBytes {
				return nil, errorf(http.StatusRequestEntityTooLarge, "photo is %s, over the limit of %s", humanBytes(fhs[0].Size), humanBytes(s.cfg.MaxUploadBytes))
			}
			f, err := fhs[0].Open()
			if err != nil {
				return nil, errorf(http.StatusBadRequest, "could not read the uploaded photo: %v", err)
			}
			upload, err = io.ReadAll(f)
			f.Close()
			if err != nil {
				return nil, errorf(http.StatusBadRequest, "could not read the uploaded photo: %v", err)
			}
			if len(upload) == 0 {
				return nil, errorf(http.StatusUnprocessableEntity, "the uploaded photo is empty")
			}
		}
	case "application/json", "":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, &Error{Status: http.StatusRequestEntityTooLarge, Err: err,
					Msg: "request is larger than the limit of " + humanBytes(limit)}
			}
			return nil, errorf(http.StatusBadRequest, "could not read the request body: %v", err)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil || dec.More() {
			return nil, &Error{Status: http.StatusBadRequest, Err: catalog.ErrMalformed,
				Msg: "request body must be a JSON object, e.g. {\"image_url\":\"https://…\"} (or send a multipart form with the photo in \"image\")"}
		}
		for k, v := range m {
			if !searchFields[k] {
				return nil, errorf(http.StatusBadRequest, "unknown field %q; expected %s", k, fieldList())
			}
			switch v := v.(type) {
			case nil:
			case string:
				fields[k] = v
			case json.Number:
				fields[k] = v.String()
				if k == "product_id" { // 888888.0 and 8.88888e5 are the number 888888
					id, err := catalog.ParseProductID(v)
					if err != nil {
						return nil, errorf(http.StatusBadRequest, "product_id: %v", err)
					}
					fields[k] = id.String()
				}
			case bool:
				fields[k] = strconv.FormatBool(v)
			case map[string]any, []any:
				if k != "crop" {
					return nil, errorf(http.StatusBadRequest, "field %q must be a string or a number", k)
				}
				c, err := cropText(v)
				if err != nil {
					return nil, errorf(http.StatusUnprocessableEntity, "crop: %v", err)
				}
				fields[k] = c
			default:
				return nil, errorf(http.StatusBadRequest, "field %q must be a string or a number", k)
			}
		}
	default:
		return nil, errorf(http.StatusUnsupportedMediaType, "Content-Type %q is not supported: send multipart/form-data with the photo in \"image\", or application/json", ct)
	}
	return s.buildQuery(fields, upload)
}

// cropText writes a JSON crop given as {"x":…,"y":…,"w":…,"h":…} or
// [x, y, w, h] as the "x,y,w,h" text regions.ParseBox reads.
func cropText(v any) (string, error) {
	var nums []any
	switch v := v.(type) {
	case []any:
		nums = v
	case map[string]any:
		for name := range v {
			switch name {
			case "x", "y", "w", "h":
			default:
				return "", fmt.Errorf("unknown key %q; want x, y, w and h (fractions 0..1 of the photo)", name)
			}
		}
		nums = []any{v["x"], v["y"], v["w"], v["h"]}
	}
	if len(nums) != 4 {
		return "", fmt.Errorf("want four numbers x, y, w, h (fractions 0..1 of the photo), got %d", len(nums))
	}
	parts := make([]string, 4)
	for i, n := range nums {
		num, ok := n.(json.Number)
		if !ok {
			return "", errors.New("x, y, w and h must all be numbers (fractions 0..1 of the photo)")
		}
		parts[i] = num.String()
	}
	return strings.Join(parts, ","), nil
}

func fieldList() string {
	names := make([]string, 0, len(searchFields))
	for k := range searchFields {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (s *Server) buildQuery(f map[string]string, upload []byte) (*searchQuery, error) {
	q := &searchQuery{image: upload, limit: defaultLimit, imageURL: strings.TrimSpace(f["image_url"]), text: strings.TrimSpace(f["text"])}
	yes := true
	q.filter.Available = &yes
	q.filter.ShopID = s.cfg.DefaultShopID
	if v := f["image_base64"]; v != "" {
		if upload != nil {
			return nil, errorf(http.StatusBadRequest, "give either an uploaded image or image_base64, not both")
		}
		if i := strings.Index(v, ";base64,"); strings.HasPrefix(v, "data:") && i > 0 {
			v = v[i+len(";base64,"):]
		}
		if int64(base64.StdEncoding.DecodedLen(len(v))) > s.cfg.MaxUploadBytes+3 {
			return nil, errorf(http.StatusRequestEntityTooLarge, "image_base64 decodes to more than the limit of %s", humanBytes(s.cfg.MaxUploadBytes))
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "image_base64 is not valid base64: %v", err)
		}
		if int64(len(b)) > s.cfg.MaxUploadBytes {
			return nil, errorf(http.StatusRequestEntityTooLarge, "image_base64 decodes to %s, over the limit of %s", humanBytes(int64(len(b))), humanBytes(s.cfg.MaxUploadBytes))
		}
		q.image = b
	}
	if v := f["product_id"]; v != "" {
		id, err := catalog.ParseProductIDText(v)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "product_id: %v", err)
		}
		q.productID = id
	}
	sources := 0
	for _, set := range []bool{q.image != nil, q.imageURL != "", q.productID != "", q.text != ""} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return nil, errorf(http.StatusBadRequest, "give exactly one query: an uploaded photo in \"image\", image_url, image_base64, product_id or text (got %d)", sources)
	}
	if v := strings.TrimSpace(f["crop"]); v != "" {
		if q.image == nil && q.imageURL == "" {
			return nil, errorf(http.StatusUnprocessableEntity, "crop selects a region of a photo: send it with an uploaded image, image_base64 or image_url, not with text or product_id")
		}
		b, err := regions.ParseBox(v)
		if err != nil {
			return nil, errorf(http.StatusUnprocessableEntity, "crop: %v", err)
		}
		q.crop = &b
	}
	if v := f["shop_id"]; v != "" {
		id, err := catalog.ParseID(v)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "shop_id: %v", err)
		}
		q.filter.ShopID = id
	}
	if v := f["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, errorf(http.StatusBadRequest, "limit must be a positive integer, got %q", v)
		}
		q.limit = min(n, maxLimit)
	}
	if v := f["offset"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxOffset {
			return nil, errorf(http.StatusBadRequest, "offset must be an integer from 0 to %d, got %q", maxOffset, v)
		}
		q.offset = n
	}
	band, err := embed.ParseMinBand(strings.TrimSpace(f["min_band"]))
	if err != nil {
		return nil, errorf(http.StatusUnprocessableEntity, "%v", err)
	}
	q.minBand = band
	for _, name := range []string{"height_min", "height_max"} {
		v := strings.TrimSpace(f[name])
		if v == "" {
			continue
		}
		cm, err := catalog.ParseHeight(v)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "%s: %v", name, err)
		}
		if name == "height_min" {
			q.filter.HeightMin = &cm
		} else {
			q.filter.HeightMax = &cm
		}
	}
	if q.filter.HeightMin != nil && q.filter.HeightMax != nil && *q.filter.HeightMin > *q.filter.HeightMax {
		return nil, errorf(http.StatusBadRequest, "height_min is above height_max")
	}
	switch v := strings.ToLower(f["available"]); v {
	case "":
		q.soldOutExact = true
	case "true", "1", "y":
	case "false", "0", "n":
		no := false
		q.filter.Available = &no
	case "any", "all":
		q.filter.Available = nil
	default:
		return nil, errorf(http.StatusBadRequest, "available must be true, false or any, got %q", v)
	}
	// Price bounds are in the request's currency, else the currency a bound
	// names ("5000 RUB"), else the shop's; products priced in another
	// currency do not match a price filter.
	cur := ""
	if v := strings.TrimSpace(f["currency"]); v != "" {
		code, ok := catalog.NormalizeCurrency(v)
		if !ok {
			return nil, errorf(http.StatusBadRequest, "currency %q is not an ISO 4217 currency code (e.g. KZT, RUB, UAH, USD)", v)
		}
		cur = code
	}
	for _, name := range []string{"price_min", "price_max"} {
		v := f[name]
		if v == "" {
			continue
		}
		in := cur
		if in == "" {
			in = s.cfg.Currency
		}
		p, err := catalog.ParsePriceIn(v, in)
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "%s: %v", name, err)
		}
		if cur != "" && p.Currency != cur {
			return nil, errorf(http.StatusBadRequest, "%s is in %s, but the search is in %s (currency or the other bound): prices in two currencies cannot be compared", name, p.Currency, cur)
		}
		cur = p.Currency
		minor := p.Minor
		if name == "price_min" {
			q.filter.PriceMin = &minor
		} else {
			q.filter.PriceMax = &minor
		}
	}
	if cur == "" {
		cur = s.cfg.Currency
	}
	q.filter.Currency = cur
	if q.filter.PriceMin != nil && q.filter.PriceMax != nil && *q.filter.PriceMin > *q.filter.PriceMax {
		return nil, errorf(http.StatusBadRequest, "price_min is above price_max")
	}
	return q, nil
}

// finder searches the index for the query: up to k products under filter
// f, best first. One query may search with several filters.
type finder func(k int, f vectorindex.Filter) ([]vectorindex.Hit, error)

// queryFinder embeds the query once: a photo through the multi-region
// search (regions.Embed: the whole frame and sub-windows, or the shopper's
// crop only), text and product_id as their one vector.
func (s *Server) queryFinder(r *http.Request, eng Engine, q *searchQuery) (finder, error) {
	idx := timedIndex{eng.Index, s.lookupTime}
	if q.image == nil && q.imageURL == "" {
		vec, err := s.queryVector(r, eng, q)
		if err != nil {
			return nil, err
		}
		return func(k int, f vectorindex.Filter) ([]vectorindex.Hit, error) { return idx.Search(vec, k, f) }, nil
	}
	ctx := r.Context()
	data := q.image
	if q.imageURL != "" {
		res, err := s.fetcher.Fetch(ctx, q.imageURL)
		if err != nil {
			return nil, fmt.Errorf("fetch image_url: %w", err)
		}
		data = res.Body
	}
	img, err := imagedecode.DecodeContext(ctx, data, imagedecode.Limits{MaxPixels: s.cfg.MaxPixels, MinSide: embed.DecodeSide(eng.Embedder),
		Budget: s.cfg.DecodeBudget, Timeout: s.cfg.DecodeTimeout})
	if err != nil {
		return nil, err
	}
	defer img.Release()
	photo := img.Image
	if q.crop == nil {
		// The regions are cut from the photo reduced once (as regions.Embed
		// would): the full-size decode goes back to the decode memory budget
		// now, not after every region is embedded. A crop needs the full size.
		if photo = regions.Prescale(photo, embed.DecodeSide(eng.Embedder)); photo != img.Image {
			img.Release()
		}
	}
	cfg := regions.ConfigFor(eng.Embedder)
	if s.features == nil {
		cfg.Rerank.K = 0
	} else {
		cfg.Rerank.K = s.cfg.Rerank
	}
	em, err := regions.Embed(ctx, eng.Embedder, cfg, photo, q.crop)
	if err != nil {
		return nil, err
	}
	cands := featureSource{s}
	return func(k int, f vectorindex.Filter) ([]vectorindex.Hit, error) {
		hits, err := em.Search(idx, k, f)
		if err != nil {
			return nil, err
		}
		return em.Rerank(ctx, hits, cands)
	}, nil
}

// featureSource gives the re-ranking the local features of a hit's photo
// from the feature cache; a photo that cannot be read keeps its place.
type featureSource struct{ s *Server }

func (fs featureSource) Features(ctx context.Context, h vectorindex.Hit) (*localfeat.Features, error) {
	f, err := fs.s.features.Features(ctx, h)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		fs.s.log.Warn("re-rank: photo unreadable, not re-ranked", "image_sha256", h.Photo, "err", err)
		return nil, nil
	}
	return f, nil
}

// loadFeaturePhoto is the photo a catalogue photo's local features are
// found in: its stored copy's thumbnail of localfeat.Side (cached on disk
// like any thumbnail), decoded.
func (s *Server) loadFeaturePhoto(ctx context.Context, sha string) (image.Image, error) {
	b, err := s.thumbs.Get(ctx, sha, localfeat.Side)
	if err != nil {
		return nil, err
	}
	return jpeg.Decode(bytes.NewReader(b))
}

// timedIndex records the time of every index lookup.
type timedIndex struct {
	Index
	h *metrics.HistogramVec
}

func (t timedIndex) Search(q []float32, k int, f vectorindex.Filter) ([]vectorindex.Hit, error) {
	t0 := time.Now()
	hits, err := t.Index.Search(q, k, f)
	t.h.With().Observe(time.Since(t0).Seconds())
	return hits, err
}

// queryVector turns a text or product_id query into a vector of the
// current model.
func (s *Server) queryVector(r *http.Request, eng Engine, q *searchQuery) ([]float32, error) {
	ctx := r.Context()
	switch {
	case q.text != "":
		te, ok := eng.Embedder.(embed.TextEmbedder)
		if !ok || !embed.CanEmbedText(eng.Embedder) {
			return nil, errorf(http.StatusUnprocessableEntity, "text search needs a CLIP model with a text encoder (LOOKALIKE_MODEL_DIR); the current model (%s) only compares photos", eng.Embedder.Model())
		}
		return te.EmbedText(ctx, q.text)
	case q.productID != "":
		k := catalog.Key{ShopID: q.filter.ShopID, ProductID: q.productID}
		p, err := s.store.Get(ctx, k)
		if err != nil {
			if statusOf(err) == http.StatusNotFound {
				return nil, errorf(http.StatusNotFound, "product %s not found in shop %d", k.ProductID, k.ShopID)
			}
			return nil, err
		}
		if !p.Searchable() || p.Model != eng.Embedder.Model() {
			return nil, errorf(http.StatusConflict, "product %s has no vector to search with (index state %s)", k.ProductID, p.IndexState)
		}
		vec, ok, err := s.store.Embedding(ctx, p.ImageSHA256, p.Model)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errorf(http.StatusConflict, "product %s has no vector to search with", k.ProductID)
		}
		vk := vectorindex.Key(k)
		q.filter.Exclude = &vk
		return vec, nil
	}
	return nil, errors.New("api: no text or product_id query")
}

type resultJSON struct {
	ProductID   catalog.ProductID `json:"product_id"`
	ShopID      int64             `json:"shop_id"`
	Score       float32           `json:"score"`
	Title       string            `json:"title"`
	Price       *float64          `json:"price"`
	Currency    *string           `json:"currency"`
	HeightCM    *float64          `json:"height_cm"`
	ImageURL    string            `json:"image_url"`
	ImageSHA256 string            `json:"image_sha256"` // GET /images/{sha} serves the stored copy
	IsAvailable bool              `json:"is_available"`
	URL         string            `json:"url,omitempty"`        // the product's page on the shop's site, absolute when the site is known
	NotifyURL   string            `json:"notify_url,omitempty"` // the shop's "notify me" page; sold-out products only
	Band        embed.Band        `json:"band"`                 // exact, similar or (asked for with min_band=any) weak
	// MatchedImage is the product's photo that matched the query best:
	// its score is the product's.
	MatchedImage imageJSON `json:"matched_image"`
}

// search asks the index, then checks each hit against the stored product so
// a result never shows a deleted product or stale filters. Results weaker
// than the query's min_band are left out. Unless the request asked for an
// availability, sold-out products of the exact band come first (a shopper
// who photographed this very bouquet should learn it is sold out), then
// the in-stock results. more reports results beyond this page.
func (s *Server) search(r *http.Request, eng Engine, find finder, q *searchQuery) (out []resultJSON, more bool, err error) {
	th := embed.ThresholdsOf(eng.Embedder)
	if q.text != "" {
		th = embed.TextThresholds
	}
	want := q.offset + q.limit + 1
	var all []resultJSON
	if q.soldOutExact {
		f := q.filter
		no := false
		f.Available = &no
		if all, err = s.lookup(r, find, f, want, th, embed.BandExact); err != nil {
			return nil, false, err
		}
	}
	rest, err := s.lookup(r, find, q.filter, want-len(all), th, q.minBand)
	if err != nil {
		return nil, false, err
	}
	all = append(all, rest...)
	if len(all) <= q.offset {
		return []resultJSON{}, false, nil
	}
	all = all[q.offset:]
	if len(all) > q.limit {
		return all[:q.limit], true, nil
	}
	return all, false, nil
}

// lookup returns up to n results under filter f of band least or closer,
// best first. The index applies f itself; the store check drops only hits
// changed or deleted a moment ago, and when it drops some of a full list
// the index is asked again for more.
func (s *Server) lookup(r *http.Request, find finder, f vectorindex.Filter, n int, th embed.Thresholds, least embed.Band) ([]resultJSON, error) {
	if n <= 0 {
		return nil, nil
	}
	for ask := n; ; ask *= 2 {
		hits, err := find(ask, f)
		if err != nil {
			return nil, err
		}
		out, dropped, err := s.checkHits(r, hits, f, n, th, least)
		if err != nil || len(out) == n || !dropped || len(hits) < ask || ask >= 16*n {
			return out, err
		}
	}
}

// checkHits turns hits into results, checking each against the stored
// product: up to n of band least or closer. dropped reports hits of that
// band left out because the product changed since it was indexed.
func (s *Server) checkHits(r *http.Request, hits []vectorindex.Hit, f vectorindex.Filter, n int, th embed.Thresholds, least embed.Band) (out []resultJSON, dropped bool, err error) {
	keys := make([]catalog.Key, 0, len(hits))
	for _, h := range hits {
		if !th.Band(h.Score).AtLeast(least) {
			break // hits are best first
		}
		keys = append(keys, catalog.Key(h.Key))
	}
	if len(keys) == 0 {
		return nil, false, nil
	}
	products, err := s.store.GetMany(r.Context(), keys)
	if err != nil {
		return nil, false, err
	}
	out = make([]resultJSON, 0, min(n, len(keys)))
	for _, h := range hits[:len(keys)] {
		p, ok := products[catalog.Key(h.Key)]
		if !ok || !p.Searchable() || !f.Match(h.Key, vectorindex.MetaOf(&p)) {
			dropped = true
			continue
		}
		matched, ok := catalog.PhotoBySHA(p.Photos, h.Photo)
		if !ok {
			dropped = true
			continue // the photo was removed or replaced a moment ago
		}
		j := toPublicJSON(&p)
		res := resultJSON{ProductID: p.ProductID, ShopID: p.ShopID, Score: h.Score, Title: p.Title,
			Price: j.Price, Currency: j.Currency, HeightCM: p.HeightCM, ImageURL: p.ImageURL, ImageSHA256: p.ImageSHA256, IsAvailable: p.Available,
			URL: catalog.AbsoluteLink(p.PageURL(), s.cfg.SiteURL), Band: th.Band(h.Score),
			MatchedImage: imageJSON{URL: matched.URL, ImageSHA256: matched.SHA256}}
		if !p.Available {
			res.NotifyURL = catalog.AbsoluteLink(p.NotifyURL(), s.cfg.SiteURL)
		}
		out = append(out, res)
		if len(out) == n {
			break
		}
	}
	return out, dropped, nil
}
