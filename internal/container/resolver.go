package container

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Socket is one runtime endpoint the resolver asks for metadata.
type Socket struct {
	Runtime string // RuntimeDocker, RuntimePodman, RuntimeContainerd or RuntimeCRIO
	Path    string // unix socket path
}

// DefaultSockets returns the usual socket of every supported runtime.
func DefaultSockets() []Socket {
	return []Socket{
		{RuntimeContainerd, "/run/containerd/containerd.sock"},
		{RuntimeDocker, "/var/run/docker.sock"},
		{RuntimePodman, "/run/podman/podman.sock"},
		{RuntimeCRIO, "/var/run/crio/crio.sock"},
	}
}

// Config configures a Resolver; zero fields take the documented defaults.
type Config struct {
	CgroupRoot string   // cgroup v2 mount; DefaultCgroupRoot
	ProcRoot   string   // procfs mount; DefaultProcRoot
	Sockets    []Socket // runtimes to ask; DefaultSockets() when nil, none when empty non-nil

	Workers      int           // concurrent metadata fetches; 4
	QueueSize    int           // pending fetches before new ones wait for the sweep; 1024
	CallTimeout  time.Duration // per runtime call; 2s
	Retries      int           // attempts per fetch round; 5
	RetryBackoff time.Duration // first retry delay, doubled each attempt; 250ms
	RetryAfter   time.Duration // next fetch round after a failed one; 1m
	MinRescan    time.Duration // minimum interval between cgroup tree walks; 1s
	SweepEvery   time.Duration // expiry of gone cgroups, re-fetch of incomplete containers; 10s

	// OnUpdate, when set, is called from a worker goroutine each time a
	// container's metadata arrives (or changes). It must not block long.
	OnUpdate func(*Info)
	Logger   *slog.Logger
}

