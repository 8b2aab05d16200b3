package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/respond"
	"github.com/vigilsec/vigil/internal/store"
)

// Defaults of Config.
const (
	DefaultQueueSize = 256
	DefaultWorkers   = 2
)

// Config configures an Engine.
type Config struct {
	// Policies are tried in order; every matching policy runs.
	Policies []Policy
	// Exclude lists what no policy ever touches.
	Exclude Exclude
	// QueueSize bounds the alerts waiting for their actions; beyond it
	// alerts are dropped and counted (detection is never blocked).
	QueueSize int
	// Workers run actions in parallel (one alert's actions run in order).
	Workers int
	Logger  *slog.Logger
	// Now is the clock of the rate limits; time.Now by default.
	Now func() time.Time
	// OnResult, when set, is called after each action (measurements,
	// tests). It runs on a worker and must be quick.
	OnResult func(a *alert.Alert, policy string, r Result)
}

// Timeline records a policy's actions in the timeline of an alert.
type Timeline interface {
	// Add appends entries to the timeline of the stored alert a.
	Add(ctx context.Context, a *alert.Alert, entries []store.TimelineEntry) error
}

// Stats are an Engine's counters.
type Stats struct {
	Matched     uint64 // alerts × policies queued
	Dropped     uint64 // lost to a full queue
	RateLimited uint64 // not run: the policy's rate limit
	Excluded    uint64 // not run: on the allow-list
	Skipped     uint64 // not run: host process, no target, already running
	Actions     uint64 // actions run (dry runs included)
	Failed      uint64 // actions that failed
	DryRun      uint64 // actions only described
	Recorded    uint64 // timeline entries written
	RecordErrs  uint64 // timeline writes that failed
}

type job struct {
	a *alert.Alert
	p *Policy
}

// Engine runs the policies on alerts. It is an alert.Sink (give it to the
// fanout with Accept as the output's filter): Send only queues.
type Engine struct {
	cfg  Config
	ctx  context.Context
	exec *Executor
	tl   Timeline
	log  *slog.Logger

	queue   chan job
	wg      sync.WaitGroup // workers
	rec     sync.WaitGroup // timeline writers
	mu      sync.Mutex     // closed, buckets, running, lastLog
	closed  bool
	buckets map[string]*bucket
	running map[string]bool
	lastLog map[string]time.Time

	matched, dropped, rateLimited, excluded, skipped, actionsRun, failed, dryRun, recorded, recordErrs atomic.Uint64
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New compiles the policies and starts the workers; they stop when ctx
// ends or Close is called. tl may be nil (no store: results are logged).
func New(ctx context.Context, cfg Config, exec *Executor, tl Timeline) (*Engine, error) {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if exec == nil {
		return nil, errors.New("response policies: no executor")
	}
	seen := map[string]bool{}
	ps := make([]Policy, len(cfg.Policies))
	for i := range cfg.Policies {
		p := cfg.Policies[i]
		if err := p.Compile(); err != nil {
			return nil, err
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("policy %s: duplicate name", p.Name)
		}
		seen[p.Name] = true
		ps[i] = p
	}
	cfg.Policies = ps
	e := &Engine{cfg: cfg, ctx: ctx, exec: exec, tl: tl, log: cfg.Logger.With("component", "policy"),
		queue: make(chan job, cfg.QueueSize), buckets: map[string]*bucket{}, running: map[string]bool{},
		lastLog: map[string]time.Time{}}
	for range cfg.Workers {
		e.wg.Add(1)
		go e.work()
	}
	return e, nil
}

// Accept reports whether any policy matches a; it is fast and does not
// allocate, for the fanout output's Accept.
func (e *Engine) Accept(a *alert.Alert) bool {
	for i := range e.cfg.Policies {
		if e.cfg.Policies[i].Match(a) {
			return true
		}
	}
	return false
}

// Send queues a for every matching policy without blocking; a full queue
// drops it (counted, logged).
func (e *Engine) Send(_ context.Context, a *alert.Alert) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return alert.ErrClosed
	}
	for i := range e.cfg.Policies {
		p := &e.cfg.Policies[i]
		if !p.Match(a) {
			continue
		}
		select {
		case e.queue <- job{a: a, p: p}:
			e.matched.Add(1)
		default:
			n := e.dropped.Add(1)
			if e.logOK("queue") {
				e.log.Warn("response queue full: alert not acted upon", "policy", p.Name, "rule", a.Rule,
					"dropped_total", n, "queue_size", cap(e.queue))
			}
		}
	}
	return nil
}

// logOK rate-limits a log record per key to one per 10 s; e.mu is held.
func (e *Engine) logOK(key string) bool {
	now := time.Now()
	if t, ok := e.lastLog[key]; ok && now.Sub(t) < 10*time.Second {
		return false
	}
	e.lastLog[key] = now
	return true
}

// Close stops accepting alerts, lets the workers finish what is queued
// and waits for the timeline writes.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	close(e.queue)
	e.mu.Unlock()
	e.wg.Wait()
	e.rec.Wait()
	st := e.Stats()
	e.log.Info("response policies stopped", "matched", st.Matched, "actions", st.Actions, "failed", st.Failed,
		"rate_limited", st.RateLimited, "dropped", st.Dropped, "excluded", st.Excluded, "skipped", st.Skipped)
	return nil
}

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	return Stats{Matched: e.matched.Load(), Dropped: e.dropped.Load(), RateLimited: e.rateLimited.Load(),
		Excluded: e.excluded.Load(), Skipped: e.skipped.Load(), Actions: e.actionsRun.Load(), Failed: e.failed.Load(),
		DryRun: e.dryRun.Load(), Recorded: e.recorded.Load(), RecordErrs: e.recordErrs.Load()}
}

