// Package forensics preserves the evidence of a container or process
// before anyone contains it: process tree, credentials, namespaces, open
// files and sockets, memory maps and optionally memory, the changes of the
// container's writable layer with the changed files themselves, mounts,
// container metadata and the alerts Vigil stored for it. A capture is a
// bundle — a directory or a .tar.gz — with a manifest of SHA-256 hashes
// and a chain-of-custody record; Verify checks it.
package forensics

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/respond/target"
	"github.com/vigilsec/vigil/internal/store"
	"github.com/vigilsec/vigil/internal/store/sqlite"
)

// Options configure a capture; zero fields take the defaults.
type Options struct {
	Target string // container id, id prefix, name, or pid
	// Output is the bundle: a directory, or a file ending in .tar.gz. It
	// must not exist. Default: vigil-capture-<id>-<UTC time>.tar.gz in the
	// working directory.
	Output       string
	MemoryPIDs   []int // processes whose memory is copied
	MemoryLimit  int64 // bytes per process; 256 MiB
	MaxFileBytes int64 // largest changed file copied; 64 MiB
	MaxFSBytes   int64 // changed files copied in total; 512 MiB
	MaxFSEntries int   // changed entries listed; 100,000
	Freeze       bool  // freeze the container's cgroup during the capture
	DataDir      string
	AlertLimit   int // alerts taken from the store; 200
	// MetadataTimeout bounds the wait for the runtime's metadata; 3 s.
	MetadataTimeout time.Duration
	Version         string
	CommandLine     []string
	TargetConfig    target.Config
	Logger          *slog.Logger
}

// Result describes a finished capture.
type Result struct {
	Path           string        `json:"path"`
	ManifestSHA256 string        `json:"manifest_sha256"`
	BundleSHA256   string        `json:"bundle_sha256,omitempty"` // of the .tar.gz
	Files          int           `json:"files"`
	Bytes          int64         `json:"bytes"`
	Processes      int           `json:"processes"`
	Changes        int           `json:"changes"`
	Duration       time.Duration `json:"duration_ns"`
	Notes          []string      `json:"notes,omitempty"`
}

// TargetInfo is target.json.
type TargetInfo struct {
	Spec        string            `json:"spec"`
	ContainerID string            `json:"container_id,omitempty"`
	Runtime     string            `json:"runtime,omitempty"`
	CgroupV2    string            `json:"cgroup_v2,omitempty"`
	CgroupV1    map[string]string `json:"cgroup_v1,omitempty"`
	PID         int               `json:"pid"`
	StartTime   uint64            `json:"start_time"`
	Frozen      bool              `json:"frozen_for_capture"`
	Overlay     *Overlay          `json:"overlay,omitempty"`
}

// Capture resolves the target and writes its bundle. On failure nothing is
// left at Output; the staging directory is kept beside it with an
// INCOMPLETE file saying why only when evidence was already copied.
func Capture(ctx context.Context, o Options) (*Result, error) {
	begin := time.Now()
	o = o.withDefaults()
	t, err := target.Resolve(ctx, o.Target, o.TargetConfig)
	if err != nil {
		return nil, err
	}
	if o.Output == "" {
		id := t.ContainerID
		if id == "" {
			id = "pid" + strconv.Itoa(t.PID)
		} else {
			id = id[:12]
		}
		o.Output = fmt.Sprintf("vigil-capture-%s-%s.tar.gz", id, begin.UTC().Format("20060102T150405Z"))
	}
	out, err := filepath.Abs(o.Output)
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", o.Output, err)
	}
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("output %s exists: refusing to overwrite", out)
	}
	staging, err := os.MkdirTemp(filepath.Dir(out), ".vigil-capture-")
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", out, err)
	}
	marker := filepath.Join(staging, IncompleteFile)
	if err := os.WriteFile(marker, []byte("capture in progress\n"), 0o600); err != nil {
		os.RemoveAll(staging)
		return nil, fmt.Errorf("output %s: %w", out, err)
	}
	c := &capture{o: o, t: t, b: newBundleWriter(staging), res: &Result{Path: out}}
	err = c.run(ctx)
	if err == nil {
		err = c.finish(staging, out, begin)
	}
	if err != nil {
		if len(c.b.files) == 0 {
			os.RemoveAll(staging)
		} else {
			_ = os.WriteFile(marker, []byte("capture failed: "+err.Error()+"\n"), 0o600)
			err = fmt.Errorf("%w (partial evidence kept in %s, marked %s)", err, staging, IncompleteFile)
		}
		return nil, err
	}
	c.res.Duration = time.Since(begin)
	return c.res, nil
}

