// Package sensor loads Vigil's eBPF runtime sensor and decodes its records.
//
// The BPF C source is bpf/sensor.bpf.c (vmlinux.h is the running kernel's
// BTF as C). The compiled objects and their Go bindings
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
// The programs are BTF tracepoints (tp_btf) on sched_process_exec,
// sched_process_fork, sched_process_exit and sys_exit: no kprobe, fentry or
// LSM program, so the sensor runs where only tracepoints are allowed. They
// need a kernel with BTF, the BPF ring buffer (5.8+) and root (CAP_BPF +
// CAP_PERFMON). Which system calls are captured is decided per syscall in
// the kernel from Config.Syscalls: the others cost one array lookup.
package sensor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// DefaultRingBufferBytes is the ring buffer size used when Config leaves it zero.
const DefaultRingBufferBytes = 8 << 20

// DefaultWakeupBytes is how much data the kernel lets pile up in the ring
// buffer before it wakes the reader, when Config leaves it zero.
const DefaultWakeupBytes = 256 << 10

// DefaultPollInterval bounds how long a record waits in the ring buffer
// when fewer than WakeupBytes are pending.
const DefaultPollInterval = 50 * time.Millisecond

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("sensor closed")

// Config configures Open.
type Config struct {
	// RingBufferBytes is the BPF ring buffer size: a power of two and a
	// multiple of the page size. Zero means DefaultRingBufferBytes.
	RingBufferBytes int
	// Syscalls names the system calls to capture (at their exit), e.g.
	// "openat", "connect". Unknown names are an error; names that do not
	// exist on this architecture (open on arm64) are skipped and reported
	// by Sensor.Skipped. Process exec, fork and exit are always captured.
	Syscalls []string
	// WakeupBytes batches wake-ups: the kernel wakes the reader once this
	// many bytes are pending (or for exec records); otherwise the reader
	// polls every PollInterval. Negative means wake on every record; zero
	// means DefaultWakeupBytes.
	WakeupBytes int
	// PollInterval: see WakeupBytes. Zero means DefaultPollInterval.
	PollInterval time.Duration
}

// ProgramError reports a BPF program that could not be loaded or attached;
// the other programs still run.
type ProgramError struct {
	Program string
	Err     error
}

func (e *ProgramError) Error() string { return fmt.Sprintf("program %s: %v", e.Program, e.Err) }
func (e *ProgramError) Unwrap() error { return e.Err }

// Sensor is a loaded and attached sensor.
type Sensor struct {
	maps     sensorMaps
	progs    []*ebpf.Program
	links    []link.Link
	reader   *ringbuf.Reader
	rec      ringbuf.Record
	rd       Record
	poll     time.Duration
	bootNs   int64 // epoch ns of boot: add to CLOCK_BOOTTIME stamps
	failed   []*ProgramError
	skipped  []string
	captured []string
	closed   atomic.Bool
}

// Open loads the BPF programs, attaches them and opens the ring buffer. The
// calling process is added to the ignore list. A program the verifier
// rejects or that cannot attach is reported by Failed and the others run;
// Open fails only when none can run. ctx is checked before the kernel work
// starts; loading itself is not interruptible.
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
	descs, skipped, err := syscallDescs(cfg.Syscalls)
	if err != nil {
		return nil, err
	}
	wake := cfg.WakeupBytes
	switch {
	case wake == 0:
		wake = DefaultWakeupBytes
	case wake < 0:
		wake = 0
	}
	if wake >= size/2 {
		wake = size / 4
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
	if v, ok := spec.Variables["wakeup_bytes"]; ok {
		if err := v.Set(uint64(wake)); err != nil {
			return nil, fmt.Errorf("set wakeup_bytes: %w", err)
		}
	}

	s := &Sensor{poll: cfg.PollInterval, skipped: skipped}
	if s.poll <= 0 {
		s.poll = DefaultPollInterval
	}
	var bt unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &bt); err != nil {
		return nil, fmt.Errorf("read CLOCK_BOOTTIME: %w", err)
	}
	s.bootNs = time.Now().UnixNano() - bt.Nano()

	if err := spec.LoadAndAssign(&s.maps, nil); err != nil {
		return nil, fmt.Errorf("create sensor maps: %w", err)
	}
	self := uint32(os.Getpid())
	if err := s.Ignore(self); err != nil {
		s.Close()
		return nil, err
	}
	for nr, d := range descs {
		if err := s.maps.Syscalls.Put(uint32(nr), d.raw); err != nil {
			s.Close()
			return nil, fmt.Errorf("enable syscall %s: %w", d.name, err)
		}
		s.captured = append(s.captured, d.name)
	}
	slices.Sort(s.captured)

	replace := map[string]*ebpf.Map{
		sensorMapEvents:      s.maps.Events,
		sensorMapDrops:       s.maps.Drops,
		sensorMapSubmitted:   s.maps.Submitted,
		sensorMapIgnoreTgids: s.maps.IgnoreTgids,
		sensorMapSyscalls:    s.maps.Syscalls,
		sensorMapScratchMap:  s.maps.ScratchMap,
		sensorMapExecScratch: s.maps.ExecScratch,
		sensorMapPathScratch: s.maps.PathScratch,
	}
	progs := []string{sensorProgHandleExec, sensorProgHandleFork, sensorProgHandleExit}
	if len(descs) > 0 {
		progs = append(progs, sensorProgHandleSysExit)
	}
	for _, name := range progs {
		prog, err := loadProgram(spec, name, replace)
		if err != nil {
			s.failed = append(s.failed, &ProgramError{Program: name, Err: err})
			continue
		}
		l, err := link.AttachTracing(link.TracingOptions{Program: prog, AttachType: ebpf.AttachTraceRawTp})
		if err != nil {
			prog.Close()
			s.failed = append(s.failed, &ProgramError{Program: name, Err: fmt.Errorf("attach: %w", err)})
			continue
		}
		s.progs = append(s.progs, prog)
		s.links = append(s.links, l)
	}
	if len(s.links) == 0 {
		errs := make([]error, len(s.failed))
		for i, f := range s.failed {
			errs[i] = f
		}
		s.Close()
		return nil, fmt.Errorf("load sensor: no program could run: %w", errors.Join(errs...))
	}

	s.reader, err = ringbuf.NewReader(s.maps.Events)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open ring buffer %s: %w", sensorMapEvents, err)
	}
	return s, nil
}

