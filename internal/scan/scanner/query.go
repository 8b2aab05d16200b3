package scanner

import (
	"net/url"
	"strings"
)

// matchQuery is how one package is looked up in the vulnerability DB.
type matchQuery struct {
	base    string // OSV base ecosystem, e.g. "Debian", "npm"
	release string // ecosystem with release an advisory must match, e.g. "Debian:12"; "" for any
	name    string // package name as OSV spells it
	version string
}

// purlEcosystems maps PURL types to OSV ecosystems of language packages.
var purlEcosystems = map[string]string{
	"golang": "Go", "npm": "npm", "pypi": "PyPI", "maven": "Maven", "gem": "RubyGems",
	"composer": "Packagist", "cargo": "crates.io", "nuget": "NuGet", "hex": "Hex", "pub": "Pub",
}

// parsePURL returns the type, namespace and name of a package URL.
func parsePURL(purl string) (typ, namespace, name string, ok bool) {
	rest, ok := strings.CutPrefix(purl, "pkg:")
	if !ok {
		return "", "", "", false
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[:i]
	}
	typ, rest, ok = strings.Cut(rest, "/")
	if !ok {
		return "", "", "", false
	}
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		namespace, name = rest[:i], rest[i+1:]
	} else {
		name = rest
	}
	un := func(s string) string {
		if u, err := url.PathUnescape(s); err == nil {
			return u
		}
		return s
	}
	return strings.ToLower(typ), un(namespace), un(name), true
}

// query maps a package to its DB lookup; ok is false for packages no
// advisory source covers (or whose distribution is unknown).
func query(p Package, os *OS) (matchQuery, bool) {
	ver := p.Version
	switch p.Type {
	case "dpkg":
		if os == nil {
			return matchQuery{}, false
		}
		base := map[string]string{"debian": "Debian", "ubuntu": "Ubuntu"}[os.ID]
		if base == "" {
			return matchQuery{}, false
		}
		name := p.Name
		if p.SourceName != "" {
			name = p.SourceName
			if p.SourceVersion != "" {
				ver = p.SourceVersion
			}
		}
		rel := base + ":" + os.VersionID
		if base == "Debian" {
			rel = base + ":" + strings.SplitN(os.VersionID, ".", 2)[0]
		}
		return matchQuery{base: base, release: rel, name: name, version: ver}, true
	case "apk":
		if os == nil || os.ID != "alpine" {
			return matchQuery{}, false
		}
		name := p.Name
		if p.SourceName != "" {
			name = p.SourceName
		}
		parts := strings.SplitN(os.VersionID, ".", 3)
		rel := "Alpine"
		if len(parts) >= 2 {
			rel = "Alpine:v" + parts[0] + "." + parts[1]
		}
		return matchQuery{base: "Alpine", release: rel, name: name, version: ver}, true
	case "gobinary", "gomod":
		if ver == "" || ver == "(devel)" {
			return matchQuery{}, false
		}
		return matchQuery{base: "Go", name: p.Name, version: ver}, true
	}
	typ, ns, name, ok := parsePURL(p.PURL)
	if !ok {
		return matchQuery{}, false
	}
	base := purlEcosystems[typ]
	if base == "" || ver == "" {
		return matchQuery{}, false
	}
	switch {
	case ns == "":
	case typ == "maven":
		name = ns + ":" + name
	default:
		name = ns + "/" + name
	}
	return matchQuery{base: base, name: name, version: ver}, true
}
