// Package onnxgen writes ONNX models: a small write-only encoder of the ONNX
// protobuf messages (ModelProto, GraphProto, NodeProto, TensorProto,
// ValueInfoProto, AttributeProto) on top of protowire, and generators of
// CLIP-shaped models with random, deterministic weights (see clip.go) for
// tests and benchmarks.
//
// Field numbers follow onnx/onnx.proto (proto2; repeated scalars are written
// unpacked, which every parser accepts). Tensors carry their data as
// little-endian raw_data.
package onnxgen

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// Versions written by default: opset 17 (LayerNormalization) and the IR
// version that goes with it.
const (
	DefaultOpset     = 17
	DefaultIRVersion = 8
)

// TensorProto.DataType values.
const (
	Float = 1
	Uint8 = 2
	Int8  = 3
	Int32 = 6
	Int64 = 7
	Bool  = 9
)

// Model is an ONNX ModelProto.
type Model struct {
	IRVersion       int64 // 0: DefaultIRVersion
	Opset           int64 // default domain; 0: DefaultOpset
	ProducerName    string
	ProducerVersion string
	DocString       string
	Metadata        map[string]string // metadata_props, written sorted by key
	Graph           Graph
}

// Graph is a GraphProto.
type Graph struct {
	Name         string
	Nodes        []Node
	Initializers []*Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
}

// Node is a NodeProto in the default domain.
type Node struct {
	Name    string
	OpType  string
	Inputs  []string // "" for an omitted optional input
	Outputs []string
	Attrs   []Attr
}

// Attr is an AttributeProto; set exactly one of the value fields (Kind
// says which; use the constructors).
type Attr struct {
	Name   string
	Kind   AttrKind
	F      float32
	I      int64
	S      string
	T      *Tensor
	Floats []float32
	Ints   []int64
}

// AttrKind is AttributeProto.AttributeType.
type AttrKind int32

const (
	AttrFloat  AttrKind = 1
	AttrInt    AttrKind = 2
	AttrString AttrKind = 3
	AttrTensor AttrKind = 4
	AttrFloats AttrKind = 6
	AttrInts   AttrKind = 7
)

// AInt, AFloat, AInts, AFloats, AString and ATensor make attributes.
func AInt(name string, v int64) Attr         { return Attr{Name: name, Kind: AttrInt, I: v} }
func AFloat(name string, v float32) Attr     { return Attr{Name: name, Kind: AttrFloat, F: v} }
func AInts(name string, v ...int64) Attr     { return Attr{Name: name, Kind: AttrInts, Ints: v} }
func AFloats(name string, v ...float32) Attr { return Attr{Name: name, Kind: AttrFloats, Floats: v} }
func AString(name, v string) Attr            { return Attr{Name: name, Kind: AttrString, S: v} }
func ATensor(name string, t *Tensor) Attr    { return Attr{Name: name, Kind: AttrTensor, T: t} }

// Tensor is a TensorProto with raw little-endian data.
type Tensor struct {
	Name     string
	Dims     []int64
	DataType int32
	Raw      []byte
}

// FloatTensor, Int64Tensor and Int32Tensor make tensors from values.
func FloatTensor(name string, dims []int64, v []float32) *Tensor {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	return &Tensor{Name: name, Dims: dims, DataType: Float, Raw: raw}
}

func Int64Tensor(name string, dims []int64, v []int64) *Tensor {
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	return &Tensor{Name: name, Dims: dims, DataType: Int64, Raw: raw}
}

func Int32Tensor(name string, dims []int64, v []int32) *Tensor {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(x))
	}
	return &Tensor{Name: name, Dims: dims, DataType: Int32, Raw: raw}
}

// ValueInfo is a ValueInfoProto of a tensor. A dimension is either a
// fixed size (Dim.Value > 0) or named (Dim.Param, e.g. "batch").
type ValueInfo struct {
	Name     string
	ElemType int32
	Shape    []Dim
}

// Dim is one TensorShapeProto.Dimension.
type Dim struct {
	Value int64
	Param string
}

// D makes fixed dimensions; P a named one.
func D(v int64) Dim     { return Dim{Value: v} }
func P(name string) Dim { return Dim{Param: name} }
func Dims(v ...int64) []Dim {
	d := make([]Dim, len(v))
	for i, x := range v {
		d[i] = D(x)
	}
	return d
}

// --- encoding ---

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

// Marshal encodes a TensorProto.
func (t *Tensor) Marshal() []byte { return t.appendTo(nil) }

func (t *Tensor) appendTo(b []byte) []byte {
	for _, d := range t.Dims {
		b = appendVarint(b, 1, uint64(d))
	}
	b = appendVarint(b, 2, uint64(t.DataType))
	if t.Name != "" {
		b = appendString(b, 8, t.Name)
	}
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	return protowire.AppendBytes(b, t.Raw)
}

func (t *Tensor) size() int {
	n := 0
	for _, d := range t.Dims {
		n += protowire.SizeTag(1) + protowire.SizeVarint(uint64(d))
	}
	n += protowire.SizeTag(2) + protowire.SizeVarint(uint64(t.DataType))
	if t.Name != "" {
		n += protowire.SizeTag(8) + protowire.SizeBytes(len(t.Name))
	}
	return n + protowire.SizeTag(9) + protowire.SizeBytes(len(t.Raw))
}

