package sysevent

import (
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/event"
)

// extractFn extracts one compiled field from an event.
type extractFn func(c *Compiled, e *Event, dst []event.Value) []event.Value

func vStr(dst []event.Value, s string) []event.Value { return append(dst, event.Value{Str: s}) }
func vNum(dst []event.Value, n uint64) []event.Value { return append(dst, event.Value{Num: n}) }
func vInt(dst []event.Value, n int64) []event.Value  { return append(dst, event.Value{Num: uint64(n)}) }
func vIP(dst []event.Value, a netip.Addr) []event.Value {
	return append(dst, event.Value{IP: a.Unmap()})
}
func vNet(dst []event.Value, a netip.Addr) []event.Value {
	a = a.Unmap()
	return append(dst, event.Value{Net: netip.PrefixFrom(a, a.BitLen())})
}
func vBool(dst []event.Value, b bool) []event.Value {
	if b {
		return vNum(dst, 1)
	}
	return vNum(dst, 0)
}

// nonEmpty appends s unless it is empty: Falco yields no value for unset
// text.
func nonEmpty(dst []event.Value, s string) []event.Value {
	if s == "" {
		return dst
	}
	return vStr(dst, s)
}

// procField builds an extractor of a value of the event's process.
func procField(f func(e *Event, p *Process, dst []event.Value) []event.Value) extractFn {
	return func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		if p := e.proc(); p != nil {
			return f(e, p, dst)
		}
		return dst
	}
}

// parentField builds an extractor of a value of the parent process.
func parentField(f func(e *Event, p *Process, dst []event.Value) []event.Value) extractFn {
	return func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		if p := e.parentOf(e.proc()); p != nil {
			return f(e, p, dst)
		}
		return dst
	}
}

// ancestorField builds an extractor of proc.aX[N]: the value of the
// ancestor N levels up, or without an index of every ancestor (the
// process itself excluded), as Falco matches them.
func ancestorField(f func(e *Event, p *Process, dst []event.Value) []event.Value) extractFn {
	return func(c *Compiled, e *Event, dst []event.Value) []event.Value {
		if c.idx >= 0 {
			if p := e.ancestor(c.idx); p != nil {
				return f(e, p, dst)
			}
			return dst
		}
		p := e.parentOf(e.proc())
		for i := 0; p != nil && i < maxAncestry; i++ {
			dst = f(e, p, dst)
			p = e.parentOf(p)
		}
		return dst
	}
}

// leaderField builds an extractor of a value of the process with the id
// id(p) (session leader, process group leader).
func leaderField(id func(p *Process) int64, f func(e *Event, p *Process, dst []event.Value) []event.Value) extractFn {
	return procField(func(e *Event, p *Process, dst []event.Value) []event.Value {
		n := id(p)
		if n == p.PID {
			return f(e, p, dst)
		}
		if e.Procs == nil || n <= 0 {
			return dst
		}
		if l := e.Procs.Process(n); l != nil {
			return f(e, l, dst)
		}
		return dst
	})
}

func exeOf(_ *Event, p *Process, dst []event.Value) []event.Value { return vStr(dst, p.Exe) }
func exepathOf(_ *Event, p *Process, dst []event.Value) []event.Value {
	return nonEmpty(dst, p.ExePath)
}
func nameOf(_ *Event, p *Process, dst []event.Value) []event.Value { return vStr(dst, p.Comm) }
func pidOf(_ *Event, p *Process, dst []event.Value) []event.Value  { return vInt(dst, p.PID) }
func cmdlineOf(e *Event, p *Process, dst []event.Value) []event.Value {
	return vStr(dst, e.cmdline(p, p.Comm))
}
func startOf(_ *Event, p *Process, dst []event.Value) []event.Value {
	if p.StartTime == 0 {
		return dst
	}
	return vInt(dst, p.StartTime)
}
func durationOf(e *Event, p *Process, dst []event.Value) []event.Value {
	if p.StartTime == 0 || e.Time < p.StartTime {
		return dst
	}
	return vInt(dst, e.Time-p.StartTime)
}

