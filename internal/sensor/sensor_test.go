package sensor

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// requireKernel skips when the machine lacks what the sensor needs.
func requireKernel(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("sensor tests need root (CAP_BPF, CAP_PERFMON)")
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		tb.Skip("kernel lacks BTF (/sys/kernel/btf/vmlinux) needed by tp_btf")
	}
}

// collector runs Read in the background and keeps copies of all events.
type collector struct {
	s      *Sensor
	mu     sync.Mutex
	events []ExecEvent
	done   chan error
	cancel context.CancelFunc
}

func startSensor(t *testing.T, cfg Config) *collector {
	t.Helper()
	requireKernel(t)
	s, err := Open(t.Context(), cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	c := &collector{s: s, done: make(chan error, 1), cancel: cancel}
	go func() {
		c.done <- s.Read(ctx, func(e *ExecEvent) error {
			c.mu.Lock()
			c.events = append(c.events, *e) // raw holds arrays: a deep copy
			c.mu.Unlock()
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		require.ErrorIs(t, <-c.done, context.Canceled)
		require.NoError(t, s.Close())
	})
	return c
}

// waitFor returns the first event matching pred, failing after 5s.
func (c *collector) waitFor(t *testing.T, what string, pred func(*ExecEvent) bool) ExecEvent {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for i := range c.events {
			if pred(&c.events[i]) {
				e := c.events[i]
				c.mu.Unlock()
				return e
			}
		}
		c.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s event within 5s (%d events seen, drops %d)", what, len(c.events), c.s.Drops())
	return ExecEvent{}
}

func (c *collector) count(pred func(*ExecEvent) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for i := range c.events {
		if pred(&c.events[i]) {
			n++
		}
	}
	return n
}

func marker(t testing.TB) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "vigil-test-marker-" + hex.EncodeToString(b)
}

func monotonic(t testing.TB) time.Duration {
	var ts unix.Timespec
	require.NoError(t, unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts))
	return time.Duration(ts.Nano())
}

// cgroup2Root returns the mount point of the cgroup v2 hierarchy.
func cgroup2Root(t *testing.T) string {
	for _, p := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		var st unix.Statfs_t
		if unix.Statfs(p, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return p
		}
	}
	t.Skip("no cgroup v2 hierarchy mounted at /sys/fs/cgroup/unified or /sys/fs/cgroup")
	return ""
}

