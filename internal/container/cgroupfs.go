package container

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Default locations of the cgroup v2 hierarchy and of procfs.
const (
	DefaultCgroupRoot = "/sys/fs/cgroup/unified"
	DefaultProcRoot   = "/proc"
)

// ErrNoCgroup means a cgroup id matches no directory of the hierarchy.
var ErrNoCgroup = errors.New("no such cgroup")

// ProcCgroup is what /proc/PID/cgroup says about a process.
type ProcCgroup struct {
	// V2Path is the path of the "0::" line (cgroup v2), "" when absent.
	V2Path string
	// Path is the line the container was found in: V2Path when it names a
	// container, else the first v1 line that does; "" for host processes.
	Path    string
	Runtime string
	ID      string // full container id; "" for host processes
}

// FromPID reads /proc/PID/cgroup and returns the container the process runs
// in, from the cgroup v2 line or, failing that, the v1 lines. The machine's
// own /process_api v1 cgroup is not a container.
func FromPID(pid int) (ProcCgroup, error) {
	return fromPID(DefaultProcRoot, pid)
}

func fromPID(procRoot string, pid int) (ProcCgroup, error) {
	name := filepath.Join(procRoot, strconv.Itoa(pid), "cgroup")
	data, err := os.ReadFile(name)
	if err != nil {
		return ProcCgroup{}, fmt.Errorf("read cgroups of pid %d: %w", pid, err)
	}
	pc, err := parseProcCgroup(data)
	if err != nil {
		return ProcCgroup{}, fmt.Errorf("%s: %w", name, err)
	}
	return pc, nil
}

// parseProcCgroup parses the contents of /proc/PID/cgroup
// ("hierarchy-id:controllers:path" lines).
func parseProcCgroup(data []byte) (ProcCgroup, error) {
	var pc ProcCgroup
	var v1 []string
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) == 0 {
			continue
		}
		c1 := bytes.IndexByte(line, ':')
		c2 := -1
		if c1 >= 0 {
			c2 = bytes.IndexByte(line[c1+1:], ':')
		}
		if c2 < 0 {
			return ProcCgroup{}, fmt.Errorf("line %d: %q is not hierarchy:controllers:path", n, line)
		}
		path := string(line[c1+1+c2+1:])
		if string(line[:c1]) == "0" && c2 == 0 {
			pc.V2Path = path
			continue
		}
		v1 = append(v1, path)
	}
	if rt, id, ok := ParseCgroupPath(pc.V2Path); ok {
		pc.Path, pc.Runtime, pc.ID = pc.V2Path, rt, id
		return pc, nil
	}
	for _, p := range v1 {
		if rt, id, ok := ParseCgroupPath(p); ok {
			pc.Path, pc.Runtime, pc.ID = p, rt, id
			return pc, nil
		}
	}
	return pc, nil
}

// CgroupID returns the id of the cgroup v2 directory dir: its inode number,
// the value bpf_get_current_cgroup_id() reports for its tasks.
func CgroupID(dir string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return 0, fmt.Errorf("stat cgroup %s: %w", dir, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return 0, fmt.Errorf("cgroup %s: not a directory", dir)
	}
	return st.Ino, nil
}

// CgroupIndex maps cgroup v2 ids to paths by walking the hierarchy. It is
// safe for concurrent use; a miss rescans the hierarchy at most once per
// MinRescan.
type CgroupIndex struct {
	root      string
	minRescan time.Duration

	mu       sync.Mutex
	byID     map[uint64]string
	lastScan time.Time
	scans    int
}

// NewCgroupIndex returns an index of the cgroup v2 hierarchy mounted at root
// (DefaultCgroupRoot when empty) that rescans on a miss at most once per
// minRescan. Nothing is read until the first lookup.
func NewCgroupIndex(root string, minRescan time.Duration) *CgroupIndex {
	if root == "" {
		root = DefaultCgroupRoot
	}
	return &CgroupIndex{root: root, minRescan: minRescan, byID: map[uint64]string{}}
}

// Root returns the mount point of the indexed hierarchy.
func (x *CgroupIndex) Root() string { return x.root }

// Path returns the path, relative to the hierarchy's root and starting with
// "/", of the cgroup with the given id. On a miss it rescans the hierarchy
// unless it did so less than MinRescan ago, then returns ErrNoCgroup.
func (x *CgroupIndex) Path(id uint64) (string, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if p, ok := x.byID[id]; ok {
		return p, nil
	}
	if !x.lastScan.IsZero() && time.Since(x.lastScan) < x.minRescan {
		return "", fmt.Errorf("cgroup id %d: %w (rescan rate-limited)", id, ErrNoCgroup)
	}
	if err := x.rescanLocked(); err != nil {
		return "", err
	}
	if p, ok := x.byID[id]; ok {
		return p, nil
	}
	return "", fmt.Errorf("cgroup id %d: %w under %s", id, ErrNoCgroup, x.root)
}

// Rescan walks the whole hierarchy now, replacing the index.
func (x *CgroupIndex) Rescan() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.rescanLocked()
}

// Scans returns how many times the hierarchy was walked.
func (x *CgroupIndex) Scans() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.scans
}

func (x *CgroupIndex) rescanLocked() error {
	x.lastScan = time.Now()
	x.scans++
	byID := make(map[uint64]string, len(x.byID))
	err := filepath.WalkDir(x.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			// Cgroups come and go while we walk: a vanished directory is
			// not an error, an unreadable root is.
			if p != x.root && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fs.SkipDir
			}
			return err
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("stat %s: no inode", p)
		}
		rel := p[len(x.root):]
		if rel == "" {
			rel = "/"
		}
		byID[st.Ino] = rel
		return nil
	})
	if err != nil {
		return fmt.Errorf("walk cgroups %s: %w", x.root, err)
	}
	x.byID = byID
	return nil
}

// remember records a path found some other way (from /proc/PID/cgroup).
func (x *CgroupIndex) remember(id uint64, path string) {
	x.mu.Lock()
	x.byID[id] = path
	x.mu.Unlock()
}

// forget drops an id whose cgroup is gone.
func (x *CgroupIndex) forget(id uint64) {
	x.mu.Lock()
	delete(x.byID, id)
	x.mu.Unlock()
}

// cached returns the path of id if the index has it, without rescanning.
func (x *CgroupIndex) cached(id uint64) (string, bool) {
	x.mu.Lock()
	p, ok := x.byID[id]
	x.mu.Unlock()
	return p, ok
}
