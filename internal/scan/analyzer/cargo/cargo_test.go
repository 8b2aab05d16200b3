package cargo

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
)

func TestCargoLock(t *testing.T) {
	lock, err := os.ReadFile("testdata/Cargo.lock")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, in string
		want     []string
		err      string
	}{
		{"lock v3", string(lock), []string{
			"itoa@1.0.9 pkg:cargo/itoa@1.0.9",
			"smallvec@1.6.0 pkg:cargo/smallvec@1.6.0",
			"tinyfmt@0.2.0 pkg:cargo/tinyfmt@0.2.0",
		}, ""},
		{"lock v1 metadata table", "[[package]]\nname = \"libc\"\nversion = \"0.2.40\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[metadata]\n\"checksum libc 0.2.40 (registry+https://github.com/rust-lang/crates.io-index)\" = \"6fd41f331ac7c5b8ac259b8bf82c75c0fb2e469bbf37d2becbba9a6a2221965b\"\n",
			[]string{"libc@0.2.40 pkg:cargo/libc@0.2.40"}, ""},
		{"missing version", "[[package]]\nname = \"a\"\nsource = \"registry+x\"\n", nil, "analyze app/Cargo.lock: package 1: no name or version"},
		{"syntax", "version = 3\n[[package]]\nname = \n", nil, "analyze app/Cargo.lock: toml: line 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := New()
			require.True(t, a.Wanted("app/Cargo.lock", 0o644))
			res, err := a.Analyze(context.Background(), analyzer.Input{Path: "app/Cargo.lock", Content: bytes.NewReader([]byte(tc.in))})
			if tc.err == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.err)
			}
			var got []string
			for _, p := range res.Packages {
				require.Equal(t, "crates.io", p.Ecosystem)
				got = append(got, p.Name+"@"+p.Version+" "+p.PURL)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/Cargo.lock"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, _ := Parse(data)
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package without name or version: %+v", p)
			}
		}
	})
}
