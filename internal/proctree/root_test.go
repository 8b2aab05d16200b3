package proctree

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/internal/sysevent"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (chroot, mount)")
	}
}

// copyFile copies src to dst with mode.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	require.NoError(t, os.WriteFile(dst, b, mode))
}

// TestUsersFromChroot runs a process chroot'ed into a directory with its
// own /etc/passwd and /etc/group, under a uid the host does not know, and
// checks that the table names its user from the chroot's files, notices
// when they change, and falls back to the host's files for a root without
// them.
func TestUsersFromChroot(t *testing.T) {
	requireRoot(t)
	bb := staticBusybox(t)
	root := t.TempDir()
	copyFile(t, bb, filepath.Join(root, "bin/busybox"), 0o755)
	passwd := filepath.Join(root, "etc/passwd")
	require.NoError(t, os.MkdirAll(filepath.Dir(passwd), 0o755))
	require.NoError(t, os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/bin/ash\nalice:x:4242:4343:Alice:/home/alice:/bin/ash\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\nwonder:x:4343:alice\n"), 0o644))
	if _, err := os.Stat("/etc/passwd"); err == nil {
		b, _ := os.ReadFile("/etc/passwd")
		require.NotContains(t, string(b), ":4242:", "the host must not know uid 4242 for this test")
	}

	cmd := exec.Command("/bin/busybox", "sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: 4242, Gid: 4343}}
	pid := start(t, cmd, "busybox")

	// A chroot without account files: the host's are used.
	bare := t.TempDir()
	copyFile(t, bb, filepath.Join(bare, "bin/busybox"), 0o755)
	bareCmd := exec.Command("/bin/busybox", "sleep", "30")
	bareCmd.SysProcAttr = &syscall.SysProcAttr{Chroot: bare}
	barePID := start(t, bareCmd, "busybox")

	tbl := newTable(t, Config{})
	require.NoError(t, tbl.Seed(context.Background()))
	p := tbl.Process(pid)
	require.NotNil(t, p)
	require.Equal(t, uint32(4242), p.EUID)
	require.Equal(t, &sysevent.User{UID: 4242, Name: "alice", HomeDir: "/home/alice", Shell: "/bin/ash"}, p.User)
	require.Equal(t, &sysevent.Group{GID: 4343, Name: "wonder"}, p.Group)

	bp := tbl.Process(barePID)
	require.NotNil(t, bp)
	require.Equal(t, "root", bp.User.Name, "host fallback")

	if readLoginUID(t) == unsetLoginUID {
		require.Nil(t, p.LoginUser, "outside a login session")
	} else {
		require.Equal(t, readLoginUID(t), p.LoginUser.UID)
	}
	tbl.SetLoginUID(pid, 4242)
	require.Same(t, p.User, p.LoginUser)
	tbl.SetLoginUID(pid, 0)
	require.Equal(t, "root", p.LoginUser.Name)
	tbl.SetLoginUID(pid, unsetLoginUID)
	require.Nil(t, p.LoginUser)

	// A uid the chroot's file does not list gets a placeholder, never the
	// host's name for it.
	tbl.SetUIDs(pid, KeepID, 0)
	require.Equal(t, "root", p.User.Name)
	require.Equal(t, "/bin/ash", p.User.Shell, "the chroot's root, not the host's")
	tbl.SetUIDs(pid, KeepID, 5555)
	require.Equal(t, &sysevent.User{UID: 5555}, p.User)

	// The file changes: seen after the refresh period of the event clock.
	require.NoError(t, os.WriteFile(passwd, []byte("alicia:x:4242:4343::/home/alicia:/bin/sh\n"), 0o644))
	tbl.SetUIDs(pid, KeepID, 4242)
	require.Equal(t, "alice", p.User.Name, "within the refresh period the cache answers")
	tbl.Reap(tbl.now + int64(11*time.Second))
	tbl.SetUIDs(pid, KeepID, 4242)
	require.Equal(t, "alicia", p.User.Name)

	// The process the root was last reached through (loaded now) exits;
	// the first one, with the same root, is used to notice changes.
	cmd2 := exec.Command("/bin/busybox", "sleep", "30")
	cmd2.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: &syscall.Credential{Uid: 4242, Gid: 4343}}
	pid2 := start(t, cmd2, "busybox")
	require.Equal(t, "alicia", tbl.Process(pid2).User.Name)
	require.NoError(t, cmd2.Process.Kill())
	_ = cmd2.Wait()
	require.NoError(t, os.WriteFile(passwd, []byte("alison:x:4242:4343::/home/alison:/bin/sh\n"), 0o644))
	tbl.Reap(tbl.now + int64(11*time.Second))
	tbl.SetUIDs(pid, KeepID, 4242)
	require.Equal(t, "alison", p.User.Name)

	// The same files through a root directory path.
	require.Equal(t, "alison", tbl.LookupUser(root, 4242).Name)
	require.Equal(t, "wonder", tbl.LookupGroup(root, 4343).Name)
	require.Equal(t, "root", tbl.LookupUser("/", 0).Name)

	// A fork inherits the accounts database: a setuid in the child
	// resolves in the chroot's files without touching /proc.
	child := int64(fakeBase + 1)
	tbl.Fork(pid, child, child, false, tbl.now+1)
	tbl.SetUIDs(child, 4242, 4242)
	require.Equal(t, "alison", tbl.Process(child).User.Name)
}

// TestExeUpperLayer mounts a real overlay with a program in its lower and
// one in its upper layer, plus a lower one modified through the overlay
// (copied up), runs each chroot'ed into the overlay — in Vigil's mount
// namespace and in a new one, as containers run — and checks
// ExeUpperLayer.
func TestExeUpperLayer(t *testing.T) {
	requireRoot(t)
	bb := staticBusybox(t)
	base := t.TempDir()
	lower, upper, work, merged := filepath.Join(base, "lower"), filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "merged")
	for _, d := range []string{lower, upper, work, merged} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	copyFile(t, bb, filepath.Join(lower, "bin/lowbox"), 0o755)
	copyFile(t, bb, filepath.Join(lower, "bin/copied"), 0o755)
	copyFile(t, bb, filepath.Join(upper, "bin/upbox"), 0o755)
	err := unix.Mount("overlay", merged, "overlay", 0, "lowerdir="+lower+",upperdir="+upper+",workdir="+work)
	if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EPERM) {
		t.Skipf("cannot mount overlay: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = unix.Unmount(merged, unix.MNT_DETACH) })
	// A metadata change through the overlay copies the file up.
	require.NoError(t, os.Chmod(filepath.Join(merged, "bin/copied"), 0o750))
	_, err = os.Stat(filepath.Join(upper, "bin/copied"))
	require.NoError(t, err, "copied up")

	tests := []struct {
		exe     string
		newNS   bool
		want    bool
		comment string
	}{
		{exe: "lowbox", want: false, comment: "image layer"},
		{exe: "upbox", want: true, comment: "written in the container"},
		{exe: "copied", want: true, comment: "modified in the container"},
		{exe: "lowbox", newNS: true, want: false, comment: "image layer, own mount namespace"},
		{exe: "upbox", newNS: true, want: true, comment: "upper layer, own mount namespace"},
	}
	pids := make([]int64, len(tests))
	for i, tt := range tests {
		// argv[0] names busybox's applet.
		cmd := &exec.Cmd{Path: "/bin/" + tt.exe, Args: []string{"sleep", "30"}}
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: merged}
		if tt.newNS {
			cmd.SysProcAttr.Unshareflags = unix.CLONE_NEWNS
		}
		pids[i] = start(t, cmd, tt.exe) // comm is the file name, not argv[0]
	}
	tbl := newTable(t, Config{})
	require.NoError(t, tbl.Seed(context.Background()))
	for i, tt := range tests {
		p := tbl.Process(pids[i])
		require.NotNil(t, p, tt.comment)
		require.Equal(t, tt.want, p.ExeUpperLayer, "%s (%s)", tt.comment, p.ExePath)
		require.False(t, p.ExeFromMemfd)
	}

	// Exec without the kernel's facts reads them the same way.
	p := tbl.Process(pids[1])
	p.ExeUpperLayer = false
	tbl.Exec(pids[1], ExecInfo{Time: tbl.now, ExePath: p.ExePath, Argv: []string{"sleep", "30"}})
	require.True(t, p.ExeUpperLayer)
}
