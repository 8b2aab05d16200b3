// Package rpm lists RPM packages from the rpm database of Red Hat family and
// SUSE images: rpmdb.sqlite (rpm ≥ 4.16), Packages.db (ndb, SUSE) and
// Packages (Berkeley DB hash, older releases), under var/lib/rpm/ or
// usr/lib/sysimage/rpm/. The three formats are read in pure Go.
package rpm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
)

// MaxSize bounds the database copied to a temporary file; larger ones are
// an error.
const MaxSize = 1 << 30

// ErrTooLarge is wrapped by the error for a database over MaxSize.
var ErrTooLarge = errors.New("rpm database too large")

// Analyzer reads rpm databases.
type Analyzer struct {
	// TempDir holds the temporary copy of each database; empty means
	// os.TempDir().
	TempDir string
}

// New returns the rpm analyzer.
func New() Analyzer { return Analyzer{} }

// Type implements analyzer.Analyzer.
func (Analyzer) Type() analyzer.Type { return analyzer.TypeRPM }

// Version implements analyzer.Analyzer.
func (Analyzer) Version() int { return 1 }

// Wanted implements analyzer.Analyzer.
func (Analyzer) Wanted(p string, mode fs.FileMode) bool {
	if mode.IsDir() {
		return false
	}
	switch path.Base(p) {
	case "rpmdb.sqlite", "Packages.db", "Packages":
		d := path.Dir(p)
		return d == "var/lib/rpm" || d == "usr/lib/sysimage/rpm"
	}
	return false
}

// Analyze implements analyzer.Analyzer. The database is copied to a
// temporary file (the SQLite driver needs a path), at most MaxSize bytes.
// Headers that cannot be decoded are reported, naming the file; the
// packages of the others are returned.
func (a Analyzer) Analyze(ctx context.Context, in analyzer.Input) (analyzer.Result, error) {
	pkgs, err := a.analyze(ctx, in)
	if err != nil {
		err = fmt.Errorf("analyze %s: %w", in.Path, err)
	}
	return analyzer.Result{Packages: pkgs}, err
}

func (a Analyzer) analyze(ctx context.Context, in analyzer.Input) ([]analyzer.Package, error) {
	if in.Size > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, in.Size, MaxSize)
	}
	tmp, err := os.CreateTemp(a.TempDir, "vigil-rpmdb-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := io.Copy(tmp, io.LimitReader(in.Content, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("copy to %s: %w", tmp.Name(), err)
	}
	if n > MaxSize {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, MaxSize)
	}
	var head [16]byte
	if _, err := tmp.ReadAt(head[:], 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	f := detect(head[:])
	if f == formatUnknown {
		return nil, fmt.Errorf("%w: no SQLite, ndb or Berkeley DB magic", ErrFormat)
	}
	return list(ctx, tmp.Name(), f, tmp, n)
}

// ListFile lists the packages of the rpm database at path, detecting its
// format.
func ListFile(ctx context.Context, p string) ([]analyzer.Package, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var head [16]byte
	if _, err := f.ReadAt(head[:], 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	pkgs, err := list(ctx, p, detect(head[:]), f, st.Size())
	if err != nil {
		return pkgs, fmt.Errorf("list %s: %w", p, err)
	}
	return pkgs, nil
}

// list lists the packages of a database in format f; r reads the file at
// path, of size bytes. Undecodable headers are reported together.
func list(ctx context.Context, p string, f format, r io.ReaderAt, size int64) ([]analyzer.Package, error) {
	var (
		pkgs []analyzer.Package
		errs []error
		i    int
	)
	err := blobs(ctx, p, f, r, size, func(b []byte) error {
		i++
		h, err := parseHeader(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s package header %d: %w", f, i, err))
			return nil
		}
		if h.Name == "gpg-pubkey" {
			return nil // imported signing keys, not packages
		}
		pkgs = append(pkgs, h.toPackage())
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return pkgs, errors.Join(errs...)
}

// Namespace returns the PURL namespace for an os-release ID ("rhel" →
// "redhat"; others unchanged).
func Namespace(osID string) string {
	switch strings.ToLower(osID) {
	case "rhel":
		return "redhat"
	case "opensuse-leap", "opensuse-tumbleweed":
		return "opensuse"
	case "sles", "sle-micro":
		return "suse"
	}
	return osID
}
