package benchscan

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// imageVersion names the cached image; bump it when the recipe changes.
const imageVersion = 1

// Sizes of the image's layers above the minbase.
const (
	realLibBytes  = 400 << 20 // copies of /usr/lib/x86_64-linux-gnu
	bigBlobs      = 4         // random files of bigBlobSize
	bigBlobSize   = 100 << 20
	smallBlobs    = 1000 // random files of smallBlobSize
	smallBlobSize = 64 << 10
)

// cacheDir holds the root filesystem and the image between runs.
func cacheDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("VIGIL_BENCH_CACHE")
	if dir == "" {
		dir = "/var/cache/vigil"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("cache directory: %v", err)
	}
	return dir
}

// minbase returns a Debian bookworm minbase root filesystem, made once with
// debootstrap into the cache directory (or VIGIL_BENCH_ROOTFS).
func minbase(t *testing.T) string {
	t.Helper()
	if root := os.Getenv("VIGIL_BENCH_ROOTFS"); root != "" {
		return root
	}
	root := filepath.Join(cacheDir(t), "bookworm-minbase")
	if _, err := os.Stat(filepath.Join(root, "var/lib/dpkg/status")); err == nil {
		return root
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		t.Skipf("debootstrap not installed (scripts/deps.sh installs it): %v", err)
	}
	tmp := root + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := exec.Command("debootstrap", "--variant=minbase", "bookworm", tmp, "http://deb.debian.org/debian").CombinedOutput()
	if err != nil {
		t.Skipf("debootstrap bookworm (needs deb.debian.org): %v\n%s", err, out)
	}
	if err := os.Rename(tmp, root); err != nil {
		t.Fatal(err)
	}
	t.Logf("debootstrap bookworm minbase into %s: %s", root, time.Since(start).Round(time.Second))
	return root
}

// benchImage describes the cached image.
type benchImage struct {
	Path    string `json:"path"`
	Entries int64  `json:"entries"` // tar entries over all layers
	Bytes   int64  `json:"bytes"`   // uncompressed layer bytes
	Layers  int    `json:"layers"`
}

