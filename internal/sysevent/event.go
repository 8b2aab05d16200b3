package sysevent

import (
	"net/netip"

	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/event"
)

// Event is one event of the syscall source as user space assembles it: the
// kernel's record of a system call (or of a process lifecycle step) plus the
// process, file descriptor and container state Vigil keeps. The sensor
// reuses one Event per reader: nothing in it may be retained after the
// rules engine returns, and Str values extracted from it point into it.
type Event struct {
	Num  uint64 // sequence number, from 1
	Time int64  // ns since the epoch
	Code int    // TypeCode of the event type (index into Source.EventTypes)
	// Dir is '<' for exit events (the default: Vigil reports a syscall once
	// it returned, with its arguments) and '>' for enter events.
	Dir byte
	CPU int32
	// Res is the return value: a negated errno on failure, as the kernel
	// returns it.
	Res int64
	// Params are the event's arguments in Falco's order and with Falco's
	// names (evt.arg.NAME). NParams of them are set; Params beyond stay
	// from earlier events and must be ignored.
	Params  [MaxParams]Param
	NParams int

	// Thread is the thread that made the system call; its Proc is the
	// process (thread group). Never nil for an event from the sensor.
	Thread *Thread
	// FD is the file descriptor the event concerns (opened, read, connected,
	// accepted, closed), nil when it concerns none.
	FD *FD
	// FD2 is the second descriptor of events that have one (the new fd of
	// dup2, the write end of pipe); nil otherwise.
	FD2 *FD
	// Procs gives access to the process table for ancestry fields
	// (proc.aname[N], proc.pname, ...). Nil means no ancestors are known.
	Procs ProcessLookup
	// Hostname is the node's host name (evt.hostname).
	Hostname string
	// CaptureStart is when the sensor started, ns since the epoch
	// (evt.reltime).
	CaptureStart int64
	// PrevTime is the time of the previous event of this reader
	// (evt.deltatime); 0 for the first.
	PrevTime int64

	// scratch holds text rendered during extraction (flags, addresses);
	// reset by Reset and SetType, so that extraction allocates nothing in
	// steady state. Rendered strings point into it and stay valid until
	// then: it only grows within one event.
	scratch []byte
	// keys is reused to sort label keys.
	keys []string
}

// MaxParams is the most arguments an event carries.
const MaxParams = 32

var _ event.Event = (*Event)(nil)

// Source returns "syscall".
func (e *Event) Source() string { return SourceName }

// TypeCode returns e.Code.
func (e *Event) TypeCode() int { return e.Code }

// Timestamp returns e.Time.
func (e *Event) Timestamp() int64 { return e.Time }

// Reset clears e for reuse, keeping its buffers.
func (e *Event) Reset() {
	// Field by field: copying the whole Event (its Params array is a few
	// KiB) per event would dominate the cost of building it.
	for i := 0; i < e.NParams; i++ {
		p := &e.Params[i]
		p.Str, p.Bytes, p.Num, p.Addr, p.Port = "", p.Bytes[:0], 0, netip.Addr{}, 0
	}
	e.Num, e.Time, e.Code, e.Dir, e.CPU, e.Res, e.NParams = 0, 0, 0, 0, 0, 0, 0
	e.Thread, e.FD, e.FD2, e.Procs = nil, nil, nil, nil
	e.Hostname, e.CaptureStart, e.PrevTime = "", 0, 0
	e.scratch, e.keys = e.scratch[:0], e.keys[:0]
}

// AddParam appends an argument and returns it for the caller to fill. It
// returns nil when MaxParams are set.
func (e *Event) AddParam(name string, kind ParamKind) *Param {
	if e.NParams == MaxParams {
		return nil
	}
	p := &e.Params[e.NParams]
	e.NParams++
	p.Name, p.Kind = name, kind
	p.Num, p.Str, p.Bytes = 0, "", p.Bytes[:0]
	p.Addr, p.Port = netip.Addr{}, 0
	return p
}

// Param returns the argument called name, or nil.
func (e *Event) Param(name string) *Param {
	for i := 0; i < e.NParams; i++ {
		if e.Params[i].Name == name {
			return &e.Params[i]
		}
	}
	return nil
}

// ParamKind tells how an argument's value is held and rendered as text by
// evt.arg.NAME.
type ParamKind uint8

// Argument kinds, after Falco's parameter types and print formats.
const (
	ParamInt       ParamKind = iota + 1 // signed decimal (Num as int64)
	ParamUint                           // unsigned decimal (Num)
	ParamHex                            // unsigned, printed 0x...
	ParamErrno                          // return value: 0 or the E-name of a negated errno
	ParamFD                             // file descriptor number; rendered as the number
	ParamPID                            // pid
	ParamPath                           // file system path (Str)
	ParamString                         // text (Str)
	ParamBytes                          // raw bytes (Bytes)
	ParamFlags                          // bit flags (Num) rendered with the table Flags
	ParamEnum                           // one value (Num) rendered with the table Flags
	ParamMode                           // file mode bits (Num), rendered 0755 style
	ParamSockaddr                       // socket address (Addr, Port, or Str for unix)
	ParamSockTuple                      // connection tuple: Addr/Port local, Str holds nothing; use FD
	ParamUID                            // user id
	ParamGID                            // group id
	ParamSigType                        // signal number rendered as SIGKILL...
	// ParamRelPath is a path (Str) relative to the directory descriptor
	// of the nearest ParamFD argument before it (AT_FDCWD: the cwd).
	ParamRelPath
)

