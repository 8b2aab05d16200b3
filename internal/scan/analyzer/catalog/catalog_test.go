package catalog

import (
	"github.com/vigilsec/vigil/internal/scan/image/imagetest"

	"archive/tar"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
)

// layer stores real files of this machine under new names; a name with an
// empty source is written as an empty whiteout marker.
func layer(t *testing.T, files [][2]string) v1.Layer {
	t.Helper()
	entries := make([]imagetest.Entry, len(files))
	for i, f := range files {
		entries[i] = imagetest.Entry{Name: f[0], Src: f[1], Typeflag: tar.TypeReg}
	}
	return imagetest.Layer(t, entries)
}

func sh(t *testing.T, script string) string {
	t.Helper()
	out, err := exec.Command("/bin/sh", "-c", script).Output()
	if err != nil {
		t.Fatalf("sh -c %q: %v", script, err)
	}
	return strings.TrimSpace(string(out))
}

func TestAnalyzeImage(t *testing.T) {
	// A real Go binary with dependencies: Vigil itself (test binaries carry
	// no dependency list).
	root := sh(t, "go env GOMOD")
	root = strings.TrimSuffix(root, "/go.mod")
	self := t.TempDir() + "/vigil"
	if out, err := exec.Command("sh", "-c", `cd "$1" && CGO_ENABLED=0 go build -o "$2" ./cmd/vigil`, "sh", root, self).CombinedOutput(); err != nil {
		t.Fatalf("build vigil: %v\n%s", err, out)
	}
	wantMods := map[string]bool{}
	for _, m := range strings.Fields(sh(t, `cd "`+root+`" && go list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}}@{{.Version}}{{end}}{{end}}' ./cmd/vigil`)) {
		wantMods[m] = true
	}
	var err error
	for _, p := range []string{"/etc/os-release", "/var/lib/dpkg/status"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("needs a Debian machine: %v", err)
		}
	}
	layers := []v1.Layer{
		layer(t, [][2]string{{"etc/os-release", "/etc/os-release"}, {"var/lib/dpkg/status", "/var/lib/dpkg/status"}, {"usr/local/bin/self", self}}),
		layer(t, [][2]string{{"usr/bin/app", self}}),
		layer(t, [][2]string{{"usr/local/bin/.wh.self", ""}}),
	}
	img := empty.Image
	for _, l := range layers {
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	f, err := AnalyzeImage(context.Background(), img, All())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Err(); err != nil {
		t.Errorf("findings errors: %v", err)
	}

	id, ver := sh(t, `. /etc/os-release; echo "$ID"`), sh(t, `. /etc/os-release; echo "$VERSION_ID"`)
	if f.OS == nil || f.OS.ID != id || f.OS.VersionID != ver {
		t.Fatalf("OS %+v, want %s %s", f.OS, id, ver)
	}
	nInstalled := len(strings.Fields(sh(t, `dpkg-query -W -f='${db:Status-Status}\n' | grep -x installed`)))
	l0, _ := layers[0].Digest()
	l1, _ := layers[1].Digest()
	var deb, gomods int
	gotMods := map[string]bool{}
	for _, p := range f.Packages {
		switch p.Type {
		case analyzer.TypeDpkg:
			deb++
			if p.Layer != l0.String() || !strings.HasSuffix(p.PURL, "&distro="+id+"-"+ver) {
				t.Errorf("dpkg %s: layer %s purl %s", p.Name, p.Layer, p.PURL)
			}
		case analyzer.TypeGoBinary:
			gomods++
			if p.FilePath != "usr/bin/app" || p.Layer != l1.String() {
				t.Errorf("go module %s from %s in %s: the whiteout should leave only usr/bin/app of layer 1", p.Name, p.FilePath, p.Layer)
			}
			if p.Indirect && p.Name != "stdlib" {
				gotMods[p.Name+"@"+p.Version] = true
			} else if !p.Indirect && p.Name != "github.com/vigilsec/vigil" {
				t.Errorf("main module %s", p.Name)
			}
		}
	}
	if deb != nInstalled {
		t.Errorf("%d dpkg packages, dpkg-query lists %d installed", deb, nInstalled)
	}
	if len(wantMods) < 3 || len(gotMods) != len(wantMods) {
		t.Errorf("go modules: got %d, go list says %d", len(gotMods), len(wantMods))
	}
	for m := range wantMods {
		if !gotMods[m] {
			t.Errorf("module %s missing", m)
		}
	}
	t.Logf("os %s %s, %d deb, %d go", f.OS.ID, f.OS.VersionID, deb, gomods)
}
