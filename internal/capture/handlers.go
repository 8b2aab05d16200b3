package capture

import (
	"bytes"
	"net/netip"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/internal/proctree"
	"github.com/vigilsec/vigil/internal/sensor"
	"github.com/vigilsec/vigil/internal/sysevent"
)

// b2s views b as a string without copying. The string is valid only while
// the record is (during the callback): never store it in the table.
func b2s(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (c *Capture) handleExec(e *sensor.ExecRecord) bool {
	tgid := int64(e.TGID())
	argv := splitNUL(e.Args())
	if len(argv) == 0 {
		argv = []string{string(e.Filename())}
	}
	perm, eff, inh := e.Caps()
	info := proctree.ExecInfo{
		Time:     e.Time(),
		ExePath:  string(e.ExePath()),
		Argv:     argv,
		Env:      splitNUL(e.Env()),
		Cwd:      string(e.Cwd()),
		Comm:     string(e.Comm()),
		HasCreds: true,
		UID:      e.UID(), EUID: e.EUID(), GID: e.GID(), EGID: e.EGID(), LoginUID: e.LoginUID(),
		HasCaps:      true,
		CapPermitted: perm, CapEffective: eff, CapInheritable: inh,
		ExeIno:        e.ExeIno(),
		ExeInoCtime:   e.ExeCtime(),
		ExeInoMtime:   e.ExeMtime(),
		ExeUpperLayer: e.Flags()&sensor.FlagExeUpperLayer != 0,
		ExeFromMemfd:  e.Flags()&sensor.FlagExeMemfd != 0,
		CgroupID:      e.CgroupID(),
		VPID:          int64(e.VPID()),
		HasTTY:        true,
		TTY:           ttyNr(e.TTY()),
		SID:           int64(e.SID()),
		PGID:          int64(e.PGID()),
	}
	if e.Flags()&sensor.FlagFilenameTruncated != 0 && len(info.ExePath) > 0 && info.ExePath[0] != '/' {
		info.ExePath = ""
	}
	th := c.t.Exec(tgid, info)
	if th == nil {
		return false
	}
	code := c.execve
	if nr, ok := sensor.SyscallNumber("execveat"); ok && e.SyscallNr() == nr {
		code = c.execveat
	}
	if !c.begin(code, e.Time(), int64(e.TID())) {
		return false
	}
	p := th.Proc
	c.ev.Res = 0
	c.setNum("res", 0)
	c.setStr("exe", p.Exe)
	if pa := c.param("args"); pa != nil {
		pa.Bytes = pa.Bytes[:0]
		for _, a := range p.Args {
			pa.Bytes = append(pa.Bytes, a...)
			pa.Bytes = append(pa.Bytes, 0)
		}
	}
	c.setNum("tid", uint64(e.TID()))
	c.setNum("pid", uint64(tgid))
	c.setNum("ptid", uint64(e.PPID()))
	c.setStr("cwd", p.Cwd)
	c.setStr("comm", p.Comm)
	c.setBytes("env", e.Env())
	c.setNum("tty", uint64(e.TTY()))
	c.setNum("pgid", uint64(e.PGID()))
	c.setNum("loginuid", uint64(e.LoginUID()))
	c.setNum("cap_permitted", perm)
	c.setNum("cap_effective", eff)
	c.setNum("cap_inheritable", inh)
	c.setNum("exe_ino", e.ExeIno())
	c.setNum("exe_ino_ctime", uint64(e.ExeCtime()))
	c.setNum("exe_ino_mtime", uint64(e.ExeMtime()))
	c.setNum("uid", uint64(e.UID()))
	c.setStr("trusted_exepath", p.ExePath)
	c.setStr("filename", string(e.Filename()))
	return true
}

// ttyNr converts a kernel dev_t (major<<20 | minor) to /proc/PID/stat's
// tty_nr encoding, which Falco's proc.tty reports.
func ttyNr(dev uint32) uint32 {
	major, minor := dev>>20, dev&0xfffff
	return minor&0xff | major<<8 | (minor&^0xff)<<12
}

// splitNUL splits NUL-terminated strings (argv, environ).
func splitNUL(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), "\x00")
}

