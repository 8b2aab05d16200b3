// Package apk lists Alpine packages from apk-tools' installed database
// (lib/apk/db/installed).
package apk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
)

// MaxSize bounds the installed database read; larger files are an error.
const MaxSize = 64 << 20

// Path is the installed database inside an image.
const Path = "lib/apk/db/installed"

// Analyzer reads the apk installed database.
type Analyzer struct{}

// New returns the apk analyzer.
func New() Analyzer { return Analyzer{} }

// Type implements analyzer.Analyzer.
func (Analyzer) Type() analyzer.Type { return analyzer.TypeApk }

// Version implements analyzer.Analyzer.
func (Analyzer) Version() int { return 1 }

// Wanted implements analyzer.Analyzer.
func (Analyzer) Wanted(p string, mode fs.FileMode) bool { return p == Path && !mode.IsDir() }

// Analyze implements analyzer.Analyzer. Errors name file:line; packages of
// well-formed records are returned along with them.
func (Analyzer) Analyze(_ context.Context, in analyzer.Input) (analyzer.Result, error) {
	pkgs, err := Parse(io.LimitReader(in.Content, MaxSize+1))
	for i := range pkgs {
		pkgs[i].FilePath = in.Path
	}
	if err != nil {
		err = fmt.Errorf("analyze %s: %w", in.Path, err)
	}
	return analyzer.Result{Packages: pkgs}, err
}

// Parse reads the records of an installed database: "K:value" lines with a
// one-letter key, records separated by blank lines. P is the name, V the
// version, A the architecture and o the origin (source) package. Every
// malformed line and record is reported with its line number.
func Parse(r io.Reader) ([]analyzer.Package, error) {
	var (
		pkgs  []analyzer.Package
		errs  []error
		cur   analyzer.Package
		start int
		size  int
	)
	flush := func() {
		if start == 0 {
			return
		}
		switch {
		case cur.Name == "":
			errs = append(errs, fmt.Errorf("line %d: record without P: (name)", start))
		case cur.Version == "":
			errs = append(errs, fmt.Errorf("line %d: package %s without V: (version)", start, cur.Name))
		default:
			if cur.SourceName == "" {
				cur.SourceName = cur.Name
			}
			cur.SourceVersion = cur.Version
			cur.Type = analyzer.TypeApk
			cur.PURL = PURL(cur, "")
			pkgs = append(pkgs, cur)
		}
		cur, start = analyzer.Package{}, 0
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if size += len(line) + 1; size > MaxSize {
			return pkgs, fmt.Errorf("line %d: database larger than %d bytes", n, MaxSize)
		}
		if len(line) == 0 {
			flush()
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			errs = append(errs, fmt.Errorf("line %d: want K:value", n))
			continue
		}
		if start == 0 {
			start = n
		}
		v := string(line[2:])
		switch line[0] {
		case 'P':
			cur.Name = v
		case 'V':
			cur.Version = v
		case 'A':
			cur.Arch = v
		case 'o':
			cur.SourceName = v
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	flush()
	return pkgs, errors.Join(errs...)
}

// PURL returns the package URL of an Alpine package, with the optional
// distro qualifier ("alpine-3.19").
func PURL(p analyzer.Package, distro string) string {
	return analyzer.PURL("apk", "alpine", p.Name, p.Version, map[string]string{"arch": p.Arch, "distro": distro})
}
