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

// tj_decode decodes a JPEG into RGBA at out_w×out_h (one of the library's
// scaled sizes). It returns 0 on success, 1 for a colour space it leaves to
// the caller (CMYK), and -1 on failure.
static int tj_decode(const unsigned char *buf, unsigned long len, unsigned char *out, int out_w, int out_h) {
	tjhandle h = tj_init();
	if (!h) return -1;
	int w, hh, subsamp, cs;
	int rc = -1;
	if (tj_header3(h, buf, len, &w, &hh, &subsamp, &cs) == 0) {
		if (cs == 3 || cs == 4) { // TJCS_CMYK, TJCS_YCCK
			rc = 1;
		} else if (tj_decompress2(h, buf, len, out, out_w, out_w * 4, out_h, 7, 0) == 0) { // TJPF_RGBA
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
// jpegScale). ok is false when the library is not there or declined the
// image (CMYK, say); the caller then decodes as usual.
func decodeJPEGTurbo(data []byte, ow, oh int) (img image.Image, ok bool) {
	if len(data) == 0 || ow <= 0 || oh <= 0 || !turboAvailable() {
		return nil, false
	}
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	rc := C.tj_decode((*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)),
		(*C.uchar)(unsafe.Pointer(&out.Pix[0])), C.int(ow), C.int(oh))
	if rc != 0 {
		return nil, false
	}
	return out, true
}
