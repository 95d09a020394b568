// Package storetest is the conformance suite of store.Driver: every store
// test, run against a driver (package sqlite and package postgres call
// Run), plus what only concurrency shows.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/store"
)

// Open opens a driver on a fresh, empty database.
type Open func(t *testing.T) store.Driver

// Again opens another driver on the database d is on (d may be closed
// already): a restart, or a second replica.
type Again func(t *testing.T, d store.Driver) store.Driver

type harness struct {
	open   Open
	againF Again
}

// Run runs every store test against the drivers open makes. With again,
// the tests that need a second driver on one database (a restart, two
// stores converging) run too; without it they are skipped.
func Run(t *testing.T, open Open, again Again) {
	h := &harness{open: open, againF: again}
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"ApplyEventLifecycle", testApplyEventLifecycle},
		{"JobsRetryFailStaleAndLease", testJobsRetryFailStaleAndLease},
		{"ClaimProduct", testClaimProduct},
		{"PersistenceAndLoadIndex", testPersistenceAndLoadIndex},
		{"ConcurrentWebhooksSerialise", testConcurrentWebhooksSerialise},
		{"RepeatedEventChangesNothing", testRepeatedEventChangesNothing},
		{"RepeatWhilePendingIsUnchanged", testRepeatWhilePendingIsUnchanged},
		{"CompleteRefusesAnotherModel", testCompleteRefusesAnotherModel},
		{"ImageRemovedWhileJobRuns", testImageRemovedWhileJobRuns},
		{"SeveralPhotos", testSeveralPhotos},
		{"RetryKeepsTheProductAsItsPhotosSay", testRetryKeepsTheProductAsItsPhotosSay},
		{"DuplicateDeliveryHasNoEffect", testDuplicateDeliveryHasNoEffect},
		{"OlderEventNeverOverwritesNewer", testOlderEventNeverOverwritesNewer},
		{"OutOfOrderDeliveryConverges", testOutOfOrderDeliveryConverges},
		{"PruneEmbeddingsRefusesMassRemoval", testPruneEmbeddingsRefusesMassRemoval},
		{"ExpireLeasesMakesRunningJobsDue", testExpireLeasesMakesRunningJobsDue},
		{"TwoStoresConverge", testTwoStoresConverge},
		{"EveryJobClaimedOnce", testEveryJobClaimedOnce},
		{"ExpiredLeaseTakenOver", testExpiredLeaseTakenOver},
		{"ChangeFeed", testChangeFeed},
		{"ChangeFeedAcrossStores", testChangeFeedAcrossStores},
		{"SearchableInSQL", testSearchableInSQL},
		{"TryLeader", testTryLeader},
		{"InitSettingKeepsTheFirst", testInitSettingKeepsTheFirst},
		{"SetSettingIf", testSetSettingIf},
		{"FleetHeartbeatsAndActivity", testFleet},
		{"SwitchModelBesideWebhooks", testSwitchModelBesideWebhooks},
		{"FeedLag", testFeedLag},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, h) })
	}
}

// storeOn opens the store over d, closed when the test ends.
func (h *harness) storeOn(t *testing.T, d store.Driver) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), d)
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// store opens a store on a fresh database.
func (h *harness) store(t *testing.T) *store.Store { return h.storeOn(t, h.open(t)) }

// again opens another driver on d's database, or skips the test.
func (h *harness) again(t *testing.T, d store.Driver) store.Driver {
	t.Helper()
	if h.againF == nil {
		t.Skip("the driver cannot open a second store on one database")
	}
	return h.againF(t, d)
}

// T0 is the tests' clock.
var T0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func testApplyEventLifecycle(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	var hooked []catalog.Product
	s.SetChangeHook(func(_ int64, p catalog.Product, _ map[string][]float32) { hooked = append(hooked, p) })
	k := catalog.Key{ShopID: 8, ProductID: "888888"}

	// created
	res, err := ApplyAt(ctx, s, Event(t, `{"event_type":"product.created","product_data":{"id":888888,"title":"Розы","price":"2 500 ₸","isAvailable":true,"image":"https://x/a.jpg","catalogHeight":"60 см","color":"red"}}`), 8, T0)
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
	job, err := s.Claim(ctx, T0, time.Minute)
	if err != nil || job == nil || job.Key != k || JobURL(job) != "https://x/a.jpg" || job.Attempt != 1 {
		t.Fatalf("claim: %+v %v", job, err)
	}
	if err := Complete(ctx, s, job, "sha1", "m", []float32{1, 0}, T0); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Stats(ctx, "m")
	if st.Vectors != 1 || st.Pending != 0 || st.Running != 0 {
		t.Fatalf("stats after index: %+v", st)
	}

	// price-only update: no reindex, other fields kept
	res, err = ApplyAt(ctx, s, Event(t, `{"event_type":"product.updated","product_data":{"id":888888,"price":"3 000 ₸"}}`), 8, T0.Add(time.Second))
	if err != nil || res.Action != catalog.ActionUpdated || res.ReindexTriggered {
		t.Fatalf("price update: %+v %v", res, err)
	}
	p, _ = s.Get(ctx, k)
	if p.Price.Minor != 300000 || p.Title != "Розы" || p.IndexState != catalog.StateIndexed || p.ImageSHA256 != "sha1" {
		t.Fatalf("after price update: %+v", p)
	}
	// "created" for an existing product updates it
	res, _ = ApplyAt(ctx, s, Event(t, `{"event_type":"product.created","product_data":{"id":888888,"title":"Розы 2"}}`), 8, T0)
	if res.Action != catalog.ActionUpdated || res.ReindexTriggered {
		t.Fatalf("create of existing: %+v", res)
	}

	// new image: reindex
	res, _ = ApplyAt(ctx, s, Event(t, `{"event_type":"product.updated","product_data":{"id":888888,"image":"https://x/b.jpg"}}`), 8, T0)
	if !res.ReindexTriggered {
		t.Fatalf("image change did not trigger: %+v", res)
	}
	p, _ = s.Get(ctx, k)
	if p.IndexState != catalog.StatePending || p.ImageSHA256 != "" || p.Generation != 2 {
		t.Fatalf("after image change: %+v", p)
	}

	// delete: soft, idempotent, drops the job
	res, _ = ApplyAt(ctx, s, Event(t, `{"event_type":"product.deleted","product_data":{"id":888888}}`), 8, T0)
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
	if _, err := ApplyAt(ctx, s, Event(t, `{"event_type":"product.deleted","product_data":{"id":888888}}`), 8, T0); err != nil {
		t.Fatal(err)
	}
	if res, err := ApplyAt(ctx, s, Event(t, `{"event_type":"product.deleted","product_data":{"id":12345}}`), 8, T0); err != nil || res.Action != catalog.ActionDeleted {
		t.Fatalf("delete unknown: %+v %v", res, err)
	}
	if _, err := s.Get(ctx, catalog.Key{ShopID: 8, ProductID: "12345"}); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("delete of unknown id created a row: %v", err)
	}

	// update of a deleted product restores it ("created")
	res, _ = ApplyAt(ctx, s, Event(t, `{"event_type":"product.updated","product_data":{"id":888888,"isAvailable":"N"}}`), 8, T0)
	if res.Action != catalog.ActionCreated || !res.ReindexTriggered {
		t.Fatalf("restore: %+v", res)
	}
	p, _ = s.Get(ctx, k)
	if p.DeletedAt != nil || p.Available {
		t.Fatalf("after restore: %+v", p)
	}

	// no image
	res, _ = ApplyAt(ctx, s, Event(t, `{"event_type":"product.updated","product_data":{"id":888888,"image":""}}`), 8, T0)
	p, _ = s.Get(ctx, k)
	if res.ReindexTriggered || p.IndexState != catalog.StateNoImage {
		t.Fatalf("image removed: %+v %+v", res, p)
	}
	if job, _ := s.Claim(ctx, T0.Add(time.Hour), time.Minute); job != nil {
		t.Fatalf("job left for a product without image: %+v", job)
	}
	if len(hooked) == 0 {
		t.Fatal("change hook never called")
	}
}

