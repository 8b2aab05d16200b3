package apk

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
)

func TestAnalyze(t *testing.T) {
	f, err := os.Open("testdata/installed")
	require.NoError(t, err)
	defer f.Close()
	a := New()
	require.True(t, a.Wanted("lib/apk/db/installed", 0o644))
	require.False(t, a.Wanted("lib/apk/db/installed.bak", 0o644))
	res, err := a.Analyze(context.Background(), analyzer.Input{Path: Path, Content: f})
	require.NoError(t, err)
	type row struct{ name, ver, src, arch, purl string }
	var got []row
	for _, p := range res.Packages {
		require.Equal(t, analyzer.TypeApk, p.Type)
		require.Equal(t, Path, p.FilePath)
		require.Equal(t, p.Version, p.SourceVersion)
		got = append(got, row{p.Name, p.Version, p.SourceName, p.Arch, p.PURL})
	}
	require.Equal(t, []row{
		{"musl", "1.2.4_git20230717-r4", "musl", "x86_64", "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64"},
		{"busybox", "1.36.1-r15", "busybox", "x86_64", "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64"},
		{"libcrypto3", "3.1.4-r2", "openssl", "x86_64", "pkg:apk/alpine/libcrypto3@3.1.4-r2?arch=x86_64"},
		{"ca-certificates-bundle", "20230506-r0", "ca-certificates", "x86_64", "pkg:apk/alpine/ca-certificates-bundle@20230506-r0?arch=x86_64"},
	}, got)
	require.Equal(t, "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19", PURL(res.Packages[0], "alpine-3.19"))
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		pkgs     int
		errs     []string
	}{
		{"empty", "", 0, nil},
		{"no trailing blank", "P:a\nV:1-r0", 1, nil},
		{"no name", "V:1-r0\n\nP:b\nV:2-r0\n", 1, []string{"line 1: record without P:"}},
		{"no version", "P:a\nA:x86_64\n\nP:b\nV:2-r0\n", 1, []string{"line 1: package a without V:"}},
		{"garbage line", "P:a\nhello world\nV:1-r0\n", 1, []string{"line 2: want K:value"}},
		{"several", "P:a\n\nxx\n\nP:b\nV:1\n", 1, []string{"line 1: package a without V:", "line 3: want K:value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkgs, err := Parse(strings.NewReader(tc.in))
			require.Len(t, pkgs, tc.pkgs)
			if tc.errs == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, e := range tc.errs {
				require.Contains(t, err.Error(), e)
			}
		})
	}
}

func TestAnalyzeNamesFile(t *testing.T) {
	_, err := New().Analyze(context.Background(), analyzer.Input{Path: Path, Content: strings.NewReader("junk\n")})
	require.ErrorContains(t, err, "analyze lib/apk/db/installed: line 1")
}

func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/installed"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("P:a\nV:1\no:b\n\n:\n\nx"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, _ := Parse(strings.NewReader(string(data)))
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package without name or version: %+v", p)
			}
		}
	})
}
