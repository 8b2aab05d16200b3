package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/vigilsec/vigil/internal/server"
	"github.com/vigilsec/vigil/internal/store"
	"github.com/vigilsec/vigil/internal/store/postgres"
	"github.com/vigilsec/vigil/internal/store/sqlite"
)

// alertStore is what run needs of the alert store: the API's queries,
// accounts and pruning. store/sqlite and store/postgres implement it.
type alertStore interface {
	server.APIStore
	store.Accounts
}

var (
	_ alertStore = (*sqlite.Store)(nil)
	_ alertStore = (*postgres.Store)(nil)
)

// openStore opens the alert store: the PostgreSQL database named by dsn
// (a postgres:// URL), or else the SQLite file vigil.db in dataDir, which
// it creates. The DSN is logged without its password.
func openStore(ctx context.Context, dsn, dataDir string, log *slog.Logger) (alertStore, error) {
	if dsn != "" {
		if !postgres.IsDSN(dsn) {
			return nil, fmt.Errorf("--store %s: want a postgres:// or postgresql:// URL", postgres.Redact(dsn))
		}
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, err
		}
		log.Info("alert store", "component", "store", "backend", "postgres", "dsn", postgres.Redact(dsn))
		return db, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", dataDir, err)
	}
	path := filepath.Join(dataDir, "vigil.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	log.Info("alert store", "component", "store", "backend", "sqlite", "path", path)
	return db, nil
}
