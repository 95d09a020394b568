package catalog

import (
	"fmt"
	"strings"
)

// PhotoState is where one photo of a product stands in the index.
type PhotoState string

// The states of a photo.
const (
	PhotoPending PhotoState = "pending" // to be fetched and embedded by the product's job
	PhotoIndexed PhotoState = "indexed" // its vector (SHA256, the product's Model) is current
	PhotoFailed  PhotoState = "failed"  // fetching or decoding it failed; Error says why
)

// DefaultMaxPhotos is how many photos of one product are kept by default
// (LOOKALIKE_MAX_PHOTOS); the rest of a longer gallery is dropped.
const DefaultMaxPhotos = 10

// MaxPhotosSent is the most entries a webhook's images list may have; a
// longer one is refused (422) rather than read.
const MaxPhotosSent = 100

// Photo is one photo of a product: the main one first, then the gallery.
type Photo struct {
	URL       string
	SHA256    string // of the bytes its vector was made from; "" until indexed
	State     PhotoState
	Error     string // why it failed, or why its last attempt did
	Transient bool   // failed on a temporary error that ran out of attempts: a repeated event tries again
}

// MergePhotoURLs is the photo list after an event: image is product_data.image
// (the main photo), gallery product_data.images; nil means absent. The rule:
//
//   - both sent: the main photo, then the gallery;
//   - only images: the list as sent, its first entry the main photo;
//   - only image: it replaces the main photo (the first) and the gallery
//     stays; "" removes the main photo;
//   - neither: the stored list.
//
// Empty URLs and repeats are dropped (the first one stays), and the list is
// cut to max photos (the main photo first); dropped says how many went.
func MergePhotoURLs(old []string, image *string, gallery *[]string, max int) (urls []string, dropped int) {
	var list []string
	switch {
	case image != nil && gallery != nil:
		list = append([]string{*image}, *gallery...)
	case gallery != nil:
		list = *gallery
	case image != nil:
		list = []string{*image}
		if len(old) > 0 {
			list = append(list, old[1:]...)
		}
	default:
		list = old
	}
	seen := make(map[string]bool, len(list))
	for _, u := range list {
		u = strings.TrimSpace(u)
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		urls = append(urls, u)
	}
	if max > 0 && len(urls) > max {
		dropped = len(urls) - max
		urls = urls[:max]
	}
	return urls, dropped
}

// PhotoURLs returns the URLs of photos, in order.
func PhotoURLs(photos []Photo) []string {
	out := make([]string, len(photos))
	for i, ph := range photos {
		out[i] = ph.URL
	}
	return out
}

// PlanPhotos decides what an event does to a product's photos and its job,
// given the stored photos (nil for an unknown product) and the URL list
// after the event. A photo whose URL the product already had keeps its hash
// and state: its vector is not made again, and a photo that failed for good
// is not fetched again (one that failed on a temporary error is). New URLs
// are pending; photos no longer listed are dropped (their vectors leave the
// index). The plan is PlanNoImage without photos, PlanReindex when a photo
// needs a vector it had no job for, PlanEnsureJob when photos are still
// pending, PlanKeep otherwise.
func PlanPhotos(old []Photo, urls []string) ([]Photo, IndexPlan) {
	if len(urls) == 0 {
		return nil, PlanNoImage
	}
	byURL := make(map[string]Photo, len(old))
	for _, ph := range old {
		byURL[ph.URL] = ph
	}
	plan := PlanKeep
	photos := make([]Photo, len(urls))
	for i, u := range urls {
		ph, ok := byURL[u]
		switch {
		case !ok, ph.State == PhotoFailed && ph.Transient, ph.State != PhotoPending && ph.State != PhotoIndexed && ph.State != PhotoFailed:
			ph = Photo{URL: u, State: PhotoPending}
			plan = PlanReindex
		case ph.State == PhotoPending && plan == PlanKeep:
			plan = PlanEnsureJob
		}
		photos[i] = ph
	}
	return photos, plan
}

