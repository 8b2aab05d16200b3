// Package metrics is Vigil's Prometheus registry: the alert, output and
// event counters every `vigil run` exports at GET /metrics, and an API
// for other packages (the sensor, the store) to register their own
// counters and gauges on the same registry.
package metrics

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every Vigil metric name.
const Namespace = "vigil"

// Registry holds Vigil's metrics. Create it with New; it is safe for
// concurrent use.
type Registry struct {
	reg    *prometheus.Registry
	alerts *prometheus.CounterVec
	events *prometheus.CounterVec

	mu      sync.Mutex
	sources map[string]prometheus.Counter
}

// New returns a registry with the Go runtime and process collectors and
// Vigil's counters vigil_alerts_total{rule,priority} and
// vigil_events_total{source}.
func New() *Registry {
	r := &Registry{
		reg: prometheus.NewRegistry(),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "alerts_total",
			Help: "Alerts raised, by rule and priority.",
		}, []string{"rule", "priority"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "events_total",
			Help: "Events evaluated against the rules, by source.",
		}, []string{"source"}),
		sources: map[string]prometheus.Counter{},
	}
	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		r.alerts, r.events,
	)
	return r
}

// Handler serves the metrics in the Prometheus text (or OpenMetrics)
// format, for GET /metrics.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{Registry: r.reg})
}

// Gatherer returns the underlying registry, for tests and for pushing.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Alert counts one alert of rule at priority.
func (r *Registry) Alert(rule, priority string) {
	r.alerts.WithLabelValues(rule, priority).Inc()
}

// Events returns the counter of events of source (e.g. "k8s_audit",
// "syscall"), to keep and Add to without a label lookup per event.
func (r *Registry) Events(source string) prometheus.Counter {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.sources[source]
	if !ok {
		c = r.events.WithLabelValues(source)
		r.sources[source] = c
	}
	return c
}

// Register adds c to the registry; an error names the conflict (a metric
// of the same name already registered, invalid names...).
func (r *Registry) Register(c prometheus.Collector) error {
	if err := r.reg.Register(c); err != nil {
		return fmt.Errorf("register metric: %w", err)
	}
	return nil
}

// Unregister removes c, reporting whether it was registered.
func (r *Registry) Unregister(c prometheus.Collector) bool { return r.reg.Unregister(c) }

// NewCounter registers and returns a counter named vigil_<name>, e.g.
// NewCounter("sensor_drops_total", "...").
func (r *Registry) NewCounter(name, help string) (prometheus.Counter, error) {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help})
	return c, r.Register(c)
}

// NewCounterVec registers and returns a counter vector named
// vigil_<name> with the given labels.
func (r *Registry) NewCounterVec(name, help string, labels ...string) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	return c, r.Register(c)
}

// NewGauge registers and returns a gauge named vigil_<name>.
func (r *Registry) NewGauge(name, help string) (prometheus.Gauge, error) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help})
	return g, r.Register(g)
}

// NewGaugeVec registers and returns a gauge vector named vigil_<name>.
func (r *Registry) NewGaugeVec(name, help string, labels ...string) (*prometheus.GaugeVec, error) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	return g, r.Register(g)
}

// NewCounterFunc registers a counter named vigil_<name> whose value is
// read from fn at each scrape, for counters kept elsewhere as atomics
// (e.g. a ring buffer's lost samples). fn must be safe for concurrent
// use.
func (r *Registry) NewCounterFunc(name, help string, fn func() float64) error {
	return r.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, fn))
}

// NewGaugeFunc registers a gauge named vigil_<name> read from fn at each
// scrape.
func (r *Registry) NewGaugeFunc(name, help string, fn func() float64) error {
	return r.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, fn))
}
