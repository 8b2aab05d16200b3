package capture

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/event"
	"github.com/vigilsec/vigil/internal/proctree"
	"github.com/vigilsec/vigil/internal/sensor"
	"github.com/vigilsec/vigil/internal/sysevent"
)

func requireKernel(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("capture tests need root (CAP_BPF, CAP_PERFMON) for the eBPF sensor")
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		tb.Skip("kernel lacks BTF (/sys/kernel/btf/vmlinux) needed by the sensor")
	}
}

// compile compiles the named fields (with bracket arguments).
func compile(t *testing.T, names []string) []event.Extractor {
	t.Helper()
	var src sysevent.Source
	var xs []event.Extractor
	for _, n := range names {
		name, arg, hasArg := n, "", false
		if i := strings.IndexByte(n, '['); i > 0 && strings.HasSuffix(n, "]") {
			name, arg, hasArg = n[:i], n[i+1:len(n)-1], true
		}
		x, err := src.Extractor(name, arg, hasArg)
		require.NoError(t, err, n)
		xs = append(xs, x)
	}
	return xs
}

// fields extracts the fields of ev as text, as a rule output would.
func fields(ev *sysevent.Event, names []string, xs []event.Extractor) map[string]string {
	out := map[string]string{}
	for i, x := range xs {
		var vals []string
		for _, v := range x.Extract(ev, nil) {
			vals = append(vals, strings.Clone(render(x, v)))
		}
		out[names[i]] = strings.Join(vals, ",")
	}
	return out
}

func render(x event.Extractor, v event.Value) string {
	f := x.(interface{ FieldInfo() event.Field }).FieldInfo()
	switch {
	case f.Type.Textual():
		return v.Str
	case f.Type == event.TypeIPAddr:
		return v.IP.String()
	case f.Type == event.TypeInt:
		return fmt.Sprint(int64(v.Num))
	}
	return fmt.Sprint(v.Num)
}

type seen struct {
	mu  sync.Mutex
	evs []map[string]string
}

// startCapture runs a Capture of syscalls, recording the listed fields of
// every event.
func startCapture(t *testing.T, syscalls []string, names ...string) *seen {
	t.Helper()
	requireKernel(t)
	table, err := proctree.New(proctree.Config{})
	require.NoError(t, err)
	c, err := New(t.Context(), Config{
		Sensor: sensor.Config{Syscalls: syscalls, PollInterval: 10 * time.Millisecond},
		Table:  table, Hostname: "testhost", Procexit: true,
	})
	require.NoError(t, err)
	require.NoError(t, table.Seed(t.Context()))
	xs := compile(t, names)
	s := &seen{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, func(ev *sysevent.Event) {
			m := fields(ev, names, xs)
			s.mu.Lock()
			s.evs = append(s.evs, m)
			s.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		c.Close()
	})
	return s
}

func (s *seen) wait(t *testing.T, what string, pred func(map[string]string) bool) map[string]string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, m := range s.evs {
			if pred(m) {
				s.mu.Unlock()
				return m
			}
		}
		s.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Fatalf("no %s event in 5s (%d events: %v)", what, len(s.evs), s.evs)
	return nil
}

func TestCaptureExecAndOpen(t *testing.T) {
	names := []string{"evt.type", "evt.dir", "evt.res", "fd.name", "fd.typechar", "proc.name", "proc.exepath", "proc.cmdline",
		"proc.pname", "proc.pid", "proc.ppid", "proc.cwd", "user.uid", "user.name", "container.id", "evt.is_open_read",
		"proc.env[VIGIL_MARK]", "proc.aname[2]", "evt.arg.flags", "evt.hostname", "proc.exe", "proc.args", "evt.arg.args", "evt.arg.exe"}
	s := startCapture(t, []string{"openat", "open"}, names...)

	dir := t.TempDir()
	mark := fmt.Sprintf("mark-%d", time.Now().UnixNano())
	file := filepath.Join(dir, mark)
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))
	// sh runs cat in dir with a relative path: the capture resolves it.
	cmd := exec.Command("/bin/sh", "-c", "cd "+dir+" && cat ./"+mark+" >/dev/null; true")
	cmd.Env = []string{"VIGIL_MARK=" + mark, "PATH=/usr/bin:/bin"}
	require.NoError(t, cmd.Run())
	sh := fmt.Sprint(cmd.Process.Pid)

	ex := s.wait(t, "exec of cat", func(m map[string]string) bool {
		return m["evt.type"] == "execve" && m["proc.name"] == "cat" && m["proc.ppid"] == sh
	})
	realCat, err := filepath.EvalSymlinks("/usr/bin/cat")
	require.NoError(t, err)
	require.Equal(t, realCat, ex["proc.exepath"])
	require.Equal(t, "cat ./"+mark, ex["proc.cmdline"], "%v", ex)
	require.Equal(t, "sh", ex["proc.pname"])
	require.Equal(t, "<", ex["evt.dir"])
	require.Equal(t, "0", ex["user.uid"])
	require.Equal(t, "root", ex["user.name"])
	require.Equal(t, "host", ex["container.id"], "host processes are not in a container (the machine's /process_api cgroup is not one)")
	require.Equal(t, mark, ex["proc.env[VIGIL_MARK]"])
	require.Equal(t, "testhost", ex["evt.hostname"])

	op := s.wait(t, "open of the file", func(m map[string]string) bool {
		return (m["evt.type"] == "openat" || m["evt.type"] == "open") && m["proc.name"] == "cat" && strings.HasSuffix(m["fd.name"], mark)
	})
	realDir, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	require.Contains(t, []string{filepath.Join(realDir, mark), file}, op["fd.name"], "relative path resolved against the cwd")
	require.Equal(t, "f", op["fd.typechar"])
	require.Equal(t, "SUCCESS", op["evt.res"])
	require.Equal(t, "1", op["evt.is_open_read"])
	require.Contains(t, op["evt.arg.flags"], "O_RDONLY")
	require.Equal(t, realDir+"/", op["proc.cwd"])

	// The machine's own cgroup (/process_api/...) never makes a container.
	require.Equal(t, "host", op["container.id"])
}

