package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
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
// wanted is called only for visible entries, one layer at a time.
//
// A layer that cannot be read is recorded in the report and the walk goes
// on with the others; an error from fn or ctx stops the walk.
func Walk(ctx context.Context, img v1.Image, wanted WantedFunc, fn WalkFunc) (*Report, error) {
	return WalkWith(ctx, img, WalkOptions{Wanted: wanted}, fn)
}

// WalkOptions tune WalkWith.
type WalkOptions struct {
	// Wanted selects the entries whose content reaches fn; nil selects all.
	// With Parallel > 1 it is called by the layer readers, concurrently,
	// and also for entries an upper layer hides: it must then be safe for
	// concurrent use and free of side effects.
	Wanted WantedFunc
	// Visible, when set, is called in walk order for every visible entry,
	// wanted or not, before fn.
	Visible func(LayerInfo, FileInfo)
	// Parallel is how many layers are decompressed at once: the layers
	// below the one being walked are read ahead, each holding the content
	// of its small wanted files (ReadAhead bytes at most) until the walk
	// reaches it. 0 or 1 reads one layer at a time.
	Parallel int
	// ReadAhead bounds the wanted content one read-ahead layer holds; a
	// wanted file larger than MaxReadAheadFile is not held: its layer
	// waits for the walk and hands it the stream. 0 means 32 MiB.
	ReadAhead int64
}

// MaxReadAheadFile is the largest wanted file a read-ahead layer holds in
// memory.
const MaxReadAheadFile = 4 << 20

const defaultReadAhead = 32 << 20

// WalkWith is Walk with options, notably reading several layers at once.
// The order of the calls to fn and what they see are the same as Walk's.
func WalkWith(ctx context.Context, img v1.Image, opt WalkOptions, fn WalkFunc) (*Report, error) {
	infos, layers, err := Layers(img)
	if err != nil {
		return nil, err
	}
	if opt.ReadAhead <= 0 {
		opt.ReadAhead = defaultReadAhead
	}
	rep := &Report{}
	vis := &visibility{seen: map[string]bool{}, nonDir: map[string]bool{}, deleted: map[string]bool{}, opaque: map[string]bool{}}
	var ra *readAhead
	if opt.Parallel > 1 && len(layers) > 1 {
		ra = startReadAhead(ctx, infos, layers, opt)
		defer ra.stop()
	}
	for i := len(layers) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		var err error
		if ra != nil {
			err = ra.walkLayer(ctx, i, vis, rep, opt, fn)
		} else {
			err = walkLayer(ctx, infos[i], layers[i], vis, rep, opt, fn)
		}
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

// admit applies the escape, whiteout and visibility rules to one entry of
// layer li; ok is false when the entry is not a visible file.
func (v *visibility) admit(li LayerInfo, h *tar.Header, rep *Report) (fi FileInfo, ok bool) {
	p, ok := NormalizePath(h.Name)
	if !ok {
		rep.Escapes = append(rep.Escapes, Escape{Layer: li.Digest, Name: h.Name})
		return fi, false
	}
	if h.Typeflag == tar.TypeLink {
		if _, ok := NormalizePath(h.Linkname); !ok {
			rep.Escapes = append(rep.Escapes, Escape{Layer: li.Digest, Name: h.Name + " => " + h.Linkname})
			return fi, false
		}
	}
	dir, base := path.Split(p)
	dir = path.Clean(dir)
	if base == opaqueMarker {
		v.pOpaque = append(v.pOpaque, dir)
		return fi, false
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		v.pDeleted = append(v.pDeleted, path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix)))
		return fi, false
	}
	if p == "." || v.hidden(p) {
		return fi, false
	}
	v.pSeen = append(v.pSeen, p)
	if h.Typeflag != tar.TypeDir {
		v.pNonDir = append(v.pNonDir, p)
	}
	return FileInfo{Path: p, Mode: h.FileInfo().Mode(), Size: h.Size, Linkname: h.Linkname, Typeflag: h.Typeflag}, true
}

