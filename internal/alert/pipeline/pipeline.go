// Package pipeline is the alert stage between the detector and the outputs:
// it aggregates repeats of an alert within a window into one follow-up
// alert carrying a count, rate-limits alerts per rule with token buckets,
// and never blocks the goroutine that raised the alert (a bounded queue in
// front of one worker; overflow is counted and reported).
//
// An alert goes through, in order:
//
//  1. the queue: Send enqueues or, when the queue is full, drops and counts
//     (stage "queue");
//  2. aggregation: the first alert of a group (same rule, container and
//     process for syscall alerts; same rule, user and target for audit
//     alerts) is passed on at once, repeats within Window are counted, and
//     when the window closes one follow-up alert carries the count in the
//     output field vigil.count (alert.CountField);
//  3. rate limiting: per rule, Burst alerts at once then Rate per second;
//     refused alerts are counted per rule (stage "rate_limit") and reported
//     by an internal alert at most once per ReportInterval. Repeats counted
//     by aggregation never reach the limiter; follow-ups bypass it so that
//     no count is lost.
//
// Internal alerts (source "internal") skip aggregation and rate limiting.
package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/metrics"
)

// Rule names of the pipeline's internal alerts.
const (
	// RateLimitedRule reports alerts refused by the per-rule rate limit.
	RateLimitedRule = "Vigil internal: alerts rate limited"
	// DroppedRule reports alerts dropped because the pipeline's queue was
	// full.
	DroppedRule = "Vigil internal: alerts dropped"
)

// InternalSource is the source of Vigil's own alerts; they skip
// aggregation and rate limiting.
const InternalSource = "internal"

// Defaults, also the defaults of vigil run's flags.
const (
	DefaultWindow         = 10 * time.Second
	DefaultMaxGroups      = 10000
	DefaultRate           = 100.0
	DefaultBurst          = 1000
	DefaultQueueSize      = 8192
	DefaultReportInterval = time.Minute
)

// Config configures a Pipeline. Use DefaultConfig and change what differs.
type Config struct {
	// Window is how long repeats of an alert are counted after the first
	// was sent; 0 disables aggregation.
	Window time.Duration
	// MaxGroups caps the groups open at once; an alert that would open one
	// more is sent unaggregated and counted. 0 means DefaultMaxGroups.
	MaxGroups int
	// Rate is the number of alerts per second each rule may send after its
	// burst; 0 disables rate limiting.
	Rate float64
	// Burst is how many alerts a rule may send at once. 0 means Rate
	// rounded up (at least 1).
	Burst int
	// QueueSize is how many alerts may wait for the worker; more are
	// dropped and counted. 0 means DefaultQueueSize.
	QueueSize int
	// ReportInterval is the least time between two internal alerts of one
	// kind (rate limited, dropped). 0 means DefaultReportInterval.
	ReportInterval time.Duration
	// Hostname is put in internal alerts.
	Hostname string
	// Logger receives the reports; nil discards them.
	Logger *slog.Logger
	// Metrics, when set, receives the pipeline's counters (see New).
	Metrics *metrics.Registry
	// Now is the clock; nil means time.Now. Tests inject one.
	Now func() time.Time
}

// DefaultConfig returns the defaults: 10 s aggregation window, 100 alerts/s
// per rule with a burst of 1000.
func DefaultConfig() Config {
	return Config{Window: DefaultWindow, MaxGroups: DefaultMaxGroups, Rate: DefaultRate, Burst: DefaultBurst,
		QueueSize: DefaultQueueSize, ReportInterval: DefaultReportInterval}
}

// Sender is where the pipeline passes alerts on; *alert.Fanout is one. Send
// must not block.
type Sender interface {
	Send(ctx context.Context, a *alert.Alert) error
}

// Stats are the pipeline's counters since New.
type Stats struct {
	Received    uint64 // alerts given to Send
	Dropped     uint64 // refused by Send: the queue was full
	RateLimited uint64 // refused by the per-rule rate limit
	Repeats     uint64 // counted into a group instead of being sent
	FollowUps   uint64 // follow-up alerts sent with a count
	Overflow    uint64 // sent unaggregated because MaxGroups groups were open
	Forwarded   uint64 // passed on, follow-ups and internal alerts included
	OpenGroups  int    // aggregation groups open now
	Queued      int    // alerts waiting now
}

