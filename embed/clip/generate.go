package clip

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lookalike/lookalike/onnxgen"
)

// WriteGenerated writes a complete model directory into dir (created if
// needed) with a CLIP-shaped model of random weights from onnxgen: arch is
// "tiny" or "vit-b-32", seed picks the weights. With vocab (a merges file)
// the directory gets a text tower and a copy of the vocabulary; without, it
// is image-only. Such a model embeds consistently but means nothing: it is
// for tests and benchmarks.
func WriteGenerated(dir, arch string, seed uint64, vocab string) (*Manifest, error) {
	cfg, err := onnxgen.Arch(arch)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	m := &Manifest{
		Name:       fmt.Sprintf("clip-%s-random-s%d", arch, seed),
		Dimensions: cfg.EmbedDim,
		ImageSize:  cfg.ImageSize,
		Mean:       DefaultMean,
		Std:        DefaultStd,
		Source:     fmt.Sprintf("lookalike model testgen --arch %s --seed %d (random weights, for tests only)", arch, seed),
	}

	// One tower at a time, so the weights of the first (350 MB for
	// vit-b-32) can go before the second is made.
	writeVisual := func() error {
		vm, err := onnxgen.VisualModel(cfg, seed)
		if err != nil {
			return err
		}
		return vm.WriteFile(filepath.Join(dir, "visual.onnx"))
	}
	if err := writeVisual(); err != nil {
		return nil, err
	}
	m.Visual = Tower{FileRef: FileRef{File: "visual.onnx"}, Input: onnxgen.VisualInput, Output: onnxgen.VisualOutput}

	if vocab != "" {
		// Check it is a vocabulary before copying it.
		if _, err := LoadTokenizer(vocab); err != nil {
			return nil, err
		}
		name := filepath.Base(vocab)
		if err := copyFile(vocab, filepath.Join(dir, name)); err != nil {
			return nil, err
		}
		tm, err := onnxgen.TextModel(cfg, seed)
		if err != nil {
			return nil, err
		}
		if err := tm.WriteFile(filepath.Join(dir, "text.onnx")); err != nil {
			return nil, err
		}
		m.Text = &Tower{FileRef: FileRef{File: "text.onnx"}, Input: onnxgen.TextInput, Output: onnxgen.TextOutput, InputType: "int64"}
		m.Vocab = &FileRef{File: name}
	}
	if err := m.FillHashes(dir); err != nil {
		return nil, err
	}
	if err := WriteManifest(dir, m); err != nil {
		return nil, err
	}
	return m, nil
}

// FillHashes sets the SHA-256 of every file the manifest names from the
// files in dir.
func (m *Manifest) FillHashes(dir string) error {
	refs := []*FileRef{&m.Visual.FileRef}
	if m.Text != nil {
		refs = append(refs, &m.Text.FileRef)
	}
	if m.Vocab != nil {
		refs = append(refs, m.Vocab)
	}
	for _, r := range refs {
		sum, _, err := HashFile(filepath.Join(dir, r.File))
		if err != nil {
			return err
		}
		r.SHA256 = sum
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