func walkLayer(ctx context.Context, li LayerInfo, l v1.Layer, vis *visibility, rep *Report, opt WalkOptions, fn WalkFunc) error {
	rc, err := uncompressed(l)
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
		fi, ok := vis.admit(li, h, rep)
		if !ok {
			continue
		}
		if opt.Visible != nil {
			opt.Visible(li, fi)
		}
		if opt.Wanted != nil && !opt.Wanted(fi.Path, fi.Mode) {
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

// readAhead decompresses the layers below the one being walked.
type readAhead struct {
	infos   []LayerInfo
	layers  []v1.Layer
	opt     WalkOptions
	ctx     context.Context
	cancel  context.CancelFunc
	readers []*layerAhead // by layer index; nil until started
	next    int           // next layer index to start, counting down
	wg      sync.WaitGroup
}

// layerAhead is one layer being read ahead.
type layerAhead struct {
	out    chan aheadEntry
	resume chan struct{} // the walk is done with a streamed entry
	done   chan struct{} // closed when the walk leaves the layer
	budget budget
}

// aheadEntry is one tar entry of a layer read ahead: its header, and for a
// wanted regular file either its content or, when too large to hold, the
// live stream (the reader then waits on resume).
type aheadEntry struct {
	h      *tar.Header
	wanted bool
	data   []byte
	stream io.Reader
	er     *errReader
	err    error // the layer could not be read further; last entry
}

func startReadAhead(ctx context.Context, infos []LayerInfo, layers []v1.Layer, opt WalkOptions) *readAhead {
	ra := &readAhead{infos: infos, layers: layers, opt: opt, readers: make([]*layerAhead, len(layers)), next: len(layers) - 1}
	ra.ctx, ra.cancel = context.WithCancel(ctx)
	for range opt.Parallel {
		ra.startNext()
	}
	return ra
}

// entriesAhead is how many headers a layer reads ahead of the walk.
const entriesAhead = 4096

func (ra *readAhead) startNext() {
	if ra.next < 0 {
		return
	}
	i := ra.next
	ra.next--
	la := &layerAhead{out: make(chan aheadEntry, entriesAhead), resume: make(chan struct{}, 1), done: make(chan struct{})}
	la.budget.init(ra.opt.ReadAhead)
	ra.readers[i] = la
	ra.wg.Add(1)
	go func() {
		defer ra.wg.Done()
		defer close(la.out)
		ra.read(i, la)
	}()
}

func (ra *readAhead) stop() {
	ra.cancel()
	for _, la := range ra.readers {
		if la != nil {
			close(la.done)
			la.budget.close()
		}
	}
	ra.wg.Wait()
}

// read decompresses layer i into la.out until its end, an error or stop.
func (ra *readAhead) read(i int, la *layerAhead) {
	li := ra.infos[i]
	send := func(e aheadEntry) bool {
		select {
		case la.out <- e:
			return true
		case <-la.done:
			return false
		case <-ra.ctx.Done():
			return false
		}
	}
	rc, err := uncompressed(ra.layers[i])
	if err != nil {
		send(aheadEntry{err: &LayerError{Layer: li.Digest, Err: err}})
		return
	}
	defer rc.Close()
	er := &errReader{r: rc}
	tr := tar.NewReader(er)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			send(aheadEntry{err: &LayerError{Layer: li.Digest, Err: err}})
			return
		}
		e := aheadEntry{h: h}
		if p, ok := NormalizePath(h.Name); ok && (ra.opt.Wanted == nil || ra.opt.Wanted(p, h.FileInfo().Mode())) {
			e.wanted = true
			switch {
			case h.Size <= MaxReadAheadFile && la.budget.acquire(h.Size):
				e.data = make([]byte, h.Size)
				if _, err := io.ReadFull(tr, e.data); err != nil {
					if er.err != nil {
						err = er.err
					}
					send(aheadEntry{err: &LayerError{Layer: li.Digest, Err: err}})
					return
				}
			default:
				e.stream, e.er = tr, er
			}
		}
		if !send(e) {
			return
		}
		if e.stream != nil {
			select {
			case <-la.resume:
			case <-la.done:
				return
			case <-ra.ctx.Done():
				return
			}
		}
	}
}

