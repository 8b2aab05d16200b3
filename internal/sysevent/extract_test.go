package sysevent

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/event"
)

// builders make the events the field tests read, as the sensor fills them.
var builders = map[string]func(t testing.TB, w *world) *Event{
	"open":    func(t testing.TB, w *world) *Event { return w.openEvent(t) },
	"connect": func(t testing.TB, w *world) *Event { return w.connectEvent(t) },
	"accept": func(t testing.TB, w *world) *Event {
		e := w.event(t, "accept4")
		e.FD = &FD{Num: 9, Type: FDIPv4, Name: "1.2.3.4:5555->10.1.2.3:8080", L4Proto: "tcp", IsServer: true, Connected: true,
			ClientAddr: netip.MustParseAddr("1.2.3.4"), ClientPort: 5555, ServerAddr: netip.MustParseAddr("10.1.2.3"), ServerPort: 8080}
		e.Res = 9
		set(t, e, "fd", 9)
		return e
	},
	"rename": func(t testing.TB, w *world) *Event {
		e := w.event(t, "renameat2")
		w.self.FDs = map[int64]*FD{5: {Num: 5, Type: FDDirectory, Name: "/etc"}}
		set(t, e, "olddirfd", atFDCWD)
		set(t, e, "oldpath", "a.txt")
		set(t, e, "newdirfd", 5)
		set(t, e, "newpath", "../tmp/b.txt")
		set(t, e, "flags", 1)
		return e
	},
	"symlink": func(t testing.TB, w *world) *Event {
		e := w.event(t, "symlinkat")
		set(t, e, "target", "/etc/passwd")
		set(t, e, "linkdirfd", atFDCWD)
		set(t, e, "linkpath", "p")
		return e
	},
	"log": func(t testing.TB, w *world) *Event {
		e := w.event(t, "write")
		e.FD = &FD{Num: 7, Type: FDUnix, Name: "/dev/log"}
		e.Res = 15
		set(t, e, "res", 15)
		set(t, e, "data", []byte("<38>sshd: hello"))
		set(t, e, "fd", 7)
		set(t, e, "size", 15)
		return e
	},
	"ptrace": func(t testing.TB, w *world) *Event {
		e := w.event(t, "ptrace")
		e.Res = -1
		set(t, e, "res", -1)
		set(t, e, "request", PtraceRequestFromKernel(16))
		set(t, e, "pid", 200)
		return e
	},
	"exit": func(t testing.TB, w *world) *Event {
		e := w.event(t, "procexit")
		set(t, e, "sig", 9)
		return e
	},
	"host": func(t testing.TB, w *world) *Event {
		e := w.event(t, "execve")
		e.Thread.Proc = w.procs[100]
		e.Thread.TID = 100
		return e
	},
	"creat": func(t testing.TB, w *world) *Event {
		e := w.event(t, "creat")
		e.Res = 3
		set(t, e, "fd", 3)
		set(t, e, "name", "run.sh")
		set(t, e, "mode", uint64(0o755))
		return e
	},
	"chmod": func(t testing.TB, w *world) *Event {
		e := w.event(t, "chmod")
		set(t, e, "filename", "/tmp/x")
		set(t, e, "mode", uint64(0o755))
		return e
	},
}

type fieldCase struct {
	field string // as written in a rule, with its argument
	ev    string // builder
	want  []string
}

// s is shorthand for the expected rendered values.
func s(v ...string) []string { return v }

const (
	shadowArgs = "fd=3(<f>/etc/shadow) dirfd=5(<d>/etc) name=shadow(/etc/shadow) flags=4097(O_RDONLY|O_CLOEXEC) mode=0 dev=801 ino=1234"
	mounts     = "/var/run/docker.sock:/var/run/docker.sock:rw:true:rprivate /proc:/host/proc:ro:false:rslave"
)