// Pipeline aggregates and rate-limits alerts on their way to a Sender. Send
// is safe for concurrent use and never blocks.
type Pipeline struct {
	cfg  Config
	next Sender
	log  *slog.Logger

	mu     sync.RWMutex // guards closed against Send on a closed queue
	closed bool
	queue  chan *alert.Alert
	done   chan struct{}

	// Owned by the worker goroutine.
	agg        *aggregator
	lim        *limiter
	lastRate   time.Time // last rate-limited report
	lastDrop   time.Time // last dropped report
	dropSeen   uint64    // Dropped at the last dropped report
	reportRule []ruleCount

	received, dropped, rateLimited, repeats, followUps, overflow, forwarded atomic.Uint64
	openGroups                                                              atomic.Int64

	mDropQueue, mDropRate, mRepeats, mOverflow prometheus.Counter
	mRateLimited                               *prometheus.CounterVec
}

type ruleCount struct {
	rule string
	n    uint64
}

// New validates cfg, registers the metrics when cfg.Metrics is set, and
// starts the worker. The metrics are vigil_alerts_dropped_total{stage}
// (stage "queue" or "rate_limit"), vigil_alerts_rate_limited_total{rule},
// vigil_alerts_aggregated_total (repeats counted into a follow-up),
// vigil_alerts_aggregation_overflow_total, and the gauges
// vigil_alerts_aggregation_groups and vigil_alerts_pipeline_queue_length.
func New(cfg Config, next Sender) (*Pipeline, error) {
	p, err := newPipeline(cfg, next)
	if err != nil {
		return nil, err
	}
	go p.run()
	return p, nil
}

