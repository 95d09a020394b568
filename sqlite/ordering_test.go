package sqlite

import (
	"context"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

func TestDuplicateDeliveryHasNoEffect(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	create := event(t, `{"event_type":"product.created","product_data":{"id":1,"title":"A","image":"https://x/a.jpg"}}`)
	first, err := s.ApplyEvent(ctx, create, ApplyOptions{ShopID: 1, DeliveryID: "msg_1", Now: t0})
	if err != nil || first.Action != catalog.ActionCreated || !first.ReindexTriggered {
		t.Fatalf("first: %+v %v", first, err)
	}
	// Newer events come in between...
	applyAt(ctx, s, event(t, `{"event_type":"product.updated","product_data":{"id":1,"title":"B"}}`), 1, t0.Add(time.Second))
	applyAt(ctx, s, event(t, `{"event_type":"product.deleted","product_data":{"id":1}}`), 1, t0.Add(2*time.Second))
	// ...then the first delivery is repeated: same reply, no effect.
	again, err := s.ApplyEvent(ctx, create, ApplyOptions{ShopID: 1, DeliveryID: "msg_1", Now: t0.Add(3 * time.Second)})
	if err != nil || !again.Duplicate || again.Action != first.Action || again.ReindexTriggered != first.ReindexTriggered || again.Changed != true {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	p, _ := s.Get(ctx, catalog.Key{ShopID: 1, ProductID: "1"})
	if p.DeletedAt == nil || p.Title != "B" {
		t.Fatalf("a duplicate delivery changed the product: %+v", p)
	}
	if n, err := s.PruneDeliveries(ctx, t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
}

func TestOlderEventNeverOverwritesNewer(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	k := catalog.Key{ShopID: 1, ProductID: "1"}
	applyAt(ctx, s, event(t, `{"event_type":"product.updated","product_data":{"id":1,"title":"v5","version":5}}`), 1, t0)
	res, _ := applyAt(ctx, s, event(t, `{"event_type":"product.updated","product_data":{"id":1,"title":"v3","version":3}}`), 1, t0)
	if res.Action != catalog.ActionIgnored || res.Changed {
		t.Fatalf("older event: %+v", res)
	}
	// A delete older than the state is ignored; a newer one applies.
	res, _ = applyAt(ctx, s, event(t, `{"event_type":"product.deleted","product_data":{"id":1,"version":4}}`), 1, t0)
	if res.Action != catalog.ActionIgnored {
		t.Fatalf("older delete: %+v", res)
	}
	applyAt(ctx, s, event(t, `{"event_type":"product.deleted","product_data":{"id":1,"version":6}}`), 1, t0)
	res, _ = applyAt(ctx, s, event(t, `{"event_type":"product.updated","product_data":{"id":1,"title":"v5 again","version":5}}`), 1, t0)
	if res.Action != catalog.ActionIgnored {
		t.Fatalf("update older than the delete resurrected it: %+v", res)
	}
	p, _ := s.Get(ctx, k)
	if p.DeletedAt == nil || p.Title != "v5" {
		t.Fatalf("final: %+v", p)
	}
	// A delete that arrives before the create it follows leaves a tombstone.
	applyAt(ctx, s, event(t, `{"event_type":"product.deleted","product_data":{"id":2,"TIMESTAMP_X":"27.11.2026 10:00:01"}}`), 1, t0)
	res, _ = applyAt(ctx, s, event(t, `{"event_type":"product.created","product_data":{"id":2,"title":"x","TIMESTAMP_X":"27.11.2026 10:00:00"}}`), 1, t0)
	if res.Action != catalog.ActionIgnored {
		t.Fatalf("create older than its delete: %+v", res)
	}
	// Without versions, arrival order wins.
	applyAt(ctx, s, event(t, `{"event_type":"product.updated","product_data":{"id":3,"title":"first"}}`), 1, t0)
	applyAt(ctx, s, event(t, `{"event_type":"product.updated","product_data":{"id":3,"title":"second"}}`), 1, t0)
	if p, _ := s.Get(ctx, catalog.Key{ShopID: 1, ProductID: "3"}); p.Title != "second" {
		t.Fatalf("arrival order: %+v", p)
	}
}

// Randomised out-of-order and duplicate delivery converges to the state of
// each product's newest event.
func TestOutOfOrderDeliveryConverges(t *testing.T) {
	for seed := int64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s, _ := openTest(t)
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
				if _, err := s.ApplyEvent(ctx, event(t, e.body), ApplyOptions{ShopID: 1, DeliveryID: e.id}); err != nil {
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
