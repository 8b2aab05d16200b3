// Package dpkg lists Debian packages from the dpkg status database
// (var/lib/dpkg/status) and from distroless images' var/lib/dpkg/status.d/.
package dpkg

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
)

// Analyzer reads dpkg status files.
type Analyzer struct{}

// New returns the dpkg analyzer.
func New() Analyzer { return Analyzer{} }

// Type implements analyzer.Analyzer.
func (Analyzer) Type() analyzer.Type { return analyzer.TypeDpkg }

// Version implements analyzer.Analyzer.
func (Analyzer) Version() int { return 1 }

// Wanted implements analyzer.Analyzer: var/lib/dpkg/status and the files of
// var/lib/dpkg/status.d/ except their .md5sums companions.
func (Analyzer) Wanted(p string, mode fs.FileMode) bool {
	if p == "var/lib/dpkg/status" {
		return true
	}
	return path.Dir(p) == "var/lib/dpkg/status.d" && !strings.HasSuffix(p, ".md5sums") && !mode.IsDir()
}

// Analyze implements analyzer.Analyzer. Errors name file:line; packages of
// well-formed paragraphs are returned along with them.
func (Analyzer) Analyze(_ context.Context, in analyzer.Input) (analyzer.Result, error) {
	pkgs, err := Parse(in.Content)
	for i := range pkgs {
		pkgs[i].FilePath = in.Path
	}
	if err != nil {
		err = fmt.Errorf("analyze %s: %w", in.Path, err)
	}
	return analyzer.Result{Packages: pkgs}, err
}

// Parse reads RFC 822-style paragraphs of a dpkg status file and returns the
// installed packages: those whose Status is "install ok installed" (or
// "hold ok installed"), or which have no Status field, as in status.d/.
// Every malformed paragraph is reported, with its first line number.
func Parse(r io.Reader) ([]analyzer.Package, error) {
	var (
		pkgs  []analyzer.Package
		errs  []error
		para  = map[string]string{}
		start int
		last  string
	)
	flush := func() {
		if len(para) > 0 {
			p, ok, err := toPackage(para)
			if err != nil {
				errs = append(errs, fmt.Errorf("line %d: %w", start, err))
			} else if ok {
				pkgs = append(pkgs, p)
			}
		}
		clear(para)
		last = ""
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
			if last == "" {
				errs = append(errs, fmt.Errorf("line %d: continuation line without a field", n))
				continue
			}
			// Continuations (descriptions, conffiles) are not needed.
		default:
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				errs = append(errs, fmt.Errorf("line %d: no colon in field line", n))
				continue
			}
			if len(para) == 0 {
				start = n
			}
			last = k
			para[k] = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	flush()
	return pkgs, errors.Join(errs...)
}

func toPackage(f map[string]string) (analyzer.Package, bool, error) {
	if st, ok := f["Status"]; ok {
		w := strings.Fields(st)
		if len(w) != 3 || w[2] != "installed" {
			return analyzer.Package{}, false, nil
		}
	}
	name, version := f["Package"], f["Version"]
	if name == "" {
		return analyzer.Package{}, false, errors.New("paragraph without Package")
	}
	if version == "" {
		return analyzer.Package{}, false, fmt.Errorf("package %s without Version", name)
	}
	p := analyzer.Package{
		Type:          analyzer.TypeDpkg,
		Name:          name,
		Version:       version,
		Arch:          f["Architecture"],
		SourceName:    name,
		SourceVersion: version,
	}
	// "Source: name" or "Source: name (version)" when it differs.
	if src := f["Source"]; src != "" {
		sn, sv, hasVer := strings.Cut(src, " ")
		p.SourceName = sn
		if hasVer {
			p.SourceVersion = strings.Trim(strings.TrimSpace(sv), "()")
		}
	}
	p.PURL = PURL(p, "debian", "")
	return p, true, nil
}

// PURL returns the package URL of a Debian package for the distribution
// namespace ("debian", "ubuntu") and optional distro qualifier ("debian-12").
func PURL(p analyzer.Package, namespace, distro string) string {
	return analyzer.PURL("deb", namespace, p.Name, p.Version, map[string]string{"arch": p.Arch, "distro": distro})
}