func (c *Capture) handleSyscall(s *sensor.SyscallRecord) bool {
	nr := s.Nr()
	if nr >= len(c.codes) || c.codes[nr] == 0 {
		return false
	}
	name := s.Name()
	tgid, tid := int64(s.TGID()), int64(s.TID())
	ret := s.Ret()

	// Table updates that the event's fields depend on.
	switch name {
	case "fchdir":
		if ret == 0 {
			if path := s.FDPath(); len(path) > 0 {
				c.t.Chdir(tgid, string(path))
			} else {
				c.t.Fchdir(tgid, int64(int32(s.Arg(0))))
			}
		}
	case "setuid", "setreuid", "setresuid":
		if ret == 0 {
			c.t.SetUIDs(tgid, s.UID(), s.UID())
		}
	case "setgid", "setregid", "setresgid":
		if ret == 0 {
			c.t.SetGIDs(tgid, s.GID(), s.GID())
		}
	}

	if !c.begin(c.codes[nr], s.Time(), tid) {
		return false
	}
	ev := &c.ev
	ev.Res = ret
	c.setNum("res", uint64(ret))

	switch name {
	case "open", "openat", "openat2", "creat":
		c.fillOpen(s, name, tgid, ret)
	case "socket":
		c.setNum("fd", uint64(ret))
		c.setNum("domain", s.Arg(0))
		c.setNum("type", s.Arg(1))
		c.setNum("proto", s.Arg(2))
		if ret >= 0 {
			ev.FD = c.t.Socket(tgid, ret, int(s.Arg(0)), int(s.Arg(1)), int(s.Arg(2)))
			if ev.FD != nil {
				ev.FD.Ino = fdIno(s)
			}
		}
	case "connect", "bind", "listen", "sendto", "recvfrom", "sendmsg", "recvmsg":
		c.fillSock(s, name, tgid, ret)
	case "accept", "accept4":
		c.setNum("fd", uint64(ret))
		if name == "accept4" {
			c.setNum("flags", s.Arg(3))
		}
		if ret >= 0 {
			sk, _ := s.Socket()
			ev.FD = c.t.Accept(tgid, int64(int32(s.Arg(0))), ret, sk.Local, sk.Remote, s.Arg(3))
			c.setTuple(ev.FD)
		}
	case "execve", "execveat":
		// Failed execs only (successes come from sched_process_exec).
		p := ev.Thread.Proc
		c.setStr("exe", p.Exe)
		c.setNum("tid", uint64(tid))
		c.setNum("pid", uint64(tgid))
		c.setNum("ptid", uint64(p.PPID))
		c.setStr("cwd", p.Cwd)
		c.setStr("comm", p.Comm)
		if name == "execve" {
			c.setStr("filename", b2s(s.Str(0)))
		} else {
			c.setNum("dirfd", uint64(int64(int32(s.Arg(0)))))
			c.setStr("pathname", b2s(s.Str(0)))
		}
	case "clone", "clone3", "fork", "vfork":
		if ret == 0 {
			return false // the child's return: the parent's tells the story
		}
		p := ev.Thread.Proc
		c.setStr("exe", p.Exe)
		c.setNum("tid", uint64(tid))
		c.setNum("pid", uint64(tgid))
		c.setNum("ptid", uint64(p.PPID))
		c.setStr("cwd", p.Cwd)
		c.setStr("comm", p.Comm)
		if name == "clone" {
			c.setNum("flags", sysevent.CloneFlagsFromKernel(s.Arg(0)))
		}
	case "dup", "dup2", "dup3":
		old := int64(int32(s.Arg(0)))
		c.setNum("oldfd", uint64(old))
		c.ensureFD(s, tgid, old)
		if name != "dup" {
			c.setNum("newfd", uint64(int64(int32(s.Arg(1)))))
		}
		if name == "dup3" {
			c.setNum("flags", sysevent.OpenFlagsFromKernel(s.Arg(2), false))
		}
		if ret >= 0 {
			ev.FD = c.t.DupFD(tgid, old, ret, name == "dup3" && s.Arg(2)&unix.O_CLOEXEC != 0)
		}
	case "pipe", "pipe2":
		r, w := s.PipeFDs()
		c.setNum("fd1", uint64(int64(r)))
		c.setNum("fd2", uint64(int64(w)))
		if name == "pipe2" {
			c.setNum("flags", sysevent.OpenFlagsFromKernel(s.Arg(1), false))
		}
		if ret == 0 {
			fi, _ := s.FD()
			c.setNum("ino", fi.Ino)
			ev.FD, ev.FD2 = c.t.Pipe(tgid, int64(r), int64(w), fi.Ino, s.Arg(1))
		}
	case "memfd_create":
		c.setNum("fd", uint64(ret))
		c.setStr("name", b2s(s.Str(0)))
		c.setNum("flags", s.Arg(1))
		if ret >= 0 {
			ev.FD = c.t.AnonFD(tgid, ret, sysevent.FDMemfd, "memfd:"+string(s.Str(0)), s.Arg(1))
		}
	default:
		c.fillGeneric(s, name, tgid)
	}
	return true
}

