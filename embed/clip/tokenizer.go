package clip

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// CLIP's text vocabulary and context, as in OpenAI's clip/simple_tokenizer.py.
const (
	// ContextLength is the number of tokens the text tower takes.
	ContextLength = 77
	// StartOfText and EndOfText are the ids of <|startoftext|> and
	// <|endoftext|>.
	StartOfText = 49406
	EndOfText   = 49407
	// VocabSize is the number of token ids: 256 byte symbols, their 256
	// end-of-word forms, NumMerges merges and the two special tokens.
	VocabSize = 49408
	// NumMerges is how many lines of the merges file CLIP uses.
	NumMerges = VocabSize - 2 - 512
)

const endOfWord = "</w>"

// pretokenize is CLIP's pattern, applied to cleaned, lower-cased text. The
// text holds no whitespace but single spaces by then, so Go's ASCII \s is
// as good as the Unicode one of Python's regex module.
var pretokenize = regexp.MustCompile(`(?i)<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`)

// Tokenizer is CLIP's byte-level BPE tokenizer. It is safe for concurrent
// use.
type Tokenizer struct {
	encoder map[string]int32
	ranks   map[symbolPair]int32
	byteEnc [256]string

	mu    sync.Mutex
	cache map[string][]int32
}

type symbolPair struct{ a, b string }

const maxCache = 20000

// bytesToUnicode is CLIP's bytes_to_unicode: every byte becomes a printable
// character; the printable Latin-1 bytes stand for themselves, the others
// (controls, space, 0x7f-0xa0, soft hyphen) for U+0100 onwards in byte
// order. order lists the bytes in the order of the vocabulary.
func bytesToUnicode() (enc [256]rune, order []byte) {
	var used [256]bool
	for _, r := range [][2]int{{'!', '~'}, {0xA1, 0xAC}, {0xAE, 0xFF}} {
		for b := r[0]; b <= r[1]; b++ {
			enc[b] = rune(b)
			used[b] = true
			order = append(order, byte(b))
		}
	}
	n := 0
	for b := 0; b < 256; b++ {
		if !used[b] {
			enc[b] = rune(256 + n)
			n++
			order = append(order, byte(b))
		}
	}
	return enc, order
}

// LoadTokenizer reads a merges file (bpe_simple_vocab_16e6.txt, plain or
// gzipped, or a Hugging Face merges.txt).
func LoadTokenizer(path string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("clip tokenizer: %w", err)
	}
	defer f.Close()
	t, err := NewTokenizer(f)
	if err != nil {
		return nil, fmt.Errorf("clip tokenizer %s: %w", path, err)
	}
	return t, nil
}

// NewTokenizer reads merges text (gzip is detected) and builds the
// 49,408-token vocabulary: a "#version" header line, if present, is skipped,
// then the first NumMerges lines are used.
func NewTokenizer(r io.Reader) (*Tokenizer, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("merges file: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}

	t := &Tokenizer{
		encoder: make(map[string]int32, VocabSize),
		ranks:   make(map[symbolPair]int32, NumMerges),
		cache:   make(map[string][]int32),
	}
	enc, order := bytesToUnicode()
	for b, r := range enc {
		t.byteEnc[b] = string(r)
	}
	id := int32(0)
	add := func(s string) {
		if _, dup := t.encoder[s]; !dup {
			t.encoder[s] = id
		}
		id++
	}
	for _, b := range order {
		add(t.byteEnc[b])
	}
	for _, b := range order {
		add(t.byteEnc[b] + endOfWord)
	}

	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 4096), 1<<20)
	line := 0
	for len(t.ranks) < NumMerges && sc.Scan() {
		s := sc.Text()
		line++
		if line == 1 && strings.HasPrefix(s, "#version") {
			continue
		}
		a, b, ok := strings.Cut(s, " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") || !utf8.ValidString(s) {
			if !sc.Scan() && sc.Err() != nil { // a cut-off file ends in half a line
				return nil, fmt.Errorf("merges file: %w", sc.Err())
			}
			return nil, fmt.Errorf("merges file line %d: %q is not a merge (want two symbols separated by one space)", line, s)
		}
		p := symbolPair{a, b}
		if _, dup := t.ranks[p]; dup {
			return nil, fmt.Errorf("merges file line %d: merge %q repeated", line, s)
		}
		t.ranks[p] = int32(len(t.ranks))
		add(a + b)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("merges file: %w", err)
	}
	if len(t.ranks) < NumMerges {
		return nil, fmt.Errorf("merges file has %d merges, CLIP needs %d (truncated or not a CLIP vocabulary?)", len(t.ranks), NumMerges)
	}
	add("<|startoftext|>")
	add("<|endoftext|>")
	if id != VocabSize || t.encoder["<|startoftext|>"] != StartOfText || t.encoder["<|endoftext|>"] != EndOfText {
		return nil, errors.New("merges file does not give CLIP's 49,408-token vocabulary")
	}
	return t, nil
}

// Tokenize returns the ContextLength token ids the text tower takes:
// <|startoftext|>, the text's tokens, <|endoftext|>, then zeros. Text too
// long for the context is cut, keeping <|endoftext|> as the last token (as
// clip.tokenize(..., truncate=True)).
func (t *Tokenizer) Tokenize(text string) []int64 {
	out := make([]int64, ContextLength)
	t.TokenizeTo(text, out)
	return out
}

// TokenizeTo is Tokenize into dst[:ContextLength].
func (t *Tokenizer) TokenizeTo(text string, dst []int64) {
	dst = dst[:ContextLength]
	clear(dst)
	dst[0] = StartOfText
	n := 1
	t.encode(text, func(id int32) bool {
		if n == ContextLength-1 {
			return false
		}
		dst[n] = int64(id)
		n++
		return true
	})
	dst[n] = EndOfText
}

