package sysevent

import (
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/vigilsec/vigil/internal/container"
)

func TestMain(m *testing.M) {
	// evt.time and evt.datetime render local time, as Falco: pin it.
	time.Local = time.UTC
	os.Exit(m.Run())
}

// procTable is a process table keyed by pid, as the sensor's process table
// answers ProcessLookup.
type procTable map[int64]*Process

func (t procTable) Process(pid int64) *Process { return t[pid] }

const (
	t0      = int64(1_700_000_000_123_456_789) // 2023-11-14 22:13:20.123456789 UTC
	startTS = int64(1_699_999_000_000_000_000)
)

var ctrID = "3f4a5b6c7d8e9f00112233445566778899aabbccddeeff001122334455667788"

// world is a small host: systemd → containerd-shim → bash (session and
// group leader, in a container) → the event's process.
type world struct {
	procs procTable
	ctr   *container.Info
	self  *Process
	bash  *Process
}

func newWorld() *world {
	ctr := &container.Info{
		ID: ctrID, Runtime: container.RuntimeContainerd, Name: "web", Image: "docker.io/library/nginx:1.25",
		ImageRepo: "docker.io/library/nginx", ImageTag: "1.25", ImageDigest: "sha256:aaaa", ImageID: "sha256:bbbb",
		Labels:     map[string]string{"io.kubernetes.pod.name": "web-0", "app": "web"},
		Privileged: true, HostPID: false, HostNetwork: true, HostIPC: false,
		Mounts: []container.Mount{
			{Source: "/var/run/docker.sock", Dest: "/var/run/docker.sock", Mode: "rw", RW: true, Propagation: "rprivate"},
			{Source: "/proc", Dest: "/host/proc", Mode: "ro", RW: false, Propagation: "rslave"},
		},
		IP: "10.1.2.3", StartTS: startTS,
		Pod: &container.Pod{Name: "web-0", Namespace: "shop", UID: "6b1f-uid", SandboxID: "99887766554433221100aabbccddeeff",
			IP: "10.1.2.3", Labels: map[string]string{"app": "web", "tier": "front"}},
		Complete: true,
	}
	systemd := &Process{PID: 1, PPID: 0, VPID: 1, Comm: "systemd", Exe: "/sbin/init", ExePath: "/usr/lib/systemd/systemd",
		Env: []string{"PATH=/usr/bin"}, StartTime: startTS - 1e12}
	shim := &Process{PID: 100, PPID: 1, VPID: 100, Comm: "containerd-shim", Exe: "containerd-shim", ExePath: "/usr/bin/containerd-shim-runc-v2",
		Args: []string{"-namespace", "k8s.io"}, Env: []string{"SHIM=1", "HOME=/root"}, StartTime: startTS - 1e9}
	bash := &Process{PID: 200, PPID: 100, VPID: 1, PVPID: 0, SID: 200, PGID: 200, VPGID: 1, Comm: "bash", Exe: "/bin/bash",
		ExePath: "/usr/bin/bash", Args: []string{"-i"}, Env: []string{"HOME=/root", "TERM=xterm"}, TTY: 34816,
		StartTime: startTS, Container: ctr}
	self := &Process{
		PID: 300, PPID: 200, VPID: 7, PVPID: 1, SID: 200, PGID: 200, VPGID: 1,
		Comm: "cat", Exe: "cat", ExePath: "/usr/bin/cat", Args: []string{"/etc/shadow", "-n"},
		Env: []string{"HOME=/root", "SECRET=s3cr3t"}, Cwd: "/root/", TTY: 34816,
		UID: 0, GID: 0, EUID: 0, EGID: 0, LoginUID: 1000,
		User:      &User{UID: 0, Name: "root", HomeDir: "/root", Shell: "/bin/bash"},
		LoginUser: &User{UID: 1000, Name: "alice", HomeDir: "/home/alice", Shell: "/bin/zsh"},
		Group:     &Group{GID: 0, Name: "root"},
		StartTime: t0 - 5e9, PidnsInitStart: startTS, ExeIno: 4242, ExeInoCtime: startTS + 10, ExeInoMtime: startTS + 5,
		ExeWritable: true, ExeUpperLayer: true, ExeFromMemfd: false,
		FDLimit: 1024, VMSize: 2048, VMRSS: 512, VMSwap: 1, NThreads: 2, NChilds: 1,
		Container: ctr,
	}
	w := &world{procs: procTable{1: systemd, 100: shim, 200: bash, 300: self}, ctr: ctr, self: self, bash: bash}
	return w
}

