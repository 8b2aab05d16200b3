package app

import (
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/event"
	"github.com/vigilsec/vigil/internal/rules"
)

// Detector evaluates events against a ruleset and turns matches into
// alerts. It is safe for concurrent use: each goroutine borrows its own
// evaluator.
type Detector struct {
	rs       *rules.Ruleset
	hostname string
	pool     sync.Pool

	events atomic.Uint64
	alerts atomic.Uint64
}

// NewDetector returns a Detector over rs; alerts carry hostname (the
// machine's name when empty).
func NewDetector(rs *rules.Ruleset, hostname string) *Detector {
	if hostname == "" {
		hostname, _ = os.Hostname()
	}
	d := &Detector{rs: rs, hostname: hostname}
	d.pool.New = func() any { return rs.NewEvaluator() }
	return d
}

// Detect evaluates ev and calls emit with an alert for each matching rule.
// It returns the number of alerts.
func (d *Detector) Detect(ev event.Event, emit func(*alert.Alert)) int {
	d.events.Add(1)
	evl := d.pool.Get().(*rules.Evaluator)
	defer d.pool.Put(evl)
	matched := evl.Match(ev)
	for _, r := range matched {
		out, fields := evl.Render(r, ev)
		emit(&alert.Alert{
			Time:         time.Unix(0, ev.Timestamp()).UTC(),
			Rule:         r.Name,
			Priority:     r.Priority.String(),
			Source:       r.Source,
			Output:       out,
			OutputFields: fields,
			Tags:         r.Tags,
			Hostname:     d.hostname,
		})
	}
	d.alerts.Add(uint64(len(matched)))
	return len(matched)
}

// Counts returns how many events were evaluated and alerts raised.
func (d *Detector) Counts() (events, alerts uint64) { return d.events.Load(), d.alerts.Load() }
