// Package quality measures how well an embedder finds products from shoppers'
// photos. Every photo of a data set goes into the catalogue as it is; each
// query photo is also "re-photographed" synthetically (cropped, rescaled,
// brightened or darkened, mirrored, JPEG re-encoded; see Transform), or with
// Options.Hard made into a shopper's photo (rotated, white balance drifted,
// blurred, half of the time standing on another photo; see
// RandomHardParams), and searched for among the whole catalogue the way the
// search API does it (regions.Search over a vectorindex.Flat).
//
// Reported: recall@1 (the query's own source photo, or a listed
// near-duplicate of it, comes first), recall@10, and same-kind precision@10
// (the fraction of the first ten results with the query's class label).
package quality

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	_ "image/gif" // decoders for Discover's file types
	"image/jpeg"
	_ "image/png" // decoders for Discover's file types
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lookalike/lookalike/embed"
	"github.com/lookalike/lookalike/localfeat"
	"github.com/lookalike/lookalike/regions"
	"github.com/lookalike/lookalike/vectorindex"
	"github.com/lookalike/lookalike/vectorindex/hnsw"
)

// Options configure Run.
type Options struct {
	// Dir is the data set folder: Dir/<split>/<label>/*.jpg or
	// Dir/<label>/*.jpg, with an optional Dir/NEAR_DUPLICATES.tsv.
	Dir string
	// QuerySplit names the split whose photos become queries ("bench",
	// "dev"); "" or "all" makes every photo a query. The catalogue always
	// holds every photo.
	QuerySplit string
	// Seed makes the synthetic queries; the same seed gives the same queries.
	Seed int64
	// Limit, when positive, keeps only that many queries, drawn from the
	// split at random (by Seed).
	Limit int
	// Workers is how many images are decoded and embedded at once;
	// 0 means runtime.NumCPU().
	Workers int
	// Progress, when set, is called after every photo is done (its catalogue
	// entry, and its query if it has one), from one goroutine at a time.
	Progress func(done, total int)
	// QueryProgress, when set, is called after every query is searched.
	QueryProgress func(done, total int)
	// Hard makes shopper's photos instead of re-photographs (see
	// RandomHardParams): rotated, in other light, blurred, half of them on
	// another photo's background.
	Hard bool
	// Regions configures the multi-region search; nil means
	// regions.ConfigFor(the embedder), what the API uses.
	Regions *regions.Config
	// TimeSingle also times, right after each query's search, the same
	// query searched with the whole frame only (Report.SingleP50Ms), so that
	// the cost of the regions is measured under the same load.
	TimeSingle bool
	// Index is the index the queries search: "flat" (the default, the
	// exact scan) or "hnsw", so that an approximate index's recall loss
	// shows in the figures (see NewIndex).
	Index string
}

// NewIndex returns an empty index of kind "flat" ("" too) or "hnsw" (its
// vectors in an unlinked temporary file).
func NewIndex(kind string, dim int) (vectorindex.Index, error) {
	switch kind {
	case "", "flat":
		return vectorindex.NewFlat(dim), nil
	case "hnsw":
		return hnsw.NewProducts(hnsw.ProductConfig{Dim: dim})
	}
	return nil, fmt.Errorf("quality: unknown index %q (have: flat, hnsw)", kind)
}