// event returns an event of type name by the world's process on thread
// 301, with the schema's arguments set up for the caller to fill.
func (w *world) event(t testing.TB, name string) *Event {
	t.Helper()
	code, ok := Source{}.TypeCode(name)
	if !ok {
		t.Fatalf("unknown event type %s", name)
	}
	e := &Event{}
	e.Reset()
	e.Num = 42
	e.Time = t0
	e.CPU = 3
	e.Hostname = "node-1"
	e.CaptureStart = t0 - 2_500_000_000
	e.PrevTime = t0 - 1500
	e.Procs = w.procs
	e.Thread = &Thread{TID: 301, VTID: 8, Proc: w.self,
		CapPermitted: 1<<0 | 1<<21, CapEffective: 1 << 21, CapInheritable: 0,
		CgroupPaths: []Cgroup{{Controller: "cpu", Path: "/kubepods/pod1/abc"}, {Controller: "", Path: "/kubepods.slice/cri-containerd-abc.scope"}},
		Exectime:    777,
	}
	e.SetType(code)
	return e
}

// set fills the named argument.
func set(t testing.TB, e *Event, name string, v any) {
	t.Helper()
	p := e.Param(name)
	if p == nil {
		t.Fatalf("event %s has no argument %s", eventTypes[e.Code], name)
	}
	switch x := v.(type) {
	case int:
		p.Num = uint64(int64(x))
	case uint64:
		p.Num = x
	case string:
		p.Str = x
	case []byte:
		p.Bytes = append(p.Bytes[:0], x...)
	case netip.AddrPort:
		p.Addr, p.Port = x.Addr(), x.Port()
	default:
		t.Fatalf("set %s: unsupported %T", name, v)
	}
}

// openEvent is cat's openat of shadow relative to /etc (dirfd 5), fd 3.
func (w *world) openEvent(t testing.TB) *Event {
	e := w.event(t, "openat")
	etc := &FD{Num: 5, Type: FDDirectory, Name: "/etc"}
	fd := &FD{Num: 3, Type: FDFile, Name: "/etc/shadow", NameRaw: "shadow", OpenFlags: OpenRDONLY | OpenCLOEXEC, Dev: 8<<20 | 1, Ino: 1234}
	w.self.FDs = map[int64]*FD{0: {Num: 0, Type: FDPipe, Name: "pipe:[1]"}, 1: {Num: 1, Type: FDFile, Name: "/dev/pts/0"}, 3: fd, 5: etc}
	e.FD = fd
	e.Res = 3
	set(t, e, "fd", 3)
	set(t, e, "dirfd", 5)
	set(t, e, "name", "shadow")
	set(t, e, "flags", uint64(OpenRDONLY|OpenCLOEXEC))
	set(t, e, "mode", 0)
	set(t, e, "dev", uint64(0x801))
	set(t, e, "ino", 1234)
	return e
}

// connectEvent is a TCP connect from 10.1.2.3:40000 to 93.184.216.34:443.
func (w *world) connectEvent(t testing.TB) *Event {
	e := w.event(t, "connect")
	fd := &FD{Num: 4, Type: FDIPv4, Name: "10.1.2.3:40000->93.184.216.34:443", L4Proto: "tcp", Family: 2,
		ClientAddr: netip.MustParseAddr("10.1.2.3"), ClientPort: 40000,
		ServerAddr: netip.MustParseAddr("93.184.216.34"), ServerPort: 443, Connected: true, NameChanged: true}
	e.FD = fd
	e.Res = 0
	set(t, e, "res", 0)
	set(t, e, "fd", 4)
	set(t, e, "addr", netip.MustParseAddrPort("93.184.216.34:443"))
	return e
}
