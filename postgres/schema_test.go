package postgres

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the reference schema is SQLite's
)

// column is what both engines must agree on.
type column struct {
	Type    string // the SQLite type's PostgreSQL equivalent
	NotNull bool
	PK      bool
}

// sqliteSchema applies sqlite/migrations to a new database and describes
// its tables.
func sqliteSchema(t *testing.T) map[string]map[string]column {
	t.Helper()
	files, err := filepath.Glob("../sqlite/migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no SQLite migrations: %v", err)
	}
	sort.Strings(files)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "ref.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	types := map[string]string{"INTEGER": "bigint", "TEXT": "text", "REAL": "double precision", "BLOB": "bytea"}
	tables := map[string]map[string]column{}
	rows, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	rows.Close()
	for _, name := range names {
		cols := map[string]column{}
		rows, err := db.Query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)", name)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c, typ string
			var notNull, pk int
			rows.Scan(&c, &typ, &notNull, &pk)
			pgType, ok := types[strings.ToUpper(typ)]
			if !ok {
				t.Fatalf("%s.%s: SQLite type %q has no mapping", name, c, typ)
			}
			cols[c] = column{Type: pgType, NotNull: notNull == 1 || pk > 0, PK: pk > 0}
		}
		rows.Close()
		tables[name] = cols
	}
	return tables
}

// The PostgreSQL schema has the tables and columns of SQLite's after all
// of its migrations, with the equivalent types, the same NOT NULLs and the
// same primary keys, so that one SQL text runs on both.
func TestSchemaMatchesSQLite(t *testing.T) {
	want := sqliteSchema(t)
	d := open(t)
	rows, err := d.Read().QueryContext(context.Background(), `SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'NO',
		EXISTS (SELECT 1 FROM information_schema.table_constraints tc
			JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name AND k.table_name = tc.table_name
			WHERE tc.table_name = c.table_name AND tc.constraint_type = 'PRIMARY KEY' AND k.column_name = c.column_name)
		FROM information_schema.columns c WHERE c.table_schema = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]column{}
	for rows.Next() {
		var table, name, typ string
		var c column
		if err := rows.Scan(&table, &name, &typ, &c.NotNull, &c.PK); err != nil {
			t.Fatal(err)
		}
		if got[table] == nil {
			got[table] = map[string]column{}
		}
		c.Type = typ
		got[table][name] = c
	}
	rows.Close()
	// PostgreSQL's own additions: the writing transaction of a change.
	pgOnly := map[string]bool{"changes.xid": true}
	delete(got, "schema_migrations") // made by the store, not a migration
	for table, cols := range want {
		if got[table] == nil {
			t.Errorf("table %s missing", table)
			continue
		}
		for name, c := range cols {
			if g, ok := got[table][name]; !ok {
				t.Errorf("%s.%s missing", table, name)
			} else if g != c {
				t.Errorf("%s.%s: %+v, SQLite %+v", table, name, g, c)
			}
		}
	}
	for table, cols := range got {
		if want[table] == nil {
			if table == "changes" {
				t.Logf("SQLite has no changes table yet")
				continue
			}
			t.Errorf("table %s is not in SQLite's schema", table)
			continue
		}
		for name := range cols {
			if _, ok := want[table][name]; !ok && !pgOnly[table+"."+name] {
				t.Errorf("%s.%s is not in SQLite's schema", table, name)
			}
		}
	}
}
