// Package analyzer defines the interface of the file analyzers that turn
// files of an image or a filesystem into OS and package findings, and the
// types they return. Each ecosystem lives in its own subpackage; package
// catalog lists them explicitly.
package analyzer

import (
	"context"
	"io"
	"io/fs"
	"net/url"
	"sort"
	"strings"
)

// Type names an analyzer; it is stable and appears in results and caches.
type Type string

// Analyzer types.
const (
	TypeOSRelease Type = "os-release"
	TypeDpkg      Type = "dpkg"
	TypeGoBinary  Type = "gobinary"
	TypeApk       Type = "apk"
	TypeRPM       Type = "rpm"
	TypeGoMod     Type = "gomod"
	TypeNpm       Type = "npm"
	TypePython    Type = "python"
	TypeJava      Type = "java"
	TypeRuby      Type = "ruby"
	TypePHP       Type = "php"
	TypeCargo     Type = "cargo"
)

// Analyzer inspects files selected by Wanted. Version changes whenever the
// analyzer's output for the same input may change, to invalidate caches.
type Analyzer interface {
	Type() Type
	Version() int
	// Wanted reports whether the file at path (relative to the root, no
	// leading slash) with the given mode should be passed to Analyze.
	Wanted(path string, mode fs.FileMode) bool
	Analyze(ctx context.Context, in Input) (Result, error)
}

// Input is one file handed to an analyzer.
type Input struct {
	Path    string // relative to the root, no leading slash
	Mode    fs.FileMode
	Size    int64
	Content io.Reader
}

// Result is what an analyzer found in one file.
type Result struct {
	OS       *OS
	Packages []Package
}

// OS identifies the distribution of an image.
type OS struct {
	ID         string // os-release ID, e.g. "debian"
	VersionID  string // os-release VERSION_ID, e.g. "12"
	Name       string
	PrettyName string
	IDLike     []string
}

// Package is one installed package or module.
type Package struct {
	Type          Type
	Name          string
	Version       string
	SourceName    string // dpkg source package; empty when not applicable
	SourceVersion string
	Arch          string
	PURL          string
	FilePath      string // file the package was found in
	Layer         string // digest of the image layer holding FilePath, when scanned from an image
	Indirect      bool   // go: a dependency rather than the main module; gomod: a "// indirect" requirement
	Dev           bool   // a development-only dependency (npm, Pipfile, poetry, composer packages-dev)
	Ecosystem     string // OSV ecosystem of language packages ("npm", "PyPI", "Maven", ...); empty for OS packages
}

// PURL formats a package URL (https://github.com/package-url/purl-spec):
// pkg:type/namespace/name@version?qualifiers, each part percent-encoded and
// qualifiers sorted by key; empty qualifier values are dropped.
func PURL(typ, namespace, name, version string, qualifiers map[string]string) string {
	var b strings.Builder
	b.WriteString("pkg:")
	b.WriteString(typ)
	b.WriteByte('/')
	if namespace != "" {
		for _, seg := range strings.Split(namespace, "/") {
			b.WriteString(escape(seg))
			b.WriteByte('/')
		}
	}
	b.WriteString(escape(name))
	if version != "" {
		b.WriteByte('@')
		b.WriteString(escape(version))
	}
	keys := make([]string, 0, len(qualifiers))
	for k, v := range qualifiers {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(escape(qualifiers[k]))
	}
	return b.String()
}

// escape percent-encodes everything but unreserved characters and ':'.
func escape(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "+", "%2B")
}
