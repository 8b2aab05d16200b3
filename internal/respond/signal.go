package respond

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/internal/respond/target"
)

// pidfd opens p with pidfd_open and checks, after opening, that the pid
// still has p's start time: the descriptor then refers to that very
// process whatever happens to the pid later.
func pidfd(procRoot string, p target.Proc) (int, error) {
	fd, err := unix.PidfdOpen(p.PID, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return -1, fmt.Errorf("pid %d: %w", p.PID, target.ErrGone)
		}
		return -1, fmt.Errorf("pidfd_open %d: %w", p.PID, err)
	}
	if err := target.Check(procRoot, p); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// signal sends sig to the process p is, never to a process that reused
// its pid. A process already gone is not an error when gone is true.
func signal(procRoot string, p target.Proc, sig unix.Signal) error {
	fd, err := pidfd(procRoot, p)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("pid %d: %w", p.PID, target.ErrGone)
		}
		return fmt.Errorf("signal %d to pid %d: %w", sig, p.PID, err)
	}
	return nil
}

// waitExit waits until the process behind the pidfd has exited.
func waitExit(ctx context.Context, fd int) error {
	for {
		ms := 50
		if dl, ok := ctx.Deadline(); ok {
			if d := time.Until(dl); d < 50*time.Millisecond {
				ms = int(d / time.Millisecond)
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, max(ms, 1))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
		if n > 0 {
			return nil
		}
	}
}

// signalAll sends sig to every process of the target (re-read first);
// processes that exit meanwhile are skipped.
func signalAll(t *target.Target, sig unix.Signal) (int, error) {
	if err := t.Refresh(); err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, p := range t.Procs {
		err := signal(t.ProcRoot(), p, sig)
		switch {
		case err == nil:
			n++
		case errors.Is(err, target.ErrGone), errors.Is(err, target.ErrReused):
		default:
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// waitGone waits until the container has no process left.
func waitGone(ctx context.Context, t *target.Target) error {
	for {
		if err := t.Refresh(); errors.Is(err, target.ErrGone) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s still has %d processes: %w", t.Name(), len(t.Procs), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// KillProcess sends SIGKILL to pid, only if it is still the process that
// started at startTime (clock ticks since boot, /proc/PID/stat field 22),
// and waits for it to exit.
func (r *Responder) KillProcess(ctx context.Context, pid int, startTime uint64) (*Outcome, error) {
	spec := fmt.Sprintf("%d", pid)
	return r.run(ActionKillProcess, spec, func(o *Outcome) error {
		if pid <= 1 {
			return fmt.Errorf("pid %d: refusing", pid)
		}
		p := target.Proc{PID: pid, StartTime: startTime}
		o.Resolved = fmt.Sprintf("%d@%d", pid, startTime)
		o.Method = "pidfd_send_signal SIGKILL"
		fd, err := pidfd(r.cfg.Target.ProcRoot, p)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
			return fmt.Errorf("kill pid %d: %w", pid, err)
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := waitExit(wctx, fd); err != nil {
			return fmt.Errorf("pid %d did not exit after SIGKILL: %w", pid, err)
		}
		return nil
	})
}
