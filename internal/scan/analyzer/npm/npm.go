// Package npm lists Node.js packages from package-lock.json (lockfile
// versions 1, 2 and 3) and from the package.json of each package installed
// under node_modules/.
package npm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
	"github.com/vigilsec/vigil/internal/scan/analyzer/internal/bounded"
	"github.com/vigilsec/vigil/internal/scan/analyzer/internal/jsonerr"
)

// MaxSize bounds the files read: lock files of large monorepos reach tens of
// megabytes.
const MaxSize = 128 << 20

// Ecosystem is the OSV ecosystem of npm packages.
const Ecosystem = "npm"

// Analyzer reads package-lock.json and node_modules/**/package.json.
type Analyzer struct{}

// New returns the npm analyzer.
func New() Analyzer { return Analyzer{} }

// Type implements analyzer.Analyzer.
func (Analyzer) Type() analyzer.Type { return analyzer.TypeNpm }

// Version implements analyzer.Analyzer.
func (Analyzer) Version() int { return 1 }

// Wanted implements analyzer.Analyzer: package-lock.json outside
// node_modules, and package.json directly in a package directory under
// node_modules (node_modules/name/ or node_modules/@scope/name/).
func (Analyzer) Wanted(p string, mode fs.FileMode) bool {
	if mode.IsDir() {
		return false
	}
	dir, base := path.Split(p)
	switch base {
	case "package-lock.json":
		return !strings.Contains(dir, "node_modules/")
	case "package.json":
		return isPackageDir(strings.TrimSuffix(dir, "/"))
	}
	return false
}

// isPackageDir reports whether dir ends in node_modules/name or
// node_modules/@scope/name.
func isPackageDir(dir string) bool {
	parent, name := path.Split(dir)
	if name == "" || name[0] == '.' {
		return false
	}
	parent = strings.TrimSuffix(parent, "/")
	if path.Base(parent) == "node_modules" {
		return true
	}
	gp, scope := path.Split(parent)
	return strings.HasPrefix(scope, "@") && path.Base(strings.TrimSuffix(gp, "/")) == "node_modules"
}

// Analyze implements analyzer.Analyzer.
func (Analyzer) Analyze(_ context.Context, in analyzer.Input) (analyzer.Result, error) {
	data, err := bounded.ReadAll(in, MaxSize)
	if err != nil {
		return analyzer.Result{}, err
	}
	var pkgs []analyzer.Package
	if path.Base(in.Path) == "package-lock.json" {
		pkgs, err = ParseLock(data)
	} else {
		var p analyzer.Package
		p, err = ParsePackageJSON(data)
		if err == nil {
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

// ParsePackageJSON reads an installed package's manifest.
func ParsePackageJSON(data []byte) (analyzer.Package, error) {
	var m struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return analyzer.Package{}, jsonerr.Locate(data, err)
	}
	if m.Name == "" || m.Version == "" {
		return analyzer.Package{}, errors.New("package.json without name or version")
	}
	return newPackage(m.Name, m.Version, false, false), nil
}

// lockEntry is a package of a v2/v3 "packages" map.
type lockEntry struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Dev     bool   `json:"dev"`
	Link    bool   `json:"link"`
}

// v1Entry is a package of a v1 "dependencies" tree.
type v1Entry struct {
	lockEntry
	Dependencies map[string]v1Entry `json:"dependencies"`
}

// ParseLock reads a package-lock.json. Versions 2 and 3 list every
// installed package under "packages", keyed by its node_modules path;
// version 1 nests "dependencies". Workspace links and the root project are
// skipped, and each name@version is reported once (dev only when every
// occurrence is dev).
func ParseLock(data []byte) ([]analyzer.Package, error) {
	var lock struct {
		LockfileVersion int                  `json:"lockfileVersion"`
		Packages        map[string]lockEntry `json:"packages"`
		Dependencies    json.RawMessage      `json:"dependencies"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return nil, jsonerr.Locate(data, err)
	}
	seen := map[string]int{}
	var pkgs []analyzer.Package
	var errs []error
	add := func(where, name string, e lockEntry) {
		if e.Link {
			return
		}
		if e.Name != "" {
			name = e.Name // an alias installs another package under this path
		}
		if name == "" || e.Version == "" {
			errs = append(errs, fmt.Errorf("%s: no name or version", where))
			return
		}
		if strings.Contains(e.Version, ":") || strings.Contains(e.Version, "/") {
			// "file:", "git+https://..." and tarball URLs, not registry versions.
			return
		}
		k := name + "@" + e.Version
		if i, ok := seen[k]; ok {
			pkgs[i].Dev = pkgs[i].Dev && e.Dev
			return
		}
		seen[k] = len(pkgs)
		pkgs = append(pkgs, newPackage(name, e.Version, e.Dev, false))
	}
	if len(lock.Packages) > 0 {
		for key, e := range lock.Packages {
			i := strings.LastIndex(key, "node_modules/")
			if i < 0 {
				continue // the root project and workspace sources
			}
			add(`packages["`+key+`"]`, key[i+len("node_modules/"):], e)
		}
	} else if len(lock.Dependencies) > 0 {
		var deps map[string]v1Entry
		if err := json.Unmarshal(lock.Dependencies, &deps); err != nil {
			return nil, fmt.Errorf("dependencies: %w", err)
		}
		var walk func(prefix string, deps map[string]v1Entry)
		walk = func(prefix string, deps map[string]v1Entry) {
			for name, e := range deps {
				add(prefix+name, name, e.lockEntry)
				walk(prefix+name+" > ", e.Dependencies)
			}
		}
		walk("dependencies: ", deps)
	}
	sort.Slice(pkgs, func(i, j int) bool {
		if pkgs[i].Name != pkgs[j].Name {
			return pkgs[i].Name < pkgs[j].Name
		}
		return pkgs[i].Version < pkgs[j].Version
	})
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return pkgs, errors.Join(errs...)
}

func newPackage(name, version string, dev, indirect bool) analyzer.Package {
	return analyzer.Package{
		Type:      analyzer.TypeNpm,
		Name:      name,
		Version:   version,
		Dev:       dev,
		Indirect:  indirect,
		Ecosystem: Ecosystem,
		PURL:      PURL(name, version),
	}
}

// PURL returns pkg:npm/[%40scope/]name@version.
func PURL(name, version string) string {
	ns, n := "", name
	if strings.HasPrefix(name, "@") {
		if i := strings.IndexByte(name, '/'); i > 0 {
			ns, n = name[1:i], name[i+1:]
		}
	}
	p := analyzer.PURL("npm", ns, n, version, nil)
	if ns != "" {
		p = "pkg:npm/%40" + p[len("pkg:npm/"):]
	}
	return p
}
