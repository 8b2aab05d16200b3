package e2e

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Version and commit stamped into the binary under test by TestMain.
const (
	testVersion = "1.2.3"
	testCommit  = "abc123"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	vigilBin   string // the binary built by TestMain
	moduleRoot string // the directory holding go.mod
)

func TestMain(m *testing.M) {
	if out := os.Getenv(rusageEnv); out != "" {
		os.Exit(rusageHelper(out, os.Args[1:]))
	}
	os.Exit(testMain(m))
}

// rusageEnv, set in the environment of the test binary run as a helper,
// names the file where the helper writes the peak RSS of the command it
// runs.
const rusageEnv = "VIGIL_E2E_RUSAGE_OUT"

// rusageHelper runs args[0] with args[1:] and standard I/O inherited, writes
// its ru_maxrss in bytes to out and exits with its exit code.
//
// Why a helper: Go starts children with vfork (CLONE_VM), and at exec Linux
// folds the peak RSS of the address space being left, the parent's, into
// the child's ru_maxrss. Measured straight from a test process that has held
// 300 MB, /bin/true reports 300 MB. The helper is a fresh small process, so
// the RSS of the command it starts is the command's own.
func rusageHelper(out string, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "rusage helper: no command")
		return 125
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintln(os.Stderr, "rusage helper:", err)
		return 125
	}
	st := cmd.ProcessState
	ru, _ := st.SysUsage().(*syscall.Rusage)
	if ru == nil {
		fmt.Fprintln(os.Stderr, "rusage helper: no rusage")
		return 125
	}
	status := "exit"
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		status = "signal " + ws.Signal().String()
	}
	if err := os.WriteFile(out, fmt.Appendf(nil, "%d %s", ru.Maxrss*1024, status), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "rusage helper:", err)
		return 125
	}
	if st.ExitCode() < 0 {
		return 125
	}
	return st.ExitCode()
}

func testMain(m *testing.M) int {
	root, err := findModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	moduleRoot = root
	dir, err := os.MkdirTemp("", "vigil-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	vigilBin = filepath.Join(dir, "vigil")
	build := exec.Command("go", "build", "-o", vigilBin,
		"-ldflags", "-X main.version="+testVersion+" -X main.commit="+testCommit, "./cmd/vigil")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/vigil: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// findModuleRoot returns the nearest directory above the working directory
// holding go.mod.
func findModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// realDir is the directory of the real kube-apiserver captures.
func realDir() string { return filepath.Join(moduleRoot, "ruleset", "testdata", "real") }

// cmdTimeout bounds every run of the binary.
const cmdTimeout = 2 * time.Minute

// invocation describes one run of the binary. Nil Stdout or Stderr are
// captured into the result.
type invocation struct {
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Dir    string
	// MeasureRSS runs the binary under a small helper process so that
	// result.MaxRSS is its own peak RSS (see rusageHelper). Without it,
	// MaxRSS also counts the peak RSS of the test process.
	MeasureRSS bool
}

// result is what a run of the binary produced.
type result struct {
	Stdout string
	Stderr string
	Code   int
	MaxRSS int64 // bytes
	Wall   time.Duration
}

// run runs the binary and fails the test if it cannot be started, is killed
// by a signal or crashes with a Go panic or stack trace on captured stderr.
func run(t testing.TB, inv invocation) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, vigilBin, inv.Args...)
	var rusageOut string
	if inv.MeasureRSS {
		rusageOut = filepath.Join(t.TempDir(), "rusage")
		self, err := os.Executable()
		require.NoError(t, err)
		cmd = exec.CommandContext(ctx, self, append([]string{vigilBin}, inv.Args...)...)
		cmd.Env = append(os.Environ(), rusageEnv+"="+rusageOut)
	}
	cmd.Dir = inv.Dir
	cmd.Stdin = inv.Stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = inv.Stdout, inv.Stderr
	if cmd.Stdout == nil {
		cmd.Stdout = &stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &stderr
	}
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("vigil %s: %v", strings.Join(inv.Args, " "), err)
	}
	st := cmd.ProcessState
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Fatalf("vigil %s: killed by %s (timeout %s)\nstderr:\n%s", strings.Join(inv.Args, " "), ws.Signal(), cmdTimeout, tail(stderr.String()))
	}
	r := result{Stdout: stdout.String(), Stderr: stderr.String(), Code: st.ExitCode(), Wall: wall}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSS = ru.Maxrss * 1024 // kilobytes on Linux
	}
	if inv.MeasureRSS {
		data, err := os.ReadFile(rusageOut)
		require.NoError(t, err, "rusage helper: exit %d, stderr:\n%s", r.Code, tail(r.Stderr))
		var status string
		_, err = fmt.Sscanf(string(data), "%d %s", &r.MaxRSS, &status)
		require.NoError(t, err, "rusage helper output %q", data)
		require.Equal(t, "exit", status, "vigil %s: %s", strings.Join(inv.Args, " "), data)
	}
	assertNoCrash(t, inv.Args, r.Stderr)
	return r
}

// vigil runs the binary with args and captures its output.
func vigil(t testing.TB, args ...string) result {
	t.Helper()
	return run(t, invocation{Args: args})
}

// assertNoCrash fails if stderr holds a Go panic or goroutine dump.
func assertNoCrash(t testing.TB, args []string, stderr string) {
	t.Helper()
	for _, s := range []string{"panic:", "goroutine "} {
		if strings.Contains(stderr, s) {
			t.Fatalf("vigil %s: stderr contains %q:\n%s", strings.Join(args, " "), s, tail(stderr))
		}
	}
}

// tail returns the end of s, for messages.
func tail(s string) string {
	const n = 4000
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// lines splits s into its lines, without a last empty one.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// golden compares got with the golden file path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing: run go test ./test/e2e/ -update")
	require.Equal(t, string(want), string(got), "output differs from %s (run with -update to rewrite it)", path)
}

// copyFile copies src to dst.
func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, data, 0o644))
}