// fillOpen fills open, openat, openat2 and creat. The opened file is
// described by a transient FD (fd.name is the resolved path); only
// directories enter the table, for the relative paths of *at calls.
func (c *Capture) fillOpen(s *sensor.SyscallRecord, name string, tgid, ret int64) {
	raw := b2s(s.Str(0))
	dirfd := int64(proctree.AtFDCWD)
	var flags, mode uint64
	switch name {
	case "open":
		flags, mode = s.Arg(1), s.Arg(2)
	case "creat":
		flags, mode = unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, s.Arg(1)
	case "openat":
		dirfd, flags, mode = int64(int32(s.Arg(0))), s.Arg(2), s.Arg(3)
	case "openat2":
		// struct open_how is in user memory; its flags are not captured.
		dirfd = int64(int32(s.Arg(0)))
	}
	c.setNum("fd", uint64(ret))
	c.setNum("dirfd", uint64(dirfd))
	c.setStr("name", raw)
	c.setNum("mode", mode)
	fi, hasFD := s.FD()
	// O_F_CREATED is not known at exit; Falco derives it the same way
	// only when the driver reports it.
	c.setNum("flags", sysevent.OpenFlagsFromKernel(flags, false))
	if hasFD {
		c.setNum("dev", uint64(fi.Dev))
		c.setNum("ino", fi.Ino)
		flags = uint64(fi.Flags)
	}
	path := c.t.Resolve(tgid, dirfd, raw)
	if ret >= 0 && hasFD && fi.Mode&unix.S_IFMT == unix.S_IFDIR {
		c.ev.FD = c.t.OpenFD(tgid, ret, strings.Clone(path), flags, fi.Dev, fi.Ino)
		return
	}
	f := &c.tmpFD
	*f = sysevent.FD{Num: ret, Type: sysevent.FDFile, Name: path, NameRaw: raw, OpenFlags: flags, Dev: fi.Dev, Ino: fi.Ino}
	if strings.HasPrefix(path, "/memfd:") {
		f.Type = sysevent.FDMemfd
	}
	c.ev.FD = f
}

// fillSock fills the socket calls that take an fd.
func (c *Capture) fillSock(s *sensor.SyscallRecord, name string, tgid, ret int64) {
	fd := int64(int32(s.Arg(0)))
	c.setNum("fd", uint64(fd))
	fam, ap, path := sensor.ParseSockaddr(s.Sockaddr())
	sk, hasSock := s.Socket()
	ev := &c.ev
	switch name {
	case "connect":
		c.setSockaddr("addr", fam, ap, path)
		ok := ret == 0 || ret == -int64(unix.EINPROGRESS)
		switch {
		case ok && fam == unix.AF_UNIX:
			ev.FD = c.t.ConnectUnix(tgid, fd, unixPath(path))
		case ok && hasSock:
			if f := c.t.FD(tgid, fd); f == nil || f.Ino != 0 && f.Ino != fdIno(s) {
				fi, _ := s.FD()
				c.newSocket(tgid, fd, sk, fi)
			}
			remote := sk.Remote
			if !remote.IsValid() || remote.Port() == 0 {
				remote = ap
			}
			ev.FD = c.t.Connect(tgid, fd, sk.Local, remote)
		default:
			ev.FD = c.ensureFD(s, tgid, fd)
		}
		c.setTuple(ev.FD)
	case "bind":
		c.setSockaddr("addr", fam, ap, path)
		switch {
		case ret == 0 && fam == unix.AF_UNIX:
			ev.FD = c.t.BindUnix(tgid, fd, unixPath(path))
		case ret == 0:
			ev.FD = c.t.Bind(tgid, fd, ap)
		default:
			ev.FD = c.ensureFD(s, tgid, fd)
		}
	case "listen":
		c.setNum("backlog", s.Arg(1))
		if ret == 0 {
			ev.FD = c.t.Listen(tgid, fd)
		}
		if ev.FD == nil {
			ev.FD = c.ensureFD(s, tgid, fd)
		}
	default: // sendto, recvfrom, sendmsg, recvmsg
		c.setNum("size", s.Arg(2))
		ev.FD = c.ensureFD(s, tgid, fd)
		c.setTuple(ev.FD)
	}
}

