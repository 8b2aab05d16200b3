package python

import (
	"bytes"
	"context"
	"os"
	"os/exec"
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

func rows(pkgs []analyzer.Package) []string {
	var out []string
	for _, p := range pkgs {
		s := p.Name + "@" + p.Version
		if p.Dev {
			s += " dev"
		}
		out = append(out, s+" "+p.PURL)
	}
	return out
}

// TestSitePackages reads the distributions installed in Debian's Python
// and compares with what importlib.metadata lists.
func TestSitePackages(t *testing.T) {
	const py, dir = "/usr/bin/python3", "/usr/lib/python3/dist-packages"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no Debian python3 dist-packages: %v", err)
	}
	out, err := exec.Command(py, "-c", `import importlib.metadata as m
for d in m.distributions(path=["`+dir+`"]): print(d.metadata["Name"] + "@" + d.version)`).Output()
	require.NoError(t, err)
	want := strings.Fields(string(out))
	sort.Strings(want)
	var got []string
	a := New()
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, "/")
		info, err := d.Info()
		if err != nil || !a.Wanted(rel, info.Mode()) {
			return err
		}
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		pkgs, err := analyze(t, rel, data)
		require.NoError(t, err)
		for _, p := range pkgs {
			got = append(got, p.Name+"@"+p.Version)
			require.Equal(t, "PyPI", p.Ecosystem)
		}
		return nil
	})
	require.NoError(t, err)
	sort.Strings(got)
	require.NotEmpty(t, want)
	require.Equal(t, want, got)
}

func TestLockFiles(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"requirements.txt", []string{
			"certifi@2023.7.22 pkg:pypi/certifi@2023.7.22",
			"charset-normalizer@3.3.2 pkg:pypi/charset-normalizer@3.3.2",
			"Django@4.2.1 pkg:pypi/django@4.2.1",
			"requests@2.31.0 pkg:pypi/requests@2.31.0",
			"urllib3@1.26.5 pkg:pypi/urllib3@1.26.5",
			"zope.interface@6.1 pkg:pypi/zope-interface@6.1",
		}},
		{"Pipfile.lock", []string{
			"jinja2@3.1.2 pkg:pypi/jinja2@3.1.2",
			"markupsafe@2.1.3 pkg:pypi/markupsafe@2.1.3",
			"pytest@7.4.3 dev pkg:pypi/pytest@7.4.3",
		}},
		{"poetry.lock", []string{
			"cryptography@41.0.3 pkg:pypi/cryptography@41.0.3",
			"black@23.9.1 dev pkg:pypi/black@23.9.1",
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			require.NoError(t, err)
			pkgs, err := analyze(t, "src/"+tc.file, data)
			require.NoError(t, err)
			require.Equal(t, tc.want, rows(pkgs))
		})
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ rel, in, want string }{
		{"a/requirements-dev.txt", "ok==1.0\n\nbad name==1.0\nx==\n", "analyze a/requirements-dev.txt: line 3: not a pinned requirement: \"bad name==1.0\"\nline 4"},
		{"a/Pipfile.lock", "{\n  \"default\": 3\n}", "analyze a/Pipfile.lock: line 2 column 14"},
		{"a/poetry.lock", "[[package]]\nname = \"x\"\nversion = \n", "analyze a/poetry.lock: toml: line 3"},
		{"a/poetry.lock", "[[package]]\nname = \"x\"\n", "analyze a/poetry.lock: package 1: no name or version"},
		{"usr/lib/python3/site-packages/x-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nSummary: no name\n", "metadata without Name or Version"},
	} {
		t.Run(tc.rel, func(t *testing.T) {
			_, err := analyze(t, tc.rel, []byte(tc.in))
			require.ErrorContains(t, err, tc.want)
		})
	}
	a := New()
	require.False(t, a.Wanted("x.dist-info/RECORD", 0o644))
	require.False(t, a.Wanted("x.egg-info", 0o755|os.ModeDir))
	require.True(t, a.Wanted("x.egg-info", 0o644))
}

func FuzzParseRequirements(f *testing.F) {
	if b, err := os.ReadFile("testdata/requirements.txt"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, _ := ParseRequirements(data)
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package without name or version: %+v", p)
			}
		}
		_, _ = ParseMetadata(data)
		_, _ = ParsePipfileLock(data)
		_, _ = ParsePoetryLock(data)
	})
}