func inode(t *testing.T, path string) uint64 {
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestExecEvent(t *testing.T) {
	c := startSensor(t, Config{RingBufferBytes: 1 << 20})

	// Run the exec inside a fresh cgroup v2 so the id is not the root's.
	cg := filepath.Join(cgroup2Root(t), "vigil-sensor-test-"+marker(t)[len("vigil-test-marker-"):])
	require.NoError(t, os.Mkdir(cg, 0o755))
	t.Cleanup(func() { _ = os.Remove(cg) })
	wantCgroup := inode(t, cg)

	m := marker(t)
	script := fmt.Sprintf("echo $$ > %s/cgroup.procs && exec /bin/true %s", cg, m)
	cmd := exec.Command("/bin/sh", "-c", script)
	before := monotonic(t)
	require.NoError(t, cmd.Run())
	after := monotonic(t)
	pid := uint32(cmd.Process.Pid)

	e := c.waitFor(t, "exec /bin/true", func(e *ExecEvent) bool {
		return e.Kind() == KindExec && e.TGID() == pid && string(e.Filename()) == "/bin/true"
	})
	require.Equal(t, pid, e.PID())
	require.Equal(t, uint32(os.Getpid()), e.PPID(), "ppid: sh exec'd in place, so the parent is the test")
	require.Equal(t, "/bin/true", string(e.Filename()))
	require.Equal(t, "true", string(e.Comm()))
	require.Equal(t, "/bin/true\x00"+m+"\x00", string(e.Args()))
	require.Zero(t, e.Flags())
	require.Zero(t, e.UID())
	require.Zero(t, e.GID())
	require.Equal(t, wantCgroup, e.CgroupID(), "cgroup id = inode of %s", cg)
	require.GreaterOrEqual(t, e.StartTime(), before)
	require.LessOrEqual(t, e.StartTime(), after)

	// The shell's own exec came first, from the test's cgroup, with the same start time.
	sh := c.waitFor(t, "exec /bin/sh", func(e *ExecEvent) bool {
		return e.Kind() == KindExec && e.TGID() == pid && string(e.Filename()) == "/bin/sh"
	})
	require.Equal(t, e.StartTime(), sh.StartTime())
	require.NotEqual(t, wantCgroup, sh.CgroupID())
	require.True(t, strings.HasPrefix(string(sh.Args()), "/bin/sh\x00-c\x00"), "%q", sh.Args())

	x := c.waitFor(t, "exit", func(e *ExecEvent) bool { return e.Kind() == KindExit && e.TGID() == pid })
	require.Zero(t, x.ExitStatus())
	require.Zero(t, x.Signal())
	require.Equal(t, wantCgroup, x.CgroupID())
	require.Empty(t, x.Filename())
	require.Zero(t, c.s.Drops())
}

func TestExitCode(t *testing.T) {
	c := startSensor(t, Config{})
	tests := []struct {
		name       string
		script     string
		wantStatus int
		wantSignal int
	}{
		{"exit 7", "exit 7", 7, 0},
		{"exit 0", "exit 0", 0, 0},
		{"killed", "kill -9 $$", 0, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "-c", tt.script)
			err := cmd.Run()
			if tt.wantStatus == 0 && tt.wantSignal == 0 {
				require.NoError(t, err)
			} else {
				var ee *exec.ExitError
				require.ErrorAs(t, err, &ee)
			}
			pid := uint32(cmd.Process.Pid)
			x := c.waitFor(t, "exit", func(e *ExecEvent) bool { return e.Kind() == KindExit && e.TGID() == pid })
			require.Equal(t, tt.wantStatus, x.ExitStatus())
			require.Equal(t, tt.wantSignal, x.Signal())
			require.Equal(t, uint32(os.Getpid()), x.PPID())
		})
	}
}

func TestIgnore(t *testing.T) {
	c := startSensor(t, Config{})
	ignored, sentinel := marker(t), marker(t)

	cmd := exec.Command("/bin/sh", "-c", "read x; exec /bin/true "+ignored)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	pid := uint32(cmd.Process.Pid)
	require.NoError(t, c.s.Ignore(pid))
	_, err = stdin.Write([]byte("go\n"))
	require.NoError(t, err)
	require.NoError(t, cmd.Wait())
	require.NoError(t, c.s.Unignore(pid))

	require.NoError(t, exec.Command("/bin/true", sentinel).Run())
	c.waitFor(t, "sentinel exec", func(e *ExecEvent) bool { return bytes.Contains(e.Args(), []byte(sentinel)) })
	// The shell's own exec races with Ignore (exec.Cmd.Start returns when
	// close-on-exec fds close, before sched_process_exec): not asserted.
	require.Zero(t, c.count(func(e *ExecEvent) bool { return e.TGID() == pid && string(e.Filename()) == "/bin/true" }), "exec of ignored tgid reported")
	require.Zero(t, c.count(func(e *ExecEvent) bool { return e.Kind() == KindExit && e.TGID() == pid }), "exit of ignored tgid reported")
	require.Zero(t, c.count(func(e *ExecEvent) bool { return e.TGID() == uint32(os.Getpid()) }), "sensor's own process reported")
}

func TestDropsCounted(t *testing.T) {
	requireKernel(t)
	// One page holds at most a handful of events; nobody reads it.
	s, err := Open(t.Context(), Config{RingBufferBytes: os.Getpagesize()})
	require.NoError(t, err)
	defer s.Close()
	for range 20 {
		require.NoError(t, exec.Command("/bin/true").Run())
	}
	d := s.Drops()
	require.GreaterOrEqual(t, d, uint64(20*2-int(uintptr(os.Getpagesize())/unsafe.Sizeof(sensorExecEvent{}))))
	t.Logf("drops with a %d-byte ring: %d", os.Getpagesize(), d)
}

