package npm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
)

func analyze(t *testing.T, rel string, data []byte) ([]analyzer.Package, error) {
	t.Helper()
	a := New()
	require.True(t, a.Wanted(rel, 0o644), rel)
	res, err := a.Analyze(context.Background(), analyzer.Input{Path: rel, Size: int64(len(data)), Content: bytes.NewReader(data)})
	return res.Packages, err
}

// want is what npm install put in testdata (npm 11, package.json of the
// fixture: minimist 1.2.5, @types/node 20.11.5, debug 4.3.4, dev is-number).
var want = []string{
	"@types/node@20.11.5 pkg:npm/%40types/node@20.11.5",
	"debug@4.3.4 pkg:npm/debug@4.3.4",
	"is-number@7.0.0 dev pkg:npm/is-number@7.0.0",
	"minimist@1.2.5 pkg:npm/minimist@1.2.5",
	"ms@2.1.2 pkg:npm/ms@2.1.2",
	"undici-types@5.26.5 pkg:npm/undici-types@5.26.5",
}

func rows(pkgs []analyzer.Package, withDev bool) []string {
	var out []string
	for _, p := range pkgs {
		s := p.Name + "@" + p.Version
		if p.Dev && withDev {
			s += " dev"
		}
		out = append(out, s+" "+p.PURL)
	}
	sort.Strings(out)
	return out
}

func TestLockVersions(t *testing.T) {
	for _, v := range []string{"v1", "v2", "v3"} {
		t.Run(v, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", v, "package-lock.json"))
			require.NoError(t, err)
			pkgs, err := analyze(t, "app/package-lock.json", data)
			require.NoError(t, err)
			require.Equal(t, want, rows(pkgs, true))
			for _, p := range pkgs {
				require.Equal(t, "npm", p.Ecosystem)
				require.Equal(t, analyzer.TypeNpm, p.Type)
				require.Equal(t, "app/package-lock.json", p.FilePath)
			}
		})
	}
}

func TestNodeModules(t *testing.T) {
	var got []analyzer.Package
	a := New()
	err := filepath.WalkDir("testdata/tree", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimPrefix(p, "testdata/tree/")
		if !a.Wanted(rel, 0o644) {
			return nil
		}
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		pkgs, err := analyze(t, rel, data)
		require.NoError(t, err)
		got = append(got, pkgs...)
		return nil
	})
	require.NoError(t, err)
	// Installed manifests do not say whether a package is a dev dependency.
	require.Equal(t, strings.Split(strings.ReplaceAll(strings.Join(want, "\n"), " dev", ""), "\n"), rows(got, true))
}

func TestWanted(t *testing.T) {
	a := New()
	for p, w := range map[string]bool{
		"app/package-lock.json":                          true,
		"app/node_modules/x/package-lock.json":           false,
		"app/node_modules/.package-lock.json":            false,
		"app/node_modules/debug/package.json":            true,
		"app/node_modules/@types/node/package.json":      true,
		"app/node_modules/a/node_modules/b/package.json": true,
		"app/node_modules/debug/src/package.json":        false,
		"app/package.json":                               false,
		"node_modules/.bin/package.json":                 false,
	} {
		require.Equal(t, w, a.Wanted(p, 0o644), p)
	}
}

func TestLockCases(t *testing.T) {
	for _, tc := range []struct {
		name, lock string
		want       []string
		err        string
	}{
		{"v1 nested and dev only when always dev", `{"lockfileVersion":1,"dependencies":{
			"a":{"version":"1.0.0","dev":true,"dependencies":{"b":{"version":"2.0.0","dev":true}}},
			"b":{"version":"2.0.0"},
			"c":{"version":"file:../c"}}}`,
			[]string{"a@1.0.0 dev pkg:npm/a@1.0.0", "b@2.0.0 pkg:npm/b@2.0.0"}, ""},
		{"v3 alias link workspace", `{"lockfileVersion":3,"packages":{
			"":{"name":"root","version":"1.0.0"},
			"packages/w":{"name":"w","version":"0.1.0"},
			"node_modules/w":{"resolved":"packages/w","link":true},
			"node_modules/lodash-old":{"name":"lodash","version":"4.17.15"},
			"node_modules/x/node_modules/@s/y":{"version":"3.0.0","optional":true}}}`,
			[]string{"@s/y@3.0.0 pkg:npm/%40s/y@3.0.0", "lodash@4.17.15 pkg:npm/lodash@4.17.15"}, ""},
		{"missing version", `{"lockfileVersion":3,"packages":{"node_modules/a":{},"node_modules/b":{"version":"1.0.0"}}}`,
			[]string{"b@1.0.0 pkg:npm/b@1.0.0"}, `packages["node_modules/a"]: no name or version`},
		{"syntax", "{\n\"lockfileVersion\": 3,\n\"packages\": {,}\n}", nil, "line 3 column 14"},
		{"type", "{\"packages\": []}", nil, "line 1 column 14"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkgs, err := analyze(t, "x/package-lock.json", []byte(tc.lock))
			if tc.err != "" {
				require.ErrorContains(t, err, "analyze x/package-lock.json: "+tc.err)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.want, rows(pkgs, true))
		})
	}
}

func FuzzParseLock(f *testing.F) {
	for _, v := range []string{"v1", "v3"} {
		if b, err := os.ReadFile(filepath.Join("testdata", v, "package-lock.json")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, _ := ParseLock(data)
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package without name or version: %+v", p)
			}
		}
		_, _ = ParsePackageJSON(data)
	})
}
