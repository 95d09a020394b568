package localfeat_test

import (
	"context"
	"errors"
	"image"
	"testing"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/localfeat"
	"github.com/lookalike/lookalike/vectorindex"
)

// byPhoto is the features of test photos by Hit.Photo.
type byPhoto map[string]*localfeat.Features

func (m byPhoto) Features(_ context.Context, h vectorindex.Hit) (*localfeat.Features, error) {
	return m[h.Photo], nil
}

func hit(id, photo string, score float32) vectorindex.Hit {
	return vectorindex.Hit{Key: vectorindex.Key{ShopID: 1, ProductID: catalog.ProductID(id)}, Photo: photo, Score: score}
}

func TestRerankPromotesTheSamePhoto(t *testing.T) {
	ps := photos(t)
	cands := byPhoto{}
	var names []string
	for name, img := range ps {
		cands[name] = localfeat.Extract(img, false)
		names = append(names, name)
	}
	ctx := context.Background()
	cfg := localfeat.DefaultRerank()
	for _, own := range names {
		q := localfeat.NewQuery(rephoto(t, ps[own], [4]float64{0.1, 0.1, 0.8, 0.8}, 0.9, 0, 1.1, 5, true))
		// The descriptor put the photo third, after two others.
		var hits []vectorindex.Hit
		for _, n := range names {
			if n != own && len(hits) < 2 {
				hits = append(hits, hit(n, n, 0.99-float32(len(hits))*0.001))
			}
		}
		hits = append(hits, hit(own, own, 0.97))
		for _, n := range names {
			if n != own && n != hits[0].Photo && n != hits[1].Photo {
				hits = append(hits, hit(n, n, 0.96))
			}
		}
		before := append([]vectorindex.Hit(nil), hits...)
		out, at, err := localfeat.Rerank(ctx, cfg, q, hits, cands)
		if err != nil {
			t.Fatal(err)
		}
		if at != 2 || out[0].Photo != own || out[0].Score != 0.99 {
			t.Fatalf("%s: promoted %d, first %v; want the photo from place 2 first with the first hit's score", own, at, out[0])
		}
		if out[1] != before[0] || out[2] != before[1] || out[3] != before[3] || out[4] != before[4] {
			t.Fatalf("%s: the others moved: %v", own, out)
		}
		// Checking only the first two leaves it where it was.
		hits = append([]vectorindex.Hit(nil), before...)
		if out, at, _ := localfeat.Rerank(ctx, localfeat.RerankConfig{K: 2, MinInliers: cfg.MinInliers, Gap: cfg.Gap}, q, hits, cands); at != -1 || out[2] != before[2] {
			t.Fatalf("%s: K 2 promoted %d", own, at)
		}
		// Already first: nothing moves.
		first := append([]vectorindex.Hit{before[2]}, before[0], before[1])
		if _, at, _ := localfeat.Rerank(ctx, cfg, q, first, cands); at != -1 {
			t.Fatalf("%s: promoted %d of a list it already led", own, at)
		}
	}
	// An unrelated query (a photo not in the candidates) promotes nothing.
	var hits []vectorindex.Hit
	for i, n := range names[1:] {
		hits = append(hits, hit(n, n, 0.9-float32(i)*0.01))
	}
	q := localfeat.NewQuery(ps[names[0]])
	if _, at, _ := localfeat.Rerank(ctx, cfg, q, hits, cands); at != -1 {
		t.Fatalf("an unrelated photo promoted %d", at)
	}
	// K 0 and a nil query: off.
	if _, at, _ := localfeat.Rerank(ctx, localfeat.RerankConfig{}, q, hits, cands); at != -1 {
		t.Fatal("K 0 re-ranked")
	}
}

func TestCacheLoadsOnceAndKeepsItsLimit(t *testing.T) {
	ps := photos(t)
	loads := map[string]int{}
	c := localfeat.NewCache(2, func(_ context.Context, key string) (image.Image, error) {
		loads[key]++
		if img, ok := ps[key]; ok {
			return img, nil
		}
		return nil, errors.New("no such photo")
	})
	var names []string
	for n := range ps {
		names = append(names, n)
	}
	ctx := context.Background()
	a, err := c.Get(ctx, names[0])
	if err != nil || a == nil || len(a.Points) == 0 {
		t.Fatalf("get: %v %v", a, err)
	}
	if b, _ := c.Get(ctx, names[0]); b != a || loads[names[0]] != 1 {
		t.Fatalf("second get loaded again (%d loads)", loads[names[0]])
	}
	c.Get(ctx, names[1])
	c.Get(ctx, names[0]) // most recent: names[1] goes first
	c.Get(ctx, names[2])
	if c.Len() != 2 || c.Bytes() < 2*1000 {
		t.Fatalf("cache holds %d photos, %d bytes", c.Len(), c.Bytes())
	}
	c.Get(ctx, names[0])
	c.Get(ctx, names[1])
	if loads[names[0]] != 1 || loads[names[1]] != 2 {
		t.Fatalf("loads %v: want the least recently used dropped", loads)
	}
	if _, err := c.Get(ctx, "missing"); err == nil {
		t.Fatal("a photo that cannot be loaded gave features")
	}
	if f, err := c.Features(ctx, vectorindex.Hit{}); f != nil || err != nil {
		t.Fatalf("a hit without a photo: %v %v", f, err)
	}
}
