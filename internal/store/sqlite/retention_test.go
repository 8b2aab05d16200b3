package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/store"
)

// TestRetention applies store.Retention to a real database: age and size
// limits, counters and the log line.
func TestRetention(t *testing.T) {
	now := t0.Add(100 * 24 * time.Hour)
	for _, tc := range []struct {
		name    string
		cfg     store.RetentionConfig
		deleted int
		left    int64
	}{
		{"defaults: 30 days and 1,000,000 alerts", store.RetentionConfig{MaxAge: store.DefaultRetentionAge, MaxAlerts: store.DefaultRetentionMaxAlerts}, 70, 30},
		{"by age only", store.RetentionConfig{MaxAge: 10 * 24 * time.Hour}, 90, 10},
		{"by size only", store.RetentionConfig{MaxAlerts: 25}, 75, 25},
		{"both: the stricter wins", store.RetentionConfig{MaxAge: 30 * 24 * time.Hour, MaxAlerts: 5}, 95, 5},
		{"no limit", store.RetentionConfig{}, 0, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTemp(t)
			ctx := context.Background()
			// One alert a day, from 99 days ago to today.
			batch := make([]*alert.Alert, 100)
			for i := range batch {
				batch[i] = &alert.Alert{Time: now.Add(-time.Duration(99-i) * 24 * time.Hour), Rule: "R", Priority: "Warning",
					Source: "syscall", Output: fmt.Sprint("day ", i), Hostname: "h"}
			}
			require.NoError(t, s.Insert(ctx, batch))
			var logs bytes.Buffer
			cfg := tc.cfg
			cfg.Now = func() time.Time { return now.Add(time.Minute) }
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			r, err := store.NewRetention(s, cfg)
			require.NoError(t, err)
			n, err := r.PruneOnce(ctx)
			require.NoError(t, err)
			require.Equal(t, tc.deleted, n)
			left, err := s.Count(ctx)
			require.NoError(t, err)
			require.Equal(t, tc.left, left)
			if tc.deleted > 0 {
				require.Contains(t, logs.String(), fmt.Sprintf("msg=\"pruned alerts\" component=store deleted=%d ", tc.deleted))
				require.Equal(t, store.RetentionStats{Runs: 1, Deleted: uint64(tc.deleted)}, r.Stats())
			}
			// Again: nothing more to delete.
			n, err = r.PruneOnce(ctx)
			require.NoError(t, err)
			require.Zero(t, n)
		})
	}
}

// TestRetentionRunAndErrors: Run prunes at start and on its interval; a
// failing store is logged and counted, and Run keeps going.
func TestRetentionRunAndErrors(t *testing.T) {
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	old := &alert.Alert{Time: t0, Rule: "R", Priority: "Warning", Source: "syscall", Output: "old", Hostname: "h"}
	require.NoError(t, s.Insert(ctx, []*alert.Alert{old}))
	var logs lockedBuf
	r, err := store.NewRetention(s, store.RetentionConfig{MaxAge: time.Hour, Every: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	require.Eventually(t, func() bool { return r.Stats().Deleted == 1 }, 5*time.Second, 5*time.Millisecond, "pruned at start")
	require.NoError(t, s.Close()) // every later prune fails
	require.Eventually(t, func() bool { return r.Stats().Errors >= 2 }, 5*time.Second, 5*time.Millisecond, "errors counted, Run goes on")
	cancel()
	<-done
	require.Contains(t, logs.String(), `level=ERROR msg="prune alerts" component=store deleted=0`)

	_, err = store.NewRetention(s, store.RetentionConfig{MaxAge: -time.Hour})
	require.ErrorContains(t, err, "retention: negative age -1h0m0s")
	_, err = store.NewRetention(s, store.RetentionConfig{MaxAlerts: -1})
	require.ErrorContains(t, err, "retention: negative max alerts -1")
}

// lockedBuf is a bytes.Buffer safe for a logging goroutine and the test.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
