package sensor

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"unsafe"
)

// Kind is the type of a Record.
type Kind uint32

// Record kinds, mirroring enum event_kind in bpf/sensor.bpf.c.
const (
	KindExec    Kind = Kind(sensorEventKindEVENT_KIND_EXEC)
	KindExit    Kind = Kind(sensorEventKindEVENT_KIND_EXIT)
	KindSyscall Kind = Kind(sensorEventKindEVENT_KIND_SYSCALL)
	KindFork    Kind = Kind(sensorEventKindEVENT_KIND_FORK)
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindExec:
		return "exec"
	case KindExit:
		return "exit"
	case KindSyscall:
		return "syscall"
	case KindFork:
		return "fork"
	}
	return fmt.Sprintf("kind(%d)", uint32(k))
}

// Flag bits of records, mirroring enum event_flag.
const (
	FlagFilenameTruncated = uint32(sensorEventFlagEVENT_FLAG_FILENAME_TRUNCATED)
	FlagArgsTruncated     = uint32(sensorEventFlagEVENT_FLAG_ARGS_TRUNCATED)
	FlagArgsUnreadable    = uint32(sensorEventFlagEVENT_FLAG_ARGS_UNREADABLE)
	FlagEnvTruncated      = uint32(sensorEventFlagEVENT_FLAG_ENV_TRUNCATED)
	FlagExeUpperLayer     = uint32(sensorEventFlagEVENT_FLAG_EXE_UPPER_LAYER)
	FlagExeMemfd          = uint32(sensorEventFlagEVENT_FLAG_EXE_MEMFD)
	FlagIsThread          = uint32(sensorEventFlagEVENT_FLAG_IS_THREAD)
	FlagFDInfo            = uint32(sensorEventFlagEVENT_FLAG_FD_INFO)
	FlagSockInfo          = uint32(sensorEventFlagEVENT_FLAG_SOCK_INFO)
	FlagPathTruncated     = uint32(sensorEventFlagEVENT_FLAG_PATH_TRUNCATED)
)

// Record is one decoded ring-buffer record. Exactly one of Exec, Fork (also
// used for exits) and Syscall is valid, as Kind says. Read reuses a Record:
// nothing in it may be kept after the callback returns.
type Record struct {
	Kind    Kind
	Exec    ExecRecord
	Fork    ForkRecord
	Syscall SyscallRecord
}

// ExecRecord is a successful execve/execveat, from sched_process_exec.
type ExecRecord struct {
	raw  sensorExecEvent
	boot int64
}

// ForkRecord is a new process or thread (KindFork) or the exit of a
// process's last thread (KindExit).
type ForkRecord struct {
	raw  sensorForkEvent
	boot int64
}

// SyscallRecord is one captured system call at its exit.
type SyscallRecord struct {
	hdr  *sensorSyscallEvent // points into the sample
	tail []byte              // strings and the fd path
	boot int64
}

// strMax is STR_MAX of the C side: the longest path.
const strMax = 4096

var (
	execSize    = int(unsafe.Sizeof(sensorExecEvent{}))
	forkSize    = int(unsafe.Sizeof(sensorForkEvent{}))
	syscallSize = int(unsafe.Sizeof(sensorSyscallEvent{}))
)

// decode fills r from one ring buffer sample without allocating.
func (r *Record) decode(sample []byte, boot int64) error {
	if len(sample) < 4*8 {
		return fmt.Errorf("decode record: %d bytes", len(sample))
	}
	// Every record starts with its kind.
	r.Kind = Kind(binary.NativeEndian.Uint32(sample))
	switch r.Kind {
	case KindExec:
		if len(sample) < execSize {
			return fmt.Errorf("decode exec record: %d bytes, want %d", len(sample), execSize)
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&r.Exec.raw)), execSize), sample)
		r.Exec.boot = boot
	case KindFork, KindExit:
		if len(sample) < forkSize {
			return fmt.Errorf("decode fork record: %d bytes, want %d", len(sample), forkSize)
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&r.Fork.raw)), forkSize), sample)
		r.Fork.boot = boot
	case KindSyscall:
		if len(sample) < syscallSize {
			return fmt.Errorf("decode syscall record: %d bytes, want %d", len(sample), syscallSize)
		}
		if uintptr(unsafe.Pointer(&sample[0]))%8 != 0 {
			return fmt.Errorf("decode syscall record: misaligned sample")
		}
		r.Syscall.hdr = (*sensorSyscallEvent)(unsafe.Pointer(&sample[0]))
		r.Syscall.tail = sample[syscallSize:]
		r.Syscall.boot = boot
		need := int(r.Syscall.hdr.StrLen[0]) + int(r.Syscall.hdr.StrLen[1]) + int(r.Syscall.hdr.StrLen[2]) + int(r.Syscall.hdr.PathLen)
		if need > len(r.Syscall.tail) {
			return fmt.Errorf("decode syscall record: strings need %d bytes, have %d", need, len(r.Syscall.tail))
		}
	default:
		return fmt.Errorf("decode record: unknown kind %d", r.Kind)
	}
	return nil
}

