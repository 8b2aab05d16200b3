package proctree

import (
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Whether an executable lies on the upper layer of an overlay file system
// (proc.is_exe_upper_layer) tells a binary that came with the container's
// image (lower layers) from one written or modified in the running
// container (upper layer). Falco's driver decides it in the kernel: the
// overlay inode of the executable has an upper dentry. From user space the
// same fact is: the file exists in the overlay's upperdir. That holds for
// files created in the container and for image files modified there (copy
// up, including a metadata-only copy up after a chmod), exactly the cases
// with an upper dentry:
//
//  1. statx(/proc/PID/exe) gives the mount id of the file;
//  2. /proc/PID/mountinfo gives that mount's file system type, its root
//     within the file system, its mount point and, for overlay, the
//     upperdir super block option (a path in the mounter's namespace,
//     read under HostRoot);
//  3. the executable's path relative to the mount is looked up in
//     upperdir: a regular file there means upper layer. A missing file
//     (or a whiteout, a character device) means a lower layer.
//
// Overlayfs keeps the lower inode number of copied-up files, so the inode
// cannot be compared; the path computation is checked instead by the
// mount's root being a prefix of the executable's path.

// overlayMount is what the table keeps of one mount.
type overlayMount struct {
	overlay    bool
	upper      string // upperdir, "" when the overlay has none (read-only)
	root       string
	mountPoint string
}

type mountKey struct {
	mntns uint64
	id    uint64
}

// mountCache keeps mounts by namespace and mount id, and the cgroup2 mount
// point.
type mountCache struct {
	mounts     map[mountKey]overlayMount
	cgroupDir  string
	cgroupDone bool
}

// maxMounts bounds the mount cache; when full it is cleared.
const maxMounts = 4096

func (c *mountCache) init() { c.mounts = make(map[mountKey]overlayMount) }

// cgroup2 returns the mount point of the cgroup v2 hierarchy in Vigil's
// own mount namespace, "" when there is none.
func (c *mountCache) cgroup2(t *Table) string {
	if c.cgroupDone {
		return c.cgroupDir
	}
	c.cgroupDone = true
	b, _, err := t.rd.read(t.procfs+"self/mountinfo", 4<<20)
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		for i := 6; i+1 < len(f); i++ {
			if f[i] == "-" {
				if f[i+1] == "cgroup2" {
					c.cgroupDir = unescapeMount(f[4])
					return c.cgroupDir
				}
				break
			}
		}
	}
	return ""
}

// mount returns the mount id of process pid's mount namespace.
func (t *Table) mount(p *proc, pid int64, id uint64) (overlayMount, bool) {
	key := mountKey{p.mntns, id}
	if m, ok := t.mounts.mounts[key]; ok && p.mntns != 0 {
		return m, true
	}
	b, _, err := t.rd.read(t.pidPath(pid, "mountinfo"), 8<<20)
	if err != nil {
		return overlayMount{}, false
	}
	mi, ok := findMount(b, int64(id))
	if !ok {
		return overlayMount{}, false
	}
	m := overlayMount{overlay: mi.fsType == "overlay", root: mi.root, mountPoint: mi.mountPoint}
	if m.overlay {
		m.upper, _ = superOption(mi.super, "upperdir")
	}
	if len(t.mounts.mounts) >= maxMounts {
		clear(t.mounts.mounts)
	}
	if p.mntns != 0 {
		t.mounts.mounts[key] = m
	}
	return m, true
}

// onUpperLayer reports whether p's executable (on mount id mnt) is on the
// upper layer of an overlay.
func (t *Table) onUpperLayer(p *proc, pid int64, mnt uint64) bool {
	m, ok := t.mount(p, pid, mnt)
	if !ok || !m.overlay || m.upper == "" {
		return false
	}
	// The exe link is relative to Vigil's root when the mount is
	// reachable from it (a chroot), to the process's namespace root
	// otherwise; mountinfo is relative to the process's root. Strip the
	// process's root as Vigil sees it.
	inRoot := p.ExePath
	if root, err := readlink(t.pidPath(pid, "root")); err == nil && root != "/" {
		rest, ok := strings.CutPrefix(inRoot, root)
		if !ok || (rest != "" && rest[0] != '/') {
			return false
		}
		inRoot = rest
	}
	rel := inRoot
	if m.mountPoint != "/" {
		rest, ok := strings.CutPrefix(inRoot, m.mountPoint)
		if !ok || (rest != "" && rest[0] != '/') {
			return false
		}
		rel = rest
	}
	candidate := filepath.Join(t.cfg.HostRoot, m.upper, m.root, rel)
	var st unix.Stat_t
	if unix.Lstat(candidate, &st) != nil {
		return false
	}
	return st.Mode&unix.S_IFMT == unix.S_IFREG
}
