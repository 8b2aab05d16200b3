package image

import (
	"github.com/vigilsec/vigil/internal/scan/image/imagetest"

	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func readReal(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return b
}

var history = []string{"COPY rootfs / # base", "RUN rm /etc/passwd && fix secret-dir", "COPY debian_version /etc/os-release"}

// testImage builds a three-layer image from files of this machine:
// layer 0 holds os-release, dpkg status, passwd, a directory and this test
// binary; layer 1 whiteouts passwd, makes secret-dir opaque and carries an
// escaping entry; layer 2 replaces os-release.
func testImage(t *testing.T) v1.Image {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	l0 := imagetest.Layer(t, []imagetest.Entry{
		{Name: "./etc/", Typeflag: tar.TypeDir},
		{Name: "./etc/os-release", Src: "/etc/os-release"},
		{Name: "./etc/passwd", Src: "/etc/passwd"},
		{Name: "./etc/secret-dir/a", Src: "/etc/hostname"},
		{Name: "var/lib/dpkg/status", Src: "/var/lib/dpkg/status"},
		{Name: "usr/local/bin/self", Src: self},
	})
	l1 := imagetest.Layer(t, []imagetest.Entry{
		{Name: "etc/.wh.passwd", Typeflag: tar.TypeReg},
		{Name: "etc/secret-dir/.wh..wh..opq", Typeflag: tar.TypeReg},
		{Name: "etc/secret-dir/b", Src: "/etc/hostname"},
		{Name: "../escape", Src: "/etc/hostname"},
		{Name: "etc/../../../escape2", Src: "/etc/hostname"},
		{Name: "/abs/inside", Src: "/etc/hostname"},
	})
	l2 := imagetest.Layer(t, []imagetest.Entry{
		{Name: "etc/os-release", Src: "/etc/debian_version"},
	})
	img := empty.Image
	for i, l := range []v1.Layer{l0, l1, l2} {
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: history[i]}})
		if err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	// An ENV step between layers 0 and 1 adds an empty_layer history entry.
	cfg.History = []v1.History{cfg.History[0], {CreatedBy: "ENV A=1", EmptyLayer: true}, cfg.History[1], cfg.History[2]}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func writeFormats(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	dir := t.TempDir()
	docker := filepath.Join(dir, "docker.tar")
	ref, err := name.ParseReference("vigil.test/walk:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(docker, ref, img); err != nil {
		t.Fatal(err)
	}
	ociDir := filepath.Join(dir, "oci")
	p, err := layout.Write(ociDir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	ociTar := filepath.Join(dir, "oci.tar")
	f, err := os.Create(ociTar)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	if err := tw.AddFS(os.DirFS(ociDir)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"docker-archive": docker, "oci-layout": ociDir, "oci-archive": ociTar}
}

type seen struct {
	layer int
	data  []byte
}

// walkModes are the ways of walking every test runs: one layer at a time,
// two layers at once, and three at once with a read-ahead budget so small
// that readers wait for the walk.
var walkModes = map[string]WalkOptions{"sequential": {}, "parallel": {Parallel: 2}, "parallel-small-budget": {Parallel: 3, ReadAhead: 1024}}

func collect(t *testing.T, img v1.Image, wanted WantedFunc, mode WalkOptions) (map[string]seen, []LayerInfo, *Report) {
	t.Helper()
	got := map[string]seen{}
	var infos []LayerInfo
	var visible []string
	mode.Wanted = wanted
	mode.Visible = func(_ LayerInfo, f FileInfo) { visible = append(visible, f.Path) }
	rep, err := WalkWith(context.Background(), img, mode, func(l LayerInfo, f FileInfo, r io.Reader) error {
		if len(visible) == 0 || visible[len(visible)-1] != f.Path {
			t.Errorf("%s reached fn before Visible", f.Path)
		}
		if _, dup := got[f.Path]; dup {
			t.Errorf("path %s reported twice", f.Path)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if int64(len(b)) != f.Size {
			t.Errorf("%s: read %d bytes, header says %d", f.Path, len(b), f.Size)
		}
		got[f.Path] = seen{layer: l.Index, data: b}
		if len(infos) == 0 || infos[len(infos)-1].Index != l.Index {
			infos = append(infos, l)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	return got, infos, rep
}

func TestWalkFormats(t *testing.T) {
	img := testImage(t)
	srcLayers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	for format, p := range writeFormats(t, img) {
		for mode, opt := range walkModes {
			t.Run(format+"/"+mode, func(t *testing.T) { walkFormat(t, p, srcLayers, self, opt) })
		}
	}
}

func walkFormat(t *testing.T, p string, srcLayers []v1.Layer, self string, opt WalkOptions) {
	opened, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	infos, _, err := Layers(opened)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 3 {
		t.Fatalf("got %d layers, want 3", len(infos))
	}
	for i, li := range infos {
		want, _ := srcLayers[i].Digest()
		if li.Digest != want {
			t.Errorf("layer %d digest %s, want %s", i, li.Digest, want)
		}
		if li.CreatedBy != history[i] {
			t.Errorf("layer %d created_by %q, want %q", i, li.CreatedBy, history[i])
		}
	}

	got, _, rep := collect(t, opened, func(string, fs.FileMode) bool { return true }, opt)
	wantFiles := map[string]seen{
		"etc/os-release":      {2, readReal(t, "/etc/debian_version")},
		"etc/secret-dir/b":    {1, readReal(t, "/etc/hostname")},
		"abs/inside":          {1, readReal(t, "/etc/hostname")},
		"var/lib/dpkg/status": {0, readReal(t, "/var/lib/dpkg/status")},
		"usr/local/bin/self":  {0, readReal(t, self)},
		"etc":                 {0, nil},
	}
	for path, w := range wantFiles {
		g, ok := got[path]
		if !ok {
			t.Errorf("%s missing", path)
			continue
		}
		if g.layer != w.layer || !bytes.Equal(g.data, w.data) {
			t.Errorf("%s: layer %d, %d bytes; want layer %d, %d bytes", path, g.layer, len(g.data), w.layer, len(w.data))
		}
	}
	for path := range got {
		if _, ok := wantFiles[path]; !ok {
			t.Errorf("unexpected visible path %s", path)
		}
	}
	var esc []string
	for _, e := range rep.Escapes {
		esc = append(esc, e.Name)
		if e.Layer != infos[1].Digest {
			t.Errorf("escape %s attributed to %s, want layer 1", e.Name, e.Layer)
		}
	}
	if strings.Join(esc, ",") != "../escape,etc/../../../escape2" {
		t.Errorf("escapes = %q", esc)
	}
	if rep.Err() != nil {
		t.Errorf("layer errors: %v", rep.Err())
	}

	// Only wanted paths reach the callback.
	got, _, _ = collect(t, opened, func(p string, _ fs.FileMode) bool { return p == "var/lib/dpkg/status" || p == "etc/passwd" }, opt)
	if len(got) != 1 || got["var/lib/dpkg/status"].data == nil {
		t.Errorf("wanted filter: got %d paths", len(got))
	}
}

func TestWalkCorruptLayer(t *testing.T) {
	img := testImage(t)
	ociDir := writeFormats(t, img)["oci-layout"]
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := layers[1].Digest()
	blob := filepath.Join(ociDir, "blobs", bad.Algorithm, bad.Hex)
	st, err := os.Stat(blob)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(blob, st.Size()/2); err != nil {
		t.Fatal(err)
	}
	opened, err := Open(ociDir)
	if err != nil {
		t.Fatal(err)
	}
	for mode, opt := range walkModes {
		t.Run(mode, func(t *testing.T) { walkCorrupt(t, opened, bad, opt) })
	}
}

func walkCorrupt(t *testing.T, opened v1.Image, bad v1.Hash, opt WalkOptions) {
	got, _, rep := collect(t, opened, nil, opt)
	if len(rep.LayerErrors) != 1 || rep.LayerErrors[0].Layer != bad {
		t.Fatalf("layer errors = %v, want one for %s", rep.Err(), bad)
	}
	if !strings.Contains(rep.Err().Error(), bad.String()) {
		t.Errorf("error %q does not name layer %s", rep.Err(), bad)
	}
	if g := got["etc/os-release"]; g.layer != 2 {
		t.Errorf("layer 2 not read after corrupt layer 1")
	}
	if _, ok := got["var/lib/dpkg/status"]; !ok {
		t.Errorf("layer 0 not read after corrupt layer 1")
	}
}

func TestWalkStopsOnCallbackError(t *testing.T) {
	img := testImage(t)
	stop := errors.New("stop")
	for mode, opt := range walkModes {
		calls := 0
		_, err := WalkWith(context.Background(), img, opt, func(LayerInfo, FileInfo, io.Reader) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("%s: err = %v after %d calls, want stop after 1", mode, err, calls)
		}
	}
}

func TestNormalizePath(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"./etc/os-release", "etc/os-release", true},
		{"/usr/bin/x", "usr/bin/x", true},
		{"a/b/../c", "a/c", true},
		{"a/../../x", "", false},
		{"../x", "", false},
		{"..", "", false},
		{"/../x", "", false}, // reported rather than silently clamped to the root
	} {
		got, ok := NormalizePath(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizePath(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
