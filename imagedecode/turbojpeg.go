//go:build cgo && linux

package imagedecode

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

// The few TurboJPEG functions used, looked up at run time so that the
// library (Debian's libturbojpeg0) is optional: without it the standard
// library's decoder is used.
typedef void *tjhandle;
static void *tj_lib;
static tjhandle (*tj_init)(void);
static int (*tj_header3)(tjhandle, const unsigned char *, unsigned long, int *, int *, int *, int *);
static int (*tj_decompress2)(tjhandle, const unsigned char *, unsigned long, unsigned char *, int, int, int, int, int);
static int (*tj_destroy)(tjhandle);

static int tj_load(void) {
	const char *names[] = {"libturbojpeg.so.0", "libturbojpeg.so"};
	for (int i = 0; i < 2 && !tj_lib; i++) tj_lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!tj_lib) return -1;
	tj_init = (tjhandle (*)(void))dlsym(tj_lib, "tjInitDecompress");
	tj_header3 = (int (*)(tjhandle, const unsigned char *, unsigned long, int *, int *, int *, int *))dlsym(tj_lib, "tjDecompressHeader3");
	tj_decompress2 = (int (*)(tjhandle, const unsigned char *, unsigned long, unsigned char *, int, int, int, int, int))dlsym(tj_lib, "tjDecompress2");
	tj_destroy = (int (*)(tjhandle))dlsym(tj_lib, "tjDestroy");
	return (tj_init && tj_header3 && tj_decompress2 && tj_destroy) ? 0 : -2;
}

// tj_decode decodes a JPEG at out_w×out_h (one of the library's scaled
// sizes) into RGBA, or, when cmyk is set, a CMYK or YCCK JPEG into CMYK as
// stored (Adobe's inverted ink). It returns 0 on success, 1 when the file's
// colour space is not the one asked for, and -1 on failure.
static int tj_decode(const unsigned char *buf, unsigned long len, unsigned char *out, int out_w, int out_h, int cmyk) {
	tjhandle h = tj_init();
	if (!h) return -1;
	int w, hh, subsamp, cs;
	int rc = -1;
	if (tj_header3(h, buf, len, &w, &hh, &subsamp, &cs) == 0) {
		int is_cmyk = cs == 3 || cs == 4; // TJCS_CMYK, TJCS_YCCK
		if (is_cmyk != cmyk) {
			rc = 1;
		} else if (tj_decompress2(h, buf, len, out, out_w, out_w * 4, out_h, cmyk ? 11 : 7, 0) == 0) { // TJPF_CMYK, TJPF_RGBA
			rc = 0;
		}
	}
	tj_destroy(h);
	return rc;
}
*/
import "C"

import (
	"image"
	"sync"
	"unsafe"
)

var (
	turboOnce sync.Once
	turboOK   bool
)

// turboAvailable reports whether libturbojpeg could be loaded.
func turboAvailable() bool {
	turboOnce.Do(func() { turboOK = C.tj_load() == 0 })
	return turboOK
}

// decodeJPEGTurbo decodes a JPEG with libjpeg-turbo at ow×oh, one of its
// scaled sizes (1/2, 1/4, 1/8: the reduction happens in the DCT, so a
// 12 MP photo needed at 448 px costs a fraction of a full decode; see
// jpegScale), into *image.RGBA, or for a 4-component (Adobe CMYK or YCCK)
// file, cmyk, into *image.CMYK with image/jpeg's values. ok is false when
// the library is not there or declined the image; the caller then decodes
// as usual.
func decodeJPEGTurbo(data []byte, ow, oh int, cmyk bool) (img image.Image, ok bool) {
	if len(data) == 0 || ow <= 0 || oh <= 0 || !turboAvailable() {
		return nil, false
	}
	r := image.Rect(0, 0, ow, oh)
	var pix []byte
	if cmyk {
		m := image.NewCMYK(r)
		img, pix = m, m.Pix
	} else {
		m := image.NewRGBA(r)
		img, pix = m, m.Pix
	}
	flag := C.int(0)
	if cmyk {
		flag = 1
	}
	rc := C.tj_decode((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)),
		(*C.uchar)(unsafe.Pointer(&pix[0])), C.int(ow), C.int(oh), flag)
	if rc != 0 {
		return nil, false
	}
	if cmyk {
		// libjpeg gives Adobe's inverted ink as stored; image/jpeg (and
		// image.CMYK) count ink up from 0.
		for i, v := range pix {
			pix[i] = 255 - v
		}
	}
	return img, true
}