// walkLayer walks layer i from its read-ahead and starts reading the next
// layer down once done.
func (ra *readAhead) walkLayer(ctx context.Context, i int, vis *visibility, rep *Report, opt WalkOptions, fn WalkFunc) error {
	la := ra.readers[i]
	defer func() {
		ra.readers[i] = nil
		close(la.done)    // stops a reader left early, after a layer error
		la.budget.close() // and unblocks it if it waits for memory
		ra.startNext()
	}()
	li := ra.infos[i]
	var br bytes.Reader
	for e := range la.out {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.err != nil {
			return e.err
		}
		fi, ok := vis.admit(li, e.h, rep)
		if ok && opt.Visible != nil {
			opt.Visible(li, fi)
		}
		var err error
		switch {
		case e.stream != nil:
			if ok {
				err = fn(li, fi, e.stream)
				if err != nil && e.er.err != nil {
					err = &LayerError{Layer: li.Digest, Err: e.er.err}
				}
			}
			if err == nil {
				la.resume <- struct{}{}
			}
		case ok && e.wanted:
			br.Reset(e.data)
			err = fn(li, fi, &br)
		}
		la.budget.release(int64(len(e.data)))
		if err != nil {
			return err
		}
	}
	return nil
}

// budget bounds the bytes a layer reader holds; a file larger than what is
// left waits until the walk has taken what the reader held.
type budget struct {
	mu     sync.Mutex
	cond   sync.Cond
	held   int64
	max    int64
	closed bool
}

func (b *budget) init(max int64) {
	b.max = max
	b.cond.L = &b.mu
}

// acquire reserves n bytes, waiting while others are held and n does not
// fit; false when the budget was closed.
func (b *budget) acquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for !b.closed && b.held > 0 && b.held+n > b.max {
		b.cond.Wait()
	}
	if b.closed {
		return false
	}
	b.held += n
	return true
}

func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.held -= n
	b.mu.Unlock()
	b.cond.Broadcast()
}

func (b *budget) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.cond.Broadcast()
}

// readBufferSize is the read-ahead of a layer blob: large reads from the
// file or the network, few system calls.
const readBufferSize = 1 << 20

// uncompressed opens the tar stream of l. A compressed layer is read as
// stored and decompressed here, by klauspost/compress (gzip about twice as
// fast as compress/gzip, zstd with one goroutine and a bounded window)
// rather than by go-containerregistry; the compression is told from the
// blob's first bytes, whatever its media type says. A layer whose media
// type says uncompressed is read through Uncompressed, so a layer that is
// only available uncompressed is never compressed to be read back.
func uncompressed(l v1.Layer) (io.ReadCloser, error) {
	mt, err := l.MediaType()
	if err != nil {
		return nil, err
	}
	if mt == types.DockerUncompressedLayer || mt == types.OCIUncompressedLayer || mt == types.OCIUncompressedRestrictedLayer {
		return l.Uncompressed()
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(rc, readBufferSize)
	head, err := br.Peek(len(zstdMagic))
	if err != nil && !errors.Is(err, io.EOF) {
		rc.Close()
		return nil, err
	}
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return &layerReader{Reader: zr, close: func() error { zr.Close(); return rc.Close() }}, nil
	case bytes.HasPrefix(head, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return &layerReader{Reader: zr, close: func() error { zr.Close(); return rc.Close() }}, nil
	}
	return &layerReader{Reader: br, close: rc.Close}, nil
}

// maxZstdWindow bounds the memory a zstd layer may ask for (the format
// allows up to 3.75 TB; zstd -19 --long uses 128 MiB).
const maxZstdWindow = 128 << 20

type layerReader struct {
	io.Reader
	close func() error
}

func (l *layerReader) Close() error { return l.close() }
