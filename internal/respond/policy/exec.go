package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/forensics"
	"github.com/vigilsec/vigil/internal/respond"
	"github.com/vigilsec/vigil/internal/respond/target"
)

// Subject is what an alert's actions act on, taken from its context
// (provenance, container) and output fields.
type Subject struct {
	// ContainerID is the container's id (full or 12 characters); "" for a
	// host process or an alert without a container.
	ContainerID   string
	ContainerName string
	Image         string
	Namespace     string
	// PID, StartTime and Exe are the alerting process; PID 0 when the
	// alert has none.
	PID       int64
	StartTime time.Time
	Exe       string
}

// Host reports whether the alert came from a host process.
func (s *Subject) Host() bool { return s.ContainerID == "" && s.PID > 0 }

// SubjectOf extracts the subject of an alert.
func SubjectOf(a *alert.Alert) Subject {
	var s Subject
	if c := a.Context; c != nil {
		if ci := c.Container; ci != nil {
			s.ContainerID, s.ContainerName, s.Image = ci.ID, ci.Name, ci.Image
			if ci.Pod != nil {
				s.Namespace = ci.Pod.Namespace
			}
		}
		if p := c.Provenance; p != nil {
			s.PID, s.StartTime, s.Exe = p.Process.PID, p.Process.StartTime, p.Process.Exe
			if s.ContainerID == "" {
				s.ContainerID = p.Process.ContainerID
			}
		}
	}
	f := a.OutputFields
	str := func(keys ...string) string {
		for _, k := range keys {
			if v, ok := f[k].(string); ok && v != "" && v != "<NA>" {
				return v
			}
		}
		return ""
	}
	if s.ContainerID == "" {
		s.ContainerID = str("container.id")
	}
	if s.ContainerName == "" {
		s.ContainerName = str("container.name")
	}
	if s.Image == "" {
		s.Image = str("container.image.repository", "container.image")
	}
	if s.Namespace == "" {
		s.Namespace = str("k8s.ns.name")
	}
	if s.Exe == "" {
		s.Exe = str("proc.exepath")
	}
	if s.PID == 0 {
		switch v := f["proc.pid"].(type) {
		case int64:
			s.PID = v
		case int:
			s.PID = int64(v)
		case uint64:
			s.PID = int64(v)
		case float64:
			s.PID = int64(v)
		}
	}
	if s.ContainerID == "host" {
		s.ContainerID = ""
	}
	return s
}

// Request is one action to run on an alert's subject.
type Request struct {
	Alert   *alert.Alert
	Subject Subject
	Step    Step
	// Actor is "policy:<name>" or the user.
	Actor  string
	DryRun bool
	// FreezeFirst freezes the container before a capture so the bundle is
	// a consistent snapshot; KeepFrozen leaves it frozen after (a pause
	// follows).
	FreezeFirst, KeepFrozen bool
}

// Status of a Result.
const (
	StatusOK      = "ok"
	StatusFailed  = "failed"
	StatusDryRun  = "dry-run"
	StatusSkipped = "skipped"
)

// Result is what one action did.
type Result struct {
	Action string
	Status string
	// Target names what was acted on: "container 3f2a9c0d1e2f", "pid 42".
	Target string
	// Detail says how (method, resolved id) or why not.
	Detail string
	// Bundle is the forensic bundle a capture wrote.
	Bundle string
	// Err is the error of a failed action, ErrNoTarget or one wrapping
	// target.ErrGone when the target is gone.
	Err   error
	Start time.Time
	// Done is when the action finished (for a pause: the kernel reported
	// the cgroup frozen).
	Done time.Time
	// Frozen is when the kernel reported the container frozen: Done for a
	// pause, the freeze before the capture for a capture that froze it
	// first; zero otherwise.
	Frozen time.Time
}

