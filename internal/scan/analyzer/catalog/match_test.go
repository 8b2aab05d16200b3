package catalog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
	"github.com/vigilsec/vigil/internal/scan/vulndb"
)

// TestLanguageAdvisoriesMatch runs each language analyzer on its real or
// real-format test file and matches what it finds against OSV records of
// real advisories (testdata/osv): the Ecosystem, Name and Version the
// analyzers report must be what vulndb.Match needs.
func TestLanguageAdvisoriesMatch(t *testing.T) {
	ctx := context.Background()
	db, err := vulndb.Open(ctx, filepath.Join(t.TempDir(), "vulndb.sqlite"))
	require.NoError(t, err)
	defer db.Close()
	st, err := vulndb.Import(ctx, db, "testdata/osv")
	require.NoError(t, err)
	require.Equal(t, 6, st.Added)

	byType := map[analyzer.Type]analyzer.Analyzer{}
	for _, a := range All() {
		byType[a.Type()] = a
	}
	for _, tc := range []struct {
		typ       analyzer.Type
		fixture   string // relative to internal/scan/analyzer
		path      string // path the analyzer sees
		pkg, ver  string
		advisory  string
		ecosystem string
	}{
		{analyzer.TypeNpm, "npm/testdata/v3/package-lock.json", "app/package-lock.json", "minimist", "1.2.5", "GHSA-xvch-5gv4-984h", "npm"},
		{analyzer.TypeNpm, "npm/testdata/tree/node_modules/minimist/package.json", "app/node_modules/minimist/package.json", "minimist", "1.2.5", "GHSA-xvch-5gv4-984h", "npm"},
		{analyzer.TypePython, "python/testdata/requirements.txt", "app/requirements.txt", "urllib3", "1.26.5", "GHSA-v845-jxx5-vc9f", "PyPI"},
		{analyzer.TypeCargo, "cargo/testdata/Cargo.lock", "app/Cargo.lock", "smallvec", "1.6.0", "RUSTSEC-2021-0003", "crates.io"},
		{analyzer.TypePHP, "php/testdata/composer.lock", "app/composer.lock", "guzzlehttp/psr7", "2.4.4", "GHSA-wxmh-65f7-jcvw", "Packagist"},
		{analyzer.TypeRuby, "ruby/testdata/specifications/rack-2.2.6.2.gemspec", "usr/local/bundle/specifications/rack-2.2.6.2.gemspec", "rack", "2.2.6.2", "GHSA-3h57-hmj3-gj3p", "RubyGems"},
		{analyzer.TypeJava, "", "app/log4j-core-2.14.1.jar", "org.apache.logging.log4j:log4j-core", "2.14.1", "GHSA-jfh8-c2jp-5v3q", "Maven"},
	} {
		t.Run(string(tc.typ)+"/"+tc.pkg, func(t *testing.T) {
			var data []byte
			if tc.fixture != "" {
				var err error
				data, err = os.ReadFile(filepath.Join("..", tc.fixture))
				require.NoError(t, err)
			} else {
				data = log4jJar(t)
			}
			a := byType[tc.typ]
			require.True(t, a.Wanted(tc.path, 0o644))
			res, err := a.Analyze(ctx, analyzer.Input{Path: tc.path, Mode: 0o644, Size: int64(len(data)), Content: bytes.NewReader(data)})
			require.NoError(t, err)
			var found *analyzer.Package
			for i, p := range res.Packages {
				if p.Name == tc.pkg {
					found = &res.Packages[i]
				}
				fs, err := db.Match(ctx, p.Ecosystem, p.Name, p.Version)
				require.NoError(t, err, "%s %s@%s", p.Ecosystem, p.Name, p.Version)
				if p.Name != tc.pkg {
					require.Empty(t, fs, "%s@%s should not match", p.Name, p.Version)
				}
			}
			require.NotNil(t, found, "%s not found", tc.pkg)
			require.Equal(t, tc.ver, found.Version)
			require.Equal(t, tc.ecosystem, found.Ecosystem)
			fs, err := db.Match(ctx, found.Ecosystem, found.Name, found.Version)
			require.NoError(t, err)
			require.Len(t, fs, 1)
			require.Equal(t, tc.advisory, fs[0].ID)
			require.NotEmpty(t, fs[0].Fixed)
		})
	}
}
