package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func event(t *testing.T, body string) catalog.Event {
	t.Helper()
	ev, err := catalog.ParseEvent([]byte(body))
	if err != nil {
		t.Fatalf("ParseEvent(%s): %v", body, err)
	}
	return ev
}

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// complete records the same hash and vector for every photo of j (the
// one-photo products of most tests).
func complete(ctx context.Context, s *Store, j *Job, sha, model string, vec []float32, now time.Time) error {
	var rs []catalog.PhotoResult
	for _, ph := range j.Photos {
		rs = append(rs, catalog.PhotoResult{URL: ph.URL, SHA256: sha, Vector: vec})
	}
	_, err := s.Settle(ctx, j, model, rs, false, now, now)
	return err
}

// fail ends every photo of j with reason: for good, or, transient, as a
// temporary error that ran out of attempts.
func fail(ctx context.Context, s *Store, j *Job, reason string, transient bool, now time.Time) error {
	var rs []catalog.PhotoResult
	for _, ph := range j.Photos {
		rs = append(rs, catalog.PhotoResult{URL: ph.URL, Err: reason, Permanent: !transient})
	}
	_, err := s.Settle(ctx, j, "m", rs, true, now, now)
	return err
}

func jobURL(j *Job) string {
	if j == nil || len(j.Photos) != 1 {
		return ""
	}
	return j.Photos[0].URL
}

