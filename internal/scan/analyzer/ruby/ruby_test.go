package ruby

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
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

// TestGemfileLock reads a real Bundler lock file (see testdata/SOURCES.md)
// and checks every GEM spec line, found independently with a regexp.
func TestGemfileLock(t *testing.T) {
	data, err := os.ReadFile("testdata/Gemfile.lock")
	require.NoError(t, err)
	pkgs, err := analyze(t, "site/Gemfile.lock", data)
	require.NoError(t, err)
	gemSection := string(data[:bytes.Index(data, []byte("\n\nPLATFORMS"))])
	specs := regexp.MustCompile(`(?m)^    ([^ ]+) \(([^)]+)\)$`).FindAllStringSubmatch(gemSection, -1)
	require.Len(t, pkgs, len(specs))
	for i, m := range specs {
		p := pkgs[i]
		require.Equal(t, m[1], p.Name)
		require.Equal(t, m[2], strings.TrimSuffix(p.Version+"-"+p.Arch, "-"))
		require.Equal(t, "RubyGems", p.Ecosystem)
	}
	byName := map[string]analyzer.Package{}
	for _, p := range pkgs {
		byName[p.Name] = p
	}
	require.Equal(t, "pkg:gem/activesupport@6.1.7.5", byName["activesupport"].PURL)
	require.Equal(t, "pkg:gem/nokogiri@1.18.9?platform=x86_64-linux-gnu", byName["nokogiri"].PURL)
}

func TestGemspecs(t *testing.T) {
	files, err := filepath.Glob("testdata/specifications/*.gemspec")
	require.NoError(t, err)
	var got []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		pkgs, err := analyze(t, "usr/local/bundle/specifications/"+filepath.Base(f), data)
		require.NoError(t, err)
		for _, p := range pkgs {
			got = append(got, p.Name+"@"+p.Version+" "+p.PURL)
		}
	}
	require.Equal(t, []string{
		"nokogiri@1.13.9 pkg:gem/nokogiri@1.13.9?platform=x86_64-linux",
		"rack@2.2.6.2 pkg:gem/rack@2.2.6.2",
	}, got)
	p, err := ParseGemspec([]byte("Gem::Specification.new do |spec|\n  spec.name = 'old'\n  spec.version = Gem::Version.new('0.9.1')\nend\n"))
	require.NoError(t, err)
	require.Equal(t, "old 0.9.1", p.Name+" "+p.Version)
}

func TestErrors(t *testing.T) {
	_, err := analyze(t, "a/specifications/x.gemspec", []byte("# nothing\n"))
	require.ErrorContains(t, err, "analyze a/specifications/x.gemspec: gemspec without name or version")
	pkgs, err := analyze(t, "a/Gemfile.lock", []byte("GEM\n  remote: https://rubygems.org/\n  specs:\n    good (1.0)\n    bad 1.0\n    worse (>= 1)\n      dep (~> 1)\n\nGIT\n  remote: x\n  specs:\n    fromgit (0.1)\n"))
	require.ErrorContains(t, err, "analyze a/Gemfile.lock: line 5: want \"name (version)\", got \"bad 1.0\"\nline 6")
	require.Len(t, pkgs, 1)
	require.False(t, New().Wanted("a/x.gemspec", 0o644))
}

func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/Gemfile.lock"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("# stub: a 1 ruby lib\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, _ := ParseGemfileLock(data)
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package without name or version: %+v", p)
			}
		}
		if p, err := ParseGemspec(data); err == nil && (p.Name == "" || p.Version == "") {
			t.Fatalf("gemspec without name or version: %+v", p)
		}
	})
}
