package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/alert/pipeline"
	"github.com/vigilsec/vigil/internal/metrics"
	"github.com/vigilsec/vigil/internal/store"
)

// AlertOptions configures the alert pipeline (aggregation, rate limiting)
// and the retention of the store. The zero value turns every one off;
// DefaultAlertOptions gives vigil run's defaults.
type AlertOptions struct {
	// AggregateWindow: repeats within it become one follow-up alert with
	// a count; 0 disables aggregation.
	AggregateWindow time.Duration
	// AggregateMaxGroups caps the open aggregation groups (0: default).
	AggregateMaxGroups int
	// RateLimit is alerts per second per rule after RateBurst; 0 disables
	// rate limiting.
	RateLimit float64
	RateBurst int
	// QueueSize is the pipeline's queue (0: default).
	QueueSize int
	// RetentionAge and RetentionMaxAlerts bound the store; 0 disables
	// either.
	RetentionAge       time.Duration
	RetentionMaxAlerts int
}

// DefaultAlertOptions returns vigil run's defaults: 10 s aggregation
// window, 100 alerts/s per rule with a burst of 1000, alerts kept 30 days
// and at most 1,000,000.
func DefaultAlertOptions() AlertOptions {
	return AlertOptions{
		AggregateWindow:    pipeline.DefaultWindow,
		AggregateMaxGroups: pipeline.DefaultMaxGroups,
		RateLimit:          pipeline.DefaultRate,
		RateBurst:          pipeline.DefaultBurst,
		QueueSize:          pipeline.DefaultQueueSize,
		RetentionAge:       store.DefaultRetentionAge,
		RetentionMaxAlerts: store.DefaultRetentionMaxAlerts,
	}
}

// alertSender is what the sources send alerts to: the pipeline.
type alertSender interface {
	Send(ctx context.Context, a *alert.Alert) error
}

// startPipeline starts the alert pipeline in front of fan.
func startPipeline(o AlertOptions, fan *alert.Fanout, reg *metrics.Registry, hostname string, log *slog.Logger) (*pipeline.Pipeline, error) {
	p, err := pipeline.New(pipeline.Config{
		Window: o.AggregateWindow, MaxGroups: o.AggregateMaxGroups,
		Rate: o.RateLimit, Burst: o.RateBurst, QueueSize: o.QueueSize,
		Hostname: hostname, Logger: log, Metrics: reg,
	}, fan)
	if err != nil {
		return nil, err
	}
	log.Info("alert pipeline", "component", "run", "aggregate_window", o.AggregateWindow,
		"rate_limit", o.RateLimit, "rate_burst", o.RateBurst)
	return p, nil
}

// startRetention prunes the store by age and size in the background (at
// once, then every 10 minutes) until stop is called, and exports the store's counters:
// vigil_store_alerts_inserted_total, vigil_store_alerts_failed_total
// (alerts lost to a failed insert: full disk, database error),
// vigil_store_insert_errors_total, vigil_store_alerts_pruned_total and
// vigil_store_prune_errors_total.
func startRetention(ctx context.Context, o AlertOptions, db store.Pruner, sink *store.Sink, reg *metrics.Registry, log *slog.Logger) (stop func(), err error) {
	ret, err := store.NewRetention(db, store.RetentionConfig{MaxAge: o.RetentionAge, MaxAlerts: o.RetentionMaxAlerts, Logger: log})
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		name, help string
		fn         func() float64
	}{
		{"store_alerts_inserted_total", "Alerts written to the store.", func() float64 { return float64(sink.Stats().Inserted) }},
		{"store_alerts_failed_total", "Alerts lost because their batch could not be written to the store (full disk, database error).", func() float64 { return float64(sink.Stats().Failed) }},
		{"store_insert_errors_total", "Batches the store failed to write.", func() float64 { return float64(sink.Stats().FailedBatches) }},
		{"store_alerts_pruned_total", "Alerts deleted by the retention (--retention-age, --retention-max-alerts).", func() float64 { return float64(ret.Stats().Deleted) }},
		{"store_prune_errors_total", "Retention prunes that failed.", func() float64 { return float64(ret.Stats().Errors) }},
	} {
		if err := reg.NewCounterFunc(c.name, c.help, c.fn); err != nil {
			return nil, err
		}
	}
	log.Info("store retention", "component", "store", "max_age", o.RetentionAge, "max_alerts", o.RetentionMaxAlerts, "every", store.DefaultPruneEvery)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ret.Run(ctx)
	}()
	return func() { cancel(); <-done }, nil
}

// closePipeline passes on what the pipeline holds (queued alerts, the
// follow-ups of open groups) and logs its counters.
func closePipeline(ctx context.Context, p *pipeline.Pipeline, log *slog.Logger) {
	if err := p.Close(ctx); err != nil {
		log.Error("close alert pipeline", "component", "run", "err", err)
	}
	st := p.Stats()
	log.Info("alert pipeline stopped", "component", "run", "received", st.Received, "forwarded", st.Forwarded,
		"aggregated", st.Repeats, "follow_ups", st.FollowUps, "rate_limited", st.RateLimited, "dropped", st.Dropped,
		"aggregation_overflow", st.Overflow)
}
