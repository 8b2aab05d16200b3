package sysevent

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestParamSpecsCoverSensorEvents(t *testing.T) {
	events := []string{"execve", "execveat", "clone", "clone3", "fork", "vfork", "procexit", "open", "openat",
		"openat2", "creat", "unlink", "unlinkat", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir",
		"chmod", "fchmod", "fchmodat", "chown", "fchown", "fchownat", "lchown", "symlink", "symlinkat", "link",
		"linkat", "truncate", "ftruncate", "socket", "connect", "accept", "accept4", "bind", "listen", "sendto",
		"recvfrom", "sendmsg", "recvmsg", "setuid", "setgid", "setresuid", "setresgid", "setreuid", "setregid",
		"capset", "setns", "unshare", "mount", "umount2", "ptrace", "init_module", "finit_module", "bpf",
		"memfd_create", "prctl", "kill", "tkill", "tgkill", "dup", "dup2", "dup3", "pipe", "pipe2", "close",
		"chdir", "fchdir", "chroot", "fcntl", "userfaultfd", "io_uring_setup", "mprotect", "mmap", "read",
		"write", "pread64", "pwrite64"}
	for _, name := range events {
		code, ok := Source{}.TypeCode(name)
		require.True(t, ok, name)
		specs := ParamSpecs(code)
		require.NotEmpty(t, specs, name)
		seen := map[string]bool{}
		for _, s := range specs {
			require.False(t, seen[s.Name], "%s: duplicate param %s", name, s.Name)
			seen[s.Name] = true
			require.NotZero(t, s.Kind, "%s.%s", name, s.Name)
			if s.Kind == ParamEnum {
				require.NotEmpty(t, s.Flags, "%s.%s", name, s.Name)
			}
		}
	}
	require.Nil(t, ParamSpecs(-1))
	require.Nil(t, ParamSpecs(0))

	code, _ := Source{}.TypeCode("openat")
	want := []string{"fd", "dirfd", "name", "flags", "mode", "dev", "ino"}
	var got []string
	for _, s := range ParamSpecs(code) {
		got = append(got, s.Name)
	}
	require.Equal(t, want, got)
}

func TestSetTypeReusesEvent(t *testing.T) {
	e := &Event{}
	ex, _ := Source{}.TypeCode("execve")
	e.SetType(ex)
	e.Params[1].Str = "/bin/sh"
	e.scratch = append(e.scratch, "junk"...)
	op, _ := Source{}.TypeCode("openat")
	e.SetType(op)
	require.Equal(t, 7, e.NParams)
	require.Equal(t, "dirfd", e.Params[1].Name)
	require.Empty(t, e.Params[1].Str)
	require.Empty(t, e.scratch)
	require.Equal(t, byte('<'), e.Dir)
	require.Zero(t, testing.AllocsPerRun(100, func() { e.SetType(ex); e.SetType(op) }))
}

func TestKernelConversions(t *testing.T) {
	tests := []struct {
		name string
		got  uint64
		want uint64
	}{
		{"open rdonly|cloexec", OpenFlagsFromKernel(unix.O_RDONLY|unix.O_CLOEXEC, false), OpenRDONLY | OpenCLOEXEC},
		{"open wronly|creat|trunc created", OpenFlagsFromKernel(unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, true), OpenWRONLY | OpenCREAT | OpenTRUNC | OpenFCreated},
		{"open rdwr|tmpfile", OpenFlagsFromKernel(unix.O_RDWR|unix.O_TMPFILE, false), OpenRDWR | OpenTMPFILE},
		{"clone thread|vm|newpid", CloneFlagsFromKernel(unix.CLONE_THREAD | unix.CLONE_VM | unix.CLONE_NEWPID), CloneTHREAD | CloneVM | CloneNEWPID},
		{"ptrace attach", PtraceRequestFromKernel(unix.PTRACE_ATTACH), 11},
		{"ptrace seize", PtraceRequestFromKernel(unix.PTRACE_SEIZE), 20},
		{"ptrace unknown", PtraceRequestFromKernel(9999), 0},
		{"fcntl dupfd", FcntlCmdFromKernel(unix.F_DUPFD), 1},
		{"fcntl setfl", FcntlCmdFromKernel(unix.F_SETFL), 5},
		{"mmap private|anon", MmapFlagsFromKernel(unix.MAP_PRIVATE | unix.MAP_ANONYMOUS), 1<<1 | 1<<3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { require.Equal(t, tt.want, tt.got) })
	}
}

func TestFlagRendering(t *testing.T) {
	tests := []struct {
		flags []FlagName
		val   uint64
		want  string
	}{
		{OpenFlags, OpenRDONLY, "O_RDONLY"},
		{OpenFlags, OpenRDWR | OpenCREAT, "O_CREAT|O_RDWR"},
		{OpenFlags, OpenWRONLY | OpenCREAT | OpenTRUNC | OpenFCreated, "O_TRUNC|O_CREAT|O_WRONLY|O_F_CREATED"},
		{OpenFlags, 0, "O_NONE"},
		{CloneFlags, CloneNEWNS | CloneNEWPID, "CLONE_NEWNS|CLONE_NEWPID"},
		{ProtFlags, 1 | 4, "PROT_READ|PROT_EXEC"},
		{ProtFlags, 0, "PROT_NONE"},
		{MountFlags, 1<<12 | 1<<14, "BIND|REC"},
		{MemfdFlags, 1, "MFD_CLOEXEC"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) { require.Equal(t, tt.want, string(appendFlagNames(nil, tt.flags, tt.val))) })
	}
	require.Equal(t, "ENOENT", ErrnoName(2))
	require.Equal(t, "", ErrnoName(0))
	require.Equal(t, "SIGKILL", SignalName(9))
	require.Equal(t, "", SignalName(0))
}

func TestJoinClean(t *testing.T) {
	tests := []struct{ dir, rel, want string }{
		{"/root/", "a.txt", "/root/a.txt"},
		{"/etc", "../tmp/b.txt", "/tmp/b.txt"},
		{"/", "..", "/"},
		{"/a/b", "./c/./d/", "/a/b/c/d"},
		{"/a", "../../..", "/"},
		{"/a//b", "c//d", "/a/b/c/d"},
		{"/a", ".hidden/..x", "/a/.hidden/..x"},
	}
	for _, tt := range tests {
		t.Run(tt.dir+"+"+tt.rel, func(t *testing.T) {
			require.Equal(t, tt.want, string(appendJoinClean([]byte("x"), tt.dir, tt.rel))[1:])
		})
	}
}
