// Package scantest builds small but real container images for the scanner's
// tests: busybox-static, a real .deb built with dpkg-deb and installed with
// dpkg --root, a Go binary linked against a vulnerable golang.org/x/text,
// account files made with chpasswd, and a vulnerability database loaded
// with real advisories. Everything it needs is installed by scripts/deps.sh.
package scantest

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/vigilsec/vigil/internal/scan/vulndb"
)

// Facts of the built image that tests assert on.
const (
	XTextVersion    = "v0.3.0" // vulnerable golang.org/x/text linked into the Go binary
	XTextAdvisory   = "GO-2020-0015"
	XTextFixed      = "0.3.3"
	DebPackage      = "openssl-vigiltest" // binary package built by dpkg-deb
	DebSource       = "openssl"
	DebVersion      = "3.0.11-1~deb12u2"
	DebAdvisory     = "DEBIAN-CVE-2023-5678"
	DebFixed        = "3.0.13-1~deb12u1"
	AppPath         = "usr/local/bin/app"
	AppCreatedBy    = "COPY app /usr/local/bin/app # buildkit"
	BaseCreatedBy   = "/bin/sh -c #(nop) ADD file:busybox-and-deb in / "
	CacheCreatedBy  = "RUN /bin/sh -c apt-get install -y openssl-vigiltest # buildkit"
	WeakRootPasswd  = "toor"
	EnvSecretName   = "DB_PASSWORD"
	EnvSecretValue  = "s3cr3t-Value-4242"
	ImageRef        = "vigil.test/scan:1"
	goAdvisoryFiles = "GO-2020-0015.json GO-2021-0113.json GO-2022-1059.json"
)

// Image is a built test image and where it was written.
type Image struct {
	Image        v1.Image
	DockerTar    string
	OCIDir       string
	OCITar       string
	LayerDigests []string // base first
	LayerDiffIDs []string
}

// ModuleRoot returns the directory holding Vigil's go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func need(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (scripts/deps.sh installs it): %v", tool, err)
		}
	}
}

