package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lookalike/lookalike/blob/s3blob/s3test"
	"github.com/lookalike/lookalike/postgres/pgtest"
)

var (
	fleetEvents   = flag.Int("fleet.events", 2400, "TestFleetStorm: events posted by the senders")
	fleetProducts = flag.Int("fleet.products", 300, "TestFleetStorm: products the events are about")
)

// fleetEvent is one event a sender was acknowledged for.
type fleetEvent struct {
	version   int
	deleted   bool
	title     string
	price     int
	available bool
}

// fleet is 3 `lookalike serve` processes on one database and one bucket.
type fleet struct {
	t     *testing.T
	bin   string
	addrs []string
	envs  []map[string]string
	mu    sync.Mutex
	procs []*proc
}

func (f *fleet) url(i int) string { return "http://" + f.addrs[i] }

func (f *fleet) restart(i int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.procs[i].kill()
	f.procs[i] = startProc(f.t, f.bin, f.addrs[i], f.envs[i])
}

func (f *fleet) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.procs {
		p.kill()
	}
}

func (f *fleet) logs() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	for i, p := range f.procs {
		fmt.Fprintf(&b, "--- replica %d\n%s", i, p.logs.String())
	}
	return b.String()
}

// call sends a request to replica i with the admin token; status 0 when
// the replica did not answer.
func (f *fleet) call(client *http.Client, i int, method, path string, body []byte, out any) int {
	req, _ := http.NewRequest(method, f.url(i)+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAdmin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		json.Unmarshal(raw, out)
	}
	return resp.StatusCode
}

// fleetPhotos are product id's photo URLs at the image server: 1 to 3,
// each at a URL of its own (the bytes are the test photos, so the same
// bytes share one vector), registered with the image server.
func fleetPhotos(images *imageServer, id int) []string {
	classes := []string{"daisy", "dandelion", "roses", "sunflowers", "tulips"}
	var urls []string
	images.mu.Lock()
	defer images.mu.Unlock()
	for k := 0; k <= id%3; k++ {
		path := fmt.Sprintf("/img/p%d/%d.jpg", id, k)
		images.files[path] = images.files["/img/"+classes[(id+k)%len(classes)]+".jpg"]
		urls = append(urls, images.URL+path)
	}
	return urls
}

func fleetBody(id int, urls []string, e fleetEvent) string {
	if e.deleted {
		return fmt.Sprintf(`{"event_type":"product.deleted","shop_id":8,"product_data":{"id":%d,"version":%d}}`, id, e.version)
	}
	gallery, _ := json.Marshal(urls[1:])
	return fmt.Sprintf(`{"event_type":"product.updated","shop_id":8,"product_data":{"id":%d,"version":%d,"title":%q,"price":%d,"isAvailable":%t,"image":%q,"images":%s}}`,
		id, e.version, e.title, e.price, e.available, urls[0], gallery)
}