// --- exec ---

// TID is the thread that called exec (now the thread group leader).
func (e *ExecRecord) TID() uint32 { return e.raw.Pid }

// TGID is the process id.
func (e *ExecRecord) TGID() uint32 { return e.raw.Tgid }

// PPID is the real parent's process id.
func (e *ExecRecord) PPID() uint32 { return e.raw.Ppid }

// VPID is the pid in the process's own pid namespace.
func (e *ExecRecord) VPID() uint32 { return e.raw.Vpid }

// SID and PGID are the session and process group ids (host namespace).
func (e *ExecRecord) SID() uint32  { return e.raw.Sid }
func (e *ExecRecord) PGID() uint32 { return e.raw.Pgid }

// UID, GID, EUID, EGID and LoginUID are the credentials after exec.
func (e *ExecRecord) UID() uint32      { return e.raw.Uid }
func (e *ExecRecord) GID() uint32      { return e.raw.Gid }
func (e *ExecRecord) EUID() uint32     { return e.raw.Euid }
func (e *ExecRecord) EGID() uint32     { return e.raw.Egid }
func (e *ExecRecord) LoginUID() uint32 { return e.raw.Loginuid }

// TTY is the controlling terminal as (major<<20)|minor, 0 for none.
func (e *ExecRecord) TTY() uint32 { return e.raw.Tty }

// Caps returns the permitted, effective and inheritable capability masks.
func (e *ExecRecord) Caps() (permitted, effective, inheritable uint64) {
	return e.raw.CapPermitted, e.raw.CapEffective, e.raw.CapInheritable
}

// CgroupID is the cgroup v2 id.
func (e *ExecRecord) CgroupID() uint64 { return e.raw.CgroupId }

// Time is when the exec happened, ns since the epoch.
func (e *ExecRecord) Time() int64 { return int64(e.raw.Ts) + e.boot }

// StartTime is when the process started (forked), ns since the epoch.
func (e *ExecRecord) StartTime() int64 { return int64(e.raw.StartTimeNs) + e.boot }

// PidnsInitStart is when the init of the process's pid namespace started,
// ns since the epoch (0 when unknown).
func (e *ExecRecord) PidnsInitStart() int64 {
	if e.raw.PidnsInitStartNs == 0 {
		return 0
	}
	return int64(e.raw.PidnsInitStartNs) + e.boot
}

// SyscallNr is the number of the exec system call (execve or execveat).
func (e *ExecRecord) SyscallNr() int { return int(e.raw.SyscallNr) }

// Flags holds the Flag* bits.
func (e *ExecRecord) Flags() uint32 { return e.raw.Flags }

// Comm is the new command name (up to 15 bytes).
func (e *ExecRecord) Comm() []byte { return cstr(int8Bytes(e.raw.Comm[:])) }

// Filename is the path given to exec (bprm->filename), possibly relative.
func (e *ExecRecord) Filename() []byte {
	return int8Bytes(e.raw.Filename[:min(int(e.raw.FilenameLen), len(e.raw.Filename))])
}

// Args is argv, each argument terminated by NUL (at most 4096 bytes).
func (e *ExecRecord) Args() []byte {
	return int8Bytes(e.raw.Args[:min(int(e.raw.ArgsLen), len(e.raw.Args))])
}

// Env is the environment, KEY=VALUE entries terminated by NUL (at most
// 2048 bytes).
func (e *ExecRecord) Env() []byte {
	return int8Bytes(e.raw.Env[:min(int(e.raw.EnvLen), len(e.raw.Env))])
}

