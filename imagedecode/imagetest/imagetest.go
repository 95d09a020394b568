// Package imagetest makes real, decodable images for tests that are
// large when decoded and small as files, so that tests can generate them
// instead of committing them.
package imagetest

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"hash/adler32"
	"hash/crc32"
)

// PNGChunk appends one PNG chunk (length, type, data, CRC) to b.
func PNGChunk(b *bytes.Buffer, typ string, data []byte) {
	binary.Write(b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// pngFile is a PNG of the given IHDR data and zlib stream of rows.
func pngFile(ihdr, idat []byte) []byte {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	PNGChunk(&out, "IHDR", ihdr)
	PNGChunk(&out, "IDAT", idat)
	PNGChunk(&out, "IEND", nil)
	return out.Bytes()
}

// StripedPNG is a real, fully decodable w×h RGBA PNG of the given bit depth
// (8 or 16) that compresses to almost nothing: the first row is a gradient,
// every other row repeats it (filter "Up", so all zeros). A 42 MP 16-bit one
// is about 440 KB and decodes to 336 MB. It is made in milliseconds, even
// under the race detector: the zero rows are compressed once, in a block of
// rows that repeats (each piece of the stream refers only to itself), and
// the zlib checksum of a zero row is computed rather than summed.
func StripedPNG(w, h, depth int) []byte {
	rowBytes := w * 4 * depth / 8
	row := make([]byte, 1+rowBytes)
	for i := 1; i < len(row); i++ {
		row[i] = byte(i * 7 / (depth / 2))
	}
	zero := make([]byte, 1+rowBytes)
	zero[0] = 2 // Up: the row above, unchanged
	piece := func(rows int, data []byte, last bool) []byte {
		var b bytes.Buffer
		fw, _ := flate.NewWriter(&b, flate.BestSpeed)
		for range rows {
			fw.Write(data)
		}
		if last {
			fw.Close()
		} else {
			fw.Flush() // ends on a byte boundary: pieces concatenate
		}
		return b.Bytes()
	}
	var idat bytes.Buffer
	idat.Write([]byte{0x78, 0x01}) // zlib header: deflate, 32 KiB window
	idat.Write(piece(1, row, false))
	const block = 64
	n, rest := (h-1)/block, (h-1)%block
	unit := piece(block, zero, false)
	for range n {
		idat.Write(unit)
	}
	idat.Write(piece(rest, zero, true))
	// Adler-32 of row, then of h-1 zero rows: the 2 adds to a, and each
	// zero byte adds a to b.
	const mod = 65521
	sum := adler32.Checksum(row)
	a, b := uint64(sum&0xffff), uint64(sum>>16)
	for range h - 1 {
		a = (a + 2) % mod
		b = (b + a + a*uint64(rowBytes)) % mod
	}
	binary.Write(&idat, binary.BigEndian, uint32(b<<16|a))
	return pngFile(ihdr(w, h, depth, false), idat.Bytes())
}

// ihdr is the IHDR chunk's data for a w×h RGBA PNG of the given depth.
func ihdr(w, h, depth int, adam7 bool) []byte {
	d := make([]byte, 13)
	binary.BigEndian.PutUint32(d[0:], uint32(w))
	binary.BigEndian.PutUint32(d[4:], uint32(h))
	d[8], d[9] = byte(depth), 6 // RGBA
	if adam7 {
		d[12] = 1
	}
	return d
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

// InterlacedPNG is a real Adam7-interlaced w×h RGBA PNG of the given bit
// depth, all transparent black: image/png decodes each of its seven passes
// into an image of its own before merging them.
func InterlacedPNG(w, h, depth int) []byte {
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	for _, p := range [7][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}} {
		pw := (w - p[0] + p[2] - 1) / p[2]
		ph := (h - p[1] + p[3] - 1) / p[3]
		if pw <= 0 || ph <= 0 {
			continue
		}
		row := make([]byte, 1+pw*4*depth/8) // filter None, zero pixels
		for range ph {
			zw.Write(row)
		}
	}
	zw.Close() // writes to a bytes.Buffer cannot fail
	return pngFile(ihdr(w, h, depth, true), idat.Bytes())
}
