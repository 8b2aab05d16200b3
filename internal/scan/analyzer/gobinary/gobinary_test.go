package gobinary

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
)

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	// Offline: the module cache already holds Vigil's dependencies.
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("go %v (needs Vigil's dependencies in the module cache): %v\n%s", args, err, out)
	}
	return string(out)
}

// buildTiny builds a small program that imports cobra at the version Vigil
// requires, in its own module, and returns the binary and the modules that
// `go list` says are linked into it ("path version", sorted).
func buildTiny(t *testing.T) (string, []string) {
	t.Helper()
	root := moduleRoot(t)
	ver := strings.TrimSpace(goCmd(t, root, "list", "-m", "-f", "{{.Version}}", "github.com/spf13/cobra"))
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"go.mod":  "module example.com/tiny\n\ngo 1.22\n\nrequire github.com/spf13/cobra " + ver + "\n",
		"go.sum":  string(sum),
		"main.go": "package main\n\nimport \"github.com/spf13/cobra\"\n\nfunc main() { _ = (&cobra.Command{Use: \"tiny\"}).Execute() }\n",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "tiny")
	goCmd(t, dir, "build", "-o", bin, ".")
	var mods []string
	for _, l := range strings.Split(goCmd(t, dir, "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}}{{end}}{{end}}", "."), "\n") {
		if l = strings.TrimSpace(l); l != "" && !contains(mods, l) {
			mods = append(mods, l)
		}
	}
	sort.Strings(mods)
	return bin, mods
}

func contains(s []string, x string) bool {
	for _, e := range s {
		if e == x {
			return true
		}
	}
	return false
}

func analyzeFile(t *testing.T, p string) (analyzer.Result, error) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	a := New()
	if !a.Wanted("usr/bin/x", st.Mode()) {
		t.Fatalf("%s (mode %v) not wanted", p, st.Mode())
	}
	return a.Analyze(context.Background(), analyzer.Input{Path: "usr/bin/x", Mode: st.Mode(), Size: int64(len(b)), Content: bytes.NewReader(b)})
}

func TestTinyBinary(t *testing.T) {
	bin, wantDeps := buildTiny(t)
	if len(wantDeps) < 2 {
		t.Fatalf("go list found only %v", wantDeps)
	}
	res, err := analyzeFile(t, bin)
	if err != nil {
		t.Fatal(err)
	}
	// The same from a plain stream (no io.ReaderAt): the copying path.
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := New().Analyze(context.Background(), analyzer.Input{Path: "usr/bin/x", Size: int64(len(b)), Content: struct{ io.Reader }{bytes.NewReader(b)}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(streamed, res) {
		t.Errorf("streamed result differs:\n%+v\nin place:\n%+v", streamed, res)
	}
	var deps []string
	var main, std analyzer.Package
	for _, p := range res.Packages {
		switch {
		case !p.Indirect:
			main = p
		case p.Name == "stdlib":
			std = p
		default:
			deps = append(deps, p.Name+" "+p.Version)
		}
	}
	sort.Strings(deps)
	if strings.Join(deps, ",") != strings.Join(wantDeps, ",") {
		t.Errorf("deps %v, go list says %v", deps, wantDeps)
	}
	if main.Name != "example.com/tiny" || main.PURL != "pkg:golang/example.com/tiny" {
		t.Errorf("main module %+v", main)
	}
	goVer := strings.TrimSpace(goCmd(t, ".", "env", "GOVERSION"))
	if std.Version != "v"+strings.TrimPrefix(strings.Fields(goVer)[0], "go") || std.PURL != "pkg:golang/stdlib@"+std.Version {
		t.Errorf("stdlib %+v, go version %s", std, goVer)
	}
	for _, p := range res.Packages {
		if p.Name == "github.com/spf13/cobra" && p.PURL != "pkg:golang/github.com/spf13/cobra@"+p.Version {
			t.Errorf("cobra purl %s", p.PURL)
		}
	}
	t.Logf("main %s, %d deps, stdlib %s", main.Name, len(deps), std.Version)
}

func TestNotGo(t *testing.T) {
	// /bin/sh is a C program on Debian; the test expects no packages from it.
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Skip("no /bin/sh")
	}
	res, err := analyzeFile(t, sh)
	if err != nil || len(res.Packages) != 0 {
		t.Errorf("%s: %d packages, err %v", sh, len(res.Packages), err)
	}
	a := New()
	if a.Wanted("etc/os-release", 0o644) || a.Wanted("usr/bin", os.ModeDir|0o755) {
		t.Error("non-executables wanted")
	}
	// A shell script with an execute bit is read but yields nothing.
	res, err = a.Analyze(context.Background(), analyzer.Input{Path: "x", Content: strings.NewReader("#!/bin/sh\n")})
	if err != nil || len(res.Packages) != 0 {
		t.Errorf("script: %v %v", res, err)
	}
}

func TestTruncatedGoBinary(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "linux" {
		t.Skip("ELF layout assumed")
	}
	_, err = New().Analyze(context.Background(), analyzer.Input{Path: "bin/cut", Content: bytes.NewReader(b[:len(b)/3])})
	if err == nil || !strings.Contains(err.Error(), "bin/cut") {
		t.Errorf("truncated Go binary: err = %v", err)
	}
}