// ExePath is the absolute path of the executable file as seen from the
// process's root (kernel walk of mm->exe_file).
func (e *ExecRecord) ExePath() []byte {
	n := min(int(e.raw.ExeLen), strMax)
	return int8Bytes(e.raw.Exe[strMax-n : strMax])
}

// Cwd is the working directory as seen from the process's root.
func (e *ExecRecord) Cwd() []byte {
	n := min(int(e.raw.CwdLen), strMax)
	return int8Bytes(e.raw.Cwd[strMax-n : strMax])
}

// ExeIno is the executable's inode number; ExeCtime and ExeMtime its
// change and modification times, ns since the epoch.
func (e *ExecRecord) ExeIno() uint64  { return e.raw.ExeIno }
func (e *ExecRecord) ExeCtime() int64 { return int64(e.raw.ExeCtimeNs) }
func (e *ExecRecord) ExeMtime() int64 { return int64(e.raw.ExeMtimeNs) }

// --- fork and exit ---

// TID and TGID are the parent's thread and process (fork), or the exiting
// thread and process (exit).
func (f *ForkRecord) TID() uint32  { return f.raw.Pid }
func (f *ForkRecord) TGID() uint32 { return f.raw.Tgid }

// ChildTID, ChildTGID and ChildVPID identify the new task (fork only).
func (f *ForkRecord) ChildTID() uint32  { return f.raw.ChildPid }
func (f *ForkRecord) ChildTGID() uint32 { return f.raw.ChildTgid }
func (f *ForkRecord) ChildVPID() uint32 { return f.raw.ChildVpid }

// IsThread reports whether the new task is a thread of the parent's process.
func (f *ForkRecord) IsThread() bool { return f.raw.Flags&FlagIsThread != 0 }

// StartTime is the child's (fork) or the exiting process's start time, ns
// since the epoch.
func (f *ForkRecord) StartTime() int64 { return int64(f.raw.StartTimeNs) + f.boot }

// Time is when it happened, ns since the epoch.
func (f *ForkRecord) Time() int64 { return int64(f.raw.Ts) + f.boot }

// CgroupID is the cgroup v2 id.
func (f *ForkRecord) CgroupID() uint64 { return f.raw.CgroupId }

// ExitStatus is the raw wait status of an exit (exit code << 8 | signal).
func (f *ForkRecord) ExitStatus() uint32 { return f.raw.ChildPid }

// ExitCode is the exit status (0-255) of a process that exited normally.
func (f *ForkRecord) ExitCode() int { return int(f.raw.ChildPid>>8) & 0xff }

// Signal is the number of the signal that killed the process, or 0.
func (f *ForkRecord) Signal() int { return int(f.raw.ChildPid & 0x7f) }

// --- syscalls ---

// Nr is the system call number (of this architecture).
func (s *SyscallRecord) Nr() int { return int(s.hdr.Nr) }

// Name is the system call's name, or "" for a number Vigil does not know.
func (s *SyscallRecord) Name() string {
	if int(s.hdr.Nr) < len(syscallNames) {
		return syscallNames[s.hdr.Nr]
	}
	return ""
}

// TID and TGID identify the calling thread and process.
func (s *SyscallRecord) TID() uint32  { return s.hdr.Pid }
func (s *SyscallRecord) TGID() uint32 { return s.hdr.Tgid }

// UID and GID are the caller's real ids.
func (s *SyscallRecord) UID() uint32 { return s.hdr.Uid }
func (s *SyscallRecord) GID() uint32 { return s.hdr.Gid }

// CgroupID is the cgroup v2 id.
func (s *SyscallRecord) CgroupID() uint64 { return s.hdr.CgroupId }

// Time is when the call returned, ns since the epoch.
func (s *SyscallRecord) Time() int64 { return int64(s.hdr.Ts) + s.boot }

// Ret is the return value (a negated errno on failure).
func (s *SyscallRecord) Ret() int64 { return s.hdr.Ret }

// Arg returns raw argument i (0-5).
func (s *SyscallRecord) Arg(i int) uint64 { return s.hdr.Args[i] }

// Flags holds the Flag* bits.
func (s *SyscallRecord) Flags() uint32 { return s.hdr.Flags }

