package main

import (
	"bytes"
	"context"
	"database/sql"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/lookalike/lookalike/embed/builtin"
	"github.com/lookalike/lookalike/store"
)

// A data directory indexed with an older version of the built-in
// descriptor (builtin-v1) moves to the current one (builtin.Name) by the
// model switch: the old version answers searches meanwhile, the stored
// photos are re-embedded without fetching anything, and every product ends
// on the new version.
func TestBuiltinVersionUpgrade(t *testing.T) {
	const old = "builtin-v1"
	if builtin.Name == old {
		t.Skip("the current version is builtin-v1")
	}
	dir, images, fetched := indexFourAndStop(t)

	// Make the directory what builtin-v1 left.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "lookalike.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	toBuiltinV1(t, db, func(q string) string { return q }, func(sha string) ([]byte, error) {
		return os.ReadFile(filepath.Join(dir, "images", sha[:2], sha))
	}, 4)
	db.Close()

	srv := startServer(t, dir, nil)
	waitForSwitch(t, srv, old)
	if images.total() != fetched {
		t.Fatal("the upgrade downloaded images again instead of using the stored copies")
	}
	for _, id := range []string{"1", "2", "3", "4"} {
		if p := srv.getJSON("/api/v1/products/" + id).body; p["index"].(map[string]any)["model"] != builtin.Name {
			t.Fatalf("product %s not on %s: %v", id, builtin.Name, p)
		}
	}
	if r := srv.searchPhoto(readPhoto(t, "roses"), nil); r.status != 200 || num(r.body["results"].([]any)[0].(map[string]any)["product_id"]) != 2 {
		t.Fatalf("search after the upgrade: %s", r.raw)
	}
}

// toBuiltinV1 makes the catalogue in db what builtin-v1 left: its vectors
// of the stored photos (photo reads them), its name on the products and in
// the settings. rebind adapts the "?" placeholders to the engine; want is
// how many vectors of the current version there are.
func toBuiltinV1(t *testing.T, db *sql.DB, rebind func(string) string, photo func(sha string) ([]byte, error), want int) {
	t.Helper()
	v1, ok := builtin.ByName("builtin-v1")
	if !ok {
		t.Fatal("builtin-v1 cannot be loaded any more")
	}
	rows, err := db.Query(rebind("SELECT image_sha256 FROM embeddings WHERE model = ?"), builtin.Name)
	if err != nil {
		t.Fatal(err)
	}
	var shas []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		shas = append(shas, s)
	}
	rows.Close()
	if len(shas) != want {
		t.Fatalf("%d stored vectors of %s, want %d", len(shas), builtin.Name, want)
	}
	for _, sha := range shas {
		data, err := photo(sha)
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		v, err := v1.EmbedImage(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(rebind("UPDATE embeddings SET model = ?, dim = ?, vector = ? WHERE image_sha256 = ? AND model = ?"),
			v1.Model(), len(v), store.EncodeVector(v), sha, builtin.Name); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"UPDATE products SET model = ? WHERE model = ?",
		"UPDATE settings SET value = ? WHERE key IN ('model', '" + store.SettingServingModel + "') AND value = ?"} {
		if _, err := db.Exec(rebind(q), v1.Model(), builtin.Name); err != nil {
			t.Fatal(err)
		}
	}
}

// A catalogue indexed with a model that cannot be loaded any more (its
// directory is gone): the configured model serves at once, and the
// catalogue is still moved to it from the stored photos (products join its
// index as they are re-embedded), ending with every product on it.
func TestSwitchFromAModelThatCannotLoad(t *testing.T) {
	dir, images, fetched := indexFourAndStop(t)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "lookalike.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"UPDATE embeddings SET model = 'gone-model'", "UPDATE products SET model = 'gone-model' WHERE model != ''",
		"UPDATE settings SET value = 'gone-model' WHERE key IN ('model', 'serving_model')",
		"INSERT INTO settings (key, value) VALUES ('model_dir', '/nonexistent/model') ON CONFLICT (key) DO UPDATE SET value = excluded.value"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	srv := startServer(t, dir, nil)
	defer srv.stop()
	srv.waitFor("the switch", func() bool {
		st := srv.stats()
		return st["model"] == builtin.Name && st["migration"] == nil && num(st["vectors"]) == 4
	})
	if images.total() != fetched {
		t.Fatal("the switch downloaded images again instead of using the stored copies")
	}
	searchable := srv.searchPhoto(readPhoto(t, "roses"), nil)
	if searchable.status != 200 || num(searchable.body["results"].([]any)[0].(map[string]any)["product_id"]) != 2 {
		t.Fatalf("search after the switch: %s", searchable.raw)
	}
}