func TestApplyEventLifecycle(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	var hooked []catalog.Product
	s.SetChangeHook(func(p catalog.Product, _ map[string][]float32) { hooked = append(hooked, p) })
	k := catalog.Key{ShopID: 8, ProductID: "888888"}

	// created
	res, err := applyAt(ctx, s, event(t, `{"event_type":"product.created","product_data":{"id":888888,"title":"Розы","price":"2 500 ₸","isAvailable":true,"image":"https://x/a.jpg","catalogHeight":"60 см","color":"red"}}`), 8, t0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != catalog.ActionCreated || !res.ReindexTriggered {
		t.Fatalf("create: %+v", res)
	}
	p, err := s.Get(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "Розы" || p.Price == nil || p.Price.Minor != 250000 || p.Price.Currency != "KZT" || p.PriceRaw != "2 500 ₸" ||
		p.HeightCM == nil || *p.HeightCM != 60 || !p.Available || p.IndexState != catalog.StatePending || string(p.Extra["color"]) != `"red"` {
		t.Fatalf("stored product: %+v", p)
	}
	st, _ := s.Stats(ctx, "m")
	if st.Pending != 1 || st.ActiveProducts != 1 {
		t.Fatalf("stats after create: %+v", st)
	}

	// index it
	job, err := s.Claim(ctx, t0, time.Minute)
	if err != nil || job == nil || job.Key != k || jobURL(job) != "https://x/a.jpg" || job.Attempt != 1 {
		t.Fatalf("claim: %+v %v", job, err)
	}
	if err := complete(ctx, s, job, "sha1", "m", []float32{1, 0}, t0); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Stats(ctx, "m")
	if st.Vectors != 1 || st.Pending != 0 || st.Running != 0 {
		t.Fatalf("stats after index: %+v", st)
	}

	// price-only update: no reindex, other fields kept
	res, err = applyAt(ctx, s, event(t, `{"event_type":"product.updated","product_data":{"id":888888,"price":"3 000 ₸"}}`), 8, t0.Add(time.Second))
	if err != nil || res.Action != catalog.ActionUpdated || res.ReindexTriggered {
		t.Fatalf("price update: %+v %v", res, err)
	}
	p, _ = s.Get(ctx, k)
	if p.Price.Minor != 300000 || p.Title != "Розы" || p.IndexState != catalog.StateIndexed || p.ImageSHA256 != "sha1" {
		t.Fatalf("after price update: %+v", p)
	}
	// "created" for an existing product updates it
	res, _ = applyAt(ctx, s, event(t, `{"event_type":"product.created","product_data":{"id":888888,"title":"Розы 2"}}`), 8, t0)
	if res.Action != catalog.ActionUpdated || res.ReindexTriggered {
		t.Fatalf("create of existing: %+v", res)
	}

	// new image: reindex
	res, _ = applyAt(ctx, s, event(t, `{"event_type":"product.updated","product_data":{"id":888888,"image":"https://x/b.jpg"}}`), 8, t0)
	if !res.ReindexTriggered {
		t.Fatalf("image change did not trigger: %+v", res)
	}
	p, _ = s.Get(ctx, k)
	if p.IndexState != catalog.StatePending || p.ImageSHA256 != "" || p.Generation != 2 {
		t.Fatalf("after image change: %+v", p)
	}

	// delete: soft, idempotent, drops the job
	res, _ = applyAt(ctx, s, event(t, `{"event_type":"product.deleted","product_data":{"id":888888}}`), 8, t0)
	if res.Action != catalog.ActionDeleted {
		t.Fatalf("delete: %+v", res)
	}
	p, err = s.Get(ctx, k)
	if err != nil || p.DeletedAt == nil || p.Title != "Розы 2" {
		t.Fatalf("after delete: %+v %v", p, err)
	}
	st, _ = s.Stats(ctx, "m")
	if st.Deleted != 1 || st.ActiveProducts != 0 || st.Pending != 0 {
		t.Fatalf("stats after delete: %+v", st)
	}
	if _, err := applyAt(ctx, s, event(t, `{"event_type":"product.deleted","product_data":{"id":888888}}`), 8, t0); err != nil {
		t.Fatal(err)
	}
	if res, err := applyAt(ctx, s, event(t, `{"event_type":"product.deleted","product_data":{"id":12345}}`), 8, t0); err != nil || res.Action != catalog.ActionDeleted {
		t.Fatalf("delete unknown: %+v %v", res, err)
	}
	if _, err := s.Get(ctx, catalog.Key{ShopID: 8, ProductID: "12345"}); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("delete of unknown id created a row: %v", err)
	}

	// update of a deleted product restores it ("created")
	res, _ = applyAt(ctx, s, event(t, `{"event_type":"product.updated","product_data":{"id":888888,"isAvailable":"N"}}`), 8, t0)
	if res.Action != catalog.ActionCreated || !res.ReindexTriggered {
		t.Fatalf("restore: %+v", res)
	}
	p, _ = s.Get(ctx, k)
	if p.DeletedAt != nil || p.Available {
		t.Fatalf("after restore: %+v", p)
	}

	// no image
	res, _ = applyAt(ctx, s, event(t, `{"event_type":"product.updated","product_data":{"id":888888,"image":""}}`), 8, t0)
	p, _ = s.Get(ctx, k)
	if res.ReindexTriggered || p.IndexState != catalog.StateNoImage {
		t.Fatalf("image removed: %+v %+v", res, p)
	}
	if job, _ := s.Claim(ctx, t0.Add(time.Hour), time.Minute); job != nil {
		t.Fatalf("job left for a product without image: %+v", job)
	}
	if len(hooked) == 0 {
		t.Fatal("change hook never called")
	}
}

func TestJobsRetryFailStaleAndLease(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	k := catalog.Key{ShopID: 1, ProductID: "5"}
	applyAt(ctx, s, event(t, `{"event_type":"product.created","product_data":{"id":5,"image":"https://x/a.jpg"}}`), 1, t0)

	job, _ := s.Claim(ctx, t0, time.Minute)
	if job == nil {
		t.Fatal("no job")
	}
	// Nothing else is due while it is leased.
	if j2, _ := s.Claim(ctx, t0.Add(30*time.Second), time.Minute); j2 != nil {
		t.Fatalf("leased job claimed twice: %+v", j2)
	}
	// The lease expires (a crashed worker): it is claimed again, attempt 2.
	job, _ = s.Claim(ctx, t0.Add(2*time.Minute), time.Minute)
	if job == nil || job.Attempt != 2 {
		t.Fatalf("expired lease not reclaimed: %+v", job)
	}
	if err := s.Retry(ctx, job, "Failed to fetch image: 503 Service Unavailable", t0.Add(10*time.Minute), t0); err != nil {
		t.Fatal(err)
	}
	if j, _ := s.Claim(ctx, t0.Add(5*time.Minute), time.Minute); j != nil {
		t.Fatal("retry ran before its time")
	}
	st, _ := s.Stats(ctx, "m")
	if st.Pending != 1 {
		t.Fatalf("a job waiting for retry is pending: %+v", st)
	}
	p, _ := s.Get(ctx, k)
	if p.IndexState != catalog.StatePending || p.IndexError == "" {
		t.Fatalf("product during retry: %+v", p)
	}
	job, _ = s.Claim(ctx, t0.Add(11*time.Minute), time.Minute)
	if job == nil || job.Attempt != 3 {
		t.Fatalf("retry: %+v", job)
	}
	if err := fail(ctx, s, job, "Failed to fetch image: 404 Not Found", false, t0); err != nil {
		t.Fatal(err)
	}
	p, _ = s.Get(ctx, k)
	st, _ = s.Stats(ctx, "m")
	if p.IndexState != catalog.StateFailed || p.IndexError != "Failed to fetch image: 404 Not Found" || st.Failed != 1 || st.Pending != 0 {
		t.Fatalf("after fail: %+v %+v", p, st)
	}

	// A product that failed for good keeps its verdict on its next update
	// (a price change, a repeated feed row): the same image is not fetched
	// again.
	res, _ := applyAt(ctx, s, event(t, `{"event_type":"product.updated","product_data":{"id":5,"price":100}}`), 1, t0)
	if p, _ = s.Get(ctx, k); res.ReindexTriggered || !res.Changed || p.IndexState != catalog.StateFailed || p.Price.Minor != 10000 {
		t.Fatalf("update of a product failed for good: %+v %+v", res, p)
	}
	if job, _ := s.Claim(ctx, t0.Add(time.Hour), time.Minute); job != nil {
		t.Fatalf("a job was queued for a product failed for good: %+v", job)
	}
	// An operator's retry runs it again; failing on a temporary error this
	// time, it is retried by its next update.
	if err := s.Requeue(ctx, k, t0); err != nil {
		t.Fatal(err)
	}
	job, _ = s.Claim(ctx, t0.Add(time.Hour), time.Minute)
	if job == nil {
		t.Fatal("no job after Requeue")
	}
	if err := fail(ctx, s, job, "Failed to fetch image: 503 Service Unavailable", true, t0); err != nil {
		t.Fatal(err)
	}
	res, _ = applyAt(ctx, s, event(t, `{"event_type":"product.updated","product_data":{"id":5,"price":100}}`), 1, t0)
	if !res.ReindexTriggered {
		t.Fatal("update of a product that failed transiently did not trigger a reindex")
	}
	job, _ = s.Claim(ctx, t0.Add(time.Hour), time.Minute)
	// While it runs, the image changes: its result is stale.
	applyAt(ctx, s, event(t, `{"event_type":"product.updated","product_data":{"id":5,"image":"https://x/new.jpg"}}`), 1, t0)
	if err := complete(ctx, s, job, "old", "m", []float32{1}, t0); !errors.Is(err, catalog.ErrStale) {
		t.Fatalf("stale complete: %v", err)
	}
	p, _ = s.Get(ctx, k)
	if p.IndexState != catalog.StatePending || p.ImageSHA256 != "" {
		t.Fatalf("stale result applied: %+v", p)
	}
	job, _ = s.Claim(ctx, t0.Add(2*time.Hour), time.Minute)
	if job == nil || jobURL(job) != "https://x/new.jpg" {
		t.Fatalf("new job: %+v", job)
	}
	if err := complete(ctx, s, job, "new", "m", []float32{0.6, 0.8}, t0); err != nil {
		t.Fatal(err)
	}
	vec, ok, err := s.Embedding(ctx, "new", "m")
	if err != nil || !ok || vec[0] != 0.6 || vec[1] != 0.8 {
		t.Fatalf("embedding: %v %v %v", vec, ok, err)
	}
}

func TestClaimProduct(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if _, err := s.ClaimProduct(ctx, catalog.Key{ShopID: 1, ProductID: "1"}, t0, time.Minute); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	applyAt(ctx, s, event(t, `{"event_type":"product.created","product_data":{"id":1,"image":"https://x/a.jpg"}}`), 1, t0)
	j, err := s.ClaimProduct(ctx, catalog.Key{ShopID: 1, ProductID: "1"}, t0, time.Minute)
	if err != nil || j.ID == 0 || jobURL(j) != "https://x/a.jpg" {
		t.Fatalf("claim product: %+v %v", j, err)
	}
	if other, _ := s.Claim(ctx, t0, time.Minute); other != nil {
		t.Fatalf("background worker got a job reindex-one holds: %+v", other)
	}
	if err := complete(ctx, s, j, "sha", "m", []float32{1}, t0); err != nil {
		t.Fatal(err)
	}
}

func TestPersistenceAndLoadIndex(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	for i, body := range []string{
		`{"event_type":"product.created","product_data":{"id":1,"image":"https://x/same.jpg","price":"1 000 ₸"}}`,
		`{"event_type":"product.created","product_data":{"id":2,"image":"https://x/same.jpg"}}`,
		`{"event_type":"product.created","product_data":{"id":3,"image":"https://x/other.jpg"}}`,
	} {
		applyAt(ctx, s, event(t, body), 1, t0.Add(time.Duration(i)*time.Second))
	}
	for {
		j, _ := s.Claim(ctx, t0.Add(time.Hour), time.Minute)
		if j == nil {
			break
		}
		sha := "same"
		if j.Key.ProductID == "3" {
			sha = "other"
		}
		if err := complete(ctx, s, j, sha, "m", []float32{float32(len(sha)), 1}, t0); err != nil {
			t.Fatal(err)
		}
	}
	applyAt(ctx, s, event(t, `{"event_type":"product.deleted","product_data":{"id":3}}`), 1, t0)
	s.Close()

	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got := map[catalog.ProductID][]float32{}
	if err := s2.LoadIndex(ctx, "m", func(p catalog.Product, _ string, vec []float32) error {
		got[p.ProductID] = vec
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["1"][0] != 4 || got["2"][0] != 4 {
		t.Fatalf("loaded %v", got)
	}
	st, _ := s2.Stats(ctx, "m")
	if st.Vectors != 2 || st.Deleted != 1 {
		t.Fatalf("stats after reopen: %+v", st)
	}
	var n int
	drv(s2).r.QueryRow("SELECT count(*) FROM embeddings").Scan(&n)
	if n != 2 {
		t.Fatalf("%d embeddings stored for 2 distinct images", n)
	}
	if l, more, _ := s2.List(ctx, ListOptions{ShopID: 1, Limit: 1}); len(l) != 1 || !more {
		t.Fatalf("list page: %d %v", len(l), more)
	}
}

func TestConcurrentWebhooksSerialise(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	var mu sync.Mutex
	order := map[catalog.ProductID][]catalog.Product{}
	s.SetChangeHook(func(p catalog.Product, _ map[string][]float32) {
		mu.Lock()
		order[p.ProductID] = append(order[p.ProductID], p)
		mu.Unlock()
	})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				ev := event(t, `{"event_type":"product.updated","product_data":{"id":7,"price":1}}`)
				ev.Product.ID = catalog.ProductIDOf(int64(1 + (g+i)%5))
				if _, err := applyAt(ctx, s, ev, 1, time.Now()); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	st, _ := s.Stats(ctx, "m")
	if st.ActiveProducts != 5 {
		t.Fatalf("%+v", st)
	}
	for id, ps := range order {
		for i := 1; i < len(ps); i++ {
			if ps[i].UpdatedAt.Before(ps[i-1].UpdatedAt) {
				t.Fatalf("product %s: hook saw changes out of commit order: %v then %v", id, ps[i-1].UpdatedAt, ps[i].UpdatedAt)
			}
		}
	}
}

func TestRepeatedEventChangesNothing(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	body := `{"event_type":"product.updated","product_data":{"id":1,"title":"A","price":"100","image":"","x":{"a":1}}}`
	res, _ := applyAt(ctx, s, event(t, body), 1, t0)
	if !res.Changed || res.Action != catalog.ActionCreated {
		t.Fatalf("first: %+v", res)
	}
	res, _ = applyAt(ctx, s, event(t, body), 1, t0.Add(time.Hour))
	if res.Changed || res.Action != catalog.ActionUpdated {
		t.Fatalf("repeat: %+v", res)
	}
	p, _ := s.Get(ctx, catalog.Key{ShopID: 1, ProductID: "1"})
	if !p.UpdatedAt.Equal(t0) {
		t.Fatalf("a repeated event moved updated_at to %v", p.UpdatedAt)
	}
	res, _ = applyAt(ctx, s, event(t, `{"event_type":"product.updated","product_data":{"id":1,"x":{"a":2}}}`), 1, t0.Add(time.Hour))
	if !res.Changed {
		t.Fatal("a changed extra field was not a change")
	}
}

// applyAt applies an event for a shop at a given time, without a delivery id.
func applyAt(ctx context.Context, s *Store, ev catalog.Event, shop int64, now time.Time) (ApplyResult, error) {
	return s.ApplyEvent(ctx, ev, ApplyOptions{ShopID: shop, Now: now})
}

func TestRepeatWhilePendingIsUnchanged(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	body := `{"event_type":"product.updated","product_data":{"id":1,"title":"A","image":"https://x/a.jpg"}}`
	applyAt(ctx, s, event(t, body), 1, t0)
	res, _ := applyAt(ctx, s, event(t, body), 1, t0.Add(time.Second))
	if res.Changed || !res.ReindexTriggered {
		t.Fatalf("repeat while pending: %+v", res)
	}
	if st, _ := s.Stats(ctx, "m"); st.Pending != 1 {
		t.Fatalf("job lost: %+v", st)
	}
}

func TestCompleteRefusesAnotherModel(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	s.SetModelCheck(func(m string) bool { return m == "new" })
	applyAt(ctx, s, event(t, `{"event_type":"product.created","product_data":{"id":1,"image":"https://x/a.jpg"}}`), 1, t0)
	job, _ := s.Claim(ctx, t0, time.Minute)
	if err := complete(ctx, s, job, "sha", "old", []float32{1}, t0); !errors.Is(err, catalog.ErrModelChanged) {
		t.Fatalf("old-model vector: %v", err)
	}
	if p, _ := s.Get(ctx, catalog.Key{ShopID: 1, ProductID: "1"}); p.IndexState != catalog.StatePending {
		t.Fatalf("product after a refused vector: %+v", p)
	}
	if err := complete(ctx, s, job, "sha", "new", []float32{1}, t0); err != nil {
		t.Fatal(err)
	}
}

// The image is removed while its job runs: the job's vector is stale and
// the product stays without an image, out of the index (it was counted
// as indexed, with a vector of a photo it no longer has).
func TestImageRemovedWhileJobRuns(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	k := catalog.Key{ShopID: 1, ProductID: "5"}
	applyAt(ctx, s, event(t, `{"event_type":"product.created","product_data":{"id":5,"image":"https://x/a.jpg"}}`), 1, t0)
	job, err := s.Claim(ctx, t0, time.Minute)
	if err != nil || job == nil {
		t.Fatalf("claim: %+v %v", job, err)
	}
	applyAt(ctx, s, event(t, `{"event_type":"product.updated","product_data":{"id":5,"image":""}}`), 1, t0.Add(time.Second))
	if err := complete(ctx, s, job, "aa", "m", []float32{1, 0}, t0.Add(2*time.Second)); !errors.Is(err, ErrStale) {
		t.Fatalf("Complete after the image was removed: %v, want ErrStale", err)
	}
	p, _ := s.Get(ctx, k)
	st, _ := s.Stats(ctx, "m")
	if p.IndexState != catalog.StateNoImage || p.ImageSHA256 != "" || st.Vectors != 0 {
		t.Fatalf("after a stale Complete: %+v %+v", p, st)
	}
}

// A product with several photos: each photo has its own state; one that
// fails for good leaves the product searchable by the others, and is not
// fetched again by a repeated event; a changed photo is the only one the
// next job fetches.
func TestSeveralPhotos(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	k := catalog.Key{ShopID: 1, ProductID: "1"}
	var hooked []map[string][]float32
	s.SetChangeHook(func(p catalog.Product, vecs map[string][]float32) { hooked = append(hooked, vecs) })
	body := `{"event_type":"product.updated","product_data":{"id":1,"image":"https://x/a.jpg","images":["https://x/b.jpg","https://x/404.jpg"]}}`
	if res, err := applyAt(ctx, s, event(t, body), 1, t0); err != nil || !res.ReindexTriggered {
		t.Fatalf("create: %+v %v", res, err)
	}
	j, _ := s.Claim(ctx, t0, time.Minute)
	if j == nil || len(j.Photos) != 3 {
		t.Fatalf("job: %+v", j)
	}
	next, err := s.Settle(ctx, j, "m", []catalog.PhotoResult{
		{URL: "https://x/a.jpg", SHA256: "sa", Vector: []float32{1, 0}},
		{URL: "https://x/b.jpg", SHA256: "sb", Vector: []float32{0, 1}},
		{URL: "https://x/404.jpg", Err: "Failed to fetch image: 404 Not Found", Permanent: true},
	}, false, t0, t0)
	if err != nil || next != catalog.JobDone {
		t.Fatalf("settle: %s %v", next, err)
	}
	p, _ := s.Get(ctx, k)
	if p.IndexState != catalog.StateIndexed || p.ImageURL != "https://x/a.jpg" || p.ImageSHA256 != "sa" || catalog.CountPhotos(p.Photos) != 2 ||
		p.Photos[2].State != catalog.PhotoFailed || len(hooked) != 2 || len(hooked[1]) != 2 {
		t.Fatalf("after the job: %+v, hooks %v", p, hooked)
	}
	if st, _ := s.Stats(ctx, "m"); st.Vectors != 1 || st.PhotosIndexed != 2 || st.PhotosTotal != 3 || st.Failed != 0 {
		t.Fatalf("stats: %+v", st)
	}
	// The same event again: nothing to do.
	if res, _ := applyAt(ctx, s, event(t, body), 1, t0); res.ReindexTriggered || res.Changed {
		t.Fatalf("repeat: %+v", res)
	}
	// A new second photo: only it is fetched; the product stays searchable.
	body = `{"event_type":"product.updated","product_data":{"id":1,"images":["https://x/a.jpg","https://x/c.jpg","https://x/404.jpg"]}}`
	if res, _ := applyAt(ctx, s, event(t, body), 1, t0); !res.ReindexTriggered {
		t.Fatalf("new photo: %+v", res)
	}
	if p, _ := s.Get(ctx, k); !p.Searchable() || catalog.CountPhotos(p.Photos) != 1 {
		t.Fatalf("while the new photo waits: %+v", p)
	}
	j, _ = s.Claim(ctx, t0, time.Minute)
	if j == nil || len(j.Photos) != 1 || j.Photos[0].URL != "https://x/c.jpg" {
		t.Fatalf("job for the new photo: %+v", j)
	}
	refs, _ := s.ReferencedImages(ctx)
	if !refs["sa"] || refs["sb"] {
		t.Fatalf("referenced images: %v", refs)
	}
	if n, err := s.PruneEmbeddings(ctx); err != nil || n != 1 {
		t.Fatalf("pruned %d vectors (%v), want sb's", n, err)
	}
}

// A job put back as a whole (the model changed while it ran) leaves the
// product pending with the reason as its error, stored as its photos say:
// a repeat of the event that made it is still "unchanged" and keeps the
// reason. (Retry used to write the reason on the product row only, which
// its photos then contradicted.)
func TestRetryKeepsTheProductAsItsPhotosSay(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	k := catalog.Key{ShopID: 1, ProductID: "1"}
	body := `{"event_type":"product.updated","product_data":{"id":1,"title":"A","image":"https://x/a.jpg"}}`
	applyAt(ctx, s, event(t, body), 1, t0)
	job, err := s.Claim(ctx, t0, time.Minute)
	if err != nil || job == nil {
		t.Fatalf("claim: %+v %v", job, err)
	}
	if err := s.Retry(ctx, job, "the model changed", t0, t0); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Get(ctx, k)
	if p.IndexState != catalog.StatePending || p.IndexError != "the model changed" {
		t.Fatalf("after Retry: %+v", p)
	}
	if state, msg := catalog.ProductState(p.Photos); state != p.IndexState || msg != p.IndexError {
		t.Fatalf("stored state %s %q, its photos say %s %q", p.IndexState, p.IndexError, state, msg)
	}
	res, _ := applyAt(ctx, s, event(t, body), 1, t0.Add(time.Second))
	if res.Changed || res.Product.IndexError != "the model changed" {
		t.Fatalf("repeat after Retry: changed=%v %+v", res.Changed, res.Product)
	}
}

// drv is the SQLite driver under a store opened by Open.
func drv(s *Store) *Driver { return s.Driver().(*Driver) }
