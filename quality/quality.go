// Package quality measures how well an embedder finds products from shoppers'
// photos. Every photo of a data set goes into the catalogue as it is; each
// query photo is also "re-photographed" synthetically (cropped, rescaled,
// brightened or darkened, mirrored, JPEG re-encoded; see Transform) and
// searched for among the whole catalogue by cosine similarity, brute force.
//
// Reported: recall@1 (the query's own source photo, or a listed
// near-duplicate of it, comes first), recall@10, and same-kind precision@10
// (the fraction of the first ten results with the query's class label).
package quality

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	_ "image/gif"  // decoders for Discover's file types
	_ "image/jpeg" // decoders for Discover's file types
	_ "image/png"  // decoders for Discover's file types
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lookalike/lookalike/embed"
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
}

// Report is the outcome of Run.
type Report struct {
	Model string `json:"model"`
	Dim   int    `json:"dim"`
	// Catalogue and Queries count the catalogue photos and the queries.
	Catalogue int `json:"catalogue"`
	Queries   int `json:"queries"`
	// Split and Seed echo the options.
	Split string `json:"split"`
	Seed  int64  `json:"seed"`

	RecallAt1             float64 `json:"recall_at_1"`
	RecallAt10            float64 `json:"recall_at_10"`
	SameKindPrecisionAt10 float64 `json:"same_kind_precision_at_10"`

	// EmbedMsPerImage is the mean time of one EmbedImage call (decoded image
	// in, vector out), in milliseconds, as measured while Workers ran at once.
	EmbedMsPerImage float64 `json:"embed_ms_per_image"`
	// Elapsed is the wall time of the whole run.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Run measures e on the data set in opt.Dir.
func Run(ctx context.Context, e embed.Embedder, opt Options) (Report, error) {
	start := time.Now()
	rep := Report{Model: e.Model(), Dim: e.Dim(), Split: opt.QuerySplit, Seed: opt.Seed}
	if rep.Split == "" {
		rep.Split = "all"
	}
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
	queryVec := make([][]float32, len(photos))
	var (
		embedNanos atomic.Int64
		embedCalls atomic.Int64
		firstErr   error
		errOnce    sync.Once
		mu         sync.Mutex
		done       int
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	embedOne := func(img image.Image) ([]float32, error) {
		t := time.Now()
		v, err := e.EmbedImage(ctx, img)
		embedNanos.Add(int64(time.Since(t)))
		embedCalls.Add(1)
		if err == nil && len(v) != e.Dim() {
			err = fmt.Errorf("embedder returned %d values, want Dim() = %d", len(v), e.Dim())
		}
		return v, err
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
				v, err := embedOne(img)
				if err != nil {
					fail(fmt.Errorf("quality: embed %s: %w", p.Path, err))
					continue
				}
				catalogue[i] = v
				if queryOf[i] {
					q, err := Transform(img, queryRand(opt.Seed, p.Path))
					if err != nil {
						fail(fmt.Errorf("quality: transform %s: %w", p.Path, err))
						continue
					}
					v, err := embedOne(q)
					if err != nil {
						fail(fmt.Errorf("quality: embed query %s: %w", p.Path, err))
						continue
					}
					queryVec[i] = v
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

	var queries []Query
	for i, v := range queryVec {
		if v != nil {
			queries = append(queries, Query{Vector: v, Source: i})
		}
	}
	m := Evaluate(catalogue, labels, groups, queries, workers)
	rep.Catalogue = len(photos)
	rep.Queries = m.Queries
	rep.RecallAt1 = m.RecallAt1
	rep.RecallAt10 = m.RecallAt10
	rep.SameKindPrecisionAt10 = m.SameKindPrecisionAt10
	if n := embedCalls.Load(); n > 0 {
		rep.EmbedMsPerImage = float64(embedNanos.Load()) / float64(n) / 1e6
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
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