// loadProgram loads one program of spec, sharing the already created maps.
func loadProgram(spec *ebpf.CollectionSpec, name string, maps map[string]*ebpf.Map) (*ebpf.Program, error) {
	ps, ok := spec.Programs[name]
	if !ok {
		return nil, errors.New("not in the object file")
	}
	one := spec.Copy()
	one.Programs = map[string]*ebpf.ProgramSpec{name: ps.Copy()}
	coll, err := ebpf.NewCollectionWithOptions(one, ebpf.CollectionOptions{MapReplacements: maps})
	if err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			// %+v keeps the full verifier log.
			return nil, fmt.Errorf("%w\nverifier log:\n%+v", err, verr)
		}
		return nil, err
	}
	prog := coll.DetachProgram(name)
	coll.Close() // the maps are ours or per-program copies of .rodata, kept alive by prog
	return prog, nil
}

// Failed lists the programs that could not be loaded or attached.
func (s *Sensor) Failed() []*ProgramError { return slices.Clone(s.failed) }

// Skipped lists the requested syscalls that do not exist on this
// architecture.
func (s *Sensor) Skipped() []string { return slices.Clone(s.skipped) }

// Captured lists the syscalls captured in the kernel, sorted.
func (s *Sensor) Captured() []string { return slices.Clone(s.captured) }

// Ignore adds a process id (tgid) whose events the kernel discards before
// reserving ring buffer space.
func (s *Sensor) Ignore(tgid uint32) error {
	if err := s.maps.IgnoreTgids.Put(tgid, uint8(1)); err != nil {
		return fmt.Errorf("ignore tgid %d: %w", tgid, err)
	}
	return nil
}

// Unignore removes a process id added by Ignore.
func (s *Sensor) Unignore(tgid uint32) error {
	if err := s.maps.IgnoreTgids.Delete(tgid); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("unignore tgid %d: %w", tgid, err)
	}
	return nil
}

// Read blocks, calling fn for every record, until ctx is cancelled (it then
// returns ctx.Err()), fn returns an error (returned as is), or the sensor is
// closed (ErrClosed). The record passed to fn is reused: fn must not retain
// it or the slices it returns. A record that cannot be decoded is counted
// (Malformed) and skipped. Read must not be called concurrently.
func (s *Sensor) Read(ctx context.Context, fn func(*Record) error) error {
	stop := context.AfterFunc(ctx, func() { _ = s.reader.Flush() })
	defer stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.reader.SetDeadline(time.Now().Add(s.poll))
		err := s.reader.ReadInto(&s.rec)
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, ringbuf.ErrFlushed):
			continue
		case errors.Is(err, ringbuf.ErrClosed), errors.Is(err, os.ErrClosed):
			return ErrClosed
		default:
			return fmt.Errorf("read ring buffer: %w", err)
		}
		if err := s.rd.decode(s.rec.RawSample, s.bootNs); err != nil {
			malformed.Add(1)
			continue
		}
		if err := fn(&s.rd); err != nil {
			return err
		}
	}
}

// malformed counts records that could not be decoded (a version mismatch
// between the object and this decoder; never expected).
var malformed atomic.Uint64

// Malformed returns how many records could not be decoded.
func Malformed() uint64 { return malformed.Load() }

// Stats are the sensor's counters.
type Stats struct {
	Submitted uint64 // records written to the ring buffer
	Drops     uint64 // records lost because the ring buffer was full
	Malformed uint64 // records user space could not decode
}

// Stats sums the per-CPU counters. It returns zeros once the sensor is
// closed.
func (s *Sensor) Stats() Stats {
	return Stats{Submitted: sumPerCPU(s.maps.Submitted), Drops: sumPerCPU(s.maps.Drops), Malformed: Malformed()}
}

// Drops returns how many records the kernel could not reserve ring buffer
// space for, summed over CPUs.
func (s *Sensor) Drops() uint64 { return sumPerCPU(s.maps.Drops) }

func sumPerCPU(m *ebpf.Map) uint64 {
	if m == nil {
		return 0
	}
	var perCPU []uint64
	if err := m.Lookup(uint32(0), &perCPU); err != nil {
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
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	var errs []error
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	for _, l := range s.links {
		errs = append(errs, l.Close())
	}
	for _, p := range s.progs {
		errs = append(errs, p.Close())
	}
	s.links, s.progs = nil, nil
	errs = append(errs, s.maps.Close())
	return errors.Join(errs...)
}

// cstr returns b up to its first NUL.
func cstr(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

func int8Bytes(s []int8) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s))
}
