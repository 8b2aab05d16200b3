package scanner

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/scan/analyzer/catalog"
	"github.com/vigilsec/vigil/internal/scan/image"
	"github.com/vigilsec/vigil/internal/scan/scanner/scantest"
	"github.com/vigilsec/vigil/internal/scan/vulndb"
)

// BenchmarkScanImageFile scans the test image (busybox, a .deb, a Go binary) or
// the docker-save tarball named by $VIGIL_BENCH_IMAGE, e.g. the 1 GB image
// of test/bench-scan, with the vuln scanner: the whole walk, decompression,
// analyzers and matching. Profile it with -cpuprofile/-memprofile.
func BenchmarkScanImageFile(b *testing.B) {
	dir := b.TempDir()
	p := os.Getenv("VIGIL_BENCH_IMAGE")
	if p == "" {
		p = scantest.BuildImage(b, dir).DockerTar
	}
	db, err := vulndb.OpenExisting(context.Background(), scantest.DB(b, dir))
	require.NoError(b, err)
	b.Cleanup(func() { db.Close() })
	b.ReportAllocs()
	for b.Loop() {
		img, err := image.Open(p)
		require.NoError(b, err)
		res, err := ScanImage(context.Background(), img, p, Options{Scanners: Set{Vuln: true}, Analyzers: catalog.All(), DB: db})
		require.NoError(b, err)
		require.NotEmpty(b, res.Packages)
		b.ReportMetric(float64(res.Stats.Files), "files/op")
	}
}
