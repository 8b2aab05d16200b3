// Package python lists Python packages: installed distributions
// (*.dist-info/METADATA, *.egg-info/PKG-INFO or a *.egg-info file) and the
// pinned requirements of requirements*.txt, Pipfile.lock and poetry.lock.
package python

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
	"github.com/vigilsec/vigil/internal/scan/analyzer/internal/bounded"
	"github.com/vigilsec/vigil/internal/scan/analyzer/internal/jsonerr"
)

// MaxSize bounds the files read.
const MaxSize = 32 << 20

// Ecosystem is the OSV ecosystem of Python packages.
const Ecosystem = "PyPI"

// Analyzer reads Python metadata and lock files.
type Analyzer struct{}

// New returns the Python analyzer.
func New() Analyzer { return Analyzer{} }

// Type implements analyzer.Analyzer.
func (Analyzer) Type() analyzer.Type { return analyzer.TypePython }

// Version implements analyzer.Analyzer.
func (Analyzer) Version() int { return 1 }

type kind int

const (
	kindNone kind = iota
	kindMetadata
	kindRequirements
	kindPipfile
	kindPoetry
)

func classify(p string) kind {
	dir, base := path.Split(p)
	switch {
	case base == "METADATA" && strings.HasSuffix(dir, ".dist-info/"),
		base == "PKG-INFO" && strings.HasSuffix(dir, ".egg-info/"),
		strings.HasSuffix(base, ".egg-info"):
		return kindMetadata
	case base == "Pipfile.lock":
		return kindPipfile
	case base == "poetry.lock":
		return kindPoetry
	case strings.HasPrefix(base, "requirements") && strings.HasSuffix(base, ".txt"):
		return kindRequirements
	}
	return kindNone
}

// Wanted implements analyzer.Analyzer.
func (Analyzer) Wanted(p string, mode fs.FileMode) bool {
	return !mode.IsDir() && classify(p) != kindNone
}

// Analyze implements analyzer.Analyzer. Errors name the file and, for text
// formats, the line.
func (Analyzer) Analyze(_ context.Context, in analyzer.Input) (analyzer.Result, error) {
	data, err := bounded.ReadAll(in, MaxSize)
	if err != nil {
		return analyzer.Result{}, err
	}
	var pkgs []analyzer.Package
	switch classify(in.Path) {
	case kindMetadata:
		var p analyzer.Package
		if p, err = ParseMetadata(data); err == nil {
			pkgs = append(pkgs, p)
		}
	case kindRequirements:
		pkgs, err = ParseRequirements(data)
	case kindPipfile:
		pkgs, err = ParsePipfileLock(data)
	case kindPoetry:
		pkgs, err = ParsePoetryLock(data)
	}
	for i := range pkgs {
		pkgs[i].FilePath = in.Path
	}
	if err != nil {
		err = fmt.Errorf("analyze %s: %w", in.Path, err)
	}
	return analyzer.Result{Packages: pkgs}, err
}

// ParseMetadata reads the Name and Version headers of core metadata
// (RFC 822 style headers up to the first blank line).
func ParseMetadata(data []byte) (analyzer.Package, error) {
	var name, version string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "Name":
			name = strings.TrimSpace(v)
		case "Version":
			version = strings.TrimSpace(v)
		}
	}
	if err := sc.Err(); err != nil {
		return analyzer.Package{}, err
	}
	if name == "" || version == "" {
		return analyzer.Package{}, errors.New("metadata without Name or Version")
	}
	return newPackage(name, version, false), nil
}

