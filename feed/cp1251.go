package feed

import (
	"io"
	"unicode/utf8"
)

// cp1251High maps the bytes 0x80–0xBF of windows-1251 to Unicode; 0xC0–0xFF
// are А–я (U+0410–U+044F). 0x98 is unassigned.
var cp1251High = [64]rune{
	0x0402, 0x0403, 0x201A, 0x0453, 0x201E, 0x2026, 0x2020, 0x2021,
	0x20AC, 0x2030, 0x0409, 0x2039, 0x040A, 0x040C, 0x040B, 0x040F,
	0x0452, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	utf8.RuneError, 0x2122, 0x0459, 0x203A, 0x045A, 0x045C, 0x045B, 0x045F,
	0x00A0, 0x040E, 0x045E, 0x0408, 0x00A4, 0x0490, 0x00A6, 0x00A7,
	0x0401, 0x00A9, 0x0404, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x0407,
	0x00B0, 0x00B1, 0x0406, 0x0456, 0x0491, 0x00B5, 0x00B6, 0x00B7,
	0x0451, 0x2116, 0x0454, 0x00BB, 0x0458, 0x0405, 0x0455, 0x0457,
}

// cp1251Reader decodes windows-1251 into UTF-8 as it is read.
type cp1251Reader struct {
	r   io.Reader
	in  [16 << 10]byte
	out []byte // decoded bytes
	pos int    // how many of out were returned
}

func newCP1251Reader(r io.Reader) io.Reader {
	return &cp1251Reader{r: r, out: make([]byte, 0, 3*(16<<10))}
}

func (c *cp1251Reader) Read(p []byte) (int, error) {
	if c.pos == len(c.out) {
		n, err := c.r.Read(c.in[:])
		if n == 0 {
			return 0, err
		}
		c.out, c.pos = c.out[:0], 0
		for _, b := range c.in[:n] {
			switch {
			case b < 0x80:
				c.out = append(c.out, b)
			case b >= 0xC0:
				c.out = utf8.AppendRune(c.out, rune(0x0410+int(b-0xC0)))
			default:
				c.out = utf8.AppendRune(c.out, cp1251High[b-0x80])
			}
		}
	}
	n := copy(p, c.out[c.pos:])
	c.pos += n
	return n, nil
}
