package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"
)

// TestDockerArchivePlainLayers opens a docker-save tarball whose layers
// are plain tars, as docker save writes them since 25.0: each layer's
// digest is its diff_id, its media type says uncompressed, and the walk
// sees the same files as in the gzip archive.
func TestDockerArchivePlainLayers(t *testing.T) {
	img := testImage(t)
	layers, err := img.Layers()
	require.NoError(t, err)
	cfg, err := img.RawConfigFile()
	require.NoError(t, err)

	p := filepath.Join(t.TempDir(), "plain.tar")
	f, err := os.Create(p)
	require.NoError(t, err)
	tw := tar.NewWriter(f)
	add := func(name string, data []byte) {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}))
		_, err := tw.Write(data)
		require.NoError(t, err)
	}
	add("config.json", cfg)
	var names []string
	for i, l := range layers {
		rc, err := l.Uncompressed()
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		name := filepath.Join("layers", string(rune('a'+i)), "layer.tar")
		add(name, data)
		names = append(names, "./"+name)
	}
	manifest, err := json.Marshal([]dockerManifestEntry{{Config: "config.json", RepoTags: []string{"vigil.test/plain:1"}, Layers: names}})
	require.NoError(t, err)
	add("manifest.json", manifest)
	require.NoError(t, tw.Close())
	require.NoError(t, f.Close())

	opened, err := Open(p)
	require.NoError(t, err)
	infos, olayers, err := Layers(opened)
	require.NoError(t, err)
	require.Len(t, infos, len(layers))
	for i, li := range infos {
		want, err := layers[i].DiffID()
		require.NoError(t, err)
		require.Equal(t, want, li.Digest, "layer %d digest of a plain layer is its diff_id", i)
		require.Equal(t, want, li.DiffID)
		mt, err := olayers[i].MediaType()
		require.NoError(t, err)
		require.Equal(t, types.DockerUncompressedLayer, mt)
	}
	all := func(string, fs.FileMode) bool { return true }
	for mode, opt := range walkModes {
		t.Run(mode, func(t *testing.T) {
			got, _, rep := collect(t, opened, all, opt)
			want, _, _ := collect(t, img, all, opt)
			require.NoError(t, rep.Err())
			require.Equal(t, len(want), len(got))
			for path, w := range want {
				require.Equal(t, w.layer, got[path].layer, path)
				require.True(t, bytes.Equal(w.data, got[path].data), path)
			}
		})
	}
}

// TestDockerArchiveBad names what is missing or broken.
func TestDockerArchiveBad(t *testing.T) {
	for _, tc := range []struct {
		name, manifest, want string
	}{
		{"no manifest", "", "manifest.json"},
		{"bad json", "{", "decode manifest.json"},
		{"no image", "[]", "no image manifest"},
		{"missing config", `[{"Config":"nope.json","Layers":[]}]`, "nope.json"},
		{"missing layer", `[{"Config":"config.json","Layers":["gone/layer.tar"]}]`, "gone/layer.tar"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.tar")
			f, err := os.Create(p)
			require.NoError(t, err)
			tw := tar.NewWriter(f)
			for name, data := range map[string]string{"config.json": "{}", "manifest.json": tc.manifest} {
				if data == "" {
					continue
				}
				require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}))
				_, err := tw.Write([]byte(data))
				require.NoError(t, err)
			}
			require.NoError(t, tw.Close())
			require.NoError(t, f.Close())
			_, err = Open(p)
			require.ErrorContains(t, err, tc.want)
			require.ErrorContains(t, err, p)
		})
	}
}
