package imagedecode

import "encoding/binary"

// webpAnimated reports whether a RIFF WEBP file is an animation: its VP8X
// header sets the animation flag, or it has ANIM or ANMF chunks. The WebP
// decoder reads only still images and would call an animation corrupt.
func webpAnimated(data []byte) bool {
	const animationFlag = 1 << 1
	for off := 12; off+8 <= len(data); {
		fourCC := string(data[off : off+4])
		size := int64(binary.LittleEndian.Uint32(data[off+4 : off+8]))
		switch fourCC {
		case "ANIM", "ANMF":
			return true
		case "VP8X":
			if off+8 < len(data) && data[off+8]&animationFlag != 0 {
				return true
			}
		case "VP8 ", "VP8L":
			return false // a still image's bitstream comes first
		}
		next := int64(off) + 8 + size + size&1 // chunks are padded to even sizes
		if next > int64(len(data)) {
			return false
		}
		off = int(next)
	}
	return false
}
