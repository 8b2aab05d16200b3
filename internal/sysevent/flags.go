package sysevent

import "golang.org/x/sys/unix"

// Flag and enum tables with Falco's spellings and values. Where Falco's
// driver re-encodes a kernel value (open flags, clone flags, ptrace
// requests, fcntl commands, mmap flags) the tables hold Falco's encoding
// (the PPM_* constants of its event table), so that evt.rawarg and the
// number evt.args prints match Falco; the *FromKernel functions convert the
// kernel's values. Other tables hold kernel values, which Falco keeps.
//
// The order of each table is Falco's: flag names are rendered in table
// order, each consuming its bits, as Falco does.

// Open flags in Falco's encoding (PPM_O_*).
const (
	OpenRDONLY    = 1 << 0
	OpenWRONLY    = 1 << 1
	OpenRDWR      = OpenRDONLY | OpenWRONLY
	OpenCREAT     = 1 << 2
	OpenAPPEND    = 1 << 3
	OpenDSYNC     = 1 << 4
	OpenEXCL      = 1 << 5
	OpenNONBLOCK  = 1 << 6
	OpenSYNC      = 1 << 7
	OpenTRUNC     = 1 << 8
	OpenDIRECT    = 1 << 9
	OpenDIRECTORY = 1 << 10
	OpenLARGEFILE = 1 << 11
	OpenCLOEXEC   = 1 << 12
	OpenTMPFILE   = 1 << 13
	// OpenFCreated is set by the driver when the open created the file.
	OpenFCreated = 1 << 14
)

// OpenFlags names the bits of open flags (file_flags).
var OpenFlags = []FlagName{
	{"O_LARGEFILE", OpenLARGEFILE}, {"O_DIRECTORY", OpenDIRECTORY}, {"O_DIRECT", OpenDIRECT},
	{"O_TRUNC", OpenTRUNC}, {"O_SYNC", OpenSYNC}, {"O_NONBLOCK", OpenNONBLOCK},
	{"O_EXCL", OpenEXCL}, {"O_DSYNC", OpenDSYNC}, {"O_APPEND", OpenAPPEND},
	{"O_CREAT", OpenCREAT}, {"O_RDWR", OpenRDWR}, {"O_WRONLY", OpenWRONLY},
	{"O_RDONLY", OpenRDONLY}, {"O_CLOEXEC", OpenCLOEXEC}, {"O_NONE", 0},
	{"O_TMPFILE", OpenTMPFILE}, {"O_F_CREATED", OpenFCreated},
}

// OpenFlagsFromKernel converts the flags argument of open(2) (x86_64 and
// arm64 values) to Falco's encoding; created tells whether the call created
// the file (O_F_CREATED).
func OpenFlagsFromKernel(flags uint64, created bool) uint64 {
	var r uint64
	switch flags & unix.O_ACCMODE {
	case unix.O_RDONLY:
		r = OpenRDONLY
	case unix.O_WRONLY:
		r = OpenWRONLY
	case unix.O_RDWR:
		r = OpenRDWR
	}
	for _, m := range openKernelBits {
		if flags&m.kernel == m.kernel {
			r |= m.falco
		}
	}
	if flags&unix.O_TMPFILE == unix.O_TMPFILE {
		r |= OpenTMPFILE
		r &^= OpenDIRECTORY
	}
	if created {
		r |= OpenFCreated
	}
	return r
}

type bitMap struct{ kernel, falco uint64 }

var openKernelBits = []bitMap{
	{unix.O_CREAT, OpenCREAT}, {unix.O_APPEND, OpenAPPEND}, {unix.O_DSYNC, OpenDSYNC},
	{unix.O_EXCL, OpenEXCL}, {unix.O_NONBLOCK, OpenNONBLOCK}, {unix.O_SYNC, OpenSYNC},
	{unix.O_TRUNC, OpenTRUNC}, {unix.O_DIRECT, OpenDIRECT}, {unix.O_DIRECTORY, OpenDIRECTORY},
	{oLargefile, OpenLARGEFILE}, {unix.O_CLOEXEC, OpenCLOEXEC},
}

// oLargefile is the kernel's O_LARGEFILE, which the kernel sets on 64-bit
// opens; x/sys/unix defines it as 0 on x86_64, where the kernel uses 0x8000.
var oLargefile = uint64(func() int {
	if unix.O_LARGEFILE != 0 {
		return unix.O_LARGEFILE
	}
	return 0x8000
}())

