// Package sensor loads Vigil's eBPF runtime sensor and decodes its events.
//
// The BPF C sources live in bpf/ (exec.bpf.c, vmlinux.h from the running
// kernel's BTF). The compiled objects and their Go bindings
// (sensor_{x86,arm64}_bpfel.{go,o}) are committed, so building Vigil needs
// only Go. After changing the C code, regenerate them with
//
//	go generate ./internal/sensor/...
//
// which needs the Debian packages clang, llvm, libbpf-dev (bpf_helpers.h) and,
// to refresh bpf/vmlinux.h, bpftool:
//
//	bpftool btf dump file /sys/kernel/btf/vmlinux format c > internal/sensor/bpf/vmlinux.h
//
// The programs are BTF tracepoints (tp_btf) on sched_process_exec and
// sched_process_exit; they need a kernel with BTF, the BPF ring buffer
// (5.8+) and root (CAP_BPF + CAP_PERFMON).
package sensor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
)

// DefaultRingBufferBytes is the ring buffer size used when Config leaves it zero.
const DefaultRingBufferBytes = 4 << 20

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("sensor closed")

// Config configures Open.
type Config struct {
	// RingBufferBytes is the BPF ring buffer size: a power of two and a
	// multiple of the page size. Zero means DefaultRingBufferBytes.
	RingBufferBytes int
}

// Kind is the type of an ExecEvent.
type Kind uint32

// Event kinds, mirroring enum event_kind in bpf/exec.bpf.c.
const (
	KindExec Kind = Kind(sensorEventKindEVENT_KIND_EXEC)
	KindExit Kind = Kind(sensorEventKindEVENT_KIND_EXIT)
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindExec:
		return "exec"
	case KindExit:
		return "exit"
	}
	return fmt.Sprintf("kind(%d)", uint32(k))
}

// Flag bits of ExecEvent.Flags, mirroring enum event_flag.
const (
	FlagFilenameTruncated = uint32(sensorEventFlagEVENT_FLAG_FILENAME_TRUNCATED)
	FlagArgsTruncated     = uint32(sensorEventFlagEVENT_FLAG_ARGS_TRUNCATED)
	FlagArgsUnreadable    = uint32(sensorEventFlagEVENT_FLAG_ARGS_UNREADABLE)
)

// ExecEvent is one exec or exit event. Read reuses a single ExecEvent: the
// callback must copy anything it keeps, including the byte slices returned by
// Comm, Filename and Args.
type ExecEvent struct {
	raw sensorExecEvent
}

// Kind reports whether this is an exec or an exit.
func (e *ExecEvent) Kind() Kind { return Kind(e.raw.Kind) }

// PID is the kernel thread id that triggered the event.
func (e *ExecEvent) PID() uint32 { return e.raw.Pid }

// TGID is the process id (thread group id).
func (e *ExecEvent) TGID() uint32 { return e.raw.Tgid }

// PPID is the process id of the real parent.
func (e *ExecEvent) PPID() uint32 { return e.raw.Ppid }

// UID is the real user id.
func (e *ExecEvent) UID() uint32 { return e.raw.Uid }

// GID is the real group id.
func (e *ExecEvent) GID() uint32 { return e.raw.Gid }

// CgroupID is the cgroup v2 id: the inode number of the process's cgroup
// directory in the unified hierarchy.
func (e *ExecEvent) CgroupID() uint64 { return e.raw.CgroupId }

// StartTime is task->start_time: monotonic time since boot (CLOCK_MONOTONIC).
func (e *ExecEvent) StartTime() time.Duration { return time.Duration(e.raw.StartTimeNs) }

// Flags holds the Flag* truncation bits.
func (e *ExecEvent) Flags() uint32 { return e.raw.Flags }

// RawExitCode is task->exit_code of an exit event, in wait(2) status format.
func (e *ExecEvent) RawExitCode() uint32 { return e.raw.ExitCode }

// ExitStatus is the exit status (0-255) of a process that exited normally.
func (e *ExecEvent) ExitStatus() int { return int(e.raw.ExitCode>>8) & 0xff }

// Signal is the number of the signal that killed the process, or 0.
func (e *ExecEvent) Signal() int { return int(e.raw.ExitCode & 0x7f) }

// Comm is the task's command name (up to 15 bytes). The slice aliases the
// reused event.
func (e *ExecEvent) Comm() []byte {
	b := int8Bytes(e.raw.Comm[:])
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return b
}

// Filename is the path passed to execve (bprm->filename), up to 255 bytes;
// it may be relative. Empty for exit events. The slice aliases the reused event.
func (e *ExecEvent) Filename() []byte {
	if e.raw.Kind != uint32(KindExec) {
		return nil
	}
	return int8Bytes(e.raw.Filename[:min(int(e.raw.FilenameLen), len(e.raw.Filename))])
}

// Args is the start of argv (at most 256 bytes), each argument terminated
// by NUL. Empty for exit events. The slice aliases the reused event.
func (e *ExecEvent) Args() []byte {
	if e.raw.Kind != uint32(KindExec) {
		return nil
	}
	return int8Bytes(e.raw.Args[:min(int(e.raw.ArgsLen), len(e.raw.Args))])
}

