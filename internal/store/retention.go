package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Defaults of the retention of vigil run (--retention-age,
// --retention-max-alerts) and how often it is applied.
const (
	DefaultRetentionAge       = 30 * 24 * time.Hour
	DefaultRetentionMaxAlerts = 1_000_000
	DefaultPruneEvery         = 10 * time.Minute
)

// Pruner is what Retention needs of a Store.
type Pruner interface {
	Prune(ctx context.Context, olderThan time.Time, maxRows int) (deleted int, err error)
}

// RetentionConfig configures a Retention. Zero MaxAge and MaxAlerts keep
// alerts forever by that measure.
type RetentionConfig struct {
	// MaxAge deletes alerts whose time is older than now - MaxAge.
	MaxAge time.Duration
	// MaxAlerts deletes the oldest alerts beyond this many.
	MaxAlerts int
	// Every is the time between two prunes; 0 means DefaultPruneEvery.
	Every time.Duration
	// Logger receives a record per prune that deleted something or failed.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// RetentionStats are the counters of a Retention.
type RetentionStats struct {
	Runs    uint64 // prunes done, failed ones included
	Deleted uint64 // alerts deleted
	Errors  uint64 // prunes that failed
}

// Retention applies an age and a size limit to a store in the background.
type Retention struct {
	p   Pruner
	cfg RetentionConfig
	log *slog.Logger

	runs, deleted, errors atomic.Uint64
}

// NewRetention returns the retention of p; it does nothing until Run or
// PruneOnce.
func NewRetention(p Pruner, cfg RetentionConfig) (*Retention, error) {
	switch {
	case cfg.MaxAge < 0:
		return nil, fmt.Errorf("retention: negative age %s", cfg.MaxAge)
	case cfg.MaxAlerts < 0:
		return nil, fmt.Errorf("retention: negative max alerts %d", cfg.MaxAlerts)
	case cfg.Every < 0:
		return nil, fmt.Errorf("retention: negative interval %s", cfg.Every)
	}
	if cfg.Every == 0 {
		cfg.Every = DefaultPruneEvery
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Retention{p: p, cfg: cfg, log: log.With("component", "store")}, nil
}

// Enabled reports whether any limit is set.
func (r *Retention) Enabled() bool { return r.cfg.MaxAge > 0 || r.cfg.MaxAlerts > 0 }

// PruneOnce deletes the alerts beyond the limits now, logging and counting
// the outcome. Rows deleted before an error are counted too.
func (r *Retention) PruneOnce(ctx context.Context) (int, error) {
	if !r.Enabled() {
		return 0, nil
	}
	var olderThan time.Time
	if r.cfg.MaxAge > 0 {
		olderThan = r.cfg.Now().Add(-r.cfg.MaxAge)
	}
	start := time.Now()
	n, err := r.p.Prune(ctx, olderThan, r.cfg.MaxAlerts)
	r.runs.Add(1)
	r.deleted.Add(uint64(max(n, 0)))
	if err != nil && ctx.Err() != nil {
		return n, ctx.Err() // shutting down: not a store failure
	}
	if err != nil {
		r.errors.Add(1)
		r.log.Error("prune alerts", "deleted", n, "max_age", r.cfg.MaxAge, "max_alerts", r.cfg.MaxAlerts, "err", err)
		return n, fmt.Errorf("retention: %w", err)
	}
	if n > 0 {
		r.log.Info("pruned alerts", "deleted", n, "max_age", r.cfg.MaxAge, "max_alerts", r.cfg.MaxAlerts,
			"took", time.Since(start).Round(time.Millisecond))
	}
	return n, nil
}

// Run prunes at once, then every cfg.Every until ctx ends. Errors are
// logged and counted; the next prune tries again.
func (r *Retention) Run(ctx context.Context) {
	if !r.Enabled() {
		return
	}
	t := time.NewTicker(r.cfg.Every)
	defer t.Stop()
	for {
		_, _ = r.PruneOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stats returns the counters; it is safe for concurrent use.
func (r *Retention) Stats() RetentionStats {
	return RetentionStats{Runs: r.runs.Load(), Deleted: r.deleted.Load(), Errors: r.errors.Load()}
}