// Text is the result as a timeline entry's text.
func (r *Result) Text() string {
	var b strings.Builder
	b.WriteString(r.Action)
	if r.Target != "" {
		b.WriteString(" " + r.Target)
	}
	b.WriteString(": " + r.Status)
	if r.Err != nil {
		b.WriteString(": " + r.Err.Error())
	}
	if r.Detail != "" {
		b.WriteString(" (" + r.Detail + ")")
	}
	if !r.Done.IsZero() && r.Status != StatusSkipped {
		fmt.Fprintf(&b, " in %s", r.Done.Sub(r.Start).Round(100*time.Microsecond))
	}
	return b.String()
}

// ExecutorConfig configures an Executor.
type ExecutorConfig struct {
	// Respond configures the responders; each request gets one whose
	// audit-log command line names the actor and the alert.
	Respond respond.Config
	// DataDir is the state directory (audit log, block list, the alerts a
	// capture copies).
	DataDir string
	// EvidenceDir receives capture bundles; default DataDir/evidence.
	EvidenceDir string
	Version     string
	Logger      *slog.Logger
}

// Executor runs actions on alerts' subjects with a respond.Responder and
// forensics.Capture; every action that runs is audit-logged.
type Executor struct {
	cfg ExecutorConfig
	seq atomic.Uint64
}

// NewExecutor returns an Executor.
func NewExecutor(cfg ExecutorConfig) *Executor {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.EvidenceDir == "" && cfg.DataDir != "" {
		cfg.EvidenceDir = filepath.Join(cfg.DataDir, "evidence")
	}
	return &Executor{cfg: cfg}
}

// Execute runs the request's action and returns its result; it never
// panics on a missing or gone target.
func (x *Executor) Execute(ctx context.Context, req Request) (res Result) {
	res = Result{Action: req.Step.Action, Start: time.Now()}
	defer func() {
		if res.Done.IsZero() {
			res.Done = time.Now()
		}
		switch {
		case res.Status != "":
		case res.Err != nil:
			res.Status = StatusFailed
		default:
			res.Status = StatusOK
		}
	}()
	s := &req.Subject
	spec, err := x.spec(req.Step.Action, s)
	if err != nil {
		res.Err = err
		res.Status = StatusSkipped
		return res
	}
	res.Target = describe(req.Step.Action, s)
	if req.DryRun {
		res.Status = StatusDryRun
		res.Detail = x.dryRun(ctx, req.Step.Action, spec, s)
		return res
	}
	note := "by " + req.Actor
	if req.Alert != nil {
		note += " for alert " + strconv.Quote(req.Alert.Rule)
	}
	var o *respond.Outcome
	rc := x.cfg.Respond
	rc.CommandLine = []string{"vigil", "run", "actor=" + req.Actor}
	if req.Alert != nil {
		rc.CommandLine = append(rc.CommandLine, "alert="+req.Alert.Rule)
	}
	r := respond.New(rc)
	switch req.Step.Action {
	case ActionCapture:
		o, err = x.capture(ctx, r, req, spec, &res, note)
	case respond.ActionPause:
		o, err = x.pause(ctx, r, req.Alert, s, spec)
	case respond.ActionUnpause:
		o, err = r.Unpause(ctx, spec)
	case respond.ActionStop:
		o, err = r.Stop(ctx, spec)
	case respond.ActionKill:
		o, err = r.Kill(ctx, spec)
	case respond.ActionIsolate:
		o, err = r.Isolate(ctx, spec, req.Step.Allow)
	case respond.ActionUnisolate:
		o, err = r.Unisolate(ctx, spec)
	case respond.ActionKillProcess:
		var ticks uint64
		if ticks, err = x.checkProcess(s); err == nil {
			o, err = r.KillProcess(ctx, int(s.PID), ticks)
		} else {
			o, err = r.Record(respond.ActionKillProcess, spec, note, func(*respond.Outcome) error { return err })
		}
	case respond.ActionBlockExec:
		var entry string
		entry, res.Detail = x.blockEntry(s)
		o, err = r.BlockExec(ctx, entry)
	default:
		err = fmt.Errorf("%q: %w", req.Step.Action, ErrBadAction)
	}
	res.Done = time.Now()
	res.Err = err
	if err == nil && req.Step.Action == respond.ActionPause {
		res.Frozen = res.Done
	}
	if o != nil {
		d := o.Method
		if o.Resolved != "" && o.Resolved != spec {
			d = strings.TrimSpace(o.Resolved + " " + d)
		}
		d = join(d, o.Detail)
		res.Detail = join(res.Detail, d)
	}
	return res
}

