//go:build !cgo || !linux

package imagedecode

import "image"

func turboAvailable() bool { return false }

func decodeJPEGScaled(data []byte, w, h, minSide int) (image.Image, bool) { return nil, false }
