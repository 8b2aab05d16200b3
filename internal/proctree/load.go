package proctree

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/internal/sysevent"
)

// errNotLeader is returned by loadProc for the id of a thread that is not
// a thread group leader.
var errNotLeader = errors.New("not a thread group leader")

// maxNegative bounds the negative cache; when full it is cleared.
const maxNegative = 4096

// Seed fills the table with every process and thread in /proc. Start the
// sensor first, then seed, so that nothing starting in between is missed.
// Processes that exit while being read are skipped; other read or parse
// errors are returned together (at most ten, with a count of the rest),
// and the processes concerned are left out.
func (t *Table) Seed(ctx context.Context) error {
	start := time.Now()
	ents, err := os.ReadDir(t.cfg.ProcRoot)
	if err != nil {
		return fmt.Errorf("seed process table: %w", err)
	}
	var errs []error
	failed := 0
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("seed process table: %w", err)
		}
		pid, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || pid <= 0 {
			continue
		}
		if p := t.procs[pid]; p != nil && p.exitTime == 0 {
			continue
		}
		if _, err := t.loadProc(pid); err != nil && !gone(err) {
			failed++
			t.stats.LoadErrors++
			if len(errs) < 10 {
				errs = append(errs, err)
			}
		}
	}
	if failed > len(errs) {
		errs = append(errs, fmt.Errorf("and %d more processes failed to load", failed-len(errs)))
	}
	t.fixup()
	t.cfg.Logger.Info("process table seeded", "component", "proctree",
		"processes", len(t.procs), "threads", len(t.threads), "failed", failed, "duration", time.Since(start))
	return errors.Join(errs...)
}

// fixup fills what needs other processes: the parent's pid in the child's
// namespace, the start of each pid namespace's init and child counts.
func (t *Table) fixup() {
	for _, p := range t.procs {
		p.NChilds = 0
	}
	for _, p := range t.procs {
		if p.pidns != 0 {
			p.PidnsInitStart = t.pidnsInit[p.pidns]
		}
		parent := t.procs[p.PPID]
		if parent == nil || parent.StartTime > p.StartTime {
			continue
		}
		parent.NChilds++
		t.setPVPID(p, parent)
	}
}

// setPVPID sets p's parent pid as seen in p's pid namespace: the parent's
// vpid when both share the namespace, 0 when the parent is outside it.
func (t *Table) setPVPID(p, parent *proc) {
	switch {
	case p.pidns != 0 && p.pidns == parent.pidns:
		p.PVPID = parent.VPID
	case p.pidns != 0 && p.pidns == t.hostPidns:
		p.PVPID = parent.PID
	default:
		p.PVPID = 0
	}
}

// Sweep checks the live entries against /proc and marks exited the
// threads and processes that are gone, or whose id now belongs to a task
// started later: their exit event was lost (a full ring buffer). Its cost
// is one small read per live process and one access check per other live
// thread, so the sensor calls it on a timer (every minute) and after it
// lost events, never per event. It returns how many entries it ended.
func (t *Table) Sweep(ctx context.Context) (int, error) {
	ended := 0
	for pid, p := range t.procs {
		if p.exitTime != 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return ended, fmt.Errorf("sweep process table: %w", err)
		}
		b, _, err := t.rd.read(t.pidPath(pid, "stat"), 4096)
		alive := err == nil
		if alive {
			st, err := parseStat(b)
			// A forked entry has the event's start time, /proc the
			// clock tick's.
			alive = err == nil && st.state != 'Z' && absDiff(t.startNS(st.startTime), p.StartTime) <= 2*t.tickNS
		}
		if !alive {
			t.procExit(p, t.now)
			ended++
		}
	}
	for tid, th := range t.threads {
		if th.exitTime != 0 || th.proc == nil || tid == th.proc.PID {
			continue
		}
		if unix.Access(t.procfs+itoa(th.proc.PID)+"/task/"+itoa(tid), unix.F_OK) != nil {
			t.threadExit(th, t.now)
			ended++
		}
	}
	t.reap()
	return ended, nil
}

