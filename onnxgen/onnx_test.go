package onnxgen

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// field is one decoded protobuf field.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64 // varint / fixed32
	b   []byte // bytes
}

func parse(t *testing.T, b []byte) []field {
	t.Helper()
	var out []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			t.Fatalf("unexpected wire type %v", typ)
		}
		if n < 0 {
			t.Fatalf("field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		out = append(out, f)
	}
	return out
}

func fields(fs []field, num protowire.Number) []field {
	var out []field
	for _, f := range fs {
		if f.num == num {
			out = append(out, f)
		}
	}
	return out
}

func TestTensorEncoding(t *testing.T) {
	tn := FloatTensor("w", []int64{2, 3}, []float32{1, 2, 3, 4, 5, 6.5})
	fs := parse(t, tn.Marshal())
	dims := fields(fs, 1)
	if len(dims) != 2 || dims[0].v != 2 || dims[1].v != 3 {
		t.Errorf("dims %+v", dims)
	}
	if dt := fields(fs, 2); len(dt) != 1 || dt[0].v != Float {
		t.Errorf("data_type %+v", dt)
	}
	if nm := fields(fs, 8); len(nm) != 1 || string(nm[0].b) != "w" {
		t.Errorf("name %+v", nm)
	}
	raw := fields(fs, 9)
	if len(raw) != 1 || len(raw[0].b) != 24 || math.Float32frombits(binary.LittleEndian.Uint32(raw[0].b[20:])) != 6.5 {
		t.Errorf("raw_data %+v", raw)
	}
	if tn.size() != len(tn.Marshal()) {
		t.Errorf("size %d, encoded %d", tn.size(), len(tn.Marshal()))
	}
	// Negative dims and int64 values survive as two's complement varints.
	i := Int64Tensor("", []int64{1}, []int64{-1})
	if f := parse(t, i.Marshal()); int64(fields(f, 9)[0].b[7]) != 0xff {
		t.Errorf("int64 -1: %x", fields(f, 9)[0].b)
	}
}

func TestModelEncoding(t *testing.T) {
	b := NewBuilder("g", 1)
	x := b.Input("x", Float, P("batch"), D(4))
	y := b.Op("Add", []string{x, b.Random("bias", []int64{4}, 0, 1)})
	y = b.Op("Softmax", []string{y}, AInt("axis", -1))
	b.Output(y, "y", Float, P("batch"), D(4))
	m := &Model{ProducerName: "test", Metadata: map[string]string{"b": "2", "a": "1"}, Graph: b.G}
	data := m.Marshal()
	var buf bytes.Buffer
	if n, err := m.WriteTo(&buf); err != nil || n != int64(len(data)) || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("WriteTo %d %v, Marshal %d", n, err, len(data))
	}

	top := parse(t, data)
	if ir := fields(top, 1); len(ir) != 1 || ir[0].v != DefaultIRVersion {
		t.Errorf("ir_version %+v", ir)
	}
	opset := fields(top, 8)
	if len(opset) != 1 {
		t.Fatalf("opset_import %+v", opset)
	}
	if v := fields(parse(t, opset[0].b), 2); len(v) != 1 || v[0].v != DefaultOpset {
		t.Errorf("opset version %+v", v)
	}
	meta := fields(top, 14)
	if len(meta) != 2 || string(fields(parse(t, meta[0].b), 1)[0].b) != "a" {
		t.Errorf("metadata not sorted: %+v", meta)
	}
	graphs := fields(top, 7)
	if len(graphs) != 1 {
		t.Fatalf("graph fields %d", len(graphs))
	}
	g := parse(t, graphs[0].b)
	nodes := fields(g, 1)
	if len(nodes) != 3 { // Add, Softmax, Identity to "y"
		t.Fatalf("%d nodes", len(nodes))
	}
	add := parse(t, nodes[0].b)
	if op := fields(add, 4); string(op[0].b) != "Add" {
		t.Errorf("op_type %q", op[0].b)
	}
	if in := fields(add, 1); len(in) != 2 || string(in[0].b) != "x" || string(in[1].b) != "bias" {
		t.Errorf("inputs %+v", in)
	}
	attr := parse(t, fields(parse(t, nodes[1].b), 5)[0].b)
	if string(fields(attr, 1)[0].b) != "axis" || int64(fields(attr, 3)[0].v) != -1 || fields(attr, 20)[0].v != uint64(AttrInt) {
		t.Errorf("attribute %+v", attr)
	}
	if init := fields(g, 5); len(init) != 1 {
		t.Errorf("%d initializers", len(init))
	}
	in := fields(g, 11)
	if len(in) != 1 {
		t.Fatalf("%d inputs", len(in))
	}
	// ValueInfo: name, type{tensor_type{elem_type, shape{dim{dim_param}, dim{dim_value}}}}
	vi := parse(t, in[0].b)
	tt := parse(t, fields(parse(t, fields(vi, 2)[0].b), 1)[0].b)
	if fields(tt, 1)[0].v != Float {
		t.Errorf("elem_type %+v", tt)
	}
	dims := fields(parse(t, fields(tt, 2)[0].b), 1)
	if len(dims) != 2 || string(fields(parse(t, dims[0].b), 2)[0].b) != "batch" || fields(parse(t, dims[1].b), 1)[0].v != 4 {
		t.Errorf("shape %+v", dims)
	}
	if out := fields(g, 12); len(out) != 1 {
		t.Errorf("%d outputs", len(out))
	}
}

