package app

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/store"
	"github.com/vigilsec/vigil/internal/sysevent"
)

// execEvent is an event of type typ by process p at t, with result res.
func execEvent(t *testing.T, typ string, p *sysevent.Process, at time.Time, res int64) *sysevent.Event {
	t.Helper()
	var src sysevent.Source
	code, ok := src.TypeCode(typ)
	require.True(t, ok, "event type %s", typ)
	return &sysevent.Event{Code: code, Dir: '<', Res: res, Time: at.UnixNano(), Thread: &sysevent.Thread{TID: p.PID, Proc: p}}
}

// TestChildWatch: the execs of children of a process that raised an alert
// are recorded while the watch lasts; everything else is not.
func TestChildWatch(t *testing.T) {
	t0 := time.Now()
	parent := &sysevent.Process{PID: 100, PPID: 1, Exe: "sh", ExePath: "/bin/sh", StartTime: t0.Add(-time.Second).UnixNano()}
	child := func(pid int64, start time.Time) *sysevent.Process {
		return &sysevent.Process{PID: pid, PPID: parent.PID, Exe: "curl", ExePath: "/usr/bin/curl", Args: []string{"-s", "http://x/"},
			StartTime: start.UnixNano(), UID: 0, User: &sysevent.User{UID: 0, Name: "root"}}
	}
	tests := []struct {
		name string
		ev   *sysevent.Event
		want bool
	}{
		{"execve of a child", execEvent(t, "execve", child(101, t0), t0.Add(time.Second), 0), true},
		{"execveat of a child", execEvent(t, "execveat", child(102, t0), t0.Add(time.Second), 0), true},
		{"failed execve of a child", execEvent(t, "execve", child(103, t0), t0.Add(time.Second), -2), false},
		{"other event of a child", execEvent(t, "openat", child(104, t0), t0.Add(time.Second), 3), false},
		{"execve of a grandchild", execEvent(t, "execve", &sysevent.Process{PID: 105, PPID: 101, StartTime: t0.UnixNano()}, t0.Add(time.Second), 0), false},
		{"execve of an unrelated process", execEvent(t, "execve", &sysevent.Process{PID: 106, PPID: 1, StartTime: t0.UnixNano()}, t0.Add(time.Second), 0), false},
		// Its parent pid names an older process: the watched one's pid
		// was reused.
		{"execve of a process older than the watched one", execEvent(t, "execve", child(107, t0.Add(-time.Hour)), t0.Add(time.Second), 0), false},
		{"no thread", &sysevent.Event{Code: execEvent(t, "execve", parent, t0, 0).Code}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []store.ExecRecord
			w := newChildWatch("node-1", func(r store.ExecRecord) { got = append(got, r) })
			w.observe(tt.ev) // before the alert: nothing is watched
			require.Empty(t, got)
			w.watch(execEvent(t, "execve", parent, t0, 0), t0)
			w.observe(tt.ev)
			if !tt.want {
				require.Empty(t, got)
				return
			}
			p := tt.ev.Thread.Proc
			require.Equal(t, []store.ExecRecord{{Host: "node-1", Proc: alert.Proc{PID: p.PID, PPID: parent.PID, Exe: "/usr/bin/curl",
				Cmdline: "curl -s http://x/", User: "root", StartTime: time.Unix(0, p.StartTime).UTC()}}}, got)
		})
	}

	t.Run("watch ends after its TTL", func(t *testing.T) {
		var got []store.ExecRecord
		w := newChildWatch("h", func(r store.ExecRecord) { got = append(got, r) })
		w.watch(execEvent(t, "execve", parent, t0, 0), t0)
		w.observe(execEvent(t, "execve", child(110, t0), t0.Add(watchTTL-time.Second), 0))
		require.Len(t, got, 1)
		w.observe(execEvent(t, "execve", child(111, t0), t0.Add(watchTTL+time.Second), 0))
		require.Len(t, got, 1, "an exec after the TTL is not recorded")
		require.Empty(t, w.watched, "the expired watch is dropped")
		require.Empty(t, w.until)
	})

	t.Run("no recorder", func(t *testing.T) {
		w := newChildWatch("h", nil)
		w.watch(execEvent(t, "execve", parent, t0, 0), t0)
		require.Empty(t, w.watched)
		w.observe(execEvent(t, "execve", child(112, t0), t0, 0)) // must not panic
	})
}

