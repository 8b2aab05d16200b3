//go:build containers

// Tests against real container runtimes: each starts its own daemon (data
// and sockets in a temp dir), runs a busybox container and checks what the
// Resolver says of it. Run with `make test-containers` or
// `go test -tags containers ./internal/container/`; each test skips, naming
// what is missing, when its runtime cannot start here.

package container

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// runcWrapper strips CAP_SYS_RESOURCE, which root lacks on the build
// machines, from the bundle's capability lists before calling runc, so that
// privileged containers can start, and the rlimits (Podman raises
// RLIMIT_NPROC, which needs that capability).
const runcWrapper = `#!/bin/sh
prev=
for a in "$@"; do
	if [ "$prev" = "--bundle" ] || [ "$prev" = "-b" ]; then
		sed -i 's/"CAP_SYS_RESOURCE",//g; s/,"CAP_SYS_RESOURCE"//g; s/"rlimits":\[[^]]*\],//; s/,"rlimits":\[[^]]*\]//' "$a/config.json"
	fi
	prev=$a
done
exec runc "$@"
`

// rtEnv is a temp dir with a busybox rootfs tarball and the runc wrapper.
type rtEnv struct {
	dir     string
	rootfs  string // tarball of a busybox-static root filesystem
	wrapper string
	volume  string // a host directory to mount into containers
}

func newRTEnv(t *testing.T, tools ...string) *rtEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("container runtimes need root")
	}
	for _, tool := range append(tools, "runc") {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (scripts/deps-containers.sh installs it): %v", tool, err)
		}
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skipf("busybox-static not installed: %v", err)
	}
	f, err := elf.Open(bb)
	require.NoError(t, err)
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			f.Close()
			t.Skipf("%s is dynamically linked: install busybox-static", bb)
		}
	}
	f.Close()
	// Short paths: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "vgl")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	e := &rtEnv{dir: dir, rootfs: filepath.Join(dir, "rootfs.tar"), wrapper: filepath.Join(dir, "runc-wrap"), volume: filepath.Join(dir, "vol")}
	require.NoError(t, os.WriteFile(e.wrapper, []byte(runcWrapper), 0o755))
	require.NoError(t, os.Mkdir(e.volume, 0o755))
	require.NoError(t, writeBusyboxTar(e.rootfs, bb))
	return e
}

// writeBusyboxTar writes a root filesystem with /bin/busybox and sh, sleep
// links.
func writeBusyboxTar(path, busybox string) error {
	data, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"bin/", "etc/", "proc/", "sys/", "dev/", "tmp/", "data/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data))}); err != nil {
		return err
	}
	if _, err := tw.Write(data); err != nil {
		return err
	}
	for _, l := range []string{"sh", "sleep"} {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + l, Typeflag: tar.TypeSymlink, Linkname: "busybox"}); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// daemon starts a runtime daemon and stops it at cleanup.
func daemon(t *testing.T, logPath string, name string, args ...string) {
	t.Helper()
	logf, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
}

// run runs a CLI command and returns its trimmed stdout.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, msg)
	}
	return strings.TrimSpace(string(out))
}

