package respond

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/respond/target"
)

func TestParseAllow(t *testing.T) {
	tests := []struct {
		in, want string
		port     uint16
		bad      bool
	}{
		{in: "10.0.0.0/8", want: "10.0.0.0/8"},
		{in: "10.1.2.3", want: "10.1.2.3/32"},
		{in: "10.1.2.3/24:443", want: "10.1.2.0/24", port: 443},
		{in: "192.168.1.1:53", want: "192.168.1.1/32", port: 53},
		{in: "fd00::/8", want: "fd00::/8"},
		{in: "[fd00::1]:22", want: "fd00::1/128", port: 22},
		{in: "10.0.0.1:0", bad: true},
		{in: "10.0.0.1:http", bad: true},
		{in: "example.com", bad: true},
		{in: "[fd00::1:22", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			a, err := ParseAllow(tc.in)
			if tc.bad {
				require.ErrorContains(t, err, tc.in)
				return
			}
			require.NoError(t, err)
			require.Equal(t, netip.MustParsePrefix(tc.want), a.Prefix)
			require.Equal(t, tc.port, a.Port)
		})
	}
}

func TestBlockList(t *testing.T) {
	dir := t.TempDir()
	r := New(Config{DataDir: dir, Target: target.Config{Sockets: []container.Socket{}}})
	sha := strings.Repeat("ab", 32)
	for _, e := range []string{"/tmp/xmrig", "sha256:" + strings.ToUpper(sha), "/tmp/xmrig"} {
		_, err := r.BlockExec(context.Background(), e)
		require.NoError(t, err)
	}
	l, err := LoadBlockList(dir)
	require.NoError(t, err)
	require.Equal(t, []string{"/tmp/xmrig"}, l.Paths)
	require.Equal(t, []string{sha}, l.SHA256)
	o, err := r.UnblockExec(context.Background(), "/tmp/xmrig")
	require.NoError(t, err)
	require.Empty(t, o.Detail)
	o, err = r.UnblockExec(context.Background(), "/tmp/xmrig")
	require.NoError(t, err)
	require.Equal(t, "was not blocked", o.Detail)
	_, err = r.BlockExec(context.Background(), "relative/path")
	require.ErrorContains(t, err, "neither an absolute path nor a SHA-256")

	require.NoError(t, os.WriteFile(filepath.Join(dir, BlockListFile), []byte("{"), 0o600))
	_, err = LoadBlockList(dir)
	require.ErrorContains(t, err, BlockListFile)

	b, err := os.ReadFile(filepath.Join(dir, AuditFile))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 6)
	var last AuditEntry
	require.NoError(t, json.Unmarshal([]byte(lines[5]), &last))
	require.Equal(t, "block-exec", last.Action)
	require.Equal(t, "failed", last.Result)
	require.Contains(t, last.Error, "relative/path")
}

func TestContainerdNamespace(t *testing.T) {
	id := strings.Repeat("a", 64)
	for path, want := range map[string]string{
		"/default/" + id:                         "default",
		"/system.slice/moby-" + id + ".scope":    "moby",
		"/kubepods.slice/x/cri-containerd-" + id: "k8s.io",
		"/weird":                                 "default",
	} {
		require.Equal(t, want, containerdNamespace(&target.Target{ContainerID: id, CgroupV2: path}), path)
	}
}

func TestKillProcessChecksStartTime(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("pidfd_send_signal to any process: run as root")
	}
	cmd := exec.Command("sleep", "60")
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	p, err := target.ReadProc("/proc", cmd.Process.Pid)
	require.NoError(t, err)
	r := New(Config{DataDir: t.TempDir(), Target: target.Config{Sockets: []container.Socket{}}})

	_, err = r.KillProcess(context.Background(), p.PID, p.StartTime-1)
	require.ErrorIs(t, err, target.ErrReused)
	select {
	case <-done:
		t.Fatal("a refused kill killed the process")
	case <-time.After(100 * time.Millisecond):
	}
	_, err = r.KillProcess(context.Background(), p.PID, p.StartTime)
	require.NoError(t, err)
	<-done
	_, err = r.KillProcess(context.Background(), p.PID, p.StartTime)
	require.ErrorIs(t, err, target.ErrGone)
	_, err = r.KillProcess(context.Background(), 1, 0)
	require.ErrorContains(t, err, "refusing")
}

func TestHostNetworkRefused(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	_, err := netns("", cmd.Process.Pid)
	require.ErrorIs(t, err, ErrHostNetwork)
}
