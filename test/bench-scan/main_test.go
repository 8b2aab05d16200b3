package benchscan

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

var (
	moduleRoot string
	vigilBin   string
)

// rusageEnv, set in the environment of the test binary run as a helper,
// names the file where the helper writes the peak RSS of its command.
const rusageEnv = "VIGIL_BENCH_RUSAGE_OUT"

func TestMain(m *testing.M) {
	if out := os.Getenv(rusageEnv); out != "" {
		os.Exit(rusageHelper(out, os.Args[1:]))
	}
	os.Exit(testMain(m))
}

// rusageHelper runs args and writes its ru_maxrss in bytes to out. The
// helper is a fresh small process: Go starts children with CLONE_VM, and
// Linux folds the parent's peak RSS into the child's ru_maxrss at exec, so
// measuring from the test process itself would count the test's memory.
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
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		fmt.Fprintln(os.Stderr, "rusage helper: no rusage")
		return 125
	}
	if err := os.WriteFile(out, fmt.Appendf(nil, "%d", ru.Maxrss*1024), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "rusage helper:", err)
		return 125
	}
	if cmd.ProcessState.ExitCode() < 0 {
		return 125
	}
	return cmd.ProcessState.ExitCode()
}

func testMain(m *testing.M) int {
	if os.Getenv("VIGIL_BENCH_SCAN") == "" {
		// Nothing to build: every test skips.
		return m.Run()
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-scan:", err)
		return 1
	}
	moduleRoot = filepath.Join(wd, "..", "..")
	dir, err := os.MkdirTemp("", "vigil-bench-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-scan:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	vigilBin = os.Getenv("VIGIL_BENCH_VIGIL")
	if vigilBin == "" {
		vigilBin = filepath.Join(dir, "vigil")
		build := exec.Command("go", "build", "-trimpath", "-o", vigilBin, "./cmd/vigil")
		build.Dir = moduleRoot
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "bench-scan: go build ./cmd/vigil: %v\n%s", err, out)
			return 1
		}
	}
	return m.Run()
}