// join joins the non-empty parts with "; ".
func join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

func describe(action string, s *Subject) string {
	switch {
	case action == respond.ActionBlockExec:
		return "exe " + s.Exe
	case actions[action].container || (action == ActionCapture && s.ContainerID != ""):
		id := s.ContainerID
		if len(id) > 12 {
			id = id[:12]
		}
		if s.ContainerName != "" {
			return "container " + id + " (" + s.ContainerName + ")"
		}
		return "container " + id
	default:
		return "pid " + strconv.FormatInt(s.PID, 10)
	}
}

// spec returns the target spec of the action, or ErrNoTarget.
func (x *Executor) spec(action string, s *Subject) (string, error) {
	if _, ok := actions[action]; !ok || action == respond.ActionUnblockExec {
		return "", fmt.Errorf("%q: %w (valid: %s)", action, ErrBadAction, APIActions)
	}
	switch {
	case actions[action].container:
		if s.ContainerID == "" {
			if s.PID > 0 {
				return "", fmt.Errorf("%s: the alert's process is a host process: never paused, stopped or isolated: %w", action, ErrNoTarget)
			}
			return "", fmt.Errorf("%s: the alert has no container: %w", action, ErrNoTarget)
		}
		return s.ContainerID, nil
	case action == ActionCapture:
		if s.ContainerID != "" {
			return s.ContainerID, nil
		}
		if s.PID > 0 {
			return strconv.FormatInt(s.PID, 10), nil
		}
		return "", fmt.Errorf("capture: the alert has no container or process: %w", ErrNoTarget)
	case action == respond.ActionBlockExec:
		if s.Exe == "" && s.PID == 0 {
			return "", fmt.Errorf("block-exec: the alert names no executable: %w", ErrNoTarget)
		}
		return s.Exe, nil
	default: // kill-process
		if s.PID <= 0 {
			return "", fmt.Errorf("kill-process: the alert has no process: %w", ErrNoTarget)
		}
		return strconv.FormatInt(s.PID, 10), nil
	}
}

// dryRun describes what would be done, resolving the target read-only.
func (x *Executor) dryRun(ctx context.Context, action, spec string, s *Subject) string {
	switch action {
	case respond.ActionKillProcess:
		if _, err := x.checkProcess(s); err != nil {
			return "would kill-process; target check: " + err.Error()
		}
		return "would kill-process pid " + spec
	case respond.ActionBlockExec:
		e, d := x.blockEntry(s)
		return strings.TrimSuffix("would block-exec "+e+"; "+d, "; ")
	}
	t, err := target.Resolve(ctx, spec, x.cfg.Respond.Target)
	if err != nil {
		return "would " + action + "; target check: " + err.Error()
	}
	return fmt.Sprintf("would %s %s (%d processes)", action, t.Name(), len(t.Procs))
}

func (x *Executor) procRoot() string {
	if r := x.cfg.Respond.Target.ProcRoot; r != "" {
		return r
	}
	return "/proc"
}

// bootTime returns the boot time as the process table computes it.
func bootTime() time.Time {
	var rt, bt unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_REALTIME, &rt)
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &bt)
	return time.Unix(0, rt.Nano()-bt.Nano())
}

