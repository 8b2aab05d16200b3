package capture

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/vigilsec/vigil/internal/event"
	"github.com/vigilsec/vigil/internal/k8saudit"
	"github.com/vigilsec/vigil/internal/proctree"
	"github.com/vigilsec/vigil/internal/rules"
	"github.com/vigilsec/vigil/internal/sensor"
	"github.com/vigilsec/vigil/internal/sysevent"
	"github.com/vigilsec/vigil/ruleset"
)

// BenchmarkPipelineOpenat drives the whole user-space hot path with real
// kernel records: a child process opens, reads and closes a file b.N
// times while this process reads the ring buffer, builds each event
// (process table, fd, container) and evaluates Vigil's default ruleset on
// it. It reports this process's CPU time and heap allocations per event.
func BenchmarkPipelineOpenat(b *testing.B) {
	requireKernel(b)
	rs, diags := rules.Load(ruleset.Files(), rules.Options{Sources: []event.Source{sysevent.Source{}, k8saudit.NewSource()}})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	evl := rs.NewEvaluator()
	table, err := proctree.New(proctree.Config{})
	if err != nil {
		b.Fatal(err)
	}
	c, err := New(b.Context(), Config{Sensor: sensor.Config{Syscalls: Select(rs).Syscalls}, Table: table})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := table.Seed(b.Context()); err != nil {
		b.Fatal(err)
	}
	var events, matches int
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, func(ev *sysevent.Event) {
			events++
			matches += len(evl.Match(ev))
		})
	}()
	// Warm up the table and buffers before measuring.
	time.Sleep(200 * time.Millisecond)

	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	rec0 := c.Stats().Events
	b.ResetTimer()
	cmd := exec.Command("/bin/sh", "-c", fmt.Sprintf("i=0; while [ $i -lt %d ]; do read l < /etc/hostname; i=$((i+1)); done", b.N))
	if err := cmd.Run(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	// Let the reader drain what is pending.
	for prev := uint64(0); ; {
		time.Sleep(100 * time.Millisecond)
		n := c.Stats().Events
		if n == prev {
			break
		}
		prev = n
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	runtime.ReadMemStats(&ms1)
	n := c.Stats().Events - rec0
	cancel()
	<-done
	if n < uint64(b.N) {
		b.Fatalf("saw %d events for %d opens (drops %d)", n, b.N, c.Sensor().Stats().Drops)
	}
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/event")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(n), "allocs/event")
	b.ReportMetric(float64(n), "events")
	_ = os.Getpid()
}
