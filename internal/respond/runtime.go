package respond

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/respond/target"
)

// Stop stops the container through its runtime (Docker or Podman API,
// containerd task kill, CRI StopContainer), SIGTERM then SIGKILL after the
// stop timeout; when no runtime can do it, Vigil signals the container's
// processes itself the same way. It returns once no process is left.
func (r *Responder) Stop(ctx context.Context, spec string) (*Outcome, error) {
	return r.run(ActionStop, spec, func(o *Outcome) error { return r.stop(ctx, spec, o, false) })
}

// Kill kills the container (SIGKILL) through its runtime, falling back to
// signalling its processes, and returns once no process is left.
func (r *Responder) Kill(ctx context.Context, spec string) (*Outcome, error) {
	return r.run(ActionKill, spec, func(o *Outcome) error { return r.stop(ctx, spec, o, true) })
}

func (r *Responder) stop(ctx context.Context, spec string, o *Outcome, kill bool) error {
	t, err := r.container(ctx, spec, o)
	if err != nil {
		return err
	}
	grace := r.cfg.StopTimeout
	if kill {
		grace = 0
	}
	method, rerr := r.viaRuntime(ctx, t, kill, grace)
	if rerr == nil {
		o.Method = method
	} else {
		// The runtime is down, unknown or failed: signal the processes.
		o.Detail = "runtime: " + rerr.Error()
		o.Method = "signals"
		if !kill {
			o.Method = "signals (SIGTERM, SIGKILL after the stop timeout)"
			if _, err := signalAll(t, unix.SIGTERM); err != nil && !errors.Is(err, target.ErrGone) {
				return err
			}
			wctx, cancel := context.WithTimeout(ctx, grace)
			err := waitGone(wctx, t)
			cancel()
			if err == nil {
				return nil
			}
		}
		if _, err := signalAll(t, unix.SIGKILL); err != nil && !errors.Is(err, target.ErrGone) {
			return err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, grace+10*time.Second)
	defer cancel()
	return waitGone(wctx, t)
}

// viaRuntime asks the container's runtime to stop or kill it.
func (r *Responder) viaRuntime(ctx context.Context, t *target.Target, kill bool, grace time.Duration) (string, error) {
	sock := func(rt string) string {
		for _, s := range r.cfg.Target.Sockets {
			if s.Runtime == rt {
				if _, err := os.Stat(s.Path); err == nil {
					return s.Path
				}
			}
		}
		return ""
	}
	var errs []error
	try := func(rt string) (string, bool) {
		p := sock(rt)
		if p == "" {
			errs = append(errs, fmt.Errorf("%s: no socket", rt))
			return "", false
		}
		var err error
		switch rt {
		case container.RuntimeDocker, container.RuntimePodman:
			path := fmt.Sprintf("/containers/%s/stop?t=%d", t.ContainerID, int(grace.Seconds()))
			if kill {
				path = "/containers/" + t.ContainerID + "/kill?signal=SIGKILL"
			}
			err = target.DockerCall(ctx, p, http.MethodPost, path, nil)
		case container.RuntimeContainerd:
			err = containerdKill(ctx, p, t, kill, grace)
		case container.RuntimeCRIO:
			err = criStop(ctx, p, t.ContainerID, grace)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", rt, err))
			return "", false
		}
		return rt + " API (" + p + ")", true
	}
	order := []string{container.RuntimeDocker, container.RuntimePodman, container.RuntimeContainerd, container.RuntimeCRIO}
	if t.Runtime != "" {
		order = []string{t.Runtime}
		if t.Runtime == container.RuntimeContainerd && strings.Contains(t.CgroupV2, "kubepods") {
			order = []string{container.RuntimeCRIO, container.RuntimeContainerd}
		}
	}
	for _, rt := range order {
		if m, ok := try(rt); ok {
			return m, nil
		}
	}
	return "", errors.Join(errs...)
}

func dial(socket string) (*grpc.ClientConn, error) {
	return grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

// containerdNamespace guesses the containerd namespace from the cgroup
// path: /<namespace>/<id>, /system.slice/<namespace>-<id>.scope, k8s.io
// for Kubernetes pods.
func containerdNamespace(t *target.Target) string {
	p := t.CgroupV2
	if p == "" || p == "/" {
		for _, v := range t.CgroupV1 {
			p = v
			break
		}
	}
	if strings.Contains(p, "kubepods") {
		return "k8s.io"
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) >= 2 && parts[len(parts)-1] == t.ContainerID {
		return parts[len(parts)-2]
	}
	last := parts[len(parts)-1]
	if ns, ok := strings.CutSuffix(last, "-"+t.ContainerID+".scope"); ok {
		return ns
	}
	return "default"
}

func containerdKill(ctx context.Context, socket string, t *target.Target, kill bool, grace time.Duration) error {
	conn, err := dial(socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx = metadata.AppendToOutgoingContext(ctx, "containerd-namespace", containerdNamespace(t))
	c := tasks.NewTasksClient(conn)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	sig := uint32(unix.SIGKILL)
	if !kill {
		sig = uint32(unix.SIGTERM)
	}
	if _, err := c.Kill(cctx, &tasks.KillRequest{ContainerID: t.ContainerID, Signal: sig, All: true}); err != nil {
		return fmt.Errorf("task kill: %w", err)
	}
	if kill {
		return nil
	}
	wctx, wcancel := context.WithTimeout(ctx, grace)
	defer wcancel()
	if waitGone(wctx, t) == nil {
		return nil
	}
	if _, err := c.Kill(cctx, &tasks.KillRequest{ContainerID: t.ContainerID, Signal: uint32(unix.SIGKILL), All: true}); err != nil {
		return fmt.Errorf("task kill: %w", err)
	}
	return nil
}

func criStop(ctx context.Context, socket, id string, grace time.Duration) error {
	conn, err := dial(socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	cctx, cancel := context.WithTimeout(ctx, grace+10*time.Second)
	defer cancel()
	_, err = cri.NewRuntimeServiceClient(conn).StopContainer(cctx, &cri.StopContainerRequest{ContainerId: id, Timeout: int64(grace.Seconds())})
	if err != nil {
		return fmt.Errorf("StopContainer: %w", err)
	}
	return nil
}