// argSource says where a param's value comes from in a syscall record.
type argSource uint8

const (
	fromArg   argSource = iota // raw argument i
	fromInt32                  // argument i as a signed 32-bit int (fds, pids)
	fromStr                    // string argument i, in capture order
)

type argFill struct {
	param string
	src   argSource
	i     int
}

// argFills lists, for the calls whose params are plain copies of their
// arguments, where each param comes from. New resolves the param names
// to indexes once, so filling them costs no name lookup per event.
var argFills = map[string][]argFill{
	"unlink":      {{"path", fromStr, 0}},
	"rmdir":       {{"path", fromStr, 0}},
	"truncate":    {{"path", fromStr, 0}, {"length", fromArg, 1}},
	"unlinkat":    {{"dirfd", fromInt32, 0}, {"name", fromStr, 0}, {"flags", fromArg, 2}},
	"rename":      {{"oldpath", fromStr, 0}, {"newpath", fromStr, 1}},
	"link":        {{"oldpath", fromStr, 0}, {"newpath", fromStr, 1}},
	"renameat":    {{"olddirfd", fromInt32, 0}, {"oldpath", fromStr, 0}, {"newdirfd", fromInt32, 2}, {"newpath", fromStr, 1}},
	"renameat2":   {{"olddirfd", fromInt32, 0}, {"oldpath", fromStr, 0}, {"newdirfd", fromInt32, 2}, {"newpath", fromStr, 1}, {"flags", fromArg, 4}},
	"linkat":      {{"olddir", fromInt32, 0}, {"oldpath", fromStr, 0}, {"newdir", fromInt32, 2}, {"newpath", fromStr, 1}, {"flags", fromArg, 4}},
	"mkdir":       {{"path", fromStr, 0}, {"mode", fromArg, 1}},
	"mkdirat":     {{"dirfd", fromInt32, 0}, {"path", fromStr, 0}, {"mode", fromArg, 2}},
	"chmod":       {{"filename", fromStr, 0}, {"mode", fromArg, 1}},
	"fchmodat":    {{"dirfd", fromInt32, 0}, {"filename", fromStr, 0}, {"mode", fromArg, 2}},
	"chown":       {{"path", fromStr, 0}, {"uid", fromArg, 1}, {"gid", fromArg, 2}},
	"lchown":      {{"path", fromStr, 0}, {"uid", fromArg, 1}, {"gid", fromArg, 2}},
	"fchownat":    {{"dirfd", fromInt32, 0}, {"pathname", fromStr, 0}, {"uid", fromArg, 2}, {"gid", fromArg, 3}, {"flags", fromArg, 4}},
	"symlink":     {{"target", fromStr, 0}, {"linkpath", fromStr, 1}},
	"symlinkat":   {{"target", fromStr, 0}, {"linkdirfd", fromInt32, 1}, {"linkpath", fromStr, 1}},
	"chroot":      {{"path", fromStr, 0}},
	"chdir":       {{"path", fromStr, 0}},
	"umount2":     {{"name", fromStr, 0}, {"flags", fromArg, 1}},
	"mount":       {{"dev", fromStr, 0}, {"dir", fromStr, 1}, {"type", fromStr, 2}, {"flags", fromArg, 3}},
	"init_module": {{"length", fromArg, 1}, {"uargs", fromStr, 0}},
	"kill":        {{"pid", fromInt32, 0}, {"sig", fromArg, 1}},
	"tkill":       {{"tid", fromArg, 0}, {"sig", fromArg, 1}},
	"tgkill":      {{"pid", fromArg, 0}, {"tid", fromArg, 1}, {"sig", fromArg, 2}},
	"setuid":      {{"uid", fromArg, 0}},
	"setgid":      {{"gid", fromArg, 0}},
	"setreuid":    {{"ruid", fromArg, 0}, {"euid", fromArg, 1}},
	"setregid":    {{"rgid", fromArg, 0}, {"egid", fromArg, 1}},
	"setresuid":   {{"ruid", fromArg, 0}, {"euid", fromArg, 1}, {"suid", fromArg, 2}},
	"setresgid":   {{"rgid", fromArg, 0}, {"egid", fromArg, 1}, {"sgid", fromArg, 2}},
	"prctl":       {{"option", fromArg, 0}, {"arg2_int", fromArg, 1}},
	"mprotect":    {{"addr", fromArg, 0}, {"length", fromArg, 1}, {"prot", fromArg, 2}},
}

