// Package imagetest makes real, decodable images for tests that are
// large when decoded and small as files, so that tests can generate them
// instead of committing them.
package imagetest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
)

// PNGChunk appends one PNG chunk (length, type, data, CRC) to b.
func PNGChunk(b *bytes.Buffer, typ string, data []byte) {
	binary.Write(b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// StripedPNG is a real, fully decodable w×h RGBA PNG of the given bit depth
// (8 or 16) that compresses to almost nothing: the first row is a gradient,
// every other row repeats it (filter "Up", so all zeros). A 42 MP 16-bit one
// is about 440 KB and decodes to 336 MB.
func StripedPNG(w, h, depth int) []byte {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = byte(depth), 6 // RGBA
	PNGChunk(&out, "IHDR", ihdr)
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	rowBytes := w * 4 * depth / 8
	row := make([]byte, 1+rowBytes)
	for i := 1; i < len(row); i++ {
		row[i] = byte(i * 7 / (depth / 2))
	}
	zw.Write(row)
	zero := make([]byte, 1+rowBytes)
	zero[0] = 2 // Up: the row above, unchanged
	for y := 1; y < h; y++ {
		zw.Write(zero)
	}
	zw.Close() // writes to a bytes.Buffer cannot fail
	PNGChunk(&out, "IDAT", idat.Bytes())
	PNGChunk(&out, "IEND", nil)
	return out.Bytes()
}

// CMYKJPEG is a real baseline 4-component (Adobe CMYK) JPEG of w×h, every
// block flat: with one-code Huffman tables each 8×8 block of each component
// costs two bits, so 49 MP is about 750 KB, and it decodes to a CMYK image.
func CMYKJPEG(w, h int) []byte {
	var b bytes.Buffer
	seg := func(marker byte, data []byte) {
		b.Write([]byte{0xFF, marker})
		binary.Write(&b, binary.BigEndian, uint16(len(data)+2))
		b.Write(data)
	}
	b.Write([]byte{0xFF, 0xD8})
	seg(0xEE, []byte("Adobe\x00\x64\x00\x00\x00\x00\x00")) // APP14, transform 0: CMYK
	seg(0xDB, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...))
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 4}
	for c := byte(1); c <= 4; c++ {
		sof = append(sof, c, 0x11, 0)
	}
	seg(0xC0, sof)
	oneCode := func(class byte) []byte { // one code of length 1, symbol 0
		t := []byte{class << 4, 1}
		t = append(t, make([]byte, 15)...)
		return append(t, 0)
	}
	seg(0xC4, append(oneCode(0), oneCode(1)...))
	seg(0xDA, []byte{4, 1, 0, 2, 0, 3, 0, 4, 0, 0, 63, 0})
	mcus := ((w + 7) / 8) * ((h + 7) / 8)
	b.Write(make([]byte, mcus)) // per MCU: 4 blocks × (DC 0 + EOB) = 8 zero bits
	b.Write([]byte{0xFF, 0xD9})
	return b.Bytes()
}