// Clone flags in Falco's encoding (PPM_CL_*), also used by unshare and
// setns for the namespace types.
const (
	CloneFILES         = 1 << 0
	CloneFS            = 1 << 1
	CloneIO            = 1 << 2
	CloneNEWIPC        = 1 << 3
	CloneNEWNET        = 1 << 4
	CloneNEWNS         = 1 << 5
	CloneNEWPID        = 1 << 6
	CloneNEWUTS        = 1 << 7
	ClonePARENT        = 1 << 8
	ClonePARENTSETTID  = 1 << 9
	ClonePTRACE        = 1 << 10
	CloneSIGHAND       = 1 << 11
	CloneSYSVSEM       = 1 << 12
	CloneTHREAD        = 1 << 13
	CloneUNTRACED      = 1 << 14
	CloneVM            = 1 << 15
	CloneNEWUSER       = 1 << 20
	CloneCHILDCLEARTID = 1 << 23
	CloneCHILDSETTID   = 1 << 24
	CloneSETTLS        = 1 << 25
	CloneSTOPPED       = 1 << 26
	CloneVFORK         = 1 << 27
	CloneNEWCGROUP     = 1 << 28
	CloneNEWTIME       = 1 << 31
)

// CloneFlags names clone, unshare and setns flags (clone_flags).
var CloneFlags = []FlagName{
	{"CLONE_FILES", CloneFILES}, {"CLONE_FS", CloneFS}, {"CLONE_IO", CloneIO},
	{"CLONE_NEWIPC", CloneNEWIPC}, {"CLONE_NEWNET", CloneNEWNET}, {"CLONE_NEWNS", CloneNEWNS},
	{"CLONE_NEWPID", CloneNEWPID}, {"CLONE_NEWUTS", CloneNEWUTS}, {"CLONE_PARENT", ClonePARENT},
	{"CLONE_PARENT_SETTID", ClonePARENTSETTID}, {"CLONE_PTRACE", ClonePTRACE},
	{"CLONE_SIGHAND", CloneSIGHAND}, {"CLONE_SYSVSEM", CloneSYSVSEM}, {"CLONE_THREAD", CloneTHREAD},
	{"CLONE_UNTRACED", CloneUNTRACED}, {"CLONE_VM", CloneVM}, {"CLONE_INVERTED", 1 << 16},
	{"NAME_CHANGED", 1 << 17}, {"CLOSED", 1 << 18}, {"CLONE_NEWUSER", CloneNEWUSER},
	{"CLONE_CHILD_CLEARTID", CloneCHILDCLEARTID}, {"CLONE_CHILD_SETTID", CloneCHILDSETTID},
	{"CLONE_SETTLS", CloneSETTLS}, {"CLONE_STOPPED", CloneSTOPPED}, {"CLONE_VFORK", CloneVFORK},
	{"CLONE_NEWCGROUP", CloneNEWCGROUP}, {"CLONE_NEWTIME", CloneNEWTIME},
}

var cloneKernelBits = []bitMap{
	{unix.CLONE_FILES, CloneFILES}, {unix.CLONE_FS, CloneFS}, {unix.CLONE_IO, CloneIO},
	{unix.CLONE_NEWIPC, CloneNEWIPC}, {unix.CLONE_NEWNET, CloneNEWNET}, {unix.CLONE_NEWNS, CloneNEWNS},
	{unix.CLONE_NEWPID, CloneNEWPID}, {unix.CLONE_NEWUTS, CloneNEWUTS}, {unix.CLONE_PARENT, ClonePARENT},
	{unix.CLONE_PARENT_SETTID, ClonePARENTSETTID}, {unix.CLONE_PTRACE, ClonePTRACE},
	{unix.CLONE_SIGHAND, CloneSIGHAND}, {unix.CLONE_SYSVSEM, CloneSYSVSEM}, {unix.CLONE_THREAD, CloneTHREAD},
	{unix.CLONE_UNTRACED, CloneUNTRACED}, {unix.CLONE_VM, CloneVM}, {unix.CLONE_NEWUSER, CloneNEWUSER},
	{unix.CLONE_CHILD_CLEARTID, CloneCHILDCLEARTID}, {unix.CLONE_CHILD_SETTID, CloneCHILDSETTID},
	{unix.CLONE_SETTLS, CloneSETTLS}, {unix.CLONE_VFORK, CloneVFORK},
	{unix.CLONE_NEWCGROUP, CloneNEWCGROUP}, {unix.CLONE_NEWTIME, CloneNEWTIME},
}

