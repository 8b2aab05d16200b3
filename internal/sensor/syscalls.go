package sensor

import (
	"fmt"
	"slices"
)

// scSpec says how one system call is captured: which arguments are user
// strings, which fd is described, where a socket address is.
type scSpec struct {
	flags sensorScFlag
	strs  []int // argument positions of user strings, in capture order (at most 3)
	fdArg int   // argument holding the fd to describe, -1 for none
	saArg int   // argument holding a struct sockaddr *, -1 for none
	saLen int   // argument holding its length (or a pointer to it with scLenPtr)
}

const (
	scFDRet   = sensorScFlagSC_FD_RET
	scFDPath  = sensorScFlagSC_FD_PATH
	scLenPtr  = sensorScFlagSC_SOCKADDR_LENPTR
	scFailed  = sensorScFlagSC_SKIP_SUCCESS
	scPipe    = sensorScFlagSC_PIPE
	scEnabled = sensorScFlagSC_ENABLED
)

func str(pos ...int) scSpec             { return scSpec{strs: pos, fdArg: -1, saArg: -1} }
func fd(arg int, f sensorScFlag) scSpec { return scSpec{flags: f, fdArg: arg, saArg: -1} }

// specs lists every system call the sensor can capture. Calls that create
// an fd describe it from the return value; calls on an fd describe it (and,
// with scFDPath, walk its path in the kernel, so that fd.name is right even
// for fds opened before Vigil started).
var specs = map[string]scSpec{
	"execve":   {flags: scFailed, strs: []int{0}, fdArg: -1, saArg: -1}, // success: sched_process_exec
	"execveat": {flags: scFailed, strs: []int{1}, fdArg: -1, saArg: -1},
	"clone":    str(),
	"clone3":   str(),
	"fork":     str(),
	"vfork":    str(),

	"open":         {flags: scFDRet, strs: []int{0}, fdArg: -1, saArg: -1},
	"openat":       {flags: scFDRet, strs: []int{1}, fdArg: -1, saArg: -1},
	"openat2":      {flags: scFDRet, strs: []int{1}, fdArg: -1, saArg: -1},
	"creat":        {flags: scFDRet, strs: []int{0}, fdArg: -1, saArg: -1},
	"unlink":       str(0),
	"unlinkat":     str(1),
	"rename":       str(0, 1),
	"renameat":     str(1, 3),
	"renameat2":    str(1, 3),
	"mkdir":        str(0),
	"mkdirat":      str(1),
	"rmdir":        str(0),
	"chmod":        str(0),
	"fchmodat":     str(1),
	"fchmod":       fd(0, scFDPath),
	"chown":        str(0),
	"lchown":       str(0),
	"fchownat":     str(1),
	"fchown":       fd(0, scFDPath),
	"symlink":      str(0, 1),
	"symlinkat":    str(0, 2),
	"link":         str(0, 1),
	"linkat":       str(1, 3),
	"truncate":     str(0),
	"ftruncate":    fd(0, scFDPath),
	"chdir":        str(0),
	"fchdir":       fd(0, scFDPath),
	"chroot":       str(0),
	"mount":        str(0, 1, 2),
	"umount2":      str(0),
	"umount":       str(0),
	"memfd_create": {flags: scFDRet, strs: []int{0}, fdArg: -1, saArg: -1},

	"socket":   fd(-1, scFDRet),
	"connect":  {fdArg: 0, saArg: 1, saLen: 2},
	"accept":   {flags: scFDRet | scLenPtr, fdArg: -1, saArg: 1, saLen: 2},
	"accept4":  {flags: scFDRet | scLenPtr, fdArg: -1, saArg: 1, saLen: 2},
	"bind":     {fdArg: 0, saArg: 1, saLen: 2},
	"listen":   fd(0, 0),
	"sendto":   {fdArg: 0, saArg: 4, saLen: 5},
	"recvfrom": {flags: scLenPtr, fdArg: 0, saArg: 4, saLen: 5},
	"sendmsg":  fd(0, 0),
	"recvmsg":  fd(0, 0),

	"setuid": str(), "setgid": str(), "setresuid": str(), "setresgid": str(),
	"setreuid": str(), "setregid": str(), "capset": str(),
	"setns":          fd(0, scFDPath),
	"unshare":        str(),
	"ptrace":         str(),
	"init_module":    str(2),
	"finit_module":   {flags: scFDPath, strs: []int{1}, fdArg: 0, saArg: -1},
	"delete_module":  str(0),
	"bpf":            str(),
	"prctl":          str(),
	"kill":           str(),
	"tkill":          str(),
	"tgkill":         str(),
	"userfaultfd":    fd(-1, scFDRet),
	"io_uring_setup": fd(-1, scFDRet),
	"mprotect":       str(),
	"mmap":           fd(4, 0),
	"personality":    str(),

	"dup":   fd(0, scFDPath),
	"dup2":  fd(0, scFDPath),
	"dup3":  fd(0, scFDPath),
	"fcntl": fd(0, 0),
	"pipe":  fd(-1, scPipe),
	"pipe2": fd(-1, scPipe),
	"close": str(),

	"read":     fd(0, scFDPath),
	"write":    fd(0, scFDPath),
	"pread64":  fd(0, scFDPath),
	"pwrite64": fd(0, scFDPath),
}

// Syscalls lists the names of the system calls the sensor can capture on
// this architecture, sorted.
func Syscalls() []string {
	var out []string
	for name := range specs {
		if _, ok := syscallNumbers[name]; ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Supported reports whether the sensor knows how to capture the named
// system call (on any architecture).
func Supported(name string) bool {
	_, ok := specs[name]
	return ok
}

// SyscallNumber returns the number of the named system call on this
// architecture.
func SyscallNumber(name string) (int, bool) {
	nr, ok := syscallNumbers[name]
	return nr, ok
}

type desc struct {
	name string
	raw  sensorScDesc
}

// syscallDescs turns names into kernel descriptors keyed by number.
// Unknown names are an error; names absent on this architecture are
// returned as skipped.
func syscallDescs(names []string) (map[int]desc, []string, error) {
	out := make(map[int]desc, len(names))
	var skipped []string
	for _, name := range names {
		sp, ok := specs[name]
		if !ok {
			return nil, nil, fmt.Errorf("syscall %q: the sensor cannot capture it (see sensor.Syscalls)", name)
		}
		nr, ok := syscallNumbers[name]
		if !ok {
			skipped = append(skipped, name)
			continue
		}
		if len(sp.strs) > 3 {
			return nil, nil, fmt.Errorf("syscall %s: more than 3 string arguments", name)
		}
		d := sensorScDesc{Flags: uint8(sp.flags | scEnabled)}
		for _, p := range sp.strs {
			d.StrMask |= 1 << p
		}
		if sp.fdArg >= 0 {
			d.FdArg = uint8(sp.fdArg + 1)
		}
		if sp.saArg >= 0 {
			d.SockaddrArg = uint8(sp.saArg + 1)
			d.SockaddrLen = uint8(sp.saLen + 1)
		}
		out[nr] = desc{name: name, raw: d}
	}
	slices.Sort(skipped)
	return out, slices.Compact(skipped), nil
}

// syscallNames maps a number of this architecture to its name.
var syscallNames = func() []string {
	maxNr := 0
	for _, nr := range syscallNumbers {
		maxNr = max(maxNr, nr)
	}
	names := make([]string, maxNr+1)
	for name, nr := range syscallNumbers {
		names[nr] = name
	}
	return names
}()