func (o Options) withDefaults() Options {
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = 256 << 20
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 64 << 20
	}
	if o.MaxFSBytes <= 0 {
		o.MaxFSBytes = 512 << 20
	}
	if o.MaxFSEntries <= 0 {
		o.MaxFSEntries = 100_000
	}
	if o.AlertLimit <= 0 {
		o.AlertLimit = 200
	}
	if o.MetadataTimeout <= 0 {
		o.MetadataTimeout = 3 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.TargetConfig.ProcRoot == "" {
		o.TargetConfig.ProcRoot = "/proc"
	}
	return o
}

type capture struct {
	o     Options
	t     *target.Target
	b     *bundleWriter
	res   *Result
	notes []string
}

func (c *capture) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	c.notes = append(c.notes, s)
	c.o.Logger.Warn("capture", "component", "forensics", "note", s)
}

func (c *capture) run(ctx context.Context) (err error) {
	t, procRoot := c.t, c.o.TargetConfig.ProcRoot
	procs := t.Procs
	if !t.IsContainer() || t.Spec == strconv.Itoa(t.PID) {
		procs, err = subtree(procRoot, t.Init())
		if err != nil {
			return err
		}
	}
	frozen := false
	if c.o.Freeze {
		was, ferr := t.Frozen()
		if ferr != nil {
			return fmt.Errorf("--freeze: %w", ferr)
		}
		if !was {
			fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := t.Freeze(fctx, true)
			cancel()
			if err != nil {
				return fmt.Errorf("--freeze: %w", err)
			}
			defer func() {
				tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				if terr := t.Freeze(tctx, false); terr != nil && err == nil {
					err = fmt.Errorf("thaw after capture: %w", terr)
				}
			}()
		}
		frozen = true
	}
	ti := TargetInfo{Spec: t.Spec, ContainerID: t.ContainerID, Runtime: t.Runtime, CgroupV2: t.CgroupV2,
		CgroupV1: t.CgroupV1, PID: t.PID, StartTime: t.Init().StartTime, Frozen: frozen}

	// Processes, their sockets (one table read per network namespace).
	socks := map[uint64]*Socket{}
	seenNet := map[string]bool{}
	var list []*Process
	for _, p := range procs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if ns, err := os.Readlink(filepath.Join(procRoot, strconv.Itoa(p.PID), "ns", "net")); err == nil && !seenNet[ns] {
			seenNet[ns] = true
			if err := readSockets(procRoot, p.PID, socks); err != nil {
				c.note("sockets of pid %d: %v", p.PID, err)
			}
		}
		rp := readProcess(procRoot, p.PID, socks)
		rp.StartTime, rp.PPID = p.StartTime, p.PPID
		list = append(list, rp)
		for _, f := range []string{"maps", "status", "limits"} {
			if err := c.copyProc(p.PID, f); err != nil {
				rp.Errors = append(rp.Errors, err.Error())
			}
		}
	}
	if len(c.o.MemoryPIDs) > 0 {
		in := map[int]bool{}
		for _, p := range procs {
			in[p.PID] = true
		}
		for _, pid := range c.o.MemoryPIDs {
			if !in[pid] {
				return fmt.Errorf("--memory %d: not a process of %s", pid, t.Name())
			}
			if err := dumpMemory(c.b, procRoot, pid, c.o.MemoryLimit); err != nil {
				c.note("%v", err)
			}
		}
	}
	// Mounts and the writable layer, as the target's init sees them.
	if err := c.copyProc(t.PID, "mountinfo"); err != nil {
		c.note("mounts: %v", err)
	}
	var changes []Change
	if ov, err := findOverlay(procRoot, t.PID); err != nil {
		c.note("filesystem changes: %v", err)
	} else {
		ti.Overlay = ov
		changes, err = collectChanges(c.b, ov, diffLimits{maxFile: c.o.MaxFileBytes, maxTotal: c.o.MaxFSBytes, maxFiles: c.o.MaxFSEntries})
		if err != nil {
			c.note("filesystem changes (listing incomplete): %v", err)
		}
	}
	if changes == nil {
		changes = []Change{}
	}
	// The pids must still name the processes read: a reused pid of the
	// target itself fails the capture, one of the container's is noted.
	for _, p := range list {
		err := target.Check(procRoot, target.Proc{PID: p.PID, StartTime: p.StartTime})
		switch {
		case err == nil:
		case p.PID == t.PID && (errors.Is(err, target.ErrReused) || errors.Is(err, target.ErrGone)):
			return fmt.Errorf("%s changed during the capture: %w", t.Name(), err)
		default:
			p.Errors = append(p.Errors, "after capture: "+err.Error())
			c.note("pid %d exited or was reused during the capture", p.PID)
		}
	}
	if err := c.b.writeJSON("target.json", ti); err != nil {
		return err
	}
	if err := c.b.writeJSON("processes.json", list); err != nil {
		return err
	}
	if err := c.b.writeFile("tree.txt", []byte(tree(list))); err != nil {
		return err
	}
	if err := c.b.writeJSON("fs/changes.json", changes); err != nil {
		return err
	}
	info := c.metadata(ctx)
	if err := c.b.writeJSON("container.json", info); err != nil {
		return err
	}
	if err := c.alerts(ctx, info); err != nil {
		return err
	}
	c.res.Processes, c.res.Changes = len(list), len(changes)
	return nil
}