// Encode returns the BPE token ids of text, without the start and end
// tokens.
func (t *Tokenizer) Encode(text string) []int {
	var ids []int
	t.encode(text, func(id int32) bool { ids = append(ids, int(id)); return true })
	return ids
}

func (t *Tokenizer) encode(text string, yield func(int32) bool) {
	text = lower(whitespaceClean(basicClean(text)))
	var sb strings.Builder
	for _, m := range pretokenize.FindAllStringIndex(text, -1) {
		tok := text[m[0]:m[1]]
		for _, id := range t.bpe(tok, &sb) {
			if !yield(id) {
				return
			}
		}
	}
}

// bpe byte-encodes one pre-token and merges its symbols, lowest rank first,
// as simple_tokenizer.SimpleTokenizer.bpe.
func (t *Tokenizer) bpe(token string, sb *strings.Builder) []int32 {
	switch token {
	case "<|startoftext|>":
		return []int32{StartOfText}
	case "<|endoftext|>":
		return []int32{EndOfText}
	}
	t.mu.Lock()
	ids, ok := t.cache[token]
	t.mu.Unlock()
	if ok {
		return ids
	}

	word := make([]string, len(token))
	for i := 0; i < len(token); i++ {
		word[i] = t.byteEnc[token[i]]
	}
	word[len(word)-1] += endOfWord
	for len(word) > 1 {
		best, bestRank := -1, int32(-1)
		for i := 0; i+1 < len(word); i++ {
			if r, ok := t.ranks[symbolPair{word[i], word[i+1]}]; ok && (best < 0 || r < bestRank) {
				best, bestRank = i, r
			}
		}
		if best < 0 {
			break
		}
		first, second := word[best], word[best+1]
		merged := word[:0:0]
		for i := 0; i < len(word); {
			if i+1 < len(word) && word[i] == first && word[i+1] == second {
				sb.Reset()
				sb.WriteString(first)
				sb.WriteString(second)
				merged = append(merged, sb.String())
				i += 2
			} else {
				merged = append(merged, word[i])
				i++
			}
		}
		word = merged
	}
	ids = make([]int32, len(word))
	for i, w := range word {
		// Every symbol is a byte symbol or the result of a merge, both of
		// which are in the vocabulary.
		ids[i] = t.encoder[w]
	}

	t.mu.Lock()
	if len(t.cache) >= maxCache {
		clear(t.cache)
	}
	t.cache[token] = ids
	t.mu.Unlock()
	return ids
}

// basicClean stands in for CLIP's basic_clean: ftfy.fix_text, then HTML
// unescaping twice, then strip. Of ftfy's fixes it does those that matter
// for typed queries: NFC, curly quotes to straight ones, Latin ligatures and
// full-width characters to plain ones, control characters removed. It does
// not repair mojibake.
func basicClean(s string) string {
	s = fixText(s)
	s = html.UnescapeString(html.UnescapeString(s))
	return strings.TrimSpace(s)
}

var ligatures = strings.NewReplacer(
	"\u0132", "IJ", "\u0133", "ij", "\u0149", "ʼn", "\u01c4", "DŽ", "\u01c5", "Dž", "\u01c6", "dž",
	"\u01c7", "LJ", "\u01c8", "Lj", "\u01c9", "lj", "\u01ca", "NJ", "\u01cb", "Nj", "\u01cc", "nj",
	"\u01f1", "DZ", "\u01f2", "Dz", "\u01f3", "dz",
	"\ufb00", "ff", "\ufb01", "fi", "\ufb02", "fl", "\ufb03", "ffi", "\ufb04", "ffl", "\ufb05", "ſt", "\ufb06", "st",
)

func fixText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\ufffd")
	}
	s = ligatures.Replace(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\u2018' || r == '\u2019' || r == '\u201a' || r == '\u201b' || r == '\u2032':
			r = '\''
		case r == '\u201c' || r == '\u201d' || r == '\u201e' || r == '\u201f' || r == '\u2033':
			r = '"'
		case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
			r -= 0xFEE0
		case r == 0x3000: // ideographic space
			r = ' '
		case r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v':
		case unicode.IsControl(r) || r == '\ufeff' || (r >= 0xFFF9 && r <= 0xFFFC):
			continue
		}
		b.WriteRune(r)
	}
	return norm.NFC.String(b.String())
}

// whitespaceClean turns every run of whitespace into one space and trims
// the ends (re.sub(r'\s+', ' ', text).strip()).
func whitespaceClean(s string) string {
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// lower is Python's str.lower for what matters here; unlike Go's
// strings.ToLower, Python lowers İ to i followed by a combining dot above.
func lower(s string) string {
	s = strings.ToLower(strings.ReplaceAll(s, "\u0130", "i\u0307"))
	return s
}

// Decode turns ids back into text (for debugging and tests): end-of-word
// marks become spaces, special tokens are kept.
func (t *Tokenizer) Decode(ids []int) string {
	dec := make(map[int32]string, len(t.encoder))
	for s, id := range t.encoder {
		dec[id] = s
	}
	enc, _ := bytesToUnicode()
	byteOf := make(map[rune]byte, 256)
	for b, r := range enc {
		byteOf[r] = byte(b)
	}
	var buf bytes.Buffer
	for _, id := range ids {
		s := dec[int32(id)]
		if id == StartOfText || id == EndOfText {
			buf.WriteString(s)
			continue
		}
		s = strings.ReplaceAll(s, endOfWord, " ")
		for _, r := range s {
			if r == ' ' {
				buf.WriteByte(' ')
			} else {
				buf.WriteByte(byteOf[r])
			}
		}
	}
	return strings.TrimSpace(buf.String())
}
