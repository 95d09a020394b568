package clip

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lookalike/lookalike/embed"
)

// ManifestFile is the name of a model directory's description.
const ManifestFile = "model.json"

// ErrInvalidModel is wrapped by the errors of a model directory that is
// incomplete, corrupt or inconsistent (as opposed to, say, a missing ONNX
// Runtime library).
var ErrInvalidModel = errors.New("invalid CLIP model")

// Manifest is a model directory's model.json:
//
//	{
//	  "name": "clip-vit-b-32",
//	  "dimensions": 512,
//	  "image_size": 224,
//	  "mean": [0.48145466, 0.4578275, 0.40821073],
//	  "std": [0.26862954, 0.26130258, 0.27577711],
//	  "visual": {"file": "visual.onnx", "sha256": "…", "input": "pixel_values", "output": "image_embeds"},
//	  "text": {"file": "text.onnx", "sha256": "…", "input": "input_ids", "output": "text_embeds"},
//	  "vocab": {"file": "bpe_simple_vocab_16e6.txt.gz", "sha256": "…"},
//	  "bands": {"exact": 0.92, "similar": 0.8}
//	}
//
// text and vocab are optional (an image-only model), but come together;
// bands is optional (embed.FallbackThresholds without it).
type Manifest struct {
	// Name is the model's name and version; every vector records it and
	// vectors of different names are never compared, so weights that
	// differ must have different names.
	Name       string     `json:"name"`
	Dimensions int        `json:"dimensions"`
	ImageSize  int        `json:"image_size"`
	Mean       [3]float32 `json:"mean"`
	Std        [3]float32 `json:"std"`
	Visual     Tower      `json:"visual"`
	Text       *Tower     `json:"text,omitempty"`
	Vocab      *FileRef   `json:"vocab,omitempty"`
	// Bands are the model's relevance band thresholds (cosine scores of a
	// query photo against a product photo), from the quality benchmark;
	// absent: embed.FallbackThresholds.
	Bands *embed.Thresholds `json:"bands,omitempty"`
	// Source says where the model came from (informational).
	Source string `json:"source,omitempty"`
}

// FileRef is a file of the model directory and its SHA-256 (hex).
type FileRef struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// Tower is one ONNX graph: its file and the names of its input and output.
// The visual tower takes float32 [N,3,S,S]; the text tower takes token ids
// [N,77], int64 unless InputType is "int32" (and, if MaskInput is set, an
// attention mask of the same shape). Both give [N,Dimensions].
type Tower struct {
	FileRef
	Input     string `json:"input"`
	Output    string `json:"output"`
	InputType string `json:"input_type,omitempty"`
	// MaskInput (text only, optional) names an attention-mask input, fed
	// 1 up to and including <|endoftext|> and 0 after, of InputType.
	MaskInput string `json:"mask_input,omitempty"`
}

// ReadManifest reads and checks dir/model.json (not the files it names).
func ReadManifest(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s has no %s (is it a model directory? make one with `lookalike model fetch` or `lookalike model testgen`)", ErrInvalidModel, dir, ManifestFile)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalidModel, err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModel, filepath.Join(dir, ManifestFile), err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidModel, filepath.Join(dir, ManifestFile), err)
	}
	return &m, nil
}

