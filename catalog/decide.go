package catalog

import (
	"maps"
	"reflect"
	"time"
)

// The decisions a store makes about a product and its reindex job, as pure
// functions: a store reads the stored state, asks here, and persists the
// answer in the same transaction.

// JobOp is what a decision does to the product's job row.
type JobOp string

const (
	JobNone   JobOp = ""       // leave the job row as it is
	JobEnsure JobOp = "ensure" // create it for Generation if missing; an existing one keeps its progress
	JobReset  JobOp = "reset"  // create it, or re-arm it for Generation from attempt 0 (a running one ends stale)
	JobDrop   JobOp = "drop"   // delete it
)

// Decision is what one event does to a stored product and its job.
type Decision struct {
	Action           Action
	Product          Product // the state after the event (old when nothing changes; zero Key when nothing is stored)
	Write            bool    // Product differs from the stored state and is to be stored
	PhotosChanged    bool    // with Write: the photo list differs from the stored one (else only the product row)
	Job              JobOp   // done whether or not Write (a repeated event still makes sure its job exists)
	ReindexTriggered bool
	PhotosDropped    int       // photos over maxPhotos that were not kept
	At               time.Time // the decision's time: now, but never before the stored UpdatedAt
}

// Decide applies an event to a product's stored state (old, found false
// when there is none) at now, keeping at most maxPhotos photos (0:
// DefaultMaxPhotos). The rules:
//
//   - an event older (by version) than the stored state is ignored;
//   - a delete soft-deletes the product (its photos stay, as its record)
//     and drops its job; a repeated delete changes nothing; a versioned
//     delete of an unknown product leaves a tombstone, so that an older
//     create arriving later stays deleted; an unversioned one is forgotten;
//   - a create or update merges the fields present (resurrecting a deleted
//     product), merges image/images into the photo list (MergePhotoURLs)
//     and decides per photo (PlanPhotos): a photo needing a vector starts
//     a new generation and re-arms the job, pending photos keep theirs,
//     no photos drop it;
//   - the clock never goes backwards: now is at least the stored UpdatedAt;
//   - an event that changes nothing but UpdatedAt writes nothing.
//
// The error is a bad extra field (MergeExtra).
func Decide(old Product, found bool, ev Event, key Key, now time.Time, maxPhotos int) (Decision, error) {
	var d Decision
	now = now.UTC().Truncate(time.Microsecond) // what a store keeps
	if found && now.Before(old.UpdatedAt) {
		now = old.UpdatedAt // the clock of a concurrent caller ran ahead; never go backwards
	}
	d.At = now
	version := ev.Product.Version
	if found && version != nil && old.SourceVersion != nil && *version < *old.SourceVersion {
		d.Action, d.Product = ActionIgnored, old // older than what we have
		return d, nil
	}

	if ev.Type == EventDeleted {
		d.Action = ActionDeleted
		switch {
		case found && old.DeletedAt != nil:
			if version == nil || old.SourceVersion != nil && *version == *old.SourceVersion {
				d.Product = old // idempotent: senders retry
				return d, nil
			}
			old.SourceVersion = version
		case found:
			old.DeletedAt = &now
			if version != nil {
				old.SourceVersion = version
			}
		case version == nil:
			return d, nil // unknown and unordered: nothing to remember
		default:
			old = Product{Key: key, CreatedAt: now, DeletedAt: &now, IndexState: StateNoImage, SourceVersion: version}
		}
		old.UpdatedAt = now
		d.Product, d.Write, d.Job = old, true, JobDrop
		return d, nil
	}

	if maxPhotos <= 0 {
		maxPhotos = DefaultMaxPhotos
	}
	p := old
	if found && old.Extra != nil {
		p.Extra = maps.Clone(old.Extra)
	}
	if !found {
		p = Product{Key: key, Available: true, CreatedAt: now, IndexState: StateNoImage}
	}
	d.Action = ActionUpdated
	if !found || old.DeletedAt != nil {
		d.Action = ActionCreated
	}
	p.DeletedAt = nil
	p.UpdatedAt = now
	if version != nil {
		p.SourceVersion = version
	}
	if err := ApplyPatch(&p, ev.Product); err != nil {
		return Decision{}, err
	}

	urls, dropped := MergePhotoURLs(PhotoURLs(p.Photos), ev.Product.Image, ev.Product.Images, maxPhotos)
	d.PhotosDropped = dropped
	photos, plan := PlanPhotos(p.Photos, urls)
	p.SetPhotos(photos)
	newGeneration := false
	switch plan {
	case PlanNoImage:
		if found && len(old.Photos) > 0 {
			p.Generation++ // a job still running for the old photos is now stale
		}
		d.Job = JobDrop
	case PlanReindex:
		// A photo without a vector: a new generation. Photos that keep
		// their vectors keep the product searchable meanwhile.
		p.Generation++
		newGeneration = true
		d.Job, d.ReindexTriggered = JobReset, true
	case PlanEnsureJob:
		// Still waiting for vectors: make sure a job exists, keep its progress.
		d.Job, d.ReindexTriggered = JobEnsure, true
	}
	if found && !newGeneration && SameProduct(old, p) {
		d.Product = old // nothing to write: a repeated event or feed row (its job, if pending, is still queued)
		return d, nil
	}
	d.Product, d.Write = p, true
	d.PhotosChanged = !found || !reflect.DeepEqual(old.Photos, p.Photos)
	return d, nil
}

