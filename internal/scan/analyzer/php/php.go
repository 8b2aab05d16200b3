// Package php lists PHP packages from Composer's composer.lock (packages
// and packages-dev) and from vendor/composer/installed.json.
package php

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
	"github.com/vigilsec/vigil/internal/scan/analyzer/internal/bounded"
	"github.com/vigilsec/vigil/internal/scan/analyzer/internal/jsonerr"
)

// MaxSize bounds the files read.
const MaxSize = 64 << 20

// Ecosystem is the OSV ecosystem of Composer packages.
const Ecosystem = "Packagist"

// Analyzer reads Composer lock and installed files.
type Analyzer struct{}

// New returns the Composer analyzer.
func New() Analyzer { return Analyzer{} }

// Type implements analyzer.Analyzer.
func (Analyzer) Type() analyzer.Type { return analyzer.TypePHP }

// Version implements analyzer.Analyzer.
func (Analyzer) Version() int { return 1 }

// Wanted implements analyzer.Analyzer.
func (Analyzer) Wanted(p string, mode fs.FileMode) bool {
	if mode.IsDir() {
		return false
	}
	return path.Base(p) == "composer.lock" && !strings.Contains(p, "vendor/") || strings.HasSuffix(p, "vendor/composer/installed.json")
}

type composerPackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Analyze implements analyzer.Analyzer.
func (Analyzer) Analyze(_ context.Context, in analyzer.Input) (analyzer.Result, error) {
	data, err := bounded.ReadAll(in, MaxSize)
	if err != nil {
		return analyzer.Result{}, err
	}
	var pkgs []analyzer.Package
	if path.Base(in.Path) == "composer.lock" {
		pkgs, err = ParseLock(data)
	} else {
		pkgs, err = ParseInstalled(data)
	}
	for i := range pkgs {
		pkgs[i].FilePath = in.Path
	}
	if err != nil {
		err = fmt.Errorf("analyze %s: %w", in.Path, err)
	}
	return analyzer.Result{Packages: pkgs}, err
}

// ParseLock reads composer.lock; packages-dev are marked Dev.
func ParseLock(data []byte) ([]analyzer.Package, error) {
	var lock struct {
		Packages    []composerPackage `json:"packages"`
		PackagesDev []composerPackage `json:"packages-dev"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return nil, jsonerr.Locate(data, err)
	}
	var pkgs []analyzer.Package
	var errs []error
	convert(&pkgs, &errs, "packages", lock.Packages, false)
	convert(&pkgs, &errs, "packages-dev", lock.PackagesDev, true)
	return pkgs, errors.Join(errs...)
}

// ParseInstalled reads vendor/composer/installed.json: an object with
// "packages" (Composer 2) or a bare array (Composer 1).
func ParseInstalled(data []byte) ([]analyzer.Package, error) {
	var list []composerPackage
	var err error
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '[' {
		err = json.Unmarshal(data, &list)
	} else {
		var v2 struct {
			Packages []composerPackage `json:"packages"`
		}
		err = json.Unmarshal(data, &v2)
		list = v2.Packages
	}
	if err != nil {
		return nil, jsonerr.Locate(data, err)
	}
	var pkgs []analyzer.Package
	var errs []error
	convert(&pkgs, &errs, "packages", list, false)
	return pkgs, errors.Join(errs...)
}

func convert(pkgs *[]analyzer.Package, errs *[]error, section string, list []composerPackage, dev bool) {
	for i, c := range list {
		vendor, name, ok := strings.Cut(c.Name, "/")
		if !ok || vendor == "" || name == "" || c.Version == "" {
			*errs = append(*errs, fmt.Errorf("%s[%d]: want vendor/name and version, got %q %q", section, i, c.Name, c.Version))
			continue
		}
		if strings.HasPrefix(c.Version, "dev-") {
			continue // a branch, not a release
		}
		*pkgs = append(*pkgs, analyzer.Package{
			Type:      analyzer.TypePHP,
			Name:      c.Name,
			Version:   c.Version,
			Dev:       dev,
			Ecosystem: Ecosystem,
			PURL:      analyzer.PURL("composer", vendor, name, c.Version, nil),
		})
	}
}
