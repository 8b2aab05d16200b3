package proctree

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/internal/sysevent"
)

// fakeBase is above the largest pid_max Linux allows (2^22): ids from it
// never exist in /proc, so synthetic events never collide with real tasks.
const fakeBase = 1<<22 + 1000

// newTable returns an empty table for tests.
func newTable(t testing.TB, cfg Config) *Table {
	t.Helper()
	tbl, err := New(cfg)
	require.NoError(t, err)
	return tbl
}

// start runs cmd and returns once the child has exec'd a program whose
// /proc/PID/comm is comm. The child is killed at the end of the test.
func start(t *testing.T, cmd *exec.Cmd, comm string) int64 {
	t.Helper()
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	pid := int64(cmd.Process.Pid)
	waitComm(t, pid, comm)
	return pid
}

func waitComm(t *testing.T, pid int64, comm string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + strconv.FormatInt(pid, 10) + "/comm")
		if err == nil && strings.TrimSpace(string(b)) == comm {
			return
		}
		require.True(t, time.Now().Before(deadline), "process %d did not become %q (last %q, %v)", pid, comm, b, err)
		time.Sleep(5 * time.Millisecond)
	}
}

func fileOf(t *testing.T, c interface{ File() (*os.File, error) }) *os.File {
	t.Helper()
	f, err := c.File()
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

func statIno(t *testing.T, f *os.File) (dev uint64, ino uint64) {
	t.Helper()
	var st unix.Stat_t
	require.NoError(t, unix.Fstat(int(f.Fd()), &st))
	return st.Dev, st.Ino
}

// TestSeedRealProcess starts a shell that changes directory and execs
// sleep with a pipe, a TCP listener, both ends of a TCP connection, an
// eventfd and a file open, and checks every value the seeded table holds.
func TestSeedRealProcess(t *testing.T) {
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	defer pw.Close()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	client, err := net.Dial("tcp4", ln.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	server, err := ln.Accept()
	require.NoError(t, err)
	defer server.Close()
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	require.NoError(t, err)
	ev := os.NewFile(uintptr(efd), "eventfd")
	defer ev.Close()
	file, err := os.Open("/etc/passwd")
	require.NoError(t, err)
	defer file.Close()

	sleepPath, err := filepath.EvalSymlinks("/bin/sleep")
	require.NoError(t, err)
	env := []string{"VIGIL_TEST=seed", "PATH=/usr/bin:/bin"}
	cmd := exec.Command("/bin/sh", "-c", "cd /tmp && exec sleep 30")
	cmd.Env = env
	wd, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	cmd.Dir = wd
	cmd.ExtraFiles = []*os.File{pr, fileOf(t, ln.(*net.TCPListener)), fileOf(t, client.(*net.TCPConn)),
		fileOf(t, server.(*net.TCPConn)), ev, file}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	before := time.Now().UnixNano()
	pid := start(t, cmd, "sleep")

	tbl := newTable(t, Config{})
	require.NoError(t, tbl.Seed(context.Background()))
	p := tbl.Process(pid)
	require.NotNil(t, p)

	// Values independent of the test machine.
	require.Equal(t, pid, p.PID)
	require.Equal(t, int64(os.Getpid()), p.PPID)
	require.Equal(t, pid, p.VPID, "host pid namespace")
	require.Equal(t, int64(os.Getpid()), p.PVPID)
	require.Equal(t, pid, p.PGID, "Setpgid")
	require.Equal(t, pid, p.VPGID)
	require.Equal(t, "sleep", p.Comm)
	require.Equal(t, "sleep", p.Exe)
	require.Equal(t, sleepPath, p.ExePath)
	require.Equal(t, []string{"30"}, p.Args)
	require.ElementsMatch(t, append(env, "PWD=/tmp", "OLDPWD="+wd), p.Env, "the shell exports PWD and OLDPWD")
	require.Equal(t, "/tmp/", p.Cwd)
	require.Equal(t, int64(1), p.NThreads)
	require.Equal(t, int64(0), p.NChilds)
	require.False(t, p.ExeFromMemfd)
	require.False(t, p.ExeUpperLayer)
	require.True(t, p.ExeWritable, "root may write /usr/bin/sleep")
	// The start time has the clock tick's precision (10ms) and lies
	// between the fork and now.
	require.GreaterOrEqual(t, p.StartTime, before-int64(20*time.Millisecond))
	require.LessOrEqual(t, p.StartTime, time.Now().UnixNano())

	// Values taken from the test process itself, which the child inherits.
	self := readStatus(t, "self")
	require.Equal(t, self.uid, p.UID)
	require.Equal(t, self.euid, p.EUID)
	require.Equal(t, self.gid, p.GID)
	require.Equal(t, self.egid, p.EGID)
	require.Equal(t, readLoginUID(t), p.LoginUID)
	selfStat := readStat(t, "self")
	require.Equal(t, selfStat.session, p.SID)
	require.Equal(t, selfStat.ttyNr, p.TTY)
	var exeSt unix.Stat_t
	require.NoError(t, unix.Stat(sleepPath, &exeSt))
	require.Equal(t, exeSt.Ino, p.ExeIno)
	require.Equal(t, exeSt.Mtim.Nano(), p.ExeInoMtime)
	require.Equal(t, exeSt.Ctim.Nano(), p.ExeInoCtime)
	var rl unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &rl))
	require.Equal(t, int64(rl.Cur), p.FDLimit, "exec.Cmd restores the original soft limit")
	require.NotNil(t, p.User)
	require.Equal(t, p.EUID, p.User.UID)
	if p.EUID == 0 {
		require.Equal(t, &sysevent.User{UID: 0, Name: "root", HomeDir: "/root", Shell: p.User.Shell}, p.User)
		require.Equal(t, &sysevent.Group{GID: 0, Name: "root"}, p.Group)
	}
	require.Nil(t, p.Container)

	// The thread.
	th := tbl.Thread(pid)
	require.NotNil(t, th)
	require.Same(t, p, th.Proc)
	require.Equal(t, pid, th.TID)
	require.Equal(t, pid, th.VTID)
	require.Equal(t, self.capEff, th.CapEffective)
	require.Equal(t, self.capPrm, th.CapPermitted)
	require.Equal(t, self.capInh, th.CapInheritable)
	cg, err := os.ReadFile(procFile(pid, "cgroup"))
	require.NoError(t, err)
	wantCg, err := parseCgroups(cg)
	require.NoError(t, err)
	require.Equal(t, wantCg, th.CgroupPaths)

	// The descriptors.
	_, pipeIno := statIno(t, pr)
	_, fileIno := statIno(t, file)
	fileDev, _ := statIno(t, file)
	lport := uint16(ln.Addr().(*net.TCPAddr).Port)
	cport := uint16(client.LocalAddr().(*net.TCPAddr).Port)
	lo := netip.MustParseAddr("127.0.0.1")
	conn := "127.0.0.1:" + strconv.Itoa(int(cport)) + "->127.0.0.1:" + strconv.Itoa(int(lport))
	want := map[int64]sysevent.FD{
		3: {Num: 3, Type: sysevent.FDPipe, Name: "pipe:[" + strconv.FormatUint(pipeIno, 10) + "]", Ino: pipeIno},
		4: {Num: 4, Type: sysevent.FDIPv4, Family: unix.AF_INET, L4Proto: "tcp", Name: "127.0.0.1:" + strconv.Itoa(int(lport)),
			IsServer: true, ServerAddr: lo, ServerPort: lport},
		5: {Num: 5, Type: sysevent.FDIPv4, Family: unix.AF_INET, L4Proto: "tcp", Name: conn, Connected: true,
			ClientAddr: lo, ClientPort: cport, ServerAddr: lo, ServerPort: lport},
		6: {Num: 6, Type: sysevent.FDIPv4, Family: unix.AF_INET, L4Proto: "tcp", Name: conn, Connected: true, IsServer: true,
			ClientAddr: lo, ClientPort: cport, ServerAddr: lo, ServerPort: lport},
		7: {Num: 7, Type: sysevent.FDEvent, Name: "anon_inode:[eventfd]"},
		8: {Num: 8, Type: sysevent.FDFile, Name: "/etc/passwd", NameRaw: "/etc/passwd", Dev: kernelDev(fileDev), Ino: fileIno},
	}
	for n, w := range want {
		got := p.FDs[n]
		require.NotNil(t, got, "fd %d", n)
		g := *got
		require.Zero(t, g.OpenFlags&oCloexec, "fd %d: passed descriptors are not close-on-exec", n)
		g.OpenFlags = 0
		if n == 4 || n == 5 || n == 6 {
			require.NotZero(t, g.Ino, "socket inode")
			g.Ino = 0
		}
		require.Equal(t, w, g, "fd %d", n)
	}
	require.Equal(t, uint64(unix.O_WRONLY), p.FDs[1].OpenFlags&unix.O_ACCMODE, "stdout is /dev/null for writing")
	require.Equal(t, "/dev/null", p.FDs[0].Name)
	for n := range p.FDs {
		if n > 8 {
			// Inherited by the test process itself (not close-on-exec).
			_, err := os.Readlink("/proc/self/fd/" + strconv.FormatInt(n, 10))
			require.NoError(t, err, "fd %d of the child is not one of the test process", n)
		}
	}

	// Ancestry: the test process, then its ancestors up to pid 1 or a
	// process whose parent is 0.
	var chain []int64
	tbl.Ancestors(p, func(a *sysevent.Process) bool {
		chain = append(chain, a.PID)
		return true
	})
	require.NotEmpty(t, chain)
	require.Equal(t, int64(os.Getpid()), chain[0])
	for i := 1; i < len(chain); i++ {
		require.Equal(t, tbl.Process(chain[i-1]).PPID, chain[i])
	}
	require.Zero(t, tbl.Process(chain[len(chain)-1]).PPID, "the walk reaches the root")
}

