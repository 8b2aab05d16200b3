package sysevent

import "net/netip"

// ParamSpec describes one argument of an event type: its Falco name, how
// its value is held and rendered, and the flag or enum table naming its
// values.
type ParamSpec struct {
	Name  string
	Kind  ParamKind
	Flags []FlagName
}

// category is an event's class, after Falco's event categories.
type category uint8

const (
	catOther category = iota
	catFile
	catNet
	catIPC
	catMemory
	catProcess
	catSignal
	catUser
	catSystem
	catIORead
	catIOWrite
	catIOOther
)

// eventInfo is what Vigil knows of one event type.
type eventInfo struct {
	params []ParamSpec
	cat    category
	// path params for fs.path.*: indexes into params, -1 when absent.
	pathName, pathSource, pathTarget int
	syscall                          bool // a system call (syscall.type is set)
}

func p(name string, kind ParamKind) ParamSpec { return ParamSpec{Name: name, Kind: kind} }
func pf(name string, kind ParamKind, flags []FlagName) ParamSpec {
	return ParamSpec{Name: name, Kind: kind, Flags: flags}
}

// Parameter lists shared by several events.
var (
	execParams = []ParamSpec{
		p("res", ParamErrno), p("exe", ParamString), p("args", ParamBytes), p("tid", ParamPID),
		p("pid", ParamPID), p("ptid", ParamPID), p("cwd", ParamString), p("fdlimit", ParamUint),
		p("pgft_maj", ParamUint), p("pgft_min", ParamUint), p("vm_size", ParamUint),
		p("vm_rss", ParamUint), p("vm_swap", ParamUint), p("comm", ParamString),
		p("cgroups", ParamBytes), p("env", ParamBytes), p("tty", ParamUint), p("pgid", ParamPID),
		p("loginuid", ParamUID), pf("flags", ParamFlags, ExecveFlags),
		p("cap_inheritable", ParamHex), p("cap_permitted", ParamHex), p("cap_effective", ParamHex),
		p("exe_ino", ParamUint), p("exe_ino_ctime", ParamUint), p("exe_ino_mtime", ParamUint),
		p("uid", ParamUID), p("trusted_exepath", ParamPath),
	}
	cloneParams = []ParamSpec{
		p("res", ParamPID), p("exe", ParamString), p("args", ParamBytes), p("tid", ParamPID),
		p("pid", ParamPID), p("ptid", ParamPID), p("cwd", ParamString), p("fdlimit", ParamInt),
		p("pgft_maj", ParamUint), p("pgft_min", ParamUint), p("vm_size", ParamUint),
		p("vm_rss", ParamUint), p("vm_swap", ParamUint), p("comm", ParamString),
		p("cgroups", ParamBytes), pf("flags", ParamFlags, CloneFlags), p("uid", ParamUint),
		p("gid", ParamUint), p("vtid", ParamPID), p("vpid", ParamPID),
		p("pidns_init_start_ts", ParamUint),
	}
	openParams  = []ParamSpec{pf("flags", ParamFlags, OpenFlags), p("mode", ParamMode), p("dev", ParamHex), p("ino", ParamUint)}
	ioParams    = []ParamSpec{p("res", ParamErrno), p("data", ParamBytes), p("fd", ParamFD), p("size", ParamUint)}
	pioParams   = append(ioParams[:len(ioParams):len(ioParams)], p("pos", ParamUint))
	acceptBase  = []ParamSpec{p("fd", ParamFD), p("tuple", ParamSockTuple), p("queuepct", ParamUint), p("queuelen", ParamUint), p("queuemax", ParamUint)}
	chownParams = []ParamSpec{p("res", ParamErrno), p("path", ParamPath), p("uid", ParamUint), p("gid", ParamUint)}
)

// Openat2ResolveFlags names openat2's resolve flags (openat2_flags).
var Openat2ResolveFlags = []FlagName{
	{"RESOLVE_BENEATH", 0x08}, {"RESOLVE_IN_ROOT", 0x10}, {"RESOLVE_NO_MAGICLINKS", 0x02},
	{"RESOLVE_NO_SYMLINKS", 0x04}, {"RESOLVE_NO_XDEV", 0x01}, {"RESOLVE_CACHED", 0x20},
}

func cat(ps ...ParamSpec) []ParamSpec { return ps }

