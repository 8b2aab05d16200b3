package container

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testCgroup is a real cgroup v2 directory created for a test.
type testCgroup struct {
	Dir  string // absolute directory
	Rel  string // path relative to the hierarchy root
	ID   uint64
	base string
}

// makeCgroup creates <root>/vigil-test-<n>/<rel> and removes it at cleanup.
func makeCgroup(t testing.TB, rel string) testCgroup {
	t.Helper()
	if err := os.MkdirAll(DefaultCgroupRoot, 0o755); err != nil {
		t.Skipf("no cgroup v2 hierarchy at %s: %v", DefaultCgroupRoot, err)
	}
	if _, err := CgroupID(DefaultCgroupRoot); err != nil {
		t.Skipf("no cgroup v2 hierarchy at %s: %v", DefaultCgroupRoot, err)
	}
	base := fmt.Sprintf("/vigil-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	cg := testCgroup{Rel: base + rel, base: DefaultCgroupRoot + base}
	cg.Dir = DefaultCgroupRoot + cg.Rel
	if err := os.MkdirAll(cg.Dir, 0o755); err != nil {
		t.Skipf("cannot create a cgroup under %s (needs root): %v", DefaultCgroupRoot, err)
	}
	t.Cleanup(func() { removeCgroupTree(t, cg.base) })
	id, err := CgroupID(cg.Dir)
	require.NoError(t, err)
	cg.ID = id
	return cg
}

// removeCgroupTree removes a cgroup directory tree bottom-up (cgroupfs only
// allows rmdir of empty cgroups, files included).
func removeCgroupTree(t testing.TB, dir string) {
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Remove(dirs[i]); err != nil && !os.IsNotExist(err) {
			t.Logf("remove cgroup %s: %v", dirs[i], err)
		}
	}
}

// startIn starts `sleep 600` and moves it into the cgroup directory dir.
func startIn(t testing.TB, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644))
	return cmd
}

