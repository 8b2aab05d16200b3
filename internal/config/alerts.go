package config

import (
	"math"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// Alerts is the alerts section of vigil.yaml: the alert pipeline
// (aggregation, rate limiting, queue) and the retention of the store.
// Which keys were given is told by Has("alerts.<key>").
type Alerts struct {
	// AggregateWindow is how long repeats of an alert are counted into
	// one follow-up alert; 0 disables aggregation.
	AggregateWindow time.Duration
	// AggregateMaxGroups caps the aggregation groups open at once.
	AggregateMaxGroups int
	// RateLimit is the alerts per second each rule may send after its
	// burst; 0 disables rate limiting.
	RateLimit float64
	// RateBurst is how many alerts a rule may send at once.
	RateBurst int
	// QueueSize is how many alerts may wait in the pipeline's queue.
	QueueSize int
	// RetentionAge deletes stored alerts older than this; 0 keeps them.
	RetentionAge time.Duration
	// RetentionMaxAlerts deletes the oldest stored alerts beyond this
	// many; 0 keeps them all.
	RetentionMaxAlerts int
}

// alertsKeys lists the keys of the alerts section, for messages.
const alertsKeys = "aggregate_window, aggregate_max_groups, rate_limit, rate_burst, queue_size, retention_age, retention_max_alerts"

// alerts decodes the alerts section.
func (d *decoder) alerts(n *yaml.Node, c *Config) {
	d.mapping(n, "alerts", func(key string, k, v *yaml.Node) {
		what := "alerts." + key
		switch key {
		case "aggregate_window":
			c.Alerts.AggregateWindow = d.duration(v, what)
		case "aggregate_max_groups":
			c.Alerts.AggregateMaxGroups = d.positive(v, what)
		case "rate_limit":
			c.Alerts.RateLimit = d.rate(v, what)
		case "rate_burst":
			c.Alerts.RateBurst = d.positive(v, what)
		case "queue_size":
			c.Alerts.QueueSize = d.positive(v, what)
		case "retention_age":
			c.Alerts.RetentionAge = d.duration(v, what)
		case "retention_max_alerts":
			c.Alerts.RetentionMaxAlerts = d.integer(v, what)
		default:
			d.unknown(k, "alerts", alertsKeys)
			return
		}
		c.set[what] = true
	})
}

// positive decodes an integer of at least 1.
func (d *decoder) positive(n *yaml.Node, what string) int {
	before := len(d.problems)
	v := d.integer(n, what)
	if v == 0 && len(d.problems) == before {
		d.errorf(n, "%s: must be at least 1, got 0", what)
	}
	return v
}

// rate decodes a number of alerts per second, >= 0.
func (d *decoder) rate(n *yaml.Node, what string) float64 {
	s, ok := d.scalar(n, what)
	if !ok {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || (n.Tag != "!!int" && n.Tag != "!!float") || math.IsInf(v, 0) || math.IsNaN(v) {
		d.errorf(n, "%s: want a number of alerts per second such as 100 or 0.5, got %q", what, s)
		return 0
	}
	if v < 0 {
		d.errorf(n, "%s: must not be negative, got %s", what, s)
		return 0
	}
	return v
}
