package proctree

import (
	"strings"

	"github.com/vigilsec/vigil/internal/sysevent"
)

// KeepID passed to SetUIDs or SetGIDs leaves that id unchanged, as -1 does
// for setresuid(2).
const KeepID = ^uint32(0)

// oCloexec is O_CLOEXEC (and SOCK_CLOEXEC) on every Linux architecture
// Vigil supports.
const oCloexec = 0o2000000

// maxComm is the length of a task's comm (TASK_COMM_LEN - 1).
const maxComm = 15

// ExecInfo is what an exec event tells of the new program. Zero fields
// mean "unchanged" or "unknown" as documented per field.
type ExecInfo struct {
	Time int64 // ns since the epoch
	// ExePath is the absolute path of the executable. "" keeps it.
	ExePath string
	// Argv is the full argument vector; Argv[0] becomes Process.Exe and
	// Argv[1:] Process.Args. The slice is kept, not copied.
	Argv []string
	// Env is the environment; nil keeps the current one (the sensor may
	// not capture it). The slice is kept, not copied.
	Env []string
	// Cwd is the working directory; "" keeps it.
	Cwd string
	// Comm is the new task comm; "" derives it from ExePath (its base
	// name, cut to 15 bytes, as the kernel does).
	Comm string
	// HasCreds says UID..LoginUID are set (a set-uid binary changes them).
	HasCreds                       bool
	UID, EUID, GID, EGID, LoginUID uint32
	// HasCaps says the capability masks are set.
	HasCaps                                    bool
	CapPermitted, CapInheritable, CapEffective uint64
	// ExeIno and the fields after it are facts of the executable's inode
	// the sensor read in the kernel. When ExeIno is 0 they are read from
	// /proc/PID/exe instead (a statx and, for overlay mounts, a lookup in
	// the upper directory).
	ExeIno                                   uint64
	ExeInoCtime, ExeInoMtime                 int64
	ExeUpperLayer, ExeFromMemfd, ExeWritable bool
	// CgroupID is the cgroup v2 id; 0 keeps it. The container is
	// resolved again at every exec (runtimes move a process into the
	// container's cgroup before exec'ing the entry point).
	CgroupID uint64
	// VPID and VTID are the ids in the process's pid namespace; 0 keeps.
	VPID, VTID int64
	// HasTTY says TTY is set: the controlling terminal in /proc/PID/stat's
	// tty_nr encoding (0 for none).
	HasTTY bool
	TTY    uint32
	// SID and PGID are the session and process group; 0 keeps.
	SID, PGID int64
}

// Fork records a new task: the thread childTID of the existing process of
// parentTID when isThread (clone with CLONE_THREAD), else the process
// childTGID with its first thread childTID. A new process inherits the
// parent's executable, arguments, environment, working directory,
// credentials, container and a copy of its file descriptors; a thread
// shares its process's. ts is the fork time, ns since the epoch, which
// becomes the new process's start time. An unknown parent is loaded from
// /proc; when that fails the child is loaded from /proc. Fork returns the
// new thread, nil when it could not be tracked.
func (t *Table) Fork(parentTID, childTID, childTGID int64, isThread bool, ts int64) *sysevent.Thread {
	t.tick(ts)
	parent := t.lookupThread(parentTID)
	if parent == nil || parent.proc == nil {
		delete(t.negative, childTID)
		delete(t.negative, childTGID)
		if th := t.lazyThread(childTID); th != nil {
			return &th.Thread
		}
		return nil
	}
	pp := parent.proc
	if isThread {
		th := t.newThread()
		th.TID = childTID
		if pp.pidns != 0 && pp.pidns == t.hostPidns {
			th.VTID = childTID
		}
		th.CapPermitted, th.CapInheritable, th.CapEffective = parent.CapPermitted, parent.CapInheritable, parent.CapEffective
		th.CgroupPaths = parent.CgroupPaths
		if !t.insertThread(th) {
			return nil
		}
		t.attach(th, pp)
		return &th.Thread
	}

	if t.threads[childTID] == nil && !t.roomForThread() {
		return nil
	}
	np := t.newProc()
	fds := np.FDs
	np.Process = pp.Process
	np.FDs = fds
	np.PID, np.PPID, np.StartTime = childTGID, pp.PID, ts
	np.NThreads, np.NChilds = 0, 0
	np.users, np.pidns, np.mntns, np.netns = pp.users, pp.pidns, pp.mntns, pp.netns
	np.VPID, np.PVPID = 0, pp.VPID
	if pp.pidns != 0 && pp.pidns == t.hostPidns {
		np.VPID = childTGID
	}
	for n, f := range pp.FDs {
		c := t.newFD()
		*c = *f
		c.NameChanged = false
		np.FDs[n] = c
	}
	t.insertProc(np)

	th := t.newThread()
	th.TID, th.VTID = childTID, np.VPID
	th.CapPermitted, th.CapInheritable, th.CapEffective = parent.CapPermitted, parent.CapInheritable, parent.CapEffective
	th.CgroupPaths = parent.CgroupPaths
	t.insertThread(th) // cannot fail: room was made above
	t.attach(th, np)
	pp.NChilds++
	return &th.Thread
}