func (e *Engine) work() {
	defer e.wg.Done()
	for j := range e.queue {
		if e.ctx.Err() != nil {
			e.skipped.Add(1) // shutting down
			continue
		}
		e.run(j)
	}
}

// take consumes n tokens of p's bucket; false when the rate limit is hit.
func (e *Engine) take(p *Policy, n int) bool {
	if p.MaxActionsPerMinute == 0 {
		return true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.cfg.Now()
	b := e.buckets[p.Name]
	if b == nil {
		b = &bucket{tokens: float64(p.MaxActionsPerMinute), last: now}
		e.buckets[p.Name] = b
	}
	max := float64(p.MaxActionsPerMinute)
	b.tokens += now.Sub(b.last).Minutes() * max
	if b.tokens > max {
		b.tokens = max
	}
	b.last = now
	if b.tokens < float64(n) {
		return false
	}
	b.tokens -= float64(n)
	return true
}

// key names the target of a plan, to run one plan per policy and target
// at a time.
func key(p *Policy, s *Subject) string {
	if s.ContainerID != "" {
		return p.Name + "\x00c" + s.ContainerID
	}
	return p.Name + "\x00p" + strconv.FormatInt(s.PID, 10)
}

func (e *Engine) run(j job) {
	p, a := j.p, j.a
	s := SubjectOf(a)
	actor := "policy:" + p.Name
	var entries []store.TimelineEntry
	add := func(r Result) {
		entries = append(entries, store.TimelineEntry{Time: r.Done, Kind: store.KindAction, Actor: actor, Text: r.Text()})
		if e.cfg.OnResult != nil {
			e.cfg.OnResult(a, p.Name, r)
		}
	}
	skip := func(counter *atomic.Uint64, why string) {
		counter.Add(1)
		now := time.Now()
		add(Result{Action: "policy " + p.Name, Status: StatusSkipped, Detail: why, Start: now, Done: now})
		e.log.Info("response policy not run", "policy", p.Name, "rule", a.Rule, "reason", why)
	}
	defer func() { e.record(a, entries) }()
	switch why := e.cfg.Exclude.excluded(&s); {
	case why != "":
		skip(&e.excluded, why+" is on the response allow-list (never touched)")
		return
	case s.ContainerID == "" && s.PID <= 0:
		skip(&e.skipped, "the alert has no container or process")
		return
	case s.Host() && !p.Host:
		skip(&e.skipped, "host process: policies act on containers only (host: true allows kill-process, block-exec and capture)")
		return
	}
	k := key(p, &s)
	e.mu.Lock()
	busy := e.running[k]
	if !busy {
		e.running[k] = true
	}
	e.mu.Unlock()
	if busy {
		skip(&e.skipped, "the policy is already acting on this target")
		return
	}
	defer func() {
		e.mu.Lock()
		delete(e.running, k)
		e.mu.Unlock()
	}()
	if !e.take(p, len(p.Actions)) {
		n := e.rateLimited.Add(1)
		why := fmt.Sprintf("rate limit of %d actions per minute reached", p.MaxActionsPerMinute)
		now := time.Now()
		add(Result{Action: "policy " + p.Name, Status: StatusSkipped, Detail: why, Start: now, Done: now})
		e.mu.Lock()
		ok := e.logOK("rate:" + p.Name)
		e.mu.Unlock()
		if ok {
			e.log.Warn("response policy rate limited", "policy", p.Name, "rule", a.Rule, "rate_limited_total", n)
		}
		return
	}
	for i, st := range p.Actions {
		req := Request{Alert: a, Subject: s, Step: st, Actor: actor, DryRun: p.DryRun}
		if st.Action == ActionCapture && s.ContainerID != "" {
			for _, later := range p.Actions[i+1:] {
				if actions[later.Action].container && actions[later.Action].contain {
					req.FreezeFirst = true
				}
				if later.Action == respond.ActionPause {
					req.KeepFrozen = true
				}
			}
		}
		r := e.exec.Execute(e.ctx, req)
		switch r.Status {
		case StatusDryRun:
			e.dryRun.Add(1)
			e.actionsRun.Add(1)
			e.log.Info("response policy dry run", "policy", p.Name, "rule", a.Rule, "action", r.Action, "detail", r.Detail)
		case StatusFailed:
			e.failed.Add(1)
			e.actionsRun.Add(1)
		case StatusOK:
			e.actionsRun.Add(1)
		case StatusSkipped:
			e.skipped.Add(1)
		}
		add(r)
	}
}

// record writes the entries to the alert's timeline, off the worker.
func (e *Engine) record(a *alert.Alert, entries []store.TimelineEntry) {
	if len(entries) == 0 || e.tl == nil {
		return
	}
	e.rec.Add(1)
	go func() {
		defer e.rec.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), 30*time.Second)
		defer cancel()
		if err := e.tl.Add(ctx, a, entries); err != nil {
			e.recordErrs.Add(1)
			e.log.Error("record response actions in the alert timeline", "rule", a.Rule, "entries", len(entries), "err", err)
			return
		}
		e.recorded.Add(uint64(len(entries)))
	}()
}