// newPipeline is New without starting the worker; tests drive process and
// tick themselves.
func newPipeline(cfg Config, next Sender) (*Pipeline, error) {
	switch {
	case next == nil:
		return nil, errors.New("alert pipeline: nil sender")
	case cfg.Window < 0:
		return nil, fmt.Errorf("alert pipeline: negative aggregation window %s", cfg.Window)
	case cfg.MaxGroups < 0:
		return nil, fmt.Errorf("alert pipeline: negative max groups %d", cfg.MaxGroups)
	case cfg.Rate < 0 || cfg.Rate != cfg.Rate:
		return nil, fmt.Errorf("alert pipeline: rate %v: want a number >= 0", cfg.Rate)
	case cfg.Burst < 0:
		return nil, fmt.Errorf("alert pipeline: negative burst %d", cfg.Burst)
	case cfg.QueueSize < 0:
		return nil, fmt.Errorf("alert pipeline: negative queue size %d", cfg.QueueSize)
	case cfg.ReportInterval < 0:
		return nil, fmt.Errorf("alert pipeline: negative report interval %s", cfg.ReportInterval)
	}
	if cfg.MaxGroups == 0 {
		cfg.MaxGroups = DefaultMaxGroups
	}
	if cfg.Burst == 0 {
		cfg.Burst = max(1, int(cfg.Rate+0.999999))
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.ReportInterval == 0 {
		cfg.ReportInterval = DefaultReportInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pipeline{
		cfg:   cfg,
		next:  next,
		log:   log.With("component", "alert-pipeline"),
		queue: make(chan *alert.Alert, cfg.QueueSize),
		done:  make(chan struct{}),
	}
	if cfg.Window > 0 {
		p.agg = newAggregator(cfg.Window, cfg.MaxGroups)
	}
	if err := p.registerMetrics(cfg.Metrics); err != nil {
		return nil, err
	}
	var newMetric func(string) prometheus.Counter
	if p.mRateLimited != nil {
		newMetric = func(rule string) prometheus.Counter { return p.mRateLimited.WithLabelValues(rule) }
	}
	p.lim = newLimiter(cfg.Rate, cfg.Burst, newMetric)
	return p, nil
}

func (p *Pipeline) registerMetrics(reg *metrics.Registry) error {
	if reg == nil {
		return nil
	}
	dropped, err := reg.NewCounterVec("alerts_dropped_total",
		"Alerts the alert pipeline did not pass on, by stage: queue (its queue was full) or rate_limit (the rule's rate limit).", "stage")
	if err != nil {
		return err
	}
	p.mDropQueue, p.mDropRate = dropped.WithLabelValues("queue"), dropped.WithLabelValues("rate_limit")
	if p.mRateLimited, err = reg.NewCounterVec("alerts_rate_limited_total", "Alerts refused by the per-rule rate limit, by rule.", "rule"); err != nil {
		return err
	}
	if p.mRepeats, err = reg.NewCounter("alerts_aggregated_total", "Repeats of an alert counted into an aggregated follow-up alert instead of being sent."); err != nil {
		return err
	}
	if p.mOverflow, err = reg.NewCounter("alerts_aggregation_overflow_total", "Alerts sent unaggregated because the most aggregation groups were open."); err != nil {
		return err
	}
	if err := reg.NewGaugeFunc("alerts_aggregation_groups", "Aggregation groups open.", func() float64 { return float64(p.openGroups.Load()) }); err != nil {
		return err
	}
	return reg.NewGaugeFunc("alerts_pipeline_queue_length", "Alerts waiting in the alert pipeline's queue.", func() float64 { return float64(len(p.queue)) })
}

// Send queues a and returns at once; when the queue is full a is dropped
// and counted. The alert must not be modified after Send. It returns
// alert.ErrClosed after Close has begun.
func (p *Pipeline) Send(_ context.Context, a *alert.Alert) error {
	if a == nil {
		return errors.New("send alert: nil alert")
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return alert.ErrClosed
	}
	p.received.Add(1)
	select {
	case p.queue <- a:
	default:
		p.dropped.Add(1)
		if p.mDropQueue != nil {
			p.mDropQueue.Inc()
		}
	}
	return nil
}

// tickEvery is how often the worker closes windows and reports: a tenth of
// the window, between 10 ms and 1 s.
func (p *Pipeline) tickEvery() time.Duration {
	return min(max(p.cfg.Window/10, 10*time.Millisecond), time.Second)
}

func (p *Pipeline) run() {
	defer close(p.done)
	t := time.NewTicker(p.tickEvery())
	defer t.Stop()
	for {
		select {
		case a, ok := <-p.queue:
			if !ok {
				now := p.cfg.Now()
				if p.agg != nil {
					p.agg.expire(now, true, p.forwardFollowUp)
					p.openGroups.Store(0)
				}
				p.report(now, true)
				return
			}
			p.process(a, p.cfg.Now())
		case <-t.C:
			p.tick(p.cfg.Now())
		}
	}
}

// process runs a through aggregation and rate limiting at now.
func (p *Pipeline) process(a *alert.Alert, now time.Time) {
	if a.Source == InternalSource {
		p.forward(a)
		return
	}
	if p.agg == nil {
		if p.allow(a.Rule, now) {
			p.forward(a)
		}
		return
	}
	v, k, h := p.agg.add(a)
	switch v {
	case counted:
		p.repeats.Add(1)
		if p.mRepeats != nil {
			p.mRepeats.Inc()
		}
	case sendAsOver:
		p.overflow.Add(1)
		if p.mOverflow != nil {
			p.mOverflow.Inc()
		}
		if p.allow(a.Rule, now) {
			p.forward(a)
		}
	case sendNew:
		// A rate-limited alert opens no group: its repeats meet the
		// limiter too, until one is let through.
		if p.allow(a.Rule, now) {
			p.agg.open(k, h, now)
			p.openGroups.Store(int64(p.agg.n))
			p.forward(a)
		}
	}
}

func (p *Pipeline) allow(rule string, now time.Time) bool {
	if p.lim.allow(rule, now) {
		return true
	}
	p.rateLimited.Add(1)
	if p.mDropRate != nil {
		p.mDropRate.Inc()
	}
	return false
}

func (p *Pipeline) forward(a *alert.Alert) {
	p.forwarded.Add(1)
	// The fanout never blocks; it counts its own drops.
	_ = p.next.Send(context.Background(), a)
}

func (p *Pipeline) forwardFollowUp(a *alert.Alert) {
	p.followUps.Add(1)
	p.forward(a)
}

// tick closes the windows that ended by now and sends the reports due.
func (p *Pipeline) tick(now time.Time) {
	if p.agg != nil {
		p.agg.expire(now, false, p.forwardFollowUp)
		p.openGroups.Store(int64(p.agg.n))
	}
	p.report(now, false)
}

// report sends the internal alerts about rate-limited and dropped alerts
// when some were refused since the last report and the last one of that
// kind is at least ReportInterval old (final: regardless of age).
func (p *Pipeline) report(now time.Time, final bool) {
	due := func(last time.Time) bool { return final || last.IsZero() || now.Sub(last) >= p.cfg.ReportInterval }
	if due(p.lastRate) {
		p.reportRule = p.reportRule[:0]
		var total uint64
		for rule, b := range p.lim.buckets {
			if b.pending > 0 {
				p.reportRule = append(p.reportRule, ruleCount{rule, b.pending})
				total += b.pending
				b.pending = 0
			}
		}
		if total > 0 {
			p.lastRate = now
			p.sendRateReport(now, total)
		}
	}
	if d := p.dropped.Load(); d > p.dropSeen && due(p.lastDrop) {
		n := d - p.dropSeen
		p.dropSeen, p.lastDrop = d, now
		p.log.Warn("alert pipeline queue full, alerts dropped", "dropped", n, "dropped_total", d, "queue_size", cap(p.queue))
		p.forward(&alert.Alert{
			Time: now.UTC(), Rule: DroppedRule, Priority: "Critical", Source: InternalSource,
			Output: fmt.Sprintf("Vigil internal: alerts dropped. %d alerts dropped since the last report (%d since start): the alert pipeline's queue of %d was full",
				n, d, cap(p.queue)),
			OutputFields: map[string]any{"vigil.dropped": n, "vigil.dropped_total": d, "vigil.stage": "queue"},
			Tags:         []string{"vigil", "internal"},
			Hostname:     p.cfg.Hostname,
		})
	}
}

// maxReportRules is how many rules a rate-limited report names.
const maxReportRules = 10

func (p *Pipeline) sendRateReport(now time.Time, total uint64) {
	rc := p.reportRule
	slices.SortFunc(rc, func(a, b ruleCount) int {
		return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.rule, b.rule))
	})
	var b strings.Builder
	for i, r := range rc {
		if i == maxReportRules {
			fmt.Fprintf(&b, ", and %d more rules", len(rc)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %d", r.rule, r.n)
	}
	p.log.Warn("alerts rate limited", "rate_limited", total, "rules", b.String(),
		"rate", p.cfg.Rate, "burst", p.cfg.Burst)
	p.forward(&alert.Alert{
		Time: now.UTC(), Rule: RateLimitedRule, Priority: "Warning", Source: InternalSource,
		Output: fmt.Sprintf("Vigil internal: alerts rate limited. %d alerts over the limit of %g/s (burst %d) per rule since the last report (%s)",
			total, p.cfg.Rate, p.cfg.Burst, b.String()),
		OutputFields: map[string]any{"vigil.rate_limited": total, "vigil.rate_limited_rules": b.String(), "vigil.stage": "rate_limit"},
		Tags:         []string{"vigil", "internal"},
		Hostname:     p.cfg.Hostname,
	})
}

// Stats returns the pipeline's counters.
func (p *Pipeline) Stats() Stats {
	return Stats{
		Received:    p.received.Load(),
		Dropped:     p.dropped.Load(),
		RateLimited: p.rateLimited.Load(),
		Repeats:     p.repeats.Load(),
		FollowUps:   p.followUps.Load(),
		Overflow:    p.overflow.Load(),
		Forwarded:   p.forwarded.Load(),
		OpenGroups:  int(p.openGroups.Load()),
		Queued:      len(p.queue),
	}
}

// Close stops accepting alerts, processes those queued, sends the
// follow-up of every open group and a last report, and returns. It does
// not close the Sender. If ctx ends first it returns ctx's error; the
// worker still finishes in the background. Calling Close again returns
// alert.ErrClosed.
func (p *Pipeline) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return alert.ErrClosed
	}
	p.closed = true
	close(p.queue)
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drain alert pipeline: %d alerts pending: %w", len(p.queue), ctx.Err())
	}
}
