package catalog

import (
	"testing"
	"time"
)

func TestPlanUpsert(t *testing.T) {
	const url, other = "https://cvety.kz/upload/a.jpg", "https://cvety.kz/upload/b.jpg"
	stored := func(state IndexState, image string) *Product {
		return &Product{ImageURL: image, IndexState: state}
	}
	deleted := time.Unix(1_700_000_000, 0)
	permanent := StoredJob{State: JobFailed}
	transient := StoredJob{State: JobFailed, Transient: true}
	tests := []struct {
		name  string
		old   *Product
		job   StoredJob
		image string
		want  IndexPlan
	}{
		{"new product", nil, StoredJob{}, url, PlanReindex},
		{"new product without image", nil, StoredJob{}, "", PlanNoImage},
		{"image removed", stored(StateIndexed, url), StoredJob{}, "", PlanNoImage},
		{"image removed from a failed one", stored(StateFailed, url), permanent, "", PlanNoImage},
		{"indexed, same image", stored(StateIndexed, url), StoredJob{}, url, PlanKeep},
		{"indexed, new image", stored(StateIndexed, url), StoredJob{}, other, PlanReindex},
		{"pending, same image, queued", stored(StatePending, url), StoredJob{State: JobAvailable}, url, PlanEnsureJob},
		{"pending, same image, running", stored(StatePending, url), StoredJob{State: JobRunning}, url, PlanEnsureJob},
		{"pending, same image, job lost", stored(StatePending, url), StoredJob{}, url, PlanEnsureJob},
		{"pending, new image", stored(StatePending, url), StoredJob{State: JobRunning}, other, PlanReindex},
		// The repeat-import case: a 404 is not fetched again for the same URL.
		{"failed for good, same image", stored(StateFailed, url), permanent, url, PlanKeep},
		{"failed, no job row, same image", stored(StateFailed, url), StoredJob{}, url, PlanKeep},
		{"failed for good, new image", stored(StateFailed, url), permanent, other, PlanReindex},
		{"failed transiently, same image", stored(StateFailed, url), transient, url, PlanReindex},
		{"failed transiently, new image", stored(StateFailed, url), transient, other, PlanReindex},
		{"no_image gets an image", stored(StateNoImage, ""), StoredJob{}, url, PlanReindex},
		{"no_image state with that image", stored(StateNoImage, url), StoredJob{}, url, PlanReindex},
		{"deleted indexed, restored with the same image", &Product{ImageURL: url, IndexState: StateIndexed, DeletedAt: &deleted}, StoredJob{}, url, PlanKeep},
	}
	for _, tt := range tests {
		if got := PlanUpsert(tt.old, tt.job, tt.image); got != tt.want {
			t.Errorf("%s: PlanUpsert = %s, want %s", tt.name, got, tt.want)
		}
	}
}
