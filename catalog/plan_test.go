package catalog

import (
	"reflect"
	"testing"
)

func TestPlanPhotos(t *testing.T) {
	const a, b, c = "https://cvety.kz/upload/a.jpg", "https://cvety.kz/upload/b.jpg", "https://cvety.kz/upload/c.jpg"
	indexed := func(u, sha string) Photo { return Photo{URL: u, SHA256: sha, State: PhotoIndexed} }
	pending := func(u string) Photo { return Photo{URL: u, State: PhotoPending} }
	failed := func(u string) Photo {
		return Photo{URL: u, State: PhotoFailed, Error: "Failed to fetch image: 404 Not Found"}
	}
	transient := Photo{URL: a, State: PhotoFailed, Error: "503 (gave up after 8 attempts)", Transient: true}
	tests := []struct {
		name string
		old  []Photo
		urls []string
		want []Photo
		plan IndexPlan
	}{
		{"new product", nil, []string{a}, []Photo{pending(a)}, PlanReindex},
		{"new product with a gallery", nil, []string{a, b, c}, []Photo{pending(a), pending(b), pending(c)}, PlanReindex},
		{"new product without photos", nil, nil, nil, PlanNoImage},
		{"photos removed", []Photo{indexed(a, "1")}, nil, nil, PlanNoImage},
		{"photos removed from a failed one", []Photo{failed(a)}, nil, nil, PlanNoImage},
		{"indexed, same photo", []Photo{indexed(a, "1")}, []string{a}, []Photo{indexed(a, "1")}, PlanKeep},
		{"indexed, new photo", []Photo{indexed(a, "1")}, []string{b}, []Photo{pending(b)}, PlanReindex},
		// Changing one photo of three: the two others keep their vectors.
		{"one photo of three replaced", []Photo{indexed(a, "1"), indexed(b, "2"), indexed(c, "3")}, []string{a, "https://x/d.jpg", c},
			[]Photo{indexed(a, "1"), pending("https://x/d.jpg"), indexed(c, "3")}, PlanReindex},
		{"a photo removed", []Photo{indexed(a, "1"), indexed(b, "2")}, []string{a}, []Photo{indexed(a, "1")}, PlanKeep},
		{"photos reordered", []Photo{indexed(a, "1"), indexed(b, "2")}, []string{b, a}, []Photo{indexed(b, "2"), indexed(a, "1")}, PlanKeep},
		{"a photo added to an indexed one", []Photo{indexed(a, "1")}, []string{a, b}, []Photo{indexed(a, "1"), pending(b)}, PlanReindex},
		{"pending, same photos", []Photo{indexed(a, "1"), pending(b)}, []string{a, b}, []Photo{indexed(a, "1"), pending(b)}, PlanEnsureJob},
		{"pending, one removed, one still pending", []Photo{pending(a), pending(b)}, []string{b}, []Photo{pending(b)}, PlanEnsureJob},
		// The repeat-import case: a 404 is not fetched again for the same URL.
		{"failed for good, same photo", []Photo{failed(a)}, []string{a}, []Photo{failed(a)}, PlanKeep},
		{"failed for good, new photo", []Photo{failed(a)}, []string{b}, []Photo{pending(b)}, PlanReindex},
		{"failed transiently, same photo", []Photo{transient}, []string{a}, []Photo{pending(a)}, PlanReindex},
		{"unknown state", []Photo{{URL: a, State: "odd"}}, []string{a}, []Photo{pending(a)}, PlanReindex},
	}
	for _, tt := range tests {
		got, plan := PlanPhotos(tt.old, tt.urls)
		if plan != tt.plan || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: PlanPhotos = %+v, %s; want %+v, %s", tt.name, got, plan, tt.want, tt.plan)
		}
	}
}