func (c *Config) setDefaults() {
	if c.CgroupRoot == "" {
		c.CgroupRoot = DefaultCgroupRoot
	}
	if c.ProcRoot == "" {
		c.ProcRoot = DefaultProcRoot
	}
	if c.Sockets == nil {
		c.Sockets = DefaultSockets()
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 1024
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 2 * time.Second
	}
	if c.Retries <= 0 {
		c.Retries = 5
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 250 * time.Millisecond
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = time.Minute
	}
	if c.MinRescan <= 0 {
		c.MinRescan = time.Second
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// entry is what the resolver knows of one cgroup id.
type entry struct {
	info        atomic.Pointer[Info] // nil for the host (or not yet resolved)
	path        string               // cgroup path; "" while unresolved
	containerID string
	created     time.Time
}

// cstate is the fetch state of one container, guarded by Resolver.mu.
type cstate struct {
	runtime  string
	meta     *Info // last metadata fetched, nil until then
	inflight bool
	nextTry  time.Time
}

type job struct {
	id, runtime string
	attempt     int
}

// Stats counts what the resolver did; read it with Resolver.Stats.
type Stats struct {
	Misses      uint64            // Lookups of an unknown cgroup id
	Unresolved  uint64            // cgroup ids no path was found for at once
	Rescans     uint64            // walks of the cgroup tree
	Fetches     uint64            // metadata fetched
	FetchErrors map[string]uint64 // failed calls, by runtime
	NotFound    uint64            // fetch rounds no runtime knew the container in
	QueueFull   uint64            // fetches deferred to the sweep
	Expired     uint64            // cgroup entries dropped because the cgroup is gone
	Entries     int               // cgroup ids cached
}

// Resolver maps the (cgroup id, pid) of events to containers. Lookup never
// blocks on a runtime: metadata is fetched in the background by Run's
// workers and published by replacing the entry's *Info.
type Resolver struct {
	cfg      Config
	index    *CgroupIndex
	fetchers []fetcher

	entries atomic.Pointer[map[uint64]*entry] // copy-on-write, replaced under mu
	mu      sync.Mutex
	conts   map[string]*cstate

	jobs   chan job
	rescan chan struct{}

	misses, unresolved, rescans, fetches, notFound, queueFull, expired atomic.Uint64

	errMu   sync.Mutex
	errs    map[string]uint64
	lastLog map[string]time.Time
}

// NewResolver returns a resolver; call Run to start its workers.
func NewResolver(cfg Config) (*Resolver, error) {
	cfg.setDefaults()
	r := &Resolver{
		cfg:     cfg,
		index:   NewCgroupIndex(cfg.CgroupRoot, cfg.MinRescan),
		conts:   map[string]*cstate{},
		jobs:    make(chan job, cfg.QueueSize),
		rescan:  make(chan struct{}, 1),
		errs:    map[string]uint64{},
		lastLog: map[string]time.Time{},
	}
	m := map[uint64]*entry{}
	r.entries.Store(&m)
	for _, s := range cfg.Sockets {
		f, err := newFetcher(s)
		if err != nil {
			return nil, err
		}
		r.fetchers = append(r.fetchers, f)
	}
	return r, nil
}

func newFetcher(s Socket) (fetcher, error) {
	switch s.Runtime {
	case RuntimeDocker, RuntimePodman:
		return newDockerAPI(s.Runtime, s.Path), nil
	case RuntimeContainerd:
		return newContainerdAPI(s.Path), nil
	case RuntimeCRIO:
		return newCRIAPI(RuntimeCRIO, s.Path), nil
	}
	return nil, fmt.Errorf("container runtime socket %s: unknown runtime %q", s.Path, s.Runtime)
}

// Lookup returns the container of an event's task: nil for host processes,
// else the container's Info — at first only ID, Runtime and CgroupPath
// (Complete false), with the runtime's metadata once it has arrived. It
// never waits for a runtime; the first event of a new cgroup reads
// /proc/PID/cgroup and stats one directory. The Info must not be modified.
func (r *Resolver) Lookup(cgroupID uint64, pid int64) *Info {
	if e := (*r.entries.Load())[cgroupID]; e != nil {
		return e.info.Load()
	}
	if cgroupID == 0 {
		return nil
	}
	return r.miss(cgroupID, pid)
}

func (r *Resolver) miss(cgroupID uint64, pid int64) *Info {
	r.misses.Add(1)
	path, ok := r.index.cached(cgroupID)
	if !ok && pid > 0 {
		path, ok = r.pathFromPID(cgroupID, int(pid))
	}
	if !ok {
		r.unresolved.Add(1)
		r.mu.Lock()
		if e := (*r.entries.Load())[cgroupID]; e != nil {
			r.mu.Unlock()
			return e.info.Load()
		}
		r.storeLocked(cgroupID, &entry{created: time.Now()})
		r.mu.Unlock()
		r.kickRescan()
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := (*r.entries.Load())[cgroupID]; e != nil && e.path != "" {
		return e.info.Load()
	}
	return r.resolveLocked(cgroupID, path)
}

// pathFromPID finds the v2 cgroup path of pid and checks it is cgroupID.
func (r *Resolver) pathFromPID(cgroupID uint64, pid int) (string, bool) {
	pc, err := fromPID(r.cfg.ProcRoot, pid)
	if err != nil || pc.V2Path == "" {
		return "", false
	}
	id, err := CgroupID(r.cfg.CgroupRoot + pc.V2Path)
	if err != nil || id != cgroupID {
		return "", false
	}
	r.index.remember(cgroupID, pc.V2Path)
	return pc.V2Path, true
}

// resolveLocked records the path of cgroupID and returns its Info,
// starting a metadata fetch for a new container.
func (r *Resolver) resolveLocked(cgroupID uint64, path string) *Info {
	e := &entry{path: path, created: time.Now()}
	rt, id, ok := ParseCgroupPath(path)
	if ok {
		e.containerID = id
		cs := r.conts[id]
		if cs == nil {
			cs = &cstate{runtime: rt}
			r.conts[id] = cs
		}
		var info *Info
		if cs.meta != nil {
			c := *cs.meta
			c.CgroupPath = path
			info = &c
		} else {
			info = &Info{ID: id, Runtime: rt, CgroupPath: path}
			r.enqueueLocked(id, cs)
		}
		e.info.Store(info)
	}
	r.storeLocked(cgroupID, e)
	return e.info.Load()
}

// storeLocked publishes a new entries map with e added.
func (r *Resolver) storeLocked(cgroupID uint64, e *entry) {
	old := *r.entries.Load()
	m := make(map[uint64]*entry, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[cgroupID] = e
	r.entries.Store(&m)
}

func (r *Resolver) enqueueLocked(id string, cs *cstate) {
	if cs.inflight {
		return
	}
	select {
	case r.jobs <- job{id: id, runtime: cs.runtime}:
		cs.inflight = true
	default:
		r.queueFull.Add(1) // the sweep tries again
	}
}

func (r *Resolver) kickRescan() {
	select {
	case r.rescan <- struct{}{}:
	default:
	}
}

// Run starts the fetch workers, the rescanner and the sweeper, and returns
// when ctx is cancelled and they have stopped.
func (r *Resolver) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range r.cfg.Workers {
		wg.Go(func() { r.worker(ctx) })
	}
	wg.Go(func() { r.rescanner(ctx) })
	wg.Go(func() { r.sweeper(ctx) })
	wg.Wait()
	for _, f := range r.fetchers {
		_ = f.close()
	}
	return nil
}

func (r *Resolver) worker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-r.jobs:
			r.runJob(ctx, j)
		}
	}
}

