// Package image opens container images (docker-save tarballs, OCI layout
// directories and OCI layout tarballs) and walks their layers as streams,
// pairing each layer with the history entry that produced it and applying
// whiteouts so deleted files stay hidden. Nothing is extracted to disk.
package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrNoImage is returned when an OCI index holds no image manifest.
var ErrNoImage = errors.New("no image manifest in index")

// Open opens the image at p, detecting its format: a directory is read as an
// OCI layout; a tar holding index.json and oci-layout as an OCI layout
// archive; any other tar as a docker-save archive.
func Open(p string) (v1.Image, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("open image %s: %w", p, err)
	}
	if st.IsDir() {
		return OpenOCILayout(p)
	}
	isOCI, err := tarHasOCILayout(p)
	if err != nil {
		return nil, fmt.Errorf("open image %s: %w", p, err)
	}
	if isOCI {
		return OpenOCIArchive(p)
	}
	return OpenDockerArchive(p)
}

// OpenDockerArchive opens the first image of a `docker save` tarball.
func OpenDockerArchive(p string) (v1.Image, error) {
	img, err := openDockerArchive(p)
	if err != nil {
		return nil, fmt.Errorf("open docker archive %s: %w", p, err)
	}
	return img, nil
}

// OpenOCILayout opens the first image of the OCI image layout directory dir,
// descending into nested indexes.
func OpenOCILayout(dir string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("open oci layout %s: %w", dir, err)
	}
	img, err := firstImage(idx)
	if err != nil {
		return nil, fmt.Errorf("open oci layout %s: %w", dir, err)
	}
	return img, nil
}

func firstImage(idx v1.ImageIndex) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsImage():
			return idx.Image(d.Digest)
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			img, err := firstImage(child)
			if errors.Is(err, ErrNoImage) {
				continue
			}
			return img, err
		}
	}
	return nil, ErrNoImage
}

func tarHasOCILayout(p string) (bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if path.Clean(strings.TrimPrefix(h.Name, "/")) == "oci-layout" {
			return true, nil
		}
	}
}

// ociArchive reads an OCI layout stored in an uncompressed tar file in place:
// it indexes the tar once and serves each blob as a section of the file.
type ociArchive struct {
	path    string
	entries map[string]section // cleaned name -> data section
}

type section struct{ off, size int64 }

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// OpenOCIArchive opens the first image of an OCI image layout stored as an
// (uncompressed) tar file, reading blobs in place.
func OpenOCIArchive(p string) (v1.Image, error) {
	a, err := indexArchive(p)
	if err != nil {
		return nil, fmt.Errorf("open oci archive %s: %w", p, err)
	}
	raw, err := a.read("index.json")
	if err != nil {
		return nil, fmt.Errorf("open oci archive %s: %w", p, err)
	}
	img, err := a.firstImage(raw, 0)
	if err != nil {
		return nil, fmt.Errorf("open oci archive %s: %w", p, err)
	}
	return img, nil
}

func indexArchive(p string) (*ociArchive, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := &countingReader{r: f}
	tr := tar.NewReader(cr)
	a := &ociArchive{path: p, entries: map[string]section{}}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return a, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		// tar.Reader has consumed exactly the header blocks here.
		a.entries[path.Clean(strings.TrimPrefix(h.Name, "/"))] = section{off: cr.n, size: h.Size}
	}
}

func (a *ociArchive) open(name string) (io.ReadCloser, int64, error) {
	s, ok := a.entries[name]
	if !ok {
		return nil, 0, fmt.Errorf("%s: %w", name, os.ErrNotExist)
	}
	f, err := os.Open(a.path)
	if err != nil {
		return nil, 0, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, s.off, s.size), f}, s.size, nil
}

func (a *ociArchive) read(name string) ([]byte, error) {
	rc, _, err := a.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func blobName(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

func (a *ociArchive) firstImage(rawIndex []byte, depth int) (v1.Image, error) {
	if depth > 8 {
		return nil, errors.New("index nesting too deep")
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(rawIndex, &im); err != nil {
		return nil, fmt.Errorf("decode index: %w", err)
	}
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsImage():
			raw, err := a.read(blobName(d.Digest))
			if err != nil {
				return nil, err
			}
			return partial.CompressedToImage(&archiveImage{a: a, rawManifest: raw, mediaType: d.MediaType})
		case d.MediaType.IsIndex():
			raw, err := a.read(blobName(d.Digest))
			if err != nil {
				return nil, err
			}
			img, err := a.firstImage(raw, depth+1)
			if errors.Is(err, ErrNoImage) {
				continue
			}
			return img, err
		}
	}
	return nil, ErrNoImage
}

type archiveImage struct {
	a           *ociArchive
	rawManifest []byte
	mediaType   types.MediaType
}

func (i *archiveImage) MediaType() (types.MediaType, error) { return i.mediaType, nil }
func (i *archiveImage) RawManifest() ([]byte, error)        { return i.rawManifest, nil }

func (i *archiveImage) RawConfigFile() ([]byte, error) {
	m, err := v1.ParseManifest(bytes.NewReader(i.rawManifest))
	if err != nil {
		return nil, err
	}
	return i.a.read(blobName(m.Config.Digest))
}

func (i *archiveImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	m, err := v1.ParseManifest(bytes.NewReader(i.rawManifest))
	if err != nil {
		return nil, err
	}
	if h == m.Config.Digest {
		return &archiveBlob{a: i.a, desc: m.Config}, nil
	}
	for _, l := range m.Layers {
		if l.Digest == h {
			return &archiveBlob{a: i.a, desc: l}, nil
		}
	}
	return nil, fmt.Errorf("layer %s not in manifest", h)
}

type archiveBlob struct {
	a    *ociArchive
	desc v1.Descriptor
}

func (b *archiveBlob) Digest() (v1.Hash, error)            { return b.desc.Digest, nil }
func (b *archiveBlob) Size() (int64, error)                { return b.desc.Size, nil }
func (b *archiveBlob) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }
func (b *archiveBlob) Compressed() (io.ReadCloser, error) {
	rc, _, err := b.a.open(blobName(b.desc.Digest))
	return rc, err
}