func testJobsRetryFailStaleAndLease(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	k := catalog.Key{ShopID: 1, ProductID: "5"}
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.created","product_data":{"id":5,"image":"https://x/a.jpg"}}`), 1, T0)

	job, _ := s.Claim(ctx, T0, time.Minute)
	if job == nil {
		t.Fatal("no job")
	}
	// Nothing else is due while it is leased.
	if j2, _ := s.Claim(ctx, T0.Add(30*time.Second), time.Minute); j2 != nil {
		t.Fatalf("leased job claimed twice: %+v", j2)
	}
	// The lease expires (a crashed worker): it is claimed again, attempt 2.
	job, _ = s.Claim(ctx, T0.Add(2*time.Minute), time.Minute)
	if job == nil || job.Attempt != 2 {
		t.Fatalf("expired lease not reclaimed: %+v", job)
	}
	if err := s.Retry(ctx, job, "Failed to fetch image: 503 Service Unavailable", T0.Add(10*time.Minute), T0); err != nil {
		t.Fatal(err)
	}
	if j, _ := s.Claim(ctx, T0.Add(5*time.Minute), time.Minute); j != nil {
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
	job, _ = s.Claim(ctx, T0.Add(11*time.Minute), time.Minute)
	if job == nil || job.Attempt != 3 {
		t.Fatalf("retry: %+v", job)
	}
	if err := fail(ctx, s, job, "Failed to fetch image: 404 Not Found", false, T0); err != nil {
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
	res, _ := ApplyAt(ctx, s, Event(t, `{"event_type":"product.updated","product_data":{"id":5,"price":100}}`), 1, T0)
	if p, _ = s.Get(ctx, k); res.ReindexTriggered || !res.Changed || p.IndexState != catalog.StateFailed || p.Price.Minor != 10000 {
		t.Fatalf("update of a product failed for good: %+v %+v", res, p)
	}
	if job, _ := s.Claim(ctx, T0.Add(time.Hour), time.Minute); job != nil {
		t.Fatalf("a job was queued for a product failed for good: %+v", job)
	}
	// An operator's retry runs it again; failing on a temporary error this
	// time, it is retried by its next update.
	if err := s.Requeue(ctx, k, T0); err != nil {
		t.Fatal(err)
	}
	job, _ = s.Claim(ctx, T0.Add(time.Hour), time.Minute)
	if job == nil {
		t.Fatal("no job after Requeue")
	}
	if err := fail(ctx, s, job, "Failed to fetch image: 503 Service Unavailable", true, T0); err != nil {
		t.Fatal(err)
	}
	res, _ = ApplyAt(ctx, s, Event(t, `{"event_type":"product.updated","product_data":{"id":5,"price":100}}`), 1, T0)
	if !res.ReindexTriggered {
		t.Fatal("update of a product that failed transiently did not trigger a reindex")
	}
	job, _ = s.Claim(ctx, T0.Add(time.Hour), time.Minute)
	// While it runs, the image changes: its result is stale.
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.updated","product_data":{"id":5,"image":"https://x/new.jpg"}}`), 1, T0)
	if err := Complete(ctx, s, job, "old", "m", []float32{1}, T0); !errors.Is(err, catalog.ErrStale) {
		t.Fatalf("stale complete: %v", err)
	}
	p, _ = s.Get(ctx, k)
	if p.IndexState != catalog.StatePending || p.ImageSHA256 != "" {
		t.Fatalf("stale result applied: %+v", p)
	}
	job, _ = s.Claim(ctx, T0.Add(2*time.Hour), time.Minute)
	if job == nil || JobURL(job) != "https://x/new.jpg" {
		t.Fatalf("new job: %+v", job)
	}
	if err := Complete(ctx, s, job, "new", "m", []float32{0.6, 0.8}, T0); err != nil {
		t.Fatal(err)
	}
	vec, ok, err := s.Embedding(ctx, "new", "m")
	if err != nil || !ok || vec[0] != 0.6 || vec[1] != 0.8 {
		t.Fatalf("embedding: %v %v %v", vec, ok, err)
	}
}

func testClaimProduct(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	if _, err := s.ClaimProduct(ctx, catalog.Key{ShopID: 1, ProductID: "1"}, T0, time.Minute); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.created","product_data":{"id":1,"image":"https://x/a.jpg"}}`), 1, T0)
	j, err := s.ClaimProduct(ctx, catalog.Key{ShopID: 1, ProductID: "1"}, T0, time.Minute)
	if err != nil || j.ID == 0 || JobURL(j) != "https://x/a.jpg" {
		t.Fatalf("claim product: %+v %v", j, err)
	}
	if other, _ := s.Claim(ctx, T0, time.Minute); other != nil {
		t.Fatalf("background worker got a job reindex-one holds: %+v", other)
	}
	if err := Complete(ctx, s, j, "sha", "m", []float32{1}, T0); err != nil {
		t.Fatal(err)
	}
}

func testPersistenceAndLoadIndex(t *testing.T, h *harness) {
	d := h.open(t)
	s := h.storeOn(t, d)
	ctx := context.Background()
	for i, body := range []string{
		`{"event_type":"product.created","product_data":{"id":1,"image":"https://x/same.jpg","price":"1 000 ₸"}}`,
		`{"event_type":"product.created","product_data":{"id":2,"image":"https://x/same.jpg"}}`,
		`{"event_type":"product.created","product_data":{"id":3,"image":"https://x/other.jpg"}}`,
	} {
		ApplyAt(ctx, s, Event(t, body), 1, T0.Add(time.Duration(i)*time.Second))
	}
	for {
		j, _ := s.Claim(ctx, T0.Add(time.Hour), time.Minute)
		if j == nil {
			break
		}
		sha := "same"
		if j.Key.ProductID == "3" {
			sha = "other"
		}
		if err := Complete(ctx, s, j, sha, "m", []float32{float32(len(sha)), 1}, T0); err != nil {
			t.Fatal(err)
		}
	}
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.deleted","product_data":{"id":3}}`), 1, T0)
	s.Close()

	s2 := h.storeOn(t, h.again(t, d))
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
	s2.Driver().Read().QueryRowContext(ctx, "SELECT count(*) FROM embeddings").Scan(&n)
	if n != 2 {
		t.Fatalf("%d embeddings stored for 2 distinct images", n)
	}
	if l, more, _ := s2.List(ctx, catalog.ListOptions{ShopID: 1, Limit: 1}); len(l) != 1 || !more {
		t.Fatalf("list page: %d %v", len(l), more)
	}
}

// Concurrent webhooks for a few products: each product's changes are
// numbered (the hook's seq, the feed's) in the order they committed.
func testConcurrentWebhooksSerialise(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	type seen struct {
		seq int64
		p   catalog.Product
	}
	var mu sync.Mutex
	order := map[catalog.ProductID][]seen{}
	s.SetChangeHook(func(seq int64, p catalog.Product, _ map[string][]float32) {
		mu.Lock()
		order[p.ProductID] = append(order[p.ProductID], seen{seq, p})
		mu.Unlock()
	})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				ev := Event(t, fmt.Sprintf(`{"event_type":"product.updated","product_data":{"id":7,"price":%d}}`, 1+g*100+i))
				ev.Product.ID = catalog.ProductIDOf(int64(1 + (g+i)%5))
				if _, err := ApplyAt(ctx, s, ev, 1, time.Now()); err != nil {
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
		sort.Slice(ps, func(i, j int) bool { return ps[i].seq < ps[j].seq })
		for i := 1; i < len(ps); i++ {
			if ps[i].seq == ps[i-1].seq || ps[i].p.UpdatedAt.Before(ps[i-1].p.UpdatedAt) {
				t.Fatalf("product %s: changes numbered out of commit order: %d at %v, then %d at %v", id, ps[i-1].seq, ps[i-1].p.UpdatedAt, ps[i].seq, ps[i].p.UpdatedAt)
			}
		}
		last := ps[len(ps)-1].p
		if p, _ := s.Get(ctx, last.Key); p.Price == nil || last.Price == nil || p.Price.Minor != last.Price.Minor {
			t.Fatalf("product %s: the highest seq is not the stored state: %+v, stored %+v", id, last.Price, p.Price)
		}
	}
}

func testRepeatedEventChangesNothing(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	body := `{"event_type":"product.updated","product_data":{"id":1,"title":"A","price":"100","image":"","x":{"a":1}}}`
	res, _ := ApplyAt(ctx, s, Event(t, body), 1, T0)
	if !res.Changed || res.Action != catalog.ActionCreated {
		t.Fatalf("first: %+v", res)
	}
	res, _ = ApplyAt(ctx, s, Event(t, body), 1, T0.Add(time.Hour))
	if res.Changed || res.Action != catalog.ActionUpdated {
		t.Fatalf("repeat: %+v", res)
	}
	p, _ := s.Get(ctx, catalog.Key{ShopID: 1, ProductID: "1"})
	if !p.UpdatedAt.Equal(T0) {
		t.Fatalf("a repeated event moved updated_at to %v", p.UpdatedAt)
	}
	res, _ = ApplyAt(ctx, s, Event(t, `{"event_type":"product.updated","product_data":{"id":1,"x":{"a":2}}}`), 1, T0.Add(time.Hour))
	if !res.Changed {
		t.Fatal("a changed extra field was not a change")
	}
}

func testRepeatWhilePendingIsUnchanged(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	body := `{"event_type":"product.updated","product_data":{"id":1,"title":"A","image":"https://x/a.jpg"}}`
	ApplyAt(ctx, s, Event(t, body), 1, T0)
	res, _ := ApplyAt(ctx, s, Event(t, body), 1, T0.Add(time.Second))
	if res.Changed || !res.ReindexTriggered {
		t.Fatalf("repeat while pending: %+v", res)
	}
	if st, _ := s.Stats(ctx, "m"); st.Pending != 1 {
		t.Fatalf("job lost: %+v", st)
	}
}

func testCompleteRefusesAnotherModel(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	// The model in service is the database's: set through another store,
	// it is checked in the transaction that would record the vector.
	s2 := s
	if h.againF != nil {
		s2 = h.storeOn(t, h.again(t, s.Driver()))
	}
	if err := s2.SetSettings(ctx, map[string]string{store.SettingServingModel: "new"}); err != nil {
		t.Fatal(err)
	}
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.created","product_data":{"id":1,"image":"https://x/a.jpg"}}`), 1, T0)
	job, _ := s.Claim(ctx, T0, time.Minute)
	if err := Complete(ctx, s, job, "sha", "old", []float32{1}, T0); !errors.Is(err, catalog.ErrModelChanged) {
		t.Fatalf("old-model vector: %v", err)
	}
	if p, _ := s.Get(ctx, catalog.Key{ShopID: 1, ProductID: "1"}); p.IndexState != catalog.StatePending {
		t.Fatalf("product after a refused vector: %+v", p)
	}
	if err := Complete(ctx, s, job, "sha", "new", []float32{1}, T0); err != nil {
		t.Fatal(err)
	}
}

func testImageRemovedWhileJobRuns(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	k := catalog.Key{ShopID: 1, ProductID: "5"}
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.created","product_data":{"id":5,"image":"https://x/a.jpg"}}`), 1, T0)
	job, err := s.Claim(ctx, T0, time.Minute)
	if err != nil || job == nil {
		t.Fatalf("claim: %+v %v", job, err)
	}
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.updated","product_data":{"id":5,"image":""}}`), 1, T0.Add(time.Second))
	if err := Complete(ctx, s, job, "aa", "m", []float32{1, 0}, T0.Add(2*time.Second)); !errors.Is(err, catalog.ErrStale) {
		t.Fatalf("Complete after the image was removed: %v, want ErrStale", err)
	}
	p, _ := s.Get(ctx, k)
	st, _ := s.Stats(ctx, "m")
	if p.IndexState != catalog.StateNoImage || p.ImageSHA256 != "" || st.Vectors != 0 {
		t.Fatalf("after a stale Complete: %+v %+v", p, st)
	}
}

func testSeveralPhotos(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	k := catalog.Key{ShopID: 1, ProductID: "1"}
	var hooked []map[string][]float32
	s.SetChangeHook(func(_ int64, p catalog.Product, vecs map[string][]float32) { hooked = append(hooked, vecs) })
	body := `{"event_type":"product.updated","product_data":{"id":1,"image":"https://x/a.jpg","images":["https://x/b.jpg","https://x/404.jpg"]}}`
	if res, err := ApplyAt(ctx, s, Event(t, body), 1, T0); err != nil || !res.ReindexTriggered {
		t.Fatalf("create: %+v %v", res, err)
	}
	j, _ := s.Claim(ctx, T0, time.Minute)
	if j == nil || len(j.Photos) != 3 {
		t.Fatalf("job: %+v", j)
	}
	next, err := s.Settle(ctx, j, "m", []catalog.PhotoResult{
		{URL: "https://x/a.jpg", SHA256: "sa", Vector: []float32{1, 0}},
		{URL: "https://x/b.jpg", SHA256: "sb", Vector: []float32{0, 1}},
		{URL: "https://x/404.jpg", Err: "Failed to fetch image: 404 Not Found", Permanent: true},
	}, false, T0, T0)
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
	if res, _ := ApplyAt(ctx, s, Event(t, body), 1, T0); res.ReindexTriggered || res.Changed {
		t.Fatalf("repeat: %+v", res)
	}
	// A new second photo: only it is fetched; the product stays searchable.
	body = `{"event_type":"product.updated","product_data":{"id":1,"images":["https://x/a.jpg","https://x/c.jpg","https://x/404.jpg"]}}`
	if res, _ := ApplyAt(ctx, s, Event(t, body), 1, T0); !res.ReindexTriggered {
		t.Fatalf("new photo: %+v", res)
	}
	if p, _ := s.Get(ctx, k); !p.Searchable() || catalog.CountPhotos(p.Photos) != 1 {
		t.Fatalf("while the new photo waits: %+v", p)
	}
	j, _ = s.Claim(ctx, T0, time.Minute)
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

func testRetryKeepsTheProductAsItsPhotosSay(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	k := catalog.Key{ShopID: 1, ProductID: "1"}
	body := `{"event_type":"product.updated","product_data":{"id":1,"title":"A","image":"https://x/a.jpg"}}`
	ApplyAt(ctx, s, Event(t, body), 1, T0)
	job, err := s.Claim(ctx, T0, time.Minute)
	if err != nil || job == nil {
		t.Fatalf("claim: %+v %v", job, err)
	}
	if err := s.Retry(ctx, job, "the model changed", T0, T0); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Get(ctx, k)
	if p.IndexState != catalog.StatePending || p.IndexError != "the model changed" {
		t.Fatalf("after Retry: %+v", p)
	}
	if state, msg := catalog.ProductState(p.Photos); state != p.IndexState || msg != p.IndexError {
		t.Fatalf("stored state %s %q, its photos say %s %q", p.IndexState, p.IndexError, state, msg)
	}
	res, _ := ApplyAt(ctx, s, Event(t, body), 1, T0.Add(time.Second))
	if res.Changed || res.Product.IndexError != "the model changed" {
		t.Fatalf("repeat after Retry: changed=%v %+v", res.Changed, res.Product)
	}
}

func testDuplicateDeliveryHasNoEffect(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	create := Event(t, `{"event_type":"product.created","product_data":{"id":1,"title":"A","image":"https://x/a.jpg"}}`)
	first, err := s.ApplyEvent(ctx, create, catalog.ApplyOptions{ShopID: 1, DeliveryID: "msg_1", Now: T0})
	if err != nil || first.Action != catalog.ActionCreated || !first.ReindexTriggered {
		t.Fatalf("first: %+v %v", first, err)
	}
	// Newer events come in between...
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.updated","product_data":{"id":1,"title":"B"}}`), 1, T0.Add(time.Second))
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.deleted","product_data":{"id":1}}`), 1, T0.Add(2*time.Second))
	// ...then the first delivery is repeated: same reply, no effect.
	again, err := s.ApplyEvent(ctx, create, catalog.ApplyOptions{ShopID: 1, DeliveryID: "msg_1", Now: T0.Add(3 * time.Second)})
	if err != nil || !again.Duplicate || again.Action != first.Action || again.ReindexTriggered != first.ReindexTriggered || again.Changed != true {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	p, _ := s.Get(ctx, catalog.Key{ShopID: 1, ProductID: "1"})
	if p.DeletedAt == nil || p.Title != "B" {
		t.Fatalf("a duplicate delivery changed the product: %+v", p)
	}
	if n, err := s.PruneDeliveries(ctx, T0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
}

func testOlderEventNeverOverwritesNewer(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	k := catalog.Key{ShopID: 1, ProductID: "1"}
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.updated","product_data":{"id":1,"title":"v5","version":5}}`), 1, T0)
	res, _ := ApplyAt(ctx, s, Event(t, `{"event_type":"product.updated","product_data":{"id":1,"title":"v3","version":3}}`), 1, T0)
	if res.Action != catalog.ActionIgnored || res.Changed {
		t.Fatalf("older event: %+v", res)
	}
	// A delete older than the state is ignored; a newer one applies.
	res, _ = ApplyAt(ctx, s, Event(t, `{"event_type":"product.deleted","product_data":{"id":1,"version":4}}`), 1, T0)
	if res.Action != catalog.ActionIgnored {
		t.Fatalf("older delete: %+v", res)
	}
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.deleted","product_data":{"id":1,"version":6}}`), 1, T0)
	res, _ = ApplyAt(ctx, s, Event(t, `{"event_type":"product.updated","product_data":{"id":1,"title":"v5 again","version":5}}`), 1, T0)
	if res.Action != catalog.ActionIgnored {
		t.Fatalf("update older than the delete resurrected it: %+v", res)
	}
	p, _ := s.Get(ctx, k)
	if p.DeletedAt == nil || p.Title != "v5" {
		t.Fatalf("final: %+v", p)
	}
	// A delete that arrives before the create it follows leaves a tombstone.
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.deleted","product_data":{"id":2,"TIMESTAMP_X":"27.11.2026 10:00:01"}}`), 1, T0)
	res, _ = ApplyAt(ctx, s, Event(t, `{"event_type":"product.created","product_data":{"id":2,"title":"x","TIMESTAMP_X":"27.11.2026 10:00:00"}}`), 1, T0)
	if res.Action != catalog.ActionIgnored {
		t.Fatalf("create older than its delete: %+v", res)
	}
	// Without versions, arrival order wins.
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.updated","product_data":{"id":3,"title":"first"}}`), 1, T0)
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.updated","product_data":{"id":3,"title":"second"}}`), 1, T0)
	if p, _ := s.Get(ctx, catalog.Key{ShopID: 1, ProductID: "3"}); p.Title != "second" {
		t.Fatalf("arrival order: %+v", p)
	}
}

func testOutOfOrderDeliveryConverges(t *testing.T, h *harness) {
	for seed := int64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := h.store(t)
			ctx := context.Background()
			rng := rand.New(rand.NewSource(seed))
			type sent struct {
				body string
				id   string
			}
			var events []sent
			newest := map[int64]string{} // product -> expected title ("" = deleted)
			for pid := int64(1); pid <= 8; pid++ {
				n := 3 + rng.Intn(6)
				for v := 1; v <= n; v++ {
					var body, title string
					if v > 1 && rng.Intn(4) == 0 {
						body = fmt.Sprintf(`{"event_type":"product.deleted","product_data":{"id":%d,"version":%d}}`, pid, v)
					} else {
						title = fmt.Sprintf("p%d v%d", pid, v)
						body = fmt.Sprintf(`{"event_type":"product.updated","product_data":{"id":%d,"title":%q,"price":%d,"version":%d}}`, pid, title, v*100, v)
					}
					newest[pid] = title
					events = append(events, sent{body, fmt.Sprintf("msg_%d_%d", pid, v)})
				}
			}
			// Shuffle, and deliver a third of them twice.
			rng.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
			for i := 0; i < len(events)/3; i++ {
				events = append(events, events[rng.Intn(len(events))])
			}
			rng.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
			for _, e := range events {
				if _, err := s.ApplyEvent(ctx, Event(t, e.body), catalog.ApplyOptions{ShopID: 1, DeliveryID: e.id}); err != nil {
					t.Fatal(err)
				}
			}
			for pid, title := range newest {
				p, err := s.Get(ctx, catalog.Key{ShopID: 1, ProductID: catalog.ProductIDOf(pid)})
				if err != nil {
					t.Fatalf("product %d: %v", pid, err)
				}
				if title == "" {
					if p.DeletedAt == nil {
						t.Fatalf("product %d should be deleted: %+v", pid, p)
					}
					continue
				}
				if p.DeletedAt != nil || p.Title != title {
					t.Fatalf("product %d: got %q deleted=%v, want %q", pid, p.Title, p.DeletedAt != nil, title)
				}
			}
		})
	}
}

func testPruneEmbeddingsRefusesMassRemoval(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	for i := range 50 {
		s.PutEmbedding(ctx, fmt.Sprintf("%064d", i), "m", []float32{1, 2}, T0)
	}
	n, err := s.PruneEmbeddings(ctx)
	if !errors.Is(err, catalog.ErrPruneRefused) || n != 0 {
		t.Fatalf("prune of 50 unreferenced of 50: %d, %v", n, err)
	}
	var left int
	s.Driver().Read().QueryRowContext(ctx, "SELECT count(*) FROM embeddings").Scan(&left)
	if left != 50 {
		t.Fatalf("%d vectors left", left)
	}
	if known, _ := s.KnowsImages(ctx); !known {
		t.Fatal("KnowsImages false with vectors stored")
	}
}

func testExpireLeasesMakesRunningJobsDue(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.created","product_data":{"id":1,"title":"a","image":"https://x/a.jpg"}}`), 1, T0)
	if j, err := s.Claim(ctx, T0, time.Hour); err != nil || j == nil {
		t.Fatalf("claim: %v %v", j, err)
	}
	if j, _ := s.Claim(ctx, T0.Add(time.Minute), time.Hour); j != nil {
		t.Fatal("a leased job claimed again")
	}
	if n, err := s.ExpireLeases(ctx, T0.Add(time.Minute)); n != 1 || err != nil {
		t.Fatalf("ExpireLeases: %d %v", n, err)
	}
	if j, _ := s.Claim(ctx, T0.Add(time.Minute), time.Hour); j == nil {
		t.Fatal("job not due after its lease was voided")
	}
}

// Event parses a webhook body.
func Event(t *testing.T, body string) catalog.Event {
	t.Helper()
	ev, err := catalog.ParseEvent([]byte(body))
	if err != nil {
		t.Fatalf("ParseEvent(%s): %v", body, err)
	}
	return ev
}

// Complete records the same hash and vector for every photo of j (the
// one-photo products of most tests).
func Complete(ctx context.Context, s *store.Store, j *catalog.Job, sha, model string, vec []float32, now time.Time) error {
	var rs []catalog.PhotoResult
	for _, ph := range j.Photos {
		rs = append(rs, catalog.PhotoResult{URL: ph.URL, SHA256: sha, Vector: vec})
	}
	_, err := s.Settle(ctx, j, model, rs, false, now, now)
	return err
}

func fail(ctx context.Context, s *store.Store, j *catalog.Job, reason string, transient bool, now time.Time) error {
	var rs []catalog.PhotoResult
	for _, ph := range j.Photos {
		rs = append(rs, catalog.PhotoResult{URL: ph.URL, Err: reason, Permanent: !transient})
	}
	_, err := s.Settle(ctx, j, "m", rs, true, now, now)
	return err
}

// JobURL is the one photo a job fetches ("" unless one).
func JobURL(j *catalog.Job) string {
	if j == nil || len(j.Photos) != 1 {
		return ""
	}
	return j.Photos[0].URL
}

func ApplyAt(ctx context.Context, s *store.Store, ev catalog.Event, shop int64, now time.Time) (catalog.ApplyResult, error) {
	return s.ApplyEvent(ctx, ev, catalog.ApplyOptions{ShopID: shop, Now: now})
}

// Two stores on one database (two replicas) are fed the same randomised
// events, each delivered to either, some twice, in shuffled order and
// concurrently: both end with every product as its newest event says, and
// with one job per product that waits for a vector.
func testTwoStoresConverge(t *testing.T, h *harness) {
	d := h.open(t)
	s1 := h.storeOn(t, d)
	s2 := h.storeOn(t, h.again(t, d))
	ctx := context.Background()
	rng := rand.New(rand.NewSource(7))
	type sent struct{ body, id string }
	type want struct {
		title   string // "" when deleted
		image   bool
		version int
	}
	var events []sent
	newest := map[int64]want{}
	for pid := int64(1); pid <= 12; pid++ {
		n := 3 + rng.Intn(6)
		for v := 1; v <= n; v++ {
			var body string
			w := want{version: v}
			switch {
			case v > 1 && rng.Intn(4) == 0:
				body = fmt.Sprintf(`{"event_type":"product.deleted","product_data":{"id":%d,"version":%d}}`, pid, v)
			default:
				w.title = fmt.Sprintf("p%d v%d", pid, v)
				img := ""
				if rng.Intn(2) == 0 {
					img = fmt.Sprintf("https://x/%d-%d.jpg", pid, v)
					w.image = true
				}
				body = fmt.Sprintf(`{"event_type":"product.updated","product_data":{"id":%d,"title":%q,"image":%q,"version":%d}}`, pid, w.title, img, v)
			}
			newest[pid] = w
			events = append(events, sent{body, fmt.Sprintf("msg_%d_%d", pid, v)})
		}
	}
	for i := 0; i < len(events)/3; i++ {
		events = append(events, events[rng.Intn(len(events))])
	}
	rng.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	var wg sync.WaitGroup
	work := make(chan sent)
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for e := range work {
				s := s1
				if (g+len(e.body))%2 == 1 {
					s = s2
				}
				if _, err := s.ApplyEvent(ctx, Event(t, e.body), catalog.ApplyOptions{ShopID: 1, DeliveryID: e.id}); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	for _, e := range events {
		work <- e
	}
	close(work)
	wg.Wait()
	waiting := 0
	for pid, w := range newest {
		k := catalog.Key{ShopID: 1, ProductID: catalog.ProductIDOf(pid)}
		for i, s := range []*store.Store{s1, s2} {
			p, err := s.Get(ctx, k)
			if err != nil {
				t.Fatalf("store %d, product %d: %v", i+1, pid, err)
			}
			if w.title == "" {
				if p.DeletedAt == nil {
					t.Fatalf("store %d: product %d should be deleted: %+v", i+1, pid, p)
				}
				continue
			}
			if p.DeletedAt != nil || p.Title != w.title || (p.ImageURL != "") != w.image || p.SourceVersion == nil || *p.SourceVersion != int64(w.version) {
				t.Fatalf("store %d: product %d: %+v, want %+v", i+1, pid, p, w)
			}
			if w.image && p.IndexState != catalog.StatePending || !w.image && p.IndexState != catalog.StateNoImage {
				t.Fatalf("store %d: product %d in state %s", i+1, pid, p.IndexState)
			}
		}
		if w.title != "" && w.image {
			waiting++
		}
	}
	for i, s := range []*store.Store{s1, s2} {
		if st, err := s.Stats(ctx, "m"); err != nil || st.Pending != int64(waiting) {
			t.Fatalf("store %d: %d jobs waiting, want %d (%v)", i+1, st.Pending, waiting, err)
		}
	}
}

// Workers on two stores claim concurrently: every job is claimed by
// exactly one of them, and all are claimed.
func testEveryJobClaimedOnce(t *testing.T, h *harness) {
	d := h.open(t)
	s1 := h.storeOn(t, d)
	s2 := h.storeOn(t, h.again(t, d))
	ctx := context.Background()
	const n = 60
	for i := 1; i <= n; i++ {
		if _, err := ApplyAt(ctx, s1, Event(t, fmt.Sprintf(`{"event_type":"product.created","product_data":{"id":%d,"image":"https://x/%d.jpg"}}`, i, i)), 1, T0); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claimed := map[catalog.Key]int{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			s := []*store.Store{s1, s2}[w%2]
			for {
				j, err := s.Claim(ctx, T0.Add(time.Second), time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if j == nil {
					return
				}
				mu.Lock()
				claimed[j.Key]++
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if len(claimed) != n {
		t.Fatalf("%d of %d jobs claimed", len(claimed), n)
	}
	for k, c := range claimed {
		if c != 1 {
			t.Fatalf("job of %v claimed %d times", k, c)
		}
	}
}

// A worker of one store dies holding a lease: once it expires, the other
// store takes the job over (attempt 2) and its result is recorded.
func testExpiredLeaseTakenOver(t *testing.T, h *harness) {
	d := h.open(t)
	s1 := h.storeOn(t, d)
	s2 := h.storeOn(t, h.again(t, d))
	ctx := context.Background()
	k := catalog.Key{ShopID: 1, ProductID: "1"}
	ApplyAt(ctx, s1, Event(t, `{"event_type":"product.created","product_data":{"id":1,"image":"https://x/a.jpg"}}`), 1, T0)
	if j, err := s1.Claim(ctx, T0, time.Minute); err != nil || j == nil {
		t.Fatalf("claim: %v %v", j, err)
	}
	if j, _ := s2.Claim(ctx, T0.Add(30*time.Second), time.Minute); j != nil {
		t.Fatalf("a leased job was taken over before its lease ran out: %+v", j)
	}
	j, err := s2.Claim(ctx, T0.Add(2*time.Minute), time.Minute)
	if err != nil || j == nil || j.Key != k || j.Attempt != 2 {
		t.Fatalf("take-over: %+v %v", j, err)
	}
	if err := Complete(ctx, s2, j, "aa", "m", []float32{1, 0}, T0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if p, _ := s1.Get(ctx, k); p.IndexState != catalog.StateIndexed {
		t.Fatalf("the other store does not see the result: %+v", p)
	}
}

// Every change to a product's searchable state is in the feed, in order,
// paged by seq; old rows are pruned.
func testChangeFeed(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	if seq, err := s.LastChange(ctx); err != nil || seq != 0 {
		t.Fatalf("LastChange of an empty feed: %d %v", seq, err)
	}
	k1, k2 := catalog.Key{ShopID: 1, ProductID: "1"}, catalog.Key{ShopID: 1, ProductID: "2"}
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.created","product_data":{"id":1,"image":"https://x/a.jpg"}}`), 1, T0)
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.created","product_data":{"id":1,"image":"https://x/a.jpg"}}`), 1, T0) // no change
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.created","product_data":{"id":2,"title":"b"}}`), 1, T0)
	job, _ := s.Claim(ctx, T0, time.Minute)
	if err := Complete(ctx, s, job, "aa", "m", []float32{1, 0}, T0); err != nil {
		t.Fatal(err)
	}
	if err := s.Requeue(ctx, k1, T0); err != nil {
		t.Fatal(err)
	}
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.deleted","product_data":{"id":2}}`), 1, T0.Add(time.Hour))
	want := []catalog.Key{k1, k2, k1, k1, k2} // create, create, indexed, requeued, deleted
	var got []catalog.Key
	var after int64
	for {
		cs, next, err := s.Changes(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 0 {
			if next != after {
				t.Fatalf("an empty page moved the cursor from %d to %d", after, next)
			}
			break
		}
		for _, c := range cs {
			if c.Seq <= after {
				t.Fatalf("seq %d after %d", c.Seq, after)
			}
			got = append(got, c.Key)
		}
		after = next
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("feed %v, want %v", got, want)
	}
	if last, _ := s.LastChange(ctx); last != after {
		t.Fatalf("LastChange %d, the feed ends at %d", last, after)
	}
	if n, err := s.PruneChanges(ctx, T0.Add(time.Minute)); err != nil || n != 4 {
		t.Fatalf("prune: %d %v", n, err)
	}
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.updated","product_data":{"id":1,"title":"again"}}`), 1, T0.Add(2*time.Hour))
	cs, _, _ := s.Changes(ctx, after, 10)
	if len(cs) != 1 || cs[0].Seq <= after || cs[0].Key != k1 {
		t.Fatalf("after pruning, a new change: %+v (after %d)", cs, after)
	}
}

// A change committed through another store on the database is in this
// store's feed.
func testChangeFeedAcrossStores(t *testing.T, h *harness) {
	d := h.open(t)
	s1 := h.storeOn(t, d)
	s2 := h.storeOn(t, h.again(t, d))
	ctx := context.Background()
	from, _ := s1.LastChange(ctx)
	ApplyAt(ctx, s2, Event(t, `{"event_type":"product.created","product_data":{"id":9,"title":"from s2"}}`), 1, T0)
	cs, _, err := s1.Changes(ctx, from, 10)
	if err != nil || len(cs) != 1 || cs[0].Key != (catalog.Key{ShopID: 1, ProductID: "9"}) {
		t.Fatalf("s1's feed: %+v %v", cs, err)
	}
}

// The SQL that counts searchable products agrees with Product.Searchable.
func testSearchableInSQL(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	for i := 1; i <= 6; i++ {
		ApplyAt(ctx, s, Event(t, fmt.Sprintf(`{"event_type":"product.created","product_data":{"id":%d,"image":"https://x/%d.jpg"}}`, i, i)), 1, T0)
	}
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.created","product_data":{"id":7,"title":"no photo"}}`), 1, T0)
	for i := 0; i < 4; i++ {
		j, _ := s.Claim(ctx, T0, time.Minute)
		if err := Complete(ctx, s, j, fmt.Sprintf("sha%d", i), "m", []float32{1}, T0); err != nil {
			t.Fatal(err)
		}
	}
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.deleted","product_data":{"id":1}}`), 1, T0) // was indexed
	ApplyAt(ctx, s, Event(t, `{"event_type":"product.deleted","product_data":{"id":5}}`), 1, T0) // was pending
	var want int64
	for i := 1; i <= 7; i++ {
		p, _ := s.Get(ctx, catalog.Key{ShopID: 1, ProductID: catalog.ProductIDOf(int64(i))})
		if p.Searchable() {
			want++
		}
	}
	models, err := s.IndexedModels(ctx)
	st, _ := s.Stats(ctx, "m")
	if err != nil || want != 3 || models["m"] != want || st.Vectors != want {
		t.Fatalf("searchable: Go %d, IndexedModels %v, Stats.Vectors %d (%v)", want, models, st.Vectors, err)
	}
}

// A leader lock is held by one holder at a time and free again once
// released; its context lives while it is held and ends at release, or
// with the caller's.
func testTryLeader(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	lctx, release, ok, err := s.TryLeader(ctx, "housekeeping")
	if err != nil || !ok {
		t.Fatalf("first: %v %v", ok, err)
	}
	if _, _, ok, _ := s.TryLeader(ctx, "housekeeping"); ok {
		t.Fatal("the lock was taken twice")
	}
	if _, r, ok, _ := s.TryLeader(ctx, "migrate-model"); !ok {
		t.Fatal("another lock's name is another lock")
	} else {
		r()
	}
	if lctx.Err() != nil {
		t.Fatalf("the leadership's context ended while held: %v", context.Cause(lctx))
	}
	release()
	if lctx.Err() == nil {
		t.Fatal("the leadership's context lives on after release")
	}
	cctx, cancel := context.WithCancel(ctx)
	lctx, r, ok, err := s.TryLeader(cctx, "housekeeping")
	if err != nil || !ok {
		t.Fatalf("after release: %v %v", ok, err)
	}
	cancel()
	if lctx.Err() == nil {
		t.Fatal("the leadership's context lives on after the caller's ended")
	}
	r()
}

// SetSettingIf writes only while the other setting holds the value given.
func testSetSettingIf(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	if err := s.SetSettings(ctx, map[string]string{"model": "a"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.SetSettingIf(ctx, "serving", "a", "model", "a"); !ok || err != nil {
		t.Fatalf("condition holds: %v %v", ok, err)
	}
	if ok, err := s.SetSettingIf(ctx, "serving", "b", "model", "b"); ok || err != nil {
		t.Fatalf("condition fails: %v %v", ok, err)
	}
	if ok, err := s.SetSettingIf(ctx, "serving", "c", "unset", ""); !ok || err != nil {
		t.Fatalf("an unset setting is empty: %v %v", ok, err)
	}
	if v, _ := s.Setting(ctx, "serving"); v != "c" {
		t.Fatalf("serving %q", v)
	}
}

// Replicas starting at once each propose a data directory id; all of them
// get the same one, the first stored, and SetSettings still overwrites.
func testInitSettingKeepsTheFirst(t *testing.T, h *harness) {
	d := h.open(t)
	stores := []*store.Store{h.storeOn(t, d)}
	if h.againF != nil {
		stores = append(stores, h.storeOn(t, h.again(t, d)))
	}
	ctx := context.Background()
	got := make([]string, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			v, err := stores[i%len(stores)].InitSetting(ctx, "data_dir_id", fmt.Sprint("id-", i))
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	for i, v := range got {
		if v == "" || v != got[0] {
			t.Fatalf("caller %d got %q, caller 0 %q: want one id for all", i, v, got[0])
		}
	}
	if v, _ := stores[0].InitSetting(ctx, "data_dir_id", "later"); v != got[0] {
		t.Fatalf("a later InitSetting replaced the id: %q", v)
	}
	if err := stores[0].SetSettings(ctx, map[string]string{"data_dir_id": "set"}); err != nil {
		t.Fatal(err)
	}
	if v, _ := stores[len(stores)-1].Setting(ctx, "data_dir_id"); v != "set" {
		t.Fatalf("SetSettings after InitSetting: %q", v)
	}
}

// Each replica's heartbeat row and activity minutes, written through its
// own store, are read back by any store on the database: rewritten minutes
// replace (not add to) what was there, Leave removes the row, PruneFleet
// forgets what is old.
func testFleet(t *testing.T, h *harness) {
	d := h.open(t)
	s1 := h.storeOn(t, d)
	s2 := s1
	if h.againF != nil {
		s2 = h.storeOn(t, h.again(t, d))
	}
	ctx := context.Background()
	minute := func(m int64, n int, ms float64) catalog.Minute {
		x := catalog.Minute{Minute: m}
		for range n {
			x.Record(ms, false)
		}
		return x
	}
	a := catalog.Replica{ID: "a", Host: "h1", PID: 11, Addr: "127.0.0.1:1", Version: "v", Model: "m", StartedAt: T0, SeenAt: T0, FeedSeq: 5, FeedBehind: 1, IndexVectors: 3}
	b := catalog.Replica{ID: "b", Host: "h2", PID: 22, Addr: "127.0.0.1:2", Version: "v", Model: "m", StartedAt: T0.Add(time.Second), SeenAt: T0}
	if err := s1.Heartbeat(ctx, a, []catalog.Activity{{Replica: "a", Kind: catalog.ActivityWebhooks, Minute: minute(100, 2, 4)}}); err != nil {
		t.Fatal(err)
	}
	a.SeenAt, a.FeedSeq = T0.Add(5*time.Second), 9
	if err := s1.Heartbeat(ctx, a, []catalog.Activity{{Replica: "a", Kind: catalog.ActivityWebhooks, Minute: minute(100, 3, 4)},
		{Replica: "a", Kind: catalog.ActivitySearches, Minute: minute(101, 1, 40)}}); err != nil {
		t.Fatal(err)
	}
	if err := s2.Heartbeat(ctx, b, []catalog.Activity{{Replica: "b", Kind: catalog.ActivityWebhooks, Minute: minute(100, 4, 9)},
		{Replica: "b", Kind: catalog.ActivityWebhooks, Minute: minute(40, 1, 1)}}); err != nil {
		t.Fatal(err)
	}
	rs, err := s1.Replicas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
	if len(rs) != 2 || rs[0] != a || rs[1] != b {
		t.Fatalf("replicas:\n%+v\nwant\n%+v\n%+v", rs, a, b)
	}
	act, err := s1.Activity(ctx, 99)
	if err != nil {
		t.Fatal(err)
	}
	var webhooks []catalog.Minute
	for _, x := range act {
		if x.Kind == catalog.ActivityWebhooks {
			webhooks = append(webhooks, x.Minute)
		}
	}
	sum := catalog.SumMinutes(webhooks, 100, 101)
	want := minute(100, 3, 4) // a's minute as rewritten, not added to
	want.Add(minute(100, 4, 9))
	if len(act) != 3 || sum[0] != want || sum[1].Count != 0 {
		t.Fatalf("activity since minute 99: %+v", act)
	}
	if err := s2.Leave(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if n, err := s1.PruneFleet(ctx, time.Unix(99*60, 0)); err != nil || n != 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
	if rs, _ := s1.Replicas(ctx); len(rs) != 1 || rs[0].ID != "a" {
		t.Fatalf("after b left: %+v", rs)
	}
	if act, _ := s1.Activity(ctx, 0); len(act) != 3 {
		t.Fatalf("activity after the prune: %+v", act)
	}
}

// FeedLag counts the changes after a reader's position and says when the
// oldest was written.
func testFeedLag(t *testing.T, h *harness) {
	s := h.store(t)
	ctx := context.Background()
	if n, oldest, err := s.FeedLag(ctx, 0, 100); err != nil || n != 0 || !oldest.IsZero() {
		t.Fatalf("empty feed: %d %v %v", n, oldest, err)
	}
	for i := range 3 {
		if _, err := ApplyAt(ctx, s, Event(t, fmt.Sprintf(`{"event_type":"product.created","product_data":{"id":%d,"title":"a"}}`, i+1)), 1, T0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	cs, _, err := s.Changes(ctx, 0, 10)
	if err != nil || len(cs) != 3 {
		t.Fatalf("changes: %v %v", cs, err)
	}
	for _, c := range []struct {
		after  int64
		limit  int
		behind int64
		oldest time.Time
	}{
		{0, 100, 3, T0},
		{cs[0].Seq, 100, 2, T0.Add(time.Second)},
		{cs[2].Seq, 100, 0, time.Time{}},
		{0, 2, 2, T0},
	} {
		n, oldest, err := s.FeedLag(ctx, c.after, c.limit)
		if err != nil || n != c.behind || !oldest.Equal(c.oldest) {
			t.Errorf("FeedLag(%d, %d) = %d %v %v, want %d %v", c.after, c.limit, n, oldest, err, c.behind, c.oldest)
		}
	}
}

// A model switch while webhooks for the products it moves arrive at two
// stores on the database: every product ends on the new model, searchable,
// with its last price; none is written back to the old model by a webhook
// that read it before the switch committed.
func testSwitchModelBesideWebhooks(t *testing.T, h *harness) {
	d := h.open(t)
	s1 := h.storeOn(t, d)
	stores := []*store.Store{s1}
	if h.againF != nil {
		stores = append(stores, h.storeOn(t, h.again(t, d)))
	}
	ctx := context.Background()
	const products, senders, rounds = 40, 8, 15
	if err := s1.SetSettings(ctx, map[string]string{store.SettingServingModel: "old"}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= products; i++ {
		if _, err := ApplyAt(ctx, s1, Event(t, fmt.Sprintf(`{"event_type":"product.created","product_data":{"id":%d,"title":"p","price":"100","image":"https://x/%d.jpg"}}`, i, i)), 1, T0); err != nil {
			t.Fatal(err)
		}
		j, err := s1.Claim(ctx, T0, time.Minute)
		if err != nil || j == nil {
			t.Fatalf("claim: %v %v", j, err)
		}
		sha := fmt.Sprint("sha", i)
		if err := Complete(ctx, s1, j, sha, "old", []float32{1, 0}, T0); err != nil {
			t.Fatal(err)
		}
		if err := s1.PutEmbedding(ctx, sha, "new", []float32{0, 1}, T0); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range senders { // sender g owns the products i with i % senders == g, in order
		wg.Go(func() {
			<-start
			for r := 1; r <= rounds; r++ {
				for i := 1; i <= products; i++ {
					if i%senders != g {
						continue
					}
					ev := Event(t, fmt.Sprintf(`{"event_type":"product.updated","product_data":{"id":%d,"price":"%d"}}`, i, 100+r))
					if _, err := ApplyAt(ctx, stores[(i+r)%len(stores)], ev, 1, T0.Add(time.Duration(r)*time.Second)); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	close(start)
	if _, _, err := stores[len(stores)-1].SwitchModel(ctx, "new", map[string]string{store.SettingServingModel: "new"}, T0.Add(time.Second), nil); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i := 1; i <= products; i++ {
		p, err := s1.Get(ctx, catalog.Key{ShopID: 1, ProductID: catalog.ProductID(fmt.Sprint(i))})
		if err != nil {
			t.Fatal(err)
		}
		if p.Model != "new" || !p.Searchable() || p.Price == nil || p.Price.Minor != int64(100+rounds)*100 {
			t.Errorf("product %d: model %q searchable %v price %v", i, p.Model, p.Searchable(), p.Price)
		}
	}
}