func int8Bytes(s []int8) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s))
}

const rawEventSize = int(unsafe.Sizeof(sensorExecEvent{}))

// decode copies one ring buffer sample into e without allocating.
func (e *ExecEvent) decode(sample []byte) error {
	if len(sample) < rawEventSize {
		return fmt.Errorf("decode exec event: %d bytes, want %d", len(sample), rawEventSize)
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(&e.raw)), rawEventSize)
	copy(dst, sample)
	return nil
}

// Sensor is a loaded and attached exec/exit sensor.
type Sensor struct {
	objs   sensorObjects
	links  []link.Link
	reader *ringbuf.Reader
	rec    ringbuf.Record
	ev     ExecEvent
}

// Open loads the BPF programs, attaches them and opens the ring buffer. The
// calling process is added to the ignore list. ctx is checked before the
// kernel work starts; loading itself is not interruptible.
func Open(ctx context.Context, cfg Config) (*Sensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	size := cfg.RingBufferBytes
	if size == 0 {
		size = DefaultRingBufferBytes
	}
	page := os.Getpagesize()
	if size < page || size&(size-1) != 0 || size%page != 0 {
		return nil, fmt.Errorf("ring buffer size %d: must be a power of two and a multiple of the page size %d", size, page)
	}

	// Kernels >= 5.11 account BPF memory to the memcg; raising the rlimit
	// only matters on older kernels and needs CAP_SYS_RESOURCE.
	_ = rlimit.RemoveMemlock()

	spec, err := loadSensor()
	if err != nil {
		return nil, fmt.Errorf("load sensor spec: %w", err)
	}
	rb, ok := spec.Maps[sensorMapEvents]
	if !ok {
		return nil, fmt.Errorf("load sensor spec: map %s missing", sensorMapEvents)
	}
	rb.MaxEntries = uint32(size)

	s := &Sensor{}
	if err := spec.LoadAndAssign(&s.objs, nil); err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			// %+v keeps the full verifier log; the error already names the program.
			return nil, fmt.Errorf("load sensor: %w\nverifier log:\n%+v", err, verr)
		}
		return nil, fmt.Errorf("load sensor: %w", err)
	}

	self := uint32(os.Getpid())
	if err := s.Ignore(self); err != nil {
		s.Close()
		return nil, err
	}

	for _, p := range []struct {
		name string
		prog *ebpf.Program
	}{
		{sensorProgHandleExec, s.objs.HandleExec},
		{sensorProgHandleExit, s.objs.HandleExit},
	} {
		l, err := link.AttachTracing(link.TracingOptions{Program: p.prog, AttachType: ebpf.AttachTraceRawTp})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("attach program %s: %w", p.name, err)
		}
		s.links = append(s.links, l)
	}

	s.reader, err = ringbuf.NewReader(s.objs.Events)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open ring buffer %s: %w", sensorMapEvents, err)
	}
	return s, nil
}

// Ignore adds a process id (tgid) whose exec and exit events the kernel
// discards before reserving ring buffer space.
func (s *Sensor) Ignore(tgid uint32) error {
	if err := s.objs.IgnoreTgids.Put(tgid, uint8(1)); err != nil {
		return fmt.Errorf("ignore tgid %d: %w", tgid, err)
	}
	return nil
}

// Unignore removes a process id added by Ignore.
func (s *Sensor) Unignore(tgid uint32) error {
	if err := s.objs.IgnoreTgids.Delete(tgid); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("unignore tgid %d: %w", tgid, err)
	}
	return nil
}

// Read blocks, calling fn for every event, until ctx is cancelled (it then
// returns ctx.Err()), fn returns an error (returned as is), or the sensor is
// closed (ErrClosed). The event passed to fn is reused: fn must not retain
// it. Read must not be called concurrently.
func (s *Sensor) Read(ctx context.Context, fn func(*ExecEvent) error) error {
	stop := context.AfterFunc(ctx, func() { _ = s.reader.Flush() })
	defer stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := s.reader.ReadInto(&s.rec)
		switch {
		case err == nil:
		case errors.Is(err, ringbuf.ErrFlushed):
			continue
		case errors.Is(err, ringbuf.ErrClosed), errors.Is(err, os.ErrClosed):
			return ErrClosed
		default:
			return fmt.Errorf("read ring buffer: %w", err)
		}
		if err := s.ev.decode(s.rec.RawSample); err != nil {
			return err
		}
		if err := fn(&s.ev); err != nil {
			return err
		}
	}
}

// Drops returns how many events the kernel could not reserve ring buffer
// space for, summed over CPUs. It returns 0 once the sensor is closed.
func (s *Sensor) Drops() uint64 {
	var perCPU []uint64
	if err := s.objs.Drops.Lookup(uint32(0), &perCPU); err != nil {
		return 0
	}
	var n uint64
	for _, v := range perCPU {
		n += v
	}
	return n
}

// Close detaches the programs and frees the maps. It interrupts Read.
func (s *Sensor) Close() error {
	var errs []error
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	for _, l := range s.links {
		errs = append(errs, l.Close())
	}
	s.links = nil
	errs = append(errs, s.objs.Close())
	return errors.Join(errs...)
}