func TestAttrKinds(t *testing.T) {
	for _, a := range []Attr{AFloat("f", 1.5), AInts("is", 1, -2), AFloats("fs", 1, 2), AString("s", "x"), ATensor("t", FloatTensor("", nil, []float32{1}))} {
		fs := parse(t, a.marshal())
		if fields(fs, 20)[0].v != uint64(a.Kind) {
			t.Errorf("%s: type %+v", a.Name, fs)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("attribute without kind did not panic")
		}
	}()
	(&Attr{Name: "x"}).marshal()
}

// visualParams is the parameter count of CLIP's VisionTransformer.
func visualParams(c CLIPConfig) int64 {
	w, p, g := int64(c.Width), int64(c.Patch), int64(c.ImageSize/c.Patch)
	block := 2*2*w + (w*3*w + 3*w) + (w*w + w) + (w*4*w + 4*w) + (4*w*w + w)
	return w*3*p*p + w + (g*g+1)*w + 2*w + int64(c.Layers)*block + 2*w + w*int64(c.EmbedDim)
}

func textParams(c CLIPConfig) int64 {
	w := int64(c.TextWidth)
	block := 2*2*w + (w*3*w + 3*w) + (w*w + w) + (w*4*w + 4*w) + (4*w*w + w)
	return int64(c.VocabSize)*w + int64(c.ContextLength)*w + int64(c.TextLayers)*block + 2*w + w*int64(c.EmbedDim)
}

// params counts the float values of the named weights (constants made by
// the builder have generated names without a dot).
func params(m *Model) int64 {
	var n int64
	for _, t := range m.Graph.Initializers {
		if strings.Contains(t.Name, ".") || strings.HasSuffix(t.Name, "_embedding") || t.Name == "text_projection" {
			n += int64(len(t.Raw) / 4)
		}
	}
	return n
}

func TestGeneratedArchitecture(t *testing.T) {
	// OpenAI's ViT-B/32 image tower has 87,849,216 parameters.
	vitb, _ := Arch("vit-b-32")
	if got := visualParams(vitb); got != 87_849_216 {
		t.Errorf("ViT-B/32 formula gives %d parameters", got)
	}
	tiny, err := Arch("tiny")
	if err != nil {
		t.Fatal(err)
	}
	vm, err := VisualModel(tiny, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := params(vm), visualParams(tiny); got != want {
		t.Errorf("tiny visual: %d parameters, want %d", got, want)
	}
	tm, err := TextModel(tiny, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := params(tm), textParams(tiny); got != want {
		t.Errorf("tiny text: %d parameters, want %d", got, want)
	}
	if _, err := Arch("vit-h-14"); err == nil || !strings.Contains(err.Error(), "tiny, vit-b-32") {
		t.Errorf("unknown arch: %v", err)
	}
	bad := tiny
	bad.Patch = 5
	if _, err := VisualModel(bad, 1); err == nil {
		t.Error("patch 5 of 32 accepted")
	}
}

func TestGeneratedDeterministic(t *testing.T) {
	tiny, _ := Arch("tiny")
	a, _ := VisualModel(tiny, 7)
	b, _ := VisualModel(tiny, 7)
	c, _ := VisualModel(tiny, 8)
	if !bytes.Equal(a.Marshal(), b.Marshal()) {
		t.Error("same seed, different model")
	}
	if bytes.Equal(a.Marshal(), c.Marshal()) {
		t.Error("different seed, same model")
	}
}