// CloneFlagsFromKernel converts clone(2)/clone3(2) flags, unshare(2) flags
// and setns(2) namespace types to Falco's encoding.
func CloneFlagsFromKernel(flags uint64) uint64 {
	var r uint64
	for _, m := range cloneKernelBits {
		if flags&m.kernel != 0 {
			r |= m.falco
		}
	}
	return r
}

// PtraceRequests names ptrace requests in Falco's encoding
// (ptrace_requests).
var PtraceRequests = []FlagName{
	{"PTRACE_SINGLEBLOCK", 38}, {"PTRACE_SYSEMU_SINGLESTEP", 37}, {"PTRACE_SYSEMU", 36},
	{"PTRACE_ARCH_PRCTL", 35}, {"PTRACE_SET_THREAD_AREA", 34}, {"PTRACE_GET_THREAD_AREA", 33},
	{"PTRACE_OLDSETOPTIONS", 32}, {"PTRACE_SETFPXREGS", 31}, {"PTRACE_GETFPXREGS", 30},
	{"PTRACE_SETFPREGS", 29}, {"PTRACE_GETFPREGS", 28}, {"PTRACE_SETREGS", 27},
	{"PTRACE_GETREGS", 26}, {"PTRACE_SETSIGMASK", 25}, {"PTRACE_GETSIGMASK", 24},
	{"PTRACE_PEEKSIGINFO", 23}, {"PTRACE_LISTEN", 22}, {"PTRACE_INTERRUPT", 21},
	{"PTRACE_SEIZE", 20}, {"PTRACE_SETREGSET", 19}, {"PTRACE_GETREGSET", 18},
	{"PTRACE_SETSIGINFO", 17}, {"PTRACE_GETSIGINFO", 16}, {"PTRACE_GETEVENTMSG", 15},
	{"PTRACE_SETOPTIONS", 14}, {"PTRACE_SYSCALL", 13}, {"PTRACE_DETACH", 12},
	{"PTRACE_ATTACH", 11}, {"PTRACE_SINGLESTEP", 10}, {"PTRACE_KILL", 9},
	{"PTRACE_CONT", 8}, {"PTRACE_POKEUSR", 7}, {"PTRACE_POKEDATA", 6},
	{"PTRACE_POKETEXT", 5}, {"PTRACE_PEEKUSR", 4}, {"PTRACE_PEEKDATA", 3},
	{"PTRACE_PEEKTEXT", 2}, {"PTRACE_TRACEME", 1}, {"PTRACE_UNKNOWN", 0},
}

// ptraceKernel maps kernel request numbers to Falco's.
var ptraceKernel = map[uint64]uint64{
	0: 1, 1: 2, 2: 3, 3: 4, 4: 5, 5: 6, 6: 7, 7: 8, 8: 9, 9: 10,
	12: 26, 13: 27, 14: 28, 15: 29, 16: 11, 17: 12, 18: 30, 19: 31, 21: 32,
	24: 13, 25: 33, 26: 34, 30: 35, 31: 36, 32: 37, 33: 38,
	0x4200: 14, 0x4201: 15, 0x4202: 16, 0x4203: 17, 0x4204: 18, 0x4205: 19,
	0x4206: 20, 0x4207: 21, 0x4208: 22, 0x4209: 23, 0x420a: 24, 0x420b: 25,
}

// PtraceRequestFromKernel converts a ptrace(2) request to Falco's encoding
// (0, PTRACE_UNKNOWN, for requests Falco does not name).
func PtraceRequestFromKernel(req uint64) uint64 { return ptraceKernel[req] }

// FcntlCommands names fcntl commands in Falco's encoding (fcntl_commands).
var FcntlCommands = []FlagName{
	{"F_GETPIPE_SZ", 29}, {"F_SETPIPE_SZ", 28}, {"F_NOTIFY", 27}, {"F_DUPFD_CLOEXEC", 26},
	{"F_CANCELLK", 25}, {"F_GETLEASE", 24}, {"F_SETLEASE", 23}, {"F_GETOWN_EX", 22},
	{"F_SETOWN_EX", 21}, {"F_GETSIG", 15}, {"F_SETSIG", 13}, {"F_GETOWN", 12},
	{"F_SETOWN", 10}, {"F_SETLKW", 9}, {"F_SETLK", 8}, {"F_GETLK", 6}, {"F_SETFL", 5},
	{"F_GETFL", 4}, {"F_SETFD", 3}, {"F_GETFD", 2}, {"F_DUPFD", 1},
	{"F_OFD_GETLK", 30}, {"F_OFD_SETLK", 31}, {"F_OFD_SETLKW", 32}, {"UNKNOWN", 0},
}

