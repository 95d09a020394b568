package postgres

import (
	"context"
	"testing"

	"github.com/lookalike/lookalike/postgres/pgtest"
	"github.com/lookalike/lookalike/store"
	"github.com/lookalike/lookalike/store/storetest"
)

// The store's conformance suite on PostgreSQL, with a second driver on one
// database standing for a restart or a second replica.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Driver {
		d, err := Open(context.Background(), pgtest.DB(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}, func(t *testing.T, d store.Driver) store.Driver {
		d2, err := Open(context.Background(), d.(*Driver).URL(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return d2
	})
}