// TestChildWatchBounds: however many processes raise alerts, at most
// maxWatched are watched; expired watches go first, then an arbitrary half.
func TestChildWatchBounds(t *testing.T) {
	now := time.Now()
	w := newChildWatch("h", func(store.ExecRecord) {})
	proc := func(pid int64) *sysevent.Event {
		return execEvent(t, "execve", &sysevent.Process{PID: pid, StartTime: now.UnixNano()}, now, 0)
	}
	// Half of the watches started long ago and have expired.
	for pid := range int64(maxWatched / 2) {
		w.watch(proc(pid+1), now.Add(-2*watchTTL))
	}
	for pid := range int64(maxWatched / 2) {
		w.watch(proc(maxWatched+pid+1), now)
	}
	require.Len(t, w.watched, maxWatched)
	w.watch(proc(5000), now)
	require.Len(t, w.watched, maxWatched/2+1, "the expired half is dropped, the new one added")
	for pid := range int64(maxWatched / 2) {
		require.Contains(t, w.watched, maxWatched+pid+1, "live watches kept while expired ones make room")
	}

	// None expired: an arbitrary half is dropped to make room.
	for pid := int64(10000); len(w.watched) < maxWatched; pid++ {
		w.watch(proc(pid), now)
	}
	w.watch(proc(20000), now)
	require.Len(t, w.watched, maxWatched/2+1)
	require.Contains(t, w.watched, int64(20000))
	require.Len(t, w.until, len(w.watched), "watched and until stay in step")

	for pid := int64(30000); pid < 30000+10*maxWatched; pid++ {
		w.watch(proc(pid), now)
		require.LessOrEqual(t, len(w.watched), maxWatched)
	}
}

// TestChildWatchSensor raises an alert from a real process and checks that
// the programs its children then execute are recorded, through the real
// eBPF sensor.
func TestChildWatchSensor(t *testing.T) {
	if err := sensorPreflight(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	// A shell under a name of its own, so that only it raises the alert.
	sh, err := filepath.EvalSymlinks("/bin/sh")
	require.NoError(t, err)
	data, err := os.ReadFile(sh)
	require.NoError(t, err)
	parentExe := filepath.Join(dir, "vigilkidtest")
	require.NoError(t, os.WriteFile(parentExe, data, 0o755))
	rulesFile := filepath.Join(dir, "r.yaml")
	require.NoError(t, os.WriteFile(rulesFile, []byte(`
- rule: Kid test parent
  desc: the test's shell starts
  condition: evt.type in (execve, execveat) and evt.dir = < and proc.name = vigilkidtest
  output: "%proc.name started"
  priority: WARNING
`), 0o600))
	rs, diags, err := LoadRules([]string{rulesFile})
	require.NoError(t, err)
	require.False(t, diags.HasErrors(), "%v", diags)

	alerts := make(chan *alert.Alert, 16)
	var mu sync.Mutex
	var execs []store.ExecRecord
	det := NewDetector(rs, "h")
	src, err := startSyscallSource(t.Context(), SensorOptions{Mode: SensorOn}, rs, det, "h",
		func(a *alert.Alert) { alerts <- a }, sourceHooks{recordExec: func(r store.ExecRecord) {
			mu.Lock()
			execs = append(execs, r)
			mu.Unlock()
		}}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer src.stop()

	// The children start after a pause, so the alert is handled first; the
	// trailing true keeps the shell from exec'ing the last command itself.
	cmd := exec.Command(parentExe, "-c", "sleep 0.2; /bin/echo child-one >/dev/null; /bin/echo child-two >/dev/null; true")
	require.NoError(t, cmd.Run())
	parentPID := int64(cmd.Process.Pid)
	select {
	case a := <-alerts:
		require.Equal(t, "Kid test parent", a.Rule)
		require.Equal(t, parentPID, a.Context.Provenance.Process.PID)
	case <-time.After(5 * time.Second):
		t.Fatal("no alert for the parent within 5s")
	}
	echo, err := filepath.EvalSymlinks("/bin/echo")
	require.NoError(t, err)
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		got = got[:0]
		for _, r := range execs {
			require.Equal(t, "h", r.Host)
			require.Equal(t, parentPID, r.Proc.PPID, "only children of the alerting process: %+v", r.Proc)
			got = append(got, r.Proc.Exe+" "+r.Proc.Cmdline)
		}
		mu.Unlock()
		if len(got) >= 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	sleep, err := exec.LookPath("sleep")
	require.NoError(t, err)
	sleep, err = filepath.EvalSymlinks(sleep)
	require.NoError(t, err)
	require.Equal(t, []string{
		sleep + " sleep 0.2",
		echo + " /bin/echo child-one",
		echo + " /bin/echo child-two",
	}, got, "children of pid %s", strconv.FormatInt(parentPID, 10))
}