func (a *Attr) marshal() []byte {
	var b []byte
	b = appendString(b, 1, a.Name)
	switch a.Kind {
	case AttrFloat:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = appendVarint(b, 3, uint64(a.I))
	case AttrString:
		b = appendString(b, 4, a.S)
	case AttrTensor:
		b = appendMessage(b, 5, a.T.Marshal())
	case AttrFloats:
		for _, f := range a.Floats {
			b = protowire.AppendTag(b, 7, protowire.Fixed32Type)
			b = protowire.AppendFixed32(b, math.Float32bits(f))
		}
	case AttrInts:
		for _, v := range a.Ints {
			b = appendVarint(b, 8, uint64(v))
		}
	default:
		panic(fmt.Sprintf("onnxgen: attribute %q has no kind", a.Name))
	}
	return appendVarint(b, 20, uint64(a.Kind))
}

func (n *Node) marshal() []byte {
	var b []byte
	for _, in := range n.Inputs {
		b = appendString(b, 1, in)
	}
	for _, out := range n.Outputs {
		b = appendString(b, 2, out)
	}
	if n.Name != "" {
		b = appendString(b, 3, n.Name)
	}
	b = appendString(b, 4, n.OpType)
	for i := range n.Attrs {
		b = appendMessage(b, 5, n.Attrs[i].marshal())
	}
	return b
}

func (v *ValueInfo) marshal() []byte {
	var shape []byte
	for _, d := range v.Shape {
		var dim []byte
		if d.Param != "" {
			dim = appendString(dim, 2, d.Param)
		} else {
			dim = appendVarint(dim, 1, uint64(d.Value))
		}
		shape = appendMessage(shape, 1, dim)
	}
	var tensorType []byte
	tensorType = appendVarint(tensorType, 1, uint64(v.ElemType))
	tensorType = appendMessage(tensorType, 2, shape)
	var typ []byte
	typ = appendMessage(typ, 1, tensorType)
	var b []byte
	b = appendString(b, 1, v.Name)
	return appendMessage(b, 2, typ)
}

// graphParts returns the encoded graph fields other than initializers,
// which are written one at a time so a model of hundreds of megabytes is
// never copied whole.
func (g *Graph) parts() (head, tail []byte) {
	for i := range g.Nodes {
		head = appendMessage(head, 1, g.Nodes[i].marshal())
	}
	head = appendString(head, 2, g.Name)
	for i := range g.Inputs {
		tail = appendMessage(tail, 11, g.Inputs[i].marshal())
	}
	for i := range g.Outputs {
		tail = appendMessage(tail, 12, g.Outputs[i].marshal())
	}
	return head, tail
}

// WriteTo writes the encoded ModelProto to w.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	ir, opset := m.IRVersion, m.Opset
	if ir == 0 {
		ir = DefaultIRVersion
	}
	if opset == 0 {
		opset = DefaultOpset
	}
	var hdr []byte
	hdr = appendVarint(hdr, 1, uint64(ir))
	if m.ProducerName != "" {
		hdr = appendString(hdr, 2, m.ProducerName)
	}
	if m.ProducerVersion != "" {
		hdr = appendString(hdr, 3, m.ProducerVersion)
	}
	if m.DocString != "" {
		hdr = appendString(hdr, 6, m.DocString)
	}
	var opsetID []byte
	opsetID = appendString(opsetID, 1, "")
	opsetID = appendVarint(opsetID, 2, uint64(opset))
	hdr = appendMessage(hdr, 8, opsetID)
	for _, k := range sortedKeys(m.Metadata) {
		var kv []byte
		kv = appendString(kv, 1, k)
		kv = appendString(kv, 2, m.Metadata[k])
		hdr = appendMessage(hdr, 14, kv)
	}

	head, tail := m.Graph.parts()
	graphLen := len(head) + len(tail)
	for _, t := range m.Graph.Initializers {
		graphLen += protowire.SizeTag(5) + protowire.SizeBytes(t.size())
	}
	hdr = protowire.AppendTag(hdr, 7, protowire.BytesType)
	hdr = protowire.AppendVarint(hdr, uint64(graphLen))

	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	bw.Write(hdr)
	bw.Write(head)
	var buf []byte
	for _, t := range m.Graph.Initializers {
		buf = protowire.AppendTag(buf[:0], 5, protowire.BytesType)
		buf = protowire.AppendVarint(buf, uint64(t.size()))
		buf = t.appendTo(buf)
		if _, err := bw.Write(buf); err != nil {
			return cw.n, err
		}
	}
	bw.Write(tail)
	err := bw.Flush()
	return cw.n, err
}

// Marshal returns the encoded ModelProto.
func (m *Model) Marshal() []byte {
	var b sliceWriter
	m.WriteTo(&b)
	return b
}

// WriteFile writes the model to path (through a temporary file and a
// rename, so a reader never sees half a model).
func (m *Model) WriteFile(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".onnxgen-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := m.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type sliceWriter []byte

func (s *sliceWriter) Write(p []byte) (int, error) {
	*s = append(*s, p...)
	return len(p), nil
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