// cmdline renders head followed by p's arguments, space-separated.
func (e *Event) cmdline(p *Process, head string) string {
	if len(p.Args) == 0 {
		return head
	}
	start := len(e.scratch)
	e.scratch = append(e.scratch, head...)
	for _, a := range p.Args {
		e.scratch = append(e.scratch, ' ')
		e.scratch = append(e.scratch, a...)
	}
	return e.text(start)
}

// joined renders list separated by sep.
func (e *Event) joined(list []string, sep byte) string {
	if len(list) == 1 {
		return list[0]
	}
	start := len(e.scratch)
	for i, a := range list {
		if i > 0 {
			e.scratch = append(e.scratch, sep)
		}
		e.scratch = append(e.scratch, a...)
	}
	return e.text(start)
}

// envValue returns the value of variable name in env.
func envValue(env []string, name string) (string, bool) {
	for _, kv := range env {
		if len(kv) > len(name) && kv[len(name)] == '=' && kv[:len(name)] == name {
			return kv[len(name)+1:], true
		}
	}
	return "", false
}

func fdField(f func(e *Event, fd *FD, dst []event.Value) []event.Value) extractFn {
	return func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		if e.FD == nil {
			return dst
		}
		return f(e, e.FD, dst)
	}
}

func isIP(fd *FD) bool { return fd.Type == FDIPv4 || fd.Type == FDIPv6 }

// local and remote ends of a socket.
func localEnd(fd *FD) (netip.Addr, uint16) {
	if fd.IsServer {
		return fd.ServerAddr, fd.ServerPort
	}
	return fd.ClientAddr, fd.ClientPort
}

func remoteEnd(fd *FD) (netip.Addr, uint16) {
	if fd.IsServer {
		return fd.ClientAddr, fd.ClientPort
	}
	return fd.ServerAddr, fd.ServerPort
}

// ipField builds the fd.Xip, fd.Xport, fd.Xnet and fd.Xproto extractors of
// one end of an IP socket.
func ipField(end func(fd *FD) (netip.Addr, uint16), out func(e *Event, fd *FD, a netip.Addr, port uint16, dst []event.Value) []event.Value) extractFn {
	return fdField(func(e *Event, fd *FD, dst []event.Value) []event.Value {
		if !isIP(fd) {
			return dst
		}
		a, port := end(fd)
		if !a.IsValid() {
			return dst
		}
		return out(e, fd, a, port, dst)
	})
}

func clientEnd(fd *FD) (netip.Addr, uint16) { return fd.ClientAddr, fd.ClientPort }
func serverEnd(fd *FD) (netip.Addr, uint16) { return fd.ServerAddr, fd.ServerPort }

func outIP(_ *Event, _ *FD, a netip.Addr, _ uint16, dst []event.Value) []event.Value {
	return vIP(dst, a)
}
func outNet(_ *Event, _ *FD, a netip.Addr, _ uint16, dst []event.Value) []event.Value {
	return vNet(dst, a)
}
func outPort(_ *Event, _ *FD, _ netip.Addr, port uint16, dst []event.Value) []event.Value {
	return vNum(dst, uint64(port))
}
func outProto(e *Event, fd *FD, _ netip.Addr, port uint16, dst []event.Value) []event.Value {
	return vStr(dst, e.portName(port, fd.L4Proto))
}

// bothEnds builds fd.ip, fd.port and fd.net: one value per end.
func bothEnds(out func(e *Event, fd *FD, a netip.Addr, port uint16, dst []event.Value) []event.Value) extractFn {
	return fdField(func(e *Event, fd *FD, dst []event.Value) []event.Value {
		if !isIP(fd) {
			return dst
		}
		if fd.ClientAddr.IsValid() {
			dst = out(e, fd, fd.ClientAddr, fd.ClientPort, dst)
		}
		if fd.ServerAddr.IsValid() {
			dst = out(e, fd, fd.ServerAddr, fd.ServerPort, dst)
		}
		return dst
	})
}

// portName renders a port as Falco's fd.Xproto does: the service name for
// well-known ports, the number otherwise.
func (e *Event) portName(port uint16, l4 string) string {
	if n, ok := services[port]; ok && (l4 == "tcp" || l4 == "udp" || l4 == "") {
		return n
	}
	start := len(e.scratch)
	e.scratch = strconv.AppendUint(e.scratch, uint64(port), 10)
	return e.text(start)
}

