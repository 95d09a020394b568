package catalog

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

var d0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func ev(t *testing.T, body string) Event {
	t.Helper()
	e, err := ParseEvent([]byte(body))
	if err != nil {
		t.Fatalf("ParseEvent(%s): %v", body, err)
	}
	return e
}

func vptr(v int64) *int64 { return &v }

// decideAll applies events in order to an in-memory store of one product,
// as a store does: the decision's product is stored when Write.
type memProduct struct {
	p     Product
	found bool
	job   JobOp // the last op that left a job (ensure/reset) or JobDrop
}

func (m *memProduct) apply(t *testing.T, e Event, now time.Time) Decision {
	t.Helper()
	d, err := Decide(m.p, m.found, e, Key{ShopID: 1, ProductID: e.Product.ID}, now, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.Job != JobNone {
		m.job = d.Job
	}
	if d.Write {
		m.p, m.found = d.Product, true
	}
	return d
}

func TestDecideOrderingAndTombstones(t *testing.T) {
	deleted := Product{Key: Key{1, "1"}, Title: "v5", DeletedAt: &d0, UpdatedAt: d0, SourceVersion: vptr(6), IndexState: StateNoImage}
	live := Product{Key: Key{1, "1"}, Title: "v5", Available: true, UpdatedAt: d0, SourceVersion: vptr(5), IndexState: StateNoImage}
	withPhoto := live
	withPhoto.Generation, withPhoto.Model = 3, "m"
	withPhoto.SetPhotos([]Photo{{URL: "https://x/a.jpg", SHA256: "aa", State: PhotoIndexed}})
	cases := []struct {
		name    string
		old     Product
		found   bool
		body    string
		action  Action
		write   bool
		job     JobOp
		deleted bool
		title   string
		gen     int64
	}{
		{"older update ignored", live, true, `{"event_type":"product.updated","product_data":{"id":1,"title":"v3","version":3}}`, ActionIgnored, false, JobNone, false, "v5", 0},
		{"older delete ignored", live, true, `{"event_type":"product.deleted","product_data":{"id":1,"version":4}}`, ActionIgnored, false, JobNone, false, "v5", 0},
		{"newer delete applies", live, true, `{"event_type":"product.deleted","product_data":{"id":1,"version":6}}`, ActionDeleted, true, JobDrop, true, "v5", 0},
		{"update older than the delete stays deleted", deleted, true, `{"event_type":"product.updated","product_data":{"id":1,"title":"again","version":5}}`, ActionIgnored, false, JobNone, true, "v5", 0},
		{"repeated delete changes nothing", deleted, true, `{"event_type":"product.deleted","product_data":{"id":1,"version":6}}`, ActionDeleted, false, JobNone, true, "v5", 0},
		{"unversioned repeated delete changes nothing", deleted, true, `{"event_type":"product.deleted","product_data":{"id":1}}`, ActionDeleted, false, JobNone, true, "v5", 0},
		{"newer delete of a deleted one keeps its version", deleted, true, `{"event_type":"product.deleted","product_data":{"id":1,"version":7}}`, ActionDeleted, true, JobDrop, true, "v5", 0},
		{"newer update resurrects", deleted, true, `{"event_type":"product.updated","product_data":{"id":1,"title":"v7","version":7}}`, ActionCreated, true, JobDrop, false, "v7", 0},
		{"versioned delete of an unknown product leaves a tombstone", Product{}, false, `{"event_type":"product.deleted","product_data":{"id":1,"version":6}}`, ActionDeleted, true, JobDrop, true, "", 0},
		{"unversioned delete of an unknown product is forgotten", Product{}, false, `{"event_type":"product.deleted","product_data":{"id":1}}`, ActionDeleted, false, JobNone, false, "", 0},
		{"create with a photo starts generation 1", Product{}, false, `{"event_type":"product.created","product_data":{"id":1,"image":"https://x/a.jpg"}}`, ActionCreated, true, JobReset, false, "", 1},
		{"a new photo starts a new generation", withPhoto, true, `{"event_type":"product.updated","product_data":{"id":1,"image":"https://x/b.jpg"}}`, ActionUpdated, true, JobReset, false, "v5", 4},
		{"a price change keeps the vectors", withPhoto, true, `{"event_type":"product.updated","product_data":{"id":1,"price":100}}`, ActionUpdated, true, JobNone, false, "v5", 3},
		{"removing the photos drops the job and makes a running one stale", withPhoto, true, `{"event_type":"product.updated","product_data":{"id":1,"image":""}}`, ActionUpdated, true, JobDrop, false, "v5", 4},
		{"the same event again writes nothing", withPhoto, true, `{"event_type":"product.updated","product_data":{"id":1,"title":"v5","image":"https://x/a.jpg"}}`, ActionUpdated, false, JobNone, false, "v5", 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Decide(c.old, c.found, ev(t, c.body), Key{1, "1"}, d0.Add(time.Second), 0)
			if err != nil {
				t.Fatal(err)
			}
			if d.Action != c.action || d.Write != c.write || d.Job != c.job {
				t.Fatalf("action %s write %v job %q, want %s %v %q", d.Action, d.Write, d.Job, c.action, c.write, c.job)
			}
			if !c.write && c.found && !SameProduct(d.Product, c.old) {
				t.Fatalf("nothing to write, but the product is not the stored one: %+v", d.Product)
			}
			if d.Product.Key == (Key{}) {
				if c.deleted || c.write {
					t.Fatalf("no product: %+v", d)
				}
				return
			}
			if (d.Product.DeletedAt != nil) != c.deleted || d.Product.Title != c.title || d.Product.Generation != c.gen {
				t.Fatalf("product deleted=%v title %q gen %d, want %v %q %d", d.Product.DeletedAt != nil, d.Product.Title, d.Product.Generation, c.deleted, c.title, c.gen)
			}
		})
	}
}

