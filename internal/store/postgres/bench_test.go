package postgres

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/store/storetest"
)

var benchRows = flag.Int("store.rows", 1_000_000, "rows in the database BenchmarkList builds")

// BenchmarkInsertBatch inserts batches of realistic alerts (COPY, one
// transaction and one commit per batch, synchronous_commit on).
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
// batches of 5,000, spread over 22 namespaces), after ANALYZE.
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
	if _, err := s.pool.Exec(ctx, `VACUUM ANALYZE alert`); err != nil {
		b.Fatal(err)
	}
	for _, bc := range storetest.BenchmarkFilters(*benchRows) {
		b.Run(bc.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := s.List(ctx, bc.Filter)
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