var fcntlKernel = map[uint64]uint64{
	unix.F_DUPFD: 1, unix.F_GETFD: 2, unix.F_SETFD: 3, unix.F_GETFL: 4, unix.F_SETFL: 5,
	unix.F_GETLK: 6, unix.F_SETLK: 8, unix.F_SETLKW: 9, unix.F_SETOWN: 10, unix.F_GETOWN: 12,
	unix.F_SETSIG: 13, unix.F_GETSIG: 15, unix.F_SETOWN_EX: 21, unix.F_GETOWN_EX: 22,
	unix.F_SETLEASE: 23, unix.F_GETLEASE: 24, unix.F_DUPFD_CLOEXEC: 26,
	unix.F_NOTIFY: 27, unix.F_SETPIPE_SZ: 28, unix.F_GETPIPE_SZ: 29,
	unix.F_OFD_GETLK: 30, unix.F_OFD_SETLK: 31, unix.F_OFD_SETLKW: 32,
}

// FcntlCmdFromKernel converts an fcntl(2) command to Falco's encoding (0,
// UNKNOWN, for commands Falco does not name).
func FcntlCmdFromKernel(cmd uint64) uint64 { return fcntlKernel[cmd] }

// MmapFlags names mmap flags in Falco's encoding (mmap_flags).
var MmapFlags = []FlagName{
	{"MAP_SHARED", 1 << 0}, {"MAP_PRIVATE", 1 << 1}, {"MAP_FIXED", 1 << 2},
	{"MAP_ANONYMOUS", 1 << 3}, {"MAP_32BIT", 1 << 4}, {"MAP_RENAME", 1 << 5},
	{"MAP_NORESERVE", 1 << 6}, {"MAP_POPULATE", 1 << 7}, {"MAP_NONBLOCK", 1 << 8},
	{"MAP_GROWSDOWN", 1 << 9}, {"MAP_DENYWRITE", 1 << 10}, {"MAP_EXECUTABLE", 1 << 11},
	{"MAP_INHERIT", 1 << 12}, {"MAP_FILE", 1 << 13}, {"MAP_LOCKED", 1 << 14},
}

var mmapKernelBits = []bitMap{
	{unix.MAP_SHARED, 1 << 0}, {unix.MAP_PRIVATE, 1 << 1}, {unix.MAP_FIXED, 1 << 2},
	{unix.MAP_ANONYMOUS, 1 << 3}, {unix.MAP_NORESERVE, 1 << 6}, {unix.MAP_POPULATE, 1 << 7},
	{unix.MAP_NONBLOCK, 1 << 8}, {unix.MAP_GROWSDOWN, 1 << 9}, {unix.MAP_DENYWRITE, 1 << 10},
	{unix.MAP_EXECUTABLE, 1 << 11}, {unix.MAP_LOCKED, 1 << 14},
}

// MmapFlagsFromKernel converts mmap(2) flags to Falco's encoding.
func MmapFlagsFromKernel(flags uint64) uint64 {
	var r uint64
	for _, m := range mmapKernelBits {
		if flags&m.kernel != 0 {
			r |= m.falco
		}
	}
	return r
}

// ProtFlags names memory protection flags (prot_flags); PROT_READ,
// PROT_WRITE and PROT_EXEC have the kernel's values.
var ProtFlags = []FlagName{
	{"PROT_READ", 1 << 0}, {"PROT_WRITE", 1 << 1}, {"PROT_EXEC", 1 << 2}, {"PROT_SEM", 1 << 3},
	{"PROT_GROWSDOWN", 1 << 4}, {"PROT_GROWSUP", 1 << 5}, {"PROT_SAO", 1 << 6}, {"PROT_NONE", 0},
}

// ModeFlags names file mode bits (chmod_mode); the values are the kernel's.
var ModeFlags = []FlagName{
	{"S_IXOTH", 0o1}, {"S_IWOTH", 0o2}, {"S_IROTH", 0o4}, {"S_IXGRP", 0o10}, {"S_IWGRP", 0o20},
	{"S_IRGRP", 0o40}, {"S_IXUSR", 0o100}, {"S_IWUSR", 0o200}, {"S_IRUSR", 0o400},
	{"S_ISVTX", 0o1000}, {"S_ISGID", 0o2000}, {"S_ISUID", 0o4000},
}

