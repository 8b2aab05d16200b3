// Package java lists Maven artifacts in Java archives (.jar, .war, .ear):
// META-INF/maven/<group>/<artifact>/pom.properties, or the manifest when an
// archive has none, and the archives nested inside (WEB-INF/lib,
// BOOT-INF/lib, lib/), with bounded depth and size against zip bombs.
package java

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
	"github.com/vigilsec/vigil/internal/scan/analyzer/internal/bounded"
)

// Ecosystem is the OSV ecosystem of Maven artifacts.
const Ecosystem = "Maven"

// Default limits.
const (
	DefaultMaxSize   = 512 << 20 // outer archive
	DefaultMaxNested = 256 << 20 // one nested archive, uncompressed
	DefaultMaxTotal  = 1 << 30   // all bytes decompressed for one outer archive
	DefaultMaxDepth  = 3         // archives inside archives inside archives
	maxMetaFile      = 1 << 20   // a manifest or pom.properties
)

// ErrLimit is wrapped by errors about an archive exceeding a limit.
var ErrLimit = errors.New("archive limit exceeded")

// Analyzer reads Java archives. The zero value uses the default limits.
type Analyzer struct {
	MaxSize   int64 // bytes of the outer archive
	MaxNested int64 // uncompressed bytes of one nested archive
	MaxTotal  int64 // uncompressed bytes read from one outer archive
	MaxDepth  int   // nesting depth below the outer archive
}

// New returns the Java analyzer with the default limits.
func New() Analyzer {
	return Analyzer{MaxSize: DefaultMaxSize, MaxNested: DefaultMaxNested, MaxTotal: DefaultMaxTotal, MaxDepth: DefaultMaxDepth}
}

// Type implements analyzer.Analyzer.
func (Analyzer) Type() analyzer.Type { return analyzer.TypeJava }

// Version implements analyzer.Analyzer.
func (Analyzer) Version() int { return 1 }

func isArchive(p string) bool {
	if len(p) < 4 {
		return false
	}
	switch strings.ToLower(p[len(p)-4:]) {
	case ".jar", ".war", ".ear":
		return true
	}
	return false
}

// Wanted implements analyzer.Analyzer.
func (Analyzer) Wanted(p string, mode fs.FileMode) bool { return mode.IsRegular() && isArchive(p) }

// Analyze implements analyzer.Analyzer. Nested archives are reported with
// FilePath "outer.war!WEB-INF/lib/inner.jar". Problems with nested
// archives (corrupt, over a limit) are returned along with every package
// found elsewhere.
func (a Analyzer) Analyze(ctx context.Context, in analyzer.Input) (analyzer.Result, error) {
	a = a.withDefaults()
	data, err := bounded.ReadAll(in, a.MaxSize)
	if err != nil {
		return analyzer.Result{}, err
	}
	w := walker{a: a, budget: a.MaxTotal, ctx: ctx}
	w.archive(data, in.Path, path.Base(in.Path), 0)
	var err2 error
	if len(w.errs) > 0 {
		err2 = fmt.Errorf("analyze %s: %w", in.Path, errors.Join(w.errs...))
	}
	return analyzer.Result{Packages: w.pkgs}, err2
}

func (a Analyzer) withDefaults() Analyzer {
	d := New()
	if a.MaxSize <= 0 {
		a.MaxSize = d.MaxSize
	}
	if a.MaxNested <= 0 {
		a.MaxNested = d.MaxNested
	}
	if a.MaxTotal <= 0 {
		a.MaxTotal = d.MaxTotal
	}
	if a.MaxDepth <= 0 {
		a.MaxDepth = d.MaxDepth
	}
	return a
}

type walker struct {
	a      Analyzer
	ctx    context.Context
	budget int64
	pkgs   []analyzer.Package
	errs   []error
}