func TestMergePhotoURLs(t *testing.T) {
	s := func(v string) *string { return &v }
	l := func(v ...string) *[]string { return &v }
	tests := []struct {
		name    string
		old     []string
		image   *string
		images  *[]string
		max     int
		want    []string
		dropped int
	}{
		{"seed: image only, new", nil, s("a"), nil, 10, []string{"a"}, 0},
		{"image only replaces the main photo", []string{"a", "b", "c"}, s("d"), nil, 10, []string{"d", "b", "c"}, 0},
		{"empty image removes the main photo", []string{"a", "b"}, s(""), nil, 10, []string{"b"}, 0},
		{"empty image, no gallery", []string{"a"}, s(""), nil, 10, nil, 0},
		{"both: main first", []string{"x"}, s("a"), l("b", "c"), 10, []string{"a", "b", "c"}, 0},
		{"images only: the list, first is main", []string{"x", "y"}, nil, l("b", "c"), 10, []string{"b", "c"}, 0},
		{"images empty clears the gallery", []string{"a", "b"}, s("a"), l(), 10, []string{"a"}, 0},
		{"neither: kept", []string{"a", "b"}, nil, nil, 10, []string{"a", "b"}, 0},
		{"repeats and blanks dropped", nil, s("a"), l("a", " ", "b", "b"), 10, []string{"a", "b"}, 0},
		{"cut to the cap", nil, s("a"), l("b", "c", "d"), 2, []string{"a", "b"}, 2},
	}
	for _, tt := range tests {
		got, dropped := MergePhotoURLs(tt.old, tt.image, tt.images, tt.max)
		if !reflect.DeepEqual(got, tt.want) || dropped != tt.dropped {
			t.Errorf("%s: MergePhotoURLs = %q, %d; want %q, %d", tt.name, got, dropped, tt.want, tt.dropped)
		}
	}
}

func TestSettleJob(t *testing.T) {
	const a, b = "https://x/a.jpg", "https://x/b.jpg"
	pending := func(u string) Photo { return Photo{URL: u, State: PhotoPending} }
	ok := func(u, sha string) PhotoResult { return PhotoResult{URL: u, SHA256: sha} }
	gone := func(u string) PhotoResult {
		return PhotoResult{URL: u, Err: "Failed to fetch image: 404 Not Found", Permanent: true}
	}
	down := func(u string) PhotoResult { return PhotoResult{URL: u, Err: "Failed to fetch image: 503"} }
	tests := []struct {
		name    string
		photos  []Photo
		results []PhotoResult
		giveUp  bool
		want    []PhotoState
		next    JobNext
		state   IndexState
	}{
		{"all indexed", []Photo{pending(a), pending(b)}, []PhotoResult{ok(a, "1"), ok(b, "2")}, false, []PhotoState{PhotoIndexed, PhotoIndexed}, JobDone, StateIndexed},
		{"one 404: searchable by the other", []Photo{pending(a), pending(b)}, []PhotoResult{gone(a), ok(b, "2")}, false, []PhotoState{PhotoFailed, PhotoIndexed}, JobDone, StateIndexed},
		{"all 404: failed, dead letter", []Photo{pending(a), pending(b)}, []PhotoResult{gone(a), gone(b)}, false, []PhotoState{PhotoFailed, PhotoFailed}, JobDead, StateFailed},
		{"one down: indexed, retried", []Photo{pending(a), pending(b)}, []PhotoResult{ok(a, "1"), down(b)}, false, []PhotoState{PhotoIndexed, PhotoPending}, JobRetry, StateIndexed},
		{"only one, down: pending", []Photo{pending(a)}, []PhotoResult{down(a)}, false, []PhotoState{PhotoPending}, JobRetry, StatePending},
		{"down, out of attempts", []Photo{pending(a)}, []PhotoResult{down(a)}, true, []PhotoState{PhotoFailed}, JobDead, StateFailed},
		{"result for a removed photo ignored", []Photo{pending(b)}, []PhotoResult{ok(a, "1"), ok(b, "2")}, false, []PhotoState{PhotoIndexed}, JobDone, StateIndexed},
		{"indexed photos untouched", []Photo{{URL: a, SHA256: "1", State: PhotoIndexed}, pending(b)}, []PhotoResult{ok(b, "2")}, false, []PhotoState{PhotoIndexed, PhotoIndexed}, JobDone, StateIndexed},
	}
	for _, tt := range tests {
		got, next := SettleJob(tt.photos, tt.results, tt.giveUp, 8)
		var states []PhotoState
		for _, ph := range got {
			states = append(states, ph.State)
		}
		state, _ := ProductState(got)
		if !reflect.DeepEqual(states, tt.want) || next != tt.next || state != tt.state {
			t.Errorf("%s: SettleJob = %v, %s (product %s); want %v, %s (%s)", tt.name, states, next, state, tt.want, tt.next, tt.state)
		}
	}
	got, _ := SettleJob([]Photo{pending(a)}, []PhotoResult{down(a)}, true, 8)
	if !got[0].Transient || got[0].Error != "Failed to fetch image: 503 (gave up after 8 attempts)" {
		t.Errorf("gave up: %+v", got[0])
	}
}
