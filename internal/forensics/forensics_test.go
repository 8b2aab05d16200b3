package forensics

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/respond/target"
)

func busybox(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("busybox")
	if err != nil {
		t.Skipf("busybox-static not installed (scripts/deps.sh installs it): %v", err)
	}
	return p
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestCaptureProcess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("capture reads other processes' environ and mem: needs root")
	}
	bb := busybox(t)
	port := freePort(t)
	sh := exec.Command(bb, "sh", "-c", fmt.Sprintf("%s nc -l -p %d >/dev/null & wait", bb, port))
	sh.Env = []string{"PATH=/bin", "VIGIL_TEST_MARKER=planted-42"}
	sh.SysProcAttr = &unix.SysProcAttr{Setpgid: true}
	require.NoError(t, sh.Start())
	t.Cleanup(func() {
		_ = unix.Kill(-sh.Process.Pid, unix.SIGKILL)
		_ = sh.Wait()
	})
	waitListen(t, port)

	for _, name := range []string{"bundle", "bundle.tar.gz"} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), name)
			res, err := Capture(context.Background(), Options{
				Target: strconv.Itoa(sh.Process.Pid), Output: out, MemoryPIDs: []int{sh.Process.Pid},
				MemoryLimit: 1 << 20, Version: "test", TargetConfig: target.Config{Sockets: []container.Socket{}},
			})
			require.NoError(t, err)
			require.Equal(t, out, res.Path)
			require.GreaterOrEqual(t, res.Processes, 2, "sh and its nc child")
			m, err := Verify(out)
			require.NoError(t, err)
			require.Equal(t, "capture", m.Custody.Action)
			require.Equal(t, "test", m.Custody.Version)
			require.Equal(t, 0, m.Custody.UID)
			require.NotEmpty(t, m.Custody.Host)

			files := readBundle(t, out)
			var procs []Process
			require.NoError(t, json.Unmarshal(files["processes.json"], &procs))
			var env, listen bool
			for _, p := range procs {
				for _, e := range p.Env {
					env = env || e == "VIGIL_TEST_MARKER=planted-42"
				}
				for _, fd := range p.FDs {
					if fd.Socket != nil && fd.Socket.State == "LISTEN" && strings.HasSuffix(fd.Socket.Local, ":"+strconv.Itoa(port)) {
						listen = true
					}
				}
			}
			require.True(t, env, "environment variable of the process captured")
			require.True(t, listen, "listening socket on port %d captured", port)
			require.Contains(t, string(files["tree.txt"]), "nc -l -p "+strconv.Itoa(port))
			mem := files[fmt.Sprintf("memory/%d.bin", sh.Process.Pid)]
			require.NotEmpty(t, mem)
			require.LessOrEqual(t, len(mem), 1<<20)
			require.Contains(t, files, fmt.Sprintf("proc/%d/maps", sh.Process.Pid))
		})
	}
}

func waitListen(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
			b, _ := os.ReadFile(f)
			for _, l := range strings.Split(string(b), "\n") {
				fl := strings.Fields(l)
				if len(fl) > 3 && strings.HasSuffix(fl[1], fmt.Sprintf(":%04X", port)) && fl[3] == "0A" {
					return
				}
			}
		}
		require.True(t, time.Now().Before(deadline), "nothing listens on %d", port)
		time.Sleep(20 * time.Millisecond)
	}
}

// readBundle returns the files of a bundle directory or tar.gz by name.
func readBundle(t *testing.T, p string) map[string][]byte {
	t.Helper()
	if strings.HasSuffix(p, ".tar.gz") {
		dir := t.TempDir()
		out, err := exec.Command("tar", "-xzf", p, "-C", dir).CombinedOutput()
		require.NoError(t, err, "%s", out)
		p = dir
	}
	files := map[string][]byte{}
	require.NoError(t, filepath.Walk(p, func(fp string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		r, _ := filepath.Rel(p, fp)
		b, err := os.ReadFile(fp)
		files[filepath.ToSlash(r)] = b
		return err
	}))
	return files
}

