// Package respond contains a compromised container or process: pause and
// unpause through the cgroup freezer, stop and kill through the container's
// runtime (falling back to signals), kill one process without hitting a
// reused pid, cut a container's network inside its own network namespace,
// and deny the execution of files by path or SHA-256 with fanotify. Every
// action is audit-logged.
package respond

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/respond/target"
)

// Action names, as typed on the command line.
const (
	ActionPause       = "pause"
	ActionUnpause     = "unpause"
	ActionStop        = "stop"
	ActionKill        = "kill"
	ActionKillProcess = "kill-process"
	ActionIsolate     = "isolate"
	ActionUnisolate   = "unisolate"
	ActionBlockExec   = "block-exec"
	ActionUnblockExec = "unblock-exec"
)

// AuditFile is the audit log's name in the data directory.
const AuditFile = "audit.log"

// Config configures a Responder; zero fields take the defaults.
type Config struct {
	DataDir     string        // audit.log and blocklist.json live here
	StopTimeout time.Duration // grace period of stop before SIGKILL; 10 s
	Target      target.Config
	Logger      *slog.Logger
	CommandLine []string // recorded in the audit log; os.Args
}

// Responder runs containment actions.
type Responder struct {
	cfg Config
	mu  sync.Mutex // serialises audit writes
}

// New returns a Responder.
func New(cfg Config) *Responder {
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Target.Sockets == nil {
		cfg.Target.Sockets = container.DefaultSockets()
	}
	if cfg.CommandLine == nil {
		cfg.CommandLine = os.Args
	}
	return &Responder{cfg: cfg}
}

// Outcome is what an action did.
type Outcome struct {
	Action   string        `json:"action"`
	Target   string        `json:"target"`
	Resolved string        `json:"resolved,omitempty"` // container id or pid@start
	Method   string        `json:"method,omitempty"`   // how: cgroup v2 freezer, docker API, signals, ...
	Detail   string        `json:"detail,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// AuditEntry is one line of audit.log.
type AuditEntry struct {
	Time        time.Time `json:"time"`
	Action      string    `json:"action"`
	Target      string    `json:"target"`
	Resolved    string    `json:"resolved,omitempty"`
	Method      string    `json:"method,omitempty"`
	Result      string    `json:"result"` // ok or failed
	Error       string    `json:"error,omitempty"`
	Detail      string    `json:"detail,omitempty"`
	DurationMS  float64   `json:"duration_ms"`
	UID         int       `json:"uid"`
	User        string    `json:"user,omitempty"`
	SudoUser    string    `json:"sudo_user,omitempty"`
	Host        string    `json:"host"`
	PID         int       `json:"pid"`
	CommandLine []string  `json:"command_line"`
}

// audit records an action's result in slog and audit.log. A failure to
// write the audit log is returned: an action that cannot be audited is
// reported as such.
func (r *Responder) audit(o *Outcome, err error) error {
	e := AuditEntry{Time: time.Now().UTC(), Action: o.Action, Target: o.Target, Resolved: o.Resolved, Method: o.Method,
		Result: "ok", Detail: o.Detail, DurationMS: float64(o.Duration.Microseconds()) / 1000, UID: os.Getuid(),
		SudoUser: os.Getenv("SUDO_USER"), PID: os.Getpid(), CommandLine: r.cfg.CommandLine}
	if u, uerr := user.LookupId(strconv.Itoa(e.UID)); uerr == nil {
		e.User = u.Username
	}
	e.Host, _ = os.Hostname()
	level := slog.LevelInfo
	if err != nil {
		e.Result, e.Error, level = "failed", err.Error(), slog.LevelError
	}
	r.cfg.Logger.Log(context.Background(), level, "response action", "component", "respond", "action", e.Action,
		"target", e.Target, "resolved", e.Resolved, "method", e.Method, "result", e.Result, "error", e.Error,
		"duration_ms", e.DurationMS)
	if r.cfg.DataDir == "" {
		return nil
	}
	line, jerr := json.Marshal(e)
	if jerr != nil {
		return fmt.Errorf("audit: %w", jerr)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := os.MkdirAll(r.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	f, ferr := os.OpenFile(filepath.Join(r.cfg.DataDir, AuditFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if ferr != nil {
		return fmt.Errorf("audit log: %w", ferr)
	}
	_, werr := f.Write(append(line, '\n'))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("audit log: %w", werr)
	}
	return nil
}

// run times fn, audits its outcome and joins an audit failure to its error.
func (r *Responder) run(action, spec string, fn func(o *Outcome) error) (*Outcome, error) {
	o := &Outcome{Action: action, Target: spec}
	start := time.Now()
	err := fn(o)
	o.Duration = time.Since(start)
	if aerr := r.audit(o, err); aerr != nil {
		err = errors.Join(err, aerr)
	}
	return o, err
}

func resolved(t *target.Target) string {
	if t.IsContainer() {
		return t.ContainerID
	}
	return fmt.Sprintf("%d@%d", t.PID, t.Init().StartTime)
}

// Resolve resolves spec as the actions do, for confirmation prompts.
func (r *Responder) Resolve(ctx context.Context, spec string) (*target.Target, error) {
	return target.Resolve(ctx, spec, r.cfg.Target)
}

func (r *Responder) container(ctx context.Context, spec string, o *Outcome) (*target.Target, error) {
	t, err := target.Resolve(ctx, spec, r.cfg.Target)
	if err != nil {
		return nil, err
	}
	o.Resolved = resolved(t)
	if !t.IsContainer() {
		return nil, fmt.Errorf("%s is a host process, not a container (use kill-process)", spec)
	}
	return t, nil
}

// Pause freezes every process of the container with the cgroup freezer
// (cgroup v2 cgroup.freeze, else the v1 freezer) and returns once the
// kernel reports the cgroup frozen.
func (r *Responder) Pause(ctx context.Context, spec string) (*Outcome, error) {
	return r.run(ActionPause, spec, func(o *Outcome) error { return r.freeze(ctx, spec, o, true) })
}

// Unpause thaws a container frozen by Pause.
func (r *Responder) Unpause(ctx context.Context, spec string) (*Outcome, error) {
	return r.run(ActionUnpause, spec, func(o *Outcome) error { return r.freeze(ctx, spec, o, false) })
}

func (r *Responder) freeze(ctx context.Context, spec string, o *Outcome, on bool) error {
	t, err := r.container(ctx, spec, o)
	if err != nil {
		return err
	}
	file, v2, err := t.Freezer()
	if err != nil {
		return err
	}
	o.Method = "cgroup v1 freezer " + file
	if v2 {
		o.Method = "cgroup v2 " + file
	}
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return t.Freeze(fctx, on)
}