// negativeHit reports whether id was recently found absent from /proc.
func (t *Table) negativeHit(id int64) bool {
	at, ok := t.negative[id]
	if !ok {
		return false
	}
	if t.now-at < int64(t.cfg.NegativeTTL) {
		return true
	}
	delete(t.negative, id)
	return false
}

func (t *Table) setNegative(id int64) {
	if len(t.negative) >= maxNegative {
		clear(t.negative)
	}
	t.negative[id] = t.now
	t.stats.LazyMisses++
}

// lazyProc loads a process missing from the table.
func (t *Table) lazyProc(tgid int64) *proc {
	if tgid <= 0 || t.negativeHit(tgid) {
		return nil
	}
	p, err := t.loadProc(tgid)
	if errors.Is(err, errNotLeader) {
		// A live thread's id: not negatively cached, or a Thread
		// lookup of it would fail.
		return nil
	}
	if err != nil {
		if !gone(err) {
			t.stats.LoadErrors++
		}
		t.setNegative(tgid)
		return nil
	}
	t.stats.LazyLoads++
	if parent := t.procs[p.PPID]; parent != nil && parent.StartTime <= p.StartTime {
		t.setPVPID(p, parent)
		parent.NChilds++
	}
	p.PidnsInitStart = t.pidnsInit[p.pidns]
	return p
}

// lazyThread loads a thread missing from the table, with its process when
// that is missing too.
func (t *Table) lazyThread(tid int64) *thread {
	if tid <= 0 || t.negativeHit(tid) {
		return nil
	}
	b, _, err := t.rd.read(t.pidPath(tid, "status"), 16<<10)
	if err != nil {
		if !gone(err) {
			t.stats.LoadErrors++
		}
		t.setNegative(tid)
		return nil
	}
	st, err := parseStatus(b)
	if err != nil {
		t.stats.LoadErrors++
		t.setNegative(tid)
		return nil
	}
	if p := t.procs[st.tgid]; p != nil && p.exitTime == 0 {
		th := t.newThread()
		th.TID, th.VTID = tid, st.nsPID
		th.CapPermitted, th.CapInheritable, th.CapEffective = st.capPrm, st.capInh, st.capEff
		if lead := t.threads[st.tgid]; lead != nil {
			th.CgroupPaths = lead.CgroupPaths
		}
		if !t.insertThread(th) {
			return nil
		}
		t.attach(th, p)
		t.stats.LazyLoads++
		return th
	}
	if t.lazyProc(st.tgid) == nil {
		return nil
	}
	if th := t.threads[tid]; th != nil {
		return th
	}
	t.setNegative(tid)
	return nil
}

