package proctree

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/internal/sysevent"
)

// sockInfo is one socket of a network namespace's /proc/net tables.
type sockInfo struct {
	typ           byte   // sysevent.FDIPv4, FDIPv6, FDUnix, FDNetlink
	family        uint16 // AF_*
	l4            string // tcp, udp, raw; "" for unix and netlink
	local, remote netip.AddrPort
	state         uint8  // TCP state (tcpListen...); 7 (close) or 1 for UDP
	path          string // unix socket path ("@name" for abstract ones)
}

// TCP states of /proc/net/tcp.
const (
	tcpEstablished = 0x01
	tcpListen      = 0x0a
)

// netTable is the sockets of one network namespace, by inode.
type netTable struct {
	at    int64 // when loaded, ns (wall clock)
	socks map[uint64]sockInfo
	// listen holds the local ports of listening TCP sockets, to tell the
	// server end of a connection found in /proc.
	listen map[netip.AddrPort]bool
}

// netCache keeps one netTable per network namespace.
type netCache struct {
	tables map[uint64]*netTable
}

// netReload is the least time between two loads of one namespace's tables
// when an inode is missing.
const netReload = 250 * time.Millisecond

// maxNetBytes caps what is read of one /proc/net file.
const maxNetBytes = 32 << 20

func (c *netCache) init() { c.tables = make(map[uint64]*netTable) }

// lookup returns the socket with inode ino in the namespace netns, reading
// the tables through /proc/PID/net when they are missing or stale.
func (c *netCache) lookup(t *Table, pid int64, netns, ino uint64) (sockInfo, *netTable, bool) {
	tbl := c.tables[netns]
	if tbl != nil {
		if s, ok := tbl.socks[ino]; ok {
			return s, tbl, true
		}
		if time.Now().UnixNano()-tbl.at < int64(netReload) {
			return sockInfo{}, tbl, false
		}
	}
	if len(c.tables) > 1024 {
		clear(c.tables)
	}
	tbl = t.loadNet(pid)
	c.tables[netns] = tbl
	s, ok := tbl.socks[ino]
	return s, tbl, ok
}

// loadNet reads the socket tables of pid's network namespace. Unreadable
// files leave their sockets unknown.
func (t *Table) loadNet(pid int64) *netTable {
	tbl := &netTable{at: time.Now().UnixNano(), socks: make(map[uint64]sockInfo), listen: make(map[netip.AddrPort]bool)}
	files := []struct {
		name   string
		family uint16
		l4     string
	}{
		{"tcp", unix.AF_INET, "tcp"}, {"tcp6", unix.AF_INET6, "tcp"},
		{"udp", unix.AF_INET, "udp"}, {"udp6", unix.AF_INET6, "udp"},
		{"udplite", unix.AF_INET, "udp"}, {"udplite6", unix.AF_INET6, "udp"},
		{"raw", unix.AF_INET, "raw"}, {"raw6", unix.AF_INET6, "raw"},
		{"unix", unix.AF_UNIX, ""}, {"netlink", unix.AF_NETLINK, ""},
	}
	for _, f := range files {
		path := t.pidPath(pid, "net/"+f.name)
		b, trunc, err := t.rd.read(path, maxNetBytes)
		if err != nil {
			if !gone(err) {
				t.stats.LoadErrors++
			}
			continue
		}
		if trunc {
			t.stats.Truncated++
		}
		var perr error
		switch f.family {
		case unix.AF_UNIX:
			perr = parseUnix(b, tbl)
		case unix.AF_NETLINK:
			perr = parseNetlink(b, tbl)
		default:
			perr = parseInet(b, f.family, f.l4, tbl)
		}
		if perr != nil {
			t.stats.LoadErrors++
			t.cfg.Logger.Warn("parse socket table", "component", "proctree", "file", path, "error", perr)
		}
	}
	return tbl
}

