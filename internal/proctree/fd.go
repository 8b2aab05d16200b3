package proctree

import (
	"net/netip"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/internal/sysevent"
)

// The descriptor operations below return the descriptor they created or
// changed, for the sensor to put in Event.FD; nil when the process is not
// known (Stats.UnknownFDs). A descriptor removed by CloseFD, DupFD's
// replacement or Exec stays readable until the next update of the table.

// fdProc returns the process of an FD operation.
func (t *Table) fdProc(tgid int64) *proc {
	p := t.lookupProc(tgid)
	if p == nil {
		t.stats.UnknownFDs++
	}
	return p
}

// putFD installs a fresh descriptor n in p, replacing (closing) any
// descriptor of that number.
func (t *Table) putFD(p *proc, n int64) *sysevent.FD {
	if old := p.FDs[n]; old != nil {
		t.freeFD(old)
	}
	f := t.newFD()
	f.Num = n
	p.FDs[n] = f
	return f
}

// OpenFD records that process tgid opened path as descriptor fd (open,
// openat, creat, openat2). A relative path is joined to the working
// directory; for openat with a directory descriptor, pass the result of
// Resolve. dev (kernel encoding, major<<20|minor) and ino identify the
// file; flags are the open flags (O_CLOEXEC matters to Exec).
func (t *Table) OpenFD(tgid, fd int64, path string, flags uint64, dev uint32, ino uint64) *sysevent.FD {
	p := t.fdProc(tgid)
	if p == nil {
		return nil
	}
	name := path
	if len(path) == 0 || path[0] != '/' || !isCleanAbs(path) {
		name = t.Resolve(tgid, AtFDCWD, path)
	}
	f := t.putFD(p, fd)
	f.Name, f.NameRaw, f.OpenFlags, f.Dev, f.Ino = name, path, flags, dev, ino
	switch {
	case flags&unix.O_DIRECTORY != 0:
		f.Type = sysevent.FDDirectory
	case strings.HasPrefix(name, "/memfd:"):
		f.Type = sysevent.FDMemfd
	default:
		f.Type = sysevent.FDFile
	}
	return f
}

// AnonFD records a descriptor that is not a path nor a socket: typ is
// sysevent.FDEvent (eventfd), FDEventPoll, FDSignalFD, FDTimerFD,
// FDInotify, FDBPF, FDMemfd (name "/memfd:NAME"), FDUserfault, FDIOUring or
// FDPidfd. An empty name gets the text the kernel shows in /proc/PID/fd,
// such as "anon_inode:[eventfd]", so that live and seeded descriptors
// agree.
func (t *Table) AnonFD(tgid, fd int64, typ byte, name string, flags uint64) *sysevent.FD {
	p := t.fdProc(tgid)
	if p == nil {
		return nil
	}
	if name == "" {
		name = anonName(typ)
	}
	f := t.putFD(p, fd)
	f.Type, f.Name, f.OpenFlags = typ, name, flags
	return f
}

// anonName is the /proc/PID/fd link text of an anonymous descriptor type.
func anonName(typ byte) string {
	switch typ {
	case sysevent.FDEvent:
		return "anon_inode:[eventfd]"
	case sysevent.FDEventPoll:
		return "anon_inode:[eventpoll]"
	case sysevent.FDSignalFD:
		return "anon_inode:[signalfd]"
	case sysevent.FDTimerFD:
		return "anon_inode:[timerfd]"
	case sysevent.FDInotify:
		return "anon_inode:inotify"
	case sysevent.FDBPF:
		return "anon_inode:bpf"
	case sysevent.FDUserfault:
		return "anon_inode:[userfaultfd]"
	case sysevent.FDIOUring:
		return "anon_inode:[io_uring]"
	case sysevent.FDPidfd:
		return "anon_inode:[pidfd]"
	}
	return ""
}

// CloseFD records close(fd) by process tgid.
func (t *Table) CloseFD(tgid, fd int64) {
	p := t.procs[tgid]
	if p == nil {
		return
	}
	if f := p.FDs[fd]; f != nil {
		delete(p.FDs, fd)
		t.freeFD(f)
	}
}

