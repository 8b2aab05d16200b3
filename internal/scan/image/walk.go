package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// LayerInfo identifies one filesystem layer and the build step behind it.
type LayerInfo struct {
	Index     int     // position from the base layer, 0-based
	Digest    v1.Hash // digest of the layer blob as stored
	DiffID    v1.Hash // digest of the uncompressed tar
	CreatedBy string  // history created_by (Dockerfile instruction); empty when unknown
	Comment   string  // history comment
}

// FileInfo describes one tar entry of a layer, with its path normalized
// relative to the image root (no leading slash, no "." or ".." elements).
type FileInfo struct {
	Path     string
	Mode     fs.FileMode
	Size     int64
	Linkname string // symlink or hardlink target, as stored
	Typeflag byte
}

// WantedFunc selects the entries whose content a walk hands to its callback.
type WantedFunc func(path string, mode fs.FileMode) bool

// WalkFunc receives each wanted visible file; r yields its content and is
// valid only during the call. An error stops the walk.
type WalkFunc func(layer LayerInfo, f FileInfo, r io.Reader) error

// Escape records a tar entry whose name (or hardlink target) leaves the image
// root; such entries are reported and never read or followed.
type Escape struct {
	Layer v1.Hash
	Name  string
}

// LayerError records a layer that could not be read completely.
type LayerError struct {
	Layer v1.Hash
	Err   error
}

func (e *LayerError) Error() string { return fmt.Sprintf("read layer %s: %v", e.Layer, e.Err) }
func (e *LayerError) Unwrap() error { return e.Err }

// Report lists what a walk skipped: escaping entries and unreadable layers.
type Report struct {
	Escapes     []Escape
	LayerErrors []*LayerError
}

// Err joins the layer errors, nil when every layer was read.
func (r *Report) Err() error {
	errs := make([]error, len(r.LayerErrors))
	for i, e := range r.LayerErrors {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// Layers returns the image's layers from the base up, each paired with the
// non-empty history entry that produced it.
func Layers(img v1.Image) ([]LayerInfo, []v1.Layer, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, nil, fmt.Errorf("list layers: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	var hist []v1.History
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			hist = append(hist, h)
		}
	}
	infos := make([]LayerInfo, len(layers))
	for i, l := range layers {
		li := LayerInfo{Index: i}
		if i < len(cfg.RootFS.DiffIDs) {
			li.DiffID = cfg.RootFS.DiffIDs[i]
		} else if li.DiffID, err = l.DiffID(); err != nil {
			return nil, nil, fmt.Errorf("layer %d diff id: %w", i, err)
		}
		if li.Digest, err = l.Digest(); err != nil {
			return nil, nil, fmt.Errorf("layer %s digest: %w", li.DiffID, err)
		}
		// Pair only when the counts agree: a mismatch means the history
		// cannot be trusted to describe these layers.
		if len(hist) == len(layers) {
			li.CreatedBy = hist[i].CreatedBy
			li.Comment = hist[i].Comment
		}
		infos[i] = li
	}
	return infos, layers, nil
}

// NormalizePath cleans a tar entry name relative to the image root. ok is
// false when the name escapes the root ("../x", "a/../../x").
func NormalizePath(name string) (p string, ok bool) {
	p = path.Clean(strings.TrimLeft(name, "/"))
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// visibility tracks what the layers above the current one hide.
type visibility struct {
	seen     map[string]bool // paths present in upper layers
	nonDir   map[string]bool // upper non-directories: hide lower descendants
	deleted  map[string]bool // whiteouts: hide path and descendants
	opaque   map[string]bool // opaque dirs: hide lower descendants
	pSeen    []string
	pNonDir  []string
	pDeleted []string
	pOpaque  []string
}

func (v *visibility) hidden(p string) bool {
	if v.seen[p] || v.deleted[p] {
		return true
	}
	for d := path.Dir(p); ; d = path.Dir(d) {
		if v.deleted[d] || v.opaque[d] || v.nonDir[d] {
			return true
		}
		if d == "." {
			return false
		}
	}
}

// commit makes the current layer's entries visible to the layers below.
func (v *visibility) commit() {
	for _, p := range v.pSeen {
		v.seen[p] = true
	}
	for _, p := range v.pNonDir {
		v.nonDir[p] = true
	}
	for _, p := range v.pDeleted {
		v.deleted[p] = true
	}
	for _, p := range v.pOpaque {
		v.opaque[p] = true
	}
	v.pSeen, v.pNonDir, v.pDeleted, v.pOpaque = v.pSeen[:0], v.pNonDir[:0], v.pDeleted[:0], v.pOpaque[:0]
}

// errReader remembers the first read error of the layer stream so a callback
// failing on a corrupt layer is told apart from a callback's own error.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// Walk streams the image's layers and calls fn for every wanted entry that
// is visible in the final filesystem: layers are read from the top down, so
// an entry deleted by a whiteout, hidden by an opaque directory or replaced
// by an upper layer is skipped, and each path is reported once, with the
// layer that provides it. Whiteout entries themselves are not reported.
//
// A layer that cannot be read is recorded in the report and the walk goes
// on with the others; an error from fn or ctx stops the walk.
func Walk(ctx context.Context, img v1.Image, wanted WantedFunc, fn WalkFunc) (*Report, error) {
	infos, layers, err := Layers(img)
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	vis := &visibility{seen: map[string]bool{}, nonDir: map[string]bool{}, deleted: map[string]bool{}, opaque: map[string]bool{}}
	for i := len(layers) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		err := walkLayer(ctx, infos[i], layers[i], vis, rep, wanted, fn)
		vis.commit()
		var le *LayerError
		if errors.As(err, &le) {
			rep.LayerErrors = append(rep.LayerErrors, le)
			continue
		}
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func walkLayer(ctx context.Context, li LayerInfo, l v1.Layer, vis *visibility, rep *Report, wanted WantedFunc, fn WalkFunc) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return &LayerError{Layer: li.Digest, Err: err}
	}
	defer rc.Close()
	er := &errReader{r: rc}
	tr := tar.NewReader(er)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &LayerError{Layer: li.Digest, Err: err}
		}
		p, ok := NormalizePath(h.Name)
		if !ok {
			rep.Escapes = append(rep.Escapes, Escape{Layer: li.Digest, Name: h.Name})
			continue
		}
		if h.Typeflag == tar.TypeLink {
			if _, ok := NormalizePath(h.Linkname); !ok {
				rep.Escapes = append(rep.Escapes, Escape{Layer: li.Digest, Name: h.Name + " => " + h.Linkname})
				continue
			}
		}
		dir, base := path.Split(p)
		dir = path.Clean(dir)
		if base == opaqueMarker {
			vis.pOpaque = append(vis.pOpaque, dir)
			continue
		}
		if strings.HasPrefix(base, whiteoutPrefix) {
			vis.pDeleted = append(vis.pDeleted, path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix)))
			continue
		}
		if p == "." || vis.hidden(p) {
			continue
		}
		vis.pSeen = append(vis.pSeen, p)
		if h.Typeflag != tar.TypeDir {
			vis.pNonDir = append(vis.pNonDir, p)
		}
		fi := FileInfo{Path: p, Mode: h.FileInfo().Mode(), Size: h.Size, Linkname: h.Linkname, Typeflag: h.Typeflag}
		if wanted != nil && !wanted(p, fi.Mode) {
			continue
		}
		if err := fn(li, fi, tr); err != nil {
			if er.err != nil {
				return &LayerError{Layer: li.Digest, Err: er.err}
			}
			return err
		}
	}
}
