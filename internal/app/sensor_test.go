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

// TestSyscallAlertProvenance raises an alert from a real process chain and
// checks the provenance recorded at alert time: the process and its
// ancestors, parent first, with pids and executables.
func TestSyscallAlertProvenance(t *testing.T) {
	if err := sensorPreflight(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	secret := filepath.Join(dir, "provenance-secret")
	require.NoError(t, os.WriteFile(secret, []byte("x"), 0o600))
	rulesFile := filepath.Join(dir, "r.yaml")
	require.NoError(t, os.WriteFile(rulesFile, []byte(`
- rule: Secret read
  desc: the test's secret file is opened
  condition: evt.type in (open, openat) and fd.name endswith /provenance-secret
  output: "%proc.name read %fd.name"
  priority: WARNING
`), 0o600))
	rs, diags, err := LoadRules([]string{rulesFile})
	require.NoError(t, err)
	require.False(t, diags.HasErrors(), "%v", diags)

	got := make(chan *alert.Alert, 16)
	det := NewDetector(rs, "h")
	src, err := startSyscallSource(t.Context(), SensorOptions{Mode: SensorOn}, rs, det, "h",
		func(a *alert.Alert) { got <- a }, sourceHooks{}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer src.stop()

	// test → sh (outer) → sh (inner) → cat
	cmd := exec.Command("/bin/sh", "-c", "/bin/sh -c 'cat "+secret+" >/dev/null; true'; true")
	require.NoError(t, cmd.Run())
	outer := int64(cmd.Process.Pid)

	var a *alert.Alert
	select {
	case a = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no alert for the secret read within 5s")
	}
	require.Equal(t, "Secret read", a.Rule)
	require.NotNil(t, a.Context)
	require.NotNil(t, a.Context.Provenance)
	p := a.Context.Provenance
	require.Equal(t, "cat", filepath.Base(p.Process.Exe))
	require.Contains(t, p.Process.Cmdline, "cat "+secret)
	require.GreaterOrEqual(t, len(p.Ancestors), 3, "inner sh, outer sh, the test: %+v", p.Ancestors)
	inner, outerSh, test := p.Ancestors[0], p.Ancestors[1], p.Ancestors[2]
	require.Equal(t, p.Process.PPID, inner.PID)
	sh, err := filepath.EvalSymlinks("/bin/sh")
	require.NoError(t, err)
	require.Equal(t, sh, inner.Exe, "the executable's real path")
	require.Equal(t, outer, outerSh.PID)
	require.Equal(t, outer, inner.PPID)
	require.Equal(t, int64(os.Getpid()), test.PID)
	require.Equal(t, int64(os.Getpid()), outerSh.PPID)
	require.Equal(t, "root", p.Process.User)
	require.False(t, p.Process.StartTime.IsZero())
}
