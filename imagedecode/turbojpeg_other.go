//go:build !cgo || !linux

package imagedecode

import "image"

func turboAvailable() bool { return false }

func decodeJPEGTurbo(data []byte, ow, oh int, cmyk bool) (image.Image, bool) { return nil, false }