// checkProcess returns the start time in clock ticks of the alert's
// process after checking that its pid still names it (its start time
// within a second of the one recorded at alert time).
func (x *Executor) checkProcess(s *Subject) (uint64, error) {
	if s.PID <= 1 || int(s.PID) == os.Getpid() {
		return 0, fmt.Errorf("pid %d: refusing", s.PID)
	}
	if s.StartTime.IsZero() {
		return 0, fmt.Errorf("pid %d: no start time recorded with the alert, cannot rule out a reused pid: %w", s.PID, ErrNoTarget)
	}
	b, err := os.ReadFile(filepath.Join(x.procRoot(), strconv.FormatInt(s.PID, 10), "stat"))
	if err != nil {
		return 0, fmt.Errorf("pid %d: %w", s.PID, target.ErrGone)
	}
	p, err := target.ParseStat(int(s.PID), b)
	if err != nil {
		return 0, err
	}
	if i := strings.LastIndexByte(string(b), ')'); i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X') {
		return 0, fmt.Errorf("pid %d has exited (zombie): %w", s.PID, target.ErrGone)
	}
	started := bootTime().Add(time.Duration(p.StartTime) * 10 * time.Millisecond)
	if d := started.Sub(s.StartTime); d > time.Second || d < -time.Second {
		return 0, fmt.Errorf("pid %d started at %s, the alert's process at %s: %w", s.PID,
			started.UTC().Format(time.RFC3339Nano), s.StartTime.UTC().Format(time.RFC3339Nano), target.ErrReused)
	}
	return p.StartTime, nil
}

// blockEntry returns what block-exec lists for the subject: the SHA-256
// of the running executable (/proc/PID/exe, when the pid still names the
// alert's process), else its path.
func (x *Executor) blockEntry(s *Subject) (entry, detail string) {
	if s.PID > 0 {
		if _, err := x.checkProcess(s); err == nil {
			if f, err := os.Open(filepath.Join(x.procRoot(), strconv.FormatInt(s.PID, 10), "exe")); err == nil {
				h := sha256.New()
				_, cerr := io.Copy(h, f)
				f.Close()
				if cerr == nil {
					return hex.EncodeToString(h.Sum(nil)), "sha256 of " + s.Exe
				}
			}
		}
	}
	return s.Exe, "by path: the process is gone"
}

// pause freezes the subject's container. The container is found through
// a live process of the alert's provenance inside it (the process, else
// its nearest ancestor there): one /proc read instead of the scan of every
// process a container id needs, which matters on a busy host. The
// container the pid resolves to must be the alert's, and its start time
// the recorded one; otherwise, or when none is alive, the id is resolved.
func (x *Executor) pause(ctx context.Context, r *respond.Responder, a *alert.Alert, s *Subject, spec string) (*respond.Outcome, error) {
	if pid := x.livePID(a, s); pid != "" {
		o, err := r.Pause(ctx, pid)
		if err == nil && !sameContainer(o.Resolved, s.ContainerID) {
			// The pid changed hands between the check and the freeze.
			_, _ = r.Unpause(context.WithoutCancel(ctx), pid)
			return o, fmt.Errorf("pid %s now belongs to container %s, not %s: %w", pid, o.Resolved, s.ContainerID, target.ErrReused)
		}
		if err == nil || !IsGone(err) {
			return o, err
		}
	}
	return r.Pause(ctx, spec)
}

// sameContainer compares a full id with a full or 12-character one.
func sameContainer(a, b string) bool {
	return a != "" && b != "" && (strings.HasPrefix(a, b) || strings.HasPrefix(b, a))
}

// livePID returns a pid of the alert's provenance that is alive, still the
// same process and in the subject's container; "" when there is none.
func (x *Executor) livePID(a *alert.Alert, s *Subject) string {
	if a == nil || a.Context == nil || a.Context.Provenance == nil || s.ContainerID == "" {
		return ""
	}
	pv := a.Context.Provenance
	for _, p := range append([]alert.Proc{pv.Process}, pv.Ancestors...) {
		if p.PID <= 1 || !sameContainer(p.ContainerID, s.ContainerID) {
			continue
		}
		if _, err := x.checkProcess(&Subject{PID: p.PID, StartTime: p.StartTime}); err == nil {
			return strconv.FormatInt(p.PID, 10)
		}
	}
	return ""
}

