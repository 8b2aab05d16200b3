package proctree

import (
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/sysevent"
)

// ContainerResolver attributes a process to its container
// (*container.Resolver implements it). Lookup is called on the event path
// (seed, lazy load, exec) and must never block: it returns what it knows at
// once — nil for the host — and fetches runtime metadata in the background.
// cgroupID is the cgroup v2 id, 0 when unknown (then pid's cgroup file
// tells).
type ContainerResolver interface {
	Lookup(cgroupID uint64, pid int64) *container.Info
}

// Config configures a Table. The zero value of every field means its
// default.
type Config struct {
	// ProcRoot is where procfs is mounted; default "/proc".
	ProcRoot string
	// HostRoot is the host's root directory as Vigil sees it; host files
	// (the host's /etc/passwd, overlay upper directories) are read under
	// it. Default "/"; "/proc/1/root" or a mount of / when Vigil runs in
	// a container sharing the host pid namespace.
	HostRoot string
	// Containers attributes processes to containers; nil puts every
	// process on the host.
	Containers ContainerResolver
	// ExitGrace is how long an exited process or thread stays in the
	// table; default 30s.
	ExitGrace time.Duration
	// MaxExited caps the exited entries kept (threads and processes);
	// beyond it the oldest are reaped before their grace period ends.
	// Default 16384.
	MaxExited int
	// MaxThreads caps the thread entries (live and exited); a new thread
	// beyond it is not tracked (Stats.Dropped). Default 262144.
	MaxThreads int
	// MaxFDs caps the descriptors read from /proc for one process;
	// default 4096. Later descriptors are tracked only through events.
	MaxFDs int
	// MaxTasks caps the threads read from /proc for one process; default
	// 4096.
	MaxTasks int
	// MaxArgBytes and MaxEnvBytes cap what is read of /proc/PID/cmdline
	// and /proc/PID/environ; default 64 KiB each.
	MaxArgBytes, MaxEnvBytes int
	// NegativeTTL is how long a pid that could not be loaded from /proc
	// is not tried again; default 5s.
	NegativeTTL time.Duration
	// UserRefresh is how often a cached /etc/passwd and /etc/group are
	// checked for changes; default 10s.
	UserRefresh time.Duration
	// Logger receives seed summaries and parse problems of account
	// files; nil discards.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.ProcRoot == "" {
		c.ProcRoot = "/proc"
	}
	if c.HostRoot == "" {
		c.HostRoot = "/"
	}
	if c.ExitGrace <= 0 {
		c.ExitGrace = 30 * time.Second
	}
	if c.MaxExited <= 0 {
		c.MaxExited = 16384
	}
	if c.MaxThreads <= 0 {
		c.MaxThreads = 262144
	}
	if c.MaxFDs <= 0 {
		c.MaxFDs = 4096
	}
	if c.MaxTasks <= 0 {
		c.MaxTasks = 4096
	}
	if c.MaxArgBytes <= 0 {
		c.MaxArgBytes = 64 << 10
	}
	if c.MaxEnvBytes <= 0 {
		c.MaxEnvBytes = 64 << 10
	}
	if c.NegativeTTL <= 0 {
		c.NegativeTTL = 5 * time.Second
	}
	if c.UserRefresh <= 0 {
		c.UserRefresh = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Stats are the table's counters, for /metrics.
type Stats struct {
	Processes, Threads int   // entries now in the table, live and exited
	Exited             int   // entries waiting for their grace period
	Reaped             int64 // exited entries removed after their grace period
	Evicted            int64 // exited entries removed early because MaxExited was reached
	Dropped            int64 // new threads not tracked because MaxThreads was reached
	Replaced           int64 // entries replaced by a new task with the same id (pid reuse, missed exit)
	LazyLoads          int64 // processes loaded from /proc on a lookup miss
	LazyMisses         int64 // lookups of ids absent from /proc (then negatively cached)
	UnknownExits       int64 // Exit of a thread not in the table
	UnknownFDs         int64 // FD operations on a process not in the table
	Truncated          int64 // fd, thread, argument or environment lists cut at their cap
	Reparented         int64 // parent ids refreshed from /proc during an ancestry walk
	ReuseStops         int64 // ancestry walks stopped because a parent id was reused
	LoadErrors         int64 // unexpected /proc read or parse errors
}

// proc is a process entry.
type proc struct {
	sysevent.Process
	live     int32 // threads of this process in the table and not exited
	refs     int32 // thread entries pointing here
	exitTime int64 // ns since the epoch; 0 while live
	inMap    bool
	queued   bool // in the exit queue
	users    *userDB
	pidns    uint64 // inode of the pid namespace, 0 when unknown
	mntns    uint64
	netns    uint64
	threads  *thread // list of thread entries pointing here
	// ppidChecked is the parent id last refreshed from /proc without
	// change, so that ancestry walks do not re-read it.
	ppidChecked int64
}

// thread is a thread entry.
type thread struct {
	sysevent.Thread
	proc     *proc
	exitTime int64
	inMap    bool
	queued   bool
	// next and prev link the threads of one process.
	next, prev *thread
}

// exitRec is one entry of the exit queue.
type exitRec struct {
	at int64
	th *thread // one of th and p is set
	p  *proc
}

// Table is the process table. See the package comment for its concurrency
// rules.
type Table struct {
	cfg      Config
	procfs   string // cfg.ProcRoot + "/"
	threads  map[int64]*thread
	procs    map[int64]*proc
	negative map[int64]int64 // id → when it was found absent
	// exits is a FIFO ring of exited entries, oldest at head.
	exits      []exitRec
	head, nexp int

	now       int64 // latest event time seen, ns since the epoch
	bootTime  int64 // ns since the epoch
	tickNS    int64 // ns per clock tick of /proc/PID/stat
	hostPidns uint64
	pidnsInit map[uint64]int64 // pid namespace → start time of its init

	rd     reader
	users  userCache
	nets   netCache
	mounts mountCache
	free   freeLists
	stats  Stats
	path   []byte // scratch for Resolve
}

// freeLists keep reaped entries for reuse, so that steady-state fork, exec
// and exit allocate nothing.
type freeLists struct {
	threads []*thread
	procs   []*proc
	fds     []*sysevent.FD
}

// maxFree bounds each free list.
const maxFree = 4096

// New returns an empty table. Call Seed to fill it from /proc.
func New(cfg Config) (*Table, error) {
	cfg.setDefaults()
	t := &Table{
		cfg:       cfg,
		procfs:    cfg.ProcRoot + "/",
		threads:   make(map[int64]*thread, 1024),
		procs:     make(map[int64]*proc, 512),
		negative:  make(map[int64]int64),
		exits:     make([]exitRec, 64),
		tickNS:    int64(time.Second) / 100,
		pidnsInit: make(map[uint64]int64),
		path:      make([]byte, 0, 512),
	}
	bt, err := bootTime()
	if err != nil {
		return nil, fmt.Errorf("process table: %w", err)
	}
	t.bootTime = bt
	t.now = time.Now().UnixNano()
	if ns, err := nsInode(t.procfs + "1/ns/pid"); err == nil {
		t.hostPidns = ns
	}
	t.users.init(&t.cfg)
	t.nets.init()
	t.mounts.init()
	return t, nil
}

// bootTime returns the boot time in ns since the epoch, as the difference
// of the realtime and boottime clocks (finer than /proc/stat's btime).
// /proc/PID/stat start times are clock ticks after it (USER_HZ is 100 on
// every Linux architecture Vigil supports).
func bootTime() (int64, error) {
	var rt, bt unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_REALTIME, &rt); err != nil {
		return 0, fmt.Errorf("clock_gettime realtime: %w", err)
	}
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &bt); err != nil {
		return 0, fmt.Errorf("clock_gettime boottime: %w", err)
	}
	return rt.Nano() - bt.Nano(), nil
}