func newTestResolver(t testing.TB, cfg Config) *Resolver {
	t.Helper()
	if cfg.Sockets == nil {
		cfg.Sockets = []Socket{}
	}
	r, err := NewResolver(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return r
}

func TestFromPID(t *testing.T) {
	id := strings.Repeat("ab", 32)
	cg := makeCgroup(t, "/docker/"+id)
	cmd := startIn(t, cg.Dir)

	pc, err := FromPID(cmd.Process.Pid)
	require.NoError(t, err)
	require.Equal(t, ProcCgroup{V2Path: cg.Rel, Path: cg.Rel, Runtime: RuntimeDocker, ID: id}, pc)

	// This test process is a host process of the machine, whatever its v1
	// memory cgroup (/process_api/... here) says.
	self, err := FromPID(os.Getpid())
	require.NoError(t, err)
	require.Empty(t, self.ID, "host process attributed to a container: %+v", self)

	_, err = FromPID(1 << 30)
	require.ErrorContains(t, err, "read cgroups of pid 1073741824")
}

func TestCgroupIndex(t *testing.T) {
	cg := makeCgroup(t, "/a/b")
	x := NewCgroupIndex("", time.Hour)
	p, err := x.Path(cg.ID)
	require.NoError(t, err)
	require.Equal(t, cg.Rel, p)
	require.Equal(t, 1, x.Scans())

	rootID, err := CgroupID(DefaultCgroupRoot)
	require.NoError(t, err)
	p, err = x.Path(rootID)
	require.NoError(t, err)
	require.Equal(t, "/", p)

	// A cgroup created after the scan is a miss; the rate limit holds the
	// rescan back.
	require.NoError(t, os.Mkdir(cg.Dir+"/c", 0o755))
	newID, err := CgroupID(cg.Dir + "/c")
	require.NoError(t, err)
	_, err = x.Path(newID)
	require.ErrorIs(t, err, ErrNoCgroup)
	require.ErrorContains(t, err, "rate-limited")
	require.Equal(t, 1, x.Scans())

	// Without the limit the miss rescans and finds it.
	x = NewCgroupIndex("", 0)
	_, err = x.Path(rootID)
	require.NoError(t, err)
	p, err = x.Path(newID)
	require.NoError(t, err)
	require.Equal(t, cg.Rel+"/c", p)
}

func TestResolverLookup(t *testing.T) {
	id := strings.Repeat("cd", 32)
	cg := makeCgroup(t, "/libpod_parent/libpod-"+id)
	cmd := startIn(t, cg.Dir)
	r := newTestResolver(t, Config{})

	t.Run("container from pid", func(t *testing.T) {
		info := r.Lookup(cg.ID, int64(cmd.Process.Pid))
		require.NotNil(t, info)
		require.Equal(t, id, info.ID)
		require.Equal(t, id[:12], info.ShortID())
		require.Equal(t, RuntimePodman, info.Runtime)
		require.Equal(t, cg.Rel, info.CgroupPath)
		require.False(t, info.Complete)
		// The hit returns the same published Info.
		require.Same(t, info, r.Lookup(cg.ID, 0))
	})
	t.Run("host process is nil", func(t *testing.T) {
		rootID, err := CgroupID(DefaultCgroupRoot)
		require.NoError(t, err)
		require.Nil(t, r.Lookup(rootID, int64(os.Getpid())))
		require.Nil(t, r.Lookup(rootID, int64(os.Getpid())))
	})
	t.Run("non-container cgroup is host", func(t *testing.T) {
		other := makeCgroup(t, "/system.slice/ssh.service")
		c := startIn(t, other.Dir)
		require.Nil(t, r.Lookup(other.ID, int64(c.Process.Pid)))
	})
	t.Run("unknown id without pid resolves after a rescan", func(t *testing.T) {
		id2 := strings.Repeat("ef", 32)
		cg2 := makeCgroup(t, "/docker/"+id2)
		require.Nil(t, r.Lookup(cg2.ID, 0))
		require.Eventually(t, func() bool {
			i := r.Lookup(cg2.ID, 0)
			return i != nil && i.ID == id2 && i.Runtime == RuntimeDocker
		}, 5*time.Second, 10*time.Millisecond)
		require.GreaterOrEqual(t, r.Stats().Rescans, uint64(1))
	})
	t.Run("wrong pid is not trusted", func(t *testing.T) {
		// The pid's cgroup is not the event's cgroup id: no guess.
		other := makeCgroup(t, "/docker/"+strings.Repeat("12", 32))
		require.Nil(t, r.Lookup(other.ID+1_000_000_000, int64(cmd.Process.Pid)))
	})
}

func TestResolverExpiry(t *testing.T) {
	id := strings.Repeat("9a", 32)
	cg := makeCgroup(t, "/default/"+id)
	cmd := startIn(t, cg.Dir)
	r := newTestResolver(t, Config{SweepEvery: time.Hour})
	info := r.Lookup(cg.ID, int64(cmd.Process.Pid))
	require.NotNil(t, info)
	require.Equal(t, RuntimeContainerd, info.Runtime)
	require.Len(t, r.Containers(), 1)

	r.Sweep()
	require.Equal(t, uint64(0), r.Stats().Expired, "live cgroup expired")

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	require.NoError(t, os.Remove(cg.Dir))
	r.Sweep()
	st := r.Stats()
	require.Equal(t, uint64(1), st.Expired)
	require.Empty(t, r.Containers())
}

// TestResolverRuntimeDown checks that a missing socket and a socket that
// accepts but never answers neither block Lookup nor lose the container:
// errors are counted, the Info stays incomplete.
func TestResolverRuntimeDown(t *testing.T) {
	dir := t.TempDir()
	hung := filepath.Join(dir, "hung.sock")
	ln, err := net.Listen("unix", hung)
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})

	id := strings.Repeat("5e", 32)
	cg := makeCgroup(t, "/docker/"+id)
	cmd := startIn(t, cg.Dir)
	r := newTestResolver(t, Config{
		Sockets: []Socket{
			{RuntimeDocker, hung},
			{RuntimePodman, filepath.Join(dir, "missing.sock")},
			{RuntimeContainerd, filepath.Join(dir, "missing-containerd.sock")},
		},
		CallTimeout:  100 * time.Millisecond,
		Retries:      2,
		RetryBackoff: 10 * time.Millisecond,
	})
	start := time.Now()
	info := r.Lookup(cg.ID, int64(cmd.Process.Pid))
	require.Less(t, time.Since(start), 50*time.Millisecond, "Lookup waited for a runtime")
	require.NotNil(t, info)
	require.False(t, info.Complete)
	require.Eventually(t, func() bool {
		e := r.Stats().FetchErrors
		return e[RuntimeDocker] >= 2 && e[RuntimePodman] >= 2 && e[RuntimeContainerd] >= 2
	}, 5*time.Second, 20*time.Millisecond, "errors not counted: %+v", r.Stats())
	info = r.Lookup(cg.ID, 0)
	require.Equal(t, id, info.ID)
	require.False(t, info.Complete)
}

func TestSplitImageRef(t *testing.T) {
	tests := []struct{ ref, repo, tag, digest string }{
		{"nginx", "nginx", "", ""},
		{"nginx:1.25", "nginx", "1.25", ""},
		{"docker.io/library/nginx:1.25", "docker.io/library/nginx", "1.25", ""},
		{"registry:5000/team/app", "registry:5000/team/app", "", ""},
		{"registry:5000/team/app:v2@sha256:abc", "registry:5000/team/app", "v2", "sha256:abc"},
		{"app@sha256:abc", "app", "", "sha256:abc"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			repo, tag, digest := splitImageRef(tt.ref)
			require.Equal(t, []string{tt.repo, tt.tag, tt.digest}, []string{repo, tag, digest})
		})
	}
}

func BenchmarkLookupHit(b *testing.B) {
	id := strings.Repeat("7f", 32)
	cg := makeCgroup(b, "/docker/"+id)
	cmd := startIn(b, cg.Dir)
	r := newTestResolver(b, Config{})
	require.NotNil(b, r.Lookup(cg.ID, int64(cmd.Process.Pid)))
	b.ReportAllocs()
	for b.Loop() {
		if r.Lookup(cg.ID, 0) == nil {
			b.Fatal("miss")
		}
	}
}
