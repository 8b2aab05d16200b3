package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	containers "github.com/containerd/containerd/api/services/containers/v1"
	images "github.com/containerd/containerd/api/services/images/v1"
	namespaces "github.com/containerd/containerd/api/services/namespaces/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// containerdNamespaceHeader is the gRPC metadata key that selects a
// containerd namespace.
const containerdNamespaceHeader = "containerd-namespace"

// criNamespace is the containerd namespace of the Kubernetes CRI plugin.
const criNamespace = "k8s.io"

// containerdAPI fetches container metadata from containerd's gRPC API, in
// every namespace. Containers of the k8s.io namespace are asked over the
// CRI API of the same socket first, which knows their pod.
type containerdAPI struct {
	conn *grpcConn
	cri  *criAPI
}

func newContainerdAPI(socket string) *containerdAPI {
	c := &grpcConn{socket: socket}
	return &containerdAPI{conn: c, cri: &criAPI{rt: RuntimeContainerd, conn: c}}
}

func (c *containerdAPI) runtime() string { return RuntimeContainerd }
func (c *containerdAPI) close() error    { return c.conn.close() }

// ociSpec is the part of the OCI runtime spec Vigil reads.
type ociSpec struct {
	Process *struct {
		Capabilities *struct {
			Bounding []string `json:"bounding"`
		} `json:"capabilities"`
	} `json:"process"`
	Mounts []struct {
		Destination string   `json:"destination"`
		Type        string   `json:"type"`
		Source      string   `json:"source"`
		Options     []string `json:"options"`
	} `json:"mounts"`
	Annotations map[string]string `json:"annotations"`
	Linux       *struct {
		Namespaces []struct {
			Type string `json:"type"`
		} `json:"namespaces"`
		MaskedPaths []string `json:"maskedPaths"`
	} `json:"linux"`
}

func (c *containerdAPI) fetch(ctx context.Context, id string) (*Info, error) {
	conn, err := c.conn.get()
	if err != nil {
		return nil, err
	}
	nsResp, err := namespaces.NewNamespacesClient(conn).List(ctx, &namespaces.ListNamespacesRequest{})
	if err != nil {
		return nil, grpcErr(RuntimeContainerd, c.conn.socket, "list namespaces", err)
	}
	names := make([]string, 0, len(nsResp.GetNamespaces()))
	for _, n := range nsResp.GetNamespaces() {
		names = append(names, n.GetName())
	}
	// Kubernetes containers first: they are the most numerous.
	slices.SortStableFunc(names, func(a, b string) int {
		switch {
		case a == criNamespace && b != criNamespace:
			return -1
		case b == criNamespace && a != criNamespace:
			return 1
		}
		return strings.Compare(a, b)
	})
	cc := containers.NewContainersClient(conn)
	for _, ns := range names {
		nctx := metadata.AppendToOutgoingContext(ctx, containerdNamespaceHeader, ns)
		resp, err := cc.Get(nctx, &containers.GetContainerRequest{ID: id})
		if err != nil {
			if err = grpcErr(RuntimeContainerd, c.conn.socket, "get container "+ns+"/"+id, err); errors.Is(err, ErrNotFound) {
				continue
			}
			return nil, err
		}
		if ns == criNamespace {
			if info, err := c.cri.fetch(ctx, id); err == nil {
				return info, nil
			}
			// A sandbox (pause) container or no CRI plugin: the
			// containerd record is all there is.
		}
		return c.fromContainer(nctx, conn, ns, resp.GetContainer())
	}
	return nil, ErrNotFound
}

func (c *containerdAPI) fromContainer(ctx context.Context, conn grpc.ClientConnInterface, ns string, ct *containers.Container) (*Info, error) {
	info := &Info{
		ID:       ct.GetID(),
		Runtime:  RuntimeContainerd,
		Name:     ct.GetID(),
		Image:    ct.GetImage(),
		Labels:   ct.GetLabels(),
		Complete: true,
	}
	if ts := ct.GetCreatedAt(); ts != nil {
		info.StartTS = ts.AsTime().UnixNano()
	}
	if raw := ct.GetSpec().GetValue(); len(raw) > 0 {
		var spec ociSpec
		if err := json.Unmarshal(raw, &spec); err != nil {
			return nil, fmt.Errorf("containerd %s: container %s/%s: decode OCI spec: %w", c.conn.socket, ns, info.ID, err)
		}
		applySpec(info, &spec)
	}
	if info.Image != "" {
		// The manifest digest is the image's target; an image deleted
		// since leaves it empty.
		resp, err := images.NewImagesClient(conn).Get(ctx, &images.GetImageRequest{Name: info.Image})
		if err == nil {
			info.ImageDigest = resp.GetImage().GetTarget().GetDigest()
		}
	}
	return info, nil
}

// applySpec takes privileges, host namespaces and bind mounts from an OCI
// runtime spec. Privileged means what ctr --privileged and the CRI plugin
// do: CAP_SYS_ADMIN in the bounding set and no masked paths.
func applySpec(info *Info, spec *ociSpec) {
	if spec.Process != nil && spec.Process.Capabilities != nil && spec.Linux != nil {
		info.Privileged = slices.Contains(spec.Process.Capabilities.Bounding, "CAP_SYS_ADMIN") && len(spec.Linux.MaskedPaths) == 0
	}
	if spec.Linux != nil {
		has := map[string]bool{}
		for _, n := range spec.Linux.Namespaces {
			has[n.Type] = true
		}
		info.HostPID, info.HostNetwork, info.HostIPC = !has["pid"], !has["network"], !has["ipc"]
	}
	for _, m := range spec.Mounts {
		if m.Type != "bind" && !slices.Contains(m.Options, "bind") && !slices.Contains(m.Options, "rbind") {
			continue
		}
		mt := Mount{Source: m.Source, Dest: m.Destination, RW: true, Propagation: "rprivate"}
		var mode []string
		for _, o := range m.Options {
			switch o {
			case "ro":
				mt.RW = false
				mode = append(mode, o)
			case "rw":
				mode = append(mode, o)
			case "private", "rprivate", "shared", "rshared", "slave", "rslave":
				mt.Propagation = o
			}
		}
		mt.Mode = strings.Join(mode, ",")
		info.Mounts = append(info.Mounts, mt)
	}
}
