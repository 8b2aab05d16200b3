package app

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
)

// TestSyscallSourceDropAlert starves a tiny ring buffer and expects the
// drop alert: lost events are reported, never silent.
func TestSyscallSourceDropAlert(t *testing.T) {
	if err := sensorPreflight(); err != nil {
		t.Skip(err)
	}
	rulesFile := filepath.Join(t.TempDir(), "r.yaml")
	require.NoError(t, os.WriteFile(rulesFile, []byte(`
- rule: Any open
  desc: every openat
  condition: evt.type = openat and proc.name = never-matches
  output: "%proc.name"
  priority: NOTICE
`), 0o600))
	rs, diags, err := LoadRules([]string{rulesFile})
	require.NoError(t, err)
	require.False(t, diags.HasErrors(), "%v", diags)

	var mu sync.Mutex
	var got []*alert.Alert
	send := func(a *alert.Alert) {
		mu.Lock()
		got = append(got, a)
		mu.Unlock()
	}
	log := slog.New(slog.DiscardHandler)
	det := NewDetector(rs, "h")
	// 16 KiB: an exec record alone is ~15 KiB, so a burst of execs and
	// opens overflows it before the reader can drain it.
	src, err := startSyscallSource(t.Context(), SensorOptions{Mode: SensorOn, RingBufferBytes: 16 << 10, DropAlertInterval: time.Millisecond}, rs, det, "h", send, sourceHooks{}, log)
	require.NoError(t, err)
	require.NotNil(t, src)
	defer src.stop()

	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		require.NoError(t, exec.Command("/bin/sh", "-c", "for i in 1 2 3 4 5 6 7 8; do /bin/true & done; wait").Run())
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, got, "no drop alert while starving a 16 KiB ring")
	a := got[0]
	require.Equal(t, DropRule, a.Rule)
	require.Equal(t, "Critical", a.Priority)
	require.Greater(t, a.OutputFields["n_drops"].(uint64), uint64(0))
	require.Contains(t, a.Output, "system call events dropped")
}
