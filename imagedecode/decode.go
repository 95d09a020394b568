// Package imagedecode decodes untrusted image bytes safely: the format is
// taken from magic bytes only, oversized images are refused from their
// header before any pixel buffer is allocated, JPEG EXIF orientation is
// applied, and hostile input yields an error rather than a panic.
package imagedecode

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/image/webp"
)

// DefaultMaxPixels is the pixel limit used when Limits.MaxPixels is not set.
const DefaultMaxPixels = 50_000_000

// Limits bounds what Decode accepts.
type Limits struct {
	// MaxPixels caps width×height; 0 or less means DefaultMaxPixels.
	MaxPixels int64
	// MinSide, when set, says the caller needs no more than this many pixels
	// on the short side: a large JPEG may then be decoded at 1/2, 1/4 or 1/8
	// of its size (when libjpeg-turbo is installed), keeping the short side
	// at least MinSide. 0 means full size.
	MinSide int
	// Budget is the decode memory budget DecodeContext takes from; nil
	// means a process-wide one of DefaultBudget bytes.
	Budget *Budget
	// Timeout bounds DecodeContext's wait for the budget, and then the
	// decode itself; 0 means only the context does.
	Timeout time.Duration
}

// Sentinel errors. Errors returned by this package wrap exactly one of them
// and carry a message a person can act on.
var (
	ErrNotImage    = errors.New("not an image")
	ErrTooLarge    = errors.New("image too large")
	ErrCorrupt     = errors.New("corrupt image")
	ErrUnsupported = errors.New("unsupported image format")
)

// kindError is the concrete error type: msg is the full message and kind
// the sentinel it wraps.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Decode decodes data as a JPEG, PNG (APNG: the default image), GIF (first
// frame) or still WebP image (an animated WebP is ErrUnsupported). The
// format comes from Sniff; the header is read first and images over
// lim.MaxPixels are refused with ErrTooLarge before pixels are decoded.
// JPEG EXIF orientation is applied so photos come out upright. format is
// set whenever sniffing succeeded, even if decoding then failed.
//
// Decode takes no decode memory budget: servers decoding untrusted input
// use DecodeContext.
func Decode(data []byte, lim Limits) (img image.Image, format string, err error) {
	p, err := inspect(data, lim)
	if err != nil {
		return nil, p.format, err
	}
	img, err = decodePlanned(data, p, lim, nil)
	return img, p.format, err
}

// decodePlanned decodes what inspect planned. When libjpeg-turbo declines
// a JPEG that was planned for it, the standard decoder needs more memory:
// grow (if not nil) must first get it from the budget.
func decodePlanned(data []byte, p plan, lim Limits, grow func(peak int64) bool) (img image.Image, err error) {
	format := p.format
	maxPixels := lim.MaxPixels
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	defer func() {
		// The standard decoders are meant not to panic, but this is the
		// last line of defence against hostile input.
		if r := recover(); r != nil {
			img, err = nil, errorf(ErrCorrupt, "corrupt %s: decoder failed (%v)", format, r)
		}
	}()
	if p.denom > 1 {
		img, _ = decodeJPEGTurbo(data, scaled(p.w, p.denom), scaled(p.h, p.denom), p.cmyk)
		if img == nil {
			if grow != nil && !grow(p.fallback.peak) {
				return nil, errorf(ErrBusy, "libjpeg-turbo declined the jpeg, and the decode memory budget has no room now to decode it at full size")
			}
		}
	}
	if img == nil {
		img, err = decodeImage(format, data)
		if err != nil {
			return nil, corrupt(format, err)
		}
	}
	// A decoder must not return more pixels than its header promised.
	if b := img.Bounds(); int64(b.Dx())*int64(b.Dy()) > maxPixels || b.Dx() > p.w || b.Dy() > p.h {
		return nil, errorf(ErrTooLarge, "image is %d×%d, over the %s limit",
			b.Dx(), b.Dy(), megapixels(maxPixels))
	}
	if p.orient > 1 {
		img = orient(img, p.orient)
	}
	return img, nil
}

func decodeConfig(format string, data []byte) (image.Config, error) {
	r := bytes.NewReader(data)
	switch format {
	case "jpeg":
		return jpeg.DecodeConfig(r)
	case "png":
		return png.DecodeConfig(r)
	case "gif":
		return gif.DecodeConfig(r)
	case "webp":
		return webp.DecodeConfig(r)
	}
	return image.Config{}, errorf(ErrUnsupported, "unsupported image format %s", format)
}

func decodeImage(format string, data []byte) (image.Image, error) {
	r := bytes.NewReader(data)
	switch format {
	case "jpeg":
		return jpeg.Decode(r)
	case "png":
		return png.Decode(r)
	case "gif":
		return gif.Decode(r) // the first frame
	case "webp":
		return webp.Decode(r)
	}
	return nil, errorf(ErrUnsupported, "unsupported image format %s", format)
}

// corrupt wraps a decoder error as ErrCorrupt, e.g.
// "corrupt or truncated jpeg: unexpected EOF". Valid files using features
// the decoders lack (arithmetic-coded JPEG, for one) give ErrUnsupported.
func corrupt(format string, err error) error {
	var ke *kindError
	if errors.As(err, &ke) {
		return err
	}
	var pngUnsupported png.UnsupportedError
	var jpegUnsupported jpeg.UnsupportedError
	switch {
	case errors.As(err, &pngUnsupported) && string(pngUnsupported) == "dimension overflow":
		return errorf(ErrTooLarge, "png dimensions are too large to decode")
	case errors.As(err, &pngUnsupported):
		return errorf(ErrUnsupported, "unsupported png variant: %s", string(pngUnsupported))
	case errors.As(err, &jpegUnsupported):
		return errorf(ErrUnsupported, "unsupported jpeg variant: %s", string(jpegUnsupported))
	}
	msg := err.Error()
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errorf(ErrCorrupt, "corrupt or truncated %s: unexpected EOF", format)
	}
	// Decoders prefix their messages with the package name.
	for _, p := range []string{"jpeg: ", "png: ", "gif: ", "webp: ", "vp8: ", "vp8l: ", "riff: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return errorf(ErrCorrupt, "corrupt or truncated %s: %s", format, msg)
}

// megapixels formats a pixel count for messages: "400 MP", "49.5 MP", or
// plain pixels below 0.1 MP ("2048 px").
func megapixels(px int64) string {
	mp := float64(px) / 1e6
	switch {
	case mp >= 100:
		return strconv.FormatFloat(mp, 'f', 0, 64) + " MP"
	case mp >= 0.1:
		return strings.TrimSuffix(strconv.FormatFloat(mp, 'f', 1, 64), ".0") + " MP"
	}
	return strconv.FormatInt(px, 10) + " px"
}
