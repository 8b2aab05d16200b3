package forensics

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Bundle file names.
const (
	ManifestFile   = "manifest.json"
	CustodyFile    = "custody.log"
	IncompleteFile = "INCOMPLETE"
	// Format is the manifest's format identifier.
	Format = "vigil-forensics/1"
)

// ErrMismatch means a bundle file does not match its manifest entry.
var ErrMismatch = errors.New("bundle does not match its manifest")

// FileEntry is one file of a bundle in the manifest.
type FileEntry struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Manifest lists every file of a bundle but itself.
type Manifest struct {
	Format  string      `json:"format"`
	Created time.Time   `json:"created"`
	Target  string      `json:"target"`
	Custody Custody     `json:"custody"`
	Files   []FileEntry `json:"files"`
}

// Custody is the chain-of-custody record of a capture: who ran it, where,
// when, with which binary and command line.
type Custody struct {
	Action      string    `json:"action"`
	Time        time.Time `json:"time"`
	UID         int       `json:"uid"`
	User        string    `json:"user"`
	SudoUser    string    `json:"sudo_user,omitempty"`
	Host        string    `json:"host"`
	Version     string    `json:"vigil_version"`
	CommandLine []string  `json:"command_line"`
	PID         int       `json:"pid"`
	Note        string    `json:"note,omitempty"`
}

// bundleWriter writes files into a staging directory, hashing them.
type bundleWriter struct {
	dir   string
	files map[string]FileEntry
}

func newBundleWriter(dir string) *bundleWriter {
	return &bundleWriter{dir: dir, files: map[string]FileEntry{}}
}

// create opens name (slash-separated, relative) for writing; close the
// returned writer to record its hash.
func (b *bundleWriter) create(name string) (*hashFile, error) {
	if !fs.ValidPath(name) || name == ManifestFile {
		return nil, fmt.Errorf("bundle path %q is not valid", name)
	}
	p := filepath.Join(b.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	return &hashFile{f: f, h: sha256.New(), name: name, b: b}, nil
}

func (b *bundleWriter) writeFile(name string, data []byte) error {
	f, err := b.create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	return f.Close()
}

func (b *bundleWriter) writeJSON(name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	return b.writeFile(name, append(data, '\n'))
}

type hashFile struct {
	f *os.File
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	n    int64
	name string
	b    *bundleWriter
}

func (w *hashFile) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

func (w *hashFile) Close() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", w.name, err)
	}
	w.b.files[w.name] = FileEntry{Path: w.name, SHA256: hex.EncodeToString(w.h.Sum(nil)), Size: w.n}
	return nil
}

// finish writes manifest.json and returns its bytes.
func (b *bundleWriter) finish(m Manifest) ([]byte, error) {
	m.Files = make([]FileEntry, 0, len(b.files))
	for _, e := range b.files {
		m.Files = append(m.Files, e)
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	data = append(data, '\n')
	if err := os.WriteFile(filepath.Join(b.dir, ManifestFile), data, 0o600); err != nil {
		return nil, fmt.Errorf("write manifest: %w", err)
	}
	return data, nil
}

// writeTarGz packs the staging directory into out (manifest first).
func writeTarGz(dir string, out io.Writer, names []string) error {
	zw := gzip.NewWriter(out)
	tw := tar.NewWriter(zw)
	for _, name := range append([]string{ManifestFile}, names...) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: name, Mode: 0o600, Size: st.Size(), ModTime: st.ModTime(), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// Verify checks every file of the bundle at p (a directory or a .tar.gz)
// against its manifest: hash and size, no file missing, none extra. The
// error names the first mismatch in manifest order and wraps ErrMismatch.
func Verify(p string) (*Manifest, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	got := map[string]FileEntry{}
	var manifest []byte
	if st.IsDir() {
		if _, err := os.Stat(filepath.Join(p, IncompleteFile)); err == nil {
			return nil, fmt.Errorf("%s: capture did not complete (%s present): %w", p, IncompleteFile, ErrMismatch)
		}
		err = filepath.WalkDir(p, func(fp string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(p, fp)
			rel = filepath.ToSlash(rel)
			if d.IsDir() {
				return nil
			}
			if !d.Type().IsRegular() {
				got[rel] = FileEntry{Path: rel, SHA256: "not a regular file", Size: -1}
				return nil
			}
			if rel == ManifestFile {
				manifest, err = os.ReadFile(fp)
				return err
			}
			f, err := os.Open(fp)
			if err != nil {
				return err
			}
			defer f.Close()
			e, err := hashReader(rel, f)
			got[rel] = e
			return err
		})
	} else {
		manifest, err = verifyTar(p, got)
	}
	if err != nil {
		return nil, fmt.Errorf("read bundle %s: %w", p, err)
	}
	if manifest == nil {
		return nil, fmt.Errorf("%s: no %s: %w", p, ManifestFile, ErrMismatch)
	}
	var m Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, fmt.Errorf("%s: %s: %w (%w)", p, ManifestFile, err, ErrMismatch)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%s: format %q, want %q: %w", p, m.Format, Format, ErrMismatch)
	}
	seen := map[string]bool{}
	for _, e := range m.Files {
		seen[e.Path] = true
		g, ok := got[e.Path]
		switch {
		case !ok:
			return &m, fmt.Errorf("%s: missing: %w", e.Path, ErrMismatch)
		case g.Size != e.Size:
			return &m, fmt.Errorf("%s: size %d, manifest says %d: %w", e.Path, g.Size, e.Size, ErrMismatch)
		case g.SHA256 != e.SHA256:
			return &m, fmt.Errorf("%s: sha256 %s, manifest says %s: %w", e.Path, g.SHA256, e.SHA256, ErrMismatch)
		}
	}
	var extra []string
	for name := range got {
		if !seen[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return &m, fmt.Errorf("%s: not in the manifest: %w", extra[0], ErrMismatch)
	}
	return &m, nil
}

func hashReader(name string, r io.Reader) (FileEntry, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return FileEntry{Path: name, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, err
}

func verifyTar(p string, got map[string]FileEntry) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	var manifest []byte
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		if hdr.Typeflag == tar.TypeDir {
			continue
		}
		if hdr.Typeflag != tar.TypeReg {
			got[name] = FileEntry{Path: name, SHA256: "not a regular file", Size: -1}
			continue
		}
		if name == ManifestFile {
			if manifest, err = io.ReadAll(io.LimitReader(tr, 256<<20)); err != nil {
				return nil, err
			}
			continue
		}
		if name == IncompleteFile {
			return nil, fmt.Errorf("capture did not complete (%s present): %w", IncompleteFile, ErrMismatch)
		}
		e, err := hashReader(name, tr)
		if err != nil {
			return nil, err
		}
		got[name] = e
	}
	return manifest, nil
}