// SameProduct reports whether b differs from a only in UpdatedAt.
func SameProduct(a, b Product) bool {
	b.UpdatedAt = a.UpdatedAt
	return reflect.DeepEqual(a, b)
}

// ApplyPatch sets the fields an event carries on p.
func ApplyPatch(p *Product, pt Patch) error {
	if pt.Title != nil {
		p.Title = *pt.Title
	}
	if pt.Price != nil {
		pr := *pt.Price
		p.Price = &pr
	}
	if pt.PriceRaw != nil {
		p.PriceRaw = *pt.PriceRaw
	}
	if pt.HeightCM != nil {
		h := *pt.HeightCM
		p.HeightCM = &h
	}
	if pt.HeightRaw != nil {
		p.HeightRaw = *pt.HeightRaw
	}
	if pt.Available != nil {
		p.Available = *pt.Available
	}
	extra, err := MergeExtra(p.Extra, pt.Extra)
	if err != nil {
		return err
	}
	p.Extra = extra
	return nil
}

// MarkPending is the one "reset to pending" (an operator's requeue or
// reindex-one, a model switch): every photo is to be fetched and embedded
// afresh in a new generation, so the product leaves the index until its
// job (JobReset for p.Generation) is done. It returns false, changing
// nothing, for a product without photos: there is nothing to reindex.
func MarkPending(p *Product) bool {
	if len(p.Photos) == 0 {
		return false
	}
	p.Generation++
	p.SetPhotos(ResetPhotos(p.Photos))
	return true
}

// MarkRetry records why a job's attempt failed as a whole (before any
// photo had a result) on the photos still pending; the product stays
// pending, and its error is the one its photos give (ProductState), as
// after any other failed attempt.
func MarkRetry(p *Product, reason string) {
	photos := append([]Photo(nil), p.Photos...)
	for i := range photos {
		if photos[i].State == PhotoPending {
			photos[i].Error = reason
		}
	}
	p.SetPhotos(photos)
}

// MarkSettled applies a job's results to the product (SettleJob) and says
// what becomes of the job. A product that is indexed afterwards is indexed
// with model (MarkIndexed); one whose every photo failed is failed, with
// the first photo's error; one with photos still pending stays pending.
func MarkSettled(p *Product, results []PhotoResult, giveUp bool, attempt int, model string, now time.Time) JobNext {
	wasIndexed := p.IndexState == StateIndexed
	photos, next := SettleJob(p.Photos, results, giveUp, attempt)
	p.SetPhotos(photos)
	if p.IndexState == StateIndexed {
		MarkIndexed(p, model, now, wasIndexed)
	}
	return next
}

// MarkIndexed records that p's indexed photos have vectors of model: the
// time it became indexed (kept when it already was) and the model.
func MarkIndexed(p *Product, model string, now time.Time, wasIndexed bool) {
	if !wasIndexed || p.IndexedAt == nil {
		t := now.UTC().Truncate(time.Microsecond)
		p.IndexedAt = &t
	}
	p.Model = model
}

// JobCurrent reports whether a job's result is still wanted: the product
// exists, is live, and is still at the job's generation (a newer event, a
// requeue or a delete made it stale).
func JobCurrent(p Product, found bool, j Job) bool {
	return found && p.DeletedAt == nil && p.Generation == j.Generation
}

// PendingPhotos lists the photos a job is to fetch.
func PendingPhotos(photos []Photo) []JobPhoto {
	var out []JobPhoto
	for _, ph := range photos {
		if ph.State == PhotoPending {
			out = append(out, JobPhoto{URL: ph.URL})
		}
	}
	return out
}