// services are the well-known ports of /etc/services Falco would name.
var services = map[uint16]string{
	20: "ftp-data", 21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 53: "domain",
	67: "bootps", 68: "bootpc", 69: "tftp", 80: "http", 110: "pop3", 111: "sunrpc",
	123: "ntp", 143: "imap2", 161: "snmp", 389: "ldap", 443: "https", 445: "microsoft-ds",
	465: "submissions", 514: "syslog", 587: "submission", 636: "ldaps", 873: "rsync",
	993: "imaps", 995: "pop3s", 2049: "nfs", 3306: "mysql", 5432: "postgresql",
	6379: "redis", 8080: "http-alt", 9418: "git", 27017: "mongodb",
}

// fdTypeNames are fd.type's values by FD type.
var fdTypeNames = func() [256]string {
	var t [256]string
	for c, n := range map[byte]string{
		FDFile: "file", FDDirectory: "directory", FDIPv4: "ipv4", FDIPv6: "ipv6", FDUnix: "unix",
		FDPipe: "pipe", FDEvent: "event", FDSignalFD: "signalfd", FDEventPoll: "eventpoll",
		FDInotify: "inotify", FDTimerFD: "timerfd", FDNetlink: "netlink", FDBPF: "bpf",
		FDUserfault: "userfaultfd", FDIOUring: "io_uring", FDMemfd: "memfd", FDPidfd: "pidfd",
		FDUnknown: "unknown",
	} {
		t[c] = n
	}
	return t
}()

// fdTypeOrder lists the FD types in the order fd.types reports them.
var fdTypeOrder = []byte{
	FDFile, FDDirectory, FDIPv4, FDIPv6, FDUnix, FDPipe, FDEvent, FDSignalFD, FDEventPoll,
	FDInotify, FDTimerFD, FDNetlink, FDBPF, FDUserfault, FDIOUring, FDMemfd, FDPidfd, FDUnknown,
}

// oneChar holds the one-byte strings, so fd.typechar allocates nothing.
var oneChar = func() [256]string {
	var t [256]string
	for i := range t {
		t[i] = string([]byte{byte(i)})
	}
	return t
}()

// fdDir returns the directory of a file descriptor's path.
func fdDir(fd *FD) (string, bool) {
	switch fd.Type {
	case FDDirectory:
		return fd.Name, fd.Name != ""
	case FDFile:
		i := strings.LastIndexByte(fd.Name, '/')
		switch {
		case i < 0:
			return "", false
		case i == 0:
			return "/", true
		}
		return fd.Name[:i], true
	}
	return "", false
}

// capsText renders a capability mask as Falco does: names in bit order,
// separated by spaces.
func (e *Event) capsText(mask uint64) string {
	start := len(e.scratch)
	for bit := 0; bit < 64; bit++ {
		if mask&(1<<bit) == 0 {
			continue
		}
		if len(e.scratch) > start {
			e.scratch = append(e.scratch, ' ')
		}
		if bit < len(Capabilities) {
			e.scratch = append(e.scratch, Capabilities[bit]...)
		} else {
			e.scratch = append(e.scratch, "CAP_"...)
			e.scratch = strconv.AppendInt(e.scratch, int64(bit), 10)
		}
	}
	return e.text(start)
}

// info returns the schema of the event's type.
func (e *Event) info() *eventInfo {
	if e.Code < 0 || e.Code >= len(eventTable) {
		return &eventTable[0]
	}
	return &eventTable[e.Code]
}

// hasRes reports whether the event's first argument is its return value.
func (e *Event) hasRes() bool {
	in := e.info()
	if len(in.params) == 0 {
		return in.syscall && e.Code != 0
	}
	k := in.params[0]
	return (k.Name == "res" || k.Name == "fd") && k.Kind != ParamHex
}

func (e *Event) failed() bool { return e.hasRes() && e.Res < 0 }