// DupFD records dup, dup2, dup3 and fcntl(F_DUPFD*): newfd becomes a copy
// of oldfd (replacing what newfd was), close-on-exec as cloexec says. It
// returns nil when oldfd is unknown.
func (t *Table) DupFD(tgid, oldfd, newfd int64, cloexec bool) *sysevent.FD {
	p := t.fdProc(tgid)
	if p == nil {
		return nil
	}
	src := p.FDs[oldfd]
	if src == nil {
		t.CloseFD(tgid, newfd)
		return nil
	}
	if oldfd == newfd {
		return src
	}
	f := t.putFD(p, newfd)
	*f = *src
	f.Num = newfd
	f.NameChanged = false
	if cloexec {
		f.OpenFlags |= oCloexec
	} else {
		f.OpenFlags &^= oCloexec
	}
	return f
}

// Socket records socket(family, typ, proto) returning fd. typ may carry
// SOCK_CLOEXEC and SOCK_NONBLOCK.
func (t *Table) Socket(tgid, fd int64, family, typ, proto int) *sysevent.FD {
	p := t.fdProc(tgid)
	if p == nil {
		return nil
	}
	f := t.putFD(p, fd)
	f.Family = uint16(family)
	f.OpenFlags = uint64(typ) & (unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK)
	setSocketType(f, family, typ&0xf, proto)
	return f
}

// setSocketType sets the FD type and layer-4 protocol of a socket.
func setSocketType(f *sysevent.FD, family, typ, proto int) {
	switch family {
	case unix.AF_INET:
		f.Type = sysevent.FDIPv4
	case unix.AF_INET6:
		f.Type = sysevent.FDIPv6
	case unix.AF_UNIX:
		f.Type = sysevent.FDUnix
		return
	case unix.AF_NETLINK:
		f.Type = sysevent.FDNetlink
		return
	default:
		f.Type = sysevent.FDUnknown
		return
	}
	switch {
	case proto == unix.IPPROTO_ICMP || proto == unix.IPPROTO_ICMPV6:
		f.L4Proto = "icmp"
	case typ == unix.SOCK_STREAM:
		f.L4Proto = "tcp"
	case typ == unix.SOCK_DGRAM:
		f.L4Proto = "udp"
	case typ == unix.SOCK_RAW:
		f.L4Proto = "raw"
	}
}

// socketFD returns descriptor n of p as a socket of the address family of
// a, creating it when the table missed the socket call.
func (t *Table) socketFD(p *proc, n int64, a netip.Addr) *sysevent.FD {
	f := p.FDs[n]
	if f != nil {
		return f
	}
	f = t.putFD(p, n)
	if a.Is4() || a.Is4In6() {
		f.Type, f.Family = sysevent.FDIPv4, unix.AF_INET
	} else {
		f.Type, f.Family = sysevent.FDIPv6, unix.AF_INET6
	}
	return f
}

// inetType sets f's type to IPv4 when both ends are IPv4 (or v4-mapped),
// as Falco reports dual-stack sockets, and unmaps the addresses.
func inetType(f *sysevent.FD, local, remote netip.AddrPort) (netip.AddrPort, netip.AddrPort) {
	if f.Type != sysevent.FDIPv4 && f.Type != sysevent.FDIPv6 {
		return local, remote
	}
	l, r := local.Addr().Unmap(), remote.Addr().Unmap()
	if (l.Is4() || !l.IsValid() || local.Addr().IsUnspecified()) && r.Is4() {
		f.Type = sysevent.FDIPv4
		if !l.Is4() {
			l = netip.IPv4Unspecified()
		}
		return netip.AddrPortFrom(l, local.Port()), netip.AddrPortFrom(r, remote.Port())
	}
	return local, remote
}

// Connect records connect(fd) by process tgid: local is the socket's own
// address (getsockname after the call), remote the peer.
func (t *Table) Connect(tgid, fd int64, local, remote netip.AddrPort) *sysevent.FD {
	p := t.fdProc(tgid)
	if p == nil {
		return nil
	}
	f := t.socketFD(p, fd, remote.Addr())
	local, remote = inetType(f, local, remote)
	f.IsServer, f.Connected = false, true
	setTuple(f, local, remote)
	return f
}

// ConnectUnix records connect(fd) to the unix socket at path.
func (t *Table) ConnectUnix(tgid, fd int64, path string) *sysevent.FD {
	p := t.fdProc(tgid)
	if p == nil {
		return nil
	}
	f := p.FDs[fd]
	if f == nil {
		f = t.putFD(p, fd)
		f.Type, f.Family = sysevent.FDUnix, unix.AF_UNIX
	}
	f.Name, f.Connected, f.IsServer = path, true, false
	return f
}

