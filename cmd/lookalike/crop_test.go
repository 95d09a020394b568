package main

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/draw"
	"image/jpeg"
	"strings"
	"testing"
)

// sideBySide puts two photos next to each other in one JPEG, each scaled
// to the same height.
func sideBySide(t *testing.T, left, right []byte) []byte {
	t.Helper()
	a, err := jpeg.Decode(bytes.NewReader(left))
	if err != nil {
		t.Fatal(err)
	}
	b, err := jpeg.Decode(bytes.NewReader(right))
	if err != nil {
		t.Fatal(err)
	}
	const h = 240
	w := h * 4 / 3
	dst := image.NewRGBA(image.Rect(0, 0, 2*w, h))
	draw.Draw(dst, image.Rect(0, 0, w, h), scaled(a, w, h), image.Point{}, draw.Src)
	draw.Draw(dst, image.Rect(w, 0, 2*w, h), scaled(b, w, h), image.Point{}, draw.Src)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// scaled resizes img to w×h by nearest neighbour.
func scaled(img image.Image, w, h int) image.Image {
	r := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			dst.Set(x, y, img.At(r.Min.X+x*r.Dx()/w, r.Min.Y+y*r.Dy()/h))
		}
	}
	return dst
}

// A search with a crop box searches that region of the photo only; a bad
// box is a 422 that says what is wrong.
func TestSearchCrop(t *testing.T) {
	images := newImageServer(t)
	srv := startServer(t, t.TempDir(), nil)
	ids := map[string]int{"daisy": 1, "dandelion": 2, "roses": 3, "sunflowers": 4, "tulips": 5}
	for class, id := range ids {
		if r := srv.webhook(createBody(id, "Букет "+class, "1 000 ₸", images.URL+"/img/"+class+".jpg", "")); r.status != 200 {
			t.Fatalf("create %s: %d %s", class, r.status, r.raw)
		}
	}
	srv.waitFor("5 vectors", func() bool { return num(srv.stats()["vectors"]) == 5 })

	first := func(r reply) float64 {
		t.Helper()
		if r.status != 200 {
			t.Fatalf("search: %d %s", r.status, r.raw)
		}
		res := r.body["results"].([]any)
		if len(res) == 0 {
			t.Fatalf("no results: %s", r.raw)
		}
		return num(res[0].(map[string]any)["product_id"])
	}
	pairs := [][2]string{{"roses", "sunflowers"}, {"sunflowers", "roses"}, {"daisy", "tulips"}, {"tulips", "daisy"}}
	for _, p := range pairs {
		photo := sideBySide(t, readPhoto(t, p[0]), readPhoto(t, p[1]))
		if got := first(srv.searchPhoto(photo, map[string]string{"shop_id": "8", "crop": "0,0,0.5,1"})); got != float64(ids[p[0]]) {
			t.Errorf("%s|%s, crop of the left half: first result %v, want %s", p[0], p[1], got, p[0])
		}
		if got := first(srv.searchPhoto(photo, map[string]string{"shop_id": "8", "crop": "0.5, 0, 0.5, 1"})); got != float64(ids[p[1]]) {
			t.Errorf("%s|%s, crop of the right half: first result %v, want %s", p[0], p[1], got, p[1])
		}
		// JSON takes the box as text, as {"x","y","w","h"} or as [x, y, w, h].
		b64 := base64.StdEncoding.EncodeToString(photo)
		for _, crop := range []any{"0.5,0,0.5,1", map[string]any{"x": 0.5, "y": 0, "w": 0.5, "h": 1}, []any{0.5, 0, 0.5, 1}} {
			r := srv.postJSON("/api/v1/search", map[string]any{"image_base64": b64, "shop_id": 8, "crop": crop}, nil)
			if got := first(r); got != float64(ids[p[1]]) {
				t.Errorf("%s|%s, JSON crop %v: first result %v, want %s", p[0], p[1], crop, got, p[1])
			}
		}
	}

	photo := readPhoto(t, "roses")
	for _, c := range []struct {
		crop any
		json bool
		want string
	}{
		{"0,0,1", false, "four numbers"},
		{"0,0,half,1", false, "not a number"},
		{"0.6,0,0.5,1", false, "inside the photo"},
		{"0,0,0,1", false, "at least"},
		{"-0.1,0,0.5,0.5", false, "between 0 and 1"},
		{map[string]any{"x": 0, "y": 0, "width": 1, "h": 1}, true, "unknown key"},
		{[]any{0, 0, "1", 1}, true, "must all be numbers"},
		{[]any{0, 0, 1}, true, "four numbers"},
	} {
		var r reply
		if c.json {
			r = srv.postJSON("/api/v1/search", map[string]any{"image_base64": base64.StdEncoding.EncodeToString(photo), "crop": c.crop}, nil)
		} else {
			r = srv.searchPhoto(photo, map[string]string{"crop": c.crop.(string)})
		}
		if msg, _ := r.body["error"].(string); r.status != 422 || !strings.Contains(msg, "crop") || !strings.Contains(msg, c.want) {
			t.Errorf("crop %v: %d %s, want 422 saying %q", c.crop, r.status, r.raw, c.want)
		}
	}
	r := srv.postJSON("/api/v1/search", map[string]any{"text": "roses", "crop": "0,0,0.5,0.5"}, nil)
	if msg, _ := r.body["error"].(string); r.status != 422 || !strings.Contains(msg, "crop selects a region of a photo") {
		t.Errorf("crop with text: %d %s", r.status, r.raw)
	}
}