// Validate checks the manifest's own fields.
func (m *Manifest) Validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if strings.TrimSpace(m.Name) == "" {
		bad("name is empty")
	}
	if m.Dimensions <= 0 || m.Dimensions > 65536 {
		bad("dimensions %d out of range", m.Dimensions)
	}
	if m.ImageSize <= 0 || m.ImageSize > 4096 {
		bad("image_size %d out of range", m.ImageSize)
	}
	for c := 0; c < 3; c++ {
		if !(m.Std[c] > 0) {
			bad("std %v must be positive", m.Std)
			break
		}
	}
	checkFile := func(what string, f FileRef) {
		if f.File == "" {
			bad("%s.file is empty", what)
		} else if f.File != filepath.Base(f.File) || f.File == "." || f.File == ".." || strings.ContainsAny(f.File, `/\`) {
			bad("%s.file %q must be a plain file name in the model directory", what, f.File)
		}
		if len(f.SHA256) != 64 || strings.Trim(strings.ToLower(f.SHA256), "0123456789abcdef") != "" {
			bad("%s.sha256 %q is not a hex SHA-256", what, f.SHA256)
		}
	}
	checkTower := func(what string, t Tower) {
		checkFile(what, t.FileRef)
		if t.Input == "" || t.Output == "" {
			bad("%s.input and %s.output must name the graph's input and output", what, what)
		}
	}
	checkTower("visual", m.Visual)
	if m.Visual.InputType != "" && m.Visual.InputType != "float32" {
		bad("visual.input_type %q: only float32", m.Visual.InputType)
	}
	if m.Visual.MaskInput != "" {
		bad("visual.mask_input: only the text tower takes a mask")
	}
	if (m.Text == nil) != (m.Vocab == nil) {
		bad("text and vocab come together (the text tower needs the tokenizer's vocabulary)")
	}
	if m.Text != nil {
		checkTower("text", *m.Text)
		switch m.Text.InputType {
		case "", "int64", "int32":
		default:
			bad("text.input_type %q: use int64 or int32", m.Text.InputType)
		}
	}
	if m.Vocab != nil {
		checkFile("vocab", *m.Vocab)
	}
	if m.Bands != nil {
		if err := m.Bands.Validate(); err != nil {
			bad("bands: %v", err)
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// Thresholds returns Bands, or embed.FallbackThresholds when absent.
func (m *Manifest) Thresholds() embed.Thresholds {
	if m.Bands != nil {
		return *m.Bands
	}
	return embed.FallbackThresholds
}

// Files lists the files the manifest names, with their roles ("visual",
// "text", "vocab").
func (m *Manifest) Files() []NamedFile {
	files := []NamedFile{{"visual", m.Visual.FileRef}}
	if m.Text != nil {
		files = append(files, NamedFile{"text", m.Text.FileRef})
	}
	if m.Vocab != nil {
		files = append(files, NamedFile{"vocab", *m.Vocab})
	}
	return files
}

// NamedFile is a FileRef with its role.
type NamedFile struct {
	Role string
	FileRef
}

// WriteManifest writes m as dir/model.json (atomically).
func WriteManifest(dir string, m *Manifest) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidModel, err)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, ManifestFile), append(data, '\n'))
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// HashFile returns the hex SHA-256 and the size of a file.
func HashFile(path string) (sum string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	size, err = io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// FileStatus is what VerifyFiles found for one file.
type FileStatus struct {
	NamedFile
	Size   int64  // -1 when missing
	Actual string // SHA-256 found, "" when unreadable
	OK     bool
	Err    error // why not OK
}

// VerifyFiles hashes every file the manifest names.
func VerifyFiles(dir string, m *Manifest) []FileStatus {
	var out []FileStatus
	for _, f := range m.Files() {
		st := FileStatus{NamedFile: f, Size: -1}
		sum, size, err := HashFile(filepath.Join(dir, f.File))
		switch {
		case errors.Is(err, os.ErrNotExist):
			st.Err = fmt.Errorf("%s file %s is missing", f.Role, f.File)
		case err != nil:
			st.Err = fmt.Errorf("%s file %s: %v", f.Role, f.File, err)
		default:
			st.Size, st.Actual = size, sum
			if strings.EqualFold(sum, f.SHA256) {
				st.OK = true
			} else {
				st.Err = fmt.Errorf("%s file %s has SHA-256 %s, model.json says %s (corrupt, or replaced without updating model.json)", f.Role, f.File, sum, f.SHA256)
			}
		}
		out = append(out, st)
	}
	return out
}