func TestVerifyDetectsTampering(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("capture reads other processes' environ: needs root")
	}
	bb := busybox(t)
	cmd := exec.Command(bb, "sleep", "60")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	dir := filepath.Join(t.TempDir(), "b")
	_, err := Capture(context.Background(), Options{Target: strconv.Itoa(cmd.Process.Pid), Output: dir,
		TargetConfig: target.Config{Sockets: []container.Socket{}}})
	require.NoError(t, err)
	_, err = Verify(dir)
	require.NoError(t, err)

	tests := []struct {
		name   string
		tamper func(t *testing.T)
		undo   func(t *testing.T)
		want   string
	}{
		{"changed file", func(t *testing.T) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "tree.txt"), []byte("nothing here\n"), 0o600))
		}, nil, "tree.txt: size"},
		{"same size", func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, "target.json"))
			require.NoError(t, err)
			b[len(b)-2] ^= 1
			require.NoError(t, os.WriteFile(filepath.Join(dir, "target.json"), b, 0o600))
		}, nil, "target.json: sha256"},
		{"missing file", func(t *testing.T) {
			require.NoError(t, os.Remove(filepath.Join(dir, "notes.json")))
		}, nil, "notes.json: missing"},
		{"extra file", func(t *testing.T) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "planted"), []byte("x"), 0o600))
		}, nil, "planted: not in the manifest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Each case starts from a fresh copy of the good bundle.
			fresh := filepath.Join(t.TempDir(), "b")
			out, err := exec.Command("cp", "-a", dir, fresh).CombinedOutput()
			require.NoError(t, err, "%s", out)
			orig := dir
			dir = fresh
			defer func() { dir = orig }()
			tc.tamper(t)
			_, err = Verify(fresh)
			require.ErrorIs(t, err, ErrMismatch)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestCaptureFaults(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	bb := busybox(t)
	cmd := exec.Command(bb, "sleep", "60")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := strconv.Itoa(cmd.Process.Pid)

	gone := exec.Command(bb, "true")
	require.NoError(t, gone.Run())

	ro := t.TempDir()
	require.NoError(t, unix.Mount("tmpfs", ro, "tmpfs", unix.MS_RDONLY, "size=1m"))
	t.Cleanup(func() { _ = unix.Unmount(ro, 0) })

	exists := t.TempDir()
	tests := []struct {
		name, target, out, want string
	}{
		{"gone pid", strconv.Itoa(gone.Process.Pid), filepath.Join(t.TempDir(), "b"), "target not found"},
		{"unknown container", "deadbeefcafe", filepath.Join(t.TempDir(), "b"), "target not found"},
		{"unwritable output", pid, filepath.Join(ro, "b.tar.gz"), "read-only file system"},
		{"output exists", pid, exists, "exists"},
		{"missing parent", pid, filepath.Join(t.TempDir(), "no", "such", "b"), "no such file"},
		{"pid 1", "1", filepath.Join(t.TempDir(), "b"), "refusing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Capture(context.Background(), Options{Target: tc.target, Output: tc.out,
				TargetConfig: target.Config{Sockets: []container.Socket{}}})
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			if tc.name != "output exists" {
				_, serr := os.Stat(tc.out)
				require.True(t, os.IsNotExist(serr), "no bundle at %s", tc.out)
				left, _ := filepath.Glob(filepath.Join(filepath.Dir(tc.out), ".vigil-capture-*"))
				require.Empty(t, left, "no staging directory left")
			}
		})
	}
}

func TestCollectChanges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("whiteouts (mknod) and trusted.* xattrs need root")
	}
	lower, upper, stage := t.TempDir(), t.TempDir(), t.TempDir()
	for _, f := range []string{"etc/passwd", "etc/hosts", "bin/sh"} {
		require.NoError(t, os.MkdirAll(filepath.Join(lower, filepath.Dir(f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(lower, f), []byte("lower "+f), 0o644))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(upper, "etc"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(upper, "tmp/drop"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(upper, "etc/passwd"), []byte("evil::0:0::/:/bin/sh\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(upper, "tmp/drop/miner"), []byte("\x7fELF miner"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(upper, "tmp/big"), make([]byte, 2048), 0o644))
	require.NoError(t, os.Symlink("/etc/shadow", filepath.Join(upper, "tmp/link")))
	require.NoError(t, unix.Mknod(filepath.Join(upper, "etc/hosts"), unix.S_IFCHR, 0))
	require.NoError(t, unix.Setxattr(filepath.Join(upper, "tmp/drop"), "trusted.overlay.opaque", []byte("y"), 0))

	b := newBundleWriter(stage)
	changes, err := collectChanges(b, &Overlay{Upper: upper, Lower: []string{lower}}, diffLimits{maxFile: 1024, maxTotal: 1 << 20, maxFiles: 100})
	require.NoError(t, err)
	got := map[string]Change{}
	for _, c := range changes {
		got[c.Path] = c
	}
	require.Equal(t, "modified", got["/etc/passwd"].Kind)
	require.Equal(t, "fs/upper/etc/passwd", got["/etc/passwd"].Captured)
	require.Equal(t, "deleted", got["/etc/hosts"].Kind)
	require.Equal(t, "added", got["/tmp/drop/miner"].Kind)
	require.Equal(t, "opaque-dir", got["/tmp/drop"].Kind)
	require.Equal(t, "symlink", got["/tmp/link"].Type)
	require.Equal(t, "/etc/shadow", got["/tmp/link"].Link)
	require.Contains(t, got["/tmp/big"].Skipped, "larger than 1024")
	require.NotContains(t, got, "/etc", "a directory copied up for its contents is not a change")
	data, err := os.ReadFile(filepath.Join(stage, "fs/upper/tmp/drop/miner"))
	require.NoError(t, err)
	require.Equal(t, "\x7fELF miner", string(data))
}

func TestParseOverlayMountinfo(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "7"), 0o755))
	mi := `1 0 0:1 / / rw - ext4 /dev/sda rw
2 1 0:50 / / rw,relatime - overlay overlay rw,lowerdir=/l/a\:b:/l/c,upperdir=/var/lib/x\040y/diff,workdir=/w
3 2 0:5 / /proc rw - proc proc rw
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "7", "mountinfo"), []byte(mi), 0o644))
	ov, err := findOverlay(dir, 7)
	require.NoError(t, err)
	require.Equal(t, "/var/lib/x y/diff", ov.Upper)
	require.Equal(t, []string{"/l/a:b", "/l/c"}, ov.Lower)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "7", "mountinfo"), []byte("1 0 0:1 / / rw - ext4 /dev/sda rw\n"), 0o644))
	_, err = findOverlay(dir, 7)
	require.ErrorContains(t, err, "not an overlay")
}

func TestHexAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90":                         "127.0.0.1:8080",
		"00000000000000000000000001000000:0016": "[::1]:22",
		"garbage":                               "garbage",
	} {
		require.Equal(t, want, hexAddr(in), in)
	}
}
