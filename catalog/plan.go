package catalog

// IndexPlan is what an event does to a product's vectors and its job
// (PlanPhotos decides it).
type IndexPlan string

const (
	// PlanKeep leaves the job as it is: the current vectors stand, and so
	// does the final verdict on the photos that failed.
	PlanKeep IndexPlan = "keep"
	// PlanEnsureJob keeps pending photos pending: the job is created if
	// missing, and a queued or running one keeps its progress.
	PlanEnsureJob IndexPlan = "ensure_job"
	// PlanReindex starts a new generation: a photo needs a vector it had
	// no job for; the job is re-armed from attempt 0 (a running one ends
	// stale). Photos that keep their vector stay searchable meanwhile.
	PlanReindex IndexPlan = "reindex"
	// PlanNoImage: the product has no photo; no vector, no job.
	PlanNoImage IndexPlan = "no_image"
)
