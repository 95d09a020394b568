package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lookalike/lookalike/blob/s3blob/s3test"
	"github.com/lookalike/lookalike/postgres/pgtest"
)

// What two replicas on PostgreSQL and S3 tell about the fleet: /stats on
// either lists both (and only the live ones: a replica that stops leaves
// the list), counts the catalogue from the database, and labels its own
// facts (id, index, change feed position); the dashboard's activity on one
// sums the webhooks and searches both served; /readyz checks the database
// and the bucket, and says which failed.
func TestFleetStatsActivityAndReadiness(t *testing.T) {
	vgw := s3test.Start(t)
	vgw.Env(t)
	images := newImageServer(t)
	bucket := vgw.Bucket(t)
	env := map[string]string{"LOOKALIKE_DATABASE_URL": pgtest.DB(t), "LOOKALIKE_BLOB_URL": vgw.URL(bucket, "shop")}
	a, b := startServer(t, t.TempDir(), env), startServer(t, t.TempDir(), env)
	defer a.stop()
	defer b.stop()
	feedClasses(t, a, images) // three webhooks to A
	for range 2 {
		if r := b.searchPhoto(readPhoto(t, "roses"), map[string]string{"shop_id": "8"}); r.status != 200 {
			t.Fatalf("search: %d %s", r.status, r.raw)
		}
	}
	ids := func(s *server) []string {
		var out []string
		for _, r := range s.stats()["replicas"].([]any) {
			out = append(out, r.(map[string]any)["id"].(string))
		}
		slices.Sort(out)
		return out
	}
	self := func(s *server) map[string]any { return s.stats()["replica"].(map[string]any) }
	both := []string{self(a)["id"].(string), self(b)["id"].(string)}
	slices.Sort(both)
	if both[0] == both[1] {
		t.Fatalf("two replicas, one id: %v", both)
	}
	for _, s := range []*server{a, b} {
		if got := ids(s); !slices.Equal(got, both) {
			t.Fatalf("replicas listed: %v, want %v", got, both)
		}
		// The fleet's counts from the database, the same on both.
		s.waitFor("the index to apply every change", func() bool {
			me := self(s)
			feed := me["feed"].(map[string]any)
			return num(s.stats()["vectors"]) == 3 && num(me["index"].(map[string]any)["vectors"]) == 3 && num(feed["behind"]) == 0 && num(feed["position"]) > 0
		})
		if me := self(s); me["addr"] != strings.TrimPrefix(s.url, "http://") || me["model"] == "" {
			t.Fatalf("replica facts: %v", me)
		}
	}
	// B's dashboard: A's three webhooks (from A's heartbeat), its own two searches.
	b.waitFor("the fleet's activity", func() bool {
		ov := b.getJSON("/api/v1/admin/overview").body
		return num(ov["webhooks"].(map[string]any)["count"]) == 3 && num(ov["searches"].(map[string]any)["count"]) == 2
	})
	if ov := a.getJSON("/api/v1/admin/overview").body; num(ov["webhooks"].(map[string]any)["count"]) != 3 {
		t.Fatalf("A's dashboard: %v", ov["webhooks"])
	}

	r := a.getJSON("/readyz")
	if checks, _ := r.body["checks"].(map[string]any); r.status != 200 || checks["database"] != "ok" || checks["images"] != "ok" || checks["index"] != "ok" {
		t.Fatalf("readyz: %d %s", r.status, r.raw)
	}
	// The bucket gone from the S3 server: /readyz says the image store failed.
	moved := filepath.Join(vgw.Dir, bucket+"-aside")
	if err := os.Rename(filepath.Join(vgw.Dir, bucket), moved); err != nil {
		t.Fatal(err)
	}
	r = a.getJSON("/readyz")
	if checks, _ := r.body["checks"].(map[string]any); r.status != 503 || checks["database"] != "ok" || checks["images"] == "ok" || !strings.Contains(r.body["error"].(string), "images: ") {
		t.Fatalf("readyz without the bucket: %d %s", r.status, r.raw)
	}
	if err := os.Rename(moved, filepath.Join(vgw.Dir, bucket)); err != nil {
		t.Fatal(err)
	}
	if r := a.getJSON("/readyz"); r.status != 200 {
		t.Fatalf("readyz with the bucket back: %d %s", r.status, r.raw)
	}

	b.stop()
	if got := ids(a); len(got) != 1 || got[0] != self(a)["id"] {
		t.Fatalf("after B stopped, replicas listed: %v", got)
	}
}
