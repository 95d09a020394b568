package quality

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/viterin/vek/vek32"
	xdraw "golang.org/x/image/draw"

	"github.com/lookalike/lookalike/embed/builtin"
	"github.com/lookalike/lookalike/regions"
	"github.com/lookalike/lookalike/vectorindex"
)

// TestTuneFusion is a development tool, not a test: with LOOKALIKE_TUNE set
// to the flower folder it makes the dev split's queries under many seeds
// (LOOKALIKE_TUNE_PLAIN_SEEDS plain re-photographs, default 10, and
// LOOKALIKE_TUNE_HARD_SEEDS shopper's photos, default 5, each photo made by
// makeQuery exactly as Run makes it), embeds each at regions.DefaultConfig's
// regions as the search does (regions.Embed), scores every catalogue photo
// from every region (cached under LOOKALIKE_TUNE_CACHE), and prints recall@1
// and @10 of both protocols for fusion rules fed what regions.Fuse is fed
// (each region's top Depth hits). Only dev photos become queries; the
// catalogue holds every photo. LOOKALIKE_TUNE_BUILTIN picks the version.
func TestTuneFusion(t *testing.T) {
	dir := os.Getenv("LOOKALIKE_TUNE")
	if dir == "" {
		t.Skip("LOOKALIKE_TUNE is not set")
	}
	d := loadFusionData(t, dir)
	cfg := regions.ConfigFor(d.e)
	fmt.Printf("%d plain and %d hard dev queries, %d regions, catalogue %d\n", len(d.plain), len(d.hard), len(cfg.Regions), d.n)
	type rule struct {
		name string
		cfg  regions.Config
	}
	var rules []rule
	add := func(name string, mod func(c *regions.Config)) {
		c := regions.ConfigFor(d.e)
		mod(&c)
		rules = append(rules, rule{name, c})
	}
	add("default", func(c *regions.Config) {})
	add("max", func(c *regions.Config) { c.TrustMargin = 0 })
	add("whole only", func(c *regions.Config) { c.Regions = c.Regions[:1] })
	for _, m := range fusionFloats("LOOKALIKE_TUNE_MARGINS", "0.002,0.003,0.004,0.005") {
		for _, p := range fusionFloats("LOOKALIKE_TUNE_PENALTIES", "0.002,0.004,0.006") {
			add(fmt.Sprintf("trust margin %.4f penalty %.4f", m, p), func(c *regions.Config) {
				c.TrustMargin, c.TrustedPenalty = float32(m), float32(p)
			})
		}
	}
	for _, r := range rules {
		p := d.eval(r.cfg, d.plain)
		h := d.eval(r.cfg, d.hard)
		fmt.Printf("%-34s plain r@1 %.4f r@10 %.4f p@10 %.4f | hard r@1 %.4f r@10 %.4f p@10 %.4f\n", r.name,
			p.RecallAt1, p.RecallAt10, p.SameKindPrecisionAt10, h.RecallAt1, h.RecallAt10, h.SameKindPrecisionAt10)
	}
	if os.Getenv("LOOKALIKE_TUNE_DIAG") != "" {
		d.diagnose(cfg)
		// Plain recall@1 per kind, fused and with the whole frame alone.
		whole := cfg
		whole.Regions = cfg.Regions[:1]
		byLabel := map[string][]fusionQuery{}
		for _, q := range d.plain {
			byLabel[d.labels[q.src]] = append(byLabel[d.labels[q.src]], q)
		}
		for _, l := range []string{"daisy", "dandelion", "roses", "sunflowers", "tulips"} {
			f, w := d.eval(cfg, byLabel[l]), d.eval(whole, byLabel[l])
			fmt.Printf("plain %-10s %4d queries: r@1 %.4f fused, %.4f whole frame\n", l, len(byLabel[l]), f.RecallAt1, w.RecallAt1)
		}
	}
}

func fusionFloats(env, def string) []float64 {
	s := os.Getenv(env)
	if s == "" {
		s = def
	}
	var out []float64
	for _, f := range bytes.Split([]byte(s), []byte(",")) {
		v, err := strconv.ParseFloat(string(f), 64)
		if err == nil {
			out = append(out, v)
		}
	}
	return out
}

