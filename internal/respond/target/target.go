// Package target resolves what an incident-response command acts on — a
// container given by id, id prefix or name, or a single process given by
// pid — into its processes, their start times and its cgroups, read from
// /proc and the cgroup hierarchies.
package target

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsec/vigil/internal/container"
)

// ErrGone means the target does not exist (any more).
var ErrGone = errors.New("target not found")

// ErrReused means a pid now names another process than the one expected.
var ErrReused = errors.New("pid reused")

// ErrAmbiguous means a container id prefix matches several containers.
var ErrAmbiguous = errors.New("ambiguous container id prefix")

// Config says where to look; zero fields take the defaults.
type Config struct {
	ProcRoot   string             // /proc
	CgroupRoot string             // cgroup v2 mount; container.DefaultCgroupRoot
	V1Root     string             // cgroup v1 controllers' parent; /sys/fs/cgroup
	Sockets    []container.Socket // runtimes asked for names; container.DefaultSockets()
}

func (c Config) withDefaults() Config {
	if c.ProcRoot == "" {
		c.ProcRoot = "/proc"
	}
	if c.CgroupRoot == "" {
		c.CgroupRoot = container.DefaultCgroupRoot
	}
	if c.V1Root == "" {
		c.V1Root = "/sys/fs/cgroup"
	}
	if c.Sockets == nil {
		c.Sockets = container.DefaultSockets()
	}
	return c
}

// Proc identifies one process: its pid and its start time (field 22 of
// /proc/PID/stat, clock ticks since boot), which together cannot be reused.
type Proc struct {
	PID       int
	PPID      int
	StartTime uint64
	Comm      string
}

// Target is a resolved container or process.
type Target struct {
	// Spec is what the user typed.
	Spec string
	// ContainerID is the full container id; "" for a host process.
	ContainerID string
	// Runtime is the runtime the cgroup layout names ("" when unknown).
	Runtime string
	// CgroupV2 is the cgroup v2 path ("/" or "" when the process is only in
	// v1 cgroups); CgroupV1 maps v1 controller names to paths.
	CgroupV2 string
	CgroupV1 map[string]string
	// PID is the pid the user gave, or the container's init process (the
	// oldest process whose parent is outside the container).
	PID int
	// Procs are the processes of the container (or the one process), by pid.
	Procs []Proc
	cfg   Config
}

// IsContainer reports whether the target is a container.
func (t *Target) IsContainer() bool { return t.ContainerID != "" }

// Name returns a short description for messages: "container 0123456789ab"
// or "pid 42".
func (t *Target) Name() string {
	if t.IsContainer() {
		return "container " + short(t.ContainerID)
	}
	return "pid " + strconv.Itoa(t.PID)
}

// Init returns the Proc of t.PID.
func (t *Target) Init() Proc {
	for _, p := range t.Procs {
		if p.PID == t.PID {
			return p
		}
	}
	return Proc{PID: t.PID}
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Resolve finds spec: all digits is a pid; anything else is a container id,
// a unique id prefix (at least 3 characters) or a name known to the Docker
// or Podman API.
func Resolve(ctx context.Context, spec string, cfg Config) (*Target, error) {
	cfg = cfg.withDefaults()
	if spec == "" {
		return nil, fmt.Errorf("empty target")
	}
	if pid, err := strconv.Atoi(spec); err == nil {
		return resolvePID(spec, pid, cfg)
	}
	return resolveContainer(ctx, spec, cfg)
}

func resolvePID(spec string, pid int, cfg Config) (*Target, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("pid %d: %w", pid, ErrGone)
	}
	if pid == 1 {
		return nil, fmt.Errorf("pid 1 is the host's init: refusing")
	}
	p, err := ReadProc(cfg.ProcRoot, pid)
	if err != nil {
		return nil, err
	}
	t := &Target{Spec: spec, PID: pid, Procs: []Proc{p}, cfg: cfg}
	cg, err := readCgroups(cfg.ProcRoot, pid)
	if err != nil {
		return nil, err
	}
	t.CgroupV2, t.CgroupV1 = cg.v2, cg.v1
	if rt, id, ok := cg.container(); ok {
		t.ContainerID, t.Runtime = id, rt
	}
	return t, nil
}

