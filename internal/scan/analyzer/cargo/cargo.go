// Package cargo lists Rust crates from Cargo.lock files.
package cargo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/BurntSushi/toml"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
	"github.com/vigilsec/vigil/internal/scan/analyzer/internal/bounded"
)

// MaxSize bounds the files read.
const MaxSize = 32 << 20

// Ecosystem is the OSV ecosystem of Rust crates.
const Ecosystem = "crates.io"

// Analyzer reads Cargo.lock files.
type Analyzer struct{}

// New returns the Cargo analyzer.
func New() Analyzer { return Analyzer{} }

// Type implements analyzer.Analyzer.
func (Analyzer) Type() analyzer.Type { return analyzer.TypeCargo }

// Version implements analyzer.Analyzer.
func (Analyzer) Version() int { return 1 }

// Wanted implements analyzer.Analyzer.
func (Analyzer) Wanted(p string, mode fs.FileMode) bool {
	return !mode.IsDir() && path.Base(p) == "Cargo.lock"
}

// Analyze implements analyzer.Analyzer.
func (Analyzer) Analyze(_ context.Context, in analyzer.Input) (analyzer.Result, error) {
	data, err := bounded.ReadAll(in, MaxSize)
	if err != nil {
		return analyzer.Result{}, err
	}
	pkgs, err := Parse(data)
	for i := range pkgs {
		pkgs[i].FilePath = in.Path
	}
	if err != nil {
		err = fmt.Errorf("analyze %s: %w", in.Path, err)
	}
	return analyzer.Result{Packages: pkgs}, err
}

// Parse reads the [[package]] tables of a Cargo.lock (any lock version).
// Crates from a registry or git are returned; crates without a source are
// the workspace's own (path dependencies) and are skipped, since a crate of
// the same name on crates.io is a different crate.
func Parse(data []byte) ([]analyzer.Package, error) {
	var lock struct {
		Package []struct {
			Name    string `toml:"name"`
			Version string `toml:"version"`
			Source  string `toml:"source"`
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
		if p.Source == "" {
			continue
		}
		pkgs = append(pkgs, analyzer.Package{
			Type:      analyzer.TypeCargo,
			Name:      p.Name,
			Version:   p.Version,
			Ecosystem: Ecosystem,
			PURL:      analyzer.PURL("cargo", "", p.Name, p.Version, nil),
		})
	}
	return pkgs, errors.Join(errs...)
}
