// Package ruby lists Ruby gems from installed specifications
// (specifications/*.gemspec under a gem home) and from Bundler's
// Gemfile.lock.
package ruby

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
	"github.com/vigilsec/vigil/internal/scan/analyzer/internal/bounded"
)

// MaxSize bounds the files read.
const MaxSize = 16 << 20

// Ecosystem is the OSV ecosystem of Ruby gems.
const Ecosystem = "RubyGems"

// Analyzer reads gemspecs and Gemfile.lock.
type Analyzer struct{}

// New returns the Ruby analyzer.
func New() Analyzer { return Analyzer{} }

// Type implements analyzer.Analyzer.
func (Analyzer) Type() analyzer.Type { return analyzer.TypeRuby }

// Version implements analyzer.Analyzer.
func (Analyzer) Version() int { return 1 }

// Wanted implements analyzer.Analyzer.
func (Analyzer) Wanted(p string, mode fs.FileMode) bool {
	if mode.IsDir() {
		return false
	}
	dir, base := path.Split(p)
	return base == "Gemfile.lock" || strings.HasSuffix(base, ".gemspec") && strings.HasSuffix(dir, "specifications/")
}

// Analyze implements analyzer.Analyzer.
func (Analyzer) Analyze(_ context.Context, in analyzer.Input) (analyzer.Result, error) {
	data, err := bounded.ReadAll(in, MaxSize)
	if err != nil {
		return analyzer.Result{}, err
	}
	var pkgs []analyzer.Package
	if path.Base(in.Path) == "Gemfile.lock" {
		pkgs, err = ParseGemfileLock(data)
	} else {
		var p analyzer.Package
		if p, err = ParseGemspec(data); err == nil {
			pkgs = []analyzer.Package{p}
		}
	}
	for i := range pkgs {
		pkgs[i].FilePath = in.Path
	}
	if err != nil {
		err = fmt.Errorf("analyze %s: %w", in.Path, err)
	}
	return analyzer.Result{Packages: pkgs}, err
}

var (
	stubRe    = regexp.MustCompile(`(?m)^# stub: (\S+) (\S+) (\S+)`)
	nameRe    = regexp.MustCompile(`(?m)^\s*\w+\.name\s*=\s*["']([^"']+)["']`)
	versionRe = regexp.MustCompile(`(?m)^\s*\w+\.version\s*=\s*(?:Gem::Version\.new\(\s*)?["']([^"']+)["']`)
)

// ParseGemspec reads an installed specification as RubyGems writes it: the
// "# stub: name version platform" comment, or the s.name and s.version
// assignments. The Ruby code is not evaluated.
func ParseGemspec(data []byte) (analyzer.Package, error) {
	var name, version, platform string
	if m := stubRe.FindSubmatch(data); m != nil {
		name, version, platform = string(m[1]), string(m[2]), string(m[3])
	} else {
		if m := nameRe.FindSubmatch(data); m != nil {
			name = string(m[1])
		}
		if m := versionRe.FindSubmatch(data); m != nil {
			version = string(m[1])
		}
	}
	if name == "" || version == "" {
		return analyzer.Package{}, errors.New("gemspec without name or version")
	}
	if platform == "ruby" {
		platform = ""
	}
	return newPackage(name, version, platform), nil
}

// ParseGemfileLock reads the specs of the GEM sections of a Gemfile.lock:
// lines "    name (version[-platform])" indented by four spaces. Gems of GIT
// and PATH sections are not from rubygems.org and are skipped.
func ParseGemfileLock(data []byte) ([]analyzer.Package, error) {
	var (
		pkgs    []analyzer.Package
		errs    []error
		section string
		inSpecs bool
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case line == "":
			section, inSpecs = "", false
		case line[0] != ' ':
			section, inSpecs = line, false
		case line == "  specs:":
			inSpecs = true
		case section == "GEM" && inSpecs && strings.HasPrefix(line, "    ") && (len(line) == 4 || line[4] != ' '):
			name, rest, ok := strings.Cut(line[4:], " (")
			ver, ok2 := strings.CutSuffix(rest, ")")
			if !ok || !ok2 || name == "" || ver == "" || strings.ContainsAny(ver, " ,<>=~") {
				errs = append(errs, fmt.Errorf("line %d: want \"name (version)\", got %q", n, strings.TrimSpace(line)))
				continue
			}
			platform := ""
			if i := strings.IndexByte(ver, '-'); i > 0 {
				ver, platform = ver[:i], ver[i+1:]
			}
			pkgs = append(pkgs, newPackage(name, ver, platform))
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return pkgs, errors.Join(errs...)
}

func newPackage(name, version, platform string) analyzer.Package {
	return analyzer.Package{
		Type:      analyzer.TypeRuby,
		Name:      name,
		Version:   version,
		Arch:      platform,
		Ecosystem: Ecosystem,
		PURL:      analyzer.PURL("gem", "", name, version, map[string]string{"platform": platform}),
	}
}
