package imagedecode

import (
	"encoding/binary"
	"errors"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chunk encodes one RIFF chunk, padded to an even size.
func chunk(fourCC string, payload []byte) []byte {
	c := append([]byte(fourCC), binary.LittleEndian.AppendUint32(nil, uint32(len(payload)))...)
	c = append(c, payload...)
	if len(payload)%2 == 1 {
		c = append(c, 0)
	}
	return c
}

// riff wraps chunks in a RIFF WEBP container.
func riff(body []byte) []byte {
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(body)))...)
	return append(append(out, "WEBP"...), body...)
}

func uint24(v int) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16)} }

// animatedWebP assembles an animated WebP of w×h with one frame per colour,
// each frame a lossless bitstream covering the canvas.
func animatedWebP(w, h int, flags byte, frames ...color.NRGBA) []byte {
	vp8x := append([]byte{flags, 0, 0, 0}, uint24(w-1)...)
	vp8x = append(vp8x, uint24(h-1)...)
	body := chunk("VP8X", vp8x)
	body = append(body, chunk("ANIM", []byte{0, 0, 0, 0, 0, 0})...) // background, loop forever
	for _, c := range frames {
		still := webpLossless(w, h, c)
		hdr := append(uint24(0), uint24(0)...) // frame x, y
		hdr = append(hdr, uint24(w-1)...)
		hdr = append(hdr, uint24(h-1)...)
		hdr = append(hdr, uint24(100)...) // 100 ms
		hdr = append(hdr, 0)              // blend, no dispose
		body = append(body, chunk("ANMF", append(hdr, still[12:]...))...)
	}
	return riff(body)
}

// An animated WebP is reported as unsupported because it is animated, not
// as a corrupt file, whether or not its VP8X header sets the flag.
func TestDecodeAnimatedWebP(t *testing.T) {
	red, blue := color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 255}
	for name, data := range map[string][]byte{
		"flagged":   animatedWebP(4, 3, 1<<1|1<<4, red, blue),
		"unflagged": animatedWebP(4, 3, 1<<4, red, blue),
	} {
		t.Run(name, func(t *testing.T) {
			img, format, err := Decode(data, Limits{})
			if img != nil || format != "webp" || !errors.Is(err, ErrUnsupported) || errors.Is(err, ErrCorrupt) ||
				!strings.Contains(err.Error(), "not supported (animated)") {
				t.Fatalf("Decode = %v, %q, %v; want ErrUnsupported saying animated", img, format, err)
			}
		})
	}
	// And one libwebp's img2webp made.
	real, err := os.ReadFile(filepath.Join("..", "testdata", "images", "animated.webp"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Decode(real, Limits{}); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "not supported (animated)") {
		t.Fatalf("img2webp's animation: %v", err)
	}
	// A still image in the same VP8X container decodes.
	still := webpLossless(4, 3, red)
	vp8x := append([]byte{1 << 4, 0, 0, 0}, uint24(3)...)
	vp8x = append(vp8x, uint24(2)...)
	body := append(chunk("VP8X", vp8x), still[12:]...)
	img, _, err := Decode(riff(body), Limits{})
	if err != nil || img.Bounds().Dx() != 4 || !near(img.At(1, 1), red, 0) {
		t.Fatalf("still VP8X WebP: %v, %v", img, err)
	}
}

// An animated PNG (APNG) decodes as its default image, the first frame,
// as GIF does: viewers without animation support show the same.
func TestDecodeAnimatedPNGFirstFrame(t *testing.T) {
	src := quadrants(64, 32)
	p := encodePNG(t, src)
	const ihdrEnd = 8 + 8 + 13 + 4
	actl := binary.BigEndian.AppendUint32(nil, 2) // two frames
	actl = binary.BigEndian.AppendUint32(actl, 0) // loop forever
	fctl := binary.BigEndian.AppendUint32(nil, 0) // sequence number
	for _, v := range []uint32{64, 32, 0, 0} {
		fctl = binary.BigEndian.AppendUint32(fctl, v)
	}
	fctl = append(fctl, 0, 100, 0, 10, 0, 0) // delay 100/10 s, no dispose or blend
	apng := append([]byte{}, p[:ihdrEnd]...)
	apng = append(apng, pngChunk("acTL", actl)...)
	apng = append(apng, pngChunk("fcTL", fctl)...)
	apng = append(apng, p[ihdrEnd:]...)
	img, format, err := Decode(apng, Limits{})
	if err != nil || format != "png" || !exactQuadrants(img) {
		t.Fatalf("APNG: %v, %q, %v", img, format, err)
	}
}