// ParseRequirements reads a pip requirements file and returns the
// requirements pinned with == or ===. Options (-r, -e, --hash), URLs and
// unpinned requirements are skipped; a pinned line whose name or version is
// malformed is an error naming the line.
func ParseRequirements(data []byte) ([]analyzer.Package, error) {
	var (
		pkgs []analyzer.Package
		errs []error
		buf  string
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	start := 0
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if buf == "" {
			start = n
		}
		if strings.HasPrefix(line, "#") {
			line = ""
		} else if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		if cont, ok := strings.CutSuffix(strings.TrimRight(line, " \t"), "\\"); ok {
			buf += cont + " "
			continue
		}
		line, buf = strings.TrimSpace(buf+line), ""
		if line == "" || line[0] == '-' || strings.Contains(line, "://") || strings.Contains(line, " @ ") {
			continue
		}
		req, _, _ := strings.Cut(line, ";") // environment marker
		req, _, _ = strings.Cut(req, " --") // per-requirement options
		name, version, ok := strings.Cut(req, "===")
		if !ok {
			if name, version, ok = strings.Cut(req, "=="); !ok {
				continue
			}
		}
		if i := strings.IndexByte(name, '['); i >= 0 {
			name = name[:i] // extras
		}
		name, version = strings.TrimSpace(name), strings.TrimSpace(version)
		if !validName(name) || version == "" || strings.ContainsAny(version, " ,<>=!~*") {
			errs = append(errs, fmt.Errorf("line %d: not a pinned requirement: %q", start, line))
			continue
		}
		pkgs = append(pkgs, newPackage(name, version, false))
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return pkgs, errors.Join(errs...)
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || (i > 0 && (c == '-' || c == '_' || c == '.'))) {
			return false
		}
	}
	return true
}

// ParsePipfileLock reads the "default" and "develop" sections of a
// Pipfile.lock; entries without a "==" version (VCS, paths) are skipped.
func ParsePipfileLock(data []byte) ([]analyzer.Package, error) {
	var lock struct {
		Default map[string]struct {
			Version string `json:"version"`
		} `json:"default"`
		Develop map[string]struct {
			Version string `json:"version"`
		} `json:"develop"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return nil, jsonerr.Locate(data, err)
	}
	var pkgs []analyzer.Package
	for _, sec := range []struct {
		m map[string]struct {
			Version string `json:"version"`
		}
		dev bool
	}{{lock.Default, false}, {lock.Develop, true}} {
		names := make([]string, 0, len(sec.m))
		for n := range sec.m {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if v, ok := strings.CutPrefix(sec.m[n].Version, "=="); ok && v != "" {
				pkgs = append(pkgs, newPackage(n, v, sec.dev))
			}
		}
	}
	return pkgs, nil
}

// ParsePoetryLock reads the [[package]] tables of a poetry.lock; the
// category "dev" of lock files before Poetry 1.5 marks dev dependencies.
func ParsePoetryLock(data []byte) ([]analyzer.Package, error) {
	var lock struct {
		Package []struct {
			Name     string `toml:"name"`
			Version  string `toml:"version"`
			Category string `toml:"category"`
		} `toml:"package"`
	}
	if _, err := toml.Decode(string(data), &lock); err != nil {
		return nil, err // toml errors name the line
	}
	var pkgs []analyzer.Package
	var errs []error
	for i, p := range lock.Package {
		if p.Name == "" || p.Version == "" {
			errs = append(errs, fmt.Errorf("package %d: no name or version", i+1))
			continue
		}
		pkgs = append(pkgs, newPackage(p.Name, p.Version, p.Category == "dev"))
	}
	return pkgs, errors.Join(errs...)
}

func newPackage(name, version string, dev bool) analyzer.Package {
	return analyzer.Package{
		Type:      analyzer.TypePython,
		Name:      name,
		Version:   version,
		Dev:       dev,
		Ecosystem: Ecosystem,
		PURL:      analyzer.PURL("pypi", "", NormalizeName(name), version, nil),
	}
}

// NormalizeName returns the PEP 503 normalized name: lowercase, runs of
// "-", "_" and "." replaced by one "-".
func NormalizeName(name string) string {
	var b strings.Builder
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '-' || c == '_' || c == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}
