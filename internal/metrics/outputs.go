package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// OutputStats are the counters of one alert output at a scrape.
type OutputStats struct {
	Name     string
	Sent     uint64 // delivered
	Failed   uint64 // delivery failed after the retries
	Dropped  uint64 // never delivered: queue full or shutdown
	Filtered uint64 // below the output's minimum priority
	Retries  uint64 // deliveries tried again
	Queued   int    // waiting now
}

// outputCollector exports OutputStats read at each scrape.
type outputCollector struct {
	stats                                            func() []OutputStats
	sent, failed, dropped, filtered, retries, queued *prometheus.Desc
}

// RegisterOutputs exports the counters returned by stats (called at each
// scrape, so it must be safe for concurrent use) as
// vigil_output_sent_total, vigil_output_failed_total,
// vigil_output_dropped_total, vigil_output_filtered_total,
// vigil_output_retries_total and the gauge vigil_output_queue_length,
// each labelled by output.
func (r *Registry) RegisterOutputs(stats func() []OutputStats) error {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "output", name), help, []string{"output"}, nil)
	}
	return r.Register(&outputCollector{
		stats:    stats,
		sent:     d("sent_total", "Alerts delivered by each output."),
		failed:   d("failed_total", "Alerts an output failed to deliver after its retries."),
		dropped:  d("dropped_total", "Alerts never handed to an output: its queue was full, or shutdown gave up."),
		filtered: d("filtered_total", "Alerts below an output's minimum priority."),
		retries:  d("retries_total", "Deliveries an output tried again after a failure."),
		queued:   d("queue_length", "Alerts waiting in an output's queue."),
	})
}

// Describe implements prometheus.Collector.
func (c *outputCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.sent, c.failed, c.dropped, c.filtered, c.retries, c.queued} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *outputCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.stats() {
		ch <- prometheus.MustNewConstMetric(c.sent, prometheus.CounterValue, float64(s.Sent), s.Name)
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(s.Failed), s.Name)
		ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(s.Dropped), s.Name)
		ch <- prometheus.MustNewConstMetric(c.filtered, prometheus.CounterValue, float64(s.Filtered), s.Name)
		ch <- prometheus.MustNewConstMetric(c.retries, prometheus.CounterValue, float64(s.Retries), s.Name)
		ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(s.Queued), s.Name)
	}
}