// loadProc reads process pid from /proc and inserts it and its threads,
// replacing an entry of the same pid.
func (t *Table) loadProc(pid int64) (*proc, error) {
	b, _, err := t.rd.read(t.pidPath(pid, "stat"), 4096)
	if err != nil {
		return nil, fmt.Errorf("load process %d: %w", pid, err)
	}
	st, err := parseStat(b)
	if err != nil {
		return nil, fmt.Errorf("load process %d: %s: %w", pid, t.pidPath(pid, "stat"), err)
	}
	b, _, err = t.rd.read(t.pidPath(pid, "status"), 16<<10)
	if err != nil {
		return nil, fmt.Errorf("load process %d: %w", pid, err)
	}
	ss, err := parseStatus(b)
	if err != nil {
		return nil, fmt.Errorf("load process %d: %s: %w", pid, t.pidPath(pid, "status"), err)
	}
	if ss.tgid != pid {
		return nil, fmt.Errorf("load process %d: %w (thread group %d)", pid, errNotLeader, ss.tgid)
	}
	if st.state == 'Z' && ss.threads <= 1 {
		// A zombie: exited, waiting for its parent. Nothing of it is
		// readable any more.
		return nil, fmt.Errorf("load process %d: %w (zombie)", pid, unix.ESRCH)
	}

	p := t.newProc()
	p.PID, p.PPID, p.SID, p.PGID, p.TTY = pid, st.ppid, st.session, st.pgrp, st.ttyNr
	p.Comm = st.comm
	p.StartTime = t.startNS(st.startTime)
	p.VPID, p.VPGID = ss.nsTGID, ss.nsPGID
	if p.VPID == 0 {
		p.VPID = pid
	}
	if p.VPGID == 0 {
		p.VPGID = p.PGID
	}
	p.UID, p.EUID, p.GID, p.EGID = ss.uid, ss.euid, ss.gid, ss.egid
	p.VMSize, p.VMRSS, p.VMSwap = ss.vmSize, ss.vmRSS, ss.vmSwap
	p.LoginUID = unsetLoginUID
	if b, _, err := t.rd.read(t.pidPath(pid, "loginuid"), 64); err == nil {
		if v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32); err == nil {
			p.LoginUID = uint32(v)
		}
	}
	p.pidns, _ = nsInode(t.pidPath(pid, "ns/pid"))
	p.mntns, _ = nsInode(t.pidPath(pid, "ns/mnt"))
	p.netns, _ = nsInode(t.pidPath(pid, "ns/net"))
	if p.VPID == 1 && p.pidns != 0 {
		t.pidnsInit[p.pidns] = p.StartTime
	}

	t.loadCmdline(p, pid)
	if cwd, err := readlink(t.pidPath(pid, "cwd")); err == nil {
		p.Cwd = dirSlash(cwd)
	}
	p.FDLimit = t.readFDLimit(pid)

	var cgroups []sysevent.Cgroup
	if b, _, err := t.rd.read(t.pidPath(pid, "cgroup"), 64<<10); err == nil {
		cgroups, err = parseCgroups(b)
		if err != nil {
			t.stats.LoadErrors++
		}
		p.CgroupID = t.cgroupID(cgroups)
	}
	t.loadExe(p, pid)

	p.users = t.users.forDir(t.pidPath(pid, "root"))
	t.setAccounts(p)
	if t.cfg.Containers != nil {
		p.Container = t.cfg.Containers.Lookup(p.CgroupID, pid)
	}

	t.loadFDs(p, pid)
	t.insertProc(p)
	if p.exitTime == 0 && st.state != 'Z' {
		t.loadTasks(p, pid, cgroups)
	}
	if p.live == 0 {
		// No thread could be read: it exited meanwhile.
		t.removeProc(p)
		return nil, fmt.Errorf("load process %d: %w (no threads)", pid, unix.ESRCH)
	}
	return p, nil
}

// loadCmdline sets p's Exe, Args and Env.
func (t *Table) loadCmdline(p *proc, pid int64) {
	if b, trunc, err := t.rd.read(t.pidPath(pid, "cmdline"), t.cfg.MaxArgBytes); err == nil {
		if trunc {
			t.stats.Truncated++
		}
		argv := splitNUL(b)
		if len(argv) > 0 {
			p.Exe, p.Args = argv[0], argv[1:]
		}
	}
	if p.Exe == "" {
		p.Exe = p.Comm // kernel threads and zombies have no command line
	}
	if b, trunc, err := t.rd.read(t.pidPath(pid, "environ"), t.cfg.MaxEnvBytes); err == nil {
		if trunc {
			t.stats.Truncated++
		}
		p.Env = splitNUL(b)
	}
}

// readFDLimit returns the soft "Max open files" of /proc/PID/limits.
func (t *Table) readFDLimit(pid int64) int64 {
	b, _, err := t.rd.read(t.pidPath(pid, "limits"), 8<<10)
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				if v, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return v
				}
			}
		}
	}
	return 0
}

// loadTasks reads the threads of process pid.
func (t *Table) loadTasks(p *proc, pid int64, cgroups []sysevent.Cgroup) {
	ents, err := os.ReadDir(t.pidPath(pid, "task"))
	if err != nil {
		return
	}
	for i, e := range ents {
		if i >= t.cfg.MaxTasks {
			t.stats.Truncated++
			break
		}
		tid, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil {
			continue
		}
		b, _, err := t.rd.read(t.procfs+itoa(pid)+"/task/"+e.Name()+"/status", 16<<10)
		if err != nil {
			continue
		}
		ss, err := parseStatus(b)
		if err != nil {
			t.stats.LoadErrors++
			continue
		}
		th := t.newThread()
		th.TID, th.VTID = tid, ss.nsPID
		if th.VTID == 0 {
			th.VTID = tid
		}
		th.CapPermitted, th.CapInheritable, th.CapEffective = ss.capPrm, ss.capInh, ss.capEff
		th.CgroupPaths = cgroups
		if !t.insertThread(th) {
			return
		}
		t.attach(th, p)
	}
}

