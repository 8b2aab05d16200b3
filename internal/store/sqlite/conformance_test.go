package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/internal/store/storetest"
)

// TestConformance runs the store conformance suite (shared with the
// PostgreSQL store) on SQLite files, pruning in chunks of 2 rows so that
// Prune takes several transactions.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB, where string) (storetest.Store, string) {
		if where == "" {
			where = filepath.Join(t.TempDir(), "alerts.db")
		}
		s, err := Open(context.Background(), where)
		if err != nil {
			t.Fatal(err)
		}
		s.pruneChunk = 2
		return s, where
	})
}
