package secret

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/testutil"
)

type benchFile struct {
	name string
	data []byte
}

// mixedTree reads this repository's internal/ tree (Go sources, JSON, TOML,
// lock files, binaries under testdata) plus a planted AWS credentials file.
func mixedTree(b *testing.B) ([]benchFile, int64) {
	b.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		b.Fatal(err)
	}
	root := filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "internal")
	var files []benchFile
	var total int64
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil || len(data) > DefaultMaxSize {
			return err
		}
		files = append(files, benchFile{strings.TrimPrefix(p, root+"/"), data})
		total += int64(len(data))
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	creds := []byte("[default]\naws_access_key_id = " + awsKeyID + "\naws_secret_access_key = " + awsSecret + "\n")
	files = append(files, benchFile{"home/u/.aws/credentials", creds})
	return files, total + int64(len(creds))
}

func benchScan(b *testing.B, s *Scanner) {
	files, total := mixedTree(b)
	ctx := context.Background()
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	var n int
	for b.Loop() {
		n = 0
		for _, f := range files {
			fs, err := s.ScanBytes(ctx, f.name, f.data)
			if err != nil {
				b.Fatal(err)
			}
			n += len(fs)
		}
	}
	if n == 0 {
		b.Fatal("no findings in the mixed tree")
	}
	b.ReportMetric(float64(len(files)), "files/op")
}

// BenchmarkScanBuiltin scans a mixed tree with the built-in rules; MB/s is
// the throughput.
func BenchmarkScanBuiltin(b *testing.B) { benchScan(b, New(Builtin())) }

// BenchmarkScanGitleaks scans the same tree with gitleaks' 222 default rules.
func BenchmarkScanGitleaks(b *testing.B) {
	p := testutil.SharedData(b, "secrets/gitleaks/gitleaks.toml")
	data, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := LoadGitleaks(p, data)
	if err != nil {
		b.Fatal(err)
	}
	benchScan(b, New(cfg.Rules, WithAllowlists(cfg.Allowlists...)))
}