func procFile(pid int64, name string) string {
	return "/proc/" + strconv.FormatInt(pid, 10) + "/" + name
}

func readStatus(t *testing.T, pid string) statusFields {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/status")
	require.NoError(t, err)
	s, err := parseStatus(b)
	require.NoError(t, err)
	return s
}

func readStat(t *testing.T, pid string) statFields {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	require.NoError(t, err)
	s, err := parseStat(b)
	require.NoError(t, err)
	return s
}

func readLoginUID(t *testing.T) uint32 {
	b, err := os.ReadFile("/proc/self/loginuid")
	if err != nil {
		return 0xffffffff
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	require.NoError(t, err)
	return uint32(v)
}

// TestLazyLoad checks that a process started after the seed is loaded on
// its first lookup, and that a pid that does not exist is negatively
// cached.
func TestLazyLoad(t *testing.T) {
	tbl := newTable(t, Config{})
	require.NoError(t, tbl.Seed(context.Background()))

	cmd := exec.Command("/bin/sleep", "30")
	cmd.Env = []string{"LAZY=1"}
	pid := start(t, cmd, "sleep")
	require.Nil(t, tbl.procs[pid], "started after the seed")

	th := tbl.Thread(pid)
	require.NotNil(t, th)
	require.Equal(t, "sleep", th.Proc.Comm)
	require.Equal(t, []string{"LAZY=1"}, th.Proc.Env)
	require.Equal(t, int64(os.Getpid()), th.Proc.PPID)
	require.Equal(t, int64(1), tbl.Stats().LazyLoads)
	parent := tbl.Process(int64(os.Getpid()))
	require.Equal(t, int64(os.Getpid()), th.Proc.PVPID)
	require.Positive(t, parent.NChilds)

	// A dead pid: exited and waited for, so absent from /proc.
	dead := exec.Command("/bin/true")
	require.NoError(t, dead.Run())
	deadPID := int64(dead.Process.Pid)
	if tbl.procs[deadPID] == nil {
		require.Nil(t, tbl.Thread(deadPID))
		require.Nil(t, tbl.Process(deadPID))
		require.Equal(t, int64(1), tbl.Stats().LazyMisses, "the second lookup hits the negative cache")
	}
	require.Nil(t, tbl.Process(fakeBase))
	require.Equal(t, int64(0), tbl.Stats().LoadErrors)

	// The id of a thread that is not its group's leader is no process,
	// but stays a thread.
	fresh := newTable(t, Config{})
	tasks, err := os.ReadDir("/proc/self/task")
	require.NoError(t, err)
	for _, task := range tasks {
		tid, err := strconv.ParseInt(task.Name(), 10, 64)
		require.NoError(t, err)
		if tid == int64(os.Getpid()) {
			continue
		}
		require.Nil(t, fresh.Process(tid))
		th := fresh.Thread(tid)
		require.NotNil(t, th, "thread %d", tid)
		require.Equal(t, int64(os.Getpid()), th.Proc.PID)
		require.Equal(t, tid, th.TID)
		break
	}
}

// synthetic returns a table holding one synthetic process (fakeBase) as if
// seeded: cwd /work/, a file, a close-on-exec file and a socket.
func synthetic(t testing.TB, cfg Config) (*Table, int64) {
	t.Helper()
	tbl := newTable(t, cfg)
	tbl.now = 1_000_000_000_000
	p := tbl.newProc()
	p.PID, p.PPID, p.VPID, p.StartTime = fakeBase, 0, fakeBase, tbl.now
	p.Comm, p.Exe, p.ExePath, p.Args, p.Env, p.Cwd = "bash", "bash", "/usr/bin/bash", []string{"-l"}, []string{"A=1"}, "/work/"
	p.users = tbl.users.hostDB()
	tbl.setAccounts(p)
	tbl.insertProc(p)
	th := tbl.newThread()
	th.TID, th.VTID, th.CapEffective = fakeBase, fakeBase, 0x1
	require.True(t, tbl.insertThread(th))
	tbl.attach(th, p)
	tbl.OpenFD(fakeBase, 3, "notes.txt", unix.O_RDONLY, 8, 100)
	tbl.OpenFD(fakeBase, 4, "/etc/secret", unix.O_RDONLY|oCloexec, 8, 101)
	tbl.Socket(fakeBase, 5, unix.AF_INET, unix.SOCK_STREAM, 0)
	return tbl, fakeBase
}

func TestForkExecExit(t *testing.T) {
	tbl, ppid := synthetic(t, Config{})
	parent := tbl.Process(ppid)
	ts := tbl.now + 1000
	child := int64(fakeBase + 1)

	th := tbl.Fork(ppid, child, child, false, ts)
	require.NotNil(t, th)
	c := th.Proc
	require.Equal(t, child, c.PID)
	require.Equal(t, ppid, c.PPID)
	require.Equal(t, ts, c.StartTime)
	require.Equal(t, "bash", c.Comm)
	require.Equal(t, []string{"-l"}, c.Args)
	require.Equal(t, "/work/", c.Cwd)
	require.Equal(t, uint64(0x1), th.CapEffective)
	require.Equal(t, int64(1), c.NThreads)
	require.Equal(t, int64(1), parent.NChilds)
	require.Len(t, c.FDs, 3)
	require.NotSame(t, parent.FDs[3], c.FDs[3], "descriptors are copied, not shared")
	require.Equal(t, *parent.FDs[3], *c.FDs[3])

	// A thread of the child shares its process and descriptors.
	tt := tbl.Fork(child, child+1, child, true, ts+1)
	require.Same(t, c, tt.Proc)
	require.Equal(t, int64(2), c.NThreads)

	// exec: new program, close-on-exec descriptor closed, other thread
	// gone.
	xt := tbl.Exec(child, ExecInfo{
		Time: ts + 2, ExePath: "/usr/bin/curl", Argv: []string{"curl", "-s", "http://x"}, Env: []string{"B=2"},
		HasCreds: true, UID: 1000, EUID: 1000, GID: 1000, EGID: 1000, LoginUID: 1000,
		ExeIno: 77, ExeInoCtime: 5, ExeInoMtime: 6, ExeUpperLayer: true, ExeWritable: true, VPID: 7,
	})
	require.Same(t, th, xt)
	require.Equal(t, "curl", c.Comm)
	require.Equal(t, "curl", c.Exe)
	require.Equal(t, "/usr/bin/curl", c.ExePath)
	require.Equal(t, []string{"-s", "http://x"}, c.Args)
	require.Equal(t, []string{"B=2"}, c.Env)
	require.Equal(t, uint32(1000), c.EUID)
	require.Equal(t, uint32(1000), c.User.UID)
	require.Equal(t, uint64(77), c.ExeIno)
	require.True(t, c.ExeUpperLayer)
	require.Equal(t, int64(7), c.VPID)
	require.Equal(t, int64(7), xt.VTID)
	require.Nil(t, c.FDs[4], "close-on-exec descriptor closed")
	require.NotNil(t, c.FDs[3])
	require.NotNil(t, c.FDs[5])
	require.Equal(t, int64(1), c.NThreads, "exec ends the other threads")
	require.Equal(t, "bash", parent.Comm, "the parent is untouched")

	// exit: kept for the grace period, then reaped.
	tbl.Exit(child, ts+3)
	require.Same(t, c, tbl.Process(child), "kept during the grace period")
	require.NotNil(t, tbl.Thread(child))
	require.Equal(t, int64(0), parent.NChilds)
	tbl.Reap(ts + 3 + int64(30*time.Second) - 1)
	require.NotNil(t, tbl.Process(child))
	tbl.Reap(ts + 3 + int64(30*time.Second))
	require.Nil(t, tbl.procs[child])
	require.Nil(t, tbl.threads[child])
	require.Nil(t, tbl.threads[child+1])
	st := tbl.Stats()
	require.Equal(t, int64(3), st.Reaped, "two threads and one process")
	require.Equal(t, 1, st.Processes)
	require.Equal(t, 1, st.Threads)
	require.Zero(t, st.Exited)

	// An exit of an unknown thread is counted.
	tbl.Exit(fakeBase+99, ts+4)
	require.Equal(t, int64(1), tbl.Stats().UnknownExits)
}

func TestExitCap(t *testing.T) {
	tbl, ppid := synthetic(t, Config{MaxExited: 2})
	ts := tbl.now
	for i := int64(1); i <= 3; i++ {
		require.NotNil(t, tbl.Fork(ppid, fakeBase+i, fakeBase+i, false, ts+i))
	}
	for i := int64(1); i <= 3; i++ {
		tbl.Exit(fakeBase+i, ts+10+i)
	}
	// 3 processes and 3 threads exited; two entries are kept.
	st := tbl.Stats()
	require.Equal(t, 2, st.Exited)
	require.Equal(t, int64(4), st.Evicted)
	require.Nil(t, tbl.procs[fakeBase+2])
	require.NotNil(t, tbl.procs[fakeBase+3])
	require.NotNil(t, tbl.threads[fakeBase+3])
}

func TestThreadCap(t *testing.T) {
	tbl, ppid := synthetic(t, Config{MaxThreads: 2})
	require.NotNil(t, tbl.Fork(ppid, fakeBase+1, fakeBase+1, false, tbl.now+1))
	require.Nil(t, tbl.Fork(ppid, fakeBase+2, fakeBase+2, false, tbl.now+2), "table full")
	require.Equal(t, int64(1), tbl.Stats().Dropped)
	require.Nil(t, tbl.procs[fakeBase+2])
	// An exited entry makes room.
	tbl.Exit(fakeBase+1, tbl.now+3)
	require.NotNil(t, tbl.Fork(ppid, fakeBase+2, fakeBase+2, false, tbl.now+4))
	require.Equal(t, int64(1), tbl.Stats().Evicted)
}

// TestPidReuse checks that a reused pid is never taken for the parent of
// a process older than it.
func TestPidReuse(t *testing.T) {
	tbl, root := synthetic(t, Config{})
	ts := tbl.now
	a, b, c := int64(fakeBase+1), int64(fakeBase+2), int64(fakeBase+3)
	tbl.Fork(root, a, a, false, ts+1) // a
	tbl.Fork(a, b, b, false, ts+2)    // b, child of a
	tbl.Exit(a, ts+3)                 // a exits: b is orphaned
	tbl.Fork(c, 0, 0, false, ts+4)    // unknown parent: nothing
	tbl.Fork(root, a, a, false, ts+5) // a's pid is reused by a new process
	require.Equal(t, ts+5, tbl.Process(a).StartTime)

	var chain []int64
	tbl.Ancestors(tbl.Process(b), func(p *sysevent.Process) bool {
		chain = append(chain, p.PID)
		return true
	})
	require.Empty(t, chain, "the new owner of pid a is younger than b")
	require.Equal(t, int64(1), tbl.Stats().ReuseStops)

	// A new process that took a pid still in the table (a missed exit)
	// replaces the stale entry and its threads.
	tbl.Fork(a, a+100, a, true, ts+6)
	require.Equal(t, int64(2), tbl.Process(a).NThreads)
	tbl.Fork(root, a, a, false, ts+7)
	require.Equal(t, int64(1), tbl.Process(a).NThreads)
	require.Equal(t, ts+7, tbl.Process(a).StartTime)
	require.Nil(t, tbl.Thread(a + 100).Proc.FDs[99], "the stale thread still resolves during its grace")
	require.NotEqual(t, int64(0), tbl.threads[a+100].exitTime)
}

// TestAncestorLoop checks that a parent cycle (equal start times, corrupt
// ids) ends the walk instead of looping.
func TestAncestorLoop(t *testing.T) {
	tbl, root := synthetic(t, Config{})
	ts := tbl.now
	a, b := int64(fakeBase+1), int64(fakeBase+2)
	tbl.Fork(root, a, a, false, ts)
	tbl.Fork(a, b, b, false, ts)
	tbl.Process(a).PPID = b // a cycle
	var chain []int64
	tbl.Ancestors(tbl.Process(b), func(p *sysevent.Process) bool {
		chain = append(chain, p.PID)
		return true
	})
	require.Equal(t, []int64{a}, chain)

	// fn returning false stops the walk.
	tbl.Process(a).PPID = root
	chain = chain[:0]
	tbl.Ancestors(tbl.Process(b), func(p *sysevent.Process) bool {
		chain = append(chain, p.PID)
		return false
	})
	require.Equal(t, []int64{a}, chain)
}

func TestResolve(t *testing.T) {
	tbl, pid := synthetic(t, Config{})
	tbl.OpenFD(pid, 9, "/etc", unix.O_RDONLY|unix.O_DIRECTORY, 8, 1)
	tests := []struct {
		dirfd int64
		path  string
		want  string
	}{
		{AtFDCWD, "x", "/work/x"},
		{AtFDCWD, "./a//b/", "/work/a/b"},
		{AtFDCWD, "../x", "/x"},
		{AtFDCWD, "../../../x", "/x"},
		{AtFDCWD, "..", "/"},
		{AtFDCWD, "", "/work"},
		{AtFDCWD, "/abs/../y", "/y"},
		{AtFDCWD, "/already/clean", "/already/clean"},
		{9, "passwd", "/etc/passwd"},
		{9, "../root/.ssh/id_rsa", "/root/.ssh/id_rsa"},
		{9, "", "/etc"},
		{42, "rel", "rel"}, // unknown dirfd: unchanged
	}
	for _, tt := range tests {
		t.Run(strconv.FormatInt(tt.dirfd, 10)+":"+tt.path, func(t *testing.T) {
			require.Equal(t, tt.want, tbl.Resolve(pid, tt.dirfd, tt.path))
		})
	}
	require.Equal(t, "rel", tbl.Resolve(fakeBase+999, AtFDCWD, "rel"), "unknown process")

	require.Equal(t, "/work/notes.txt", tbl.Process(pid).FDs[3].Name, "OpenFD resolves against the cwd")
	require.Equal(t, "notes.txt", tbl.Process(pid).FDs[3].NameRaw)
	tbl.Chdir(pid, "sub/../other")
	require.Equal(t, "/work/other/", tbl.Process(pid).Cwd)
	tbl.Fchdir(pid, 9)
	require.Equal(t, "/etc/", tbl.Process(pid).Cwd)
	tbl.Chdir(pid, "/")
	require.Equal(t, "/", tbl.Process(pid).Cwd)
}

func TestFDOps(t *testing.T) {
	tbl, pid := synthetic(t, Config{})
	p := tbl.Process(pid)
	lo := netip.MustParseAddrPort("127.0.0.1:40000")
	srv := netip.MustParseAddrPort("10.0.0.2:443")

	f := tbl.Connect(pid, 5, lo, srv)
	require.Equal(t, "127.0.0.1:40000->10.0.0.2:443", f.Name)
	require.True(t, f.Connected)
	require.False(t, f.IsServer)
	require.Equal(t, "tcp", f.L4Proto)

	// A dual-stack socket talking IPv4 is reported as IPv4.
	tbl.Socket(pid, 6, unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.Equal(t, uint64(unix.SOCK_CLOEXEC), p.FDs[6].OpenFlags)
	f = tbl.Connect(pid, 6, netip.MustParseAddrPort("[::ffff:10.0.0.1]:5000"), netip.MustParseAddrPort("[::ffff:10.0.0.2]:80"))
	require.Equal(t, byte(sysevent.FDIPv4), f.Type)
	require.Equal(t, "10.0.0.1:5000->10.0.0.2:80", f.Name)
	f = tbl.Connect(pid, 6, netip.MustParseAddrPort("[2001:db8::1]:5000"), netip.MustParseAddrPort("[2001:db8::2]:80"))
	require.Equal(t, "2001:db8::1:5000->2001:db8::2:80", f.Name)

	tbl.Socket(pid, 7, unix.AF_INET, unix.SOCK_STREAM, 0)
	f = tbl.Bind(pid, 7, netip.MustParseAddrPort("0.0.0.0:8080"))
	require.Equal(t, "0.0.0.0:8080", f.Name)
	require.Equal(t, uint16(8080), f.ClientPort, "bound, not yet a server: the local end is the client end")
	require.Same(t, f, tbl.Listen(pid, 7))
	require.True(t, f.IsServer)
	require.Equal(t, uint16(8080), f.ServerPort)
	require.Equal(t, netip.IPv4Unspecified(), f.ServerAddr)
	require.Zero(t, f.ClientPort)
	f = tbl.Accept(pid, 7, 8, netip.MustParseAddrPort("10.0.0.1:8080"), netip.MustParseAddrPort("10.0.0.9:61000"), unix.SOCK_CLOEXEC)
	require.Equal(t, "10.0.0.9:61000->10.0.0.1:8080", f.Name)
	require.True(t, f.IsServer)
	require.Equal(t, netip.MustParseAddr("10.0.0.9"), f.ClientAddr)
	require.Equal(t, uint16(8080), f.ServerPort)
	require.Equal(t, "tcp", f.L4Proto)

	tbl.Socket(pid, 10, unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_ICMP)
	require.Equal(t, "icmp", p.FDs[10].L4Proto)
	tbl.Socket(pid, 11, unix.AF_UNIX, unix.SOCK_STREAM, 0)
	require.Equal(t, "/run/docker.sock", tbl.ConnectUnix(pid, 11, "/run/docker.sock").Name)
	tbl.Socket(pid, 12, unix.AF_NETLINK, unix.SOCK_RAW, 0)
	require.Equal(t, byte(sysevent.FDNetlink), p.FDs[12].Type)

	r, w := tbl.Pipe(pid, 13, 14, 555, oCloexec)
	require.Equal(t, "pipe:[555]", r.Name)
	require.Equal(t, r.Name, w.Name)
	require.Equal(t, uint64(unix.O_WRONLY|oCloexec), w.OpenFlags)

	e := tbl.AnonFD(pid, 15, sysevent.FDEvent, "", 0)
	require.Equal(t, "anon_inode:[eventfd]", e.Name)
	m := tbl.AnonFD(pid, 16, sysevent.FDMemfd, "/memfd:payload", 0)
	require.Equal(t, "/memfd:payload", m.Name)

	d := tbl.DupFD(pid, 3, 1, false)
	require.Equal(t, int64(1), d.Num)
	require.Equal(t, "/work/notes.txt", d.Name)
	require.NotSame(t, p.FDs[3], d)
	d = tbl.DupFD(pid, 5, 20, true)
	require.Equal(t, uint64(oCloexec), d.OpenFlags&oCloexec)
	require.Nil(t, tbl.DupFD(pid, 99, 21, false), "unknown old descriptor")

	tbl.CloseFD(pid, 3)
	require.Nil(t, p.FDs[3])
	require.Nil(t, tbl.FD(pid, 3))
	require.Same(t, p.FDs[1], tbl.FD(pid, 1))

	// Exec closes every close-on-exec descriptor.
	tbl.Exec(pid, ExecInfo{Time: tbl.now + 1, ExePath: "/bin/true", ExeIno: 1})
	var left []int64
	for n := range p.FDs {
		left = append(left, n)
	}
	require.ElementsMatch(t, []int64{1, 5, 7, 10, 11, 12, 15, 16}, left, "4, 6, 8, 13, 14 and 20 were close-on-exec")

	require.Nil(t, tbl.OpenFD(fakeBase+999, 3, "/x", 0, 0, 0))
	require.Equal(t, int64(1), tbl.Stats().UnknownFDs)
}

// TestThreadExitOrder checks that a process lives while any of its
// threads does, whatever order they exit in.
func TestThreadExitOrder(t *testing.T) {
	tbl, root := synthetic(t, Config{})
	ts := tbl.now
	pid := int64(fakeBase + 1)
	tbl.Fork(root, pid, pid, false, ts)
	tbl.Fork(pid, pid+1, pid, true, ts+1)
	tbl.Fork(pid+1, pid+2, pid, true, ts+2) // a thread created by a thread
	p := tbl.procs[pid]
	require.Equal(t, int64(3), p.NThreads)
	tbl.Exit(pid, ts+3) // the leader first
	require.Zero(t, p.exitTime)
	tbl.Exit(pid+2, ts+4)
	require.Zero(t, p.exitTime)
	tbl.Exit(pid+1, ts+5)
	require.Equal(t, ts+5, p.exitTime)
	require.Equal(t, int64(0), p.NThreads)
}

// TestFreeListReuse runs many fork/exec/exit cycles and checks that the
// table stays small and consistent as entries are recycled.
func TestFreeListReuse(t *testing.T) {
	tbl, root := synthetic(t, Config{ExitGrace: time.Millisecond})
	ts := tbl.now
	for i := int64(0); i < 10000; i++ {
		pid := fakeBase + 1 + i%50
		ts += int64(time.Millisecond)
		th := tbl.Fork(root, pid, pid, false, ts)
		require.NotNil(t, th)
		require.Equal(t, pid, th.Proc.PID)
		require.Len(t, th.Proc.FDs, 3)
		tbl.Exec(pid, ExecInfo{Time: ts, ExePath: "/bin/true", Argv: []string{"true"}, ExeIno: 1})
		require.Len(t, th.Proc.FDs, 2)
		tbl.Exit(pid, ts)
	}
	tbl.Reap(ts + int64(time.Second))
	st := tbl.Stats()
	require.Equal(t, 1, st.Processes)
	require.Equal(t, 1, st.Threads)
	require.Equal(t, int64(20000), st.Reaped)
	require.Len(t, tbl.Process(root).FDs, 3)
}

// TestForkExecExitAllocs checks that a steady-state fork, exec and exit
// cycle allocates nothing, and a thread lookup neither.
func TestForkExecExitAllocs(t *testing.T) {
	tbl, root := synthetic(t, Config{ExitGrace: time.Microsecond})
	info := ExecInfo{ExePath: "/usr/bin/true", Argv: []string{"true", "--x"}, ExeIno: 9}
	ts := tbl.now
	i := int64(0)
	cycle := func() {
		i++
		ts += 2000
		pid := fakeBase + 1 + i%64
		tbl.Fork(root, pid, pid, false, ts)
		info.Time = ts
		tbl.Exec(pid, info)
		tbl.Exit(pid, ts)
	}
	for range 1000 {
		cycle()
	}
	require.Zero(t, testing.AllocsPerRun(1000, cycle))
	require.Zero(t, testing.AllocsPerRun(1000, func() { _ = tbl.Thread(root) }))
	require.Zero(t, testing.AllocsPerRun(1000, func() { _ = tbl.Resolve(root, AtFDCWD, "/etc/passwd") }))
}

// TestExeFacts starts programs from a memfd and from a deleted file and
// checks the executable facts of the seeded table.
func TestExeFacts(t *testing.T) {
	bb := staticBusybox(t)
	data, err := os.ReadFile(bb)
	require.NoError(t, err)

	mfd, err := unix.MemfdCreate("vigil-test", 0)
	require.NoError(t, err)
	mem := os.NewFile(uintptr(mfd), "memfd")
	defer mem.Close()
	_, err = mem.Write(data)
	require.NoError(t, err)
	memCmd := &exec.Cmd{Path: "/proc/self/fd/3", Args: []string{"sleep", "30"}, ExtraFiles: []*os.File{mem}}
	memPID := start(t, memCmd, "3")

	dir := t.TempDir()
	delPath := filepath.Join(dir, "gone")
	require.NoError(t, os.WriteFile(delPath, data, 0o755))
	delPID := start(t, &exec.Cmd{Path: delPath, Args: []string{"sleep", "30"}}, "gone")
	require.NoError(t, os.Remove(delPath))

	tbl := newTable(t, Config{})
	require.NoError(t, tbl.Seed(context.Background()))
	m := tbl.Process(memPID)
	require.NotNil(t, m)
	require.Equal(t, "/memfd:vigil-test", m.ExePath)
	require.True(t, m.ExeFromMemfd)
	require.False(t, m.ExeUpperLayer)
	require.Equal(t, "sleep", m.Exe)

	d := tbl.Process(delPID)
	require.NotNil(t, d)
	require.Equal(t, delPath, d.ExePath, "the \" (deleted)\" suffix is removed")
	require.False(t, d.ExeFromMemfd)
	require.NotZero(t, d.ExeIno)
}

// staticBusybox returns the path of a statically linked busybox, which
// runs in a chroot without libraries, or skips the test.
func staticBusybox(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		b := make([]byte, 1<<16)
		n, _ := io.ReadFull(f, b)
		f.Close()
		// A dynamically linked ELF names its interpreter.
		if !strings.Contains(string(b[:n]), "ld-linux") {
			return p
		}
	}
	t.Skip("no statically linked busybox (Debian package busybox-static, installed by scripts/deps.sh)")
	return ""
}

// TestReparent kills a shell whose child lives on: once the shell's entry
// is reaped, an ancestry walk from the child refreshes its parent from
// /proc (init or a subreaper took it).
func TestReparent(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "sleep 30 & echo $!; wait")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	shPID := start(t, cmd, "sh")
	var line [32]byte
	n, err := out.Read(line[:])
	require.NoError(t, err)
	childPID, err := strconv.ParseInt(strings.TrimSpace(string(line[:n])), 10, 64)
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Kill(int(childPID), syscall.SIGKILL) })
	waitComm(t, childPID, "sleep")

	tbl := newTable(t, Config{})
	require.NoError(t, tbl.Seed(context.Background()))
	c := tbl.Process(childPID)
	require.NotNil(t, c)
	require.Equal(t, shPID, c.PPID)

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	now := time.Now().UnixNano()
	tbl.Exit(shPID, now)
	tbl.Reap(now + int64(31*time.Second))
	require.Nil(t, tbl.procs[shPID])

	var chain []int64
	tbl.Ancestors(c, func(p *sysevent.Process) bool {
		chain = append(chain, p.PID)
		return true
	})
	newParent := readStat(t, strconv.FormatInt(childPID, 10)).ppid
	require.NotEqual(t, shPID, newParent)
	require.NotEmpty(t, chain)
	require.Equal(t, newParent, chain[0])
	require.Equal(t, newParent, c.PPID)
	require.Equal(t, int64(1), tbl.Stats().Reparented)
}