// fusionQuery is one query's score of every catalogue photo from each region.
type fusionQuery struct {
	src    int
	scores [][]float32 // [region][catalogue photo]
}

type fusionData struct {
	e           *builtin.Embedder
	n           int
	labels      []string
	groups      []int
	plain, hard []fusionQuery
}

func loadFusionData(t *testing.T, dir string) *fusionData {
	photos, groups := tunePhotos(t, dir)
	e := builtin.New()
	if v := os.Getenv("LOOKALIKE_TUNE_BUILTIN"); v != "" {
		var ok bool
		if e, ok = builtin.ByName(v); !ok {
			t.Fatalf("no builtin version %q", v)
		}
	}
	d := &fusionData{e: e, n: len(photos), groups: groups}
	for _, p := range photos {
		d.labels = append(d.labels, p.Label)
	}
	cfg := regions.DefaultConfig()
	cache := os.Getenv("LOOKALIKE_TUNE_CACHE")
	if cache == "" {
		cache = filepath.Join(os.TempDir(), "lookalike-fusion")
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	// With LOOKALIKE_TUNE_SMALL the dev photos are small ones: each reduced
	// (catalogue and query alike) to a longer side of 100–200 px drawn from
	// its path, as many of a shop's older photos are.
	small := os.Getenv("LOOKALIKE_TUNE_SMALL") != ""
	loadPhoto := func(p Photo) (image.Image, error) {
		img, err := decodeFile(p.File)
		if err != nil || !small || p.Split != "dev" {
			return img, err
		}
		b := img.Bounds()
		long := 100 + int(queryRand(0, p.Path).Int63()%101)
		f := float64(long) / float64(max(b.Dx(), b.Dy()))
		dst := image.NewRGBA(image.Rect(0, 0, max(1, int(float64(b.Dx())*f+0.5)), max(1, int(float64(b.Dy())*f+0.5))))
		xdraw.ApproxBiLinear.Scale(dst, dst.Rect, img, b, xdraw.Src, nil)
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 90}); err != nil {
			return nil, err
		}
		return jpeg.Decode(&buf)
	}
	var cat [][]float32
	catalogue := func() [][]float32 {
		if cat != nil {
			return cat
		}
		cat = make([][]float32, len(photos))
		fusionParallel(len(photos), func(i int) {
			img, err := loadPhoto(photos[i])
			if err != nil {
				panic(err)
			}
			cat[i], _ = e.EmbedImage(context.Background(), img)
		})
		return cat
	}
	load := func(hard bool, seed int64) []fusionQuery {
		kind := "plain"
		if hard {
			kind = "hard"
		}
		if small {
			kind += "-small"
		}
		file := filepath.Join(cache, fmt.Sprintf("%s-%s-%d-r%d.bin", e.Model(), kind, seed, len(cfg.Regions)))
		if qs, err := readFusion(file, len(cfg.Regions), len(photos)); err == nil {
			return qs
		}
		var srcs []int
		for i, p := range photos {
			if p.Split == "dev" {
				srcs = append(srcs, i)
			}
		}
		cv := catalogue()
		qs := make([]fusionQuery, len(srcs))
		fusionParallel(len(srcs), func(k int) {
			i := srcs[k]
			img, err := loadPhoto(photos[i])
			if err != nil {
				panic(err)
			}
			data, _, err := makeQuery(photos, d.groups, i, img, Options{Hard: hard, Seed: seed})
			if err != nil {
				panic(err)
			}
			q, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				panic(err)
			}
			em, err := regions.Embed(context.Background(), e, cfg, q, nil)
			if err != nil {
				panic(err)
			}
			fq := fusionQuery{src: i}
			for _, v := range em.Vectors() {
				s := make([]float32, len(cv))
				for j, c := range cv {
					s[j] = vek32.Dot(v, c)
				}
				fq.scores = append(fq.scores, s)
			}
			qs[k] = fq
		})
		if err := writeFusion(file, qs); err != nil {
			t.Fatal(err)
		}
		return qs
	}
	for s := 1; s <= envInt("LOOKALIKE_TUNE_PLAIN_SEEDS", 10); s++ {
		d.plain = append(d.plain, load(false, int64(s))...)
	}
	for s := 1; s <= envInt("LOOKALIKE_TUNE_HARD_SEEDS", 5); s++ {
		d.hard = append(d.hard, load(true, int64(s))...)
	}
	return d
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func fusionParallel(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		}()
	}
	wg.Wait()
}