// SocketFamilies names socket domains (socket_families); the values are
// the kernel's.
var SocketFamilies = []FlagName{
	{"AF_NFC", 39}, {"AF_ALG", 38}, {"AF_CAIF", 37}, {"AF_IEEE802154", 36}, {"AF_PHONET", 35},
	{"AF_ISDN", 34}, {"AF_RXRPC", 33}, {"AF_IUCV", 32}, {"AF_BLUETOOTH", 31}, {"AF_TIPC", 30},
	{"AF_CAN", 29}, {"AF_LLC", 26}, {"AF_WANPIPE", 25}, {"AF_PPPOX", 24}, {"AF_IRDA", 23},
	{"AF_SNA", 22}, {"AF_RDS", 21}, {"AF_ATMSVC", 20}, {"AF_ECONET", 19}, {"AF_ASH", 18},
	{"AF_PACKET", 17}, {"AF_ROUTE", 16}, {"AF_NETLINK", 16}, {"AF_KEY", 15}, {"AF_SECURITY", 14},
	{"AF_NETBEUI", 13}, {"AF_DECnet", 12}, {"AF_ROSE", 11}, {"AF_INET6", 10}, {"AF_X25", 9},
	{"AF_ATMPVC", 8}, {"AF_BRIDGE", 7}, {"AF_NETROM", 6}, {"AF_APPLETALK", 5}, {"AF_IPX", 4},
	{"AF_AX25", 3}, {"AF_INET", 2}, {"AF_LOCAL", 1}, {"AF_UNIX", 1}, {"AF_UNSPEC", 0},
}

// SocketTypes names socket types (the low bits of socket(2)'s type), for
// documentation and tests; Falco prints the type as a number.
var SocketTypes = []FlagName{
	{"SOCK_STREAM", 1}, {"SOCK_DGRAM", 2}, {"SOCK_RAW", 3}, {"SOCK_RDM", 4},
	{"SOCK_SEQPACKET", 5}, {"SOCK_DCCP", 6}, {"SOCK_PACKET", 10},
}

// MountFlags names mount(2) flags (mount_flags); the values are the
// kernel's.
var MountFlags = []FlagName{
	{"RDONLY", 1 << 0}, {"NOSUID", 1 << 1}, {"NODEV", 1 << 2}, {"NOEXEC", 1 << 3},
	{"SYNCHRONOUS", 1 << 4}, {"REMOUNT", 1 << 5}, {"MANDLOCK", 1 << 6}, {"DIRSYNC", 1 << 7},
	{"NOATIME", 1 << 10}, {"NODIRATIME", 1 << 11}, {"BIND", 1 << 12}, {"MOVE", 1 << 13},
	{"REC", 1 << 14}, {"SILENT", 1 << 15}, {"POSIXACL", 1 << 16}, {"UNBINDABLE", 1 << 17},
	{"PRIVATE", 1 << 18}, {"SLAVE", 1 << 19}, {"SHARED", 1 << 20}, {"RELATIME", 1 << 21},
	{"KERNMOUNT", 1 << 22}, {"I_VERSION", 1 << 23}, {"STRICTATIME", 1 << 24},
	{"LAZYTIME", 1 << 25}, {"NOSEC", 1 << 28}, {"BORN", 1 << 29}, {"ACTIVE", 1 << 30},
	{"NOUSER", 1 << 31},
}

// UmountFlags names umount2(2) flags (umount_flags).
var UmountFlags = []FlagName{{"FORCE", 1}, {"DETACH", 2}, {"EXPIRE", 4}, {"NOFOLLOW", 8}}

// MemfdFlags names memfd_create(2) flags (memfd_create_flags).
var MemfdFlags = []FlagName{
	{"MFD_CLOEXEC", 1}, {"MFD_ALLOW_SEALING", 2}, {"MFD_HUGETLB", 4},
	{"MFD_NOEXEC_SEAL", 8}, {"MFD_EXEC", 0x10},
}

// UnlinkatFlags, LinkatFlags, RenameatFlags, FchownatFlags and
// ExecveatFlags name the *at(2) flags.
var (
	UnlinkatFlags = []FlagName{{"AT_REMOVEDIR", 0x200}}
	LinkatFlags   = []FlagName{{"AT_SYMLINK_FOLLOW", 0x400}, {"AT_EMPTY_PATH", 0x1000}}
	RenameatFlags = []FlagName{{"RENAME_NOREPLACE", 1}, {"RENAME_EXCHANGE", 2}, {"RENAME_WHITEOUT", 4}}
	FchownatFlags = []FlagName{{"AT_SYMLINK_NOFOLLOW", 0x100}, {"AT_EMPTY_PATH", 0x1000}}
	ExecveatFlags = []FlagName{{"AT_EMPTY_PATH", 0x1000}, {"AT_SYMLINK_NOFOLLOW", 0x100}}
)

