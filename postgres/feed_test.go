package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/lookalike/lookalike/catalog"
	"github.com/lookalike/lookalike/postgres/pgtest"
	"github.com/lookalike/lookalike/store"
)

// The store's change feed on PostgreSQL, where a change may commit after
// one with a higher seq: a reader that starts at LastChange, or tails with
// Changes, still gets it.
func TestFeedLateCommitNotSkipped(t *testing.T) {
	ctx := context.Background()
	d := openURL(t, pgtest.DB(t))
	s, err := store.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	// A transaction that records its change first, and commits last.
	wrote, commit, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- d.Write(ctx, func(tx store.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO changes (shop_id, product_id, at) VALUES (1, 'late', 0)"); err != nil {
				return err
			}
			close(wrote)
			<-commit
			return nil
		}, nil)
	}()
	<-wrote
	ev, _ := catalog.ParseEvent([]byte(`{"event_type":"product.updated","product_data":{"id":"early","title":"x"}}`))
	if _, err := s.ApplyEvent(ctx, ev, catalog.ApplyOptions{ShopID: 1, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	from, err := s.LastChange(ctx) // where a replica starting now tails from
	if err != nil {
		t.Fatal(err)
	}
	tailed, next, err := s.Changes(ctx, 0, 100) // a replica tailing the feed
	if err != nil {
		t.Fatal(err)
	}
	if len(tailed) != 0 {
		t.Fatalf("handed out %v while an older transaction runs", tailed)
	}
	close(commit)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ids := func(after int64) []catalog.ProductID {
		cs, _, err := s.Changes(ctx, after, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []catalog.ProductID
		for _, c := range cs {
			out = append(out, c.Key.ProductID)
		}
		return out
	}
	if got := ids(next); len(got) != 2 || got[0] != "late" || got[1] != "early" {
		t.Fatalf("the tailing reader got %v, want [late early]", got)
	}
	if got := ids(from); len(got) == 0 || got[0] != "late" {
		t.Fatalf("a reader starting at LastChange got %v: the late change was skipped", got)
	}
}

// A change made through one store wakes another process's store by
// notification (the poll tick is an hour here), after the commit.
func TestChangeWakesOtherStore(t *testing.T) {
	ctx := context.Background()
	url := pgtest.DB(t)
	var ss []*store.Store
	for range 2 {
		s, err := store.Open(ctx, openURL(t, url))
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	time.Sleep(50 * time.Millisecond) // let the wake-up after LISTEN pass through
	drain(ss[1].ChangesAvailable())
	ev, _ := catalog.ParseEvent([]byte(`{"event_type":"product.updated","product_data":{"id":5,"title":"x"}}`))
	if _, err := ss[0].ApplyEvent(ctx, ev, catalog.ApplyOptions{ShopID: 1, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	waitWake(t, ss[1].ChangesAvailable(), "in the other store after a webhook")
	cs, _, err := ss[1].Changes(ctx, 0, 10)
	if err != nil || len(cs) != 1 || cs[0].Key.ProductID != "5" {
		t.Fatalf("changes %v %v", cs, err)
	}
}
