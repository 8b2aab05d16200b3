package container

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// grpcConn is a lazily dialled gRPC connection to a unix socket. Dialling
// never blocks: calls fail fast while the socket is missing, and the
// connection retries at most every 5s once it is back.
type grpcConn struct {
	socket string
	once   sync.Once
	conn   *grpc.ClientConn
	err    error
}

func (g *grpcConn) get() (*grpc.ClientConn, error) {
	g.once.Do(func() {
		bc := backoff.DefaultConfig
		bc.MaxDelay = 5 * time.Second
		g.conn, g.err = grpc.NewClient("unix://"+g.socket,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithConnectParams(grpc.ConnectParams{Backoff: bc, MinConnectTimeout: 2 * time.Second}),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
		if g.err != nil {
			g.err = fmt.Errorf("grpc client for %s: %w", g.socket, g.err)
		}
	})
	return g.conn, g.err
}

func (g *grpcConn) close() error {
	if g.conn != nil {
		return g.conn.Close()
	}
	return nil
}

// grpcErr maps a gRPC NotFound (and CRI-O's "could not find") to ErrNotFound.
func grpcErr(rt, socket, what string, err error) error {
	if status.Code(err) == codes.NotFound || strings.Contains(err.Error(), "could not find") {
		return ErrNotFound
	}
	return fmt.Errorf("%s %s: %s: %w", rt, socket, what, err)
}

// criAPI fetches container metadata over the Kubernetes CRI API: CRI-O's
// socket, and containerd's for containers of its k8s.io namespace.
type criAPI struct {
	rt   string
	conn *grpcConn
}

func newCRIAPI(rt, socket string) *criAPI {
	return &criAPI{rt: rt, conn: &grpcConn{socket: socket}}
}

func (c *criAPI) runtime() string { return c.rt }
func (c *criAPI) close() error    { return c.conn.close() }

// criVerboseInfo is the part of ContainerStatus' verbose "info" JSON Vigil
// reads: CRI-O puts privileged at the top, containerd in the CRI config.
type criVerboseInfo struct {
	SandboxID  string `json:"sandboxID"`
	Privileged bool   `json:"privileged"`
	Config     struct {
		Linux struct {
			SecurityContext struct {
				Privileged bool `json:"privileged"`
			} `json:"security_context"`
		} `json:"linux"`
	} `json:"config"`
}

func (c *criAPI) fetch(ctx context.Context, id string) (*Info, error) {
	conn, err := c.conn.get()
	if err != nil {
		return nil, err
	}
	rs := cri.NewRuntimeServiceClient(conn)
	resp, err := rs.ContainerStatus(ctx, &cri.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		return nil, grpcErr(c.rt, c.conn.socket, "ContainerStatus "+id, err)
	}
	st := resp.GetStatus()
	if st == nil {
		return nil, fmt.Errorf("%s %s: ContainerStatus %s: empty status", c.rt, c.conn.socket, id)
	}
	info := &Info{
		ID:       st.GetId(),
		Runtime:  c.rt,
		Name:     st.GetMetadata().GetName(),
		Image:    st.GetImage().GetImage(),
		ImageID:  st.GetImageId(),
		Labels:   st.GetLabels(),
		StartTS:  st.GetStartedAt(),
		Complete: true,
	}
	if info.ID == "" {
		info.ID = id
	}
	if info.StartTS == 0 {
		info.StartTS = st.GetCreatedAt()
	}
	if strings.HasPrefix(info.Image, "sha256:") && info.ImageID == "" {
		info.ImageID = info.Image
	}
	if at := strings.LastIndexByte(st.GetImageRef(), '@'); at >= 0 {
		info.ImageDigest = st.GetImageRef()[at+1:]
		if strings.HasPrefix(info.Image, "sha256:") || info.Image == "" {
			info.Image = st.GetImageRef()
		}
	}
	for _, m := range st.GetMounts() {
		info.Mounts = append(info.Mounts, criMount(m))
	}
	var vi criVerboseInfo
	if raw := resp.GetInfo()["info"]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &vi); err != nil {
			return nil, fmt.Errorf("%s %s: ContainerStatus %s: decode verbose info: %w", c.rt, c.conn.socket, id, err)
		}
	}
	info.Privileged = vi.Privileged || vi.Config.Linux.SecurityContext.Privileged
	info.Pod = podFromLabels(info.Labels)
	if info.Pod != nil {
		info.Pod.SandboxID = vi.SandboxID
	}
	if vi.SandboxID != "" {
		c.addSandbox(ctx, rs, vi.SandboxID, info)
	}
	return info, nil
}

// addSandbox fills the pod's IP, labels and host namespaces from its
// sandbox. A failure leaves them empty: the container's own metadata stands.
func (c *criAPI) addSandbox(ctx context.Context, rs cri.RuntimeServiceClient, sandboxID string, info *Info) {
	resp, err := rs.PodSandboxStatus(ctx, &cri.PodSandboxStatusRequest{PodSandboxId: sandboxID})
	if err != nil || resp.GetStatus() == nil {
		return
	}
	sb := resp.GetStatus()
	if info.Pod == nil {
		info.Pod = &Pod{}
	}
	md := sb.GetMetadata()
	if info.Pod.Name == "" {
		info.Pod.Name, info.Pod.Namespace, info.Pod.UID = md.GetName(), md.GetNamespace(), md.GetUid()
	}
	info.Pod.SandboxID = sandboxID
	info.Pod.IP = sb.GetNetwork().GetIp()
	info.Pod.Labels = sb.GetLabels()
	info.IP = info.Pod.IP
	ns := sb.GetLinux().GetNamespaces().GetOptions()
	info.HostNetwork = ns.GetNetwork() == cri.NamespaceMode_NODE
	info.HostPID = ns.GetPid() == cri.NamespaceMode_NODE
	info.HostIPC = ns.GetIpc() == cri.NamespaceMode_NODE
}

func criMount(m *cri.Mount) Mount {
	mode := "rw"
	if m.GetReadonly() {
		mode = "ro"
	}
	prop := "rprivate"
	switch m.GetPropagation() {
	case cri.MountPropagation_PROPAGATION_HOST_TO_CONTAINER:
		prop = "rslave"
	case cri.MountPropagation_PROPAGATION_BIDIRECTIONAL:
		prop = "rshared"
	}
	return Mount{Source: m.GetHostPath(), Dest: m.GetContainerPath(), Mode: mode, RW: !m.GetReadonly(), Propagation: prop}
}