// Report is the outcome of Run.
type Report struct {
	Model string `json:"model"`
	Dim   int    `json:"dim"`
	// Catalogue and Queries count the catalogue photos and the queries.
	Catalogue int `json:"catalogue"`
	Queries   int `json:"queries"`
	// Split and Seed echo the options; Protocol is "plain" (re-photographs)
	// or "hard" (shopper's photos, Options.Hard), OnBackground how many hard
	// queries stand on another photo.
	Split        string `json:"split"`
	Seed         int64  `json:"seed"`
	Protocol     string `json:"protocol"`
	OnBackground int    `json:"on_background"`
	// Regions is how many regions of a query the search embeds.
	Regions int `json:"regions"`
	// Rerank is how many of the best hits the search re-ranks by local
	// features (0: none).
	Rerank int `json:"rerank"`
	// Index is the index searched (Options.Index).
	Index string `json:"index"`

	RecallAt1             float64 `json:"recall_at_1"`
	RecallAt10            float64 `json:"recall_at_10"`
	SameKindPrecisionAt10 float64 `json:"same_kind_precision_at_10"`

	// EmbedMsPerImage is the mean time of one EmbedImage call (decoded image
	// in, vector out), in milliseconds, as measured while Workers ran at once.
	EmbedMsPerImage float64 `json:"embed_ms_per_image"`
	// SearchP50Ms and SearchP90Ms are quantiles of the time of one search
	// (regions.Search on a decoded photo: embedding its regions, the index
	// searches, the fusion), queries run one at a time.
	SearchP50Ms float64 `json:"search_p50_ms"`
	SearchP90Ms float64 `json:"search_p90_ms"`
	// Bands is the score distribution and the band thresholds it gives.
	Bands Calibration `json:"bands"`
	// SearchCPUMs is the mean CPU time of one search (this process's user
	// and system time over the searches, divided by their number): what a
	// search costs when it has the cores to itself, whatever else the
	// machine runs. SingleCPUMs is the same for the whole-frame-only
	// searches (Options.TimeSingle).
	SearchCPUMs float64 `json:"search_cpu_ms"`
	SingleCPUMs float64 `json:"single_region_cpu_ms,omitempty"`
	// SingleP50Ms is the p50 of the whole-frame-only search of the same
	// queries (Options.TimeSingle; 0 otherwise).
	SingleP50Ms float64 `json:"single_region_p50_ms,omitempty"`
	// Elapsed is the wall time of the whole run.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Run measures e on the data set in opt.Dir: every photo goes into the
// index (Options.Index), and every query is searched for with regions.Search, the
// function the search API calls.
func Run(ctx context.Context, e embed.Embedder, opt Options) (Report, error) {
	start := time.Now()
	rep := Report{Model: e.Model(), Dim: e.Dim(), Split: opt.QuerySplit, Seed: opt.Seed, Protocol: "plain", Index: opt.Index}
	if rep.Index == "" {
		rep.Index = "flat"
	}
	idx, err := NewIndex(opt.Index, e.Dim())
	if err != nil {
		return rep, err
	}
	defer idx.Close()
	if opt.Hard {
		rep.Protocol = "hard"
	}
	if rep.Split == "" {
		rep.Split = "all"
	}
	cfg := regions.ConfigFor(e)
	if opt.Regions != nil {
		cfg = *opt.Regions
	}
	rep.Regions = len(cfg.Regions)
	rep.Rerank = cfg.Rerank.K
	photos, err := Discover(opt.Dir)
	if err != nil {
		return rep, err
	}
	pairs, err := ReadNearDuplicates(filepath.Join(opt.Dir, "NEAR_DUPLICATES.tsv"))
	if err != nil {
		return rep, fmt.Errorf("quality: near-duplicates: %w", err)
	}
	groups := sceneGroups(photos, pairs)
	labels := make([]string, len(photos))
	for i, p := range photos {
		labels[i] = p.Label
	}
	queryOf := selectQueries(photos, opt.QuerySplit, opt.Seed, opt.Limit)
	nq := 0
	for _, q := range queryOf {
		if q {
			nq++
		}
	}
	if nq == 0 {
		return rep, fmt.Errorf("quality: no query photos in split %q of %s", opt.QuerySplit, opt.Dir)
	}

	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	catalogue := make([][]float32, len(photos))
	// The catalogue photos' local features, for the re-ranking (computed
	// here as the API computes them on first use, from the photo).
	var features catalogueFeatures
	if cfg.Rerank.K > 0 {
		features = make(catalogueFeatures, len(photos))
	}
	queryJPEG := make([][]byte, len(photos))
	var (
		embedNanos atomic.Int64
		embedCalls atomic.Int64
		onBg       atomic.Int64
		firstErr   error
		errOnce    sync.Once
		mu         sync.Mutex
		done       int
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if ctx.Err() != nil {
					continue
				}
				p := photos[i]
				img, err := decodeFile(p.File)
				if err != nil {
					fail(fmt.Errorf("quality: %s: %w", p.Path, err))
					continue
				}
				t := time.Now()
				v, err := e.EmbedImage(ctx, img)
				embedNanos.Add(int64(time.Since(t)))
				embedCalls.Add(1)
				if err == nil && len(v) != e.Dim() {
					err = fmt.Errorf("embedder returned %d values, want Dim() = %d", len(v), e.Dim())
				}
				if err != nil {
					fail(fmt.Errorf("quality: embed %s: %w", p.Path, err))
					continue
				}
				catalogue[i] = v
				if features != nil {
					features[i] = localfeat.Extract(img, false)
				}
				if queryOf[i] {
					q, bg, err := makeQuery(photos, groups, i, img, opt)
					if err != nil {
						fail(fmt.Errorf("quality: transform %s: %w", p.Path, err))
						continue
					}
					if bg {
						onBg.Add(1)
					}
					queryJPEG[i] = q
				}
				if opt.Progress != nil {
					mu.Lock()
					done++
					opt.Progress(done, len(photos))
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for i := range photos {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return rep, firstErr
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}

	// The catalogue in the real index; the queries through the real search,
	// one at a time, so that each is timed alone. The band calibration
	// scores every photo, exactly.
	if err := Fill(idx, catalogue); err != nil {
		return rep, err
	}
	exact := idx
	if !idx.Capabilities().Exact {
		exact = vectorindex.NewFlat(e.Dim())
		if err := Fill(exact, catalogue); err != nil {
			return rep, err
		}
	}
	var (
		results    []judgement
		took       []time.Duration
		tookSingle []time.Duration
		ranked     []int
		scores     []QueryScores
		single     = regions.Config{Regions: []regions.Region{{Box: regions.Whole}}}
		cpu        time.Duration
		cpuSingle  time.Duration
	)
	for i, data := range queryJPEG {
		if data == nil {
			continue
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return rep, fmt.Errorf("quality: query %s: %w", photos[i].Path, err)
		}
		t, c := time.Now(), processCPU()
		em, err := regions.Embed(ctx, e, cfg, img, nil)
		var hits []vectorindex.Hit
		if err == nil {
			hits, err = em.Search(idx, 10, vectorindex.Filter{})
		}
		if err == nil && features != nil {
			hits, err = em.Rerank(ctx, hits, features)
		}
		took = append(took, time.Since(t))
		cpu += processCPU() - c
		if err != nil {
			return rep, fmt.Errorf("quality: search %s: %w", photos[i].Path, err)
		}
		if opt.TimeSingle {
			t, c := time.Now(), processCPU()
			if _, err := regions.Search(ctx, e, idx, single, regions.Query{Image: img, K: 10}); err != nil {
				return rep, fmt.Errorf("quality: search %s: %w", photos[i].Path, err)
			}
			tookSingle = append(tookSingle, time.Since(t))
			cpuSingle += processCPU() - c
		}
		// Every catalogue photo's score, as the search scores it, for the
		// band calibration (untimed).
		all, err := em.Search(exact, len(catalogue), vectorindex.Filter{})
		if err != nil {
			return rep, err
		}
		sc := QueryScores{Source: i, Scores: make([]float32, len(catalogue))}
		for j := range sc.Scores {
			sc.Scores[j] = float32(math.Inf(-1))
		}
		allAt, err := catalogueItems(all)
		if err != nil {
			return rep, err
		}
		for n, j := range allAt {
			sc.Scores[j] = all[n].Score
		}
		scores = append(scores, sc)
		if ranked, err = catalogueItems(hits); err != nil {
			return rep, err
		}
		results = append(results, judge(ranked, i, labels, groups))
		if opt.QueryProgress != nil {
			opt.QueryProgress(len(results), nq)
		}
	}
	m := summarize(results)
	rep.Catalogue = len(photos)
	rep.Queries = m.Queries
	rep.OnBackground = int(onBg.Load())
	rep.RecallAt1 = m.RecallAt1
	rep.RecallAt10 = m.RecallAt10
	rep.SameKindPrecisionAt10 = m.SameKindPrecisionAt10
	rep.Bands = Calibrate(scores, labels, groups)
	if n := embedCalls.Load(); n > 0 {
		rep.EmbedMsPerImage = float64(embedNanos.Load()) / float64(n) / 1e6
	}
	rep.SearchP50Ms, rep.SearchP90Ms = percentileMs(took, 0.5), percentileMs(took, 0.9)
	rep.SingleP50Ms = percentileMs(tookSingle, 0.5)
	if n := len(took); n > 0 {
		rep.SearchCPUMs = float64(cpu) / float64(n) / 1e6
	}
	if n := len(tookSingle); n > 0 {
		rep.SingleCPUMs = float64(cpuSingle) / float64(n) / 1e6
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// catalogueFeatures are the local features of the catalogue photos, by
// position: the re-ranking's Candidates.
type catalogueFeatures []*localfeat.Features

func (c catalogueFeatures) Features(_ context.Context, h vectorindex.Hit) (*localfeat.Features, error) {
	j, err := catalogueItems([]vectorindex.Hit{h})
	if err != nil || j[0] < 0 || j[0] >= len(c) {
		return nil, fmt.Errorf("quality: unexpected hit %v", h.Key)
	}
	return c[j[0]], nil
}

// makeQuery makes the JPEG of the query photo i becomes: a re-photograph
// (Transform) or, with opt.Hard, a shopper's photo (RandomHardParams), on
// the background of another photo (not of i's scene) when the draw says so.
func makeQuery(photos []Photo, groups []int, i int, img image.Image, opt Options) ([]byte, bool, error) {
	rng := queryRand(opt.Seed, photos[i].Path)
	if !opt.Hard {
		data, err := transformJPEG(img, RandomParams(rng))
		return data, false, err
	}
	p := RandomHardParams(rng)
	var bg image.Image
	if p.Background {
		j := rng.Intn(len(photos))
		for groups[j] == groups[i] {
			j = (j + 1) % len(photos)
			if j == i { // every photo is one scene
				p.Background = false
				break
			}
		}
		if p.Background {
			var err error
			if bg, err = decodeFile(photos[j].File); err != nil {
				return nil, false, fmt.Errorf("background %s: %w", photos[j].Path, err)
			}
		}
	}
	data, _, err := hardJPEG(img, bg, p)
	return data, p.Background, err
}

// percentileMs is the q-quantile of d (nearest rank), in milliseconds.
func percentileMs(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return float64(s[max(0, min(i, len(s)-1))]) / 1e6
}

// selectQueries marks the photos that become queries.
func selectQueries(photos []Photo, split string, seed int64, limit int) []bool {
	var idx []int
	for i, p := range photos {
		if split == "" || split == "all" || p.Split == split {
			idx = append(idx, i)
		}
	}
	if limit > 0 && limit < len(idx) {
		rng := rand.New(rand.NewSource(seed))
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		idx = idx[:limit]
		sort.Ints(idx)
	}
	q := make([]bool, len(photos))
	for _, i := range idx {
		q[i] = true
	}
	return q
}

// queryRand returns the random source of the query made from the photo at
// path: it depends on the seed and the path only, so a query is the same
// whatever the order of work, the limit or the other photos.
func queryRand(seed int64, path string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(path))
	return rand.New(rand.NewSource(int64(h.Sum64()) ^ seed*-7046029254386353131))
}

func decodeFile(file string) (image.Image, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, err
	}
	if b := img.Bounds(); b.Empty() {
		return nil, errors.New("empty image")
	}
	return img, nil
}

// SearchFixture embeds every photo of the data set in dir into a flat index
// (as Run's catalogue) and makes up to limit hard queries (shopper's photos,
// seed seed) of the split's photos, decoded: what a search benchmark needs.
func SearchFixture(ctx context.Context, e embed.Embedder, dir, split string, seed int64, limit int) (vectorindex.Index, []image.Image, error) {
	photos, err := Discover(dir)
	if err != nil {
		return nil, nil, err
	}
	pairs, err := ReadNearDuplicates(filepath.Join(dir, "NEAR_DUPLICATES.tsv"))
	if err != nil {
		return nil, nil, err
	}
	groups := sceneGroups(photos, pairs)
	queryOf := selectQueries(photos, split, seed, limit)
	idx := vectorindex.NewFlat(e.Dim())
	var queries []image.Image
	for i, p := range photos {
		img, err := decodeFile(p.File)
		if err != nil {
			return nil, nil, fmt.Errorf("quality: %s: %w", p.Path, err)
		}
		v, err := e.EmbedImage(ctx, img)
		if err != nil {
			return nil, nil, err
		}
		if err := idx.Upsert(photoKey(i), "", v, vectorindex.Meta{Available: true}); err != nil {
			return nil, nil, err
		}
		if !queryOf[i] {
			continue
		}
		data, _, err := makeQuery(photos, groups, i, img, Options{Hard: true, Seed: seed})
		if err != nil {
			return nil, nil, err
		}
		q, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, nil, err
		}
		queries = append(queries, q)
	}
	return idx, queries, nil
}