func writeFusion(file string, qs []fusionQuery) error {
	f, err := os.Create(file + ".tmp")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	binary.Write(w, binary.LittleEndian, int32(len(qs)))
	for _, q := range qs {
		binary.Write(w, binary.LittleEndian, int32(q.src))
		for _, s := range q.scores {
			binary.Write(w, binary.LittleEndian, s)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(file+".tmp", file)
}

func readFusion(file string, nreg, ncat int) ([]fusionQuery, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var n int32
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
		return nil, err
	}
	qs := make([]fusionQuery, n)
	for k := range qs {
		var src int32
		if err := binary.Read(r, binary.LittleEndian, &src); err != nil {
			return nil, err
		}
		qs[k].src = int(src)
		for range nreg {
			s := make([]float32, ncat)
			if err := binary.Read(r, binary.LittleEndian, s); err != nil {
				return nil, err
			}
			qs[k].scores = append(qs[k].scores, s)
		}
	}
	if _, err := r.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%s: trailing data", file)
	}
	return qs, nil
}

// lists are the per-region hit lists the index would return for q: each
// region's top depth photos, best first (ties in catalogue order).
func (d *fusionData) lists(q fusionQuery, nreg, depth int) [][]vectorindex.Hit {
	out := make([][]vectorindex.Hit, nreg)
	for r := range nreg {
		s := q.scores[r]
		idx := make([]int, len(s))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return s[idx[a]] > s[idx[b]] })
		for _, i := range idx[:min(depth, len(idx))] {
			out[r] = append(out[r], vectorindex.Hit{Key: photoKey(i), Score: s[i]})
		}
	}
	return out
}

// eval runs regions.Fuse as cfg configures it over each query's lists.
func (d *fusionData) eval(cfg regions.Config, qs []fusionQuery) Metrics {
	res := make([]judgement, len(qs))
	fusionParallel(len(qs), func(k int) {
		q := qs[k]
		depth := cfg.Depth
		if len(cfg.Regions) == 1 {
			depth = 10
		}
		ls := d.lists(q, len(cfg.Regions), depth)
		hits := regions.Fuse(ls, cfg, 10)
		ranked, _ := catalogueItems(hits)
		res[k] = judge(ranked, q.src, d.labels, d.groups)
	})
	return summarize(res)
}

// diagnose prints, for the plain queries the default fusion gets wrong at
// rank 1, what the whole frame alone did.
func (d *fusionData) diagnose(cfg regions.Config) {
	for _, q := range d.plain {
		ls := d.lists(q, len(cfg.Regions), cfg.Depth)
		hits := regions.Fuse(ls, cfg, 10)
		ranked, _ := catalogueItems(hits)
		if judge(ranked, q.src, d.labels, d.groups).hit1 == 1 {
			continue
		}
		w, _ := catalogueItems(ls[0])
		right := q.scores[0][q.src]
		best := float32(math.Inf(-1))
		bestR := -1
		for r := range q.scores {
			if q.scores[r][ranked[0]] > best {
				best, bestR = q.scores[r][ranked[0]], r
			}
		}
		fmt.Printf("plain miss src %d: whole top %d %.4f, 2nd %.4f, right %.4f (rank-1 by whole: %v); fused top %d %.4f from region %d\n",
			q.src, w[0], ls[0][0].Score, ls[0][1].Score, right, d.groups[w[0]] == d.groups[q.src], ranked[0], best, bestR)
	}
}

// fusionFeatures are one candidate product's region scores: whole the
// whole frame's, wins the windows' sorted best first; a region whose list
// does not hold the product gives it that list's last score.
type fusionFeatures struct {
	item  int
	whole float32
	wins  []float32
}

