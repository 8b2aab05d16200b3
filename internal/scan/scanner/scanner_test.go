package scanner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/scan/analyzer/catalog"
	"github.com/vigilsec/vigil/internal/scan/image"
	"github.com/vigilsec/vigil/internal/scan/misconfig"
	"github.com/vigilsec/vigil/internal/scan/passwd"
	"github.com/vigilsec/vigil/internal/scan/scanner/scantest"
	"github.com/vigilsec/vigil/internal/scan/vulndb"
)

func allKinds() Set { return Set{Vuln: true, Misconfig: true, Passwd: true} }

func openDB(t *testing.T, dir string) *vulndb.DB {
	t.Helper()
	db, err := vulndb.OpenExisting(context.Background(), scantest.DB(t, dir))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestScanImageFormats(t *testing.T) {
	dir := t.TempDir()
	img := scantest.BuildImage(t, dir)
	db := openDB(t, dir)
	for name, p := range map[string]string{"docker-archive": img.DockerTar, "oci-layout": img.OCIDir, "oci-archive": img.OCITar} {
		t.Run(name, func(t *testing.T) {
			im, err := image.Open(p)
			require.NoError(t, err)
			res, err := ScanImage(context.Background(), im, p, Options{Scanners: allKinds(), Analyzers: catalog.All(), DB: db,
				Passwd: &passwd.Checker{Words: []string{"123456", scantest.WeakRootPasswd}}})
			require.NoError(t, err)
			require.Empty(t, res.Errors)
			require.Equal(t, "debian", res.OS.ID)
			require.Len(t, res.Layers, 3)
			for i, l := range res.Layers {
				require.Equal(t, img.LayerDigests[i], l.Digest)
			}

			// The Go binary's vulnerable module, attributed to its layer and step.
			var goVuln, debVuln *Vulnerability
			for i, v := range res.Vulnerabilities {
				if v.ID == scantest.XTextAdvisory && v.Package == "golang.org/x/text" {
					goVuln = &res.Vulnerabilities[i]
				}
				if v.ID == scantest.DebAdvisory && v.Package == scantest.DebPackage {
					debVuln = &res.Vulnerabilities[i]
				}
			}
			require.NotNil(t, goVuln, "want %s for golang.org/x/text in %+v", scantest.XTextAdvisory, res.Vulnerabilities)
			require.Equal(t, scantest.XTextVersion, goVuln.InstalledVersion)
			require.Equal(t, scantest.XTextFixed, goVuln.FixedVersion)
			require.Equal(t, img.LayerDigests[1], goVuln.Layer)
			require.Equal(t, scantest.AppCreatedBy, goVuln.CreatedBy)
			require.Equal(t, scantest.AppPath, goVuln.Path)
			require.Contains(t, goVuln.Aliases, "CVE-2020-14040")

			require.NotNil(t, debVuln, "want %s for %s", scantest.DebAdvisory, scantest.DebPackage)
			require.Equal(t, scantest.DebFixed, debVuln.FixedVersion)
			require.Equal(t, "Debian:12", debVuln.Ecosystem)
			require.Equal(t, img.LayerDigests[0], debVuln.Layer)
			require.Equal(t, scantest.BaseCreatedBy, debVuln.CreatedBy)

			ids := map[string]misconfig.Finding{}
			for _, m := range res.Misconfigurations {
				ids[m.ID] = m
			}
			for _, id := range []string{misconfig.IDRootUser, misconfig.IDSecretInEnv, misconfig.IDSetuid, misconfig.IDPackageCache} {
				require.Contains(t, ids, id)
			}
			require.Equal(t, img.LayerDigests[2], ids[misconfig.IDPackageCache].Layer)
			require.Equal(t, scantest.CacheCreatedBy, ids[misconfig.IDPackageCache].CreatedBy)

			var pw []string
			for _, f := range res.Passwords {
				pw = append(pw, f.ID+" "+f.User)
			}
			require.ElementsMatch(t, []string{passwd.IDDictionaryPassword + " root", passwd.IDExtraUID0 + " toor"}, pw)
			require.Greater(t, res.Stats.Files, int64(10))
		})
	}
}

func TestScanTruncatedLayer(t *testing.T) {
	dir := t.TempDir()
	img := scantest.BuildImage(t, dir)
	db := openDB(t, dir)
	bad := filepath.Join(dir, "truncated.tar")
	scantest.Truncate(t, img.DockerTar, bad, 1) // the Go binary's layer
	im, err := image.Open(bad)
	require.NoError(t, err)
	res, err := ScanImage(context.Background(), im, bad, Options{Scanners: allKinds(), Analyzers: catalog.All(), DB: db,
		Passwd: &passwd.Checker{Words: []string{scantest.WeakRootPasswd}}})
	require.NoError(t, err, "a damaged layer must not stop the scan")
	require.NotEmpty(t, res.Errors)
	// docker-save archives carry no layer digests: the damaged blob's digest
	// is what Vigil computes, so the error also names the position, diff_id
	// and build step of the layer.
	require.Contains(t, res.Errors[0].Message, "layer 2 of 3")
	require.Contains(t, res.Errors[0].Message, img.LayerDiffIDs[1])
	require.Contains(t, res.Errors[0].Message, scantest.AppCreatedBy)
	// The other layers were still scanned.
	found := false
	for _, v := range res.Vulnerabilities {
		found = found || v.ID == scantest.DebAdvisory
	}
	require.True(t, found, "the base layer's packages are still matched")
}

func TestScanDir(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	scantest.Deb(t, dir, root)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		t.Skipf("needs /etc/os-release: %v", err)
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc/os-release"), data, 0o644))
	app := scantest.GoBinary(t, dir)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "usr/local/bin"), 0o755))
	bin, err := os.ReadFile(app)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, scantest.AppPath), bin, 0o755))
	// A second copy of the same binary is analysed once (cache hit) but
	// reported at both paths.
	require.NoError(t, os.WriteFile(filepath.Join(root, "usr/local/bin/app2"), bin, 0o755))
	// A symlink pointing outside the root is never followed.
	require.NoError(t, os.Symlink("/etc/shadow", filepath.Join(root, "etc/shadow")))
	db := openDB(t, dir)
	res, err := ScanDir(context.Background(), root, Options{Scanners: allKinds(), Analyzers: catalog.All(), DB: db})
	require.NoError(t, err)
	require.Equal(t, "filesystem", res.Type)
	require.Empty(t, res.Passwords, "the host's /etc/shadow must not be read through a symlink")
	paths := map[string]bool{}
	for _, v := range res.Vulnerabilities {
		if v.ID == scantest.XTextAdvisory {
			paths[v.Path] = true
			require.Empty(t, v.Layer)
		}
	}
	require.Equal(t, map[string]bool{scantest.AppPath: true, "usr/local/bin/app2": true}, paths)
	require.GreaterOrEqual(t, res.Stats.CacheHits, int64(1))
}