// Stats returns the table's counters.
func (t *Table) Stats() Stats {
	s := t.stats
	s.Processes, s.Threads, s.Exited = len(t.procs), len(t.threads), t.nexp
	return s
}

// BootTime returns the boot time the table converts /proc start times with,
// ns since the epoch.
func (t *Table) BootTime() int64 { return t.bootTime }

// tick advances the table's clock to ts (ns since the epoch) and reaps what
// is due. Event times may go backwards slightly across CPUs; the clock never
// does.
func (t *Table) tick(ts int64) {
	if ts > t.now {
		t.now = ts
	}
	t.reap()
}

// Reap removes the exited entries whose grace period ended by now (ns since
// the epoch). Exit and Fork reap as they go; an idle sensor calls Reap on a
// timer so that memory is released without events.
func (t *Table) Reap(now int64) { t.tick(now) }

// Thread returns the thread with kernel id tid, loading it from /proc when
// the table does not know it. It returns nil when the thread does not
// exist. An exited thread is returned during its grace period.
func (t *Table) Thread(tid int64) *sysevent.Thread {
	if th := t.threads[tid]; th != nil {
		return &th.Thread
	}
	if th := t.lazyThread(tid); th != nil {
		return &th.Thread
	}
	return nil
}

// Process returns the process with thread group id tgid, loading it from
// /proc when the table does not know it. It returns nil when the process
// does not exist. An exited process is returned during its grace period.
func (t *Table) Process(tgid int64) *sysevent.Process {
	if p := t.procs[tgid]; p != nil {
		return &p.Process
	}
	if p := t.lazyProc(tgid); p != nil {
		return &p.Process
	}
	return nil
}

