package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/metrics"
)

type discard struct{}

func (discard) Send(context.Context, *alert.Alert) error { return nil }

// BenchmarkAggregateRepeat is the hot path of an alert storm: a repeat of
// an open group is counted without allocating.
func BenchmarkAggregateRepeat(b *testing.B) {
	for _, src := range []struct {
		name string
		a    *alert.Alert
	}{
		{"syscall", sysAlert("Terminal shell in container", "0123456789ab", "/usr/bin/bash", "bash -c 'cat /etc/shadow'")},
		{"k8s_audit", auditAlert("Service Account Read Secrets", "system:serviceaccount:ns:sa", "secrets", "ns", "db-credentials")},
	} {
		b.Run(src.name, func(b *testing.B) {
			p, err := newPipeline(Config{Window: time.Hour, Rate: DefaultRate, Burst: DefaultBurst, Metrics: metrics.New()}, discard{})
			if err != nil {
				b.Fatal(err)
			}
			// Other open groups, so the map is not trivially small.
			for i := range 1000 {
				p.process(sysAlert("Other", "c", "/bin/x", string(rune('a'+i%26))+string(rune('a'+i/26))), t0)
			}
			p.process(src.a, t0)
			b.ReportAllocs()
			for b.Loop() {
				p.process(src.a, t0)
			}
		})
	}
}

// BenchmarkRateLimit: the per-rule token bucket, letting through and
// refusing (with the metric).
func BenchmarkRateLimit(b *testing.B) {
	p, err := newPipeline(Config{Rate: 1e9, Burst: 1e9, Metrics: metrics.New()}, discard{})
	if err != nil {
		b.Fatal(err)
	}
	a := sysAlert("R", "c", "/x", "x")
	b.Run("allowed", func(b *testing.B) {
		now := t0
		b.ReportAllocs()
		for b.Loop() {
			now = now.Add(time.Microsecond)
			p.allow(a.Rule, now)
		}
	})
	p.lim.rate, p.lim.burst = 1, 1
	b.Run("limited", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.allow(a.Rule, t0)
		}
	})
}

// BenchmarkSend: the caller's cost, enqueueing for the worker.
func BenchmarkSend(b *testing.B) {
	p, err := New(Config{Window: time.Hour, QueueSize: 1 << 16}, discard{})
	if err != nil {
		b.Fatal(err)
	}
	a := sysAlert("R", "c", "/x", "x")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Send(ctx, a)
	}
	b.StopTimer()
	_ = p.Close(ctx)
}
