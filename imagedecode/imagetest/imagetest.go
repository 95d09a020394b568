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

// CMYKJPEG is a real baseline 4-component (Adobe CMYK) JPEG of w×h whose
// components are flat: stored samples 128+level[i] (the levels all 0, or
// all 16–31 in size, either sign), which image/jpeg decodes as C, M, Y, K =
// 127-level[i] (Adobe files store ink inverted). With tiny Huffman tables
// every 8×8 block after the first costs two bits a component, so 49 MP is
// about 750 KB.
func CMYKJPEG(w, h int, level [4]int) []byte {
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
	// DC: code 0 = no change, code 1000000 = a change of 8 bits (category
	// 8; libjpeg allows no all-ones code); AC: code 0 = end of block.
	dc := []byte{0x00, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	dc = append(dc, 0, 8)
	ac := append([]byte{0x10, 1}, make([]byte, 15)...)
	ac = append(ac, 0)
	seg(0xC4, append(dc, ac...))
	seg(0xDA, []byte{4, 1, 0, 2, 0, 3, 0, 4, 0, 0, 63, 0})
	// The first MCU sets each component's DC (8 × level: a flat block's
	// samples are DC/8 + 128) in 2 or 16 bits a component, so a whole
	// number of bytes; every other MCU repeats it in 8 zero bits.
	var first uint64
	n := 0
	put := func(v, bits int) {
		first = first<<bits | uint64(v)
		n += bits
	}
	for _, l := range level {
		if (l == 0) != (level[0] == 0) {
			panic("imagetest.CMYKJPEG: levels must be all zero or all non-zero")
		}
		if l == 0 {
			put(0, 2) // DC unchanged, end of block
			continue
		}
		d := 8 * l // 128 <= |d| <= 255: category 8
		if d < 0 {
			d += 255
		}
		put(0x40, 7)
		put(d, 8)
		put(0, 1)
	}
	for i := n - 8; i >= 0; i -= 8 {
		c := byte(first >> i)
		b.WriteByte(c)
		if c == 0xFF {
			b.WriteByte(0) // byte stuffing
		}
	}
	b.Write(make([]byte, ((w+7)/8)*((h+7)/8)-1))
	b.Write([]byte{0xFF, 0xD9})
	return b.Bytes()
}