// copyProc copies /proc/PID/name to proc/PID/name.
func (c *capture) copyProc(pid int, name string) error {
	data, err := os.ReadFile(filepath.Join(c.o.TargetConfig.ProcRoot, strconv.Itoa(pid), name))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return c.b.writeFile(fmt.Sprintf("proc/%d/%s", pid, name), data)
}

// subtree returns root and its descendants, read from /proc.
func subtree(procRoot string, root target.Proc) ([]target.Proc, error) {
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", procRoot, err)
	}
	children := map[int][]target.Proc{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, err := target.ReadProc(procRoot, pid)
		if err == nil {
			children[p.PPID] = append(children[p.PPID], p)
		}
	}
	out := []target.Proc{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i].PID]...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out, nil
}

func tree(list []*Process) string {
	in := map[int]bool{}
	kids := map[int][]*Process{}
	for _, p := range list {
		in[p.PID] = true
	}
	var roots []*Process
	for _, p := range list {
		if in[p.PPID] && p.PPID != p.PID {
			kids[p.PPID] = append(kids[p.PPID], p)
		} else {
			roots = append(roots, p)
		}
	}
	var b strings.Builder
	var walk func(p *Process, depth int)
	walk = func(p *Process, depth int) {
		user := ""
		if len(p.UIDs) > 1 {
			user = " uid=" + p.UIDs[1]
		}
		fmt.Fprintf(&b, "%s%d %s%s [%s]\n", strings.Repeat("  ", depth), p.PID, strings.Join(p.Cmdline, " "), user, p.Exe)
		for _, k := range kids[p.PID] {
			walk(k, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return b.String()
}

// metadata asks the runtimes for the container's metadata through the
// container package's resolver.
func (c *capture) metadata(ctx context.Context) *container.Info {
	t := c.t
	if !t.IsContainer() {
		return nil
	}
	base := &container.Info{ID: t.ContainerID, Runtime: t.Runtime, CgroupPath: t.CgroupV2}
	sockets := c.o.TargetConfig.Sockets
	if sockets == nil {
		sockets = container.DefaultSockets()
	}
	var live []container.Socket
	for _, s := range sockets {
		if _, err := os.Stat(s.Path); err == nil {
			live = append(live, s)
		}
	}
	if len(live) == 0 {
		c.note("container metadata: no runtime socket found")
		return base
	}
	dir := t.V2Dir()
	if dir == "" {
		c.note("container metadata: container has no cgroup v2 directory")
		return base
	}
	cgid, err := container.CgroupID(dir)
	if err != nil {
		c.note("container metadata: %v", err)
		return base
	}
	r, err := container.NewResolver(container.Config{Sockets: live, CgroupRoot: c.o.TargetConfig.CgroupRoot, Logger: c.o.Logger})
	if err != nil {
		c.note("container metadata: %v", err)
		return base
	}
	rctx, cancel := context.WithTimeout(ctx, c.o.MetadataTimeout)
	defer cancel()
	done := make(chan struct{})
	go func() { _ = r.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	for {
		if info := r.Lookup(cgid, int64(t.PID)); info != nil {
			base = info
			if info.Complete {
				return info
			}
		}
		select {
		case <-rctx.Done():
			c.note("container metadata: no runtime answered within %s", c.o.MetadataTimeout)
			return base
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// alerts copies the stored alerts of the container into alerts.json.
func (c *capture) alerts(ctx context.Context, info *container.Info) error {
	var alerts []store.StoredAlert
	db := filepath.Join(c.o.DataDir, "vigil.db")
	switch {
	case c.o.DataDir == "":
		c.note("alerts: no --data-dir")
	case !c.t.IsContainer():
		c.note("alerts: the store indexes alerts by container; none taken for a host process")
	default:
		if _, err := os.Stat(db); err != nil {
			c.note("alerts: %v", err)
			break
		}
		s, err := sqlite.Open(ctx, db)
		if err != nil {
			c.note("alerts: %v", err)
			break
		}
		defer s.Close()
		keys := []string{c.t.ContainerID[:12]}
		if info != nil && info.Name != "" {
			keys = append(keys, info.Name)
		}
		for _, k := range keys {
			page, err := s.List(ctx, store.Filter{Container: k, Limit: c.o.AlertLimit})
			if err != nil {
				c.note("alerts: %v", err)
				continue
			}
			alerts = append(alerts, page.Alerts...)
		}
	}
	if alerts == nil {
		alerts = []store.StoredAlert{}
	}
	return c.b.writeJSON("alerts.json", alerts)
}

// custody returns the chain-of-custody record of this process.
func custody(action string, o Options, now time.Time) Custody {
	cu := Custody{Action: action, Time: now.UTC(), UID: os.Getuid(), Version: o.Version, CommandLine: o.CommandLine,
		PID: os.Getpid(), SudoUser: os.Getenv("SUDO_USER")}
	if u, err := user.LookupId(strconv.Itoa(cu.UID)); err == nil {
		cu.User = u.Username
	}
	cu.Host, _ = os.Hostname()
	if cu.CommandLine == nil {
		cu.CommandLine = os.Args
	}
	return cu
}

func (c *capture) finish(staging, out string, begin time.Time) error {
	if c.notes == nil {
		c.notes = []string{}
	}
	if err := c.b.writeJSON("notes.json", c.notes); err != nil {
		return err
	}
	cu := custody("capture", c.o, begin)
	line, _ := json.Marshal(cu)
	if err := c.b.writeFile(CustodyFile, append(line, '\n')); err != nil {
		return err
	}
	m := Manifest{Format: Format, Created: time.Now().UTC(), Target: c.t.Spec, Custody: cu}
	data, err := c.b.finish(m)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	c.res.ManifestSHA256 = hex.EncodeToString(sum[:])
	c.res.Notes = c.notes
	names := make([]string, 0, len(c.b.files))
	for n, e := range c.b.files {
		names = append(names, n)
		c.res.Bytes += e.Size
	}
	sort.Strings(names)
	c.res.Files = len(names)
	if err := os.Remove(filepath.Join(staging, IncompleteFile)); err != nil {
		return fmt.Errorf("finish bundle: %w", err)
	}
	if !strings.HasSuffix(out, ".tar.gz") && !strings.HasSuffix(out, ".tgz") {
		if err := os.Rename(staging, out); err != nil {
			return fmt.Errorf("finish bundle %s: %w", out, err)
		}
		return nil
	}
	tmp := filepath.Join(staging, ".bundle.tar.gz")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	h := sha256.New()
	err = writeTarGz(staging, io.MultiWriter(f, h), names)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", out, err)
	}
	c.res.BundleSHA256 = hex.EncodeToString(h.Sum(nil))
	return os.RemoveAll(staging)
}