// lines calls fn with each line after the header, numbered from 2.
func lines(b []byte, fn func(n int, fields [][]byte) error) error {
	var firstErr error
	n := 0
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		var line []byte
		if nl < 0 {
			line, b = b, nil
		} else {
			line, b = b[:nl], b[nl+1:]
		}
		n++
		if n == 1 || len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if err := fn(n, bytes.Fields(line)); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// parseInet parses /proc/net/{tcp,udp,raw}[6]:
// "sl local_address rem_address st ... uid timeout inode ...".
func parseInet(b []byte, family uint16, l4 string, tbl *netTable) error {
	return lines(b, func(n int, f [][]byte) error {
		if len(f) < 10 {
			return fmt.Errorf("line %d: %d fields, want at least 10", n, len(f))
		}
		local, err := parseHexAddrPort(f[1])
		if err != nil {
			return fmt.Errorf("line %d local address: %w", n, err)
		}
		remote, err := parseHexAddrPort(f[2])
		if err != nil {
			return fmt.Errorf("line %d remote address: %w", n, err)
		}
		st, err := strconv.ParseUint(string(f[3]), 16, 8)
		if err != nil {
			return fmt.Errorf("line %d state %q: %w", n, f[3], err)
		}
		ino, err := strconv.ParseUint(string(f[9]), 10, 64)
		if err != nil {
			return fmt.Errorf("line %d inode %q: %w", n, f[9], err)
		}
		// v4-mapped addresses of dual-stack sockets are IPv4 connections,
		// as Falco reports them.
		typ, fam := byte(sysevent.FDIPv4), uint16(unix.AF_INET)
		if family == unix.AF_INET6 {
			if local.Addr().Is4In6() && (remote.Addr().Is4In6() || remote.Addr().IsUnspecified()) && !local.Addr().IsUnspecified() {
				local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
				remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
			} else {
				typ, fam = sysevent.FDIPv6, unix.AF_INET6
			}
		}
		if l4 == "tcp" && st == tcpListen {
			tbl.listen[local] = true
		}
		if ino == 0 {
			return nil // time-wait sockets have no inode
		}
		tbl.socks[ino] = sockInfo{typ: typ, family: fam, l4: l4, local: local, remote: remote, state: uint8(st)}
		return nil
	})
}

// parseHexAddrPort parses "0100007F:1F90" (IPv4, a host-order u32) or
// 32 hex digits (IPv6, four host-order u32) and a hex port.
func parseHexAddrPort(b []byte) (netip.AddrPort, error) {
	colon := bytes.IndexByte(b, ':')
	if colon < 0 {
		return netip.AddrPort{}, fmt.Errorf("%q: no port", b)
	}
	port, err := strconv.ParseUint(string(b[colon+1:]), 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: port: %w", b, err)
	}
	var raw [16]byte
	h := b[:colon]
	switch len(h) {
	case 8:
		if _, err := hex.Decode(raw[:4], h); err != nil {
			return netip.AddrPort{}, fmt.Errorf("%q: %w", b, err)
		}
		var a [4]byte
		binary.NativeEndian.PutUint32(a[:], binary.BigEndian.Uint32(raw[:4]))
		return netip.AddrPortFrom(netip.AddrFrom4(a), uint16(port)), nil
	case 32:
		if _, err := hex.Decode(raw[:], h); err != nil {
			return netip.AddrPort{}, fmt.Errorf("%q: %w", b, err)
		}
		var a [16]byte
		for i := 0; i < 16; i += 4 {
			binary.NativeEndian.PutUint32(a[i:], binary.BigEndian.Uint32(raw[i:]))
		}
		return netip.AddrPortFrom(netip.AddrFrom16(a), uint16(port)), nil
	}
	return netip.AddrPort{}, fmt.Errorf("%q: address of %d hex digits", b, len(h))
}

// parseUnix parses /proc/net/unix:
// "Num RefCount Protocol Flags Type St Inode [Path]".
func parseUnix(b []byte, tbl *netTable) error {
	return lines(b, func(n int, f [][]byte) error {
		if len(f) < 7 {
			return fmt.Errorf("line %d: %d fields, want at least 7", n, len(f))
		}
		ino, err := strconv.ParseUint(string(f[6]), 10, 64)
		if err != nil {
			return fmt.Errorf("line %d inode %q: %w", n, f[6], err)
		}
		s := sockInfo{typ: sysevent.FDUnix, family: unix.AF_UNIX}
		if len(f) > 7 {
			s.path = string(f[7])
		}
		st, _ := strconv.ParseUint(string(f[5]), 16, 8)
		s.state = uint8(st)
		tbl.socks[ino] = s
		return nil
	})
}

// parseNetlink parses /proc/net/netlink:
// "sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode".
func parseNetlink(b []byte, tbl *netTable) error {
	return lines(b, func(n int, f [][]byte) error {
		if len(f) < 10 {
			return fmt.Errorf("line %d: %d fields, want at least 10", n, len(f))
		}
		ino, err := strconv.ParseUint(string(f[9]), 10, 64)
		if err != nil {
			return fmt.Errorf("line %d inode %q: %w", n, f[9], err)
		}
		tbl.socks[ino] = sockInfo{typ: sysevent.FDNetlink, family: unix.AF_NETLINK}
		return nil
	})
}

// fillSocket sets fd from a socket found in /proc/net.
func fillSocket(fd *sysevent.FD, s sockInfo, tbl *netTable) {
	fd.Type, fd.Family, fd.L4Proto = s.typ, s.family, s.l4
	switch s.typ {
	case sysevent.FDUnix:
		fd.Name = s.path
		return
	case sysevent.FDNetlink:
		return
	}
	local, remote := s.local, s.remote
	if remote.Port() == 0 && remote.Addr().IsUnspecified() {
		// Listening, bound or unconnected.
		// The local end is the server end of a listening socket, the
		// client end otherwise (where sysevent's fd.lip looks).
		fd.Name = addrPortString(local.Addr(), local.Port())
		if s.l4 == "tcp" && s.state == tcpListen {
			fd.IsServer = true
			fd.ServerAddr, fd.ServerPort = local.Addr(), local.Port()
		} else {
			fd.ClientAddr, fd.ClientPort = local.Addr(), local.Port()
		}
		return
	}
	fd.Connected = true
	wildcard := netip.IPv4Unspecified()
	if s.typ == sysevent.FDIPv6 {
		wildcard = netip.IPv6Unspecified()
	}
	server := s.l4 == "tcp" && (tbl.listen[local] || tbl.listen[netip.AddrPortFrom(wildcard, local.Port())] ||
		tbl.listen[netip.AddrPortFrom(netip.IPv6Unspecified(), local.Port())])
	if server {
		fd.IsServer = true
		setTuple(fd, remote, local)
	} else {
		setTuple(fd, local, remote)
	}
}

// setTuple sets the client and server ends and the name
// "cip:cport->sip:sport" of a connected socket.
func setTuple(fd *sysevent.FD, client, server netip.AddrPort) {
	fd.ClientAddr, fd.ClientPort = client.Addr(), client.Port()
	fd.ServerAddr, fd.ServerPort = server.Addr(), server.Port()
	var buf [128]byte
	b := appendAddrPortBytes(buf[:0], client.Addr(), client.Port())
	b = append(b, "->"...)
	b = appendAddrPortBytes(b, server.Addr(), server.Port())
	fd.Name = string(b)
}

// addrPortString formats addr:port as Falco does: IPv6 without brackets.
func addrPortString(a netip.Addr, port uint16) string {
	var buf [64]byte
	return string(appendAddrPortBytes(buf[:0], a, port))
}

func appendAddrPortBytes(b []byte, a netip.Addr, port uint16) []byte {
	if a.IsValid() {
		b = a.AppendTo(b)
	}
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(port), 10)
}