// openFlags returns the open flags of an open-family event.
func (e *Event) openFlags() (uint64, bool) {
	switch eventTypes[e.info0()] {
	case "open", "openat", "openat2":
		if p := e.Param("flags"); p != nil {
			return p.Num, true
		}
	case "creat":
		return OpenCREAT | OpenWRONLY | OpenTRUNC, true
	}
	return 0, false
}

func (e *Event) info0() int {
	if e.Code < 0 || e.Code >= len(eventTypes) {
		return 0
	}
	return e.Code
}

// evtTime renders the event time with a layout, in local time as Falco.
func evtTime(layout string, utc bool) extractFn {
	return func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		t := time.Unix(0, e.Time)
		if utc {
			t = t.UTC()
		}
		start := len(e.scratch)
		e.scratch = t.AppendFormat(e.scratch, layout)
		return vStr(dst, e.text(start))
	}
}

func relTime(f func(e *Event) (int64, bool), part int) extractFn {
	return func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		d, ok := f(e)
		if !ok {
			return dst
		}
		switch part {
		case 1:
			d /= 1e9
		case 2:
			d %= 1e9
		}
		return vInt(dst, d)
	}
}

func relSinceStart(e *Event) (int64, bool) {
	if e.CaptureStart == 0 {
		return 0, false
	}
	return e.Time - e.CaptureStart, true
}

func deltaTime(e *Event) (int64, bool) {
	if e.PrevTime == 0 {
		return 0, true
	}
	return e.Time - e.PrevTime, true
}

func (e *Event) cont() *container.Info {
	if p := e.proc(); p != nil {
		return p.Container
	}
	return nil
}

func contField(f func(e *Event, ci *container.Info, dst []event.Value) []event.Value) extractFn {
	return func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		if ci := e.cont(); ci != nil {
			return f(e, ci, dst)
		}
		return dst
	}
}

func podField(f func(e *Event, pod *container.Pod, dst []event.Value) []event.Value) extractFn {
	return contField(func(e *Event, ci *container.Info, dst []event.Value) []event.Value {
		if ci.Pod == nil {
			return dst
		}
		return f(e, ci.Pod, dst)
	})
}

// labelsText renders labels as Falco does: key:value pairs sorted by key,
// separated by commas.
func (e *Event) labelsText(labels map[string]string) string {
	e.keys = e.keys[:0]
	for k := range labels {
		e.keys = append(e.keys, k)
	}
	slices.Sort(e.keys)
	start := len(e.scratch)
	for i, k := range e.keys {
		if i > 0 {
			e.scratch = append(e.scratch, ',')
		}
		e.scratch = append(e.scratch, k...)
		e.scratch = append(e.scratch, ':')
		e.scratch = append(e.scratch, labels[k]...)
	}
	return e.text(start)
}

// appendMount renders a mount as source:dest:mode:rdwr:propagation.
func appendMount(b []byte, m *container.Mount) []byte {
	b = append(b, m.Source...)
	b = append(b, ':')
	b = append(b, m.Dest...)
	b = append(b, ':')
	b = append(b, m.Mode...)
	b = append(b, ':')
	b = strconv.AppendBool(b, m.RW)
	b = append(b, ':')
	return append(b, m.Propagation...)
}

// findMount finds a mount by index, or the first whose bySource (else
// destination) matches the glob in arg.
func findMount(ci *container.Info, c *Compiled, bySource bool) *container.Mount {
	if ci == nil {
		return nil
	}
	if c.idx >= 0 {
		if c.idx < len(ci.Mounts) {
			return &ci.Mounts[c.idx]
		}
		return nil
	}
	for i := range ci.Mounts {
		m := &ci.Mounts[i]
		s := m.Dest
		if bySource {
			s = m.Source
		}
		if ok, _ := path.Match(c.Arg, s); ok {
			return m
		}
	}
	return nil
}

// mountNA is what container.mount.* yield when no mount matches, so that
// Falco's rules written as `not container.mount.dest[...] in ("<NA>","N/A")`
// hold.
const mountNA = "N/A"

func mountField(bySource bool, f func(e *Event, m *container.Mount, dst []event.Value) []event.Value) extractFn {
	return func(c *Compiled, e *Event, dst []event.Value) []event.Value {
		m := findMount(e.cont(), c, bySource)
		if m == nil {
			return vStr(dst, mountNA)
		}
		return f(e, m, dst)
	}
}

