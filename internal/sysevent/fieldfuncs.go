package sysevent

import (
	"strconv"

	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/event"
)

// extractors maps every field of fieldTable to its extractor. Built once
// at init from this explicit list, then read-only; a test checks that it
// covers fieldTable exactly.
var extractors = map[string]extractFn{
	// evt: every event.
	"evt.num":           func(_ *Compiled, e *Event, dst []event.Value) []event.Value { return vNum(dst, e.Num) },
	"evt.time":          evtTime("15:04:05.000000000", false),
	"evt.time.s":        evtTime("15:04:05", false),
	"evt.time.iso8601":  evtTime("2006-01-02T15:04:05.000000000Z", true),
	"evt.datetime":      evtTime("2006-01-02 15:04:05.000000000", false),
	"evt.datetime.s":    evtTime("2006-01-02 15:04:05", false),
	"evt.rawtime":       func(_ *Compiled, e *Event, dst []event.Value) []event.Value { return vInt(dst, e.Time) },
	"evt.rawtime.s":     func(_ *Compiled, e *Event, dst []event.Value) []event.Value { return vInt(dst, e.Time/1e9) },
	"evt.rawtime.ns":    func(_ *Compiled, e *Event, dst []event.Value) []event.Value { return vInt(dst, e.Time%1e9) },
	"evt.reltime":       relTime(relSinceStart, 0),
	"evt.reltime.s":     relTime(relSinceStart, 1),
	"evt.reltime.ns":    relTime(relSinceStart, 2),
	"evt.pluginname":    none,
	"evt.plugininfo":    none,
	"evt.source":        func(_ *Compiled, _ *Event, dst []event.Value) []event.Value { return vStr(dst, SourceName) },
	"evt.is_async":      func(_ *Compiled, _ *Event, dst []event.Value) []event.Value { return vBool(dst, false) },
	"evt.asynctype":     none,
	"evt.hostname":      func(_ *Compiled, e *Event, dst []event.Value) []event.Value { return nonEmpty(dst, e.Hostname) },
	"evt.latency":       none,
	"evt.latency.s":     none,
	"evt.latency.ns":    none,
	"evt.latency.human": none,
	"evt.deltatime":     relTime(deltaTime, 0),
	"evt.deltatime.s":   relTime(deltaTime, 1),
	"evt.deltatime.ns":  relTime(deltaTime, 2),
	"evt.dir": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		if e.Dir == '>' {
			return vStr(dst, ">")
		}
		return vStr(dst, "<")
	},
	"evt.type": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		return vStr(dst, eventTypes[e.info0()])
	},
	"evt.type.is": func(c *Compiled, e *Event, dst []event.Value) []event.Value {
		return vBool(dst, e.Code == c.idx)
	},
	"syscall.type": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		if !e.info().syscall || e.Code == 0 {
			return dst
		}
		name := eventTypes[e.Code]
		switch name {
		case "pread", "pwrite", "prlimit":
			name += "64"
		}
		return vStr(dst, name)
	},
	"evt.category": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		switch c := e.info().cat; c {
		case catIORead, catIOWrite, catIOOther:
			return vStr(dst, ioCategory(e.FD))
		default:
			return vStr(dst, categoryNames[c])
		}
	},
	"evt.cpu": func(_ *Compiled, e *Event, dst []event.Value) []event.Value { return vInt(dst, int64(e.CPU)) },
	"evt.args": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		start := len(e.scratch)
		e.scratch = e.appendArgs(e.scratch)
		return vStr(dst, e.text(start))
	},
	"evt.info": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		start := len(e.scratch)
		e.scratch = e.appendArgs(e.scratch)
		return vStr(dst, e.text(start))
	},
	"evt.arg":    extractArg,
	"evt.rawarg": extractRawArg,
	"evt.buffer": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		if p := e.Param("data"); p != nil && p.Kind == ParamBytes {
			return vStr(dst, e.textOf(p.Bytes))
		}
		return dst
	},
	"evt.buflen": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		if c := e.info().cat; (c == catIORead || c == catIOWrite) && e.Res >= 0 {
			return vNum(dst, uint64(e.Res))
		}
		return dst
	},
	"evt.res": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		if !e.hasRes() {
			return dst
		}
		if e.Res >= 0 {
			return vStr(dst, "SUCCESS")
		}
		if n := ErrnoName(uint64(-e.Res)); n != "" {
			return vStr(dst, n)
		}
		start := len(e.scratch)
		e.scratch = strconv.AppendInt(e.scratch, e.Res, 10)
		return vStr(dst, e.text(start))
	},
	"evt.rawres": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		if !e.hasRes() {
			return dst
		}
		return vInt(dst, e.Res)
	},
	"evt.failed": func(_ *Compiled, e *Event, dst []event.Value) []event.Value { return vBool(dst, e.failed()) },
	"evt.is_io": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		c := e.info().cat
		return vBool(dst, c == catIORead || c == catIOWrite)
	},
	"evt.is_io_read": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		return vBool(dst, e.info().cat == catIORead)
	},
	"evt.is_io_write": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		return vBool(dst, e.info().cat == catIOWrite)
	},
	"evt.io_dir": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		switch e.info().cat {
		case catIORead:
			return vStr(dst, "r")
		case catIOWrite:
			return vStr(dst, "w")
		}
		return dst
	},
	"evt.is_wait": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		switch eventTypes[e.info0()] {
		case "poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "nanosleep", "clock_nanosleep", "futex":
			return vBool(dst, true)
		}
		return vBool(dst, false)
	},
	"evt.wait_latency": none,
	"evt.is_syslog": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		return vBool(dst, e.FD != nil && e.FD.Name == "/dev/log" && e.info().cat == catIOWrite)
	},
	"evt.count":              func(_ *Compiled, _ *Event, dst []event.Value) []event.Value { return vNum(dst, 1) },
	"evt.count.error":        countCat(func(category) bool { return true }),
	"evt.count.error.file":   countCat(func(c category) bool { return c == catFile }),
	"evt.count.error.net":    countCat(func(c category) bool { return c == catNet }),
	"evt.count.error.memory": countCat(func(c category) bool { return c == catMemory }),
	"evt.count.error.other": countCat(func(c category) bool {
		return c != catFile && c != catNet && c != catMemory
	}),
	"evt.count.exit":  func(_ *Compiled, e *Event, dst []event.Value) []event.Value { return vBool(dst, e.Dir != '>') },
	"evt.around":      none,
	"evt.abspath":     abspath(0),
	"evt.abspath.src": abspath(0),
	"evt.abspath.dst": abspath(1),
	"evt.is_open_read": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		f, ok := e.openFlags()
		return vBool(dst, ok && f&OpenRDONLY != 0)
	},
	"evt.is_open_write": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		f, ok := e.openFlags()
		return vBool(dst, ok && f&OpenWRONLY != 0)
	},
	"evt.is_open_exec": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		f, ok := e.openFlags()
		mode := e.Param("mode")
		return vBool(dst, ok && f&OpenCREAT != 0 && mode != nil && mode.Num&0o111 != 0)
	},
	"evt.is_open_create": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		f, ok := e.openFlags()
		return vBool(dst, ok && f&OpenFCreated != 0)
	},

	// proc and thread.
	"proc.exe":      procField(exeOf),
	"proc.pexe":     parentField(exeOf),
	"proc.aexe":     ancestorField(exeOf),
	"proc.exepath":  procField(exepathOf),
	"proc.pexepath": parentField(exepathOf),
	"proc.aexepath": ancestorField(exepathOf),
	"proc.name":     procField(nameOf),
	"proc.pname":    parentField(nameOf),
	"proc.aname":    ancestorField(nameOf),
	"proc.args": procField(func(e *Event, p *Process, dst []event.Value) []event.Value {
		if len(p.Args) == 0 {
			return vStr(dst, "")
		}
		return vStr(dst, e.joined(p.Args, ' '))
	}),
	"proc.cmdline":  procField(cmdlineOf),
	"proc.pcmdline": parentField(cmdlineOf),
	"proc.acmdline": ancestorField(cmdlineOf),
	"proc.cmdnargs": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		return vNum(dst, uint64(len(p.Args)))
	}),
	"proc.cmdlenargs": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		n := 0
		for _, a := range p.Args {
			n += len(a)
		}
		return vNum(dst, uint64(n))
	}),
	"proc.exeline": procField(func(e *Event, p *Process, dst []event.Value) []event.Value {
		return vStr(dst, e.cmdline(p, p.Exe))
	}),
	"proc.env": func(c *Compiled, e *Event, dst []event.Value) []event.Value {
		p := e.proc()
		if p == nil {
			return dst
		}
		if c.HasArg {
			if v, ok := envValue(p.Env, c.Arg); ok {
				return vStr(dst, v)
			}
			return dst
		}
		if len(p.Env) == 0 {
			return dst
		}
		return vStr(dst, e.joined(p.Env, ' '))
	},
	"proc.aenv": func(c *Compiled, e *Event, dst []event.Value) []event.Value {
		switch {
		case c.idx >= 0:
			if p := e.ancestor(c.idx); p != nil && len(p.Env) > 0 {
				return vStr(dst, e.joined(p.Env, ' '))
			}
		case c.HasArg:
			p := e.proc()
			for i := 0; p != nil && i < maxAncestry; i++ {
				if v, ok := envValue(p.Env, c.Arg); ok {
					return vStr(dst, v)
				}
				p = e.parentOf(p)
			}
		default:
			p := e.parentOf(e.proc())
			for i := 0; p != nil && i < maxAncestry; i++ {
				if len(p.Env) > 0 {
					dst = vStr(dst, e.joined(p.Env, ' '))
				}
				p = e.parentOf(p)
			}
		}
		return dst
	},
	"proc.cwd": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value { return nonEmpty(dst, p.Cwd) }),
	"proc.loginshellid": procField(func(e *Event, p *Process, dst []event.Value) []event.Value {
		found := int64(-1)
		for i := 0; p != nil && i < maxAncestry; i++ {
			if isShell(p.Comm) {
				found = p.PID
			}
			p = e.parentOf(p)
		}
		if found < 0 {
			return dst
		}
		return vInt(dst, found)
	}),
	"proc.tty":           procField(func(_ *Event, p *Process, dst []event.Value) []event.Value { return vNum(dst, uint64(p.TTY)) }),
	"proc.pid":           procField(pidOf),
	"proc.ppid":          procField(func(_ *Event, p *Process, dst []event.Value) []event.Value { return vInt(dst, p.PPID) }),
	"proc.apid":          ancestorField(pidOf),
	"proc.vpid":          procField(func(_ *Event, p *Process, dst []event.Value) []event.Value { return vInt(dst, p.VPID) }),
	"proc.pvpid":         procField(func(_ *Event, p *Process, dst []event.Value) []event.Value { return vInt(dst, p.PVPID) }),
	"proc.sid":           procField(func(_ *Event, p *Process, dst []event.Value) []event.Value { return vInt(dst, p.SID) }),
	"proc.sname":         leaderField(sidOf, nameOf),
	"proc.sid.exe":       leaderField(sidOf, exeOf),
	"proc.sid.exepath":   leaderField(sidOf, exepathOf),
	"proc.vpgid":         procField(func(_ *Event, p *Process, dst []event.Value) []event.Value { return vInt(dst, p.VPGID) }),
	"proc.vpgid.name":    leaderField(pgidOf, nameOf),
	"proc.vpgid.exe":     leaderField(pgidOf, exeOf),
	"proc.vpgid.exepath": leaderField(pgidOf, exepathOf),
	"proc.duration":      procField(durationOf),
	"proc.ppid.duration": parentField(durationOf),
	"proc.pid.ts":        procField(startOf),
	"proc.ppid.ts":       parentField(startOf),
	"proc.is_exe_writable": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		return vBool(dst, p.ExeWritable)
	}),
	"proc.is_exe_upper_layer": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		return vBool(dst, p.ExeUpperLayer)
	}),
	"proc.is_exe_from_memfd": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		return vBool(dst, p.ExeFromMemfd)
	}),
	"proc.is_sid_leader": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		return vBool(dst, p.SID == p.VPID)
	}),
	"proc.is_vpgid_leader": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		return vBool(dst, p.VPGID == p.VPID)
	}),
	"proc.exe_ino": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		if p.ExeIno == 0 {
			return dst
		}
		return vNum(dst, p.ExeIno)
	}),
	"proc.exe_ino.ctime": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		if p.ExeInoCtime == 0 {
			return dst
		}
		return vInt(dst, p.ExeInoCtime)
	}),
	"proc.exe_ino.mtime": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		if p.ExeInoMtime == 0 {
			return dst
		}
		return vInt(dst, p.ExeInoMtime)
	}),
	"proc.exe_ino.ctime_duration_proc_start": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		if p.ExeInoCtime == 0 || p.StartTime < p.ExeInoCtime {
			return dst
		}
		return vInt(dst, p.StartTime-p.ExeInoCtime)
	}),
	"proc.exe_ino.ctime_duration_pidns_start": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		if p.ExeInoCtime == 0 || p.PidnsInitStart == 0 || p.ExeInoCtime < p.PidnsInitStart {
			return dst
		}
		return vInt(dst, p.ExeInoCtime-p.PidnsInitStart)
	}),
	"proc.pidns_init_start_ts": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		if p.PidnsInitStart == 0 {
			return dst
		}
		return vInt(dst, p.PidnsInitStart)
	}),
	"proc.is_container_healthcheck":     procField(falseOf),
	"proc.is_container_liveness_probe":  procField(falseOf),
	"proc.is_container_readiness_probe": procField(falseOf),
	"proc.fdopencount": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		if p.FDs == nil {
			return dst
		}
		return vNum(dst, uint64(len(p.FDs)))
	}),
	"proc.fdlimit": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value { return vInt(dst, p.FDLimit) }),
	"proc.vmsize":  procField(func(_ *Event, p *Process, dst []event.Value) []event.Value { return vNum(dst, p.VMSize) }),
	"proc.vmrss":   procField(func(_ *Event, p *Process, dst []event.Value) []event.Value { return vNum(dst, p.VMRSS) }),
	"proc.vmswap":  procField(func(_ *Event, p *Process, dst []event.Value) []event.Value { return vNum(dst, p.VMSwap) }),
	"proc.nthreads": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		return vNum(dst, uint64(p.NThreads))
	}),
	"proc.nchilds": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		return vNum(dst, uint64(p.NChilds))
	}),
	"thread.cap_permitted": threadField(func(e *Event, t *Thread, dst []event.Value) []event.Value {
		return vStr(dst, e.capsText(t.CapPermitted))
	}),
	"thread.cap_inheritable": threadField(func(e *Event, t *Thread, dst []event.Value) []event.Value {
		return vStr(dst, e.capsText(t.CapInheritable))
	}),
	"thread.cap_effective": threadField(func(e *Event, t *Thread, dst []event.Value) []event.Value {
		return vStr(dst, e.capsText(t.CapEffective))
	}),
	"thread.pfmajor": none,
	"thread.pfminor": none,
	"thread.tid":     threadField(func(_ *Event, t *Thread, dst []event.Value) []event.Value { return vInt(dst, t.TID) }),
	"thread.ismain": threadField(func(_ *Event, t *Thread, dst []event.Value) []event.Value {
		return vBool(dst, t.Proc != nil && t.TID == t.Proc.PID)
	}),
	"thread.vtid": threadField(func(_ *Event, t *Thread, dst []event.Value) []event.Value { return vInt(dst, t.VTID) }),
	"thread.exectime": threadField(func(_ *Event, t *Thread, dst []event.Value) []event.Value {
		if t.Exectime == 0 {
			return dst
		}
		return vNum(dst, t.Exectime)
	}),
	"thread.totexectime": none,
	"thread.cgroups": threadField(func(e *Event, t *Thread, dst []event.Value) []event.Value {
		if len(t.CgroupPaths) == 0 {
			return dst
		}
		start := len(e.scratch)
		for i, cg := range t.CgroupPaths {
			if i > 0 {
				e.scratch = append(e.scratch, ' ')
			}
			name := cg.Controller
			if name == "" {
				name = "unified"
			}
			e.scratch = append(e.scratch, name...)
			e.scratch = append(e.scratch, '=')
			e.scratch = append(e.scratch, cg.Path...)
		}
		return vStr(dst, e.text(start))
	}),
	"thread.cgroup": func(c *Compiled, e *Event, dst []event.Value) []event.Value {
		if e.Thread == nil {
			return dst
		}
		unified := -1
		for i, cg := range e.Thread.CgroupPaths {
			if cg.Controller == c.Arg {
				return vStr(dst, cg.Path)
			}
			if cg.Controller == "" {
				unified = i
			}
		}
		if unified >= 0 {
			return vStr(dst, e.Thread.CgroupPaths[unified].Path)
		}
		return dst
	},
	"thread.vmsize": threadField(func(_ *Event, t *Thread, dst []event.Value) []event.Value {
		if t.Proc == nil || t.TID != t.Proc.PID {
			return vNum(dst, 0)
		}
		return vNum(dst, t.Proc.VMSize)
	}),
	"thread.vmrss": threadField(func(_ *Event, t *Thread, dst []event.Value) []event.Value {
		if t.Proc == nil || t.TID != t.Proc.PID {
			return vNum(dst, 0)
		}
		return vNum(dst, t.Proc.VMRSS)
	}),

	// user and group.
	"user.uid": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		if p.User != nil {
			return vNum(dst, uint64(p.User.UID))
		}
		return vNum(dst, uint64(p.EUID))
	}),
	"user.name":    userField(func(u *User, dst []event.Value) []event.Value { return nonEmpty(dst, u.Name) }),
	"user.homedir": userField(func(u *User, dst []event.Value) []event.Value { return nonEmpty(dst, u.HomeDir) }),
	"user.shell":   userField(func(u *User, dst []event.Value) []event.Value { return nonEmpty(dst, u.Shell) }),
	"user.loginuid": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		return vInt(dst, int64(int32(p.LoginUID)))
	}),
	"user.loginname": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		if p.LoginUser != nil {
			return nonEmpty(dst, p.LoginUser.Name)
		}
		return dst
	}),
	"group.gid": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		if p.Group != nil {
			return vNum(dst, uint64(p.Group.GID))
		}
		return vNum(dst, uint64(p.EGID))
	}),
	"group.name": procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		if p.Group != nil {
			return nonEmpty(dst, p.Group.Name)
		}
		return dst
	}),

	// fd.
	"fd.num":      fdField(func(_ *Event, fd *FD, dst []event.Value) []event.Value { return vInt(dst, fd.Num) }),
	"fd.type":     fdField(func(_ *Event, fd *FD, dst []event.Value) []event.Value { return nonEmpty(dst, fdTypeNames[fd.Type]) }),
	"fd.typechar": fdField(func(_ *Event, fd *FD, dst []event.Value) []event.Value { return vStr(dst, oneChar[fd.Type]) }),
	"fd.name":     fdField(func(_ *Event, fd *FD, dst []event.Value) []event.Value { return vStr(dst, fd.Name) }),
	"fd.directory": fdField(func(_ *Event, fd *FD, dst []event.Value) []event.Value {
		if d, ok := fdDir(fd); ok {
			return vStr(dst, d)
		}
		return dst
	}),
	"fd.filename": fdField(func(_ *Event, fd *FD, dst []event.Value) []event.Value {
		if fd.Type != FDFile {
			return dst
		}
		return vStr(dst, basename(fd.Name))
	}),
	"fd.ip":      bothEnds(outIP),
	"fd.cip":     ipField(clientEnd, outIP),
	"fd.sip":     ipField(serverEnd, outIP),
	"fd.lip":     ipField(localEnd, outIP),
	"fd.rip":     ipField(remoteEnd, outIP),
	"fd.port":    bothEnds(outPort),
	"fd.cport":   ipField(clientEnd, outPort),
	"fd.sport":   ipField(serverEnd, outPort),
	"fd.lport":   ipField(localEnd, outPort),
	"fd.rport":   ipField(remoteEnd, outPort),
	"fd.l4proto": fdField(func(_ *Event, fd *FD, dst []event.Value) []event.Value { return nonEmpty(dst, fd.L4Proto) }),
	"fd.sockfamily": fdField(func(_ *Event, fd *FD, dst []event.Value) []event.Value {
		switch fd.Type {
		case FDIPv4, FDIPv6:
			return vStr(dst, "ip")
		case FDUnix:
			return vStr(dst, "unix")
		}
		return dst
	}),
	"fd.is_server": fdField(func(_ *Event, fd *FD, dst []event.Value) []event.Value { return vBool(dst, fd.IsServer) }),
	"fd.uid": fdField(func(e *Event, fd *FD, dst []event.Value) []event.Value {
		if e.Thread == nil {
			return dst
		}
		start := len(e.scratch)
		e.scratch = strconv.AppendInt(e.scratch, e.Thread.TID, 10)
		e.scratch = strconv.AppendInt(e.scratch, fd.Num, 10)
		return vStr(dst, e.text(start))
	}),
	"fd.containername": fdField(func(e *Event, fd *FD, dst []event.Value) []event.Value {
		start := len(e.scratch)
		e.scratch = append(e.scratch, containerID(e.cont())...)
		e.scratch = append(e.scratch, ':')
		e.scratch = append(e.scratch, fd.Name...)
		return vStr(dst, e.text(start))
	}),
	"fd.containerdirectory": fdField(func(e *Event, fd *FD, dst []event.Value) []event.Value {
		d, ok := fdDir(fd)
		if !ok {
			return dst
		}
		start := len(e.scratch)
		e.scratch = append(e.scratch, containerID(e.cont())...)
		e.scratch = append(e.scratch, ':')
		e.scratch = append(e.scratch, d...)
		return vStr(dst, e.text(start))
	}),
	"fd.proto":        bothEnds(outPort),
	"fd.cproto":       ipField(clientEnd, outProto),
	"fd.sproto":       ipField(serverEnd, outProto),
	"fd.lproto":       ipField(localEnd, outProto),
	"fd.rproto":       ipField(remoteEnd, outProto),
	"fd.net":          bothEnds(outNet),
	"fd.cnet":         ipField(clientEnd, outNet),
	"fd.snet":         ipField(serverEnd, outNet),
	"fd.lnet":         ipField(localEnd, outNet),
	"fd.rnet":         ipField(remoteEnd, outNet),
	"fd.connected":    fdField(func(_ *Event, fd *FD, dst []event.Value) []event.Value { return vBool(dst, fd.Connected) }),
	"fd.name_changed": fdField(func(_ *Event, fd *FD, dst []event.Value) []event.Value { return vBool(dst, fd.NameChanged) }),
	"fd.cip.name":     none,
	"fd.sip.name":     none,
	"fd.lip.name":     none,
	"fd.rip.name":     none,
	"fd.dev":          fdField(func(_ *Event, fd *FD, dst []event.Value) []event.Value { return vInt(dst, int64(fd.Dev)) }),
	"fd.dev.major":    fdField(func(_ *Event, fd *FD, dst []event.Value) []event.Value { return vInt(dst, int64(fd.Dev>>20)) }),
	"fd.dev.minor":    fdField(func(_ *Event, fd *FD, dst []event.Value) []event.Value { return vInt(dst, int64(fd.Dev&0xfffff)) }),
	"fd.ino":          fdField(func(_ *Event, fd *FD, dst []event.Value) []event.Value { return vInt(dst, int64(fd.Ino)) }),
	"fd.nameraw":      fdField(func(_ *Event, fd *FD, dst []event.Value) []event.Value { return nonEmpty(dst, fd.NameRaw) }),
	"fd.types": func(c *Compiled, e *Event, dst []event.Value) []event.Value {
		p := e.proc()
		if p == nil || p.FDs == nil {
			return dst
		}
		if c.idx >= 0 {
			if fd := p.FDs[int64(c.idx)]; fd != nil {
				return nonEmpty(dst, fdTypeNames[fd.Type])
			}
			return dst
		}
		var seen [256]bool
		for _, fd := range p.FDs {
			seen[fd.Type] = true
		}
		for _, t := range fdTypeOrder {
			if seen[t] {
				dst = vStr(dst, fdTypeNames[t])
			}
		}
		return dst
	},

	// fdlist: poll events, which the sensor does not emit.
	"fdlist.nums":   none,
	"fdlist.names":  none,
	"fdlist.cips":   none,
	"fdlist.sips":   none,
	"fdlist.cports": none,
	"fdlist.sports": none,

	// fs.path.
	"fs.path.name":      fsPath(0, true),
	"fs.path.nameraw":   fsPath(0, false),
	"fs.path.source":    fsPath(1, true),
	"fs.path.sourceraw": fsPath(1, false),
	"fs.path.target":    fsPath(2, true),
	"fs.path.targetraw": fsPath(2, false),

	// syslog.
	"syslog.facility.str": syslogField(func(_ *Event, pri uint64, _ string, dst []event.Value) []event.Value {
		return vStr(dst, syslogFacilities[pri/8])
	}),
	"syslog.facility": syslogField(func(_ *Event, pri uint64, _ string, dst []event.Value) []event.Value { return vNum(dst, pri/8) }),
	"syslog.severity.str": syslogField(func(_ *Event, pri uint64, _ string, dst []event.Value) []event.Value {
		return vStr(dst, syslogSeverities[pri%8])
	}),
	"syslog.severity": syslogField(func(_ *Event, pri uint64, _ string, dst []event.Value) []event.Value { return vNum(dst, pri%8) }),
	"syslog.message":  syslogField(func(_ *Event, _ uint64, msg string, dst []event.Value) []event.Value { return vStr(dst, msg) }),

	// container.
	"container.id": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		if e.Thread == nil {
			return dst
		}
		return vStr(dst, containerID(e.cont()))
	},
	"container.full_id": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		if e.Thread == nil {
			return dst
		}
		if ci := e.cont(); ci != nil {
			return vStr(dst, ci.ID)
		}
		return vStr(dst, container.HostID)
	},
	"container.name": func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		if e.Thread == nil {
			return dst
		}
		if ci := e.cont(); ci != nil {
			return nonEmpty(dst, ci.Name)
		}
		return vStr(dst, container.HostID)
	},
	"container.image":      contField(func(_ *Event, ci *container.Info, dst []event.Value) []event.Value { return nonEmpty(dst, ci.Image) }),
	"container.image.id":   contField(func(_ *Event, ci *container.Info, dst []event.Value) []event.Value { return nonEmpty(dst, ci.ImageID) }),
	"container.type":       contField(func(_ *Event, ci *container.Info, dst []event.Value) []event.Value { return nonEmpty(dst, ci.Runtime) }),
	"container.privileged": contField(func(_ *Event, ci *container.Info, dst []event.Value) []event.Value { return vBool(dst, ci.Privileged) }),
	"container.mounts": contField(func(e *Event, ci *container.Info, dst []event.Value) []event.Value {
		start := len(e.scratch)
		for i := range ci.Mounts {
			if i > 0 {
				e.scratch = append(e.scratch, ' ')
			}
			e.scratch = appendMount(e.scratch, &ci.Mounts[i])
		}
		return vStr(dst, e.text(start))
	}),
	"container.mount": func(c *Compiled, e *Event, dst []event.Value) []event.Value {
		m := findMount(e.cont(), c, true)
		if m == nil {
			return vStr(dst, "none")
		}
		start := len(e.scratch)
		e.scratch = appendMount(e.scratch, m)
		return vStr(dst, e.text(start))
	},
	"container.mount.source": mountField(false, func(_ *Event, m *container.Mount, dst []event.Value) []event.Value { return vStr(dst, m.Source) }),
	"container.mount.dest":   mountField(true, func(_ *Event, m *container.Mount, dst []event.Value) []event.Value { return vStr(dst, m.Dest) }),
	"container.mount.mode":   mountField(true, func(_ *Event, m *container.Mount, dst []event.Value) []event.Value { return vStr(dst, m.Mode) }),
	"container.mount.rdwr": mountField(true, func(_ *Event, m *container.Mount, dst []event.Value) []event.Value {
		if m.RW {
			return vStr(dst, "true")
		}
		return vStr(dst, "false")
	}),
	"container.mount.propagation": mountField(true, func(_ *Event, m *container.Mount, dst []event.Value) []event.Value { return vStr(dst, m.Propagation) }),
	"container.image.repository": contField(func(_ *Event, ci *container.Info, dst []event.Value) []event.Value {
		return nonEmpty(dst, ci.ImageRepo)
	}),
	"container.image.tag": contField(func(_ *Event, ci *container.Info, dst []event.Value) []event.Value { return nonEmpty(dst, ci.ImageTag) }),
	"container.image.digest": contField(func(_ *Event, ci *container.Info, dst []event.Value) []event.Value {
		return nonEmpty(dst, ci.ImageDigest)
	}),
	"container.healthcheck":     none,
	"container.liveness_probe":  none,
	"container.readiness_probe": none,
	"container.start_ts": contField(func(_ *Event, ci *container.Info, dst []event.Value) []event.Value {
		if ci.StartTS == 0 {
			return dst
		}
		return vInt(dst, ci.StartTS)
	}),
	"container.duration": contField(func(e *Event, ci *container.Info, dst []event.Value) []event.Value {
		if ci.StartTS == 0 || e.Time < ci.StartTS {
			return dst
		}
		return vInt(dst, e.Time-ci.StartTS)
	}),
	"container.ip": contField(func(_ *Event, ci *container.Info, dst []event.Value) []event.Value {
		if ci.IP == "" && ci.Pod != nil {
			return nonEmpty(dst, ci.Pod.IP)
		}
		return nonEmpty(dst, ci.IP)
	}),
	"container.cni.json":     none,
	"container.host_pid":     contField(func(_ *Event, ci *container.Info, dst []event.Value) []event.Value { return vBool(dst, ci.HostPID) }),
	"container.host_network": contField(func(_ *Event, ci *container.Info, dst []event.Value) []event.Value { return vBool(dst, ci.HostNetwork) }),
	"container.host_ipc":     contField(func(_ *Event, ci *container.Info, dst []event.Value) []event.Value { return vBool(dst, ci.HostIPC) }),
	"container.label": func(c *Compiled, e *Event, dst []event.Value) []event.Value {
		if ci := e.cont(); ci != nil {
			if v, ok := ci.Labels[c.Arg]; ok {
				return vStr(dst, v)
			}
		}
		return dst
	},
	"container.labels": contField(func(e *Event, ci *container.Info, dst []event.Value) []event.Value {
		if len(ci.Labels) == 0 {
			return dst
		}
		return vStr(dst, e.labelsText(ci.Labels))
	}),

	// k8s: from the container runtime's pod labels.
	"k8s.ns.name": podField(func(_ *Event, pod *container.Pod, dst []event.Value) []event.Value {
		return nonEmpty(dst, pod.Namespace)
	}),
	"k8s.pod.name": podField(func(_ *Event, pod *container.Pod, dst []event.Value) []event.Value { return nonEmpty(dst, pod.Name) }),
	"k8s.pod.id":   podField(func(_ *Event, pod *container.Pod, dst []event.Value) []event.Value { return nonEmpty(dst, pod.UID) }),
	"k8s.pod.uid":  podField(func(_ *Event, pod *container.Pod, dst []event.Value) []event.Value { return nonEmpty(dst, pod.UID) }),
	"k8s.pod.sandbox_id": podField(func(_ *Event, pod *container.Pod, dst []event.Value) []event.Value {
		return nonEmpty(dst, shortID(pod.SandboxID))
	}),
	"k8s.pod.full_sandbox_id": podField(func(_ *Event, pod *container.Pod, dst []event.Value) []event.Value {
		return nonEmpty(dst, pod.SandboxID)
	}),
	"k8s.pod.label": func(c *Compiled, e *Event, dst []event.Value) []event.Value {
		if ci := e.cont(); ci != nil && ci.Pod != nil {
			if v, ok := ci.Pod.Labels[c.Arg]; ok {
				return vStr(dst, v)
			}
		}
		return dst
	},
	"k8s.pod.labels": podField(func(e *Event, pod *container.Pod, dst []event.Value) []event.Value {
		if len(pod.Labels) == 0 {
			return dst
		}
		return vStr(dst, e.labelsText(pod.Labels))
	}),
	"k8s.pod.ip":            podField(func(_ *Event, pod *container.Pod, dst []event.Value) []event.Value { return nonEmpty(dst, pod.IP) }),
	"k8s.pod.cni.json":      none,
	"k8s.rc.name":           none,
	"k8s.rc.id":             none,
	"k8s.rc.label":          none,
	"k8s.rc.labels":         none,
	"k8s.svc.name":          none,
	"k8s.svc.id":            none,
	"k8s.svc.label":         none,
	"k8s.svc.labels":        none,
	"k8s.ns.id":             none,
	"k8s.ns.label":          none,
	"k8s.ns.labels":         none,
	"k8s.rs.name":           none,
	"k8s.rs.id":             none,
	"k8s.rs.label":          none,
	"k8s.rs.labels":         none,
	"k8s.deployment.name":   none,
	"k8s.deployment.id":     none,
	"k8s.deployment.label":  none,
	"k8s.deployment.labels": none,
}