func TestCaptureProcexit(t *testing.T) {
	s := startCapture(t, nil, "evt.type", "proc.name", "proc.pid", "evt.arg.status", "evt.rawarg.ret")
	cmd := exec.Command("/bin/sh", "-c", "exit 3")
	require.Error(t, cmd.Run())
	pid := fmt.Sprint(cmd.Process.Pid)
	ex := s.wait(t, "procexit", func(m map[string]string) bool { return m["evt.type"] == "procexit" && m["proc.pid"] == pid })
	require.Equal(t, "sh", ex["proc.name"])
}

func TestCaptureDupSocket(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash (for /dev/tcp) not installed")
	}
	names := []string{"evt.type", "proc.name", "fd.name", "fd.type", "fd.l4proto", "fd.sip", "fd.sport", "evt.rawarg.newfd", "proc.pid"}
	s := startCapture(t, []string{"dup2", "dup3", "connect", "socket"}, names...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	cmd := exec.Command(bash, "-c", fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d; exec 1>&3; true", port))
	require.NoError(t, cmd.Run())
	pid := fmt.Sprint(cmd.Process.Pid)
	d := s.wait(t, "dup2 of the socket to stdout", func(m map[string]string) bool {
		return (m["evt.type"] == "dup2" || m["evt.type"] == "dup3") && m["proc.pid"] == pid && m["evt.rawarg.newfd"] == "1" &&
			strings.HasSuffix(m["fd.name"], fmt.Sprintf("->127.0.0.1:%d", port))
	})
	require.Equal(t, "ipv4", d["fd.type"], "%v", d)
	require.Equal(t, "tcp", d["fd.l4proto"])
	require.Equal(t, "127.0.0.1", d["fd.sip"])
	require.Equal(t, fmt.Sprint(port), d["fd.sport"])
	require.Contains(t, d["fd.name"], fmt.Sprintf("->127.0.0.1:%d", port))
}

// TestCaptureArgFills checks params filled from the argument table on real
// calls: renameat2's paths and mkdir's mode.
func TestCaptureArgFills(t *testing.T) {
	s := startCapture(t, []string{"rename", "renameat", "renameat2", "mkdir", "mkdirat"},
		"evt.type", "proc.pid", "evt.arg.oldpath", "evt.arg.newpath", "evt.arg.path", "evt.rawarg.mode", "fs.path.source", "fs.path.target")
	dir := t.TempDir()
	cmd := exec.Command("/bin/sh", "-c", "cd "+dir+" && touch a && mv a b && mkdir -m 0750 d")
	require.NoError(t, cmd.Run())
	mv := s.wait(t, "rename", func(m map[string]string) bool {
		return strings.HasPrefix(m["evt.type"], "rename") && strings.HasSuffix(m["evt.arg.newpath"], "/b")
	})
	// Relative paths are rendered resolved against the cwd.
	require.True(t, strings.HasSuffix(mv["evt.arg.oldpath"], "/a"), "%v", mv)
	require.Equal(t, mv["evt.arg.oldpath"], mv["fs.path.source"])
	md := s.wait(t, "mkdir", func(m map[string]string) bool {
		return strings.HasPrefix(m["evt.type"], "mkdir") && strings.HasSuffix(m["evt.arg.path"], "/d")
	})
	require.Equal(t, fmt.Sprint(0o750), md["evt.rawarg.mode"])
}
