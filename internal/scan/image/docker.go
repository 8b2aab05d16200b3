package image

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// dockerManifestEntry is one image of a docker-save manifest.json.
type dockerManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// Compression magics of layer blobs.
var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// openDockerArchive reads a docker-save tarball in place, like an OCI
// archive: the tar is indexed once and each layer is served as a section
// of the file, as stored (gzip, zstd or plain tar). A manifest is made from
// the layer files: each layer's digest is the SHA-256 of its file and its
// media type follows its first bytes. Plain layers (docker save since
// 25.0 writes them) are therefore never recompressed to compute a digest.
func openDockerArchive(p string) (v1.Image, error) {
	a, err := indexArchive(p)
	if err != nil {
		return nil, err
	}
	raw, err := a.read("manifest.json")
	if err != nil {
		return nil, err
	}
	var entries []dockerManifestEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("decode manifest.json: %w", err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("manifest.json: %w", ErrNoImage)
	}
	e := entries[0]
	cfg, err := a.read(cleanName(e.Config))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	img := &dockerImage{a: a, config: cfg, blobs: map[v1.Hash]string{}}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: int64(len(cfg))},
	}
	if m.Config.Digest, _, err = v1.SHA256(bytes.NewReader(cfg)); err != nil {
		return nil, err
	}
	// Hash the layers on every core: this is a full read of the archive.
	m.Layers = make([]v1.Descriptor, len(e.Layers))
	errs := make([]error, len(e.Layers))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(e.Layers)) {
		wg.Go(func() {
			for i := range next {
				if m.Layers[i], errs[i] = a.describe(cleanName(e.Layers[i])); errs[i] != nil {
					errs[i] = fmt.Errorf("layer %s: %w", e.Layers[i], errs[i])
				}
			}
		})
	}
	for i := range e.Layers {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, d := range m.Layers {
		img.blobs[d.Digest] = cleanName(e.Layers[i])
	}
	if img.manifest, err = json.Marshal(m); err != nil {
		return nil, err
	}
	return partial.CompressedToImage(img)
}

func cleanName(n string) string { return path.Clean(strings.TrimPrefix(n, "/")) }

// describe hashes the blob name and tells its media type from its magic.
func (a *ociArchive) describe(name string) (v1.Descriptor, error) {
	rc, size, err := a.open(name)
	if err != nil {
		return v1.Descriptor{}, err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	head, err := br.Peek(len(zstdMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		return v1.Descriptor{}, err
	}
	d := v1.Descriptor{Size: size, MediaType: types.DockerUncompressedLayer}
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		d.MediaType = types.DockerLayer
	case bytes.HasPrefix(head, zstdMagic):
		d.MediaType = types.OCILayerZStd
	}
	h := sha256.New()
	if _, err := io.Copy(h, br); err != nil {
		return v1.Descriptor{}, err
	}
	d.Digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	return d, nil
}

// dockerImage is a partial.CompressedImageCore over a docker-save archive.
type dockerImage struct {
	a        *ociArchive
	config   []byte
	manifest []byte
	blobs    map[v1.Hash]string // layer digest -> file in the archive
}

func (i *dockerImage) MediaType() (types.MediaType, error) { return types.DockerManifestSchema2, nil }
func (i *dockerImage) RawManifest() ([]byte, error)        { return i.manifest, nil }
func (i *dockerImage) RawConfigFile() ([]byte, error)      { return i.config, nil }

func (i *dockerImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	m, err := v1.ParseManifest(bytes.NewReader(i.manifest))
	if err != nil {
		return nil, err
	}
	if h == m.Config.Digest {
		return &dockerBlob{data: i.config, desc: m.Config}, nil
	}
	for _, l := range m.Layers {
		if l.Digest == h {
			return &archiveBlobAt{a: i.a, name: i.blobs[h], desc: l}, nil
		}
	}
	return nil, fmt.Errorf("layer %s not in manifest", h)
}

// archiveBlobAt serves a blob stored under any name in the archive.
type archiveBlobAt struct {
	a    *ociArchive
	name string
	desc v1.Descriptor
}

func (b *archiveBlobAt) Digest() (v1.Hash, error)            { return b.desc.Digest, nil }
func (b *archiveBlobAt) Size() (int64, error)                { return b.desc.Size, nil }
func (b *archiveBlobAt) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }
func (b *archiveBlobAt) Compressed() (io.ReadCloser, error) {
	rc, _, err := b.a.open(b.name)
	return rc, err
}

// dockerBlob is the config blob, held in memory.
type dockerBlob struct {
	data []byte
	desc v1.Descriptor
}

func (b *dockerBlob) Digest() (v1.Hash, error)            { return b.desc.Digest, nil }
func (b *dockerBlob) Size() (int64, error)                { return b.desc.Size, nil }
func (b *dockerBlob) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }
func (b *dockerBlob) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(b.data)), nil
}
