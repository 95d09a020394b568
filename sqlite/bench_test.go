package sqlite

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lookalike/lookalike/catalog"
)

// BenchmarkApplyEvent measures durable webhook writes (one transaction,
// synchronous=FULL, per event) from concurrent senders.
func BenchmarkApplyEvent(b *testing.B) {
	s, err := Open(context.Background(), b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			ev, err := catalog.ParseEvent([]byte(fmt.Sprintf(`{"event_type":"product.updated","product_data":{"id":%d,"title":"Букет %d","price":"2 500 ₸","image":"https://x/%d.jpg"}}`, i%5000+1, i, i)))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := applyAt(ctx, s, ev, 1, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