// Accept records accept/accept4 by process tgid: newFD is the connection
// taken from the listening socket listenFD, local its own address and
// remote the client's. flags are accept4's (SOCK_CLOEXEC matters).
func (t *Table) Accept(tgid, listenFD, newFD int64, local, remote netip.AddrPort, flags uint64) *sysevent.FD {
	p := t.fdProc(tgid)
	if p == nil {
		return nil
	}
	l := p.FDs[listenFD]
	f := t.putFD(p, newFD)
	if l != nil {
		f.Type, f.Family, f.L4Proto = l.Type, l.Family, l.L4Proto
	} else if remote.Addr().Is4() || remote.Addr().Is4In6() {
		f.Type, f.Family, f.L4Proto = sysevent.FDIPv4, unix.AF_INET, "tcp"
	} else {
		f.Type, f.Family, f.L4Proto = sysevent.FDIPv6, unix.AF_INET6, "tcp"
	}
	f.OpenFlags = flags & (unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK)
	if f.Type == sysevent.FDUnix {
		if l != nil {
			f.Name = l.Name
		}
		f.Connected, f.IsServer = true, true
		return f
	}
	local, remote = inetType(f, local, remote)
	f.IsServer, f.Connected = true, true
	setTuple(f, remote, local)
	return f
}

// Bind records bind(fd, local) by process tgid.
func (t *Table) Bind(tgid, fd int64, local netip.AddrPort) *sysevent.FD {
	p := t.fdProc(tgid)
	if p == nil {
		return nil
	}
	f := t.socketFD(p, fd, local.Addr())
	if f.Type == sysevent.FDIPv4 {
		local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	}
	// The local end of a socket that is not a server is its client end;
	// Listen moves it to the server end.
	if f.IsServer {
		f.ServerAddr, f.ServerPort = local.Addr(), local.Port()
	} else {
		f.ClientAddr, f.ClientPort = local.Addr(), local.Port()
	}
	f.Name = addrPortString(local.Addr(), local.Port())
	return f
}

// BindUnix records bind(fd) of a unix socket to path.
func (t *Table) BindUnix(tgid, fd int64, path string) *sysevent.FD {
	p := t.fdProc(tgid)
	if p == nil {
		return nil
	}
	f := p.FDs[fd]
	if f == nil {
		f = t.putFD(p, fd)
		f.Type, f.Family = sysevent.FDUnix, unix.AF_UNIX
	}
	f.Name = path
	return f
}

// Listen records listen(fd) by process tgid.
func (t *Table) Listen(tgid, fd int64) *sysevent.FD {
	p := t.fdProc(tgid)
	if p == nil {
		return nil
	}
	f := p.FDs[fd]
	if f != nil && !f.IsServer {
		f.IsServer = true
		if f.Type == sysevent.FDIPv4 || f.Type == sysevent.FDIPv6 {
			f.ServerAddr, f.ServerPort = f.ClientAddr, f.ClientPort
			f.ClientAddr, f.ClientPort = netip.Addr{}, 0
		}
	}
	return f
}

// Pipe records pipe/pipe2 by process tgid: rfd and wfd are the read and
// write ends of the pipe with inode ino; flags are pipe2's.
func (t *Table) Pipe(tgid, rfd, wfd int64, ino uint64, flags uint64) (r, w *sysevent.FD) {
	p := t.fdProc(tgid)
	if p == nil {
		return nil, nil
	}
	name := "pipe:[" + itoa(int64(ino)) + "]"
	r = t.putFD(p, rfd)
	r.Type, r.Name, r.Ino, r.OpenFlags = sysevent.FDPipe, name, ino, flags|unix.O_RDONLY
	w = t.putFD(p, wfd)
	w.Type, w.Name, w.Ino, w.OpenFlags = sysevent.FDPipe, name, ino, flags|unix.O_WRONLY
	return r, w
}

// FD returns descriptor fd of process tgid, nil when unknown.
func (t *Table) FD(tgid, fd int64) *sysevent.FD {
	if p := t.lookupProc(tgid); p != nil {
		return p.FDs[fd]
	}
	return nil
}