func (d *fusionData) candidates(q fusionQuery, nreg, depth int) []fusionFeatures {
	ls := d.lists(q, nreg, depth)
	seen := map[int]bool{}
	var out []fusionFeatures
	for _, l := range ls {
		items, _ := catalogueItems(l)
		for _, it := range items {
			if seen[it] {
				continue
			}
			seen[it] = true
			f := fusionFeatures{item: it}
			for r, l2 := range ls {
				s := l2[len(l2)-1].Score
				if q.scores[r][it] >= s {
					s = q.scores[r][it]
				}
				if r == 0 {
					f.whole = s
				} else {
					f.wins = append(f.wins, s)
				}
			}
			sort.Slice(f.wins, func(a, b int) bool { return f.wins[a] > f.wins[b] })
			out = append(out, f)
		}
	}
	return out
}

// evalScorer ranks each query's candidates by score and judges the top 10.
func (d *fusionData) evalScorer(qs []fusionQuery, cands [][]fusionFeatures, score func(f fusionFeatures, all []fusionFeatures) float32) Metrics {
	res := make([]judgement, len(qs))
	for k, q := range qs {
		cs := cands[k]
		type sc struct {
			item int
			s    float32
		}
		ss := make([]sc, len(cs))
		for i, f := range cs {
			ss[i] = sc{f.item, score(f, cs)}
		}
		sort.Slice(ss, func(a, b int) bool {
			if ss[a].s != ss[b].s {
				return ss[a].s > ss[b].s
			}
			return ss[a].item < ss[b].item
		})
		var ranked []int
		for _, s := range ss[:min(10, len(ss))] {
			ranked = append(ranked, s.item)
		}
		res[k] = judge(ranked, q.src, d.labels, d.groups)
	}
	return summarize(res)
}

// TestTuneFusionScores compares scoring families over the candidates.
func TestTuneFusionScores(t *testing.T) {
	dir := os.Getenv("LOOKALIKE_TUNE")
	if dir == "" {
		t.Skip("LOOKALIKE_TUNE is not set")
	}
	d := loadFusionData(t, dir)
	cfg := regions.DefaultConfig()
	cp := make([][]fusionFeatures, len(d.plain))
	ch := make([][]fusionFeatures, len(d.hard))
	fusionParallel(len(cp), func(k int) { cp[k] = d.candidates(d.plain[k], len(cfg.Regions), cfg.Depth) })
	fusionParallel(len(ch), func(k int) { ch[k] = d.candidates(d.hard[k], len(cfg.Regions), cfg.Depth) })
	show := func(name string, score func(f fusionFeatures, all []fusionFeatures) float32) {
		p := d.evalScorer(d.plain, cp, score)
		h := d.evalScorer(d.hard, ch, score)
		fmt.Printf("%-40s plain r@1 %.4f r@10 %.4f | hard r@1 %.4f r@10 %.4f p@10 %.4f\n", name, p.RecallAt1, p.RecallAt10, h.RecallAt1, h.RecallAt10, h.SameKindPrecisionAt10)
	}
	show("max", func(f fusionFeatures, _ []fusionFeatures) float32 { return max(f.whole, f.wins[0]) })
	tops := func(all []fusionFeatures) (w, m float32) {
		for _, f := range all {
			w, m = max(w, f.whole), max(m, f.wins[0])
		}
		return
	}
	for _, dl := range []float32{0.002, 0.003, 0.004, 0.005} {
		for _, pen := range []float32{0.002, 0.004, 0.006, 0.01, 0.02} {
			show(fmt.Sprintf("trusted %.3f: max(whole, win-%.3f)", dl, pen), func(f fusionFeatures, all []fusionFeatures) float32 {
				w, m := tops(all)
				if w >= m-dl {
					return max(f.whole, f.wins[0]-pen)
				}
				return max(f.whole, f.wins[0])
			})
		}
	}
	for _, dl := range []float32{-0.002, -0.001, 0, 0.001, 0.002, 0.003, 0.004, 0.006, 0.01} {
		show(fmt.Sprintf("whole if wtop >= wintop - %.3f", dl), func(f fusionFeatures, all []fusionFeatures) float32 {
			w, m := tops(all)
			if w >= m-dl {
				return f.whole
			}
			return max(f.whole, f.wins[0])
		})
	}
	show("whole", func(f fusionFeatures, _ []fusionFeatures) float32 { return f.whole })
	for _, a := range []float32{0.1, 0.2, 0.3, 0.5} {
		show(fmt.Sprintf("max + %.2f*(whole-max)", a), func(f fusionFeatures, _ []fusionFeatures) float32 {
			m := max(f.whole, f.wins[0])
			return m + a*(f.whole-m)
		})
	}
	for _, b := range []float32{0.1, 0.25, 0.5, 1} {
		show(fmt.Sprintf("max + %.2f*2nd region", b), func(f fusionFeatures, _ []fusionFeatures) float32 {
			all := append([]float32{f.whole}, f.wins...)
			sort.Slice(all, func(i, j int) bool { return all[i] > all[j] })
			return all[0] + b*all[1]
		})
		show(fmt.Sprintf("max + %.2f*mean regions", b), func(f fusionFeatures, _ []fusionFeatures) float32 {
			var s float32
			for _, w := range f.wins {
				s += w
			}
			s = (s + f.whole) / float32(len(f.wins)+1)
			return max(f.whole, f.wins[0]) + b*s
		})
		show(fmt.Sprintf("max + %.2f*whole", b), func(f fusionFeatures, _ []fusionFeatures) float32 {
			return max(f.whole, f.wins[0]) + b*f.whole
		})
		show(fmt.Sprintf("max + %.2f*(2nd win)", b), func(f fusionFeatures, _ []fusionFeatures) float32 {
			return max(f.whole, f.wins[0]) + b*f.wins[1]
		})
	}
}

