package sqlite

import (
	"context"
	"flag"
	"fmt"
	"github.com/vigilsec/vigil/internal/store/storetest"
	"testing"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/store"
)

var benchRows = flag.Int("store.rows", 1_000_000, "rows in the database BenchmarkList builds")

func BenchmarkInsertBatch(b *testing.B) {
	for _, size := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s, _ := openTemp(b)
			ctx := context.Background()
			batch := make([]*alert.Alert, size)
			for i := range batch {
				batch[i] = storetest.RealisticAlert(i)
			}
			b.ReportAllocs()
			start := time.Now()
			n := 0
			for b.Loop() {
				if err := s.Insert(ctx, batch); err != nil {
					b.Fatal(err)
				}
				n += size
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "alerts/s")
		})
	}
}

// BenchmarkList lists the newest page of *benchRows alerts (built once, in
// batches of 5,000, spread over 22 namespaces).
func BenchmarkList(b *testing.B) {
	s, _ := openTemp(b)
	ctx := context.Background()
	const batchSize = 5000
	batch := make([]*alert.Alert, batchSize)
	start := time.Now()
	for done := 0; done < *benchRows; done += batchSize {
		for i := range batch {
			batch[i] = storetest.RealisticAlert(done + i)
		}
		if err := s.Insert(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("built %d rows in %s", *benchRows, time.Since(start).Round(time.Millisecond))
	for _, bc := range []struct {
		name string
		f    store.Filter
	}{
		{"newest100", store.Filter{Limit: 100}},
		{"newest100/namespace", store.Filter{Limit: 100, Namespace: "team-07"}},
		{"newest100/namespace+minprio", store.Filter{Limit: 100, Namespace: "team-07", MinPriority: "Error"}},
		{"newest100/rule", store.Filter{Limit: 100, Rules: []string{"Write below etc"}}},
		{"newest100/two_rules", store.Filter{Limit: 100, Rules: []string{"Write below etc", "Terminal shell in container"}}},
		{"newest100/open_or_acknowledged", store.Filter{Limit: 100, Statuses: []store.Status{store.StatusOpen, store.StatusAcknowledged}}},
		{"newest100/text", store.Filter{Limit: 100, Text: "app-976 "}},
		{"page_at_half", store.Filter{Limit: 100, After: &store.Cursor{Time: t0.Add(time.Duration(*benchRows/2) * time.Millisecond), ID: int64(*benchRows / 2)}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := s.List(ctx, bc.f)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Alerts) != 100 {
					b.Fatalf("got %d alerts", len(p.Alerts))
				}
			}
		})
	}
}
