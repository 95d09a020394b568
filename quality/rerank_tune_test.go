package quality

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/lookalike/lookalike/embed/builtin"
	"github.com/lookalike/lookalike/localfeat"
	"github.com/lookalike/lookalike/regions"
	"github.com/lookalike/lookalike/vectorindex"
)

// rerankQuery is one dev query's fused top candidates and their inliers.
type rerankQuery struct {
	src     int
	cands   []int
	inliers []int
}

// TestTuneRerank is a development tool, not a test: with LOOKALIKE_TUNE set
// to the flower folder it makes the dev split's queries (seeds 1 to
// LOOKALIKE_TUNE_PLAIN_SEEDS plain, default 5, and 1 to
// LOOKALIKE_TUNE_HARD_SEEDS hard, default 3), searches each as the search
// does (regions, the fused top 10), counts each candidate's local-feature
// inliers (localfeat) and prints recall@1 of re-ranking rules.
func TestTuneRerank(t *testing.T) {
	dir := os.Getenv("LOOKALIKE_TUNE")
	if dir == "" {
		t.Skip("LOOKALIKE_TUNE is not set")
	}
	photos, groups := tunePhotos(t, dir)
	e := builtin.New()
	cfg := regions.ConfigFor(e)
	idx := vectorindex.NewFlat(e.Dim())
	feats := make([]*localfeat.Features, len(photos))
	vecs := make([][]float32, len(photos))
	fusionParallel(len(photos), func(i int) {
		img, err := decodeFile(photos[i].File)
		if err != nil {
			panic(err)
		}
		vecs[i], _ = e.EmbedImage(context.Background(), img)
		feats[i] = localfeat.Extract(img, false)
	})
	if err := Fill(idx, vecs); err != nil {
		t.Fatal(err)
	}
	var srcs []int
	for i, p := range photos {
		if p.Split == "dev" {
			srcs = append(srcs, i)
		}
	}
	const K = 10
	load := func(hard bool, seed int64) []rerankQuery {
		qs := make([]rerankQuery, len(srcs))
		fusionParallel(len(srcs), func(k int) {
			i := srcs[k]
			img, err := decodeFile(photos[i].File)
			if err != nil {
				panic(err)
			}
			data, _, err := makeQuery(photos, groups, i, img, Options{Hard: hard, Seed: seed})
			if err != nil {
				panic(err)
			}
			q, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				panic(err)
			}
			hits, err := regions.Search(context.Background(), e, idx, cfg, regions.Query{Image: q, K: K})
			if err != nil {
				panic(err)
			}
			cands, err := catalogueItems(hits)
			if err != nil {
				panic(err)
			}
			qf, qm := localfeat.ExtractBoth(q)
			rq := rerankQuery{src: i, cands: cands}
			for _, c := range cands {
				rq.inliers = append(rq.inliers, localfeat.BestInliers(qf, qm, feats[c]))
			}
			qs[k] = rq
		})
		return qs
	}
	var plain, hard []rerankQuery
	for s := 1; s <= envInt("LOOKALIKE_TUNE_PLAIN_SEEDS", 5); s++ {
		plain = append(plain, load(false, int64(s))...)
	}
	for s := 1; s <= envInt("LOOKALIKE_TUNE_HARD_SEEDS", 3); s++ {
		hard = append(hard, load(true, int64(s))...)
	}
	right := func(q rerankQuery, c int) bool { return c == q.src || groups[c] == groups[q.src] }
	// Inlier distributions: the right candidate's, and the best wrong one's.
	dist := func(name string, qs []rerankQuery) {
		var own, other []int
		for _, q := range qs {
			bo := 0
			for n, c := range q.cands {
				if right(q, c) {
					own = append(own, q.inliers[n])
				} else {
					bo = max(bo, q.inliers[n])
				}
			}
			other = append(other, bo)
		}
		sort.Ints(own)
		sort.Ints(other)
		pct := func(v []int, p float64) int {
			if len(v) == 0 {
				return -1
			}
			return v[min(len(v)-1, int(p*float64(len(v))))]
		}
		fmt.Printf("%s: right candidate inliers p1 %d p5 %d p10 %d p50 %d; best wrong p50 %d p90 %d p95 %d p99 %d p99.9 %d max %d\n", name,
			pct(own, 0.01), pct(own, 0.05), pct(own, 0.10), pct(own, 0.5), pct(other, 0.5), pct(other, 0.9), pct(other, 0.95), pct(other, 0.99), pct(other, 0.999), pct(other, 1))
	}
	dist("plain", plain)
	dist("hard", hard)
	eval := func(qs []rerankQuery, k, thr int, gap float64) (r1 float64) {
		for _, q := range qs {
			top := 0
			if thr > 0 {
				bi, bn := -1, 0
				for n := range min(k, len(q.cands)) {
					if q.inliers[n] > bn {
						bi, bn = n, q.inliers[n]
					}
				}
				if bi > 0 && bn >= thr && float64(bn) >= gap*float64(q.inliers[0]) {
					top = bi
				}
			}
			if len(q.cands) > 0 && right(q, q.cands[top]) {
				r1++
			}
		}
		return r1 / float64(len(qs))
	}
	fmt.Printf("%d plain, %d hard dev queries\n", len(plain), len(hard))
	fmt.Printf("no re-rank: plain r@1 %.4f hard r@1 %.4f\n", eval(plain, K, 0, 0), eval(hard, K, 0, 0))
	for _, k := range []int{5, 8, 10} {
		for _, thr := range []int{8, 10, 12, 15, 20, 25, 30, 40} {
			for _, gap := range []float64{1, 1.5, 2, 3} {
				fmt.Printf("K %2d thr %3d gap %.1f: plain r@1 %.4f hard r@1 %.4f\n", k, thr, gap, eval(plain, k, thr, gap), eval(hard, k, thr, gap))
			}
		}
	}
}

// tunePhotos is the data set in dir and its scene groups, for the tuning
// tools.
func tunePhotos(t *testing.T, dir string) ([]Photo, []int) {
	photos, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := ReadNearDuplicates(filepath.Join(dir, "NEAR_DUPLICATES.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	return photos, sceneGroups(photos, pairs)
}