// TestTuneFusionRules compares fusion rules written over the region lists.
func TestTuneFusionRules(t *testing.T) {
	dir := os.Getenv("LOOKALIKE_TUNE")
	if dir == "" {
		t.Skip("LOOKALIKE_TUNE is not set")
	}
	d := loadFusionData(t, dir)
	cfg := regions.ConfigFor(d.e)
	type listsOf [][]vectorindex.Hit
	lp := make([]listsOf, len(d.plain))
	lh := make([]listsOf, len(d.hard))
	fusionParallel(len(lp), func(k int) { lp[k] = d.lists(d.plain[k], len(cfg.Regions), cfg.Depth) })
	fusionParallel(len(lh), func(k int) { lh[k] = d.lists(d.hard[k], len(cfg.Regions), cfg.Depth) })
	run := func(qs []fusionQuery, ls []listsOf, rule func(l [][]vectorindex.Hit) []vectorindex.Hit) Metrics {
		res := make([]judgement, len(qs))
		for k, q := range qs {
			ranked, _ := catalogueItems(rule(ls[k]))
			res[k] = judge(ranked, q.src, d.labels, d.groups)
		}
		return summarize(res)
	}
	show := func(name string, rule func(l [][]vectorindex.Hit) []vectorindex.Hit) {
		p, h := run(d.plain, lp, rule), run(d.hard, lh, rule)
		fmt.Printf("%-44s plain r@1 %.4f r@10 %.4f | hard r@1 %.4f r@10 %.4f p@10 %.4f\n", name, p.RecallAt1, p.RecallAt10, h.RecallAt1, h.RecallAt10, h.SameKindPrecisionAt10)
	}
	show("current", func(l [][]vectorindex.Hit) []vectorindex.Hit { return regions.Fuse(l, cfg, 10) })
	// agree counts the windows whose top n hold the whole frame's best.
	agree := func(l [][]vectorindex.Hit, n int) int {
		c := 0
		for _, w := range l[1:] {
			for _, h := range w[:min(n, len(w))] {
				if h.Key == l[0][0].Key {
					c++
					break
				}
			}
		}
		return c
	}
	for _, n := range []int{1, 3, 10} {
		for _, m := range []int{2, 3, 4, 5} {
			show(fmt.Sprintf("trust also if %d windows' top %d agree", m, n), func(l [][]vectorindex.Hit) []vectorindex.Hit {
				c := cfg
				if agree(l, n) >= m {
					c.TrustMargin = 1
				}
				return regions.Fuse(l, c, 10)
			})
		}
	}
}