// waitSocket waits until check succeeds, skipping the test with the daemon's
// log when it does not come up.
func waitUp(t *testing.T, what, logPath string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = check(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	logData, _ := os.ReadFile(logPath)
	if len(logData) > 4000 {
		logData = logData[len(logData)-4000:]
	}
	t.Skipf("%s did not start here: %v\n%s", what, err, logData)
}

// lookupComplete resolves the container of pid through the resolver the way
// the sensor does (cgroup id of the task, pid) and waits for its metadata.
func lookupComplete(t *testing.T, r *Resolver, pid int) *Info {
	t.Helper()
	pc, err := FromPID(pid)
	require.NoError(t, err)
	cgID, err := CgroupID(DefaultCgroupRoot + pc.V2Path)
	require.NoError(t, err)
	start := time.Now()
	first := r.Lookup(cgID, int64(pid))
	require.Less(t, time.Since(start), 100*time.Millisecond)
	require.NotNil(t, first, "pid %d in %s is not attributed to a container", pid, pc.V2Path)
	var info *Info
	require.Eventually(t, func() bool {
		info = r.Lookup(cgID, int64(pid))
		return info.Complete
	}, 15*time.Second, 20*time.Millisecond, "metadata never arrived: %+v", r.Stats())
	require.Equal(t, pc.V2Path, info.CgroupPath)
	return info
}

func findMount(t *testing.T, info *Info, dest string) Mount {
	t.Helper()
	for _, m := range info.Mounts {
		if m.Dest == dest {
			return m
		}
	}
	t.Fatalf("no mount on %s in %+v", dest, info.Mounts)
	return Mount{}
}

// updates collects OnUpdate calls.
type updates struct{ ch chan *Info }

func (u *updates) on(i *Info) {
	select {
	case u.ch <- i:
	default:
	}
}

// cleanCgroupParents removes, at the end of a test, the parent cgroup a
// runtime created in every hierarchy, once empty (rmdir fails otherwise, so
// a parent still in use by another runtime stays).
func cleanCgroupParents(t *testing.T, name string) {
	t.Cleanup(func() {
		dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + name)
		for _, d := range dirs {
			_ = os.Remove(d)
		}
	})
}

func TestDocker(t *testing.T) {
	e := newRTEnv(t, "dockerd", "docker", "containerd")
	cleanCgroupParents(t, "docker")
	sock := filepath.Join(e.dir, "docker.sock")
	logPath := filepath.Join(e.dir, "dockerd.log")
	daemon(t, logPath, "dockerd",
		"--data-root", filepath.Join(e.dir, "data"), "--exec-root", filepath.Join(e.dir, "exec"),
		"--pidfile", filepath.Join(e.dir, "docker.pid"), "--host", "unix://"+sock,
		"--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=vfs",
		"--add-runtime", "vigil-runc="+e.wrapper)
	dk := func(args ...string) string {
		return run(t, "docker", append([]string{"-H", "unix://" + sock}, args...)...)
	}
	waitUp(t, "dockerd", logPath, func() error {
		return exec.Command("docker", "-H", "unix://"+sock, "version").Run()
	})
	dk("import", "-c", `CMD ["/bin/sh"]`, e.rootfs, "vigil-test/busybox:1")
	imageID := dk("image", "inspect", "-f", "{{.Id}}", "vigil-test/busybox:1")
	t.Cleanup(func() {
		_ = exec.Command("docker", "-H", "unix://"+sock, "rm", "-f", "vigil-web", "vigil-priv").Run()
	})
	webID := dk("run", "-d", "--name", "vigil-web", "--network", "none", "--label", "app=web", "--label", "tier=front",
		"-v", e.volume+":/data:ro", "vigil-test/busybox:1", "sleep", "600")
	privID := dk("run", "-d", "--name", "vigil-priv", "--network", "none", "--privileged", "--runtime", "vigil-runc",
		"vigil-test/busybox:1", "sleep", "600")

	u := &updates{ch: make(chan *Info, 8)}
	r := newTestResolver(t, Config{Sockets: []Socket{{RuntimeDocker, sock}}, OnUpdate: u.on})

	webPid, err := strconv.Atoi(dk("inspect", "-f", "{{.State.Pid}}", "vigil-web"))
	require.NoError(t, err)
	info := lookupComplete(t, r, webPid)
	require.Equal(t, webID, info.ID)
	require.Equal(t, webID[:12], info.ShortID())
	require.Equal(t, RuntimeDocker, info.Runtime)
	require.Equal(t, "vigil-web", info.Name)
	require.Equal(t, "vigil-test/busybox:1", info.Image)
	require.Equal(t, "vigil-test/busybox", info.ImageRepo)
	require.Equal(t, "1", info.ImageTag)
	require.Equal(t, imageID, info.ImageID)
	require.Equal(t, "web", info.Labels["app"])
	require.Equal(t, "front", info.Labels["tier"])
	require.False(t, info.Privileged)
	require.False(t, info.HostNetwork)
	require.Nil(t, info.Pod)
	require.InDelta(t, time.Now().UnixNano(), info.StartTS, float64(5*time.Minute))
	m := findMount(t, info, "/data")
	require.Equal(t, Mount{Source: e.volume, Dest: "/data", Mode: "ro", RW: false, Propagation: "rprivate"}, m)

	select {
	case got := <-u.ch:
		require.Equal(t, webID, got.ID)
		require.True(t, got.Complete)
	case <-time.After(5 * time.Second):
		t.Fatal("OnUpdate not called")
	}

	privPid, err := strconv.Atoi(dk("inspect", "-f", "{{.State.Pid}}", "vigil-priv"))
	require.NoError(t, err)
	priv := lookupComplete(t, r, privPid)
	require.Equal(t, privID, priv.ID)
	require.Equal(t, "vigil-priv", priv.Name)
	require.True(t, priv.Privileged)

	// Removal: the entry expires with the cgroup.
	dk("rm", "-f", "vigil-web")
	require.Eventually(t, func() bool {
		r.Sweep()
		for _, c := range r.Containers() {
			if c.ID == webID {
				return false
			}
		}
		return true
	}, 10*time.Second, 100*time.Millisecond)
	require.GreaterOrEqual(t, r.Stats().Expired, uint64(1))
}

