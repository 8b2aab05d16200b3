package alert

import "time"

// Proc is one process of an alert's provenance, as the process table knew
// it when the alert was raised.
type Proc struct {
	PID         int64     `json:"pid"`
	PPID        int64     `json:"ppid"`
	Exe         string    `json:"exe"`
	Cmdline     string    `json:"cmdline"`
	User        string    `json:"user"`
	UID         uint32    `json:"uid"`
	StartTime   time.Time `json:"start_time"`
	ContainerID string    `json:"container_id"`
}

// Provenance is the process that raised an alert and its ancestors, parent
// first.
type Provenance struct {
	Process   Proc   `json:"process"`
	Ancestors []Proc `json:"ancestors"`
}

// PodInfo is the Kubernetes pod of a container.
type PodInfo struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	UID       string            `json:"uid"`
	Labels    map[string]string `json:"labels"`
}

// ContainerInfo is what the container runtime said about the container an
// alert was raised in.
type ContainerInfo struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Image       string            `json:"image"`
	ImageDigest string            `json:"image_digest"`
	Runtime     string            `json:"runtime"`
	Labels      map[string]string `json:"labels"`
	Privileged  bool              `json:"privileged"`
	Pod         *PodInfo          `json:"pod"`
}

// Context is what Vigil knows about an alert beyond Falco's schema: it is
// kept by the store and served by the API, but never part of the
// json_output encoding (MarshalJSON, AppendJSON), so outputs and webhooks
// keep exactly Falco's schema.
type Context struct {
	// Provenance is nil for sources without processes (k8s_audit).
	Provenance *Provenance
	// Container is nil for host processes and non-syscall sources.
	Container *ContainerInfo
}