func TestParseKinds(t *testing.T) {
	s, err := ParseKinds("vuln, secret")
	require.NoError(t, err)
	require.Equal(t, Set{Vuln: true, Secrets: true}, s)
	_, err = ParseKinds("vuln,bogus")
	require.ErrorContains(t, err, `unknown scanner "bogus"`)
	_, err = ParseKinds("")
	require.Error(t, err)
}

func TestQuery(t *testing.T) {
	deb := &OS{ID: "debian", VersionID: "12"}
	for _, tc := range []struct {
		p    Package
		os   *OS
		want matchQuery
		ok   bool
	}{
		{Package{Type: "dpkg", Name: "libssl3", Version: "3.0.11-1", SourceName: "openssl"}, deb, matchQuery{"Debian", "Debian:12", "openssl", "3.0.11-1"}, true},
		{Package{Type: "dpkg", Name: "x", Version: "1"}, nil, matchQuery{}, false},
		{Package{Type: "apk", Name: "libcrypto3", SourceName: "openssl", Version: "3.1.4-r0"}, &OS{ID: "alpine", VersionID: "3.19.1"}, matchQuery{"Alpine", "Alpine:v3.19", "openssl", "3.1.4-r0"}, true},
		{Package{Type: "gobinary", Name: "golang.org/x/text", Version: "v0.3.0"}, nil, matchQuery{"Go", "", "golang.org/x/text", "v0.3.0"}, true},
		{Package{Type: "gobinary", Name: "example.com/app", Version: "(devel)"}, nil, matchQuery{}, false},
		{Package{Type: "npm", Name: "core", Version: "7.0.0", PURL: "pkg:npm/%40babel/core@7.0.0"}, nil, matchQuery{"npm", "", "@babel/core", "7.0.0"}, true},
		{Package{Type: "java", Name: "log4j-core", Version: "2.14.1", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"}, nil, matchQuery{"Maven", "", "org.apache.logging.log4j:log4j-core", "2.14.1"}, true},
		{Package{Type: "python", Name: "Django", Version: "3.2", PURL: "pkg:pypi/django@3.2"}, nil, matchQuery{"PyPI", "", "django", "3.2"}, true},
		{Package{Type: "rpm", Name: "bash", Version: "5.1", PURL: "pkg:rpm/redhat/bash@5.1"}, nil, matchQuery{}, false},
	} {
		got, ok := query(tc.p, tc.os)
		require.Equal(t, tc.ok, ok, "%+v", tc.p)
		require.Equal(t, tc.want, got, "%+v", tc.p)
	}
}

func TestSeverityFromScore(t *testing.T) {
	for score, want := range map[float64]string{0: "UNKNOWN", 0.1: "LOW", 4: "MEDIUM", 6.9: "MEDIUM", 7: "HIGH", 9: "CRITICAL", 10: "CRITICAL"} {
		require.Equal(t, want, SeverityFromScore(score))
	}
	require.True(t, strings.Contains(strings.Join(Severities, ","), "CRITICAL"))
}

// BenchmarkScanImage walks the three-layer test image with the misconfig
// and passwd scanners and every analyzer (no database): it reports the
// cost per scan and its allocations.
func BenchmarkScanImage(b *testing.B) {
	img := scantest.BuildImage(b, b.TempDir())
	opt := Options{Scanners: Set{Misconfig: true, Passwd: true}, Analyzers: catalog.All(), Passwd: &passwd.Checker{Words: []string{"x"}}}
	b.ReportAllocs()
	var files int64
	for b.Loop() {
		res, err := ScanImage(context.Background(), img.Image, "bench", opt)
		if err != nil {
			b.Fatal(err)
		}
		files = res.Stats.Files
	}
	b.ReportMetric(float64(files), "files/op")
}
