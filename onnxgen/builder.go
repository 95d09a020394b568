package onnxgen

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Builder adds nodes and initializers to a graph with generated names.
type Builder struct {
	G   Graph
	n   int
	rng splitmix
}

// NewBuilder returns a builder whose random weights come from seed.
func NewBuilder(name string, seed uint64) *Builder {
	return &Builder{G: Graph{Name: name}, rng: splitmix(seed)}
}

// Extend returns a builder that adds to an existing graph (for instance a
// generated one) without reusing its generated names.
func Extend(g Graph, seed uint64) *Builder {
	return &Builder{G: g, n: len(g.Nodes) + len(g.Initializers), rng: splitmix(seed)}
}

func (b *Builder) name(prefix string) string {
	b.n++
	return fmt.Sprintf("%s_%d", prefix, b.n)
}

// Op adds a node with one output and returns the output's name.
func (b *Builder) Op(op string, inputs []string, attrs ...Attr) string {
	out := b.name(op)
	b.G.Nodes = append(b.G.Nodes, Node{Name: out, OpType: op, Inputs: inputs, Outputs: []string{out}, Attrs: attrs})
	return out
}

// OpN adds a node with n outputs.
func (b *Builder) OpN(op string, n int, inputs []string, attrs ...Attr) []string {
	name := b.name(op)
	outs := make([]string, n)
	for i := range outs {
		outs[i] = fmt.Sprintf("%s_out%d", name, i)
	}
	b.G.Nodes = append(b.G.Nodes, Node{Name: name, OpType: op, Inputs: inputs, Outputs: outs, Attrs: attrs})
	return outs
}

// Init adds an initializer (its name is replaced by a generated one when
// empty) and returns its name.
func (b *Builder) Init(t *Tensor) string {
	if t.Name == "" {
		t.Name = b.name("const")
	}
	b.G.Initializers = append(b.G.Initializers, t)
	return t.Name
}

// Ints adds a constant int64 vector.
func (b *Builder) Ints(v ...int64) string {
	return b.Init(Int64Tensor("", []int64{int64(len(v))}, v))
}

// Scalar adds a constant float32 scalar.
func (b *Builder) Scalar(v float32) string {
	return b.Init(FloatTensor("", nil, []float32{v}))
}

// Random adds a float32 initializer of the given shape with values drawn
// uniformly from mean ± std·√3 (so their standard deviation is std).
func (b *Builder) Random(name string, dims []int64, mean, std float32) string {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	raw := make([]byte, 4*n)
	a := float64(std) * math.Sqrt(3)
	for i := int64(0); i < n; i++ {
		u := float64(b.rng.next()>>11)/(1<<53)*2 - 1
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(mean+float32(u*a)))
	}
	return b.Init(&Tensor{Name: name, Dims: dims, DataType: Float, Raw: raw})
}

// Input and Output declare graph inputs and outputs.
func (b *Builder) Input(name string, elem int32, shape ...Dim) string {
	b.G.Inputs = append(b.G.Inputs, ValueInfo{Name: name, ElemType: elem, Shape: shape})
	return name
}

// Output names the value out as a graph output called name (with an
// Identity node when they differ).
func (b *Builder) Output(out, name string, elem int32, shape ...Dim) {
	if out != name {
		b.G.Nodes = append(b.G.Nodes, Node{Name: name + "_identity", OpType: "Identity", Inputs: []string{out}, Outputs: []string{name}})
	}
	b.G.Outputs = append(b.G.Outputs, ValueInfo{Name: name, ElemType: elem, Shape: shape})
}

// splitmix is SplitMix64: tiny, fast and fixed forever, so a seed always
// gives the same weights.
type splitmix uint64

func (s *splitmix) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