// cgroupID returns the cgroup v2 id (the inode of the cgroup directory) of
// the unified hierarchy's path, 0 without cgroup v2.
func (t *Table) cgroupID(cgroups []sysevent.Cgroup) uint64 {
	mnt := t.mounts.cgroup2(t)
	if mnt == "" {
		return 0
	}
	for _, c := range cgroups {
		if c.Controller == "" {
			var st unix.Stat_t
			if unix.Stat(filepath.Join(mnt, c.Path), &st) == nil {
				return st.Ino
			}
			return 0
		}
	}
	return 0
}

// dirSlash returns dir with a trailing slash, as Falco's proc.cwd.
func dirSlash(dir string) string {
	if strings.HasSuffix(dir, "/") {
		return dir
	}
	return dir + "/"
}

// deletedSuffix is what the kernel appends to the path of an unlinked file.
const deletedSuffix = " (deleted)"

// loadExe sets p's executable path and the facts of its inode from
// /proc/PID/exe.
func (t *Table) loadExe(p *proc, pid int64) {
	link := t.pidPath(pid, "exe")
	target, err := readlink(link)
	if err != nil {
		return // kernel thread, or gone
	}
	p.ExePath = strings.TrimSuffix(target, deletedSuffix)
	p.ExeFromMemfd = strings.HasPrefix(p.ExePath, "/memfd:")
	t.exeInode(p, pid, link)
}

// exeInode sets the inode facts of p's executable by a statx of link
// (/proc/PID/exe): inode, ctime, mtime, writability by the process's user
// and whether it lies on an overlayfs upper layer.
func (t *Table) exeInode(p *proc, pid int64, link string) {
	var stx unix.Statx_t
	mask := unix.STATX_INO | unix.STATX_CTIME | unix.STATX_MTIME | unix.STATX_MNT_ID | unix.STATX_MODE | unix.STATX_UID | unix.STATX_GID
	if err := unix.Statx(unix.AT_FDCWD, link, 0, mask, &stx); err != nil {
		return
	}
	p.ExeIno = stx.Ino
	p.ExeInoCtime = stx.Ctime.Sec*1e9 + int64(stx.Ctime.Nsec)
	p.ExeInoMtime = stx.Mtime.Sec*1e9 + int64(stx.Mtime.Nsec)
	p.ExeWritable = t.exeWritable(p, link, &stx)
	p.ExeUpperLayer = false
	if stx.Mask&unix.STATX_MNT_ID != 0 && !p.ExeFromMemfd {
		p.ExeUpperLayer = t.onUpperLayer(p, pid, stx.Mnt_id)
	}
}

// exeWritable approximates access(exe, W_OK) with the process's effective
// ids: root may write unless the file system is read-only; others by the
// mode bits that apply to them (supplementary groups are not considered).
func (t *Table) exeWritable(p *proc, link string, stx *unix.Statx_t) bool {
	var sfs unix.Statfs_t
	if unix.Statfs(link, &sfs) == nil && sfs.Flags&unix.ST_RDONLY != 0 {
		return false
	}
	mode := uint32(stx.Mode)
	switch {
	case p.EUID == 0:
		return true
	case p.EUID == stx.Uid:
		return mode&unix.S_IWUSR != 0
	case p.EGID == stx.Gid:
		return mode&unix.S_IWGRP != 0
	}
	return mode&unix.S_IWOTH != 0
}

// loadFDs reads the descriptor table of process pid.
func (t *Table) loadFDs(p *proc, pid int64) {
	dir := t.pidPath(pid, "fd")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for i, e := range ents {
		if i >= t.cfg.MaxFDs {
			t.stats.Truncated++
			break
		}
		n, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil {
			continue
		}
		if fd := t.loadFD(p, pid, dir+"/"+e.Name(), n); fd != nil {
			if old := p.FDs[n]; old != nil {
				t.freeFD(old)
			}
			p.FDs[n] = fd
		}
	}
}

