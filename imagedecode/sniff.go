package imagedecode

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sniff identifies the format of data from its magic bytes alone (never
// from a Content-Type or a file extension). It returns "jpeg", "png", "gif"
// or "webp". Other image formats give ErrUnsupported; empty data, HTML,
// JSON, text and anything else give ErrNotImage, saying what the data looks
// like.
func Sniff(data []byte) (format string, err error) {
	if len(data) == 0 {
		return "", errorf(ErrNotImage, "empty file")
	}
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return "jpeg", nil
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "png", nil
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return "gif", nil
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return "webp", nil
	}
	if name := otherImageFormat(data); name != "" {
		return "", errorf(ErrUnsupported, "unsupported image format: %s (supported: JPEG, PNG, GIF, WebP)", name)
	}
	return "", errorf(ErrNotImage, "not an image: the data looks like %s", lookalike(data))
}

// otherImageFormat names image formats that are recognised but not decoded.
func otherImageFormat(data []byte) string {
	has := func(prefix string) bool { return bytes.HasPrefix(data, []byte(prefix)) }
	switch {
	case has("II*\x00"), has("MM\x00*"):
		return "TIFF"
	case len(data) >= 26 && has("BM") && string(data[6:10]) == "\x00\x00\x00\x00":
		return "BMP"
	case len(data) >= 6 && has("\x00\x00\x01\x00"):
		return "ICO"
	case has("8BPS"):
		return "PSD"
	case has("\xff\x0a"), has("\x00\x00\x00\x0cJXL \x0d\x0a\x87\x0a"):
		return "JPEG XL"
	case has("\x00\x00\x00\x0cjP  \x0d\x0a\x87\x0a"), has("\xff\x4f\xff\x51"):
		return "JPEG 2000"
	case has("qoif"):
		return "QOI"
	}
	if len(data) >= 12 && string(data[4:8]) == "ftyp" {
		switch string(data[8:12]) {
		case "heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1":
			return "HEIC/HEIF"
		case "avif", "avis":
			return "AVIF"
		}
	}
	if s := markupPrefix(data); strings.HasPrefix(s, "<svg") ||
		(strings.HasPrefix(s, "<?xml") || strings.HasPrefix(s, "<!doctype svg")) && strings.Contains(s, "<svg") {
		return "SVG (vector images are not supported)"
	}
	return ""
}

// markupPrefix returns the lower-cased start of data without a byte-order
// mark and leading white space.
func markupPrefix(data []byte) string {
	const window = 1024
	if len(data) > window {
		data = data[:window]
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	return strings.ToLower(strings.TrimLeftFunc(string(data), unicode.IsSpace))
}

// lookalike describes non-image data for an error message.
func lookalike(data []byte) string {
	has := func(prefix string) bool { return bytes.HasPrefix(data, []byte(prefix)) }
	switch {
	case has("%PDF-"):
		return "a PDF document"
	case has("PK\x03\x04"):
		return "a ZIP archive"
	case has("\x1f\x8b"):
		return "gzip-compressed data"
	case len(data) >= 12 && string(data[4:8]) == "ftyp":
		return "a video (MP4/QuickTime)"
	case has("RIFF"):
		return "a RIFF file that is not WebP (e.g. AVI or WAV)"
	}
	s := markupPrefix(data)
	switch {
	case strings.HasPrefix(s, "<?xml"):
		return "an XML document"
	case strings.HasPrefix(s, "<"):
		return "an HTML page"
	case strings.HasPrefix(s, "{"), strings.HasPrefix(s, "["):
		return "JSON"
	}
	if isText(data) {
		return "text: " + snippet(data)
	}
	n := min(len(data), 8)
	return fmt.Sprintf("unrecognised binary data (starts with % x)", data[:n])
}

// isText reports whether the start of data is printable UTF-8.
func isText(data []byte) bool {
	if len(data) > 512 {
		data = data[:512]
	}
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size == 1 {
			// Allow a rune cut off at the window's end.
			return len(data) < utf8.UTFMax && !utf8.FullRune(data)
		}
		if !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return false
		}
		data = data[size:]
	}
	return true
}

// snippet quotes the first words of a text for an error message.
func snippet(data []byte) string {
	const max = 40
	s := strings.TrimSpace(strings.ToValidUTF8(string(data[:min(len(data), 4*max)]), ""))
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		return strconv.Quote(string(r[:max])) + "…"
	}
	return strconv.Quote(s)
}
