package vulndb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/internal/testutil"
)

// BenchmarkImportGolangVulnDB imports the whole Go vulnerability database
// (4291 OSV files) into a fresh database per iteration.
func BenchmarkImportGolangVulnDB(b *testing.B) {
	dir := filepath.Join(testutil.SharedData(b, "vuln/golang-vulndb"), "osv")
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		db, err := Open(ctx, filepath.Join(b.TempDir(), "vulndb.sqlite"))
		if err != nil {
			b.Fatal(err)
		}
		st, err := Import(ctx, db, dir)
		if err != nil || st.Added != 4291 {
			b.Fatalf("import: %+v, %v", st, err)
		}
		db.Close()
		n++
	}
	b.ReportMetric(float64(4291*n)/b.Elapsed().Seconds(), "advisories/s")
}

// BenchmarkReimportGolangVulnDB re-imports into an up-to-date database:
// every advisory is read, parsed and found unchanged.
func BenchmarkReimportGolangVulnDB(b *testing.B) {
	dir := filepath.Join(testutil.SharedData(b, "vuln/golang-vulndb"), "osv")
	ctx := context.Background()
	db := newDB(b)
	mustImport(b, db, dir)
	b.ReportAllocs()
	for b.Loop() {
		if st, err := Import(ctx, db, dir); err != nil || st.Unchanged != 4291 {
			b.Fatalf("import: %+v, %v", st, err)
		}
	}
}

var benchQueries = []struct{ eco, pkg, ver string }{
	{"Go", "stdlib", "go1.21.5"},                 // ~170 advisories to evaluate
	{"Go", "github.com/gin-gonic/gin", "v1.5.0"}, // a few, several hit
	{"Go", "k8s.io/kubernetes", "v1.20.0"},       // ~30
	{"Go", "golang.org/x/net", "v0.0.0-20200301000000-0123456789ab"},
	{"Go", "github.com/example/not-vulnerable", "v1.0.0"}, // index miss
}

func benchDB(b *testing.B) *DB {
	dir := filepath.Join(testutil.SharedData(b, "vuln/golang-vulndb"), "osv")
	db := newDB(b)
	mustImport(b, db, dir)
	return db
}

// BenchmarkMatch measures one Match call, cycling through benchQueries.
func BenchmarkMatch(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	for _, q := range benchQueries {
		b.Run(q.pkg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := db.Match(ctx, q.eco, q.pkg, q.ver); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMatchParallel measures Match throughput from concurrent callers.
func BenchmarkMatchParallel(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			q := benchQueries[i%len(benchQueries)]
			if _, err := db.Match(ctx, q.eco, q.pkg, q.ver); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