// Str returns string argument i in capture order (the order of the
// argument positions marked as strings for this syscall), without NUL.
func (s *SyscallRecord) Str(i int) []byte {
	off := 0
	for j := 0; j < i; j++ {
		off += int(s.hdr.StrLen[j])
	}
	return s.tail[off : off+int(s.hdr.StrLen[i])]
}

// FDPath is the path of the described file descriptor as seen from the
// process's root, walked in the kernel (only for syscalls captured with
// it), or nil.
func (s *SyscallRecord) FDPath() []byte {
	off := int(s.hdr.StrLen[0]) + int(s.hdr.StrLen[1]) + int(s.hdr.StrLen[2])
	return s.tail[off : off+int(s.hdr.PathLen)]
}

// FD describes the file descriptor the syscall concerned (its return value
// for calls that create one, or its fd argument), as the kernel saw it at
// the call's exit. ok is false when no fd was described.
func (s *SyscallRecord) FD() (info FDInfo, ok bool) {
	if s.hdr.Flags&FlagFDInfo == 0 {
		return FDInfo{}, false
	}
	return FDInfo{Mode: uint32(s.hdr.FdMode), Ino: s.hdr.FdIno, Dev: s.hdr.FdDev, Flags: s.hdr.FdFlags}, true
}

// FDInfo is the kernel's view of a file descriptor.
type FDInfo struct {
	Mode  uint32 // inode mode (type bits S_IFMT and permissions)
	Ino   uint64
	Dev   uint32 // kernel dev_t (major<<20 | minor)
	Flags uint32 // open flags
}

// Socket describes the socket of the described fd: family (AF_*), type
// (SOCK_*), protocol, and the local and remote addresses. ok is false when
// the fd is not a socket.
func (s *SyscallRecord) Socket() (sk SocketInfo, ok bool) {
	h := s.hdr
	if h.Flags&FlagSockInfo == 0 {
		return SocketInfo{}, false
	}
	sk = SocketInfo{Family: h.SkFamily, Type: h.SkType, Proto: h.SkProto}
	switch h.SkFamily {
	case unixAFInet:
		sk.Local = netip.AddrPortFrom(netip.AddrFrom4([4]byte(h.SkSaddr[:4])), h.SkSport)
		sk.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte(h.SkDaddr[:4])), h.SkDport)
	case unixAFInet6:
		sk.Local = netip.AddrPortFrom(netip.AddrFrom16(h.SkSaddr), h.SkSport)
		sk.Remote = netip.AddrPortFrom(netip.AddrFrom16(h.SkDaddr), h.SkDport)
	}
	return sk, true
}

// SocketInfo is the kernel's view of a socket.
type SocketInfo struct {
	Family, Type, Proto uint16
	Local, Remote       netip.AddrPort
}

// Sockaddr returns the raw struct sockaddr argument (connect, bind,
// sendto, the peer of accept), or nil.
func (s *SyscallRecord) Sockaddr() []byte {
	return s.hdr.Sockaddr[:min(int(s.hdr.SockaddrLen), len(s.hdr.Sockaddr))]
}

// PipeFDs returns the two fds pipe/pipe2 created.
func (s *SyscallRecord) PipeFDs() (r, w int32) {
	return int32(s.hdr.PipeFds[0]), int32(s.hdr.PipeFds[1])
}

const (
	unixAFUnix  = 1
	unixAFInet  = 2
	unixAFInet6 = 10
)

// ParseSockaddr decodes a raw struct sockaddr: an IPv4/IPv6 address and
// port, or a unix socket path (abstract names start with "@").
func ParseSockaddr(b []byte) (family uint16, ap netip.AddrPort, path []byte) {
	if len(b) < 2 {
		return 0, netip.AddrPort{}, nil
	}
	family = binary.NativeEndian.Uint16(b)
	switch family {
	case unixAFInet:
		if len(b) >= 8 {
			ap = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), binary.BigEndian.Uint16(b[2:]))
		}
	case unixAFInet6:
		if len(b) >= 24 {
			ap = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])), binary.BigEndian.Uint16(b[2:]))
		}
	case unixAFUnix:
		p := b[2:]
		if len(p) > 0 && p[0] == 0 {
			// Abstract socket: keep the leading NUL for the caller to render.
			return family, ap, p
		}
		path = cstr(p)
	}
	return family, ap, path
}