// bigImage returns the docker-save image, built once into the cache
// directory from the minbase root filesystem.
func bigImage(t *testing.T, root string) benchImage {
	t.Helper()
	dir := cacheDir(t)
	tarPath := filepath.Join(dir, fmt.Sprintf("bench-image-v%d.tar", imageVersion))
	metaPath := tarPath + ".json"
	if data, err := os.ReadFile(metaPath); err == nil {
		var bi benchImage
		if err := json.Unmarshal(data, &bi); err != nil {
			t.Fatalf("%s: %v", metaPath, err)
		}
		if _, err := os.Stat(bi.Path); err == nil {
			return bi
		}
	}
	start := time.Now()
	work := t.TempDir()
	type step struct {
		createdBy string
		write     func(tw *tar.Writer) error
	}
	steps := []step{
		{"ADD bookworm-minbase.tar / # debootstrap --variant=minbase", func(tw *tar.Writer) error {
			return addTree(tw, root, "", -1)
		}},
		{"COPY /usr/lib/x86_64-linux-gnu /opt/vendor/lib # real shared objects", func(tw *tar.Writer) error {
			return addTree(tw, "/usr/lib/x86_64-linux-gnu", "opt/vendor/lib", realLibBytes)
		}},
		{"COPY /usr/local/go /usr/local/go # Go toolchain: real Go binaries and go.mod files", func(tw *tar.Writer) error {
			return addTree(tw, "/usr/local/go", "usr/local/go", -1)
		}},
		{"RUN generate random data", addRandom},
		{"RUN rm -rf /usr/local/go/test && echo bench > /etc/bench-release", func(tw *tar.Writer) error {
			if err := tw.WriteHeader(&tar.Header{Name: "usr/local/go/.wh.test", Typeflag: tar.TypeReg, Mode: 0o644}); err != nil {
				return err
			}
			data := []byte("bench\n")
			if err := tw.WriteHeader(&tar.Header{Name: "etc/bench-release", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}); err != nil {
				return err
			}
			_, err := tw.Write(data)
			return err
		}},
	}
	bi := benchImage{Path: tarPath, Layers: len(steps)}
	img := empty.Image
	var hist []v1.History
	for i, s := range steps {
		p := filepath.Join(work, fmt.Sprintf("layer%d.tar", i))
		n, size, err := writeLayer(p, s.write)
		if err != nil {
			t.Fatalf("layer %d (%s): %v", i, s.createdBy, err)
		}
		bi.Entries += n
		bi.Bytes += size
		l, err := tarball.LayerFromFile(p, tarball.WithCompressionLevel(gzip.BestSpeed))
		if err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatalf("append layer %d: %v", i, err)
		}
		hist = append(hist, v1.History{CreatedBy: s.createdBy, Created: v1.Time{Time: time.Unix(1700000000, 0).UTC()}})
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.History = hist
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Cmd = []string{"/bin/bash"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	tmp := tarPath + ".tmp"
	if err := tarball.WriteToFile(tmp, name.MustParseReference("vigil.bench/bookworm-big:1"), img); err != nil {
		t.Fatalf("write %s: %v", tmp, err)
	}
	if err := os.Rename(tmp, tarPath); err != nil {
		t.Fatal(err)
	}
	meta, err := json.Marshal(bi)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(metaPath, meta, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s (%d layers, %d entries, %d MiB uncompressed) in %s", tarPath, bi.Layers, bi.Entries, bi.Bytes>>20, time.Since(start).Round(time.Second))
	return bi
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeLayer writes an uncompressed layer tar to p with fill and returns
// its entry count and size.
func writeLayer(p string, fill func(tw *tar.Writer) error) (entries, size int64, err error) {
	f, err := os.Create(p)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	cw := &countWriter{w: f}
	tw := tar.NewWriter(cw)
	if err := fill(tw); err != nil {
		return 0, 0, err
	}
	if err := tw.Close(); err != nil {
		return 0, 0, err
	}
	if err := f.Close(); err != nil {
		return 0, 0, err
	}
	entries, err = countEntries(p)
	return entries, cw.n, err
}

// countEntries counts the entries of a tar file.
func countEntries(p string) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var n int64
	for {
		_, err := tr.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("count entries of %s: %w", p, err)
		}
		n++
	}
}

// addTree adds the directories, regular files and symbolic links under src
// to tw below prefix, stopping after limit bytes of file content (-1: no
// limit). Other file types (devices, sockets) are left out.
func addTree(tw *tar.Writer, src, prefix string, limit int64) error {
	var total int64
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(filepath.Join(prefix, rel))
		if name == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if limit >= 0 && total+info.Size() > limit {
				return nil
			}
			total += info.Size()
		case info.IsDir():
		default:
			return nil
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		h.Name = name
		if info.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname = "", ""
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := io.CopyN(tw, f, info.Size()); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return nil
	})
}

// addRandom adds incompressible files: a few large ones and many small.
func addRandom(tw *tar.Writer) error {
	rng := rand.NewChaCha8([32]byte{'v', 'i', 'g', 'i', 'l'})
	if err := tw.WriteHeader(&tar.Header{Name: "data/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "data/small/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		return err
	}
	add := func(name string, size int64) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: size}); err != nil {
			return err
		}
		_, err := io.CopyN(tw, rng, size)
		return err
	}
	for i := range bigBlobs {
		if err := add(fmt.Sprintf("data/blob-%02d.bin", i), bigBlobSize); err != nil {
			return err
		}
	}
	for i := range smallBlobs {
		if err := add(fmt.Sprintf("data/small/%04d.bin", i), smallBlobSize); err != nil {
			return err
		}
	}
	return nil
}