// resolvedFill is an argFill with its param's index in the event.
type resolvedFill struct {
	idx int
	src argSource
	i   int
}

// resolveFills maps argFills to param indexes for the event type code;
// params the schema lacks are left out.
func resolveFills(fills []argFill, code int) []resolvedFill {
	specs := sysevent.ParamSpecs(code)
	var out []resolvedFill
	for _, f := range fills {
		for i := range specs {
			if specs[i].Name == f.param {
				out = append(out, resolvedFill{idx: i, src: f.src, i: f.i})
				break
			}
		}
	}
	return out
}

func (c *Capture) applyFills(s *sensor.SyscallRecord, fs []resolvedFill) {
	for _, f := range fs {
		p := &c.ev.Params[f.idx]
		switch f.src {
		case fromArg:
			p.Num = s.Arg(f.i)
		case fromInt32:
			p.Num = uint64(int64(int32(s.Arg(f.i))))
		case fromStr:
			p.Str = b2s(s.Str(f.i))
		}
	}
}

// fillGeneric fills the params of the other calls from their raw
// arguments and strings, by the names of the schema.
func (c *Capture) fillGeneric(s *sensor.SyscallRecord, name string, tgid int64) {
	a := func(i int) uint64 { return s.Arg(i) }
	str := func(i int) string { return b2s(s.Str(i)) }
	if fs := c.fills[s.Nr()]; fs != nil {
		c.applyFills(s, fs)
		return
	}
	switch name {
	case "fchmod", "fchown", "ftruncate", "fchdir", "setns", "close", "fcntl", "read", "write", "pread64", "pwrite64", "finit_module", "mmap":
		fdIdx := 0
		if name == "mmap" {
			fdIdx = 4
		}
		fd := int64(int32(s.Arg(fdIdx)))
		c.setNum("fd", uint64(fd))
		if name != "close" {
			c.ev.FD = c.ensureFD(s, tgid, fd)
		} else {
			c.ev.FD = c.t.FD(tgid, fd)
		}
		switch name {
		case "fchmod":
			c.setNum("mode", a(1))
		case "fchown":
			c.setNum("uid", a(1))
			c.setNum("gid", a(2))
		case "ftruncate":
			c.setNum("length", a(1))
		case "setns":
			c.setNum("nstype", sysevent.CloneFlagsFromKernel(a(1)))
		case "fcntl":
			c.setNum("cmd", sysevent.FcntlCmdFromKernel(a(1)))
		case "read", "write", "pread64", "pwrite64":
			c.setNum("size", a(2))
			c.setNum("pos", a(3))
		case "finit_module":
			c.setStr("uargs", str(0))
			c.setNum("flags", a(2))
		case "mmap":
			c.setNum("addr", a(0))
			c.setNum("length", a(1))
			c.setNum("prot", a(2))
			c.setNum("flags", sysevent.MmapFlagsFromKernel(a(3)))
			c.setNum("offset", a(5))
		}
	case "unshare":
		c.setNum("flags", sysevent.CloneFlagsFromKernel(a(0)))
	case "ptrace":
		c.setNum("request", sysevent.PtraceRequestFromKernel(a(0)))
		c.setNum("pid", a(1))
		c.setNum("addr", a(2))
		c.setNum("data", a(3))
	case "bpf":
		c.setNum("cmd", a(0))
		c.setNum("fd", uint64(s.Ret()))
	case "capset":
		// The cap_user_data_t array is in user memory; not captured.
	case "userfaultfd", "io_uring_setup":
		if name == "userfaultfd" {
			c.setNum("flags", sysevent.OpenFlagsFromKernel(a(0), false))
			if r := s.Ret(); r >= 0 {
				c.ev.FD = c.t.AnonFD(tgid, r, sysevent.FDUserfault, "", a(0))
			}
		} else {
			c.setNum("entries", a(0))
			if r := s.Ret(); r >= 0 {
				c.ev.FD = c.t.AnonFD(tgid, r, sysevent.FDIOUring, "", 0)
			}
		}
	}
}