// Exec records that process tgid executed a new program: it sets what
// info gives, re-resolves the user and the container, ends the process's
// other threads (exec leaves one) and closes its close-on-exec
// descriptors. An unknown process is loaded from /proc first. Exec returns
// the thread that continues, nil when the process does not exist.
func (t *Table) Exec(tgid int64, info ExecInfo) *sysevent.Thread {
	t.tick(info.Time)
	p := t.procs[tgid]
	if p == nil || p.exitTime != 0 {
		delete(t.negative, tgid)
		if p = t.lazyProc(tgid); p == nil {
			return nil
		}
	}
	th := t.threads[tgid]
	if th == nil || th.proc != p || th.exitTime != 0 {
		th = t.newThread()
		th.TID, th.VTID = tgid, p.VPID
		if !t.insertThread(th) {
			return nil
		}
		t.attach(th, p)
	}
	for o := p.threads; o != nil; o = o.next {
		if o != th {
			t.threadExit(o, info.Time) // frees nothing: see reap
		}
	}

	if info.ExePath != "" {
		p.ExePath = strings.TrimSuffix(info.ExePath, deletedSuffix)
	}
	if len(info.Argv) > 0 {
		p.Exe, p.Args = info.Argv[0], info.Argv[1:]
	} else if info.ExePath != "" {
		p.Exe, p.Args = p.ExePath, nil
	}
	if info.Env != nil {
		p.Env = info.Env
	}
	if info.Cwd != "" {
		p.Cwd = dirSlash(info.Cwd)
	}
	switch {
	case info.Comm != "":
		p.Comm = cutComm(info.Comm)
	case info.ExePath != "":
		p.Comm = cutComm(baseName(p.ExePath))
	}
	if info.HasCreds {
		p.UID, p.EUID, p.GID, p.EGID, p.LoginUID = info.UID, info.EUID, info.GID, info.EGID, info.LoginUID
	}
	t.setAccounts(p)
	if info.HasCaps {
		th.CapPermitted, th.CapInheritable, th.CapEffective = info.CapPermitted, info.CapInheritable, info.CapEffective
	}
	if info.ExeIno != 0 {
		p.ExeIno, p.ExeInoCtime, p.ExeInoMtime = info.ExeIno, info.ExeInoCtime, info.ExeInoMtime
		p.ExeUpperLayer, p.ExeWritable = info.ExeUpperLayer, info.ExeWritable
		p.ExeFromMemfd = info.ExeFromMemfd || strings.HasPrefix(p.ExePath, "/memfd:")
	} else if info.ExePath != "" {
		p.ExeFromMemfd = strings.HasPrefix(p.ExePath, "/memfd:")
		t.exeInode(p, tgid, t.pidPath(tgid, "exe"))
	}
	if info.CgroupID != 0 {
		p.CgroupID = info.CgroupID
	}
	if t.cfg.Containers != nil {
		p.Container = t.cfg.Containers.Lookup(p.CgroupID, tgid)
	}
	if info.VPID != 0 {
		p.VPID = info.VPID
	}
	if info.HasTTY {
		p.TTY = info.TTY
	}
	if info.SID != 0 {
		p.SID = info.SID
	}
	if info.PGID != 0 {
		p.PGID = info.PGID
	}
	if info.VTID != 0 {
		th.VTID = info.VTID
	} else if info.VPID != 0 {
		th.VTID = info.VPID
	}
	for n, f := range p.FDs {
		if f.OpenFlags&oCloexec != 0 {
			delete(p.FDs, n)
			t.freeFD(f)
		}
	}
	return &th.Thread
}

