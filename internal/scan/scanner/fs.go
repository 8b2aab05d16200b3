package scanner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vigilsec/vigil/internal/scan/image"
)

// ScanDir scans a directory: a root filesystem or a source tree. Symbolic
// links are reported as entries but never followed, so nothing outside dir
// is read. Unreadable entries are reported as errors and skipped.
func ScanDir(ctx context.Context, dir string, opt Options) (*Result, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("scan %s: not a directory", dir)
	}
	s := newScan(opt, dir, "filesystem")
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		rel, rerr := filepath.Rel(dir, p)
		if rerr != nil {
			return rerr
		}
		rel = filepath.ToSlash(rel)
		if err != nil {
			s.errorf("", rel, "%v", err)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			s.errorf("", rel, "%v", err)
			return nil
		}
		mode := info.Mode()
		if !s.wanted(rel, mode) {
			return nil
		}
		fi := image.FileInfo{Path: rel, Mode: mode, Size: info.Size()}
		if !mode.IsRegular() {
			return s.file(ctx, "", "", fi, nil)
		}
		f, err := os.Open(p)
		if err != nil {
			s.errorf("", rel, "%v", err)
			return nil
		}
		defer f.Close()
		if err := s.file(ctx, "", "", fi, f); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) || !errors.Is(err, context.Canceled) {
				s.errorf("", rel, "%v", err)
				return nil
			}
			return err
		}
		return nil
	})
	if err != nil {
		return s.res, fmt.Errorf("scan %s: %w", dir, err)
	}
	return s.finish(ctx)
}