// TestSweep checks that entries whose exit was missed are ended by Sweep,
// and live ones kept.
func TestSweep(t *testing.T) {
	tbl := newTable(t, Config{})
	require.NoError(t, tbl.Seed(context.Background()))
	self := int64(os.Getpid())
	require.NotNil(t, tbl.Process(self))

	// A process and a thread that do not exist (their exit events were
	// lost), and a real process whose pid was reused by a later one.
	fake := int64(fakeBase + 1)
	tbl.Fork(self, fake, fake, false, time.Now().UnixNano())
	tbl.Fork(self, fake+1, self, true, time.Now().UnixNano())
	cmd := exec.Command("/bin/sleep", "30")
	pid := start(t, cmd, "sleep")
	p := tbl.Process(pid)
	require.NotNil(t, p)
	p.StartTime -= int64(time.Second)

	ended, err := tbl.Sweep(context.Background())
	require.NoError(t, err)
	require.Equal(t, 3, ended)
	require.NotZero(t, tbl.procs[fake].exitTime)
	require.NotZero(t, tbl.threads[fake+1].exitTime)
	require.NotZero(t, tbl.procs[pid].exitTime)
	require.Zero(t, tbl.procs[self].exitTime)
	require.Zero(t, tbl.threads[self].exitTime)

	ended, err = tbl.Sweep(context.Background())
	require.NoError(t, err)
	require.Zero(t, ended, "the live entries stay")
}