// read decompresses f, at most limit bytes and within the budget.
func (w *walker) read(f *zip.File, limit int64) ([]byte, error) {
	limit = min(limit, w.budget)
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%s: %w: %d bytes uncompressed, %d allowed", f.Name, ErrLimit, f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	// The declared size can lie: cap what is actually inflated.
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	w.budget -= int64(len(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w: inflates past %d bytes", f.Name, ErrLimit, limit)
	}
	return b, nil
}

// archive lists the artifacts of one archive held in data; where is its
// FilePath and base its file name.
func (w *walker) archive(data []byte, where, base string, depth int) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		w.errs = append(w.errs, fmt.Errorf("%s: not a zip archive: %w", where, err))
		return
	}
	var (
		poms     []analyzer.Package
		manifest map[string]string
		nested   []*zip.File
	)
	for _, f := range zr.File {
		if w.ctx.Err() != nil {
			w.errs = append(w.errs, w.ctx.Err())
			return
		}
		name := f.Name
		switch {
		case strings.HasPrefix(name, "META-INF/maven/") && strings.HasSuffix(name, "/pom.properties"):
			b, err := w.read(f, maxMetaFile)
			if err != nil {
				w.errs = append(w.errs, fmt.Errorf("%s: %w", where, err))
				continue
			}
			props := parseProperties(b)
			g, art, v := props["groupId"], props["artifactId"], props["version"]
			if g == "" || art == "" || v == "" {
				w.errs = append(w.errs, fmt.Errorf("%s: %s: groupId, artifactId or version missing", where, name))
				continue
			}
			poms = append(poms, newPackage(g, art, v, where))
		case strings.EqualFold(name, "META-INF/MANIFEST.MF"):
			b, err := w.read(f, maxMetaFile)
			if err != nil {
				w.errs = append(w.errs, fmt.Errorf("%s: %w", where, err))
				continue
			}
			manifest = parseManifest(b)
		case isArchive(name) && !f.FileInfo().IsDir():
			nested = append(nested, f)
		}
	}
	switch {
	case len(poms) > 0:
		w.pkgs = append(w.pkgs, poms...)
	default:
		if p, ok := fromManifest(manifest, base, where); ok {
			w.pkgs = append(w.pkgs, p)
		}
	}
	for _, f := range nested {
		inner := where + "!" + f.Name
		if depth+1 > w.a.MaxDepth {
			w.errs = append(w.errs, fmt.Errorf("%s: %w: nested deeper than %d archives", inner, ErrLimit, w.a.MaxDepth))
			continue
		}
		b, err := w.read(f, w.a.MaxNested)
		if err != nil {
			w.errs = append(w.errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		w.archive(b, inner, path.Base(f.Name), depth+1)
	}
}

// parseProperties reads key=value (or key: value) lines of a Java
// properties file, ignoring comments; escapes are not needed for GAVs.
func parseProperties(b []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			continue
		}
		m[strings.TrimSpace(line[:i])] = strings.TrimSpace(line[i+1:])
	}
	return m
}

// parseManifest reads the main section of a JAR manifest; a line starting
// with a space continues the previous one.
func parseManifest(b []byte) map[string]string {
	m := map[string]string{}
	var last string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break // end of the main section
		}
		if line[0] == ' ' {
			if last != "" {
				m[last] += line[1:]
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.TrimSpace(k)
		m[last] = strings.TrimSpace(v)
	}
	return m
}

// fromManifest derives an artifact from a manifest without pom.properties:
// group from Implementation-Vendor-Id or the OSGi symbolic name's prefix,
// artifact from Implementation-Title or the symbolic name, version from
// Implementation-Version or Bundle-Version, then the file name
// "artifact-version.jar" for what is still missing. Without a group the
// package has no Maven coordinates and is reported under its artifact name.
func fromManifest(m map[string]string, base, where string) (analyzer.Package, bool) {
	group := m["Implementation-Vendor-Id"]
	art := m["Implementation-Title"]
	ver := m["Implementation-Version"]
	if sym, _, _ := strings.Cut(m["Bundle-SymbolicName"], ";"); sym != "" {
		if art == "" || strings.Contains(art, " ") {
			if i := strings.LastIndexByte(sym, '.'); i > 0 && group == "" {
				group, art = sym[:i], sym[i+1:]
			} else {
				art = sym
			}
		}
	}
	if ver == "" {
		ver = m["Bundle-Version"]
	}
	stem := strings.TrimSuffix(base, path.Ext(base))
	if i := strings.LastIndexByte(stem, '-'); i > 0 && i+1 < len(stem) && stem[i+1] >= '0' && stem[i+1] <= '9' {
		if art == "" || strings.Contains(art, " ") {
			art = stem[:i]
		}
		if ver == "" {
			ver = stem[i+1:]
		}
	}
	if art == "" || ver == "" || strings.Contains(art, " ") {
		return analyzer.Package{}, false
	}
	return newPackage(group, art, ver, where), true
}

func newPackage(group, art, ver, where string) analyzer.Package {
	name := art
	if group != "" {
		name = group + ":" + art
	}
	return analyzer.Package{
		Type:      analyzer.TypeJava,
		Name:      name,
		Version:   ver,
		Ecosystem: Ecosystem,
		FilePath:  where,
		PURL:      analyzer.PURL("maven", group, art, ver, nil),
	}
}
