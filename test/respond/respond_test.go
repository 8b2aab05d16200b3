//go:build e2erespond

package respond

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/forensics"
	"github.com/vigilsec/vigil/internal/respond"
	"github.com/vigilsec/vigil/internal/respond/target"
)

var applets = []string{"sh", "cat", "echo", "sleep", "nc", "true", "mkdir", "ls", "id"}

const (
	secretEnv  = "VIGIL_E2E_SECRET=planted-7f3a"
	listenPort = 7070
	sleepers   = 48
)

// ctr is one runc container.
type ctr struct {
	t        *testing.T
	id       string
	dir      string
	runcRoot string
	hostIP   string
	ctrIP    string
	nsName   string
}

func need(t *testing.T, tools ...string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("respond e2e needs root (runc, netns, fanotify)")
	}
	var bb string
	for _, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s not installed (scripts/deps.sh installs it): %v", tool, err)
		}
		if tool == "busybox" {
			bb = p
		}
	}
	return bb
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
	return string(out)
}

func startContainer(t *testing.T) *ctr {
	bb := need(t, "busybox", "runc", "ip", "nft")
	var b [32]byte
	_, _ = rand.Read(b[:])
	c := &ctr{t: t, id: hex.EncodeToString(b[:]), dir: t.TempDir()}
	n := int(b[0])%200 + 20
	c.hostIP, c.ctrIP = fmt.Sprintf("10.231.%d.1", n), fmt.Sprintf("10.231.%d.2", n)
	c.nsName = "vigil-e2e-" + c.id[:8]
	hostIf, ctrIf := "vr"+c.id[:8], "vc"+c.id[:8]

	// Network: a named netns joined to the host by a veth pair.
	run(t, "ip", "netns", "add", c.nsName)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", c.nsName).Run() })
	run(t, "ip", "link", "add", hostIf, "type", "veth", "peer", "name", ctrIf)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", hostIf).Run() })
	run(t, "ip", "link", "set", ctrIf, "netns", c.nsName)
	run(t, "ip", "addr", "add", c.hostIP+"/30", "dev", hostIf)
	run(t, "ip", "link", "set", hostIf, "up")
	run(t, "ip", "-n", c.nsName, "addr", "add", c.ctrIP+"/30", "dev", ctrIf)
	run(t, "ip", "-n", c.nsName, "link", "set", ctrIf, "up")
	run(t, "ip", "-n", c.nsName, "link", "set", "lo", "up")

	// Root filesystem: busybox in a lower dir, an overlay with an upper dir.
	lower, upper, work, merged := filepath.Join(c.dir, "lower"), filepath.Join(c.dir, "upper"), filepath.Join(c.dir, "work"), filepath.Join(c.dir, "merged")
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root"} {
		require.NoError(t, os.MkdirAll(filepath.Join(lower, d), 0o755))
	}
	for _, d := range []string{upper, work, merged} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	require.NoError(t, os.Chmod(filepath.Join(lower, "tmp"), 0o1777))
	data, err := os.ReadFile(bb)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(lower, "bin/busybox"), data, 0o755))
	for _, a := range applets {
		require.NoError(t, os.Symlink("busybox", filepath.Join(lower, "bin", a)))
	}
	require.NoError(t, os.WriteFile(filepath.Join(lower, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644))
	require.NoError(t, unix.Mount("overlay", merged, "overlay", 0, fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)))
	t.Cleanup(func() { _ = unix.Unmount(merged, unix.MNT_DETACH) })

	script := fmt.Sprintf(`echo attacker-was-here > /tmp/dropped.txt
nc -l -p %d >/dev/null &
i=0; while true; do i=$((i+1)); echo $i > /tmp/counter; sleep 0.05; done &
for n in $(seq %d); do sleep 3600 & done
exec sleep 3600`, listenPort, sleepers)
	caps := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"}
	cfg := map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{
			"user": map[string]any{"uid": 0, "gid": 0}, "args": []string{"/bin/sh", "-c", script},
			"env": []string{"PATH=/bin", secretEnv}, "cwd": "/",
			"capabilities":    map[string]any{"bounding": caps, "effective": caps, "permitted": caps},
			"noNewPrivileges": true,
		},
		"root":     map[string]any{"path": merged},
		"hostname": "respond-e2e",
		"mounts": []map[string]any{
			{"destination": "/proc", "type": "proc", "source": "proc"},
			{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "mode=755", "size=65536k"}},
		},
		"linux": map[string]any{
			"cgroupsPath": "/vigil-e2e-respond/" + c.id,
			"namespaces": []map[string]any{{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
				{"type": "network", "path": "/var/run/netns/" + c.nsName}},
		},
	}
	bundle := filepath.Join(c.dir, "bundle")
	require.NoError(t, os.MkdirAll(bundle, 0o755))
	js, _ := json.Marshal(cfg)
	require.NoError(t, os.WriteFile(filepath.Join(bundle, "config.json"), js, 0o644))
	c.runcRoot = filepath.Join(c.dir, "runc")
	logf, err := os.Create(filepath.Join(c.dir, "container.log"))
	require.NoError(t, err)
	defer logf.Close()
	cmd := exec.Command("runc", "--root", c.runcRoot, "run", "--detach", "--bundle", bundle, c.id)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(filepath.Join(c.dir, "container.log"))
		t.Fatalf("runc run: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		// Thaw first: a frozen container cannot be killed.
		for _, d := range []string{"/sys/fs/cgroup/unified/vigil-e2e-respond/" + c.id} {
			_ = os.WriteFile(filepath.Join(d, "cgroup.freeze"), []byte("0"), 0)
		}
		if out, err := exec.Command("runc", "--root", c.runcRoot, "delete", "--force", c.id).CombinedOutput(); err != nil {
			t.Logf("runc delete: %v\n%s", err, out)
		}
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/vigil-e2e-respond")
		for _, d := range dirs {
			_ = os.Remove(d)
		}
	})
	// Wait for every process and the listener.
	deadline := time.Now().Add(10 * time.Second)
	for {
		tg, err := target.Resolve(context.Background(), c.id, target.Config{Sockets: []container.Socket{}})
		if err == nil && len(tg.Procs) >= sleepers+3 && strings.Contains(c.sh("cat /proc/net/tcp /proc/net/tcp6"), fmt.Sprintf(":%04X", listenPort)) {
			break
		}
		require.True(t, time.Now().Before(deadline), "container not up: %v", err)
		time.Sleep(50 * time.Millisecond)
	}
	return c
}