// TestFleetStorm: PostgreSQL, an S3 bucket (versitygw) and 3 replicas of
// the real binary, each with its own data directory. 8 senders post
// versioned creates, updates and deletes about a few hundred products to
// random replicas, some held back and sent after newer ones, some sent
// again, retrying each (on any replica) until acknowledged; two replicas
// are SIGKILLed and restarted during the storm. Then every replica shows
// every product as its newest acknowledged event says, its index holds
// exactly the live products' photos (and finds each live product), verify
// is clean on each, and no photo was fetched more often than once plus
// once per kill (a killed worker's lease expiring) plus once per
// resurrection after a delete. A prober measures how long a product
// created through one replica takes to be searchable on another.
func TestFleetStorm(t *testing.T) {
	db := pgtest.DB(t)
	vgw := s3test.Start(t)
	vgw.Env(t)
	blobURL := vgw.URL(vgw.Bucket(t), "fleet")
	images := newImageServer(t)
	f := &fleet{t: t, bin: lookalikeBinary(t)}
	for i := 0; i < 3; i++ {
		f.addrs = append(f.addrs, freePort(t))
		f.envs = append(f.envs, map[string]string{
			"LOOKALIKE_DATA_DIR":            t.TempDir(),
			"LOOKALIKE_DATABASE_URL":        db,
			"LOOKALIKE_BLOB_URL":            blobURL,
			"WEBHOOK_SECRET":                testSecret,
			"LOOKALIKE_ADMIN_TOKEN":         testAdmin,
			"LOOKALIKE_FETCH_ALLOW_PRIVATE": "true",
			"LOOKALIKE_JOB_LEASE":           "2s",
			"LOOKALIKE_RETRY_BASE_DELAY":    "50ms",
			"LOOKALIKE_SEARCH_RATE":         "100000",
			"LOOKALIKE_LOG_LEVEL":           "warn",
		})
	}
	// Started at once, as a deployment does on a new database.
	f.procs = make([]*proc, 3)
	var start sync.WaitGroup
	for i := range f.procs {
		start.Add(1)
		go func() { defer start.Done(); f.procs[i] = startProc(t, f.bin, f.addrs[i], f.envs[i]) }()
	}
	start.Wait()
	defer f.stop()

	client := &http.Client{Timeout: 10 * time.Second}
	nProducts, nEvents := *fleetProducts, *fleetEvents
	const senders = 8
	const maxProbes = 1000
	photoURLs := make([][]string, nProducts+1+maxProbes+1)
	for id := 1; id <= nProducts; id++ {
		photoURLs[id] = fleetPhotos(images, id)
	}
	versions := make([]atomic.Int64, nProducts+1)
	// The anchor: a product whose vector the searches below query with
	// (a search by product_id leaves that product out), each with a price
	// filter that only the product looked for passes.
	anchor := len(photoURLs) - 1
	photoURLs[anchor] = fleetPhotos(images, anchor)
	anchorEvent := fleetEvent{version: 1, title: "anchor", price: 1, available: true}
	searchFor := func(i, id int, e fleetEvent) (int, bool) {
		var res struct {
			Results []struct {
				ProductID json.Number `json:"product_id"`
			}
		}
		q, _ := json.Marshal(map[string]any{"product_id": anchor, "shop_id": 8, "price_min": e.price, "price_max": e.price, "available": e.available, "min_band": "any"})
		st := f.call(client, i, "POST", "/api/v1/search", q, &res)
		return st, st == 200 && len(res.Results) == 1 && res.Results[0].ProductID.String() == fmt.Sprint(id)
	}
	var mu sync.Mutex
	acked := make([][]fleetEvent, len(photoURLs)) // every acknowledged event, by product
	var nAcked, retries, repeats, late atomic.Int64

	// send posts body until a replica acknowledges it: a refused
	// connection or a 5xx is tried again, on a random replica.
	send := func(rng *rand.Rand, to int, body, deliveryID string) bool {
		for attempt := 0; attempt < 3000; attempt++ {
			if to < 0 || attempt > 0 {
				to = rng.Intn(3)
			}
			req, _ := http.NewRequest("POST", f.url(to)+"/api/v1/webhooks/product-sync", strings.NewReader(body))
			req.Header.Set("X-Webhook-Secret", testSecret)
			req.Header.Set("webhook-id", deliveryID)
			resp, err := client.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return true
				}
				if resp.StatusCode < 500 {
					t.Errorf("event %s refused: %d", deliveryID, resp.StatusCode)
					return false
				}
			}
			retries.Add(1)
			time.Sleep(time.Duration(5+rng.Intn(20)) * time.Millisecond)
		}
		t.Errorf("event %s never acknowledged", deliveryID)
		return false
	}

	if !send(rand.New(rand.NewSource(0)), 0, fleetBody(anchor, photoURLs[anchor], anchorEvent), "anchor") {
		t.Fatal("the anchor product was refused")
	}
	acked[anchor] = []fleetEvent{anchorEvent}
	for deadline := time.Now().Add(30 * time.Second); ; {
		var p struct{ Index struct{ State string } }
		if f.call(client, 0, "GET", fmt.Sprintf("/api/v1/products/%d?shop_id=8", anchor), nil, &p); p.Index.State == "indexed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the anchor product was not indexed\n%s", f.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}

	type pending struct {
		id   int
		e    fleetEvent
		body string
		did  string
	}
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g) + 1))
			var held *pending
			var sent []pending
			ack := func(p pending) {
				if !send(rng, -1, p.body, p.did) {
					return
				}
				mu.Lock()
				acked[p.id] = append(acked[p.id], p.e)
				mu.Unlock()
				nAcked.Add(1)
				sent = append(sent, p)
			}
			for i := 0; i < nEvents/senders; i++ {
				id := 1 + rng.Intn(nProducts)
				e := fleetEvent{version: int(versions[id].Add(1))}
				if rng.Intn(6) == 0 {
					e.deleted = true
				} else {
					e.title = fmt.Sprintf("s%d e%d", g, i)
					e.price = id*1000 + rng.Intn(1000) // unique to the product: a search filter finds it alone
					e.available = rng.Intn(4) != 0
				}
				p := pending{id, e, fleetBody(id, photoURLs[id], e), fmt.Sprintf("fleet_%d_%d", g, i)}
				switch {
				case held == nil && rng.Intn(5) == 0: // reordered: sent after the next one
					held = &p
					continue
				case len(sent) > 0 && rng.Intn(10) == 0: // redelivered: the same delivery again
					r := sent[rng.Intn(len(sent))]
					if send(rng, -1, r.body, r.did) {
						repeats.Add(1)
					}
				}
				ack(p)
				if held != nil {
					ack(*held)
					held = nil
					late.Add(1)
				}
			}
			if held != nil {
				ack(*held)
			}
		}(g)
	}

	// The prober: a product created through one replica, searched for on
	// the next until it is found there.
	var latencies []time.Duration
	stopProbe := make(chan struct{})
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		rng := rand.New(rand.NewSource(99))
		for k := 0; k < maxProbes; k++ {
			select {
			case <-stopProbe:
				return
			default:
			}
			id := nProducts + 1 + k
			urls := fleetPhotos(images, id)
			e := fleetEvent{version: 1, title: fmt.Sprintf("probe %d", k), price: id * 1000, available: true}
			from, to := k%3, (k+1)%3
			t0 := time.Now()
			if !send(rng, from, fleetBody(id, urls, e), fmt.Sprintf("probe_%d", k)) {
				return
			}
			mu.Lock()
			acked[id], photoURLs[id] = []fleetEvent{e}, urls
			mu.Unlock()
			for found := false; !found; {
				st, ok := searchFor(to, id, e)
				if ok {
					found = true
					latencies = append(latencies, time.Since(t0))
				} else if time.Since(t0) > 60*time.Second {
					t.Errorf("probe %d created through replica %d not searchable on replica %d after a minute: %d", id, from, to, st)
					return
				} else {
					time.Sleep(10 * time.Millisecond)
				}
			}
		}
	}()

	// The killer: two replicas SIGKILLed and restarted, at a third and at
	// two thirds of the storm.
	kills := 0
	for _, at := range []int64{int64(nEvents) / 3, int64(nEvents) * 2 / 3} {
		for nAcked.Load() < at && !t.Failed() {
			time.Sleep(5 * time.Millisecond)
		}
		f.restart(kills % 3)
		kills++
	}
	wg.Wait()
	close(stopProbe)
	<-probeDone
	if t.Failed() {
		t.Fatalf("the storm failed\n%s", f.logs())
	}
	t.Logf("%d events acknowledged (%d sent after a newer one, %d redelivered), %d retried sends, %d kills", nAcked.Load(), late.Load(), repeats.Load(), retries.Load(), kills)

	// What each product must be: its newest acknowledged event.
	mu.Lock()
	defer mu.Unlock()
	final := map[int]fleetEvent{}
	resurrections := map[int]int{}
	livePhotos, liveSearchable := 0, 0
	for id, evs := range acked {
		if len(evs) == 0 {
			continue
		}
		sort.Slice(evs, func(a, b int) bool { return evs[a].version < evs[b].version })
		for k := 1; k < len(evs); k++ {
			if evs[k-1].deleted && !evs[k].deleted {
				resurrections[id]++
			}
		}
		final[id] = evs[len(evs)-1]
		if !evs[len(evs)-1].deleted {
			livePhotos += len(photoURLs[id])
			liveSearchable++
		}
	}

	type stats struct {
		Vectors  int
		Products struct{ Active int }
		Queue    struct{ Pending, Running, Failed int }
		Index    struct{ Vectors int }
	}
	for i := range f.addrs {
		deadline := time.Now().Add(60 * time.Second)
		for {
			var st stats
			f.call(client, i, "GET", "/stats", nil, &st)
			if st.Queue.Pending == 0 && st.Queue.Running == 0 && st.Index.Vectors == livePhotos {
				if st.Vectors != liveSearchable || st.Products.Active != liveSearchable || st.Queue.Failed != 0 {
					t.Errorf("replica %d /stats %+v, want %d searchable products and no failed job", i, st, liveSearchable)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %d did not settle: %+v, want %d photos in its index\n%s", i, st, livePhotos, f.logs())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	for i := range f.addrs {
		bad := 0
		for id, e := range final {
			var got struct {
				Title       string
				Price       float64
				IsAvailable bool   `json:"is_available"`
				ImageURL    string `json:"image_url"`
				Images      []struct{ URL string }
				DeletedAt   *time.Time `json:"deleted_at"`
				Index       struct {
					State         string
					PhotosIndexed int `json:"photos_indexed"`
				}
			}
			status := f.call(client, i, "GET", fmt.Sprintf("/api/v1/products/%d?shop_id=8", id), nil, &got)
			var urls []string
			for _, im := range got.Images {
				urls = append(urls, im.URL)
			}
			switch {
			case e.deleted && status == 200 && got.DeletedAt == nil:
				t.Errorf("replica %d, product %d: the acknowledged delete (version %d) is lost: %+v", i, id, e.version, got)
			case e.deleted:
				continue
			case status != 200 || got.DeletedAt != nil || got.Title != e.title || got.Price != float64(e.price) ||
				got.IsAvailable != e.available || !slices.Equal(urls, photoURLs[id]):
				t.Errorf("replica %d, product %d: %d %+v, want %+v", i, id, status, got, e)
			case got.Index.State != "indexed" || got.Index.PhotosIndexed != len(photoURLs[id]):
				t.Errorf("replica %d, product %d: index %+v, want all %d photos indexed", i, id, got.Index, len(photoURLs[id]))
			default:
				// Its own index finds it (the price filter leaves it alone).
				if st, ok := searchFor(i, id, e); !ok && id != anchor {
					t.Errorf("replica %d does not find live product %d (%+v): %d", i, id, e, st)
				}
				continue
			}
			if bad++; bad > 10 {
				t.Fatalf("replica %d: too many wrong products\n%s", i, f.logs())
			}
		}
		var rep struct{ Problems []any }
		if st := f.call(client, i, "GET", "/api/v1/admin/verify", nil, &rep); st != 200 || len(rep.Problems) != 0 {
			t.Errorf("replica %d verify: %d %v", i, st, rep.Problems)
		}
	}

	// Each photo fetched (and embedded) at most once, plus once per kill
	// (the killed replica's leased jobs run again) and per resurrection.
	images.mu.Lock()
	worst, fetched := 0, 0
	for id, urls := range photoURLs {
		for _, u := range urls {
			n := images.hits[strings.TrimPrefix(u, images.URL)]
			fetched += n
			worst = max(worst, n)
			if n > 1+kills+resurrections[id] {
				t.Errorf("photo %s fetched %d times (%d kills, %d resurrections)", u, n, kills, resurrections[id])
			}
		}
	}
	images.mu.Unlock()
	t.Logf("%d products (%d live, %d photos), %d photo fetches, at most %d of one URL", len(final), liveSearchable, livePhotos, fetched, worst)

	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		p := func(q float64) time.Duration { return latencies[min(n-1, int(q*float64(n)))] }
		t.Logf("change to searchable on another replica (create through one, found by search on the next; fetch and embed included): %d probes, p50 %v, p99 %v, max %v",
			n, p(0.5).Round(time.Millisecond), p(0.99).Round(time.Millisecond), latencies[n-1].Round(time.Millisecond))
	}
	if t.Failed() {
		t.Logf("%s", f.logs())
	}
}