// ensureFD returns the table's entry for fd, creating it from the
// kernel's description (path walked in the kernel, or socket tuple) when
// the table does not know it.
//
// A table entry whose inode differs from the kernel's is stale (an fd the
// table missed being closed or replaced) and is rebuilt.
func (c *Capture) ensureFD(s *sensor.SyscallRecord, tgid, fd int64) *sysevent.FD {
	fi, ok := s.FD()
	if f := c.t.FD(tgid, fd); f != nil && (!ok || f.Ino == 0 || f.Ino == fi.Ino) {
		if ok {
			f.Ino = fi.Ino
		}
		return f
	}
	if !ok {
		return nil
	}
	switch fi.Mode & unix.S_IFMT {
	case unix.S_IFSOCK:
		sk, ok := s.Socket()
		if !ok {
			return nil
		}
		f := c.newSocket(tgid, fd, sk, fi)
		if sk.Remote.IsValid() && sk.Remote.Port() != 0 {
			f = c.t.Connect(tgid, fd, sk.Local, sk.Remote)
		} else if sk.Local.IsValid() && sk.Local.Port() != 0 {
			f = c.t.Bind(tgid, fd, sk.Local)
		}
		return f
	case unix.S_IFIFO:
		r, _ := c.t.Pipe(tgid, fd, -1, fi.Ino, uint64(fi.Flags))
		return r
	}
	if path := s.FDPath(); len(path) > 0 {
		return c.t.OpenFD(tgid, fd, string(path), uint64(fi.Flags), fi.Dev, fi.Ino)
	}
	return nil
}

// newSocket enters a socket the kernel described (socket() was not
// captured), with its close-on-exec flag and inode.
func (c *Capture) newSocket(tgid, fd int64, sk sensor.SocketInfo, fi sensor.FDInfo) *sysevent.FD {
	f := c.t.Socket(tgid, fd, int(sk.Family), int(sk.Type)|int(fi.Flags&unix.O_CLOEXEC), int(sk.Proto))
	if f != nil {
		f.Ino = fi.Ino
	}
	return f
}

func (c *Capture) setSockaddr(name string, fam uint16, ap netip.AddrPort, path []byte) {
	p := c.param(name)
	if p == nil {
		return
	}
	p.Num = uint64(fam)
	switch fam {
	case unix.AF_INET, unix.AF_INET6:
		p.Addr, p.Port = ap.Addr(), ap.Port()
	case unix.AF_UNIX:
		p.Str = b2s(path)
	}
}

func (c *Capture) setTuple(f *sysevent.FD) {
	p := c.param("tuple")
	if p == nil || f == nil {
		return
	}
	p.Num = uint64(f.Family)
	p.Str = f.Name
}

func fdIno(s *sensor.SyscallRecord) uint64 {
	fi, _ := s.FD()
	return fi.Ino
}

func unixPath(p []byte) string {
	if len(p) > 0 && p[0] == 0 {
		return "@" + string(bytes.TrimRight(p[1:], "\x00"))
	}
	return string(p)
}
