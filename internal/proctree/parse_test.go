package proctree

import (
	"net/netip"
	"path"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/sysevent"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    statFields
		wantErr string
	}{
		{
			name: "plain",
			in:   "1234 (sleep) S 1000 1234 999 34817 1234 4194304 100 0 0 0 0 0 0 0 20 0 1 0 5678 2265088 128 18446744073709551615\n",
			want: statFields{comm: "sleep", state: 'S', ppid: 1000, pgrp: 1234, session: 999, ttyNr: 34817, startTime: 5678},
		},
		{
			name: "comm with spaces and parentheses",
			in:   "7 (a) b (c) R 1 7 7 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 42 0 0",
			want: statFields{comm: "a) b (c", state: 'R', ppid: 1, pgrp: 7, session: 7, startTime: 42},
		},
		{name: "no comm", in: "7 sleep S 1", wantErr: "no (comm)"},
		{name: "short", in: "7 (x) S 1 7 7 0", wantErr: "want at least 22"},
		{name: "bad ppid", in: "7 (x) S one 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42", wantErr: "stat field 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.in))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseStatus(t *testing.T) {
	in := "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t300\nNgid:\t0\nPid:\t301\nPPid:\t1\n" +
		"Uid:\t1000\t1001\t1002\t1003\nGid:\t2000\t2001\t2002\t2003\nNStgid:\t300\t1\nNSpid:\t301\t2\nNSpgid:\t300\t1\n" +
		"VmSize:\t    3060 kB\nVmRSS:\t    1632 kB\nVmSwap:\t       4 kB\nThreads:\t2\n" +
		"CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t00000000a80425fb\n"
	got, err := parseStatus([]byte(in))
	require.NoError(t, err)
	require.Equal(t, statusFields{
		tgid: 300, ppid: 1, uid: 1000, euid: 1001, gid: 2000, egid: 2001,
		nsPID: 2, nsTGID: 1, nsPGID: 1, capPrm: 0x1ffffffffff, capEff: 0xa80425fb,
		vmSize: 3060, vmRSS: 1632, vmSwap: 4, threads: 2, nsDepth: 2,
		haveUIDs: true, haveGIDs: true, haveT: true,
	}, got)

	_, err = parseStatus([]byte("Name:\tx\nTgid:\t1\n"))
	require.ErrorContains(t, err, "lacks")
	_, err = parseStatus([]byte("Tgid:\tx\n"))
	require.ErrorContains(t, err, `status Tgid "x"`)
}

func TestParseCgroups(t *testing.T) {
	got, err := parseCgroups([]byte("9:name=systemd:/\n4:cpu,cpuacct:/a/b\n0::/system.slice/x.service\n"))
	require.NoError(t, err)
	require.Equal(t, []sysevent.Cgroup{
		{Controller: "name=systemd", Path: "/"},
		{Controller: "cpu", Path: "/a/b"},
		{Controller: "cpuacct", Path: "/a/b"},
		{Controller: "", Path: "/system.slice/x.service"},
	}, got)
	_, err = parseCgroups([]byte("0::/\nbroken\n"))
	require.ErrorContains(t, err, "cgroup line 2")
}

func TestParseHexAddrPort(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "0100007F:1F90", want: "127.0.0.1:8080"},
		{in: "00000000:0016", want: "0.0.0.0:22"},
		{in: "00000000000000000000000001000000:0050", want: "[::1]:80"},
		{in: "0000000000000000FFFF00000100007F:01BB", want: "[::ffff:127.0.0.1]:443"},
		{in: "B80D0120000000000000000001000000:0035", want: "[2001:db8::1]:53"},
		{in: "0100007F", wantErr: true},
		{in: "0100007:0050", wantErr: true},
		{in: "0100007G:0050", wantErr: true},
		{in: "0100007F:FFFFF", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseHexAddrPort([]byte(tt.in))
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got.String())
		})
	}
}

