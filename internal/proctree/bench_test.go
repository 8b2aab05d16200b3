package proctree

import (
	"context"
	"testing"
	"time"

	"github.com/vigilsec/vigil/internal/sysevent"
)

// BenchmarkSeed seeds a fresh table from this machine's /proc.
func BenchmarkSeed(b *testing.B) {
	b.ReportAllocs()
	procs := 0
	for b.Loop() {
		tbl := newTable(b, Config{})
		if err := tbl.Seed(context.Background()); err != nil {
			b.Fatal(err)
		}
		procs = len(tbl.procs)
	}
	b.ReportMetric(float64(procs), "procs")
}

// BenchmarkForkExecExit runs the lifecycle of a short-lived process: fork,
// exec with the kernel's exe facts, exit, reaped after the grace period.
func BenchmarkForkExecExit(b *testing.B) {
	tbl, root := synthetic(b, Config{ExitGrace: time.Microsecond})
	info := ExecInfo{ExePath: "/usr/bin/true", Argv: []string{"true", "--x"}, ExeIno: 9}
	ts := tbl.now
	i := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		i++
		ts += 2000
		pid := fakeBase + 1 + i%64
		tbl.Fork(root, pid, pid, false, ts)
		info.Time = ts
		tbl.Exec(pid, info)
		tbl.Exit(pid, ts)
	}
}

// BenchmarkThreadLookup looks a known thread up, as every event does.
func BenchmarkThreadLookup(b *testing.B) {
	tbl, root := synthetic(b, Config{})
	b.ReportAllocs()
	var th *sysevent.Thread
	for b.Loop() {
		th = tbl.Thread(root)
	}
	if th == nil {
		b.Fatal("not found")
	}
}

// BenchmarkResolve joins a relative path to the working directory.
func BenchmarkResolve(b *testing.B) {
	tbl, root := synthetic(b, Config{})
	tests := []struct{ name, path string }{
		{"relative", "../etc/./passwd"},
		{"clean-absolute", "/etc/passwd"},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = tbl.Resolve(root, AtFDCWD, tt.path)
			}
		})
	}
}

// BenchmarkAncestors walks a chain of 10 ancestors.
func BenchmarkAncestors(b *testing.B) {
	tbl, root := synthetic(b, Config{})
	parent := root
	for i := int64(1); i <= 10; i++ {
		tbl.Fork(parent, fakeBase+i, fakeBase+i, false, tbl.now+i)
		parent = fakeBase + i
	}
	leaf := tbl.Process(parent)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		tbl.Ancestors(leaf, func(*sysevent.Process) bool { n++; return true })
	}
	if n == 0 {
		b.Fatal("no ancestors")
	}
}
