package catalog

// JobState is where a product's reindex job row stands.
type JobState string

// The states of a job row; JobNone when the product has none.
const (
	JobNone      JobState = ""
	JobAvailable JobState = "available" // queued, or waiting for its retry
	JobRunning   JobState = "running"   // leased by a worker
	JobFailed    JobState = "failed"    // a dead letter: the product is failed
)

// StoredJob is what an event's decision needs to know of a product's job.
type StoredJob struct {
	State JobState
	// Transient is set on a failed job whose last error was a temporary
	// one (a 5xx, a timeout, a refused connection) that ran out of
	// attempts, as opposed to a permanent one (404, not an image, a
	// blocked address).
	Transient bool
}

// IndexPlan is what an event does to a product's vector and its job.
type IndexPlan string

const (
	// PlanKeep leaves the index state and the job as they are: the current
	// vector stands, or the final verdict on the image does.
	PlanKeep IndexPlan = "keep"
	// PlanEnsureJob keeps a pending product pending: its job is created if
	// missing, and a queued or running one keeps its progress.
	PlanEnsureJob IndexPlan = "ensure_job"
	// PlanReindex starts a new generation: the product becomes pending, its
	// old vector stops being current and its job is re-armed from attempt 0.
	PlanReindex IndexPlan = "reindex"
	// PlanNoImage: the product has no image; no vector, no job.
	PlanNoImage IndexPlan = "no_image"
)

// PlanUpsert decides what a created or updated event does to a stored
// product's index state and job. old is the product before the event (nil
// when unknown; a soft-deleted one counts), job its job row, and image the
// image URL after the event.
//
// A new image URL, or an unknown product, needs a new vector. The same URL
// keeps what the product has: its vector, its pending job, or its failure.
// A repeated event or feed row therefore never fetches a photo that failed
// for good again (a 404 stays a 404 until the URL changes or an operator
// retries, see Store.Requeue); only a failure that was transient, a host
// that was down until the attempts ran out, is tried again.
func PlanUpsert(old *Product, job StoredJob, image string) IndexPlan {
	switch {
	case image == "":
		return PlanNoImage
	case old == nil || old.ImageURL != image:
		return PlanReindex
	}
	switch old.IndexState {
	case StateIndexed:
		return PlanKeep
	case StatePending:
		return PlanEnsureJob
	case StateFailed:
		if job.State == JobFailed && job.Transient {
			return PlanReindex
		}
		return PlanKeep
	}
	return PlanReindex // no_image with an image, or a state this code does not know
}