func TestOpenErrors(t *testing.T) {
	_, err := Open(t.Context(), Config{RingBufferBytes: 12345})
	require.ErrorContains(t, err, "power of two")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = Open(ctx, Config{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestReadAfterClose(t *testing.T) {
	requireKernel(t)
	s, err := Open(t.Context(), Config{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	err = s.Read(t.Context(), func(*ExecEvent) error { return nil })
	require.ErrorIs(t, err, ErrClosed)
}

func TestDecodeShort(t *testing.T) {
	var e ExecEvent
	require.Error(t, e.decode(make([]byte, 10)))
}

// BenchmarkDecode measures the per-event user-space cost: copy the sample
// into the reused event and take the path and argv views.
func BenchmarkDecode(b *testing.B) {
	var src sensorExecEvent
	src.Kind = uint32(KindExec)
	src.FilenameLen = uint16(copy(int8Bytes(src.Filename[:]), "/usr/bin/true"))
	src.ArgsLen = uint16(copy(int8Bytes(src.Args[:]), "/usr/bin/true\x00--version\x00"))
	sample := unsafe.Slice((*byte)(unsafe.Pointer(&src)), rawEventSize)
	var e ExecEvent
	b.ReportAllocs()
	b.SetBytes(int64(rawEventSize))
	for b.Loop() {
		if err := e.decode(sample); err != nil {
			b.Fatal(err)
		}
		if len(e.Filename()) == 0 || len(e.Args()) == 0 || e.TGID() != 0 {
			b.Fatal("bad decode")
		}
	}
}

// BenchmarkForkExec runs /bin/true in a loop with the sensor attached and
// reports the rate of exec events delivered to the Read callback.
func BenchmarkForkExec(b *testing.B) {
	c := countExecs(b, func(e *ExecEvent) bool { return string(e.Filename()) == "/bin/true" })
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	c.finish(b, n, time.Since(start), false) // other processes may run /bin/true too
}

// BenchmarkShellExecLoop measures end-to-end exec events/s with a shell
// forking and exec'ing /bin/true b.N times (cheaper than os/exec per exec).
func BenchmarkShellExecLoop(b *testing.B) {
	m := []byte(marker(b))
	c := countExecs(b, func(e *ExecEvent) bool {
		return bytes.HasPrefix(e.Args(), []byte("/bin/true\x00")) && bytes.Contains(e.Args(), m)
	})
	script := fmt.Sprintf("i=0; while [ $i -lt %d ]; do /bin/true %s; i=$((i+1)); done", b.N, m)
	b.ResetTimer()
	start := time.Now()
	if err := exec.Command("/bin/sh", "-c", script).Run(); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	c.finish(b, b.N, elapsed, true) // the marker makes every match ours
}

// execCounter counts the exec events a running sensor delivers that match.
type execCounter struct {
	s      *Sensor
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	n      int
}

// countExecs opens the sensor and counts matching exec events until finish.
func countExecs(b *testing.B, match func(*ExecEvent) bool) *execCounter {
	requireKernel(b)
	s, err := Open(b.Context(), Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithCancel(b.Context())
	c := &execCounter{s: s, cancel: cancel, done: make(chan error, 1)}
	go func() {
		c.done <- s.Read(ctx, func(e *ExecEvent) error {
			if e.Kind() == KindExec && match(e) {
				c.mu.Lock()
				c.n++
				c.mu.Unlock()
			}
			return nil
		})
	}()
	return c
}

// finish waits up to 2 s for want events, stops reading, reports execs/s
// over elapsed and the drops, and fails when events are missing (or, when
// exact, when the count differs).
func (c *execCounter) finish(b *testing.B, want int, elapsed time.Duration, exact bool) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		c.mu.Lock()
		got := c.n
		c.mu.Unlock()
		if got >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.cancel()
	if err := <-c.done; !errors.Is(err, context.Canceled) {
		b.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b.ReportMetric(float64(c.n)/elapsed.Seconds(), "execs/s")
	b.ReportMetric(float64(c.s.Drops()), "drops")
	if c.n < want || exact && c.n != want {
		b.Fatalf("saw %d of %d execs (drops %d)", c.n, want, c.s.Drops())
	}
}