var fieldCases = []fieldCase{
	{"evt.num", "open", s("42")},
	{"evt.time", "open", s("22:13:20.123456789")},
	{"evt.time.s", "open", s("22:13:20")},
	{"evt.time.iso8601", "open", s("2023-11-14T22:13:20.123456789Z")},
	{"evt.datetime", "open", s("2023-11-14 22:13:20.123456789")},
	{"evt.datetime.s", "open", s("2023-11-14 22:13:20")},
	{"evt.rawtime", "open", s("1700000000123456789")},
	{"evt.rawtime.s", "open", s("1700000000")},
	{"evt.rawtime.ns", "open", s("123456789")},
	{"evt.reltime", "open", s("2500000000")},
	{"evt.reltime.s", "open", s("2")},
	{"evt.reltime.ns", "open", s("500000000")},
	{"evt.pluginname", "open", nil},
	{"evt.plugininfo", "open", nil},
	{"evt.source", "open", s("syscall")},
	{"evt.is_async", "open", s("false")},
	{"evt.asynctype", "open", nil},
	{"evt.hostname", "open", s("node-1")},
	{"evt.latency", "open", nil},
	{"evt.latency.s", "open", nil},
	{"evt.latency.ns", "open", nil},
	{"evt.latency.human", "open", nil},
	{"evt.deltatime", "open", s("1500")},
	{"evt.deltatime.s", "open", s("0")},
	{"evt.deltatime.ns", "open", s("1500")},
	{"evt.dir", "open", s("<")},
	{"evt.type", "open", s("openat")},
	{"evt.type", "exit", s("procexit")},
	{"evt.type.is.openat", "open", s("1")},
	{"evt.type.is[open]", "open", s("0")},
	{"syscall.type", "open", s("openat")},
	{"syscall.type", "exit", nil},
	{"evt.category", "open", s("file")},
	{"evt.category", "connect", s("net")},
	{"evt.category", "log", s("ipc")},
	{"evt.category", "exit", s("process")},
	{"evt.cpu", "open", s("3")},
	{"evt.args", "open", s(shadowArgs)},
	{"evt.args", "connect", s("res=0 tuple=10.1.2.3:40000->93.184.216.34:443 fd=4(<4>10.1.2.3:40000->93.184.216.34:443) addr=93.184.216.34:443")},
	{"evt.args", "ptrace", s("res=-1(EPERM) addr=0 data=0 request=11(PTRACE_ATTACH) pid=200(bash)")},
	{"evt.args", "chmod", s("res=0 filename=/tmp/x mode=0755(S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IXUSR|S_IWUSR|S_IRUSR)")},
	{"evt.args", "exit", s("status=0 ret=0 sig=9(SIGKILL) core=0 reaper_tid=0")},
	{"evt.info", "open", s(shadowArgs)},
	{"evt.arg.fd", "open", s("<f>/etc/shadow")},
	{"evt.arg[fd]", "open", s("<f>/etc/shadow")},
	{"evt.arg.dirfd", "open", s("<d>/etc")},
	{"evt.arg[2]", "open", s("/etc/shadow")},
	{"evt.arg.flags", "open", s("O_RDONLY|O_CLOEXEC")},
	{"evt.arg.mode", "open", s("0")},
	{"evt.arg.mode", "creat", s("0755")},
	{"evt.arg.nosuch", "open", nil},
	{"evt.arg[9]", "open", nil},
	{"evt.arg.request", "ptrace", s("PTRACE_ATTACH")},
	{"evt.arg.pid", "ptrace", s("bash")},
	{"evt.arg.res", "ptrace", s("EPERM")},
	{"evt.arg.sig", "exit", s("SIGKILL")},
	{"evt.arg.oldpath", "rename", s("/root/a.txt")},
	{"evt.arg.flags", "rename", s("RENAME_NOREPLACE")},
	{"evt.arg.data", "log", s("<38>sshd: hello")},
	{"evt.rawarg.flags", "open", s("4097")},
	{"evt.rawarg.fd", "open", s("3")},
	{"evt.rawarg.name", "open", s("shadow")},
	{"evt.rawarg.res", "ptrace", s("-1")},
	{"evt.rawarg.data", "log", s("<38>sshd: hello")},
	{"evt.buffer", "log", s("<38>sshd: hello")},
	{"evt.buffer", "open", nil},
	{"evt.buflen", "log", s("15")},
	{"evt.buflen", "open", nil},
	{"evt.res", "open", s("SUCCESS")},
	{"evt.res", "ptrace", s("EPERM")},
	{"evt.res", "exit", nil},
	{"evt.rawres", "open", s("3")},
	{"evt.rawres", "ptrace", s("-1")},
	{"evt.failed", "ptrace", s("true")},
	{"evt.failed", "open", s("false")},
	{"evt.is_io", "log", s("true")},
	{"evt.is_io", "open", s("false")},
	{"evt.is_io_read", "log", s("false")},
	{"evt.is_io_write", "log", s("true")},
	{"evt.io_dir", "log", s("w")},
	{"evt.io_dir", "open", nil},
	{"evt.is_wait", "open", s("false")},
	{"evt.wait_latency", "open", nil},
	{"evt.is_syslog", "log", s("true")},
	{"evt.is_syslog", "open", s("false")},
	{"evt.count", "open", s("1")},
	{"evt.count.error", "ptrace", s("1")},
	{"evt.count.error", "open", s("0")},
	{"evt.count.error.file", "ptrace", s("0")},
	{"evt.count.error.net", "ptrace", s("0")},
	{"evt.count.error.memory", "ptrace", s("0")},
	{"evt.count.error.other", "ptrace", s("1")},
	{"evt.count.exit", "open", s("1")},
	{"evt.around[1700000000]", "open", nil},
	{"evt.abspath", "open", s("/etc/shadow")},
	{"evt.abspath", "chmod", nil},
	{"evt.abspath.src", "rename", s("/root/a.txt")},
	{"evt.abspath.dst", "rename", s("/tmp/b.txt")},
	{"evt.is_open_read", "open", s("true")},
	{"evt.is_open_write", "open", s("false")},
	{"evt.is_open_write", "creat", s("true")},
	{"evt.is_open_exec", "creat", s("true")},
	{"evt.is_open_exec", "open", s("false")},
	{"evt.is_open_create", "open", s("false")},

	{"proc.exe", "open", s("cat")},
	{"proc.pexe", "open", s("/bin/bash")},
	{"proc.aexe[0]", "open", s("cat")},
	{"proc.aexe[2]", "open", s("containerd-shim")},
	{"proc.aexe[9]", "open", nil},
	{"proc.aexe", "open", s("/bin/bash", "containerd-shim", "/sbin/init")},
	{"proc.exepath", "open", s("/usr/bin/cat")},
	{"proc.pexepath", "open", s("/usr/bin/bash")},
	{"proc.aexepath[3]", "open", s("/usr/lib/systemd/systemd")},
	{"proc.name", "open", s("cat")},
	{"proc.pname", "open", s("bash")},
	{"proc.pname", "host", s("systemd")},
	{"proc.aname[1]", "open", s("bash")},
	{"proc.aname", "open", s("bash", "containerd-shim", "systemd")},
	{"proc.args", "open", s("/etc/shadow -n")},
	{"proc.cmdline", "open", s("cat /etc/shadow -n")},
	{"proc.pcmdline", "open", s("bash -i")},
	{"proc.acmdline[2]", "open", s("containerd-shim -namespace k8s.io")},
	{"proc.cmdnargs", "open", s("2")},
	{"proc.cmdlenargs", "open", s("13")},
	{"proc.exeline", "open", s("cat /etc/shadow -n")},
	{"proc.env", "open", s("HOME=/root SECRET=s3cr3t")},
	{"proc.env[SECRET]", "open", s("s3cr3t")},
	{"proc.env[NOPE]", "open", nil},
	{"proc.aenv[1]", "open", s("HOME=/root TERM=xterm")},
	{"proc.aenv[SHIM]", "open", s("1")},
	{"proc.aenv", "open", s("HOME=/root TERM=xterm", "SHIM=1 HOME=/root", "PATH=/usr/bin")},
	{"proc.cwd", "open", s("/root/")},
	{"proc.loginshellid", "open", s("200")},
	{"proc.loginshellid", "host", nil},
	{"proc.tty", "open", s("34816")},
	{"proc.pid", "open", s("300")},
	{"proc.ppid", "open", s("200")},
	{"proc.apid[3]", "open", s("1")},
	{"proc.apid", "open", s("200", "100", "1")},
	{"proc.vpid", "open", s("7")},
	{"proc.pvpid", "open", s("1")},
	{"proc.sid", "open", s("200")},
	{"proc.sname", "open", s("bash")},
	{"proc.sid.exe", "open", s("/bin/bash")},
	{"proc.sid.exepath", "open", s("/usr/bin/bash")},
	{"proc.vpgid", "open", s("1")},
	{"proc.vpgid.name", "open", s("bash")},
	{"proc.vpgid.exe", "open", s("/bin/bash")},
	{"proc.vpgid.exepath", "open", s("/usr/bin/bash")},
	{"proc.duration", "open", s("5000000000")},
	{"proc.ppid.duration", "open", s("1000123456789")},
	{"proc.pid.ts", "open", s("1699999995123456789")},
	{"proc.ppid.ts", "open", s("1699999000000000000")},
	{"proc.is_exe_writable", "open", s("true")},
	{"proc.is_exe_upper_layer", "open", s("true")},
	{"proc.is_exe_from_memfd", "open", s("false")},
	{"proc.is_sid_leader", "open", s("false")},
	{"proc.is_vpgid_leader", "open", s("false")},
	{"proc.exe_ino", "open", s("4242")},
	{"proc.exe_ino.ctime", "open", s("1699999000000000010")},
	{"proc.exe_ino.mtime", "open", s("1699999000000000005")},
	{"proc.exe_ino.ctime_duration_proc_start", "open", s("995123456779")},
	{"proc.exe_ino.ctime_duration_pidns_start", "open", s("10")},
	{"proc.pidns_init_start_ts", "open", s("1699999000000000000")},
	{"proc.is_container_healthcheck", "open", s("false")},
	{"proc.is_container_liveness_probe", "open", s("false")},
	{"proc.is_container_readiness_probe", "open", s("false")},
	{"proc.fdopencount", "open", s("4")},
	{"proc.fdlimit", "open", s("1024")},
	{"proc.vmsize", "open", s("2048")},
	{"proc.vmrss", "open", s("512")},
	{"proc.vmswap", "open", s("1")},
	{"proc.nthreads", "open", s("2")},
	{"proc.nchilds", "open", s("1")},
	{"thread.cap_permitted", "open", s("CAP_CHOWN CAP_SYS_ADMIN")},
	{"thread.cap_inheritable", "open", s("")},
	{"thread.cap_effective", "open", s("CAP_SYS_ADMIN")},
	{"thread.pfmajor", "open", nil},
	{"thread.pfminor", "open", nil},
	{"thread.tid", "open", s("301")},
	{"thread.ismain", "open", s("false")},
	{"thread.ismain", "host", s("true")},
	{"thread.vtid", "open", s("8")},
	{"thread.exectime", "open", s("777")},
	{"thread.totexectime", "open", nil},
	{"thread.cgroups", "open", s("cpu=/kubepods/pod1/abc unified=/kubepods.slice/cri-containerd-abc.scope")},
	{"thread.cgroup.cpu", "open", s("/kubepods/pod1/abc")},
	{"thread.cgroup[memory]", "open", s("/kubepods.slice/cri-containerd-abc.scope")},
	{"thread.vmsize", "open", s("0")},
	{"thread.vmrss", "open", s("0")},

	{"user.uid", "open", s("0")},
	{"user.name", "open", s("root")},
	{"user.homedir", "open", s("/root")},
	{"user.shell", "open", s("/bin/bash")},
	{"user.loginuid", "open", s("1000")},
	{"user.loginuid", "host", s("0")},
	{"user.loginname", "open", s("alice")},
	{"group.gid", "open", s("0")},
	{"group.name", "open", s("root")},

	{"fd.num", "open", s("3")},
	{"fd.num", "chmod", nil},
	{"fd.type", "open", s("file")},
	{"fd.type", "connect", s("ipv4")},
	{"fd.typechar", "open", s("f")},
	{"fd.name", "open", s("/etc/shadow")},
	{"fd.directory", "open", s("/etc")},
	{"fd.filename", "open", s("shadow")},
	{"fd.ip", "connect", s("10.1.2.3", "93.184.216.34")},
	{"fd.cip", "connect", s("10.1.2.3")},
	{"fd.sip", "connect", s("93.184.216.34")},
	{"fd.lip", "connect", s("10.1.2.3")},
	{"fd.rip", "connect", s("93.184.216.34")},
	{"fd.lip", "accept", s("10.1.2.3")},
	{"fd.rip", "accept", s("1.2.3.4")},
	{"fd.cip", "open", nil},
	{"fd.port", "connect", s("40000", "443")},
	{"fd.cport", "connect", s("40000")},
	{"fd.sport", "connect", s("443")},
	{"fd.lport", "connect", s("40000")},
	{"fd.rport", "connect", s("443")},
	{"fd.lport", "accept", s("8080")},
	{"fd.rport", "accept", s("5555")},
	{"fd.l4proto", "connect", s("tcp")},
	{"fd.sockfamily", "connect", s("ip")},
	{"fd.sockfamily", "log", s("unix")},
	{"fd.is_server", "connect", s("false")},
	{"fd.is_server", "accept", s("true")},
	{"fd.uid", "open", s("3013")},
	{"fd.containername", "open", s("3f4a5b6c7d8e:/etc/shadow")},
	{"fd.containerdirectory", "open", s("3f4a5b6c7d8e:/etc")},
	{"fd.proto", "connect", s("40000", "443")},
	{"fd.cproto", "connect", s("40000")},
	{"fd.sproto", "connect", s("https")},
	{"fd.lproto", "accept", s("http-alt")},
	{"fd.rproto", "accept", s("5555")},
	{"fd.net", "connect", s("10.1.2.3/32", "93.184.216.34/32")},
	{"fd.cnet", "connect", s("10.1.2.3/32")},
	{"fd.snet", "connect", s("93.184.216.34/32")},
	{"fd.lnet", "accept", s("10.1.2.3/32")},
	{"fd.rnet", "accept", s("1.2.3.4/32")},
	{"fd.connected", "connect", s("true")},
	{"fd.name_changed", "connect", s("true")},
	{"fd.cip.name", "connect", nil},
	{"fd.sip.name", "connect", nil},
	{"fd.lip.name", "connect", nil},
	{"fd.rip.name", "connect", nil},
	{"fd.dev", "open", s("8388609")},
	{"fd.dev.major", "open", s("8")},
	{"fd.dev.minor", "open", s("1")},
	{"fd.ino", "open", s("1234")},
	{"fd.nameraw", "open", s("shadow")},
	{"fd.types", "open", s("file", "directory", "pipe")},
	{"fd.types[5]", "open", s("directory")},
	{"fdlist.nums", "open", nil},
	{"fdlist.names", "open", nil},
	{"fdlist.cips", "open", nil},
	{"fdlist.sips", "open", nil},
	{"fdlist.cports", "open", nil},
	{"fdlist.sports", "open", nil},

	{"fs.path.name", "open", s("/etc/shadow")},
	{"fs.path.nameraw", "open", s("shadow")},
	{"fs.path.name", "rename", nil},
	{"fs.path.source", "rename", s("/root/a.txt")},
	{"fs.path.sourceraw", "rename", s("a.txt")},
	{"fs.path.target", "rename", s("/tmp/b.txt")},
	{"fs.path.targetraw", "rename", s("../tmp/b.txt")},
	{"fs.path.source", "symlink", s("/etc/passwd")},
	{"fs.path.target", "symlink", s("/root/p")},

	{"syslog.facility.str", "log", s("auth")},
	{"syslog.facility", "log", s("4")},
	{"syslog.severity.str", "log", s("info")},
	{"syslog.severity", "log", s("6")},
	{"syslog.message", "log", s("sshd: hello")},
	{"syslog.message", "open", nil},

	{"container.id", "open", s("3f4a5b6c7d8e")},
	{"container.id", "host", s("host")},
	{"container.full_id", "open", s(ctrID)},
	{"container.full_id", "host", s("host")},
	{"container.name", "open", s("web")},
	{"container.name", "host", s("host")},
	{"container.image", "open", s("docker.io/library/nginx:1.25")},
	{"container.image", "host", nil},
	{"container.image.id", "open", s("sha256:bbbb")},
	{"container.type", "open", s("containerd")},
	{"container.privileged", "open", s("true")},
	{"container.privileged", "host", nil},
	{"container.mounts", "open", s(mounts)},
	{"container.mount[1]", "open", s("/proc:/host/proc:ro:false:rslave")},
	{"container.mount[/var/run/*]", "open", s("/var/run/docker.sock:/var/run/docker.sock:rw:true:rprivate")},
	{"container.mount[/nope]", "open", s("none")},
	{"container.mount.source[/host/*]", "open", s("/proc")},
	{"container.mount.dest[/proc*]", "open", s("/host/proc")},
	{"container.mount.dest[/etc]", "open", s("N/A")},
	{"container.mount.dest[/proc*]", "host", s("N/A")},
	{"container.mount.mode[0]", "open", s("rw")},
	{"container.mount.rdwr[1]", "open", s("false")},
	{"container.mount.propagation[/proc]", "open", s("rslave")},
	{"container.image.repository", "open", s("docker.io/library/nginx")},
	{"container.image.tag", "open", s("1.25")},
	{"container.image.digest", "open", s("sha256:aaaa")},
	{"container.healthcheck", "open", nil},
	{"container.liveness_probe", "open", nil},
	{"container.readiness_probe", "open", nil},
	{"container.start_ts", "open", s("1699999000000000000")},
	{"container.duration", "open", s("1000123456789")},
	{"container.ip", "open", s("10.1.2.3")},
	{"container.cni.json", "open", nil},
	{"container.host_pid", "open", s("false")},
	{"container.host_network", "open", s("true")},
	{"container.host_ipc", "open", s("false")},
	{"container.label[app]", "open", s("web")},
	{"container.label.app", "open", s("web")},
	{"container.label.nope", "open", nil},
	{"container.labels", "open", s("app:web,io.kubernetes.pod.name:web-0")},

	{"k8s.ns.name", "open", s("shop")},
	{"k8s.ns.name", "host", nil},
	{"k8s.pod.name", "open", s("web-0")},
	{"k8s.pod.id", "open", s("6b1f-uid")},
	{"k8s.pod.uid", "open", s("6b1f-uid")},
	{"k8s.pod.sandbox_id", "open", s("998877665544")},
	{"k8s.pod.full_sandbox_id", "open", s("99887766554433221100aabbccddeeff")},
	{"k8s.pod.label[app]", "open", s("web")},
	{"k8s.pod.label.tier", "open", s("front")},
	{"k8s.pod.labels", "open", s("app:web,tier:front")},
	{"k8s.pod.ip", "open", s("10.1.2.3")},
	{"k8s.pod.cni.json", "open", nil},
	{"k8s.rc.name", "open", nil},
	{"k8s.rc.id", "open", nil},
	{"k8s.rc.label.app", "open", nil},
	{"k8s.rc.labels", "open", nil},
	{"k8s.svc.name", "open", nil},
	{"k8s.svc.id", "open", nil},
	{"k8s.svc.label.app", "open", nil},
	{"k8s.svc.labels", "open", nil},
	{"k8s.ns.id", "open", nil},
	{"k8s.ns.label.app", "open", nil},
	{"k8s.ns.labels", "open", nil},
	{"k8s.rs.name", "open", nil},
	{"k8s.rs.id", "open", nil},
	{"k8s.rs.label.app", "open", nil},
	{"k8s.rs.labels", "open", nil},
	{"k8s.deployment.name", "open", nil},
	{"k8s.deployment.id", "open", nil},
	{"k8s.deployment.label.app", "open", nil},
	{"k8s.deployment.labels", "open", nil},
}

