// Package imagetest builds image layers from real files of the machine for
// the scanner's tests.
package imagetest

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Entry is one tar entry of a layer.
type Entry struct {
	Name     string // tar name, as written
	Src      string // real file whose content and mode are stored; empty for dirs and markers
	Typeflag byte
}

// Layer returns an uncompressed layer holding entries, in order. Entries
// default to mode 0644, directories 0755; an entry with a Src takes that
// file's content and permissions.
func Layer(t testing.TB, entries []Entry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: 0o644, Typeflag: e.Typeflag}
		var data []byte
		if e.Typeflag == tar.TypeDir {
			h.Mode = 0o755
		} else if e.Src != "" {
			var err error
			if data, err = os.ReadFile(e.Src); err != nil {
				t.Fatalf("read %s: %v", e.Src, err)
			}
			h.Size = int64(len(data))
			if st, err := os.Stat(e.Src); err == nil {
				h.Mode = int64(st.Mode().Perm())
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
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