func (r *Resolver) runJob(ctx context.Context, j job) {
	meta, err := r.fetch(ctx, j)
	if err == nil {
		r.publish(j.id, meta)
		return
	}
	if ctx.Err() != nil {
		return
	}
	j.attempt++
	if j.attempt < r.cfg.Retries {
		delay := r.cfg.RetryBackoff << (j.attempt - 1)
		time.AfterFunc(delay, func() {
			select {
			case r.jobs <- j:
			case <-ctx.Done():
			default:
				r.queueFull.Add(1)
				r.giveUp(j.id)
			}
		})
		return
	}
	if errors.Is(err, ErrNotFound) {
		r.notFound.Add(1)
	}
	r.giveUp(j.id)
}

// giveUp ends a fetch round; the sweep starts another after RetryAfter.
func (r *Resolver) giveUp(id string) {
	r.mu.Lock()
	if cs := r.conts[id]; cs != nil {
		cs.inflight = false
		cs.nextTry = time.Now().Add(r.cfg.RetryAfter)
	}
	r.mu.Unlock()
}

// fetch asks the runtimes for a container: those of its runtime first, then
// the others (a bare id under /kubepods names no runtime; a custom cgroup
// parent can mislead).
func (r *Resolver) fetch(ctx context.Context, j job) (*Info, error) {
	var lastErr error = ErrNotFound
	for pass := range 2 {
		for _, f := range r.fetchers {
			if (f.runtime() == j.runtime) != (pass == 0) {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, r.cfg.CallTimeout)
			meta, err := f.fetch(cctx, j.id)
			cancel()
			if err == nil {
				r.fetches.Add(1)
				return meta, nil
			}
			if errors.Is(err, ErrNotFound) {
				continue
			}
			lastErr = err
			r.fetchError(f.runtime(), j.id, err)
		}
	}
	return nil, lastErr
}

// fetchError counts a failed call and logs it at most once a minute per
// runtime.
func (r *Resolver) fetchError(runtime, id string, err error) {
	r.errMu.Lock()
	r.errs[runtime]++
	n := r.errs[runtime]
	now := time.Now()
	log := now.Sub(r.lastLog[runtime]) >= time.Minute
	if log {
		r.lastLog[runtime] = now
	}
	r.errMu.Unlock()
	if log {
		r.cfg.Logger.Warn("container metadata fetch failed", "component", "container",
			"runtime", runtime, "container_id", id, "errors_total", n, "err", err)
	}
}

// publish installs fetched metadata in every cgroup entry of the container.
func (r *Resolver) publish(id string, meta *Info) {
	finishInfo(meta)
	r.mu.Lock()
	cs := r.conts[id]
	if cs == nil {
		// Expired while fetching.
		r.mu.Unlock()
		return
	}
	cs.inflight = false
	cs.meta = meta
	for _, e := range *r.entries.Load() {
		if e.containerID != id {
			continue
		}
		c := *meta
		c.CgroupPath = e.path
		e.info.Store(&c)
		if meta.CgroupPath == "" {
			meta.CgroupPath = e.path
		}
	}
	r.mu.Unlock()
	if r.cfg.OnUpdate != nil {
		r.cfg.OnUpdate(meta)
	}
}