// loadFD reads one descriptor: its link, fdinfo flags and what it refers to.
func (t *Table) loadFD(p *proc, pid int64, path string, n int64) *sysevent.FD {
	link, err := readlink(path)
	if err != nil {
		return nil
	}
	fd := t.newFD()
	fd.Num = n
	if b, _, err := t.rd.read(t.pidPath(pid, "fdinfo/"+itoa(n)), 4096); err == nil {
		fd.OpenFlags = fdinfoFlags(b)
	}
	switch {
	case strings.HasPrefix(link, "socket:["):
		fd.Ino = bracketInode(link)
		fd.Type = sysevent.FDUnknown
		fd.Name = link
		if s, tbl, ok := t.nets.lookup(t, pid, p.netns, fd.Ino); ok {
			fd.Name = ""
			fillSocket(fd, s, tbl)
		}
	case strings.HasPrefix(link, "pipe:["):
		fd.Type, fd.Name, fd.Ino = sysevent.FDPipe, link, bracketInode(link)
	case strings.HasPrefix(link, "anon_inode:"):
		fd.Type = anonType(link[len("anon_inode:"):])
		fd.Name = link
	case strings.HasPrefix(link, "pidfd:"):
		fd.Type, fd.Name = sysevent.FDPidfd, link
	case strings.HasPrefix(link, "/memfd:"):
		fd.Type, fd.Name = sysevent.FDMemfd, strings.TrimSuffix(link, deletedSuffix)
	case strings.HasPrefix(link, "/"):
		fd.Name = strings.TrimSuffix(link, deletedSuffix)
		fd.NameRaw = fd.Name
		fd.Type = sysevent.FDFile
		var st unix.Stat_t
		if unix.Stat(path, &st) == nil {
			fd.Dev, fd.Ino = kernelDev(st.Dev), st.Ino
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				fd.Type = sysevent.FDDirectory
			}
		}
	default:
		// nsfs ("net:[...]") and other pseudo files.
		fd.Type, fd.Name = sysevent.FDUnknown, link
	}
	return fd
}

// kernelDev converts a user-space dev_t to the kernel's internal encoding
// (major<<20 | minor), the one BPF programs read from a super block, so
// that seeded and live descriptors agree.
func kernelDev(dev uint64) uint32 {
	return unix.Major(dev)<<20 | unix.Minor(dev)&0xfffff
}

// fdinfoFlags returns the octal "flags:" of /proc/PID/fdinfo/N, which
// include O_CLOEXEC when the descriptor is close-on-exec.
func fdinfoFlags(b []byte) uint64 {
	s := string(b)
	i := strings.Index(s, "flags:")
	if i < 0 {
		return 0
	}
	s = strings.TrimLeft(s[i+len("flags:"):], " \t")
	if nl := strings.IndexByte(s, '\n'); nl >= 0 {
		s = s[:nl]
	}
	v, _ := strconv.ParseUint(strings.TrimSpace(s), 8, 64)
	return v
}

// bracketInode returns N of "socket:[N]".
func bracketInode(s string) uint64 {
	open := strings.IndexByte(s, '[')
	if open < 0 || !strings.HasSuffix(s, "]") {
		return 0
	}
	v, _ := strconv.ParseUint(s[open+1:len(s)-1], 10, 64)
	return v
}

// anonType maps the name of an anonymous inode ("[eventfd]", "inotify",
// "bpf-map") to its FD type.
func anonType(name string) byte {
	switch strings.Trim(name, "[]") {
	case "eventfd":
		return sysevent.FDEvent
	case "eventpoll":
		return sysevent.FDEventPoll
	case "signalfd":
		return sysevent.FDSignalFD
	case "timerfd":
		return sysevent.FDTimerFD
	case "inotify":
		return sysevent.FDInotify
	case "userfaultfd":
		return sysevent.FDUserfault
	case "io_uring":
		return sysevent.FDIOUring
	case "pidfd":
		return sysevent.FDPidfd
	case "memfd":
		return sysevent.FDMemfd
	}
	if strings.HasPrefix(strings.Trim(name, "[]"), "bpf") {
		return sysevent.FDBPF // bpf-map, bpf-prog, bpf_link, bpf_iter
	}
	return sysevent.FDUnknown
}
