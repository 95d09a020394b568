package app

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/lookalike/lookalike/datadir"
	"github.com/lookalike/lookalike/postgres"
	"github.com/lookalike/lookalike/sqlite"
	"github.com/lookalike/lookalike/store"
)

// openDatabase is the one place that chooses the database engine:
// PostgreSQL at cfg.DatabaseURL, shared by every replica (its schema applied
// under an advisory lock, so replicas may start together), or SQLite in
// the data directory. local says the database is this process's alone
// (SQLite under the data directory's lock), so what a previous process
// left running is void.
func openDatabase(ctx context.Context, cfg Config, log *slog.Logger) (st *store.Store, local bool, err error) {
	if cfg.DatabaseURL == "" {
		path := filepath.Join(cfg.DataDir, datadir.DBFile)
		if st, err = sqlite.Open(ctx, path); err != nil {
			return nil, false, err
		}
		log.Info("database checked", "subsystem", "store", "path", path, "check", "quick_check", "ms", st.CheckTook().Milliseconds())
		return st, true, nil
	}
	d, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{Logger: log})
	if err != nil {
		return nil, false, err
	}
	if st, err = store.Open(ctx, d); err != nil {
		d.Close()
		return nil, false, err
	}
	log.Info("database opened", "subsystem", "store", "engine", "postgres", "server", d.Server())
	return st, false, nil
}
