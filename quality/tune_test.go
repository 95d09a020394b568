package quality

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/embed/builtin"
	"github.com/lookalike/lookalike/regions"
	"github.com/lookalike/lookalike/vectorindex"
)

// TestTuneRegions is a development tool, not a test: with LOOKALIKE_TUNE set
// to the flower folder it embeds hard dev queries at a grid of windows once
// and prints the figures of several region sets and penalties.
func TestTuneRegions(t *testing.T) {
	dir := os.Getenv("LOOKALIKE_TUNE")
	if dir == "" {
		t.Skip("LOOKALIKE_TUNE is not set")
	}
	hard := os.Getenv("LOOKALIKE_TUNE_PLAIN") == ""
	n, _ := strconv.Atoi(os.Getenv("LOOKALIKE_TUNE_N"))
	e := builtin.New()
	ctx := context.Background()
	photos, _ := Discover(dir)
	pairs, _ := ReadNearDuplicates(filepath.Join(dir, "NEAR_DUPLICATES.tsv"))
	groups := sceneGroups(photos, pairs)
	labels := make([]string, len(photos))
	for i, p := range photos {
		labels[i] = p.Label
	}
	queryOf := selectQueries(photos, "dev", 1, n)
	idx := vectorindex.NewFlat(e.Dim())
	// The grid: whole, and windows of several sides at 9 positions.
	var grid []regions.Box
	grid = append(grid, regions.Whole)
	sides := []float64{0.55, 0.65, 0.75}
	if os.Getenv("LOOKALIKE_TUNE_SMALL") != "" {
		sides = []float64{0.75}
	}
	for _, side := range sides {
		for _, py := range []float64{0, 0.5, 1} {
			for _, px := range []float64{0, 0.5, 1} {
				grid = append(grid, regions.Box{X: px * (1 - side), Y: py * (1 - side), W: side, H: side})
			}
		}
	}
	type qv struct {
		src  int
		vecs [][]float32
	}
	var qs []qv
	for i, p := range photos {
		img, err := decodeFile(p.File)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := e.EmbedImage(ctx, img)
		idx.Upsert(photoKey(i), "", v, vectorindex.Meta{Available: true})
		if !queryOf[i] {
			continue
		}
		seeds, _ := strconv.Atoi(os.Getenv("LOOKALIKE_TUNE_SEEDS"))
		for seed := int64(1); seed <= int64(max(2, seeds)); seed++ {
			data, _, err := makeQuery(photos, groups, i, img, Options{Hard: hard, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			q, _ := jpeg.Decode(bytes.NewReader(data))
			var regs []regions.Region
			for _, b := range grid {
				regs = append(regs, regions.Region{Box: b})
			}
			vecs, err := regions.EmbedRegions(ctx, e, q, regs)
			if err != nil {
				t.Fatal(err)
			}
			qs = append(qs, qv{i, vecs})
		}
	}
	lists := make([][][]vectorindex.Hit, len(qs))
	for qi, q := range qs {
		lists[qi] = make([][]vectorindex.Hit, len(grid))
		for g, v := range q.vecs {
			lists[qi][g], _ = idx.Search(v, 50, vectorindex.Filter{})
		}
	}
	eval := func(name string, sel []int, pen float32) {
		regs := make([]regions.Region, len(sel))
		var res []judgement
		for qi, q := range qs {
			ls := make([][]vectorindex.Hit, len(sel))
			for k, g := range sel {
				ls[k] = lists[qi][g]
				regs[k] = regions.Region{Box: grid[g]}
				if g != 0 {
					regs[k].Penalty = pen
				}
			}
			hits := regions.Fuse(ls, regions.Config{Regions: regs}, 10)
			var ranked []int
			for _, h := range hits {
				j, _ := strconv.Atoi(string(h.Key.ProductID))
				ranked = append(ranked, j)
			}
			res = append(res, judge(ranked, q.src, labels, groups))
		}
		m := summarize(res)
		fmt.Printf("%-40s pen %.3f  r@1 %.4f r@10 %.4f p@10 %.4f\n", name, pen, m.RecallAt1, m.RecallAt10, m.SameKindPrecisionAt10)
	}
	// grid index: 1 + side*9 + py*3 + px
	at := func(side, py, px int) int { return 1 + side*9 + py*3 + px }
	five := func(side int) []int {
		if side >= len(sides) {
			return nil
		}
		return []int{at(side, 0, 0), at(side, 0, 2), at(side, 2, 0), at(side, 2, 2), at(side, 1, 1)}
	}
	nine := func(side int) []int {
		var s []int
		if side >= len(sides) {
			return nil
		}
		for py := 0; py < 3; py++ {
			for px := 0; px < 3; px++ {
				s = append(s, at(side, py, px))
			}
		}
		return s
	}
	corners := func(side int) []int { return five(side)[:4] }
	sets := map[string][]int{"whole": {0}}
	if len(sides) == 1 {
		sets = map[string][]int{"whole": {0}, "whole+5@0.75": append([]int{0}, five(0)...)}
	}
	for s, name := range []string{"0.55", "0.65", "0.75"} {
		if len(sides) == 1 {
			break
		}
		sets["whole+5@"+name] = append([]int{0}, five(s)...)
		sets["whole+9@"+name] = append([]int{0}, nine(s)...)
	}
	if len(sides) > 1 {
		sets["whole+5@0.75+4@0.55"] = append(append([]int{0}, five(2)...), corners(0)...)
		sets["whole+5@0.75+4@0.6"] = append(append([]int{0}, five(2)...), corners(1)...)
		sets["whole+5@0.75+5@0.55"] = append(append([]int{0}, five(2)...), five(0)...)
		sets["whole+4@0.75+5@0.6"] = append(append([]int{0}, corners(2)...), five(1)...)
		sets["whole+9@0.65+c@0.75"] = append(append([]int{0}, nine(1)...), at(2, 1, 1))
	}
	sets["all"] = func() []int {
		s := make([]int, len(grid))
		for i := range s {
			s[i] = i
		}
		return s
	}()
	names := make([]string, 0, len(sets))
	for k := range sets {
		names = append(names, k)
	}
	sort.Strings(names)
	pens := []float32{0, 0.005, 0.01, 0.02}
	if p := os.Getenv("LOOKALIKE_TUNE_PENS"); p != "" {
		pens = nil
		for _, f := range strings.Split(p, ",") {
			v, _ := strconv.ParseFloat(f, 32)
			pens = append(pens, float32(v))
		}
	}
	for _, name := range names {
		for _, pen := range pens {
			eval(name, sets[name], pen)
			if name == "whole" {
				break
			}
		}
	}
}