// Param is one event argument.
type Param struct {
	Name  string
	Kind  ParamKind
	Num   uint64
	Str   string
	Bytes []byte
	Addr  netip.Addr
	Port  uint16
	// Flags names the bits (ParamFlags) or values (ParamEnum) for text
	// rendering; nil renders the number.
	Flags []FlagName
}

// FlagName names one flag bit or enum value.
type FlagName struct {
	Name  string
	Value uint64
}

// ProcessLookup finds processes and threads by id, for ancestry.
type ProcessLookup interface {
	// Process returns the process (thread group) with this id, or nil.
	Process(tgid int64) *Process
}

// Thread is one kernel task.
type Thread struct {
	TID  int64 // kernel thread id (thread.tid)
	VTID int64 // thread id in its pid namespace
	Proc *Process
	// CapPermitted, CapInheritable and CapEffective are capability masks.
	CapPermitted, CapInheritable, CapEffective uint64
	CgroupPaths                                []Cgroup // (thread.cgroups), v1 controllers and v2 ("")
	Exectime                                   uint64   // ns of CPU (thread.exectime), when known
}

// Cgroup is one line of /proc/PID/cgroup.
type Cgroup struct {
	Controller string // e.g. "memory"; "" for the v2 unified hierarchy
	Path       string
}

// Process is one thread group, as the process table keeps it.
type Process struct {
	PID   int64 // tgid
	PPID  int64 // parent's tgid (0 for none)
	VPID  int64 // pid in its own pid namespace
	PVPID int64
	SID   int64 // session id
	VPGID int64 // process group id in the pid namespace
	PGID  int64

	Comm    string   // task comm (proc.name), up to 15 bytes
	Exe     string   // argv[0] (proc.exe)
	ExePath string   // absolute path of the executable (proc.exepath)
	Args    []string // argv[1:] (proc.args joins them)
	Env     []string // KEY=VALUE
	Cwd     string   // with a trailing slash, as in Falco
	TTY     uint32   // controlling terminal device number (0 for none)

	UID, GID, EUID, EGID uint32
	LoginUID             uint32 // 0xffffffff (-1) when unset
	User                 *User  // resolved in the container's /etc/passwd or the host's
	LoginUser            *User  // the user LoginUID names (user.loginname), nil when unknown
	Group                *Group

	StartTime      int64 // ns since the epoch (proc.pid.ts)
	PidnsInitStart int64 // start of the pid namespace's init, ns since epoch
	ExeIno         uint64
	ExeInoCtime    int64 // ns since the epoch
	ExeInoMtime    int64
	ExeWritable    bool // the executable is writable by the process's user
	ExeUpperLayer  bool // the executable is on an overlayfs upper layer
	ExeFromMemfd   bool // the executable is a memfd
	FDLimit        int64
	VMSize, VMRSS  uint64 // KiB
	VMSwap         uint64
	NThreads       int64
	NChilds        int64

	// CgroupID is the cgroup v2 id; Container the container the process
	// runs in (nil for the host).
	CgroupID  uint64
	Container *container.Info

	// FDs is the process's file descriptor table; nil when unknown.
	FDs map[int64]*FD
}

// User is a user account.
type User struct {
	UID     uint32
	Name    string
	HomeDir string
	Shell   string
}

// Group is a group account.
type Group struct {
	GID  uint32
	Name string
}

// FD types, the value of fd.typechar.
const (
	FDFile      = 'f'
	FDIPv4      = '4'
	FDIPv6      = '6'
	FDUnix      = 'u'
	FDPipe      = 'p'
	FDEvent     = 'e'
	FDSignalFD  = 's'
	FDEventPoll = 'l'
	FDInotify   = 'i'
	FDTimerFD   = 't'
	FDNetlink   = 'n'
	FDBPF       = 'b'
	FDUserfault = 'u' + 128 // not printable in Falco either; rendered "userfaultfd"
	FDIOUring   = 'r'
	FDMemfd     = 'm'
	FDPidfd     = 'P'
	FDDirectory = 'd'
	FDUnknown   = 'o'
)

// FD is one open file descriptor.
type FD struct {
	Num  int64
	Type byte // FDFile, FDIPv4, ...
	// Name is fd.name: the absolute path of a file, "sip:sport->dip:dport"
	// for a connected socket, the path of a unix socket, or the raw text
	// the kernel gave.
	Name    string
	NameRaw string // the path as passed by the process, before resolution
	// OpenFlags are the flags the file was opened with.
	OpenFlags uint64
	Dev       uint32
	Ino       uint64

	// Sockets.
	L4Proto string // tcp, udp, icmp, raw
	Family  uint16 // AF_INET, AF_INET6, AF_UNIX
	// ClientAddr/ServerAddr are the two ends of a connected socket; for a
	// connect()ed socket the local end is the client, for an accepted one
	// the remote end is.
	ClientAddr, ServerAddr netip.Addr
	ClientPort, ServerPort uint16
	// IsServer reports whether the local end is the server (accepted or
	// listening sockets).
	IsServer    bool
	Connected   bool
	NameChanged bool // fd.name_changed: the name changed in this event
}
