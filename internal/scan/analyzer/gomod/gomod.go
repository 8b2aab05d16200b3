// Package gomod lists the module requirements of go.mod files in source
// trees, after replace directives, marking "// indirect" requirements.
package gomod

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
	"github.com/vigilsec/vigil/internal/scan/analyzer/internal/bounded"
)

// MaxSize bounds the go.mod files read.
const MaxSize = 8 << 20

// Analyzer reads go.mod files.
type Analyzer struct{}

// New returns the go.mod analyzer.
func New() Analyzer { return Analyzer{} }

// Type implements analyzer.Analyzer.
func (Analyzer) Type() analyzer.Type { return analyzer.TypeGoMod }

// Version implements analyzer.Analyzer.
func (Analyzer) Version() int { return 1 }

// Wanted implements analyzer.Analyzer: files named go.mod outside vendor/
// directories and the module cache.
func (Analyzer) Wanted(p string, mode fs.FileMode) bool {
	return !mode.IsDir() && path.Base(p) == "go.mod" && !strings.Contains(p, "vendor/") && !strings.Contains(p, "pkg/mod/")
}

// Analyze implements analyzer.Analyzer. Every syntax error is reported as
// file:line. A requirement replaced by another module version is reported
// as that module; one replaced by a local directory keeps its path with an
// empty version, since no released version describes it.
func (Analyzer) Analyze(_ context.Context, in analyzer.Input) (analyzer.Result, error) {
	data, err := bounded.ReadAll(in, MaxSize)
	if err != nil {
		return analyzer.Result{}, err
	}
	pkgs, err := Parse(in.Path, data)
	return analyzer.Result{Packages: pkgs}, err
}

// Parse returns the requirements of the go.mod content data, read from file.
func Parse(file string, data []byte) ([]analyzer.Package, error) {
	f, err := modfile.Parse(file, data, nil)
	if err != nil {
		return nil, fmt.Errorf("analyze %w", err) // modfile errors start with file:line
	}
	type key struct{ path, version string }
	repl := map[key]*modfile.Replace{}
	for _, r := range f.Replace {
		repl[key{r.Old.Path, r.Old.Version}] = r
	}
	pkgs := make([]analyzer.Package, 0, len(f.Require))
	for _, r := range f.Require {
		mod := r.Mod
		if rp := repl[key{mod.Path, mod.Version}]; rp != nil {
			mod = rp.New
		} else if rp := repl[key{mod.Path, ""}]; rp != nil {
			mod = rp.New
		}
		if modfile.IsDirectoryPath(mod.Path) {
			mod.Path, mod.Version = r.Mod.Path, ""
		}
		ns, name := path.Split(mod.Path)
		pkgs = append(pkgs, analyzer.Package{
			Type:      analyzer.TypeGoMod,
			Name:      mod.Path,
			Version:   mod.Version,
			Indirect:  r.Indirect,
			Ecosystem: "Go",
			FilePath:  file,
			PURL:      analyzer.PURL("golang", strings.TrimSuffix(ns, "/"), name, mod.Version, nil),
		})
	}
	return pkgs, nil
}
