package builtin

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"image"
	"image/jpeg"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/viterin/vek/vek32"

	"github.com/lookalike/lookalike/quality"
	"github.com/lookalike/lookalike/regions"
)

// The descriptor tuning tool (not a test): with LOOKALIKE_TUNE set to the
// flower folder, TestTuneDescriptor makes hard and plain queries of the dev
// photos (LOOKALIKE_TUNE_SEEDS seeds each, cached under
// LOOKALIKE_TUNE_CACHE), embeds the catalogue and the queries' regions
// (regions.DefaultConfig) with every block of each variant, and prints
// recall@1 and @10 of both protocols for the variant's weights; with
// LOOKALIKE_TUNE_ASCENT it then tunes the block weights by coordinate
// ascent. Only dev photos become queries.

type tuneData struct {
	photos []quality.Photo
	cat    []image.Image
	same   func(i, j int) bool
	hard   []tuneQuery
	plain  []tuneQuery
}

type tuneQuery struct {
	src int
	img image.Image
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func loadTuneData(t *testing.T, dir string) *tuneData {
	photos, err := quality.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := quality.ReadNearDuplicates(filepath.Join(dir, "NEAR_DUPLICATES.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for i, p := range photos {
		index[p.Path] = i
	}
	dup := map[[2]int]bool{}
	for _, p := range pairs {
		a, ok1 := index[p[0]]
		b, ok2 := index[p[1]]
		if ok1 && ok2 {
			dup[[2]int{a, b}], dup[[2]int{b, a}] = true, true
		}
	}
	d := &tuneData{photos: photos, cat: make([]image.Image, len(photos))}
	d.same = func(i, j int) bool { return i == j || dup[[2]int{i, j}] }
	parallel(len(photos), func(i int) {
		img, err := decodeFileT(photos[i].File)
		if err != nil {
			panic(err)
		}
		d.cat[i] = img
	})
	cache := os.Getenv("LOOKALIKE_TUNE_CACHE")
	if cache == "" {
		cache = filepath.Join(os.TempDir(), "lookalike-tune")
	}
	os.MkdirAll(cache, 0o755)
	seeds := envInt("LOOKALIKE_TUNE_SEEDS", 1)
	type job struct {
		src  int
		seed int64
		hard bool
	}
	var jobs []job
	for i, p := range photos {
		if p.Split != "dev" {
			continue
		}
		for s := int64(1); s <= int64(seeds); s++ {
			jobs = append(jobs, job{i, s, true}, job{i, s, false})
		}
	}
	out := make([]tuneQuery, len(jobs))
	parallel(len(jobs), func(k int) {
		j := jobs[k]
		kind := "plain"
		if j.hard {
			kind = "hard"
		}
		file := filepath.Join(cache, fmt.Sprintf("%s-%d-%d.jpg", kind, j.seed, j.src))
		data, err := os.ReadFile(file)
		if err != nil {
			h := fnv.New64a()
			h.Write([]byte(photos[j.src].Path))
			rng := rand.New(rand.NewSource(int64(h.Sum64()) ^ j.seed*7919))
			var img image.Image
			if j.hard {
				p := quality.RandomHardParams(rng)
				var bg image.Image
				if p.Background {
					b := rng.Intn(len(photos))
					for d.same(b, j.src) {
						b = (b + 1) % len(photos)
					}
					bg = d.cat[b]
				}
				img, _, err = quality.ApplyHard(d.cat[j.src], bg, p)
			} else {
				img, err = quality.ApplyTransform(d.cat[j.src], quality.RandomParams(rng))
			}
			if err != nil {
				panic(err)
			}
			var buf bytes.Buffer
			jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
			data = buf.Bytes()
			os.WriteFile(file, data, 0o644)
		}
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			panic(err)
		}
		out[k] = tuneQuery{j.src, img}
	})
	for k, j := range jobs {
		if j.hard {
			d.hard = append(d.hard, out[k])
		} else {
			d.plain = append(d.plain, out[k])
		}
	}
	return d
}

func decodeFileT(file string) (image.Image, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	return img, err
}

func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// rawEmbedder returns every block of a config, each unit length, unweighted.
type rawEmbedder struct{ *Embedder }

func (r rawEmbedder) EmbedImage(_ context.Context, img image.Image) ([]float32, error) {
	s := r.pool.Get().(*scratch)
	defer r.pool.Put(s)
	out := make([]float32, r.dim)
	r.describe(s, img, out)
	return out, nil
}

// tuneVectors are the raw block vectors of a variant.
type tuneVectors struct {
	layout []blockSpec
	cat    [][]float32
	hard   [][][]float32 // [query][region]
	plain  [][][]float32
}

func embedVariant(d *tuneData, cfg config) *tuneVectors {
	cfg.weights = nil
	e := rawEmbedder{newWithConfig(cfg)}
	v := &tuneVectors{layout: e.layout, cat: make([][]float32, len(d.cat))}
	parallel(len(d.cat), func(i int) {
		v.cat[i], _ = e.EmbedImage(context.Background(), d.cat[i])
	})
	rc := regions.DefaultConfig()
	embedQ := func(qs []tuneQuery) [][][]float32 {
		out := make([][][]float32, len(qs))
		parallel(len(qs), func(i int) {
			img := regions.Prescale(qs[i].img, 2*cfg.size)
			out[i] = make([][]float32, len(rc.Regions))
			for r, reg := range rc.Regions {
				out[i][r], _ = e.EmbedImage(context.Background(), regions.Crop(img, reg.Box))
			}
		})
		return out
	}
	v.hard = embedQ(d.hard)
	v.plain = embedQ(d.plain)
	return v
}

// blockScale is the per-dimension factor that makes the dot product of two
// raw block vectors the cosine of their vectors weighted by w.
func blockScale(layout []blockSpec, w map[string]float32, dim int) []float32 {
	sc := make([]float32, dim)
	var total float32
	for _, b := range layout {
		total += w[b.name] * w[b.name]
	}
	for _, b := range layout {
		for i := b.off; i < b.off+b.n; i++ {
			sc[i] = w[b.name] * w[b.name] / total
		}
	}
	return sc
}

type tuneResult struct {
	r1, r10, margin float64
}

func (r tuneResult) String() string {
	return fmt.Sprintf("r@1 %.4f r@10 %.4f margin %.4f", r.r1, r.r10, r.margin)
}

// evaluate scores queries against the catalogue with block weights w: the
// score is the best region's weighted cosine, windows less pen.
func evaluate(d *tuneData, v *tuneVectors, qs []tuneQuery, qv [][][]float32, w map[string]float32, pen float32, nreg int) tuneResult {
	dim := len(v.cat[0])
	sc := blockScale(v.layout, w, dim)
	res := make([]tuneResult, len(qs))
	parallel(len(qs), func(qi int) {
		q := make([]float32, dim)
		best := make([]float32, len(v.cat))
		for i := range best {
			best[i] = float32(math.Inf(-1))
		}
		for r := 0; r < min(nreg, len(qv[qi])); r++ {
			vek32.Mul_Into(q, qv[qi][r], sc)
			p := float32(0)
			if r > 0 {
				p = pen
			}
			for i, c := range v.cat {
				if s := vek32.Dot(q, c) - p; s > best[i] {
					best[i] = s
				}
			}
		}
		src := qs[qi].src
		own := float32(math.Inf(-1))
		for i, s := range best {
			if d.same(i, src) {
				own = max(own, s)
			}
		}
		above := 0
		other := float32(math.Inf(-1))
		for i, s := range best {
			if !d.same(i, src) {
				other = max(other, s)
				if s >= own {
					above++
				}
			}
		}
		var r tuneResult
		if above == 0 {
			r.r1 = 1
		}
		if above < 10 {
			r.r10 = 1
		}
		r.margin = math.Max(-0.01, math.Min(0.01, float64(own-other)))
		res[qi] = r
	})
	var out tuneResult
	for _, r := range res {
		out.r1 += r.r1
		out.r10 += r.r10
		out.margin += r.margin
	}
	n := float64(len(res))
	out.r1, out.r10, out.margin = out.r1/n, out.r10/n, out.margin/n
	return out
}

// tuneVariants are the configs compared; LOOKALIKE_TUNE_VARIANTS picks some
// by name (comma-separated).
func tuneVariants() map[string]config {
	vs := map[string]config{"v1": v1Config(), "v2": v2Config(), "v3": v3Config(), "current": defaultConfig()}
	add := func(name string, f func(c *config)) {
		c := v1Config()
		f(&c)
		vs[name] = c
	}
	add("gw1", func(c *config) { c.wbAlpha, c.wbP = 1, 1 })
	add("gw05", func(c *config) { c.wbAlpha, c.wbP = 0.5, 1 })
	add("sog6", func(c *config) { c.wbAlpha, c.wbP = 1, 6 })
	add("gw1e", func(c *config) { c.wbAlpha, c.wbP, c.expoTarget, c.expoAlpha = 1, 1, 110, 1 })
	add("gw1e05", func(c *config) { c.wbAlpha, c.wbP, c.expoTarget, c.expoAlpha = 1, 1, 110, 0.5 })
	add("blur1", func(c *config) { c.preBlur = 1 })
	add("gw03", func(c *config) { c.wbAlpha, c.wbP = 0.3, 1 })
	add("gw07", func(c *config) { c.wbAlpha, c.wbP = 0.7, 1 })
	add("sog4_05", func(c *config) { c.wbAlpha, c.wbP = 0.5, 4 })
	add("gw05e05", func(c *config) { c.wbAlpha, c.wbP, c.expoTarget, c.expoAlpha = 0.5, 1, 110, 0.5 })
	add("gw05b1", func(c *config) { c.wbAlpha, c.wbP, c.preBlur = 0.5, 1, 1 })
	add("gw05o6", func(c *config) { c.wbAlpha, c.wbP, c.orientBins = 0.5, 1, 6 })
	add("gw04", func(c *config) { c.wbAlpha, c.wbP = 0.4, 1 })
	add("gw03o6", func(c *config) { c.wbAlpha, c.wbP, c.orientBins = 0.3, 1, 6 })
	add("gw03b1", func(c *config) { c.wbAlpha, c.wbP, c.preBlur = 0.3, 1, 1 })
	add("o6", func(c *config) { c.orientBins = 6 })
	// Working sizes of builtin-v2 (v3 is v2 at 112 px).
	add2 := func(name string, f func(c *config)) {
		c := v2Config()
		f(&c)
		vs[name] = c
	}
	add2("v2s112", func(c *config) { c.size = 112 })
	add2("v2s128", func(c *config) { c.size = 128 })
	add2("v2s192", func(c *config) { c.size = 192 })
	add2("v2s96", func(c *config) { c.size = 96 })
	add2("v2s80", func(c *config) { c.size = 80 })
	return vs
}

func TestTuneDescriptor(t *testing.T) {
	dir := os.Getenv("LOOKALIKE_TUNE")
	if dir == "" {
		t.Skip("LOOKALIKE_TUNE is not set")
	}
	d := loadTuneData(t, dir)
	fmt.Printf("catalogue %d, hard %d, plain %d\n", len(d.cat), len(d.hard), len(d.plain))
	vs := tuneVariants()
	names := strings.Split(os.Getenv("LOOKALIKE_TUNE_VARIANTS"), ",")
	if names[0] == "" {
		names = names[:0]
		for n := range vs {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	pen := float32(0)
	if p := os.Getenv("LOOKALIKE_TUNE_PEN"); p != "" {
		f, _ := strconv.ParseFloat(p, 32)
		pen = float32(f)
	}
	for _, name := range names {
		cfg, ok := vs[name]
		if !ok {
			t.Fatalf("no variant %q", name)
		}
		v := embedVariant(d, cfg)
		w := cfg.weights
		h := evaluate(d, v, d.hard, v.hard, w, pen, 6)
		p := evaluate(d, v, d.plain, v.plain, w, pen, 6)
		pw := evaluate(d, v, d.plain, v.plain, w, pen, 1)
		fmt.Printf("%-10s hard %v | plain %v | plain whole %v\n", name, h, p, pw)
		if os.Getenv("LOOKALIKE_TUNE_ASCENT") != "" {
			ascend(d, v, w, pen)
		}
	}
}

// candDots are, per query, the per-block dot products of every region
// with the catalogue items a full search ranks best (and the query's own),
// so that weights can be evaluated without scanning the catalogue.
type candDots struct {
	nb, nreg int
	qs       []candQuery
}

type candQuery struct {
	own  []bool    // per candidate: the query's own product
	dots []float32 // [region][candidate][block]
}

func precompute(d *tuneData, v *tuneVectors, qs []tuneQuery, qv [][][]float32, w map[string]float32, k int) *candDots {
	dim := len(v.cat[0])
	sc := blockScale(v.layout, w, dim)
	nb := len(v.layout)
	cd := &candDots{nb: nb, nreg: len(qv[0]), qs: make([]candQuery, len(qs))}
	parallel(len(qs), func(qi int) {
		q := make([]float32, dim)
		best := make([]float32, len(v.cat))
		for i := range best {
			best[i] = float32(math.Inf(-1))
		}
		for r := range qv[qi] {
			vek32.Mul_Into(q, qv[qi][r], sc)
			for i, c := range v.cat {
				best[i] = max(best[i], vek32.Dot(q, c))
			}
		}
		idx := make([]int, len(best))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return best[idx[a]] > best[idx[b]] })
		var cands []int
		for i, c := range idx {
			if i < k || d.same(c, qs[qi].src) {
				cands = append(cands, c)
			}
		}
		cq := candQuery{own: make([]bool, len(cands)), dots: make([]float32, cd.nreg*len(cands)*nb)}
		for ci, c := range cands {
			cq.own[ci] = d.same(c, qs[qi].src)
			for r := range qv[qi] {
				for bi, b := range v.layout {
					cq.dots[(r*len(cands)+ci)*nb+bi] = vek32.Dot(qv[qi][r][b.off:b.off+b.n], v.cat[c][b.off:b.off+b.n])
				}
			}
		}
		cd.qs[qi] = cq
	})
	return cd
}

func (cd *candDots) eval(layout []blockSpec, w map[string]float32, nreg int) tuneResult {
	a := make([]float32, cd.nb)
	var total float32
	for bi, b := range layout {
		a[bi] = w[b.name] * w[b.name]
		total += a[bi]
	}
	for bi := range a {
		a[bi] /= total
	}
	var out tuneResult
	for _, q := range cd.qs {
		nc := len(q.own)
		own, other := float32(math.Inf(-1)), float32(math.Inf(-1))
		fused := make([]float32, nc)
		for ci := range fused {
			fused[ci] = float32(math.Inf(-1))
		}
		for r := 0; r < min(nreg, cd.nreg); r++ {
			for ci := 0; ci < nc; ci++ {
				row := q.dots[(r*nc+ci)*cd.nb : (r*nc+ci+1)*cd.nb]
				var s float32
				for bi, x := range row {
					s += a[bi] * x
				}
				fused[ci] = max(fused[ci], s)
			}
		}
		for ci, s := range fused {
			if q.own[ci] {
				own = max(own, s)
			}
		}
		above := 0
		for ci, s := range fused {
			if !q.own[ci] {
				other = max(other, s)
				if s >= own {
					above++
				}
			}
		}
		if above == 0 {
			out.r1++
		}
		if above < 10 {
			out.r10++
		}
		out.margin += math.Max(-0.01, math.Min(0.01, float64(own-other)))
	}
	n := float64(len(cd.qs))
	out.r1, out.r10, out.margin = out.r1/n, out.r10/n, out.margin/n
	return out
}

// ascend tunes the weights by coordinate ascent on hard and plain recall
// and margin, printing each improvement.
func ascend(d *tuneData, v *tuneVectors, w0 map[string]float32, pen float32) {
	w := map[string]float32{}
	for _, b := range v.layout {
		w[b.name] = w0[b.name]
	}
	rounds := envInt("LOOKALIKE_TUNE_ROUNDS", 2)
	plainW := float64(envInt("LOOKALIKE_TUNE_PLAINW", 2))
	for round := 0; round < rounds; round++ {
		ch := precompute(d, v, d.hard, v.hard, w, 60)
		cp := precompute(d, v, d.plain, v.plain, w, 60)
		obj := func(w map[string]float32) (float64, string) {
			h := ch.eval(v.layout, w, 6)
			p := cp.eval(v.layout, w, 6)
			return h.r1 + 0.5*h.r10 + plainW*p.r1 + 20*(h.margin+p.margin), fmt.Sprintf("hard %v | plain %v", h, p)
		}
		best, desc := obj(w)
		fmt.Printf("round %d start %.4f %s\n", round, best, desc)
		for _, b := range v.layout {
			for _, f := range []float32{0, 0.7, 1.4} {
				old := w[b.name]
				nw := old * f
				if old == 0 && f > 0 {
					nw = 0.5 * f
				}
				if nw == old {
					continue
				}
				w[b.name] = nw
				o, dsc := obj(w)
				if o > best+1e-4 {
					best, desc = o, dsc
					fmt.Printf("  %s %.3g -> %.3g: %.4f %s\n", b.name, old, nw, o, dsc)
					break
				}
				w[b.name] = old
			}
		}
		var parts []string
		for _, b := range v.layout {
			if w[b.name] > 0 {
				parts = append(parts, fmt.Sprintf("%q: %.3g", b.name, w[b.name]))
			}
		}
		fmt.Printf("round %d: %.4f %s\nweights {%s}\n", round, best, desc, strings.Join(parts, ", "))
		h := evaluate(d, v, d.hard, v.hard, w, pen, 6)
		p := evaluate(d, v, d.plain, v.plain, w, pen, 6)
		fmt.Printf("round %d full: hard %v | plain %v\n", round, h, p)
	}
}