func TestDecideClockNeverGoesBackwards(t *testing.T) {
	old := Product{Key: Key{1, "1"}, UpdatedAt: d0, IndexState: StateNoImage, Available: true}
	d, _ := Decide(old, true, ev(t, `{"event_type":"product.updated","product_data":{"id":1,"title":"x"}}`), Key{1, "1"}, d0.Add(-time.Hour), 0)
	if !d.Product.UpdatedAt.Equal(d0) || !d.At.Equal(d0) {
		t.Fatalf("updated at %v (decision at %v), want %v", d.Product.UpdatedAt, d.At, d0)
	}
}

func TestDecideRepeatWhilePendingEnsuresTheJob(t *testing.T) {
	var m memProduct
	body := `{"event_type":"product.updated","product_data":{"id":1,"title":"A","image":"https://x/a.jpg"}}`
	m.apply(t, ev(t, body), d0)
	d := m.apply(t, ev(t, body), d0.Add(time.Second))
	if d.Write || d.Job != JobEnsure || !d.ReindexTriggered {
		t.Fatalf("repeat while pending: %+v", d)
	}
}

// Randomised out-of-order and repeated events converge to each product's
// newest event, whatever the order.
func TestDecideOutOfOrderConverges(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewSource(seed))
		n := 3 + rng.Intn(6)
		var bodies []string
		want := ""
		for v := 1; v <= n; v++ {
			if v > 1 && rng.Intn(4) == 0 {
				bodies = append(bodies, fmt.Sprintf(`{"event_type":"product.deleted","product_data":{"id":1,"version":%d}}`, v))
				want = ""
			} else {
				want = fmt.Sprintf("v%d", v)
				bodies = append(bodies, fmt.Sprintf(`{"event_type":"product.updated","product_data":{"id":1,"title":%q,"version":%d}}`, want, v))
			}
		}
		for i := 0; i < n/2; i++ {
			bodies = append(bodies, bodies[rng.Intn(len(bodies))])
		}
		rng.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
		var m memProduct
		for i, b := range bodies {
			m.apply(t, ev(t, b), d0.Add(time.Duration(i)*time.Second))
		}
		if got := m.p.Title; want == "" && m.p.DeletedAt == nil || want != "" && (m.p.DeletedAt != nil || got != want) {
			t.Fatalf("seed %d: title %q deleted=%v, want %q", seed, got, m.p.DeletedAt != nil, want)
		}
	}
}