func resolveContainer(ctx context.Context, spec string, cfg Config) (*Target, error) {
	all, err := scan(cfg.ProcRoot)
	if err != nil {
		return nil, err
	}
	id := ""
	if isHex(spec) && len(spec) >= 3 {
		for cid := range all {
			if strings.HasPrefix(cid, spec) {
				if id != "" && id != cid {
					return nil, fmt.Errorf("container %s: %w (%s, %s)", spec, ErrAmbiguous, short(id), short(cid))
				}
				id = cid
			}
		}
	}
	if id == "" {
		full, err := nameToID(ctx, spec, cfg.Sockets)
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", spec, err)
		}
		if _, ok := all[full]; !ok {
			return nil, fmt.Errorf("container %s (%s) has no running process: %w", spec, short(full), ErrGone)
		}
		id = full
	}
	g := all[id]
	t := &Target{Spec: spec, ContainerID: id, Runtime: g.runtime, CgroupV2: g.cg.v2, CgroupV1: g.cg.v1, Procs: g.procs, cfg: cfg}
	in := make(map[int]bool, len(g.procs))
	for _, p := range g.procs {
		in[p.PID] = true
	}
	var best *Proc
	for i := range g.procs {
		p := &g.procs[i]
		if in[p.PPID] {
			continue
		}
		if best == nil || p.StartTime < best.StartTime || (p.StartTime == best.StartTime && p.PID < best.PID) {
			best = p
		}
	}
	t.PID = best.PID
	return t, nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

type group struct {
	runtime string
	cg      cgroups
	procs   []Proc
}

// scan groups every process of the host by container id.
func scan(procRoot string) (map[string]*group, error) {
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", procRoot, err)
	}
	out := map[string]*group{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cg, err := readCgroups(procRoot, pid)
		if err != nil {
			continue // exited
		}
		rt, id, ok := cg.container()
		if !ok {
			continue
		}
		p, err := ReadProc(procRoot, pid)
		if err != nil {
			continue
		}
		g := out[id]
		if g == nil {
			g = &group{runtime: rt, cg: cg}
			out[id] = g
		}
		g.procs = append(g.procs, p)
	}
	for _, g := range out {
		sort.Slice(g.procs, func(i, j int) bool { return g.procs[i].PID < g.procs[j].PID })
	}
	return out, nil
}

// Refresh re-reads the container's processes (new ones appear, exited ones
// go). It returns ErrGone when none is left.
func (t *Target) Refresh() error {
	if !t.IsContainer() {
		p, err := ReadProc(t.cfg.ProcRoot, t.PID)
		if err != nil {
			return err
		}
		if p.StartTime != t.Procs[0].StartTime {
			return fmt.Errorf("pid %d: %w", t.PID, ErrReused)
		}
		return nil
	}
	all, err := scan(t.cfg.ProcRoot)
	if err != nil {
		return err
	}
	g, ok := all[t.ContainerID]
	if !ok {
		return fmt.Errorf("%s: %w", t.Name(), ErrGone)
	}
	t.Procs = g.procs
	return nil
}

// Check verifies that p still names the same process.
func Check(procRoot string, p Proc) error {
	if procRoot == "" {
		procRoot = "/proc"
	}
	q, err := ReadProc(procRoot, p.PID)
	if err != nil {
		return err
	}
	if q.StartTime != p.StartTime {
		return fmt.Errorf("pid %d started at %d, expected %d: %w", p.PID, q.StartTime, p.StartTime, ErrReused)
	}
	return nil
}

// ReadProc reads the pid's parent, start time and command name from
// /proc/PID/stat.
func ReadProc(procRoot string, pid int) (Proc, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, errSrch) {
			return Proc{}, fmt.Errorf("pid %d: %w", pid, ErrGone)
		}
		return Proc{}, fmt.Errorf("read pid %d: %w", pid, err)
	}
	return ParseStat(pid, b)
}

