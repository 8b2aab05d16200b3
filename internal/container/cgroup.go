package container

import (
	"strings"
)

// machineCgroupPrefix is the v1 cgroup every process of a Vigil build
// machine sits in; it belongs to the machine, not to a container.
const machineCgroupPrefix = "/process_api"

// ParseCgroupPath extracts the container runtime and full container id from
// a cgroup path as found in /proc/PID/cgroup or under the cgroup mount, e.g.
// /docker/<64hex>, /kubepods.slice/.../cri-containerd-<64hex>.scope or
// /libpod_parent/libpod-<64hex>. ok is false for paths of host processes
// (/, /user.slice/..., /process_api/..., pod-level cgroups, conmon scopes).
//
// runtime is "" when the layout does not tell which CRI runtime owns the
// container (a bare id under /kubepods with the cgroupfs driver, an unknown
// <prefix>-<id>.scope); the resolver then asks every runtime it knows.
// For nested containers (docker in docker) the innermost id is returned: it
// names the container the process actually runs in.
func ParseCgroupPath(path string) (runtime, id string, ok bool) {
	if path == machineCgroupPrefix || strings.HasPrefix(path, machineCgroupPrefix+"/") {
		return "", "", false
	}
	p := strings.TrimRight(path, "/")
	// Walk the components from the leaf up: a process may sit in a
	// sub-cgroup of its container's cgroup (podman's ".../container",
	// systemd's "init.scope" inside a container).
	for len(p) > 0 {
		i := strings.LastIndexByte(p, '/')
		comp := p[i+1:]
		parent := ""
		if i > 0 {
			parent = p[:i]
		}
		if rt, cid, found := parseComponent(comp, parent); found {
			return rt, cid, true
		}
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return "", "", false
}

// parseComponent recognises one path component holding a container id;
// parent is the path above it, which decides the runtime of a bare id.
func parseComponent(comp, parent string) (runtime, id string, ok bool) {
	if isContainerID(comp) {
		return bareIDRuntime(parent), comp, true
	}
	// systemd driver: <prefix>-<id>.scope; CRI-O with cgroupfs: crio-<id>.
	name := strings.TrimSuffix(comp, ".scope")
	dash := strings.LastIndexByte(name, '-')
	if dash < 0 || !isContainerID(name[dash+1:]) {
		return "", "", false
	}
	prefix, cid := name[:dash], name[dash+1:]
	scope := len(name) != len(comp)
	switch prefix {
	case "docker":
		return RuntimeDocker, cid, true
	case "cri-containerd":
		return RuntimeContainerd, cid, true
	case "crio":
		return RuntimeCRIO, cid, true
	case "libpod":
		return RuntimePodman, cid, true
	case "crio-conmon", "libpod-conmon":
		// The runtime's monitor process runs on the host side.
		return "", "", false
	}
	if !scope {
		return "", "", false
	}
	// containerd with the systemd driver outside Kubernetes names the scope
	// <namespace>-<id>.scope; other prefixes belong to unknown runtimes.
	if strings.Contains(parent, "kubepods") {
		return "", cid, true
	}
	return RuntimeContainerd, cid, true
}

// bareIDRuntime returns the runtime of a cgroup named by the bare id under
// parent.
func bareIDRuntime(parent string) string {
	switch {
	case parent == "/docker" || strings.HasSuffix(parent, "/docker"):
		return RuntimeDocker
	case parent == "" || strings.HasPrefix(parent, "/kubepods"):
		// cgroupfs driver: /kubepods/<qos>/pod<uid>/<id>; containerd,
		// CRI-O and dockershim all use this layout. A top-level id has no
		// owner either.
		return ""
	case strings.Contains(parent, "libpod_parent") || strings.Contains(parent, "machine.slice"):
		return RuntimePodman
	}
	// containerd with the cgroupfs driver: /<namespace>/<id>.
	return RuntimeContainerd
}

// isContainerID reports whether s is a 64-character lowercase hex id, the id
// shape of every supported runtime.
func isContainerID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