// finishInfo applies what every runtime shares: the Kubernetes container
// name and pod from the CRI labels, and the image reference's parts.
func finishInfo(meta *Info) {
	meta.Complete = true
	if n := meta.Labels[labelContainerName]; n != "" {
		meta.Name = n
	}
	if meta.Pod == nil {
		meta.Pod = podFromLabels(meta.Labels)
	}
	if meta.ImageRepo == "" && meta.Image != "" {
		var digest string
		meta.ImageRepo, meta.ImageTag, digest = splitImageRef(meta.Image)
		if meta.ImageDigest == "" {
			meta.ImageDigest = digest
		}
	}
}

func (r *Resolver) rescanner(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.rescan:
		}
		if err := r.index.Rescan(); err != nil {
			r.cfg.Logger.Warn("cgroup rescan failed", "component", "container", "err", err)
		}
		r.rescans.Add(1)
		r.mu.Lock()
		for cgID, e := range *r.entries.Load() {
			if e.path != "" {
				continue
			}
			if p, ok := r.index.cached(cgID); ok {
				r.resolveLocked(cgID, p)
			}
		}
		r.mu.Unlock()
		// Rate limit: at most one walk per MinRescan.
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.cfg.MinRescan):
		}
	}
}

func (r *Resolver) sweeper(ctx context.Context) {
	t := time.NewTicker(r.cfg.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Sweep()
		}
	}
}

// Sweep drops the entries of cgroups that are gone (and of containers left
// with none), forgets cgroup ids no path was found for so the next event
// retries them, and restarts due metadata fetches. Run calls it every
// SweepEvery.
func (r *Resolver) Sweep() {
	// Stat outside the lock: entries only leave the map under it, below.
	var gone []uint64
	now := time.Now()
	for cgID, e := range *r.entries.Load() {
		if e.path == "" {
			if now.Sub(e.created) >= r.cfg.SweepEvery {
				gone = append(gone, cgID)
			}
			continue
		}
		if _, err := os.Stat(r.cfg.CgroupRoot + e.path); errors.Is(err, fs.ErrNotExist) {
			gone = append(gone, cgID)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(gone) > 0 {
		old := *r.entries.Load()
		m := make(map[uint64]*entry, len(old))
		for k, v := range old {
			m[k] = v
		}
		for _, cgID := range gone {
			if m[cgID].path != "" {
				r.expired.Add(1)
			}
			delete(m, cgID)
			r.index.forget(cgID)
		}
		r.entries.Store(&m)
		live := map[string]bool{}
		for _, e := range m {
			if e.containerID != "" {
				live[e.containerID] = true
			}
		}
		for id := range r.conts {
			if !live[id] {
				delete(r.conts, id)
			}
		}
	}
	for id, cs := range r.conts {
		if cs.meta == nil && !cs.inflight && !now.Before(cs.nextTry) {
			r.enqueueLocked(id, cs)
		}
	}
}

// Containers returns the containers currently cached, sorted by id: the
// latest Info of each (Complete false when metadata is still missing).
func (r *Resolver) Containers() []*Info {
	seen := map[string]*Info{}
	for _, e := range *r.entries.Load() {
		if i := e.info.Load(); i != nil {
			if prev := seen[i.ID]; prev == nil || (!prev.Complete && i.Complete) {
				seen[i.ID] = i
			}
		}
	}
	out := make([]*Info, 0, len(seen))
	for _, i := range seen {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

// Stats returns the resolver's counters.
func (r *Resolver) Stats() Stats {
	s := Stats{
		Misses:      r.misses.Load(),
		Unresolved:  r.unresolved.Load(),
		Rescans:     r.rescans.Load(),
		Fetches:     r.fetches.Load(),
		NotFound:    r.notFound.Load(),
		QueueFull:   r.queueFull.Load(),
		Expired:     r.expired.Load(),
		Entries:     len(*r.entries.Load()),
		FetchErrors: map[string]uint64{},
	}
	r.errMu.Lock()
	for k, v := range r.errs {
		s.FetchErrors[k] = v
	}
	r.errMu.Unlock()
	return s
}