// ParseStat parses the content of /proc/PID/stat.
func ParseStat(pid int, b []byte) (Proc, error) {
	s := string(b)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return Proc{}, fmt.Errorf("pid %d: malformed stat", pid)
	}
	f := strings.Fields(s[closing+1:])
	// f[0] is field 3 (state); ppid is field 4, starttime field 22.
	if len(f) < 20 {
		return Proc{}, fmt.Errorf("pid %d: short stat", pid)
	}
	ppid, err1 := strconv.Atoi(f[1])
	st, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil {
		return Proc{}, fmt.Errorf("pid %d: malformed stat fields", pid)
	}
	return Proc{PID: pid, PPID: ppid, StartTime: st, Comm: s[open+1 : closing]}, nil
}

type cgroups struct {
	v2 string
	v1 map[string]string
}

// container applies the container package's rules: the v2 path first,
// then the v1 paths.
func (c cgroups) container() (runtime, id string, ok bool) {
	if c.v2 != "" {
		if rt, id, ok := container.ParseCgroupPath(c.v2); ok {
			return rt, id, true
		}
	}
	keys := make([]string, 0, len(c.v1))
	for k := range c.v1 {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.HasPrefix(c.v1[k], "/process_api/") {
			continue
		}
		if rt, id, ok := container.ParseCgroupPath(c.v1[k]); ok {
			return rt, id, true
		}
	}
	return "", "", false
}

func readCgroups(procRoot string, pid int) (cgroups, error) {
	f, err := os.Open(filepath.Join(procRoot, strconv.Itoa(pid), "cgroup"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return cgroups{}, fmt.Errorf("pid %d: %w", pid, ErrGone)
		}
		return cgroups{}, fmt.Errorf("read cgroups of pid %d: %w", pid, err)
	}
	defer f.Close()
	c := cgroups{v1: map[string]string{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			c.v2 = parts[2]
			continue
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			ctl = strings.TrimPrefix(ctl, "name=")
			c.v1[ctl] = parts[2]
		}
	}
	if err := sc.Err(); err != nil {
		return cgroups{}, fmt.Errorf("read cgroups of pid %d: %w", pid, err)
	}
	return c, nil
}

// V2Dir returns the container's cgroup v2 directory, "" when it has none
// of its own.
func (t *Target) V2Dir() string {
	if t.CgroupV2 == "" || t.CgroupV2 == "/" {
		return ""
	}
	return filepath.Join(t.cfg.CgroupRoot, t.CgroupV2)
}

// V1Dir returns the directory of the v1 controller ctl, "" when the
// target is not in one.
func (t *Target) V1Dir(ctl string) string {
	p, ok := t.CgroupV1[ctl]
	if !ok || p == "/" {
		return ""
	}
	return filepath.Join(t.cfg.V1Root, ctl, p)
}

// ProcRoot returns the procfs mount the target was read from.
func (t *Target) ProcRoot() string { return t.cfg.ProcRoot }

// nameToID asks the Docker-API sockets (Docker, Podman) for a container
// by name.
func nameToID(ctx context.Context, name string, sockets []container.Socket) (string, error) {
	var errs []error
	for _, s := range sockets {
		if s.Runtime != container.RuntimeDocker && s.Runtime != container.RuntimePodman {
			continue
		}
		if _, err := os.Stat(s.Path); err != nil {
			continue
		}
		var v struct{ ID string }
		err := DockerCall(ctx, s.Path, http.MethodGet, "/containers/"+url.PathEscape(name)+"/json", &v)
		if err == nil && len(v.ID) == 64 {
			return v.ID, nil
		}
		if err != nil && !errors.Is(err, container.ErrNotFound) {
			errs = append(errs, fmt.Errorf("%s: %w", s.Runtime, err))
		}
	}
	if len(errs) > 0 {
		return "", fmt.Errorf("%w (%w)", ErrGone, errors.Join(errs...))
	}
	return "", ErrGone
}

// DockerCall makes one Docker Engine API call (Podman serves the same API)
// over the unix socket and decodes the JSON answer into out when it is not
// nil. A 404 is container.ErrNotFound.
func DockerCall(ctx context.Context, socket, method, path string, out any) error {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://docker"+path, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s %s: %w", method, path, container.ErrNotFound)
	case resp.StatusCode >= 300:
		var m struct{ Message string }
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, m.Message)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode: %w", method, path, err)
	}
	return nil
}