// splitField splits "name[arg]" as the rules parser does.
func splitField(f string) (name, arg string, hasArg bool) {
	if i := strings.IndexByte(f, '['); i > 0 && strings.HasSuffix(f, "]") {
		return f[:i], f[i+1 : len(f)-1], true
	}
	return f, "", false
}

// render prints a value the way the test table writes it.
func render(v event.Value, t event.FieldType) string {
	switch {
	case t.Textual():
		return v.Str
	case t == event.TypeBool:
		return strconv.FormatBool(v.Num != 0)
	case t == event.TypeInt:
		return strconv.FormatInt(int64(v.Num), 10)
	case t.Numeric():
		return strconv.FormatUint(v.Num, 10)
	case t == event.TypeIPAddr:
		return v.IP.String()
	case t == event.TypeIPNet:
		return v.Net.String()
	}
	return "?"
}

func compile(t testing.TB, field string) *Compiled {
	t.Helper()
	name, arg, hasArg := splitField(field)
	ext, err := Source{}.Extractor(name, arg, hasArg)
	require.NoError(t, err, field)
	return ext.(*Compiled)
}

func TestExtractFields(t *testing.T) {
	for _, tc := range fieldCases {
		t.Run(tc.field+"/"+tc.ev, func(t *testing.T) {
			w := newWorld()
			e := builders[tc.ev](t, w)
			c := compile(t, tc.field)
			var got []string
			for _, v := range c.Extract(e, nil) {
				got = append(got, render(v, c.Field.Type))
			}
			require.Equal(t, tc.want, got)
		})
	}
}