var _ sysevent.ProcessLookup = (*Table)(nil)

// lookupThread returns the thread entry of tid, loading it if needed.
func (t *Table) lookupThread(tid int64) *thread {
	if th := t.threads[tid]; th != nil {
		return th
	}
	return t.lazyThread(tid)
}

// lookupProc returns the process entry of tgid, loading it if needed.
func (t *Table) lookupProc(tgid int64) *proc {
	if p := t.procs[tgid]; p != nil {
		return p
	}
	return t.lazyProc(tgid)
}

// maxAncestors bounds an ancestry walk.
const maxAncestors = 128

// Ancestors calls fn with the parent of p, its parent, and so on up to the
// first process (init or the oldest known ancestor), until fn returns
// false. A parent id that now belongs to a process younger than its child
// (the pid was reused) ends the walk, as does a loop or a depth of 128.
// When a live process's parent has gone, its parent id is refreshed from
// /proc once (it was reparented to init or a subreaper).
func (t *Table) Ancestors(p *sysevent.Process, fn func(*sysevent.Process) bool) {
	var seen [maxAncestors]int64
	cur := p
	refreshed := false
	for depth := 0; depth < maxAncestors && cur != nil; depth++ {
		seen[depth] = cur.PID
		ppid := cur.PPID
		if ppid <= 0 || ppid == cur.PID {
			return
		}
		parent := t.lookupProc(ppid)
		if parent == nil || parent.StartTime > cur.StartTime {
			if parent != nil {
				t.stats.ReuseStops++
			}
			if refreshed || !t.refreshPPID(cur) {
				return
			}
			refreshed = true
			depth--
			continue
		}
		for _, s := range seen[:depth+1] {
			if s == parent.PID {
				return
			}
		}
		if !fn(&parent.Process) {
			return
		}
		cur = &parent.Process
	}
}

// refreshPPID re-reads the parent id of a live process from /proc and
// reports whether it changed.
func (t *Table) refreshPPID(p *sysevent.Process) bool {
	e := t.procs[p.PID]
	if e == nil || &e.Process != p || e.exitTime != 0 || e.ppidChecked == p.PPID {
		return false
	}
	e.ppidChecked = p.PPID
	b, _, err := t.rd.read(t.pidPath(p.PID, "stat"), 4096)
	if err != nil {
		return false
	}
	st, err := parseStat(b)
	// The start time read from /proc has the clock tick's precision; the
	// one of a forked entry is the event's.
	if err != nil || st.ppid == p.PPID || absDiff(t.startNS(st.startTime), p.StartTime) > 2*t.tickNS {
		return false
	}
	p.PPID = st.ppid
	t.stats.Reparented++
	return true
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}

