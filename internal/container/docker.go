package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrNotFound means the runtime does not know the container.
var ErrNotFound = errors.New("container not found")

// fetcher fetches one container's metadata from one runtime endpoint.
type fetcher interface {
	// runtime is the Runtime* constant of the containers it serves.
	runtime() string
	// fetch returns the container's metadata, ErrNotFound when the runtime
	// does not know the id, another error when the runtime is unreachable.
	fetch(ctx context.Context, id string) (*Info, error)
	close() error
}

// dockerAPI talks to the Docker Engine API over a unix socket; Podman's
// Docker-compatible service speaks the same protocol.
type dockerAPI struct {
	rt     string
	socket string
	client *http.Client
}

func newDockerAPI(rt, socket string) *dockerAPI {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConns:    2,
		IdleConnTimeout: 30 * time.Second,
	}
	return &dockerAPI{rt: rt, socket: socket, client: &http.Client{Transport: tr}}
}

func (d *dockerAPI) runtime() string { return d.rt }

func (d *dockerAPI) close() error {
	d.client.CloseIdleConnections()
	return nil
}

// get decodes the JSON answer of GET path into v.
func (d *dockerAPI) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker"+path, nil)
	if err != nil {
		return err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", d.rt, d.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return ErrNotFound
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: GET %s: %s: %s", d.rt, d.socket, path, resp.Status, strings.TrimSpace(string(msg)))
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(v); err != nil {
		return fmt.Errorf("%s %s: decode GET %s: %w", d.rt, d.socket, path, err)
	}
	return nil
}

// dockerContainer is the part of GET /containers/{id}/json Vigil reads.
type dockerContainer struct {
	ID      string `json:"Id"`
	Created string
	Name    string
	Image   string // image id
	State   struct {
		StartedAt string
	}
	Config struct {
		Image  string
		Labels map[string]string
	}
	HostConfig struct {
		Privileged  bool
		NetworkMode string
		PidMode     string
		IpcMode     string
	}
	Mounts []struct {
		Source      string
		Destination string
		Mode        string
		RW          bool
		Propagation string
	}
	NetworkSettings struct {
		IPAddress string
		Networks  map[string]struct {
			IPAddress string
		}
	}
}

type dockerImage struct {
	ID          string `json:"Id"`
	RepoDigests []string
}

func (d *dockerAPI) fetch(ctx context.Context, id string) (*Info, error) {
	var c dockerContainer
	if err := d.get(ctx, "/containers/"+url.PathEscape(id)+"/json", &c); err != nil {
		return nil, err
	}
	info := &Info{
		ID:          c.ID,
		Runtime:     d.rt,
		Name:        strings.TrimPrefix(c.Name, "/"),
		Image:       c.Config.Image,
		ImageID:     c.Image,
		Labels:      c.Config.Labels,
		Privileged:  c.HostConfig.Privileged,
		HostNetwork: c.HostConfig.NetworkMode == "host",
		HostPID:     c.HostConfig.PidMode == "host",
		HostIPC:     c.HostConfig.IpcMode == "host",
		IP:          c.NetworkSettings.IPAddress,
		Complete:    true,
	}
	if info.ID == "" {
		info.ID = id
	}
	if info.IP == "" {
		for _, n := range c.NetworkSettings.Networks {
			if n.IPAddress != "" {
				info.IP = n.IPAddress
				break
			}
		}
	}
	info.StartTS = parseTime(c.State.StartedAt)
	if info.StartTS == 0 {
		info.StartTS = parseTime(c.Created)
	}
	for _, m := range c.Mounts {
		info.Mounts = append(info.Mounts, Mount{
			Source: m.Source, Dest: m.Destination, Mode: m.Mode, RW: m.RW, Propagation: m.Propagation,
		})
	}
	info.ImageRepo, info.ImageTag, info.ImageDigest = splitImageRef(info.Image)
	if info.ImageDigest == "" && info.ImageID != "" {
		// The manifest digest lives on the image, not the container. A
		// failure here leaves the digest empty: the rest is still good.
		var img dockerImage
		if err := d.get(ctx, "/images/"+url.PathEscape(info.ImageID)+"/json", &img); err == nil {
			info.ImageDigest = repoDigest(img.RepoDigests, info.ImageRepo)
		}
	}
	info.Pod = podFromLabels(info.Labels)
	return info, nil
}

// repoDigest picks the digest of repo among "repo@sha256:..." entries, or
// the first one when none names repo.
func repoDigest(digests []string, repo string) string {
	first := ""
	for _, rd := range digests {
		at := strings.LastIndexByte(rd, '@')
		if at < 0 {
			continue
		}
		if rd[:at] == repo {
			return rd[at+1:]
		}
		if first == "" {
			first = rd[at+1:]
		}
	}
	return first
}

// parseTime parses an RFC 3339 timestamp into ns since the epoch; 0 when
// empty, unparsable or Go's zero time (Docker's "never").
func parseTime(s string) int64 {
	if s == "" {
		return 0
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return 0
	}
	return t.UnixNano()
}

// splitImageRef splits an image reference such as
// registry:5000/team/app:1.2@sha256:... into repository, tag and digest.
func splitImageRef(ref string) (repo, tag, digest string) {
	repo = ref
	if at := strings.IndexByte(repo, '@'); at >= 0 {
		repo, digest = repo[:at], repo[at+1:]
	}
	slash := strings.LastIndexByte(repo, '/')
	if colon := strings.LastIndexByte(repo, ':'); colon > slash {
		repo, tag = repo[:colon], repo[colon+1:]
	}
	return repo, tag, digest
}

// CRI labels the kubelet puts on containers.
const (
	labelPodName       = "io.kubernetes.pod.name"
	labelPodNamespace  = "io.kubernetes.pod.namespace"
	labelPodUID        = "io.kubernetes.pod.uid"
	labelContainerName = "io.kubernetes.container.name"
	labelSandboxID     = "io.kubernetes.sandbox.id" // dockershim
)

// podFromLabels returns the pod named by a container's CRI labels, nil when
// the container is not a Kubernetes one.
func podFromLabels(labels map[string]string) *Pod {
	name := labels[labelPodName]
	if name == "" {
		return nil
	}
	return &Pod{
		Name:      name,
		Namespace: labels[labelPodNamespace],
		UID:       labels[labelPodUID],
		SandboxID: labels[labelSandboxID],
	}
}