func run(t testing.TB, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// GoBinary builds a small program linked against golang.org/x/text
// v0.3.0 (offline, from the module cache that scripts/deps.sh fills).
func GoBinary(t testing.TB, dir string) string {
	t.Helper()
	need(t, "go")
	src := filepath.Join(dir, "app-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"go.mod":  "module example.com/app\n\ngo 1.22\n\nrequire golang.org/x/text " + XTextVersion + "\n",
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"golang.org/x/text/language\"\n)\n\nfunc main() { fmt.Println(language.Make(\"en-US\")) }\n",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(src, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "app")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off", "GOWORK=off", "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("build a Go binary against golang.org/x/text %s (scripts/deps.sh downloads it into the module cache): %v\n%s", XTextVersion, err, out)
	}
	return bin
}

// Deb builds a real Debian package with dpkg-deb and installs it with
// dpkg --root into root, leaving a real var/lib/dpkg/status there. It
// returns the .deb.
func Deb(t testing.TB, dir, root string) string {
	t.Helper()
	need(t, "dpkg-deb", "dpkg")
	pkg := filepath.Join(dir, "deb")
	for _, d := range []string{"DEBIAN", "usr/share/doc/" + DebPackage} {
		if err := os.MkdirAll(filepath.Join(pkg, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	control := "Package: " + DebPackage + "\nSource: " + DebSource + "\nVersion: " + DebVersion +
		"\nArchitecture: amd64\nMaintainer: Vigil tests <tests@vigil.invalid>\nDescription: test package built by Vigil's scanner tests\n"
	if err := os.WriteFile(filepath.Join(pkg, "DEBIAN/control"), []byte(control), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, "usr/share/doc", DebPackage, "README"), []byte("test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(dir, DebPackage+".deb")
	run(t, dir, nil, "dpkg-deb", "--root-owner-group", "--build", pkg, deb)
	for _, d := range []string{"var/lib/dpkg/updates", "var/lib/dpkg/info", "var/lib/dpkg/triggers"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, nil, "dpkg", "--root="+root, "--force-not-root", "--force-script-chrootless", "--force-depends",
		"--log=/dev/null", "-i", deb)
	return deb
}

// Shadow sets root's password to WeakRootPasswd with chpasswd -R (SHA512,
// cheap to check) in a chroot made of root's etc/passwd and etc/shadow.
func Shadow(t testing.TB, root string) {
	t.Helper()
	need(t, "chpasswd")
	if os.Geteuid() != 0 {
		t.Skip("chpasswd -R needs root")
	}
	etc := filepath.Join(root, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0:backdoor:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"
	shadow := "root:*:19000:0:99999:7:::\ntoor:!:19000:0:99999:7:::\napp:!:19000:0:99999:7:::\n"
	if err := os.WriteFile(filepath.Join(etc, "passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "shadow"), []byte(shadow), 0o640); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("chpasswd", "-R", root, "-c", "SHA512")
	cmd.Stdin = strings.NewReader("root:" + WeakRootPasswd + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v\n%s", err, out)
	}
}

// entry is one file of a layer.
type entry struct {
	name string
	mode int64
	data []byte
	typ  byte
	link string
}

func fileEntry(t testing.TB, name, src string, mode int64) entry {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("read %s: %v", src, err)
	}
	return entry{name: name, mode: mode, data: data, typ: tar.TypeReg}
}

// Layer makes an uncompressed layer from entries.
func layer(t testing.TB, entries []entry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: e.typ, Size: int64(len(e.data)), Linkname: e.link,
			ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// BuildImage builds the test image in dir and writes it as a docker-save
// tarball, an OCI layout directory and an OCI layout tarball. Layers:
//  0. busybox-static, /etc/os-release of this (Debian) machine, account
//     files, the dpkg database holding DebPackage, a setuid binary;
//  1. the Go binary at AppPath;
//  2. the .deb left in var/cache/apt/archives.
//
// The config has no USER and an ENV secret.
func BuildImage(t testing.TB, dir string) *Image {
	t.Helper()
	need(t, "busybox")
	for _, p := range []string{"/etc/os-release", "/bin/busybox"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("needs a Debian machine with busybox-static: %v", err)
		}
	}
	root := filepath.Join(dir, "root")
	deb := Deb(t, dir, root)
	Shadow(t, root)
	app := GoBinary(t, dir)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal(err)
	}
	dirEntry := func(n string) entry { return entry{name: n, mode: 0o755, typ: tar.TypeDir} }
	base := []entry{
		dirEntry("bin/"), dirEntry("etc/"), dirEntry("usr/"), dirEntry("usr/bin/"), dirEntry("var/"), dirEntry("var/lib/"), dirEntry("var/lib/dpkg/"),
		fileEntry(t, "bin/busybox", busybox, 0o755),
		{name: "bin/sh", mode: 0o777, typ: tar.TypeSymlink, link: "busybox"},
		fileEntry(t, "usr/bin/passwd", busybox, 0o4755),
		fileEntry(t, "etc/os-release", "/etc/os-release", 0o644),
		fileEntry(t, "etc/passwd", filepath.Join(root, "etc/passwd"), 0o644),
		fileEntry(t, "etc/shadow", filepath.Join(root, "etc/shadow"), 0o640),
		fileEntry(t, "var/lib/dpkg/status", filepath.Join(root, "var/lib/dpkg/status"), 0o644),
	}
	layers := []v1.Layer{
		layer(t, base),
		layer(t, []entry{dirEntry("usr/local/"), dirEntry("usr/local/bin/"), fileEntry(t, AppPath, app, 0o755)}),
		layer(t, []entry{dirEntry("var/cache/"), dirEntry("var/cache/apt/"), dirEntry("var/cache/apt/archives/"),
			fileEntry(t, "var/cache/apt/archives/"+filepath.Base(deb), deb, 0o644)}),
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", EnvSecretName + "=" + EnvSecretValue}
	cf.Config.Cmd = []string{"/usr/local/bin/app"}
	created := v1.Time{Time: time.Unix(1700000000, 0).UTC()}
	cf.Created = created
	cf.History = []v1.History{
		{CreatedBy: BaseCreatedBy, Created: created},
		{CreatedBy: "ENV " + EnvSecretName + "=" + EnvSecretValue, EmptyLayer: true, Created: created},
		{CreatedBy: AppCreatedBy, Created: created},
		{CreatedBy: CacheCreatedBy, Created: created},
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	out := &Image{Image: img, DockerTar: filepath.Join(dir, "image-docker.tar"), OCIDir: filepath.Join(dir, "image-oci"), OCITar: filepath.Join(dir, "image-oci.tar")}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out.LayerDigests = append(out.LayerDigests, d.String())
		di, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		out.LayerDiffIDs = append(out.LayerDiffIDs, di.String())
	}
	ref, err := name.NewTag(ImageRef)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(out.DockerTar, ref, img); err != nil {
		t.Fatal(err)
	}
	p, err := layout.Write(out.OCIDir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	TarDir(t, out.OCIDir, out.OCITar)
	return out
}

// TarDir writes the regular files and directories of dir into a tar file.
func TarDir(t testing.TB, dir, dst string) {
	t.Helper()
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = tw.Write(data)
			return err
		}
		return nil
	})
	if err == nil {
		err = tw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

// DB creates a vulnerability database in dir with the Go advisories for
// golang.org/x/text (real golang/vulndb records from /work/shared/data or
// testdata) and the Debian tracker sample of internal/scan/vulndb.
func DB(t testing.TB, dir string) string {
	t.Helper()
	root := ModuleRoot(t)
	src := filepath.Join(dir, "advisories")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	osvDir := filepath.Join(root, "..", "shared", "data", "vuln", "golang-vulndb", "osv")
	for _, f := range strings.Fields(goAdvisoryFiles) {
		data, err := os.ReadFile(filepath.Join(osvDir, f))
		if err != nil {
			t.Skipf("golang/vulndb advisory %s not available: %v", f, err)
		}
		if err := os.WriteFile(filepath.Join(src, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tracker, err := os.ReadFile(filepath.Join(root, "internal/scan/vulndb/testdata/debian/tracker.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "debian-tracker.json"), tracker, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "vulndb.sqlite")
	ctx := context.Background()
	db, err := vulndb.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := vulndb.Import(ctx, db, src); err != nil {
		t.Fatalf("import %s: %v", src, err)
	}
	return path
}

// Truncate writes a copy of a docker-save tarball whose layer lay is cut
// in half, to test damaged input.
func Truncate(t testing.TB, dockerTar, dst string, lay int) {
	t.Helper()
	in, err := os.Open(dockerTar)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	tr := tar.NewReader(in)
	tw := tar.NewWriter(out)
	layerIdx := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(h.Name, ".tar.gz") || strings.HasSuffix(h.Name, ".tar") {
			if layerIdx == lay {
				data = data[:len(data)/2]
				h.Size = int64(len(data))
			}
			layerIdx++
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(fmt.Errorf("write %s: %w", h.Name, err))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}