func TestPodman(t *testing.T) {
	e := newRTEnv(t, "podman", "conmon")
	cleanCgroupParents(t, "libpod_parent")
	sock := filepath.Join(e.dir, "podman.sock")
	logPath := filepath.Join(e.dir, "podman.log")
	global := []string{
		"--root", filepath.Join(e.dir, "root"), "--runroot", filepath.Join(e.dir, "run"),
		"--tmpdir", filepath.Join(e.dir, "tmp"), "--storage-driver", "vfs",
		"--cgroup-manager", "cgroupfs", "--events-backend", "file", "--runtime", e.wrapper,
	}
	pm := func(args ...string) string {
		return run(t, "podman", append(append([]string{}, global...), args...)...)
	}
	daemon(t, logPath, "podman", append(append([]string{}, global...), "system", "service", "--time=0", "unix://"+sock)...)
	waitUp(t, "podman system service", logPath, func() error {
		_, err := os.Stat(sock)
		return err
	})
	pm("import", "--change", `CMD ["/bin/sh"]`, e.rootfs, "localhost/vigil-test/busybox:1")
	t.Cleanup(func() {
		_ = exec.Command("podman", append(append([]string{}, global...), "rm", "-f", "-t", "0", "vigil-web", "vigil-priv")...).Run()
	})
	webID := pm("run", "-d", "--name", "vigil-web", "--network", "none", "--label", "app=web",
		"-v", e.volume+":/data:ro", "localhost/vigil-test/busybox:1", "sleep", "600")
	privID := pm("run", "-d", "--name", "vigil-priv", "--network", "none", "--privileged",
		"localhost/vigil-test/busybox:1", "sleep", "600")

	r := newTestResolver(t, Config{Sockets: []Socket{{RuntimePodman, sock}}})
	webPid, err := strconv.Atoi(pm("inspect", "-f", "{{.State.Pid}}", "vigil-web"))
	require.NoError(t, err)
	info := lookupComplete(t, r, webPid)
	require.Equal(t, webID, info.ID)
	require.Equal(t, RuntimePodman, info.Runtime)
	require.Equal(t, "vigil-web", info.Name)
	require.Equal(t, "localhost/vigil-test/busybox:1", info.Image)
	require.Equal(t, "localhost/vigil-test/busybox", info.ImageRepo)
	require.NotEmpty(t, info.ImageID)
	require.Equal(t, "web", info.Labels["app"])
	require.False(t, info.Privileged)
	m := findMount(t, info, "/data")
	require.Equal(t, e.volume, m.Source)
	require.False(t, m.RW)

	privPid, err := strconv.Atoi(pm("inspect", "-f", "{{.State.Pid}}", "vigil-priv"))
	require.NoError(t, err)
	priv := lookupComplete(t, r, privPid)
	require.Equal(t, privID, priv.ID)
	require.True(t, priv.Privileged)
}