func TestFillSocket(t *testing.T) {
	tbl := &netTable{socks: map[uint64]sockInfo{}, listen: map[netip.AddrPort]bool{}}
	require.NoError(t, parseInet([]byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11 1 0 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 12 1 0 20 4 30 10 -1
   2: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 13 1 0 20 4 30 10 -1
   3: 0100007F:D432 0100007F:1F90 06 00000000:00000000 03:00000000 00000000     0        0 0 3 0
`), 2, "tcp", tbl))
	require.NoError(t, parseInet([]byte(`  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000100007F:0050 0000000000000000FFFF00000200007F:C000 01 00000000:00000000 00:00000000 00000000     0        0 14 1 0
   1: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 15 2 0
`), 10, "udp", tbl))
	require.Len(t, tbl.socks, 5, "the time-wait socket without inode is left out")

	tests := []struct {
		ino  uint64
		want sysevent.FD
	}{
		{11, sysevent.FD{Type: sysevent.FDIPv4, Family: 2, L4Proto: "tcp", Name: "127.0.0.1:8080", IsServer: true,
			ServerAddr: netip.MustParseAddr("127.0.0.1"), ServerPort: 8080}},
		{12, sysevent.FD{Type: sysevent.FDIPv4, Family: 2, L4Proto: "tcp", Name: "127.0.0.1:54321->127.0.0.1:8080", IsServer: true, Connected: true,
			ClientAddr: netip.MustParseAddr("127.0.0.1"), ClientPort: 54321, ServerAddr: netip.MustParseAddr("127.0.0.1"), ServerPort: 8080}},
		{13, sysevent.FD{Type: sysevent.FDIPv4, Family: 2, L4Proto: "tcp", Name: "127.0.0.1:54321->127.0.0.1:8080", Connected: true,
			ClientAddr: netip.MustParseAddr("127.0.0.1"), ClientPort: 54321, ServerAddr: netip.MustParseAddr("127.0.0.1"), ServerPort: 8080}},
		// A v4-mapped dual-stack UDP socket is reported as IPv4.
		{14, sysevent.FD{Type: sysevent.FDIPv4, Family: 2, L4Proto: "udp", Name: "127.0.0.1:80->127.0.0.2:49152", Connected: true,
			ClientAddr: netip.MustParseAddr("127.0.0.1"), ClientPort: 80, ServerAddr: netip.MustParseAddr("127.0.0.2"), ServerPort: 49152}},
		// An unconnected socket: its local end is the client end.
		{15, sysevent.FD{Type: sysevent.FDIPv6, Family: 10, L4Proto: "udp", Name: "::1:53",
			ClientAddr: netip.MustParseAddr("::1"), ClientPort: 53}},
	}
	for _, tt := range tests {
		var fd sysevent.FD
		fillSocket(&fd, tbl.socks[tt.ino], tbl)
		require.Equal(t, tt.want, fd, "inode %d", tt.ino)
	}
}

func TestParseUnixNetlink(t *testing.T) {
	tbl := &netTable{socks: map[uint64]sockInfo{}}
	require.NoError(t, parseUnix([]byte(`Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 388224 /run/containerd/containerd.sock
0000000000000000: 00000003 00000000 00000000 0001 03 388225
0000000000000000: 00000002 00000000 00010000 0001 01 388226 @abstract
`), tbl))
	require.Equal(t, "/run/containerd/containerd.sock", tbl.socks[388224].path)
	require.Equal(t, "", tbl.socks[388225].path)
	require.Equal(t, "@abstract", tbl.socks[388226].path)
	require.NoError(t, parseNetlink([]byte(`sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode
0000000000000000 0   1          00000000 0        0        0     2        0        77
`), tbl))
	require.Equal(t, byte(sysevent.FDNetlink), tbl.socks[77].typ)
	err := parseUnix([]byte("Num RefCount\n0: 1 2 3\n0000: 1 0 0 1 1 x\n"), tbl)
	require.ErrorContains(t, err, "line 2")
}

func TestMountInfo(t *testing.T) {
	mi := []byte(`21 26 0:20 / /proc rw,relatime - proc proc rw
812 700 0:95 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/l1:/l2,upperdir=/var/lib/x\,y/diff,workdir=/var/lib/w
813 812 0:96 /sub /mnt/with\040space rw - ext4 /dev/vda rw
`)
	m, ok := findMount(mi, 812)
	require.True(t, ok)
	require.Equal(t, mountInfo{id: 812, root: "/", mountPoint: "/", fsType: "overlay",
		super: `rw,lowerdir=/l1:/l2,upperdir=/var/lib/x\,y/diff,workdir=/var/lib/w`}, m)
	up, ok := superOption(m.super, "upperdir")
	require.True(t, ok)
	require.Equal(t, "/var/lib/x,y/diff", up)
	_, ok = superOption(m.super, "nosuch")
	require.False(t, ok)
	m, ok = findMount(mi, 813)
	require.True(t, ok)
	require.Equal(t, "/mnt/with space", m.mountPoint)
	require.Equal(t, "/sub", m.root)
	_, ok = findMount(mi, 9)
	require.False(t, ok)
}

func TestCleanAbs(t *testing.T) {
	for _, in := range []string{
		"/", "//", "/a", "/a/", "/a//b", "/a/./b", "/a/../b", "/../a", "/a/b/..", "/a/b/../..", "/a/b/../../..",
		"/.", "/..", "/a/.", "/a/..", "/./a/", "/a/b/c/../../d/./e//", "/...", "/a/...", "/.a/..b/",
	} {
		require.Equal(t, path.Clean(in), string(cleanAbs([]byte(in))), in)
		require.Equal(t, path.Clean(in) == in, isCleanAbs(in), "isCleanAbs(%q)", in)
	}
}

func FuzzCleanAbs(f *testing.F) {
	for _, s := range []string{"/a/../b", "/./x//y/", "/..", "/a/b/../../../c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		s = "/" + s
		if got, want := string(cleanAbs([]byte(s))), path.Clean(s); got != want {
			t.Fatalf("cleanAbs(%q) = %q, want %q", s, got, want)
		}
		if isCleanAbs(s) != (path.Clean(s) == s) {
			t.Fatalf("isCleanAbs(%q) = %v", s, isCleanAbs(s))
		}
	})
}

func TestParseAccounts(t *testing.T) {
	users := map[uint32]*sysevent.User{}
	err := parsePasswd([]byte("root:x:0:0:root:/root:/bin/bash\n# comment\n\nalice:x:1000:1000::/home/alice:/bin/sh\nbroken:x:12\nbob:x:notanumber:1::/:/bin/false\nroot2:x:0:0::/:/bin/sh\n"), users)
	require.ErrorContains(t, err, "line 5: 3 fields, want 7")
	require.ErrorContains(t, err, `line 6: uid "notanumber"`)
	require.Equal(t, map[uint32]*sysevent.User{
		0:    {UID: 0, Name: "root", HomeDir: "/root", Shell: "/bin/bash"},
		1000: {UID: 1000, Name: "alice", HomeDir: "/home/alice", Shell: "/bin/sh"},
	}, users)

	groups := map[uint32]*sysevent.Group{}
	err = parseGroup([]byte("root:x:0:\nwheel:x:10:alice,bob\nbad:x\n"), groups)
	require.ErrorContains(t, err, "line 3")
	require.Equal(t, map[uint32]*sysevent.Group{0: {GID: 0, Name: "root"}, 10: {GID: 10, Name: "wheel"}}, groups)
}

func TestAnonType(t *testing.T) {
	tests := map[string]byte{
		"[eventfd]": sysevent.FDEvent, "[eventpoll]": sysevent.FDEventPoll, "[signalfd]": sysevent.FDSignalFD,
		"[timerfd]": sysevent.FDTimerFD, "inotify": sysevent.FDInotify, "bpf-map": sysevent.FDBPF, "bpf-prog": sysevent.FDBPF,
		"bpf_link": sysevent.FDBPF, "[userfaultfd]": sysevent.FDUserfault, "[io_uring]": sysevent.FDIOUring,
		"[pidfd]": sysevent.FDPidfd, "[perf_event]": sysevent.FDUnknown, "[fanotify]": sysevent.FDUnknown,
	}
	for name, want := range tests {
		require.Equal(t, want, anonType(name), name)
	}
}

func TestFdinfoFlags(t *testing.T) {
	require.Equal(t, uint64(0o2000002), fdinfoFlags([]byte("pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t17\n")))
	require.Equal(t, uint64(0), fdinfoFlags([]byte("pos:\t0\n")))
}