// fsPath builds the fs.path.* extractors from the per-event path param.
func fsPath(which int, resolve bool) extractFn {
	return func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		in := e.info()
		i := [3]int{in.pathName, in.pathSource, in.pathTarget}[which]
		if i < 0 || i >= e.NParams || e.Params[i].Str == "" {
			return dst
		}
		if !resolve {
			return vStr(dst, e.Params[i].Str)
		}
		pr := &e.Params[i]
		if pr.Kind == ParamString && pr.Str[0] != '/' {
			// symlink targets are resolved against the cwd, as Falco does.
			if p := e.proc(); p != nil && p.Cwd != "" {
				start := len(e.scratch)
				e.scratch = appendJoinClean(e.scratch, p.Cwd, pr.Str)
				return vStr(dst, e.text(start))
			}
		}
		return vStr(dst, e.absParam(i))
	}
}

// abspath builds evt.abspath[.src|.dst]: the n-th path argument resolved
// against its directory fd, for the *at syscalls.
func abspath(n int) extractFn {
	return func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		seen := 0
		hasDirFD := false
		for i := 0; i < e.NParams; i++ {
			switch e.Params[i].Kind {
			case ParamFD:
				hasDirFD = hasDirFD || i > 0
			case ParamRelPath:
				if seen == n && hasDirFD {
					return vStr(dst, e.absParam(i))
				}
				seen++
			}
		}
		return dst
	}
}

// syslog decodes a write to /dev/log: "<PRI>message".
func (e *Event) syslog() (pri uint64, msg string, ok bool) {
	if e.FD == nil || e.FD.Name != "/dev/log" || e.info().cat != catIOWrite {
		return 0, "", false
	}
	d := e.Param("data")
	if d == nil || len(d.Bytes) < 3 || d.Bytes[0] != '<' {
		return 0, "", false
	}
	for i := 1; i < len(d.Bytes) && i < 5; i++ {
		c := d.Bytes[i]
		if c == '>' && i > 1 {
			return pri, e.textOf(d.Bytes[i+1:]), pri < 192
		}
		if c < '0' || c > '9' {
			return 0, "", false
		}
		pri = pri*10 + uint64(c-'0')
	}
	return 0, "", false
}

// textOf copies b into the scratch buffer and returns it as a string.
func (e *Event) textOf(b []byte) string {
	start := len(e.scratch)
	e.scratch = append(e.scratch, b...)
	return e.text(start)
}

var syslogFacilities = []string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "clock",
	"authpriv", "ftp", "ntp", "logaudit", "logalert", "cron", "local0", "local1",
	"local2", "local3", "local4", "local5", "local6", "local7",
}

var syslogSeverities = []string{"emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"}

func syslogField(f func(e *Event, pri uint64, msg string, dst []event.Value) []event.Value) extractFn {
	return func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		pri, msg, ok := e.syslog()
		if !ok {
			return dst
		}
		return f(e, pri, msg, dst)
	}
}

// isShell reports whether comm names a shell, as Falco's
// proc.loginshellid decides: its name ends in "sh".
func isShell(comm string) bool { return strings.HasSuffix(comm, "sh") }

// none yields nothing: fields whose data Vigil does not have.
func none(_ *Compiled, _ *Event, dst []event.Value) []event.Value { return dst }

// ioCategory is evt.category's text for I/O events: by descriptor type.
func ioCategory(fd *FD) string {
	if fd == nil {
		return "unknown"
	}
	switch fd.Type {
	case FDFile, FDDirectory:
		return "file"
	case FDIPv4, FDIPv6:
		return "net"
	case FDPipe, FDUnix, FDEvent, FDSignalFD, FDInotify:
		return "ipc"
	}
	return "unknown"
}

var categoryNames = [...]string{
	catOther: "other", catFile: "file", catNet: "net", catIPC: "ipc", catMemory: "memory",
	catProcess: "process", catSignal: "signal", catUser: "user", catSystem: "system",
}

// countCat builds evt.count.error.X.
func countCat(match func(c category) bool) extractFn {
	return func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		return vBool(dst, e.failed() && match(e.info().cat))
	}
}
