package cli

import (
	"github.com/spf13/pflag"

	"github.com/vigilsec/vigil/internal/app"
	"github.com/vigilsec/vigil/internal/config"
)

// addAlertFlags adds the flags of the alert pipeline and the store
// retention, with vigil run's defaults, to fs.
func addAlertFlags(fs *pflag.FlagSet, a *app.AlertOptions) {
	*a = app.DefaultAlertOptions()
	fs.DurationVar(&a.AggregateWindow, "aggregate-window", a.AggregateWindow,
		"repeats of an alert (same rule, container and process; audit: same rule, user and target) within this window become one follow-up alert with vigil.count (0 sends every alert)")
	fs.Float64Var(&a.RateLimit, "rate-limit", a.RateLimit, "alerts per second each rule may send after its burst; the excess is counted and reported (0: no limit)")
	fs.IntVar(&a.RateBurst, "rate-burst", a.RateBurst, "alerts each rule may send at once before --rate-limit applies")
	fs.DurationVar(&a.RetentionAge, "retention-age", a.RetentionAge, "delete stored alerts older than this, at start and every 10 minutes (0: keep)")
	fs.IntVar(&a.RetentionMaxAlerts, "retention-max-alerts", a.RetentionMaxAlerts, "keep at most this many stored alerts, deleting the oldest (0: no limit)")
}

// applyAlertsConfig sets the options of the alerts section of c whose flag
// was not given on the command line.
func applyAlertsConfig(fs *pflag.FlagSet, c *config.Config, a *app.AlertOptions) {
	for _, k := range []struct {
		key, flag string
		set       func()
	}{
		{"alerts.aggregate_window", "aggregate-window", func() { a.AggregateWindow = c.Alerts.AggregateWindow }},
		{"alerts.aggregate_max_groups", "", func() { a.AggregateMaxGroups = c.Alerts.AggregateMaxGroups }},
		{"alerts.rate_limit", "rate-limit", func() { a.RateLimit = c.Alerts.RateLimit }},
		{"alerts.rate_burst", "rate-burst", func() { a.RateBurst = c.Alerts.RateBurst }},
		{"alerts.queue_size", "", func() { a.QueueSize = c.Alerts.QueueSize }},
		{"alerts.retention_age", "retention-age", func() { a.RetentionAge = c.Alerts.RetentionAge }},
		{"alerts.retention_max_alerts", "retention-max-alerts", func() { a.RetentionMaxAlerts = c.Alerts.RetentionMaxAlerts }},
	} {
		if c.Has(k.key) && (k.flag == "" || !fs.Changed(k.flag)) {
			k.set()
		}
	}
}