func sidOf(p *Process) int64  { return p.SID }
func pgidOf(p *Process) int64 { return p.PGID }

func falseOf(_ *Event, _ *Process, dst []event.Value) []event.Value { return vBool(dst, false) }

func threadField(f func(e *Event, t *Thread, dst []event.Value) []event.Value) extractFn {
	return func(_ *Compiled, e *Event, dst []event.Value) []event.Value {
		if e.Thread == nil {
			return dst
		}
		return f(e, e.Thread, dst)
	}
}

func userField(f func(u *User, dst []event.Value) []event.Value) extractFn {
	return procField(func(_ *Event, p *Process, dst []event.Value) []event.Value {
		if p.User == nil {
			return dst
		}
		return f(p.User, dst)
	})
}

// containerID is container.id: the short id, "host" outside containers.
func containerID(ci *container.Info) string {
	if ci == nil {
		return container.HostID
	}
	return ci.ShortID()
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func basename(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return s[i+1:]
		}
	}
	return s
}

// paramIndex finds the argument c names (by index or by name).
func (e *Event) paramIndex(c *Compiled) int {
	if c.idx >= 0 {
		if c.idx < e.NParams {
			return c.idx
		}
		return -1
	}
	for i := 0; i < e.NParams; i++ {
		if e.Params[i].Name == c.Arg {
			return i
		}
	}
	return -1
}

