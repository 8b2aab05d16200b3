package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/store"
)

// The batching sink writes every alert to the real database: full batches at
// once, the rest on the timer or at Close.
func TestSinkBatches(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vigil.db")
	db, err := Open(ctx, path)
	require.NoError(t, err)
	defer db.Close()

	sink := store.NewSink(db, 10, 50*time.Millisecond)
	mk := func(i int) *alert.Alert {
		return &alert.Alert{Time: time.Unix(1_700_000_000, int64(i)).UTC(), Rule: "R", Priority: "Warning",
			Source: "k8s_audit", Output: "o", OutputFields: map[string]any{"ka.target.namespace": "ns"}, Hostname: "h"}
	}
	for i := range 25 {
		require.NoError(t, sink.Send(ctx, mk(i)))
	}
	n, err := db.Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 20, n, "two full batches inserted at once")
	require.Eventually(t, func() bool {
		n, err := db.Count(ctx)
		return err == nil && n == 25
	}, 2*time.Second, 10*time.Millisecond, "the timer flushes the partial batch")

	require.NoError(t, sink.Send(ctx, mk(99)))
	require.NoError(t, sink.Close())
	n, err = db.Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 26, n, "Close flushes")
	require.ErrorIs(t, sink.Send(ctx, mk(100)), alert.ErrClosed)
}