func join(lists ...[]ParamSpec) []ParamSpec {
	var out []ParamSpec
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// eventSpecs is Falco's event table for the events Vigil's sensor emits:
// the exit event's parameters followed by the enter event's that the exit
// event lacks, as Falco's recent drivers send them. Parameter order is
// Falco's, so evt.arg[N] means what it means in Falco.
var eventSpecs = map[string]eventInfo{
	"execve":   {params: join(execParams, cat(p("filename", ParamPath))), cat: catProcess},
	"execveat": {params: join(execParams, cat(p("dirfd", ParamFD), p("pathname", ParamRelPath))), cat: catProcess},
	"clone":    {params: cloneParams, cat: catProcess},
	"clone3":   {params: cloneParams, cat: catProcess},
	"fork":     {params: cloneParams, cat: catProcess},
	"vfork":    {params: cloneParams, cat: catProcess},
	"procexit": {params: cat(p("status", ParamErrno), p("ret", ParamErrno), p("sig", ParamSigType), p("core", ParamUint), p("reaper_tid", ParamPID)), cat: catProcess},

	"open":     {params: join(cat(p("fd", ParamFD), p("name", ParamPath)), openParams), cat: catFile},
	"openat":   {params: join(cat(p("fd", ParamFD), p("dirfd", ParamFD), p("name", ParamRelPath)), openParams), cat: catFile},
	"openat2":  {params: join(cat(p("fd", ParamFD), p("dirfd", ParamFD), p("name", ParamRelPath)), openParams[:2], cat(pf("resolve", ParamFlags, Openat2ResolveFlags)), openParams[2:]), cat: catFile},
	"creat":    {params: cat(p("fd", ParamFD), p("name", ParamPath), p("mode", ParamMode), p("dev", ParamHex), p("ino", ParamUint)), cat: catFile},
	"unlink":   {params: cat(p("res", ParamErrno), p("path", ParamPath)), cat: catFile},
	"unlinkat": {params: cat(p("res", ParamErrno), p("dirfd", ParamFD), p("name", ParamRelPath), pf("flags", ParamFlags, UnlinkatFlags)), cat: catFile},
	"rename":   {params: cat(p("res", ParamErrno), p("oldpath", ParamPath), p("newpath", ParamPath)), cat: catFile},
	"renameat": {params: cat(p("res", ParamErrno), p("olddirfd", ParamFD), p("oldpath", ParamRelPath), p("newdirfd", ParamFD), p("newpath", ParamRelPath)), cat: catFile},
	"renameat2": {params: cat(p("res", ParamErrno), p("olddirfd", ParamFD), p("oldpath", ParamRelPath), p("newdirfd", ParamFD), p("newpath", ParamRelPath),
		pf("flags", ParamFlags, RenameatFlags)), cat: catFile},
	"mkdir":     {params: cat(p("res", ParamErrno), p("path", ParamPath), p("mode", ParamHex)), cat: catFile},
	"mkdirat":   {params: cat(p("res", ParamErrno), p("dirfd", ParamFD), p("path", ParamRelPath), p("mode", ParamHex)), cat: catFile},
	"rmdir":     {params: cat(p("res", ParamErrno), p("path", ParamPath)), cat: catFile},
	"chmod":     {params: cat(p("res", ParamErrno), p("filename", ParamPath), pf("mode", ParamMode, ModeFlags)), cat: catFile},
	"fchmod":    {params: cat(p("res", ParamErrno), p("fd", ParamFD), pf("mode", ParamMode, ModeFlags)), cat: catFile},
	"fchmodat":  {params: cat(p("res", ParamErrno), p("dirfd", ParamFD), p("filename", ParamRelPath), pf("mode", ParamMode, ModeFlags)), cat: catFile},
	"chown":     {params: chownParams, cat: catFile},
	"lchown":    {params: chownParams, cat: catFile},
	"fchown":    {params: cat(p("res", ParamErrno), p("fd", ParamFD), p("uid", ParamUint), p("gid", ParamUint)), cat: catFile},
	"fchownat":  {params: cat(p("res", ParamErrno), p("dirfd", ParamFD), p("pathname", ParamRelPath), p("uid", ParamUint), p("gid", ParamUint), pf("flags", ParamFlags, FchownatFlags)), cat: catFile},
	"symlink":   {params: cat(p("res", ParamErrno), p("target", ParamString), p("linkpath", ParamPath)), cat: catFile},
	"symlinkat": {params: cat(p("res", ParamErrno), p("target", ParamString), p("linkdirfd", ParamFD), p("linkpath", ParamRelPath)), cat: catFile},
	"link":      {params: cat(p("res", ParamErrno), p("oldpath", ParamPath), p("newpath", ParamPath)), cat: catFile},
	"linkat": {params: cat(p("res", ParamErrno), p("olddir", ParamFD), p("oldpath", ParamRelPath), p("newdir", ParamFD), p("newpath", ParamRelPath),
		pf("flags", ParamFlags, LinkatFlags)), cat: catFile},
	// Falco reports truncate and ftruncate as generic events; Vigil gives
	// them their arguments.
	"truncate":  {params: cat(p("res", ParamErrno), p("path", ParamPath), p("length", ParamUint)), cat: catFile},
	"ftruncate": {params: cat(p("res", ParamErrno), p("fd", ParamFD), p("length", ParamUint)), cat: catFile},

	"socket":   {params: cat(p("fd", ParamFD), pf("domain", ParamEnum, SocketFamilies), p("type", ParamUint), p("proto", ParamUint)), cat: catNet},
	"connect":  {params: cat(p("res", ParamErrno), p("tuple", ParamSockTuple), p("fd", ParamFD), p("addr", ParamSockaddr)), cat: catNet},
	"accept":   {params: acceptBase, cat: catNet},
	"accept4":  {params: join(acceptBase, cat(p("flags", ParamInt))), cat: catNet},
	"bind":     {params: cat(p("res", ParamErrno), p("addr", ParamSockaddr), p("fd", ParamFD)), cat: catNet},
	"listen":   {params: cat(p("res", ParamErrno), p("fd", ParamFD), p("backlog", ParamInt)), cat: catNet},
	"sendto":   {params: cat(p("res", ParamErrno), p("data", ParamBytes), p("fd", ParamFD), p("size", ParamUint), p("tuple", ParamSockTuple)), cat: catIOWrite},
	"recvfrom": {params: cat(p("res", ParamErrno), p("data", ParamBytes), p("tuple", ParamSockTuple), p("fd", ParamFD), p("size", ParamUint)), cat: catIORead},
	"sendmsg":  {params: cat(p("res", ParamErrno), p("data", ParamBytes), p("fd", ParamFD), p("size", ParamUint), p("tuple", ParamSockTuple)), cat: catIOWrite},
	"recvmsg":  {params: cat(p("res", ParamErrno), p("size", ParamUint), p("data", ParamBytes), p("tuple", ParamSockTuple), p("msgcontrol", ParamBytes), p("fd", ParamFD)), cat: catIORead},

	"setuid":       {params: cat(p("res", ParamErrno), p("uid", ParamUID)), cat: catUser},
	"setgid":       {params: cat(p("res", ParamErrno), p("gid", ParamGID)), cat: catUser},
	"setresuid":    {params: cat(p("res", ParamErrno), p("ruid", ParamUID), p("euid", ParamUID), p("suid", ParamUID)), cat: catUser},
	"setresgid":    {params: cat(p("res", ParamErrno), p("rgid", ParamGID), p("egid", ParamGID), p("sgid", ParamGID)), cat: catUser},
	"setreuid":     {params: cat(p("res", ParamErrno), p("ruid", ParamUID), p("euid", ParamUID)), cat: catUser},
	"setregid":     {params: cat(p("res", ParamErrno), p("rgid", ParamGID), p("egid", ParamGID)), cat: catUser},
	"capset":       {params: cat(p("res", ParamErrno), p("cap_inheritable", ParamHex), p("cap_permitted", ParamHex), p("cap_effective", ParamHex)), cat: catProcess},
	"setns":        {params: cat(p("res", ParamErrno), p("fd", ParamFD), pf("nstype", ParamFlags, CloneFlags)), cat: catProcess},
	"unshare":      {params: cat(p("res", ParamErrno), pf("flags", ParamFlags, CloneFlags)), cat: catProcess},
	"mount":        {params: cat(p("res", ParamErrno), p("dev", ParamString), p("dir", ParamPath), p("type", ParamString), pf("flags", ParamFlags, MountFlags)), cat: catFile},
	"umount":       {params: cat(p("res", ParamErrno), p("name", ParamPath)), cat: catFile},
	"umount2":      {params: cat(p("res", ParamErrno), p("name", ParamPath), pf("flags", ParamFlags, UmountFlags)), cat: catFile},
	"ptrace":       {params: cat(p("res", ParamErrno), p("addr", ParamHex), p("data", ParamHex), pf("request", ParamEnum, PtraceRequests), p("pid", ParamPID)), cat: catProcess},
	"init_module":  {params: cat(p("res", ParamErrno), p("img", ParamBytes), p("length", ParamUint), p("uargs", ParamString)), cat: catOther},
	"finit_module": {params: cat(p("res", ParamErrno), p("fd", ParamFD), p("uargs", ParamString), p("flags", ParamUint)), cat: catOther},
	"bpf":          {params: cat(p("fd", ParamFD), pf("cmd", ParamEnum, BPFCommands)), cat: catOther},
	"memfd_create": {params: cat(p("fd", ParamFD), p("name", ParamString), pf("flags", ParamFlags, MemfdFlags)), cat: catMemory},
	"prctl":        {params: cat(p("res", ParamErrno), pf("option", ParamEnum, PrctlOptions), p("arg2_str", ParamString), p("arg2_int", ParamInt)), cat: catProcess},
	"kill":         {params: cat(p("res", ParamErrno), p("pid", ParamPID), p("sig", ParamSigType)), cat: catSignal},
	"tkill":        {params: cat(p("res", ParamErrno), p("tid", ParamPID), p("sig", ParamSigType)), cat: catSignal},
	"tgkill":       {params: cat(p("res", ParamErrno), p("pid", ParamPID), p("tid", ParamPID), p("sig", ParamSigType)), cat: catSignal},

	"dup":   {params: cat(p("res", ParamFD), p("oldfd", ParamFD)), cat: catIOOther},
	"dup2":  {params: cat(p("res", ParamFD), p("oldfd", ParamFD), p("newfd", ParamFD)), cat: catIOOther},
	"dup3":  {params: cat(p("res", ParamFD), p("oldfd", ParamFD), p("newfd", ParamFD), pf("flags", ParamFlags, OpenFlags)), cat: catIOOther},
	"pipe":  {params: cat(p("res", ParamErrno), p("fd1", ParamFD), p("fd2", ParamFD), p("ino", ParamUint)), cat: catIPC},
	"pipe2": {params: cat(p("res", ParamErrno), p("fd1", ParamFD), p("fd2", ParamFD), p("ino", ParamUint), pf("flags", ParamFlags, OpenFlags)), cat: catIPC},
	"close": {params: cat(p("res", ParamErrno), p("fd", ParamFD)), cat: catIOOther},
	// chdir's path is text, not a path to resolve: Falco's event handler
	// already makes it the new cwd.
	"chdir":          {params: cat(p("res", ParamErrno), p("path", ParamString)), cat: catFile},
	"fchdir":         {params: cat(p("res", ParamErrno), p("fd", ParamFD)), cat: catFile},
	"chroot":         {params: cat(p("res", ParamErrno), p("path", ParamPath)), cat: catProcess},
	"fcntl":          {params: cat(p("res", ParamFD), p("fd", ParamFD), pf("cmd", ParamEnum, FcntlCommands)), cat: catIOOther},
	"userfaultfd":    {params: cat(p("res", ParamErrno), pf("flags", ParamFlags, OpenFlags)), cat: catFile},
	"io_uring_setup": {params: cat(p("res", ParamErrno), p("entries", ParamUint), p("sq_entries", ParamUint), p("cq_entries", ParamUint), p("flags", ParamHex), p("sq_thread_cpu", ParamUint), p("sq_thread_idle", ParamUint), p("features", ParamHex)), cat: catIOOther},
	"mprotect":       {params: cat(p("res", ParamErrno), p("addr", ParamHex), p("length", ParamUint), pf("prot", ParamFlags, ProtFlags)), cat: catMemory},
	"mmap": {params: cat(p("res", ParamHex), p("vm_size", ParamUint), p("vm_rss", ParamUint), p("vm_swap", ParamUint), p("addr", ParamHex), p("length", ParamUint),
		pf("prot", ParamFlags, ProtFlags), pf("flags", ParamFlags, MmapFlags), p("fd", ParamFD), p("offset", ParamUint)), cat: catMemory},
	"read":     {params: ioParams, cat: catIORead},
	"write":    {params: ioParams, cat: catIOWrite},
	"pread":    {params: pioParams, cat: catIORead},
	"pwrite":   {params: pioParams, cat: catIOWrite},
	"pread64":  {params: pioParams, cat: catIORead},
	"pwrite64": {params: pioParams, cat: catIOWrite},
}

// nonSyscallEvents are event types that are not system calls.
var nonSyscallEvents = map[string]bool{
	"procexit": true, "switch": true, "signaldeliver": true, "page_fault": true,
	"sched_process_exit": true, "sched_switch": true, "page_fault_user": true,
	"page_fault_kernel": true, "signal_deliver": true, "drop": true, "procinfo": true,
	"scapevent": true, "cpu_hotplug": true, "sysdigevent": true, "notification": true,
	"infra": true, "tracer": true, "container": true, "k8s": true, "mesos": true,
	"pluginevent": true, "asyncevent": true, "useradded": true, "userdeleted": true,
	"groupadded": true, "groupdeleted": true, "unknown": true, "syscall": true,
}

// fsPathParams names, per event, the params fs.path.name, fs.path.source
// and fs.path.target read (Falco's list of path-changing syscalls).
var fsPathParams = map[string][3]string{
	"mkdir": {"path", "", ""}, "mkdirat": {"path", "", ""}, "rmdir": {"path", "", ""},
	"unlink": {"path", "", ""}, "unlinkat": {"name", "", ""},
	"open": {"name", "", ""}, "openat": {"name", "", ""}, "openat2": {"name", "", ""}, "creat": {"name", "", ""},
	"chmod": {"filename", "", ""}, "fchmodat": {"filename", "", ""},
	"chown": {"path", "", ""}, "lchown": {"path", "", ""}, "fchownat": {"pathname", "", ""},
	"truncate": {"path", "", ""}, "mount": {"dir", "", ""}, "umount": {"name", "", ""}, "umount2": {"name", "", ""},
	"rename": {"", "oldpath", "newpath"}, "renameat": {"", "oldpath", "newpath"}, "renameat2": {"", "oldpath", "newpath"},
	"link": {"", "oldpath", "newpath"}, "linkat": {"", "oldpath", "newpath"},
	"symlink": {"", "target", "linkpath"}, "symlinkat": {"", "target", "linkpath"},
}

// eventTable is eventSpecs indexed by type code. Built once at init, then
// read-only.
var eventTable = func() []eventInfo {
	t := make([]eventInfo, len(eventTypes))
	for i, name := range eventTypes {
		info := eventSpecs[name]
		info.pathName, info.pathSource, info.pathTarget = -1, -1, -1
		if pp, ok := fsPathParams[name]; ok {
			info.pathName = specIndex(info.params, pp[0])
			info.pathSource = specIndex(info.params, pp[1])
			info.pathTarget = specIndex(info.params, pp[2])
		}
		info.syscall = !nonSyscallEvents[name]
		t[i] = info
	}
	return t
}()

func specIndex(ps []ParamSpec, name string) int {
	if name == "" {
		return -1
	}
	for i, s := range ps {
		if s.Name == name {
			return i
		}
	}
	panic("sysevent: fsPathParams names unknown param " + name)
}

// ParamSpecs returns the parameters of the event type with this TypeCode,
// in Falco's order; nil for event types Vigil has no schema for. The slice
// is shared: do not modify it.
func ParamSpecs(code int) []ParamSpec {
	if code < 0 || code >= len(eventTable) {
		return nil
	}
	return eventTable[code].params
}

// SetType prepares e for an event of type code: it sets Code, Dir ('<'
// when unset) and NParams, names and kinds every parameter after the
// schema with zero values, and clears the text rendered for the previous
// event. The sensor then fills e.Params[i] by index without allocating.
func (e *Event) SetType(code int) {
	e.Code = code
	if e.Dir == 0 {
		e.Dir = '<'
	}
	specs := ParamSpecs(code)
	for i := range specs {
		s := &specs[i]
		pr := &e.Params[i]
		pr.Name, pr.Kind, pr.Flags = s.Name, s.Kind, s.Flags
		pr.Num, pr.Str, pr.Bytes = 0, "", pr.Bytes[:0]
		pr.Addr, pr.Port = netip.Addr{}, 0
	}
	e.NParams = len(specs)
	e.scratch = e.scratch[:0]
}

func init() {
	for name, info := range eventSpecs {
		if _, ok := typeCodes[name]; !ok {
			panic("sysevent: event spec for unknown event type " + name)
		}
		if len(info.params) > MaxParams {
			panic("sysevent: too many params for " + name)
		}
	}
}