// capture writes a forensic bundle of the subject into the evidence
// directory, freezing the container first when asked.
func (x *Executor) capture(ctx context.Context, r *respond.Responder, req Request, spec string, res *Result, note string) (*respond.Outcome, error) {
	dir := x.cfg.EvidenceDir
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return r.Record(ActionCapture, spec, note, func(*respond.Outcome) error { return fmt.Errorf("evidence dir: %w", err) })
	}
	if req.FreezeFirst && req.Subject.ContainerID != "" {
		// Frozen before the capture: the bundle is a consistent snapshot
		// and the attacker cannot act while it is written.
		if _, err := x.pause(ctx, r, req.Alert, &req.Subject, spec); err != nil {
			x.cfg.Logger.Warn("freeze before capture", "component", "policy", "target", spec, "err", err)
		} else {
			res.Frozen = time.Now()
			res.Detail = "frozen before the capture"
			if !req.KeepFrozen {
				defer func() { _, _ = r.Unpause(context.WithoutCancel(ctx), spec) }()
			}
		}
	}
	id := spec
	if len(id) > 12 {
		id = id[:12]
	}
	out := filepath.Join(dir, fmt.Sprintf("vigil-capture-%s-%s-%d.tar.gz", id, time.Now().UTC().Format("20060102T150405.000Z"), x.seq.Add(1)))
	return r.Record(ActionCapture, spec, note, func(o *respond.Outcome) error {
		cr, err := forensics.Capture(ctx, forensics.Options{Target: spec, Output: out, DataDir: x.cfg.DataDir,
			Version: x.cfg.Version, TargetConfig: x.cfg.Respond.Target, Logger: x.cfg.Logger,
			CommandLine: []string{"vigil", "run", "(" + note + ")"}})
		if err != nil {
			return err
		}
		res.Bundle = cr.Path
		o.Method = "forensics bundle"
		o.Detail = fmt.Sprintf("bundle %s, manifest sha256 %s, %d processes, %d changes", cr.Path, cr.ManifestSHA256, cr.Processes, cr.Changes)
		return nil
	})
}

// IsGone reports whether err means the target no longer exists (or its
// pid names another process now).
func IsGone(err error) bool {
	return errors.Is(err, target.ErrGone) || errors.Is(err, target.ErrReused)
}

// AlertAction runs one action an admin asked for (the API) on the subject
// of a stored alert. Bad input (an unknown action, a bad allow entry,
// allow with another action than isolate) returns an error wrapping
// ErrBadAction and runs nothing; otherwise the Result says what happened
// (Err wraps ErrNoTarget when the alert has nothing to act on, and
// target.ErrGone or target.ErrReused when its target is gone).
func (x *Executor) AlertAction(ctx context.Context, a *alert.Alert, action string, allow []string, actor string) (Result, error) {
	if !ValidAPIAction(action) {
		return Result{}, fmt.Errorf("action %q: %w (valid: %s)", action, ErrBadAction, APIActions)
	}
	if len(allow) > 0 && action != respond.ActionIsolate {
		return Result{}, fmt.Errorf("allow: only for isolate: %w", ErrBadAction)
	}
	st := Step{Action: action}
	for i, s := range allow {
		al, err := respond.ParseAllow(s)
		if err != nil {
			return Result{}, fmt.Errorf("allow[%d]: %w: %w", i, ErrBadAction, err)
		}
		st.Allow = append(st.Allow, al)
	}
	return x.Execute(ctx, Request{Alert: a, Subject: SubjectOf(a), Step: st, Actor: actor}), nil
}