func TestContainerd(t *testing.T) {
	e := newRTEnv(t, "containerd", "ctr")
	cleanCgroupParents(t, "vigil")
	sock := filepath.Join(e.dir, "containerd.sock")
	logPath := filepath.Join(e.dir, "containerd.log")
	cfg := filepath.Join(e.dir, "config.toml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
`, filepath.Join(e.dir, "root"), filepath.Join(e.dir, "state"), sock)), 0o644))
	daemon(t, logPath, "containerd", "--config", cfg)
	ctr := func(args ...string) string {
		return run(t, "ctr", append([]string{"--address", sock, "--namespace", "vigil"}, args...)...)
	}
	waitUp(t, "containerd", logPath, func() error {
		return exec.Command("ctr", "--address", sock, "version").Run()
	})
	rootfs := filepath.Join(e.dir, "rootfs")
	require.NoError(t, os.Mkdir(rootfs, 0o755))
	run(t, "tar", "-C", rootfs, "-xf", e.rootfs)

	id := strings.Repeat("c0", 32)
	privID := strings.Repeat("c1", 32)
	t.Cleanup(func() {
		for _, c := range []string{id, privID} {
			_ = exec.Command("ctr", "--address", sock, "--namespace", "vigil", "task", "kill", "-s", "KILL", c).Run()
			time.Sleep(200 * time.Millisecond)
			_ = exec.Command("ctr", "--address", sock, "--namespace", "vigil", "task", "delete", "-f", c).Run()
			_ = exec.Command("ctr", "--address", sock, "--namespace", "vigil", "container", "delete", c).Run()
		}
	})
	ctr("run", "-d", "--runc-binary", e.wrapper, "--rootfs", "--label", "app=web",
		"--mount", "type=bind,src="+e.volume+",dst=/data,options=rbind:ro", rootfs, id, "/bin/sleep", "600")
	privRootfs := filepath.Join(e.dir, "rootfs2")
	require.NoError(t, os.Mkdir(privRootfs, 0o755))
	run(t, "tar", "-C", privRootfs, "-xf", e.rootfs)
	ctr("run", "-d", "--runc-binary", e.wrapper, "--rootfs", "--privileged", privRootfs, privID, "/bin/sleep", "600")

	r := newTestResolver(t, Config{Sockets: []Socket{{RuntimeContainerd, sock}}})
	pid := taskPid(t, sock, id)
	info := lookupComplete(t, r, pid)
	require.Equal(t, id, info.ID)
	require.Equal(t, RuntimeContainerd, info.Runtime)
	require.Equal(t, "/vigil/"+id, info.CgroupPath)
	require.Equal(t, "web", info.Labels["app"])
	require.False(t, info.Privileged)
	require.False(t, info.HostPID)
	m := findMount(t, info, "/data")
	require.Equal(t, Mount{Source: e.volume, Dest: "/data", Mode: "ro", RW: false, Propagation: "rprivate"}, m)

	priv := lookupComplete(t, r, taskPid(t, sock, privID))
	require.Equal(t, privID, priv.ID)
	require.True(t, priv.Privileged)
}

func taskPid(t *testing.T, sock, id string) int {
	t.Helper()
	var pid int
	require.Eventually(t, func() bool {
		out, err := exec.Command("ctr", "--address", sock, "--namespace", "vigil", "task", "ls").Output()
		if err != nil {
			return false
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) >= 3 && f[0] == id && f[2] == "RUNNING" {
				pid, err = strconv.Atoi(f[1])
				return err == nil
			}
		}
		return false
	}, 10*time.Second, 100*time.Millisecond)
	return pid
}
