package onnxgen

import (
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Input and output names of the generated CLIP towers (the names Hugging
// Face's CLIP exports use).
const (
	VisualInput  = "pixel_values" // float32 [N,3,S,S]
	VisualOutput = "image_embeds" // float32 [N,EmbedDim], not normalised
	TextInput    = "input_ids"    // int64 [N,ContextLength]
	TextOutput   = "text_embeds"  // float32 [N,EmbedDim], not normalised
)

// CLIPConfig describes a CLIP model: a ViT image tower and a text
// transformer, as in OpenAI's clip/model.py (pre-LayerNorm residual blocks,
// QuickGELU, class-token pooling for images, end-of-text pooling for text,
// linear projections without bias into the joint space).
type CLIPConfig struct {
	Arch      string
	ImageSize int // input side
	Patch     int // patch side (the stem is a Conv with this kernel and stride)
	Width     int // image transformer width
	Layers    int
	Heads     int
	EmbedDim  int // joint embedding size

	TextWidth     int
	TextLayers    int
	TextHeads     int
	ContextLength int
	VocabSize     int
}

// Architectures the generator knows.
var archs = map[string]CLIPConfig{
	// tiny: fast enough for unit tests (a few milliseconds per image).
	"tiny": {Arch: "tiny", ImageSize: 32, Patch: 8, Width: 64, Layers: 2, Heads: 4, EmbedDim: 512,
		TextWidth: 32, TextLayers: 2, TextHeads: 2, ContextLength: 77, VocabSize: 49408},
	// vit-b-32: the image tower of OpenAI's ViT-B/32 exactly (87.8M
	// parameters, 350 MB); the text tower is a small one (2 layers of
	// width 128) with CLIP's vocabulary, context and pooling.
	"vit-b-32": {Arch: "vit-b-32", ImageSize: 224, Patch: 32, Width: 768, Layers: 12, Heads: 12, EmbedDim: 512,
		TextWidth: 128, TextLayers: 2, TextHeads: 4, ContextLength: 77, VocabSize: 49408},
}

// Arch returns the configuration of a named architecture: "tiny" or
// "vit-b-32".
func Arch(name string) (CLIPConfig, error) {
	c, ok := archs[name]
	if !ok {
		return CLIPConfig{}, fmt.Errorf("onnxgen: unknown architecture %q (have: %s)", name, archNames())
	}
	return c, nil
}

func archNames() string {
	var names []string
	for n := range archs {
		names = append(names, n)
	}
	sort.Strings(names)
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

func (c CLIPConfig) validate() error {
	if c.ImageSize <= 0 || c.Patch <= 0 || c.ImageSize%c.Patch != 0 {
		return fmt.Errorf("onnxgen: image size %d is not a multiple of patch %d", c.ImageSize, c.Patch)
	}
	if c.Width <= 0 || c.Heads <= 0 || c.Width%c.Heads != 0 || c.Layers < 0 {
		return fmt.Errorf("onnxgen: width %d does not split into %d heads", c.Width, c.Heads)
	}
	if c.TextWidth <= 0 || c.TextHeads <= 0 || c.TextWidth%c.TextHeads != 0 || c.TextLayers < 0 {
		return fmt.Errorf("onnxgen: text width %d does not split into %d heads", c.TextWidth, c.TextHeads)
	}
	if c.EmbedDim <= 0 || c.ContextLength <= 0 || c.VocabSize <= 0 {
		return fmt.Errorf("onnxgen: bad sizes in %+v", c)
	}
	return nil
}

func (c CLIPConfig) metadata(tower string, seed uint64) map[string]string {
	return map[string]string{
		"lookalike.generator": "onnxgen",
		"lookalike.arch":      c.Arch,
		"lookalike.tower":     tower,
		"lookalike.seed":      strconv.FormatUint(seed, 10),
		"lookalike.note":      "random weights: for tests and benchmarks only",
	}
}

// VisualModel generates the image tower with random weights drawn from
// seed: pixel_values float32 [N,3,S,S] → image_embeds float32 [N,EmbedDim].
func VisualModel(c CLIPConfig, seed uint64) (*Model, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	b := NewBuilder("clip_visual_"+c.Arch, seed*2+1)
	w, s, p := int64(c.Width), int64(c.ImageSize), int64(c.Patch)
	grid := s / p
	tokens := grid*grid + 1
	scale := float32(1 / math.Sqrt(float64(w)))

	x := b.Input(VisualInput, Float, P("batch"), D(3), D(s), D(s))
	convW := b.Random("visual.conv1.weight", []int64{w, 3, p, p}, 0, float32(1/math.Sqrt(float64(3*p*p))))
	x = b.Op("Conv", []string{x, convW}, AInts("kernel_shape", p, p), AInts("strides", p, p))
	x = b.Op("Reshape", []string{x, b.Ints(0, w, -1)})         // [N,w,g*g]
	x = b.Op("Transpose", []string{x}, AInts("perm", 0, 2, 1)) // [N,g*g,w]

	// Prepend the class embedding, broadcast over the batch.
	batch := b.Op("Slice", []string{b.Op("Shape", []string{x}), b.Ints(0), b.Ints(1)})
	clsShape := b.Op("Concat", []string{batch, b.Ints(1, 1)}, AInt("axis", 0))
	cls := b.Op("Expand", []string{b.Random("visual.class_embedding", []int64{1, 1, w}, 0, scale), clsShape})
	x = b.Op("Concat", []string{cls, x}, AInt("axis", 1))
	x = b.Op("Add", []string{x, b.Random("visual.positional_embedding", []int64{tokens, w}, 0, scale)})
	x = layerNorm(b, "visual.ln_pre", x, w)
	for i := 0; i < c.Layers; i++ {
		x = residualBlock(b, fmt.Sprintf("visual.transformer.resblocks.%d", i), x, w, int64(c.Heads), c.Layers, "")
	}
	// Class-token pooling.
	x = b.Op("Gather", []string{x, b.Init(Int64Tensor("", nil, []int64{0}))}, AInt("axis", 1)) // [N,w]
	x = layerNorm(b, "visual.ln_post", x, w)
	x = b.Op("MatMul", []string{x, b.Random("visual.proj", []int64{w, int64(c.EmbedDim)}, 0, scale)})
	b.Output(x, VisualOutput, Float, P("batch"), D(int64(c.EmbedDim)))
	return &Model{ProducerName: "lookalike onnxgen", Metadata: c.metadata("visual", seed), Graph: b.G}, nil
}

// TextModel generates the text tower with random weights drawn from seed:
// input_ids int64 [N,ContextLength] → text_embeds float32 [N,EmbedDim].
// The features at the position of the largest token id (<|endoftext|>) are
// projected, as in CLIP.
func TextModel(c CLIPConfig, seed uint64) (*Model, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	b := NewBuilder("clip_text_"+c.Arch, seed*2+2)
	w, ctx := int64(c.TextWidth), int64(c.ContextLength)

	ids := b.Input(TextInput, Int64, P("batch"), D(ctx))
	x := b.Op("Gather", []string{b.Random("token_embedding.weight", []int64{int64(c.VocabSize), w}, 0, 0.02), ids}, AInt("axis", 0))
	x = b.Op("Add", []string{x, b.Random("positional_embedding", []int64{ctx, w}, 0, 0.01)})

	// Causal mask: position i attends to positions ≤ i.
	mask := make([]float32, ctx*ctx)
	for i := int64(0); i < ctx; i++ {
		for j := i + 1; j < ctx; j++ {
			mask[i*ctx+j] = float32(math.Inf(-1))
		}
	}
	maskName := b.Init(FloatTensor("attn_mask", []int64{ctx, ctx}, mask))
	for i := 0; i < c.TextLayers; i++ {
		x = residualBlock(b, fmt.Sprintf("transformer.resblocks.%d", i), x, w, int64(c.TextHeads), c.TextLayers, maskName)
	}
	x = layerNorm(b, "ln_final", x, w)
	eot := b.Op("ArgMax", []string{ids}, AInt("axis", 1), AInt("keepdims", 1)) // [N,1]
	x = b.Op("GatherND", []string{x, eot}, AInt("batch_dims", 1))              // [N,w]
	x = b.Op("MatMul", []string{x, b.Random("text_projection", []int64{w, int64(c.EmbedDim)}, 0, float32(1/math.Sqrt(float64(w))))})
	b.Output(x, TextOutput, Float, P("batch"), D(int64(c.EmbedDim)))
	return &Model{ProducerName: "lookalike onnxgen", Metadata: c.metadata("text", seed), Graph: b.G}, nil
}

func layerNorm(b *Builder, name, x string, w int64) string {
	g := b.Random(name+".weight", []int64{w}, 1, 0.02)
	beta := b.Random(name+".bias", []int64{w}, 0, 0.02)
	return b.Op("LayerNormalization", []string{x, g, beta}, AInt("axis", -1), AFloat("epsilon", 1e-5))
}

// linear is x·W + bias with W stored [in,out] (PyTorch's weight
// transposed).
func linear(b *Builder, name, x string, in, out int64, std float32) string {
	y := b.Op("MatMul", []string{x, b.Random(name+".weight", []int64{in, out}, 0, std)})
	return b.Op("Add", []string{y, b.Random(name+".bias", []int64{out}, 0, 0.02)})
}

// residualBlock is CLIP's ResidualAttentionBlock on x [N,L,w]:
// x + attn(ln_1(x)), then + mlp(ln_2(x)) with QuickGELU. mask, if not
// empty, is added to the attention scores.
func residualBlock(b *Builder, name, x string, w, heads int64, layers int, mask string) string {
	dh := w / heads
	attnStd := float32(1 / math.Sqrt(float64(w)))
	projStd := attnStd / float32(math.Sqrt(float64(2*layers)))
	fcStd := float32(1 / math.Sqrt(float64(2*w)))

	h := layerNorm(b, name+".ln_1", x, w)
	qkv := linear(b, name+".attn.in_proj", h, w, 3*w, attnStd)
	parts := b.OpN("Split", 3, []string{qkv, b.Ints(w, w, w)}, AInt("axis", 2))
	heads4 := b.Ints(0, 0, heads, dh)
	q := b.Op("Transpose", []string{b.Op("Reshape", []string{parts[0], heads4})}, AInts("perm", 0, 2, 1, 3)) // [N,H,L,dh]
	k := b.Op("Transpose", []string{b.Op("Reshape", []string{parts[1], heads4})}, AInts("perm", 0, 2, 3, 1)) // [N,H,dh,L]
	v := b.Op("Transpose", []string{b.Op("Reshape", []string{parts[2], heads4})}, AInts("perm", 0, 2, 1, 3)) // [N,H,L,dh]
	scores := b.Op("Mul", []string{b.Op("MatMul", []string{q, k}), b.Scalar(float32(1 / math.Sqrt(float64(dh))))})
	if mask != "" {
		scores = b.Op("Add", []string{scores, mask})
	}
	att := b.Op("Softmax", []string{scores}, AInt("axis", -1))
	o := b.Op("MatMul", []string{att, v})                         // [N,H,L,dh]
	o = b.Op("Transpose", []string{o}, AInts("perm", 0, 2, 1, 3)) // [N,L,H,dh]
	o = b.Op("Reshape", []string{o, b.Ints(0, 0, w)})
	o = linear(b, name+".attn.out_proj", o, w, w, projStd)
	x = b.Op("Add", []string{x, o})

	h = layerNorm(b, name+".ln_2", x, w)
	h = linear(b, name+".mlp.c_fc", h, w, 4*w, fcStd)
	h = b.Op("Mul", []string{h, b.Op("Sigmoid", []string{b.Op("Mul", []string{h, b.Scalar(1.702)})})}) // QuickGELU
	h = linear(b, name+".mlp.c_proj", h, 4*w, w, projStd)
	return b.Op("Add", []string{x, h})
}
