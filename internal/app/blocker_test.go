package app

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/respond"
	"github.com/vigilsec/vigil/internal/respond/target"
)

// TestWatchBlockList blocks a file with `vigil respond block-exec`'s
// Responder while vigil run's watcher is running: the watcher starts the
// fanotify blocker, the exec fails with EPERM, and an alert is raised.
func TestWatchBlockList(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the exec blocker needs root (fanotify permission events)")
	}
	dataDir := t.TempDir()
	bin := filepath.Join(t.TempDir(), "blocked-true")
	src, err := os.ReadFile("/bin/true")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, src, 0o755))
	require.NoError(t, exec.Command(bin).Run(), "runs before it is blocked")

	got := make(chan *alert.Alert, 4)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchBlockList(ctx, dataDir, "h", func(a *alert.Alert) { got <- a }, slog.New(slog.DiscardHandler))
	}()
	defer func() { cancel(); <-done }()

	r := respond.New(respond.Config{DataDir: dataDir, Target: target.Config{Sockets: []container.Socket{}}})
	_, err = r.BlockExec(t.Context(), bin)
	require.NoError(t, err)

	deadline := time.Now().Add(15 * time.Second)
	var runErr error
	for time.Now().Before(deadline) {
		if runErr = exec.Command(bin).Run(); runErr != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.Error(t, runErr, "the blocked file still runs after 15 s")
	require.True(t, errors.Is(runErr, syscall.EPERM) || errors.Is(runErr, os.ErrPermission), "want EPERM, got %v", runErr)
	require.NoError(t, exec.Command("/bin/true").Run(), "other programs still run")
	select {
	case a := <-got:
		require.Equal(t, BlockRule, a.Rule)
		require.Equal(t, bin, a.OutputFields["proc.exepath"])
	case <-time.After(5 * time.Second):
		t.Fatal("no alert for the blocked execution")
	}
}
