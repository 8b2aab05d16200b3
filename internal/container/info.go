// Package container attributes processes to containers and Kubernetes pods:
// it parses container ids out of cgroup paths and fetches container metadata
// (name, image, labels, mounts, privileges, pod) from the runtimes present on
// the host — containerd, Docker, Podman and CRI-O — each found by its socket.
package container

// HostID is the container id of processes that run on the host, as in Falco.
const HostID = "host"

// Runtime names, the value of container.type.
const (
	RuntimeDocker     = "docker"
	RuntimeContainerd = "containerd"
	RuntimeCRIO       = "cri-o"
	RuntimePodman     = "podman"
)

// Info is what Vigil knows of one container. An Info is immutable once
// published: the resolver replaces the pointer when metadata arrives, so
// readers on the event path never lock.
type Info struct {
	ID          string // full id (64 hex for every supported runtime)
	Runtime     string // RuntimeDocker, ... ("" until known from the cgroup alone)
	Name        string
	Image       string // image reference as the user gave it, e.g. nginx:1.25
	ImageRepo   string // repository part of Image, e.g. docker.io/library/nginx or nginx
	ImageTag    string
	ImageDigest string // sha256:... of the manifest, when the runtime knows it
	ImageID     string // image config id (sha256:...)
	Labels      map[string]string
	Privileged  bool
	HostPID     bool
	HostNetwork bool
	HostIPC     bool
	Mounts      []Mount
	IP          string
	StartTS     int64 // creation/start time, ns since the epoch; 0 when unknown
	CgroupPath  string
	// Pod is set for containers of Kubernetes pods (from the CRI labels
	// io.kubernetes.pod.*), nil otherwise.
	Pod *Pod
	// Complete reports whether runtime metadata was found; false when only
	// the cgroup path was parsed (metadata pending, or the runtime is gone).
	Complete bool
}

// ShortID returns the 12-character id, the value of container.id.
func (i *Info) ShortID() string {
	if len(i.ID) > 12 {
		return i.ID[:12]
	}
	return i.ID
}

// Mount is one mount of a container.
type Mount struct {
	Source      string
	Dest        string
	Mode        string // e.g. "ro,nosuid"; "" when unknown
	RW          bool
	Propagation string // e.g. rprivate
}

// Pod is the Kubernetes pod a container belongs to.
type Pod struct {
	Name      string
	Namespace string
	UID       string
	SandboxID string // full id of the sandbox (pause) container
	IP        string
	Labels    map[string]string
}
