package pipeline

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// bucket is the token bucket of one rule.
type bucket struct {
	tokens  float64
	last    time.Time
	limited uint64 // alerts refused since start
	pending uint64 // alerts refused since the last report
	metric  prometheus.Counter
}

// limiter rate-limits alerts per rule with token buckets: each rule may
// send burst alerts at once and rate alerts per second after that. It is
// used by one goroutine.
type limiter struct {
	rate    float64 // tokens per second; 0 means no limit
	burst   float64
	buckets map[string]*bucket
	// newMetric returns the counter of a rule's refused alerts, or nil.
	newMetric func(rule string) prometheus.Counter
}

func newLimiter(rate float64, burst int, newMetric func(string) prometheus.Counter) *limiter {
	return &limiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}, newMetric: newMetric}
}

// allow takes a token of rule's bucket at now, reporting whether there
// was one. Only the first alert of a rule allocates (its bucket).
func (l *limiter) allow(rule string, now time.Time) bool {
	if l.rate <= 0 {
		return true
	}
	b := l.buckets[rule]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		if l.newMetric != nil {
			b.metric = l.newMetric(rule)
		}
		l.buckets[rule] = b
	}
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens += dt.Seconds() * l.rate
		if b.tokens > l.burst {
			b.tokens = l.burst
		}
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	b.limited++
	b.pending++
	if b.metric != nil {
		b.metric.Inc()
	}
	return false
}
