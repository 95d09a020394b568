package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
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

// BenchmarkQuickCheck times the PRAGMA quick_check run at every start, on
// a database of LOOKALIKE_BENCH_DB_MB megabytes (default 32) of realistic
// rows: products with extra fields and one 512-float vector each. The
// README's figure for 1 GB:
//
//	LOOKALIKE_BENCH_DB_MB=1024 go test -run '^$' -bench QuickCheck -benchtime 3x ./sqlite/
func BenchmarkQuickCheck(b *testing.B) {
	mb := 32
	if v := os.Getenv("LOOKALIKE_BENCH_DB_MB"); v != "" {
		fmt.Sscan(v, &mb)
	}
	path := b.TempDir() + "/big.db"
	s, err := Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	vec := make([]byte, 512*4)
	rand.New(rand.NewSource(1)).Read(vec)
	now := time.Now().UnixMicro()
	for id := 1; ; {
		var size int64
		drv(s).w.QueryRow("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()").Scan(&size)
		if size >= int64(mb)<<20 {
			break
		}
		tx, err := drv(s).w.Begin()
		if err != nil {
			b.Fatal(err)
		}
		for end := id + 5000; id < end; id++ {
			sha := fmt.Sprintf("%064x", id)
			binary.LittleEndian.PutUint32(vec, uint32(id))
			if _, err := tx.Exec(`INSERT INTO products (shop_id, product_id, title, price_minor, currency, price_raw, image_url, extra,
				created_at, updated_at, index_state, indexed_at, image_sha256, model, generation)
				VALUES (1, ?, ?, ?, 'KZT', ?, ?, ?, ?, ?, 'indexed', ?, ?, 'clip-vit-b32', 1)`,
				id, fmt.Sprintf("Букет из 25 роз «Нежность» №%d", id), 250000+id, "2 500 ₸",
				fmt.Sprintf("https://cvety.kz/upload/iblock/%03d/%d.jpg", id%1000, id),
				fmt.Sprintf(`{"url":"https://cvety.kz/catalog/%d/","categoryId":"%d","description":"Свежие розы, упаковка, открытка"}`, id, id%40),
				now, now, now, sha); err != nil {
				b.Fatal(err)
			}
			if _, err := tx.Exec("INSERT INTO embeddings (image_sha256, model, dim, vector, created_at) VALUES (?, 'clip-vit-b32', 512, ?, ?)", sha, vec, now); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	st, _ := os.Stat(path)
	b.ResetTimer()
	for range b.N {
		db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := QuickCheck(context.Background(), db); err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
	b.ReportMetric(float64(st.Size())/(1<<20), "MiB")
}