// ResetPhotos makes every photo pending again (an operator's requeue or
// reindex-one: fetch and embed them afresh).
func ResetPhotos(photos []Photo) []Photo {
	out := make([]Photo, len(photos))
	for i, ph := range photos {
		out[i] = Photo{URL: ph.URL, State: PhotoPending}
	}
	return out
}

// ProductState is the index state a product's photos give it: indexed, so
// searchable, as soon as one photo is; otherwise pending while one waits,
// failed when all failed, no_image without photos.
func ProductState(photos []Photo) (IndexState, string) {
	var pending, failed int
	firstErr := ""
	for _, ph := range photos {
		switch ph.State {
		case PhotoIndexed:
			return StateIndexed, ""
		case PhotoPending:
			pending++
		case PhotoFailed:
			failed++
		}
		if firstErr == "" && ph.Error != "" {
			firstErr = ph.Error
		}
	}
	switch {
	case len(photos) == 0:
		return StateNoImage, ""
	case pending > 0:
		return StatePending, firstErr
	}
	return StateFailed, firstErr
}

// CountPhotos returns how many of photos are indexed.
func CountPhotos(photos []Photo) (indexed int) {
	for _, ph := range photos {
		if ph.State == PhotoIndexed {
			indexed++
		}
	}
	return indexed
}

// IndexedSHAs returns the distinct hashes of the indexed photos, in order:
// the product's vectors.
func IndexedSHAs(photos []Photo) []string {
	var out []string
	for _, ph := range photos {
		if ph.State == PhotoIndexed && ph.SHA256 != "" && !contains(out, ph.SHA256) {
			out = append(out, ph.SHA256)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// PhotoBySHA returns the first indexed photo with that hash.
func PhotoBySHA(photos []Photo, sha string) (Photo, bool) {
	for _, ph := range photos {
		if ph.State == PhotoIndexed && ph.SHA256 == sha {
			return ph, true
		}
	}
	return Photo{}, false
}

// JobPhoto is one photo a job is to fetch and embed.
type JobPhoto struct {
	URL string
}

// PhotoResult is what a job made of one photo: a hash (and vector) on
// success, else an error that is permanent or not.
type PhotoResult struct {
	URL       string
	SHA256    string // "" when Err is set
	Vector    []float32
	Err       string
	Permanent bool
}

// GaveUp is the final error of a temporary failure that ran out of attempts.
func GaveUp(msg string, attempts int) string {
	return fmt.Sprintf("%s (gave up after %d attempts)", msg, attempts)
}

// JobNext is what becomes of a job once its results are recorded.
type JobNext string

const (
	JobDone  JobNext = "done"  // nothing left to do: the job row goes
	JobRetry JobNext = "retry" // photos are still pending: run it again later
	JobDead  JobNext = "dead"  // every photo failed: the job stays as a dead letter, the product is failed
)

// SettleJob applies a job's results to the product's photos. A result only
// counts for a pending photo with its URL (one removed or replaced
// meanwhile is ignored). A temporary failure keeps the photo pending for
// another attempt, unless giveUp (the attempts ran out): then it fails,
// marked transient.
func SettleJob(photos []Photo, results []PhotoResult, giveUp bool, attempts int) ([]Photo, JobNext) {
	out := append([]Photo(nil), photos...)
	for _, r := range results {
		for i := range out {
			ph := &out[i]
			if ph.URL != r.URL || ph.State != PhotoPending {
				continue
			}
			switch {
			case r.Err == "":
				*ph = Photo{URL: ph.URL, SHA256: r.SHA256, State: PhotoIndexed}
			case r.Permanent:
				*ph = Photo{URL: ph.URL, State: PhotoFailed, Error: r.Err}
			case giveUp:
				*ph = Photo{URL: ph.URL, State: PhotoFailed, Error: GaveUp(r.Err, attempts), Transient: true}
			default:
				ph.Error = r.Err
			}
		}
	}
	state, _ := ProductState(out)
	switch state {
	case StatePending:
		return out, JobRetry
	case StateFailed:
		return out, JobDead
	}
	for _, ph := range out {
		if ph.State == PhotoPending {
			return out, JobRetry
		}
	}
	return out, JobDone
}
