package gomod

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
)

func analyze(t *testing.T, rel string, data []byte) ([]analyzer.Package, error) {
	t.Helper()
	res, err := New().Analyze(context.Background(), analyzer.Input{Path: rel, Size: int64(len(data)), Content: bytes.NewReader(data)})
	return res.Packages, err
}

// TestVigilGoMod reads this repository's go.mod and compares with go list.
func TestVigilGoMod(t *testing.T) {
	root, err := exec.Command("go", "env", "GOMOD").Output()
	require.NoError(t, err)
	gomod := strings.TrimSpace(string(root))
	data, err := os.ReadFile(gomod)
	require.NoError(t, err)
	pkgs, err := analyze(t, "go.mod", data)
	require.NoError(t, err)
	out, err := exec.Command("go", "list", "-C", filepath.Dir(gomod), "-m", "-f", "{{if not .Main}}{{.Path}} {{.Version}} {{.Indirect}}{{end}}", "all").Output()
	require.NoError(t, err)
	all := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		all[l] = true
	}
	require.Greater(t, len(pkgs), 10)
	for _, p := range pkgs {
		line := p.Name + " " + p.Version + " " + map[bool]string{true: "true", false: "false"}[p.Indirect]
		require.True(t, all[line], "%s not listed by go list -m all", line)
		require.Equal(t, "Go", p.Ecosystem)
		require.True(t, strings.HasPrefix(p.PURL, "pkg:golang/"+p.Name+"@"), p.PURL)
	}
}

func TestReplaceAndIndirect(t *testing.T) {
	data := []byte(`module example.com/app

go 1.22

require (
	github.com/gorilla/websocket v1.5.0
	golang.org/x/net v0.17.0 // indirect
	example.com/local v1.0.0
	github.com/old/mod v0.1.0
)

replace example.com/local => ../local

replace github.com/old/mod v0.1.0 => github.com/new/mod v0.2.1

replace golang.org/x/net => golang.org/x/net v0.23.0
`)
	pkgs, err := analyze(t, "src/app/go.mod", data)
	require.NoError(t, err)
	type row struct {
		name, ver string
		ind       bool
		purl      string
	}
	var got []row
	for _, p := range pkgs {
		got = append(got, row{p.Name, p.Version, p.Indirect, p.PURL})
		require.Equal(t, "src/app/go.mod", p.FilePath)
	}
	require.Equal(t, []row{
		{"github.com/gorilla/websocket", "v1.5.0", false, "pkg:golang/github.com/gorilla/websocket@v1.5.0"},
		{"golang.org/x/net", "v0.23.0", true, "pkg:golang/golang.org/x/net@v0.23.0"},
		{"example.com/local", "", false, "pkg:golang/example.com/local"},
		{"github.com/new/mod", "v0.2.1", false, "pkg:golang/github.com/new/mod@v0.2.1"},
	}, got)
}

func TestErrors(t *testing.T) {
	_, err := analyze(t, "a/go.mod", []byte("module x\n\nrequire (\n\tfoo\n)\nbogus directive here\n"))
	require.ErrorContains(t, err, "a/go.mod:4")
	a := New()
	require.True(t, a.Wanted("src/go.mod", 0o644))
	require.False(t, a.Wanted("src/vendor/x/go.mod", 0o644))
	require.False(t, a.Wanted("root/go/pkg/mod/x@v1/go.mod", 0o644))
	require.False(t, a.Wanted("src/go.sum", 0o644))
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("module a\nrequire b v1.0.0 // indirect\nreplace b => ./b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, _ := Parse("go.mod", data)
		for _, p := range pkgs {
			if p.Name == "" {
				t.Fatalf("package without name: %+v", p)
			}
		}
	})
}