func TestMarkPending(t *testing.T) {
	idx := time.Now()
	p := Product{Generation: 2, Model: "m", IndexedAt: &idx}
	p.SetPhotos([]Photo{{URL: "a", SHA256: "aa", State: PhotoIndexed}, {URL: "b", State: PhotoFailed, Error: "404"}})
	if !MarkPending(&p) {
		t.Fatal("a product with photos is reset")
	}
	if p.Generation != 3 || p.IndexState != StatePending || p.IndexError != "" || p.Model != "" || p.IndexedAt != nil || p.ImageSHA256 != "" {
		t.Fatalf("after MarkPending: %+v", p)
	}
	for _, ph := range p.Photos {
		if ph.State != PhotoPending || ph.SHA256 != "" || ph.Error != "" {
			t.Fatalf("photo after MarkPending: %+v", ph)
		}
	}
	var none Product
	if MarkPending(&none) || none.Generation != 0 {
		t.Fatalf("a product without photos: %+v", none)
	}
}

func TestMarkRetryAgreesWithThePhotos(t *testing.T) {
	var p Product
	p.SetPhotos([]Photo{{URL: "a", State: PhotoPending}, {URL: "b", SHA256: "bb", State: PhotoIndexed}})
	MarkRetry(&p, "model changed")
	if p.IndexState != StateIndexed || p.Photos[0].Error != "model changed" || p.Photos[1].Error != "" {
		t.Fatalf("indexed product after MarkRetry: %+v", p)
	}
	p.SetPhotos([]Photo{{URL: "a", State: PhotoPending}})
	MarkRetry(&p, "model changed")
	if state, msg := ProductState(p.Photos); p.IndexState != StatePending || p.IndexError != "model changed" || state != p.IndexState || msg != p.IndexError {
		t.Fatalf("pending product after MarkRetry: %+v", p)
	}
}

func TestMarkSettled(t *testing.T) {
	var p Product
	p.SetPhotos([]Photo{{URL: "a", State: PhotoPending}, {URL: "b", State: PhotoPending}})
	next := MarkSettled(&p, []PhotoResult{{URL: "a", SHA256: "aa"}, {URL: "b", Err: "timeout"}}, false, 1, "m", d0)
	if next != JobRetry || p.IndexState != StateIndexed || p.Model != "m" || p.IndexedAt == nil || !p.IndexedAt.Equal(d0) {
		t.Fatalf("one indexed, one to retry: %s %+v", next, p)
	}
	next = MarkSettled(&p, []PhotoResult{{URL: "b", Err: "timeout"}}, true, 3, "m", d0.Add(time.Hour))
	if next != JobDone || !p.IndexedAt.Equal(d0) || p.Photos[1].State != PhotoFailed || !p.Photos[1].Transient {
		t.Fatalf("gave up on the second: %s %+v", next, p)
	}
	var q Product
	q.SetPhotos([]Photo{{URL: "a", State: PhotoPending}})
	if next := MarkSettled(&q, []PhotoResult{{URL: "a", Err: "404", Permanent: true}}, false, 1, "m", d0); next != JobDead || q.IndexState != StateFailed || q.IndexError != "404" || q.Model != "" {
		t.Fatalf("failed for good: %s %+v", next, q)
	}
}

func TestJobCurrent(t *testing.T) {
	p := Product{Generation: 2}
	j := Job{Generation: 2}
	if !JobCurrent(p, true, j) {
		t.Fatal("same generation is current")
	}
	if JobCurrent(p, false, j) {
		t.Fatal("a job of a missing product is stale")
	}
	if JobCurrent(Product{Generation: 3}, true, j) {
		t.Fatal("a newer generation makes it stale")
	}
	if JobCurrent(Product{Generation: 2, DeletedAt: &d0}, true, j) {
		t.Fatal("a deleted product makes it stale")
	}
}