// TestEveryFieldTested fails when a field of the registry has no
// extractor or no case in fieldCases.
func TestEveryFieldTested(t *testing.T) {
	tested := map[string]bool{}
	for _, tc := range fieldCases {
		name, _, _ := splitField(tc.field)
		f, _, _, ok := lookup(name)
		require.True(t, ok, tc.field)
		tested[f.Name] = true
	}
	for _, f := range fieldTable {
		require.Contains(t, extractors, f.Name, "field %s has no extractor", f.Name)
		require.True(t, tested[f.Name], "field %s has no case in fieldCases", f.Name)
	}
	require.Len(t, extractors, len(fieldTable), "extractors for fields not in the registry")
}

// TestExtractAllocs extracts every case's field again and again from the
// same event: once the scratch buffer has grown, nothing is allocated.
func TestExtractAllocs(t *testing.T) {
	w := newWorld()
	evs := map[string]*Event{}
	for name, b := range builders {
		evs[name] = b(t, w)
	}
	w.self.FDs = evs["open"].Thread.Proc.FDs
	dst := make([]event.Value, 0, 16)
	for _, tc := range fieldCases {
		c := compile(t, tc.field)
		e := evs[tc.ev]
		allocs := testing.AllocsPerRun(50, func() {
			e.scratch = e.scratch[:0]
			dst = c.Extract(e, dst[:0])
		})
		require.Zero(t, allocs, "%s on %s allocates", tc.field, tc.ev)
	}
}

func TestOtherSourceEvent(t *testing.T) {
	c := compile(t, "proc.name")
	require.Empty(t, c.Extract(otherEvent{}, nil))
}

type otherEvent struct{}

func (otherEvent) Source() string   { return "other" }
func (otherEvent) TypeCode() int    { return 1 }
func (otherEvent) Timestamp() int64 { return 0 }