// Exit records that thread tid exited at ts (ns since the epoch). The
// process exits with its last thread. Both stay in the table for
// Config.ExitGrace, then are reaped.
func (t *Table) Exit(tid int64, ts int64) {
	t.tick(ts)
	th := t.threads[tid]
	if th == nil || th.exitTime != 0 {
		t.stats.UnknownExits++
		return
	}
	t.threadExit(th, ts)
	t.reap()
}

// SetUIDs records a change of the real and effective user ids of process
// tgid (setuid, setreuid, setresuid); KeepID leaves one unchanged.
func (t *Table) SetUIDs(tgid int64, uid, euid uint32) {
	p := t.lookupProc(tgid)
	if p == nil {
		return
	}
	if uid != KeepID {
		p.UID = uid
	}
	if euid != KeepID {
		p.EUID = euid
	}
	p.User = t.user(p.users, p.PID, p.EUID)
}

// SetGIDs records a change of the real and effective group ids of process
// tgid; KeepID leaves one unchanged.
func (t *Table) SetGIDs(tgid int64, gid, egid uint32) {
	p := t.lookupProc(tgid)
	if p == nil {
		return
	}
	if gid != KeepID {
		p.GID = gid
	}
	if egid != KeepID {
		p.EGID = egid
	}
	p.Group = t.group(p.users, p.PID, p.EGID)
}

// SetLoginUID records a write of /proc/self/loginuid.
func (t *Table) SetLoginUID(tgid int64, loginUID uint32) {
	if p := t.lookupProc(tgid); p != nil {
		p.LoginUID = loginUID
		t.setLoginUser(p)
	}
}

// SetCaps records new capability masks of thread tid (capset, or a
// credential change that recomputed them).
func (t *Table) SetCaps(tid int64, permitted, inheritable, effective uint64) {
	if th := t.lookupThread(tid); th != nil {
		th.CapPermitted, th.CapInheritable, th.CapEffective = permitted, inheritable, effective
	}
}

// SetComm records prctl(PR_SET_NAME) (or a write of /proc/PID/comm) by
// thread tid. The table keeps one comm per process, the thread group
// leader's, so a rename by another thread is ignored.
func (t *Table) SetComm(tid int64, comm string) {
	th := t.lookupThread(tid)
	if th == nil || th.proc == nil || th.proc.PID != tid {
		return
	}
	th.proc.Comm = cutComm(comm)
}

// SetVIDs records the ids of thread tid in its pid namespace, for a sensor
// that reads them at fork (Fork knows them only for the host namespace).
// 0 leaves one unchanged.
func (t *Table) SetVIDs(tid, vtid, vpid int64) {
	th := t.lookupThread(tid)
	if th == nil {
		return
	}
	if vtid != 0 {
		th.VTID = vtid
	}
	if vpid != 0 && th.proc != nil {
		th.proc.VPID = vpid
	}
}

// Chdir records chdir(path) by process tgid; a relative path is joined to
// the current working directory.
func (t *Table) Chdir(tgid int64, path string) {
	p := t.lookupProc(tgid)
	if p == nil {
		return
	}
	abs := t.Resolve(tgid, AtFDCWD, path)
	if len(abs) == 0 || abs[0] != '/' {
		return
	}
	p.Cwd = dirSlash(abs)
}

// Fchdir records fchdir(fd) by process tgid.
func (t *Table) Fchdir(tgid, fd int64) {
	p := t.lookupProc(tgid)
	if p == nil {
		return
	}
	if f := p.FDs[fd]; f != nil && len(f.Name) > 0 && f.Name[0] == '/' {
		p.Cwd = dirSlash(f.Name)
	}
}

// cutComm cuts a comm to what the kernel keeps.
func cutComm(s string) string {
	if len(s) > maxComm {
		return s[:maxComm]
	}
	return s
}

// baseName returns the last element of a slash-separated path.
func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