// ExecveFlags names the flags Falco's driver attaches to execve exits.
var ExecveFlags = []FlagName{
	{"EXE_WRITABLE", 1}, {"EXE_UPPER_LAYER", 2}, {"EXE_FROM_MEMFD", 4}, {"EXE_LOWER_LAYER", 8},
}

// PrctlOptions names prctl(2) options (prctl_options); the values are the
// kernel's.
var PrctlOptions = []FlagName{
	{"PR_SET_PDEATHSIG", 1}, {"PR_GET_PDEATHSIG", 2}, {"PR_GET_DUMPABLE", 3},
	{"PR_SET_DUMPABLE", 4}, {"PR_GET_UNALIGN", 5}, {"PR_SET_UNALIGN", 6},
	{"PR_GET_KEEPCAPS", 7}, {"PR_SET_KEEPCAPS", 8}, {"PR_GET_FPEMU", 9},
	{"PR_SET_FPEMU", 10}, {"PR_GET_FPEXC", 11}, {"PR_SET_FPEXC", 12},
	{"PR_GET_TIMING", 13}, {"PR_SET_TIMING", 14}, {"PR_SET_NAME", 15},
	{"PR_GET_NAME", 16}, {"PR_GET_ENDIAN", 19}, {"PR_SET_ENDIAN", 20},
	{"PR_GET_SECCOMP", 21}, {"PR_SET_SECCOMP", 22}, {"PR_CAPBSET_READ", 23},
	{"PR_CAPBSET_DROP", 24}, {"PR_GET_TSC", 25}, {"PR_SET_TSC", 26},
	{"PR_GET_SECUREBITS", 27}, {"PR_SET_SECUREBITS", 28}, {"PR_SET_TIMERSLACK", 29},
	{"PR_GET_TIMERSLACK", 30}, {"PR_TASK_PERF_EVENTS_DISABLE", 31},
	{"PR_TASK_PERF_EVENTS_ENABLE", 32}, {"PR_MCE_KILL", 33}, {"PR_MCE_KILL_GET", 34},
	{"PR_SET_MM", 35}, {"PR_SET_CHILD_SUBREAPER", 36}, {"PR_GET_CHILD_SUBREAPER", 37},
	{"PR_SET_NO_NEW_PRIVS", 38}, {"PR_GET_NO_NEW_PRIVS", 39}, {"PR_GET_TID_ADDRESS", 40},
	{"PR_SET_THP_DISABLE", 41}, {"PR_GET_THP_DISABLE", 42}, {"PR_MPX_ENABLE_MANAGEMENT", 43},
	{"PR_MPX_DISABLE_MANAGEMENT", 44}, {"PR_SET_FP_MODE", 45}, {"PR_GET_FP_MODE", 46},
	{"PR_CAP_AMBIENT", 47},
}

// BPFCommands names bpf(2) commands (the cmd argument), kernel values.
var BPFCommands = []FlagName{
	{"BPF_MAP_CREATE", 0}, {"BPF_MAP_LOOKUP_ELEM", 1}, {"BPF_MAP_UPDATE_ELEM", 2},
	{"BPF_MAP_DELETE_ELEM", 3}, {"BPF_MAP_GET_NEXT_KEY", 4}, {"BPF_PROG_LOAD", 5},
	{"BPF_OBJ_PIN", 6}, {"BPF_OBJ_GET", 7}, {"BPF_PROG_ATTACH", 8}, {"BPF_PROG_DETACH", 9},
}

// Capabilities lists capability names by bit number, as thread.cap_*
// renders them.
var Capabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// ErrnoName returns the E-name of errno e (positive), e.g. ENOENT for 2, or
// "" when unknown.
func ErrnoName(e uint64) string {
	if e == 0 || e > 4095 {
		return ""
	}
	return unix.ErrnoName(unix.Errno(e))
}

// SignalName returns the SIG-name of signal s, e.g. SIGKILL for 9, or ""
// when unknown.
func SignalName(s uint64) string {
	if s == 0 || s > 64 {
		return ""
	}
	return unix.SignalName(unix.Signal(s))
}