// extractArg is evt.arg: the argument's resolved text when it has one,
// its raw text otherwise, as Falco.
func extractArg(c *Compiled, e *Event, dst []event.Value) []event.Value {
	i := e.paramIndex(c)
	if i < 0 {
		return dst
	}
	start := len(e.scratch)
	e.scratch = e.appendFDResolved(e.scratch, i)
	if len(e.scratch) == start {
		e.scratch = e.appendParamRaw(e.scratch, i)
	}
	return vStr(dst, e.text(start))
}

// extractRawArg is evt.rawarg: the argument's raw value, typed as
// rawArgTypes says.
func extractRawArg(c *Compiled, e *Event, dst []event.Value) []event.Value {
	i := e.paramIndex(c)
	if i < 0 {
		return dst
	}
	pr := &e.Params[i]
	switch {
	case c.Field.Type.Numeric():
		switch pr.Kind {
		case ParamPath, ParamRelPath, ParamString, ParamBytes, ParamSockaddr, ParamSockTuple:
			return dst
		}
		return vNum(dst, pr.Num)
	case c.Field.Type == event.TypeBytes:
		if pr.Kind == ParamBytes {
			return vStr(dst, e.textOf(pr.Bytes))
		}
	}
	start := len(e.scratch)
	e.scratch = e.appendParamRaw(e.scratch, i)
	return vStr(dst, e.text(start))
}
