package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/store/sqlite"
)

// BenchmarkAPIListNewest100 lists the newest 100 alerts through the HTTP
// API (real server, real SQLite store) holding VIGIL_BENCH_API_ALERTS
// alerts (default 10,000; the target is measured at 1,000,000).
func BenchmarkAPIListNewest100(b *testing.B) {
	n := 10000
	if v := os.Getenv("VIGIL_BENCH_API_ALERTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("VIGIL_BENCH_API_ALERTS=%q: %v", v, err)
		}
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "vigil.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]*alert.Alert, 0, 5000)
	for i := 0; i < n; i++ {
		batch = append(batch, &alert.Alert{Time: t0.Add(time.Duration(i) * time.Millisecond), Rule: fmt.Sprintf("rule %d", i%50),
			Priority: "Warning", Source: "syscall", Output: fmt.Sprintf("shell spawned in container (pid=%d)", i), Hostname: "node1",
			Tags: []string{"container", "T1609"}, OutputFields: map[string]any{"proc.pid": int64(i), "container.id": "abc123def456", "k8s.ns.name": "prod"}})
		if len(batch) == cap(batch) || i == n-1 {
			if err := db.Insert(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	srv, err := New(Config{API: &APIConfig{Store: db}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	b.ReportAllocs()
	for b.Loop() {
		res, err := http.Get(ts.URL + "/api/v1/alerts?limit=100")
		if err != nil {
			b.Fatal(err)
		}
		var buf [32 << 10]byte
		for {
			if _, err := res.Body.Read(buf[:]); err != nil {
				break
			}
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
}