// startNS converts a /proc start time in clock ticks to ns since the epoch.
func (t *Table) startNS(ticks uint64) int64 {
	return t.bootTime + int64(ticks)*t.tickNS
}

// pidPath returns ProcRoot/PID/name.
func (t *Table) pidPath(pid int64, name string) string {
	return t.procfs + itoa(pid) + "/" + name
}

// itoa formats a non-negative id without fmt.
func itoa(v int64) string {
	var b [20]byte
	i := len(b)
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// --- entry life cycle -------------------------------------------------

func (t *Table) newThread() *thread {
	if n := len(t.free.threads); n > 0 {
		th := t.free.threads[n-1]
		t.free.threads = t.free.threads[:n-1]
		*th = thread{}
		return th
	}
	return &thread{}
}

func (t *Table) newProc() *proc {
	if n := len(t.free.procs); n > 0 {
		p := t.free.procs[n-1]
		t.free.procs = t.free.procs[:n-1]
		return p
	}
	return &proc{Process: sysevent.Process{FDs: make(map[int64]*sysevent.FD)}}
}

func (t *Table) newFD() *sysevent.FD {
	if n := len(t.free.fds); n > 0 {
		f := t.free.fds[n-1]
		t.free.fds = t.free.fds[:n-1]
		return f
	}
	return &sysevent.FD{}
}

func (t *Table) freeFD(f *sysevent.FD) {
	*f = sysevent.FD{}
	if len(t.free.fds) < maxFree {
		t.free.fds = append(t.free.fds, f)
	}
}

// tryFreeProc recycles p once nothing refers to it.
func (t *Table) tryFreeProc(p *proc) {
	if p.inMap || p.queued || p.refs > 0 {
		return
	}
	fds := p.FDs
	for k, f := range fds {
		t.freeFD(f)
		delete(fds, k)
	}
	*p = proc{}
	p.FDs = fds
	if len(t.free.procs) < maxFree {
		t.free.procs = append(t.free.procs, p)
	}
}

// tryFreeThread recycles th once nothing refers to it.
func (t *Table) tryFreeThread(th *thread) {
	if th.inMap || th.queued {
		return
	}
	p := th.proc
	t.detach(th)
	*th = thread{}
	if p != nil {
		t.tryFreeProc(p)
	}
	if len(t.free.threads) < maxFree {
		t.free.threads = append(t.free.threads, th)
	}
}

// attach makes th a thread of p.
func (t *Table) attach(th *thread, p *proc) {
	th.proc = p
	th.Proc = &p.Process
	p.refs++
	th.next = p.threads
	th.prev = nil
	if p.threads != nil {
		p.threads.prev = th
	}
	p.threads = th
	if th.exitTime == 0 {
		p.live++
		p.NThreads++
	}
}

// detach unlinks th from its process.
func (t *Table) detach(th *thread) {
	p := th.proc
	if p == nil {
		return
	}
	if th.prev != nil {
		th.prev.next = th.next
	} else if p.threads == th {
		p.threads = th.next
	}
	if th.next != nil {
		th.next.prev = th.prev
	}
	th.next, th.prev, th.proc = nil, nil, nil
	if th.exitTime == 0 {
		p.live--
		p.NThreads--
	}
	p.refs--
}

// threadExit marks th exited at ts and queues it for reaping; the process
// exits with its last thread.
func (t *Table) threadExit(th *thread, ts int64) {
	if th.exitTime != 0 {
		return
	}
	th.exitTime = ts
	if th.inMap && !th.queued {
		t.enqueue(exitRec{at: ts, th: th})
	}
	p := th.proc
	if p == nil {
		return
	}
	p.live--
	if p.NThreads > 0 {
		p.NThreads--
	}
	if p.live <= 0 && p.exitTime == 0 {
		t.procExit(p, ts)
	}
}

// procExit marks p and its remaining threads exited at ts.
func (t *Table) procExit(p *proc, ts int64) {
	if p.exitTime != 0 {
		return
	}
	p.exitTime = ts
	for th := p.threads; th != nil; th = th.next {
		t.threadExit(th, ts) // frees nothing: see reap
	}
	if p.inMap && !p.queued {
		t.enqueue(exitRec{at: ts, p: p})
	}
	if parent := t.procs[p.PPID]; parent != nil && parent.NChilds > 0 && parent.StartTime <= p.StartTime {
		parent.NChilds--
	}
}

// insertThread adds th for its tid, replacing a stale entry. It reports
// false (and frees th) when the table is full.
func (t *Table) insertThread(th *thread) bool {
	if old := t.threads[th.TID]; old != nil {
		t.removeThread(old)
		t.stats.Replaced++
	} else if !t.roomForThread() {
		t.tryFreeThread(th)
		return false
	}
	delete(t.negative, th.TID)
	t.threads[th.TID] = th
	th.inMap = true
	return true
}

// roomForThread reports whether a new thread entry fits under MaxThreads,
// evicting the oldest exited entries if needed; it counts a drop when not.
func (t *Table) roomForThread() bool {
	for len(t.threads) >= t.cfg.MaxThreads {
		if !t.evictOne() {
			t.stats.Dropped++
			return false
		}
	}
	return true
}

// insertProc adds p for its pid, replacing a stale entry.
func (t *Table) insertProc(p *proc) {
	if old := t.procs[p.PID]; old != nil {
		t.removeProc(old)
	}
	delete(t.negative, p.PID)
	t.procs[p.PID] = p
	p.inMap = true
}

// removeThread takes th out of the map: a newer task took its id, so th
// has exited.
func (t *Table) removeThread(th *thread) {
	t.threadExit(th, t.now)
	if t.threads[th.TID] == th {
		delete(t.threads, th.TID)
	}
	th.inMap = false
	t.tryFreeThread(th)
}

// removeProc takes p out of the map: a newer process took its id, so p has
// exited.
func (t *Table) removeProc(p *proc) {
	t.procExit(p, t.now)
	if t.procs[p.PID] == p {
		delete(t.procs, p.PID)
	}
	p.inMap = false
	t.tryFreeProc(p)
}

// enqueue appends an exited entry to the exit queue.
func (t *Table) enqueue(r exitRec) {
	if t.nexp == len(t.exits) {
		grown := make([]exitRec, 2*len(t.exits))
		for i := 0; i < t.nexp; i++ {
			grown[i] = t.exits[(t.head+i)%len(t.exits)]
		}
		t.exits, t.head = grown, 0
	}
	t.exits[(t.head+t.nexp)%len(t.exits)] = r
	t.nexp++
	if r.th != nil {
		r.th.queued = true
	} else {
		r.p.queued = true
	}
}

// reap pops the exit queue's entries whose grace period has ended, and the
// oldest beyond MaxExited. Entries are only freed here (and on replacement),
// never while an update walks a thread list.
func (t *Table) reap() {
	for t.nexp > t.cfg.MaxExited {
		t.popExit()
		t.stats.Evicted++
	}
	grace := int64(t.cfg.ExitGrace)
	for t.nexp > 0 && t.now-t.exits[t.head].at >= grace {
		t.popExit()
		t.stats.Reaped++
	}
}

// evictOne reaps the oldest exited entry early; it reports false when
// there is none.
func (t *Table) evictOne() bool {
	if t.nexp == 0 {
		return false
	}
	t.popExit()
	t.stats.Evicted++
	return true
}

// popExit removes the oldest exited entry from the queue and the table.
func (t *Table) popExit() {
	r := t.exits[t.head]
	t.exits[t.head] = exitRec{}
	t.head = (t.head + 1) % len(t.exits)
	t.nexp--
	if th := r.th; th != nil {
		th.queued = false
		if th.inMap && th.exitTime != 0 {
			delete(t.threads, th.TID)
			th.inMap = false
		}
		t.tryFreeThread(th)
		return
	}
	p := r.p
	p.queued = false
	if p.inMap && p.exitTime != 0 {
		delete(t.procs, p.PID)
		p.inMap = false
	}
	t.tryFreeProc(p)
}
