package php

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
)

func analyze(t *testing.T, rel string, data []byte) ([]string, error) {
	t.Helper()
	a := New()
	require.True(t, a.Wanted(rel, 0o644), rel)
	res, err := a.Analyze(context.Background(), analyzer.Input{Path: rel, Size: int64(len(data)), Content: bytes.NewReader(data)})
	var out []string
	for _, p := range res.Packages {
		require.Equal(t, "Packagist", p.Ecosystem)
		require.Equal(t, rel, p.FilePath)
		s := p.Name + "@" + p.Version
		if p.Dev {
			s += " dev"
		}
		out = append(out, s+" "+p.PURL)
	}
	return out, err
}

func TestComposer(t *testing.T) {
	lock, err := os.ReadFile("testdata/composer.lock")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, rel, in string
		want          []string
		err           string
	}{
		{"lock", "app/composer.lock", string(lock), []string{
			"guzzlehttp/psr7@2.4.4 pkg:composer/guzzlehttp/psr7@2.4.4",
			"monolog/monolog@v1.25.5 pkg:composer/monolog/monolog@v1.25.5",
			"phpunit/phpunit@9.6.13 dev pkg:composer/phpunit/phpunit@9.6.13",
		}, ""},
		{"installed v2", "app/vendor/composer/installed.json", `{"packages":[{"name":"symfony/http-kernel","version":"v5.4.20","version_normalized":"5.4.20.0"}],"dev":true}`,
			[]string{"symfony/http-kernel@v5.4.20 pkg:composer/symfony/http-kernel@v5.4.20"}, ""},
		{"installed v1", "app/vendor/composer/installed.json", `[{"name":"twig/twig","version":"v2.14.0"}]`,
			[]string{"twig/twig@v2.14.0 pkg:composer/twig/twig@v2.14.0"}, ""},
		{"bad name", "composer.lock", `{"packages":[{"name":"novendor","version":"1.0"},{"name":"a/b","version":"1.0"}]}`,
			[]string{"a/b@1.0 pkg:composer/a/b@1.0"}, `analyze composer.lock: packages[0]: want vendor/name and version, got "novendor" "1.0"`},
		{"syntax", "composer.lock", "{\n\"packages\": [}\n", nil, "analyze composer.lock: line 2 column 14"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := analyze(t, tc.rel, []byte(tc.in))
			if tc.err == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.err)
			}
			require.Equal(t, tc.want, got)
		})
	}
	require.False(t, New().Wanted("app/vendor/foo/bar/composer.lock", 0o644))
}

func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/composer.lock"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func([]byte) ([]analyzer.Package, error){ParseLock, ParseInstalled} {
			pkgs, _ := parse(data)
			for _, p := range pkgs {
				if p.Name == "" || p.Version == "" {
					t.Fatalf("package without name or version: %+v", p)
				}
			}
		}
	})
}