// sh runs a shell command in the container and returns its output; a
// non-zero exit is returned in the output as "rc=N".
func (c *ctr) sh(script string) string {
	out, err := exec.Command("runc", "--root", c.runcRoot, "exec", c.id, "/bin/sh", "-c", script+"; echo rc=$?").CombinedOutput()
	require.NoError(c.t, err, "runc exec %q: %s", script, out)
	return string(out)
}

// connect reports whether a TCP connection from inside the container to
// addr succeeds within 2 s.
func (c *ctr) connect(addr string) bool {
	host, port, _ := net.SplitHostPort(addr)
	return strings.Contains(c.sh(fmt.Sprintf("nc -w 2 %s %s </dev/null", host, port)), "rc=0")
}

// listener accepts and closes connections on addr until the test ends.
func listener(t *testing.T, addr string) string {
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().String()
}

func hostConnect(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func hostRuleset(t *testing.T) string { return run(t, "nft", "list", "ruleset") }

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return s[i]
}

func TestRespondE2E(t *testing.T) {
	c := startContainer(t)
	ctx := context.Background()
	data := t.TempDir()
	tcfg := target.Config{Sockets: []container.Socket{}}
	r := respond.New(respond.Config{DataDir: data, Target: tcfg, StopTimeout: 2 * time.Second})

	t.Run("capture", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "evidence.tar.gz")
		begin := time.Now()
		res, err := forensics.Capture(ctx, forensics.Options{Target: c.id[:12], Output: out, TargetConfig: tcfg, Version: "e2e"})
		took := time.Since(begin)
		require.NoError(t, err)
		t.Logf("capture of %d processes, %d changes: %s (%d files, %d bytes)", res.Processes, res.Changes, took, res.Files, res.Bytes)
		require.GreaterOrEqual(t, res.Processes, sleepers+3)
		require.Less(t, took, 5*time.Second)
		_, err = forensics.Verify(out)
		require.NoError(t, err)

		dir := t.TempDir()
		run(t, "tar", "-xzf", out, "-C", dir)
		var changes []forensics.Change
		b, err := os.ReadFile(filepath.Join(dir, "fs/changes.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &changes))
		i := slices.IndexFunc(changes, func(ch forensics.Change) bool { return ch.Path == "/tmp/dropped.txt" })
		require.GreaterOrEqual(t, i, 0, "dropped file in the changes: %+v", changes)
		require.Equal(t, "added", changes[i].Kind)
		dropped, err := os.ReadFile(filepath.Join(dir, changes[i].Captured))
		require.NoError(t, err)
		require.Equal(t, "attacker-was-here\n", string(dropped))

		var procs []forensics.Process
		b, err = os.ReadFile(filepath.Join(dir, "processes.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &procs))
		var env, listen bool
		for _, p := range procs {
			env = env || slices.Contains(p.Env, secretEnv)
			for _, fd := range p.FDs {
				if fd.Socket != nil && fd.Socket.State == "LISTEN" && strings.HasSuffix(fd.Socket.Local, ":"+strconv.Itoa(listenPort)) {
					listen = true
				}
			}
		}
		require.True(t, env, "environment variable captured")
		require.True(t, listen, "listening socket on %d captured", listenPort)

		var ti forensics.TargetInfo
		b, err = os.ReadFile(filepath.Join(dir, "target.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &ti))
		require.Equal(t, c.id, ti.ContainerID)
		require.False(t, ti.Frozen, "capture does not freeze without --freeze")
	})

	t.Run("pause", func(t *testing.T) {
		// Read from the host (the overlay's upper dir): runc exec cannot
		// enter a frozen container.
		counter := func() string {
			b, err := os.ReadFile(filepath.Join(c.dir, "upper/tmp/counter"))
			require.NoError(t, err)
			return string(b)
		}
		var lat []time.Duration
		for i := 0; i < 20; i++ {
			o, err := r.Pause(ctx, c.id)
			require.NoError(t, err)
			lat = append(lat, o.Duration)
			if i == 0 {
				tg, err := target.Resolve(ctx, c.id, tcfg)
				require.NoError(t, err)
				frozen, err := tg.Frozen()
				require.NoError(t, err)
				require.True(t, frozen)
				before := counter()
				time.Sleep(300 * time.Millisecond)
				require.Equal(t, before, counter(), "a frozen container makes no progress")
				st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", tg.PID))
				require.NoError(t, err)
				t.Logf("state of the frozen init: %s", strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))[0])
			}
			_, err = r.Unpause(ctx, c.id)
			require.NoError(t, err)
		}
		before := counter()
		time.Sleep(300 * time.Millisecond)
		require.NotEqual(t, before, counter(), "unpaused container runs again")
		t.Logf("pause latency over %d runs: p50 %s, p99 %s", len(lat), percentile(lat, 0.5), percentile(lat, 0.99))
	})

	t.Run("kill-process", func(t *testing.T) {
		tg, err := target.Resolve(ctx, c.id, tcfg)
		require.NoError(t, err)
		var victim target.Proc
		for _, p := range tg.Procs {
			if p.Comm == "sleep" && p.PID != tg.PID {
				victim = p
			}
		}
		require.NotZero(t, victim.PID)
		_, err = r.KillProcess(ctx, victim.PID, victim.StartTime+1)
		require.ErrorIs(t, err, target.ErrReused)
		require.NoError(t, target.Check("", victim), "refused kill leaves the process alone")
		_, err = r.KillProcess(ctx, victim.PID, victim.StartTime)
		require.NoError(t, err)
		// SIGKILL is delivered at once; the parent reaps the zombie soon after.
		require.Eventually(t, func() bool { return target.Check("", victim) != nil }, 5*time.Second, 20*time.Millisecond,
			"killed process still there")
	})

	t.Run("isolate", func(t *testing.T) {
		addr := listener(t, net.JoinHostPort(c.hostIP, "0"))
		other := listener(t, net.JoinHostPort(c.hostIP, "0"))
		require.True(t, c.connect(addr), "connection before isolation")
		rulesBefore := hostRuleset(t)

		_, err := r.Isolate(ctx, c.id, nil)
		require.NoError(t, err)
		require.False(t, c.connect(addr), "connection after isolation")
		require.True(t, hostConnect(addr), "the host still reaches its listener")
		require.Equal(t, rulesBefore, hostRuleset(t), "host ruleset untouched")

		_, port, _ := net.SplitHostPort(addr)
		allow, err := respond.ParseAllow(c.hostIP + ":" + port)
		require.NoError(t, err)
		_, err = r.Isolate(ctx, c.id, []respond.Allow{allow})
		require.NoError(t, err)
		require.True(t, c.connect(addr), "allow-listed address and port")
		require.False(t, c.connect(other), "other port of the same host still cut")

		_, err = r.Unisolate(ctx, c.id)
		require.NoError(t, err)
		require.True(t, c.connect(other), "connection after unisolate")
		require.Equal(t, rulesBefore, hostRuleset(t), "host ruleset untouched")

		var lat []time.Duration
		for i := 0; i < 20; i++ {
			o, err := r.Isolate(ctx, c.id, nil)
			require.NoError(t, err)
			lat = append(lat, o.Duration)
			_, err = r.Unisolate(ctx, c.id)
			require.NoError(t, err)
		}
		t.Logf("isolate latency over %d runs: p50 %s, p99 %s", len(lat), percentile(lat, 0.5), percentile(lat, 0.99))
	})

	t.Run("block-exec", func(t *testing.T) {
		c.sh(`printf '#!/bin/sh\necho mined\n' > /tmp/miner.sh; printf '#!/bin/sh\necho other\n' > /tmp/other.sh; printf '#!/bin/sh\necho fine\n' > /tmp/fine.sh; chmod +x /tmp/*.sh`)
		require.Contains(t, c.sh("/tmp/miner.sh"), "mined")
		tg, err := target.Resolve(ctx, c.id, tcfg)
		require.NoError(t, err)
		bctx, cancel := context.WithCancel(ctx)
		defer cancel()
		events := make(chan respond.BlockEvent, 16)
		bl := &respond.Blocker{DataDir: data, Roots: []string{fmt.Sprintf("/proc/%d/root", tg.PID)},
			OnBlock: func(e respond.BlockEvent) { events <- e }}
		done := make(chan error, 1)
		go func() { done <- bl.Run(bctx) }()

		sum := sha256.Sum256([]byte("#!/bin/sh\necho other\n"))
		_, err = r.BlockExec(ctx, "/tmp/miner.sh")
		require.NoError(t, err)
		_, err = r.BlockExec(ctx, hex.EncodeToString(sum[:]))
		require.NoError(t, err)
		require.Eventually(t, func() bool { return strings.Contains(c.sh("/tmp/miner.sh"), "Operation not permitted") },
			5*time.Second, 100*time.Millisecond, "exec of the blocked path fails with EPERM")
		// The blocker reloads the list every second: the second entry may
		// arrive a reload after the first.
		require.Eventually(t, func() bool { return strings.Contains(c.sh("/tmp/other.sh"), "Operation not permitted") },
			5*time.Second, 100*time.Millisecond, "exec of a file with a blocked SHA-256")
		require.Contains(t, c.sh("/tmp/fine.sh"), "fine", "another file still runs")
		require.Contains(t, c.sh("id -u"), "0", "busybox still runs")
		e := <-events
		require.Equal(t, "/tmp/miner.sh", e.Path)

		_, err = r.UnblockExec(ctx, "/tmp/miner.sh")
		require.NoError(t, err)
		require.Eventually(t, func() bool { return strings.Contains(c.sh("/tmp/miner.sh"), "mined") },
			5*time.Second, 100*time.Millisecond, "unblocked file runs again")
		cancel()
		require.NoError(t, <-done)
	})

	t.Run("kill", func(t *testing.T) {
		o, err := r.Kill(ctx, c.id)
		require.NoError(t, err)
		require.Equal(t, "signals", o.Method, "no runtime socket: signals")
		_, err = target.Resolve(ctx, c.id, tcfg)
		require.ErrorIs(t, err, target.ErrGone)
		_, err = r.Pause(ctx, c.id)
		require.ErrorIs(t, err, target.ErrGone, "a gone target is a clear error")
	})

	t.Run("audit", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(data, respond.AuditFile))
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		seen := map[string]bool{}
		for _, l := range lines {
			var e respond.AuditEntry
			require.NoError(t, json.Unmarshal([]byte(l), &e), l)
			require.NotEmpty(t, e.Host)
			seen[e.Action+"/"+e.Result] = true
		}
		for _, want := range []string{"pause/ok", "unpause/ok", "kill-process/failed", "kill-process/ok", "isolate/ok", "unisolate/ok", "block-exec/ok", "kill/ok", "pause/failed"} {
			require.True(t, seen[want], "audit has %s: %v", want, seen)
		}
	})
}
