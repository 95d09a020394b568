//go:build cgo

package onnxgen_test

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/lookalike/lookalike/embed/clip"
	"github.com/lookalike/lookalike/onnxgen"
)

var ortOnce struct {
	sync.Once
	err error
}

// needORT loads ONNX Runtime (found as clip.FindLibrary finds it) or skips
// the test; under CI a missing library fails it.
func needORT(t *testing.T) {
	t.Helper()
	path, err := clip.FindLibrary("")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("skipping: %v", err)
	}
	ortOnce.Do(func() {
		ort.SetSharedLibraryPath(path)
		ortOnce.err = ort.InitializeEnvironment(ort.WithLogLevelError())
	})
	if ortOnce.err != nil {
		t.Fatal(ortOnce.err)
	}
}

func session(t *testing.T, m *onnxgen.Model, in, out string) *ort.DynamicAdvancedSession {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := m.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	opts.SetIntraOpNumThreads(1)
	s, err := ort.NewDynamicAdvancedSession(path, []string{in}, []string{out}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Destroy() })
	return s
}

func run[T ort.TensorData](t *testing.T, s *ort.DynamicAdvancedSession, shape ort.Shape, data []T) ([]float32, ort.Shape) {
	t.Helper()
	in, err := ort.NewTensor(shape, data)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	outs := []ort.Value{nil}
	if err := s.Run([]ort.Value{in}, outs); err != nil {
		t.Fatal(err)
	}
	defer outs[0].Destroy()
	o := outs[0].(*ort.Tensor[float32])
	return append([]float32(nil), o.GetData()...), o.GetShape()
}

func floats(raw []byte) []float32 {
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v
}

// TestEncodedGraphRuns checks the encoder against ONNX Runtime on a graph
// whose result is computed here too: LayerNorm(x·W + b).
func TestEncodedGraphRuns(t *testing.T) {
	needORT(t)
	b := onnxgen.NewBuilder("check", 3)
	x := b.Input("x", onnxgen.Float, onnxgen.P("n"), onnxgen.D(3))
	wName := b.Random("w", []int64{3, 4}, 0, 1)
	bName := b.Random("b", []int64{4}, 0, 1)
	y := b.Op("Add", []string{b.Op("MatMul", []string{x, wName}), bName})
	gamma := b.Init(onnxgen.FloatTensor("gamma", []int64{4}, []float32{1, 2, 3, 4}))
	beta := b.Init(onnxgen.FloatTensor("beta", []int64{4}, []float32{0, 0, 1, 1}))
	y = b.Op("LayerNormalization", []string{y, gamma, beta}, onnxgen.AInt("axis", -1), onnxgen.AFloat("epsilon", 1e-5))
	b.Output(y, "y", onnxgen.Float, onnxgen.P("n"), onnxgen.D(4))
	m := &onnxgen.Model{Graph: b.G}
	s := session(t, m, "x", "y")

	in := []float32{0.5, -1, 2, 3, 0, -0.25}
	got, shape := run(t, s, ort.NewShape(2, 3), in)
	if shape[0] != 2 || shape[1] != 4 {
		t.Fatalf("shape %v", shape)
	}
	var w, bias []float32
	for _, tn := range b.G.Initializers {
		switch tn.Name {
		case "w":
			w = floats(tn.Raw)
		case "b":
			bias = floats(tn.Raw)
		}
	}
	g, be := []float32{1, 2, 3, 4}, []float32{0, 0, 1, 1}
	for r := 0; r < 2; r++ {
		var h [4]float64
		for j := 0; j < 4; j++ {
			h[j] = float64(bias[j])
			for k := 0; k < 3; k++ {
				h[j] += float64(in[r*3+k]) * float64(w[k*4+j])
			}
		}
		mean := (h[0] + h[1] + h[2] + h[3]) / 4
		var v float64
		for j := range h {
			v += (h[j] - mean) * (h[j] - mean)
		}
		v /= 4
		for j := 0; j < 4; j++ {
			want := (h[j]-mean)/math.Sqrt(v+1e-5)*float64(g[j]) + float64(be[j])
			if math.Abs(float64(got[r*4+j])-want) > 1e-4 {
				t.Errorf("y[%d][%d] = %v, want %v", r, j, got[r*4+j], want)
			}
		}
	}
}

// TestTextTowerSemantics: CLIP's text tower reads the tokens up to
// <|endoftext|> (causal attention, pooling at the largest id) and each row
// of a batch on its own.
func TestTextTowerSemantics(t *testing.T) {
	needORT(t)
	cfg, _ := onnxgen.Arch("tiny")
	m, err := onnxgen.TextModel(cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	s := session(t, m, onnxgen.TextInput, onnxgen.TextOutput)
	row := func(tokens ...int64) []int64 {
		r := make([]int64, 77)
		copy(r, tokens)
		return r
	}
	embed := func(rows ...[]int64) [][]float32 {
		var ids []int64
		for _, r := range rows {
			ids = append(ids, r...)
		}
		out, shape := run(t, s, ort.NewShape(int64(len(rows)), 77), ids)
		if shape[0] != int64(len(rows)) || shape[1] != 512 {
			t.Fatalf("shape %v", shape)
		}
		res := make([][]float32, len(rows))
		for i := range res {
			res[i] = out[i*512 : (i+1)*512]
		}
		return res
	}
	base := row(49406, 320, 1125, 49407)
	afterEOT := row(49406, 320, 1125, 49407, 555, 666) // junk after the end
	before := row(49406, 320, 1126, 49407)
	v := embed(base, afterEOT, before)
	if d := diff(v[0], v[1]); d > 1e-5 {
		t.Errorf("tokens after <|endoftext|> changed the output by %v", d)
	}
	if d := diff(v[0], v[2]); d < 1e-3 {
		t.Errorf("a token before <|endoftext|> changed the output only by %v", d)
	}
	alone := embed(base)[0]
	if d := diff(alone, v[0]); d > 1e-5 {
		t.Errorf("row depends on its batch: %v", d)
	}
}

// TestVisualTowerBatches: each image of a batch is embedded on its own.
func TestVisualTowerBatches(t *testing.T) {
	needORT(t)
	cfg, _ := onnxgen.Arch("tiny")
	m, err := onnxgen.VisualModel(cfg, 5)
	if err != nil {
		t.Fatal(err)
	}
	s := session(t, m, onnxgen.VisualInput, onnxgen.VisualOutput)
	n := 3 * 32 * 32
	px := make([]float32, 3*n)
	for i := range px {
		px[i] = float32(math.Sin(float64(i) * 0.37))
	}
	all, shape := run(t, s, ort.NewShape(3, 3, 32, 32), px)
	if shape[0] != 3 || shape[1] != 512 {
		t.Fatalf("shape %v", shape)
	}
	one, _ := run(t, s, ort.NewShape(1, 3, 32, 32), px[n:2*n])
	if d := diff(one, all[512:1024]); d > 1e-5 {
		t.Errorf("image depends on its batch: %v", d)
	}
	if d := diff(all[:512], all[512:1024]); d < 1e-3 {
		t.Errorf("different images, near-equal outputs (%v)", d)
	}
}

func diff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(float64(a[i]-b[i])))
	}
	return m
}
