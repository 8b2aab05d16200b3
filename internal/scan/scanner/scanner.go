// Package scanner orchestrates a scan: it walks an image's layers (or a
// directory) once, hands each wanted file to the analyzers, the secret
// scanner, the misconfiguration checks and the weak-password checks, matches
// the packages found against the vulnerability database, and attributes
// every finding to the layer and build step that produced it. Each distinct
// file content is analysed once per analyzer.
package scanner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"runtime"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
	"github.com/vigilsec/vigil/internal/scan/analyzer/dpkg"
	"github.com/vigilsec/vigil/internal/scan/image"
	"github.com/vigilsec/vigil/internal/scan/malware"
	"github.com/vigilsec/vigil/internal/scan/misconfig"
	"github.com/vigilsec/vigil/internal/scan/passwd"
	"github.com/vigilsec/vigil/internal/scan/secret"
	"github.com/vigilsec/vigil/internal/scan/version"
	"github.com/vigilsec/vigil/internal/scan/vulndb"
)

// Kind selects one scanner.
type Kind string

// Scanner kinds.
const (
	Vuln      Kind = "vuln"
	Secrets   Kind = "secret"
	Misconfig Kind = "misconfig"
	Passwd    Kind = "passwd"
	Malware   Kind = "malware"
)

// AllKinds lists every scanner kind, in documentation order.
var AllKinds = []Kind{Vuln, Secrets, Misconfig, Passwd, Malware}

// Set is a selection of scanners.
type Set map[Kind]bool

// ParseKinds parses a comma-separated list such as "vuln,secret".
func ParseKinds(s string) (Set, error) {
	set := Set{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		ok := false
		for _, k := range AllKinds {
			if string(k) == f {
				set[k], ok = true, true
			}
		}
		if !ok {
			return nil, fmt.Errorf("unknown scanner %q (want %s)", f, joinKinds(AllKinds))
		}
	}
	if len(set) == 0 {
		return nil, errors.New("no scanner selected")
	}
	return set, nil
}

func joinKinds(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Matcher finds the advisories of a package version; *vulndb.DB is one.
type Matcher interface {
	Match(ctx context.Context, ecosystem, pkg, ver string) ([]vulndb.Finding, error)
}

// SecretScanner finds secrets in file contents. Implementations must
// redact every match they return. SecretRules is one.
type SecretScanner interface {
	Wanted(path string, mode fs.FileMode) bool
	// Limit is how many bytes of a file Scan needs; a longer content is
	// scanned in part, with an error saying so.
	Limit() int64
	Scan(ctx context.Context, path string, content []byte) ([]Secret, error)
}

// binarySniff is how much of a file is read to tell a binary file (a NUL
// byte) that only the secret scanner wanted; the rest is then skipped.
const binarySniff = 8 << 10

// Progress reports how far a scan has come.
type Progress struct {
	Layer, Layers int   // current layer (1-based) and layer count; 0 for directories
	Files         int64 // entries walked so far
}

// Options configure a scan.
type Options struct {
	Scanners  Set
	Analyzers []analyzer.Analyzer // usually catalog.All()
	DB        Matcher             // required for Vuln
	Passwd    *passwd.Checker     // nil uses the defaults
	Secrets   SecretScanner       // nil: secret scanning unavailable
	Malware   MalwareScanner      // nil: malware scanning unavailable
	Progress  func(Progress)      // called per layer and every 1000 files; may be nil
	Logger    *slog.Logger
	// MaxFileSize caps the content read from one file; larger files are
	// reported as errors and not analysed. 0 means 256 MiB.
	MaxFileSize int64
	// Parallel is how many image layers are decompressed at once (see
	// image.WalkOptions); 0 means GOMAXPROCS, at most 4; 1 reads one
	// layer at a time. Analysis itself stays on one goroutine.
	Parallel int
}

// maxParallelLayers bounds the default read-ahead: each layer read ahead
// holds up to 32 MiB of small wanted files.
const maxParallelLayers = 4

const defaultMaxFileSize = 256 << 20

// scan is the state of one run.
type scan struct {
	opt      Options
	res      *Result
	layers   map[string]Layer // digest -> layer
	osPath   string
	files    misconfig.Files
	accounts map[string][]byte // etc/shadow, etc/passwd contents
	cache    map[cacheKey]analyzer.Result
	buf      []byte // file content, reused
	want     []analyzer.Analyzer
	curLayer int
	nLayers  int
}

type cacheKey struct {
	sum  [sha256.Size]byte
	typ  analyzer.Type
	vers int
}

func newScan(opt Options, target, typ string) *scan {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.MaxFileSize <= 0 {
		opt.MaxFileSize = defaultMaxFileSize
	}
	if opt.Passwd == nil {
		opt.Passwd = &passwd.Checker{}
	}
	return &scan{
		opt: opt,
		res: &Result{SchemaVersion: SchemaVersion, Target: target, Type: typ, Layers: []Layer{}, Packages: []Package{},
			Vulnerabilities: []Vulnerability{}, Misconfigurations: []misconfig.Finding{}, Secrets: []Secret{},
			Malware: []malware.Finding{}, Passwords: []passwd.Finding{}, Errors: []Error{}},
		layers:   map[string]Layer{},
		accounts: map[string][]byte{},
		cache:    map[cacheKey]analyzer.Result{},
	}
}

func (s *scan) errorf(layer, path, format string, args ...any) {
	s.res.Errors = append(s.res.Errors, Error{Layer: layer, Path: path, Message: fmt.Sprintf(format, args...)})
}

// accountFiles are read for the weak-password checks.
var accountFiles = map[string]bool{"etc/shadow": true, "etc/passwd": true}

// wanted is the directory walk's filter: it counts every visible entry and
// selects those some scanner needs.
func (s *scan) wanted(p string, mode fs.FileMode) bool {
	s.count()
	return s.selects(p, mode)
}

// count counts one visible entry and reports progress every 1000.
func (s *scan) count() {
	s.res.Stats.Files++
	if s.opt.Progress != nil && s.res.Stats.Files%1000 == 0 {
		s.opt.Progress(Progress{Layer: s.curLayer, Layers: s.nLayers, Files: s.res.Stats.Files})
	}
}

// selects reports whether some scanner needs the entry. It only reads the
// options, so the image walk calls it from its layer readers concurrently.
func (s *scan) selects(p string, mode fs.FileMode) bool {
	if s.opt.Scanners[Vuln] || s.opt.Scanners[Misconfig] {
		for _, a := range s.opt.Analyzers {
			if a.Wanted(p, mode) {
				return true
			}
		}
	}
	if s.opt.Scanners[Misconfig] && s.files.Wanted(p, mode) {
		return true
	}
	if s.opt.Scanners[Passwd] && accountFiles[p] && mode.IsRegular() {
		return true
	}
	if s.opt.Scanners[Malware] && s.opt.Malware != nil && mode.IsRegular() && s.opt.Malware.Wanted(p, mode) {
		return true
	}
	return s.opt.Scanners[Secrets] && s.opt.Secrets != nil && mode.IsRegular() && s.opt.Secrets.Wanted(p, mode)
}

// file handles one wanted entry; layer and createdBy are empty for
// directories.
func (s *scan) file(ctx context.Context, layer, createdBy string, fi image.FileInfo, r io.Reader) error {
	if s.opt.Scanners[Misconfig] && s.files.Wanted(fi.Path, fi.Mode) {
		s.files.Add(layer, createdBy, fi.Path, fi.Mode, fi.Size)
	}
	if !fi.Mode.IsRegular() {
		return nil
	}
	s.want = s.want[:0]
	if s.opt.Scanners[Vuln] || s.opt.Scanners[Misconfig] {
		for _, a := range s.opt.Analyzers {
			if a.Wanted(fi.Path, fi.Mode) {
				s.want = append(s.want, a)
			}
		}
	}
	isAccount := s.opt.Scanners[Passwd] && accountFiles[fi.Path]
	wantSecret := s.opt.Scanners[Secrets] && s.opt.Secrets != nil && s.opt.Secrets.Wanted(fi.Path, fi.Mode)
	wantMalware := s.opt.Scanners[Malware] && s.opt.Malware != nil && s.opt.Malware.Wanted(fi.Path, fi.Mode)
	if len(s.want) == 0 && !isAccount && !wantSecret && !wantMalware {
		return nil
	}
	onlySecret := len(s.want) == 0 && !isAccount && !wantMalware
	limit := s.opt.MaxFileSize
	switch {
	case onlySecret:
		limit = s.opt.Secrets.Limit()
	case len(s.want) == 0 && !isAccount && fi.Size > s.opt.Malware.Limit():
		s.errorf(layer, fi.Path, "file of %d bytes is larger than the %d-byte malware scan limit; not scanned", fi.Size, s.opt.Malware.Limit())
		if !wantSecret {
			return nil
		}
		onlySecret, wantMalware, limit = true, false, s.opt.Secrets.Limit()
	case fi.Size > s.opt.MaxFileSize:
		s.errorf(layer, fi.Path, "file of %d bytes is larger than the %d-byte analysis limit; not analysed", fi.Size, s.opt.MaxFileSize)
		return nil
	}
	// The buffer is sized from the header once, kept for the next file,
	// and grows only to the largest file read, never by doubling: a
	// doubling buffer copies and clears large files again and again.
	if want := int(min(fi.Size, limit)) + 1; cap(s.buf) < want {
		s.buf = make([]byte, 0, want)
	}
	data := s.buf[:0]
	if onlySecret {
		// Binary files hold no text secrets: read their beginning only.
		var err error
		data, err = readAtMost(data, r, binarySniff)
		s.res.Stats.Bytes += int64(len(data))
		if err != nil {
			return fmt.Errorf("read %s: %w", fi.Path, err)
		}
		if secret.IsBinary(data) {
			return nil
		}
	}
	sniffed := len(data)
	data, err := readAtMost(data, r, limit+1-int64(sniffed))
	if err != nil {
		return fmt.Errorf("read %s: %w", fi.Path, err)
	}
	s.res.Stats.Bytes += int64(len(data) - sniffed)
	s.buf = data[:0]
	if isAccount {
		s.accounts[fi.Path] = bytes.Clone(data)
	}
	if wantSecret {
		found, err := s.opt.Secrets.Scan(ctx, fi.Path, data)
		if err != nil {
			s.errorf(layer, fi.Path, "secret scan: %v", err)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		for _, f := range found {
			f.Path, f.Layer, f.CreatedBy = fi.Path, layer, createdBy
			s.res.Secrets = append(s.res.Secrets, f)
		}
	}
	if wantMalware {
		found, err := s.opt.Malware.Scan(ctx, fi.Path, data)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.errorf(layer, fi.Path, "malware scan: %v", err)
		}
		for _, f := range found {
			f.Layer, f.CreatedBy = layer, createdBy
			s.res.Malware = append(s.res.Malware, f)
		}
	}
	if len(s.want) == 0 {
		return nil
	}
	s.res.Stats.AnalyzedFiles++
	sum := sha256.Sum256(data)
	for _, a := range s.want {
		key := cacheKey{sum: sum, typ: a.Type(), vers: a.Version()}
		res, hit := s.cache[key]
		if hit {
			s.res.Stats.CacheHits++
		} else {
			var err error
			res, err = a.Analyze(ctx, analyzer.Input{Path: fi.Path, Mode: fi.Mode, Size: int64(len(data)), Content: bytes.NewReader(data)})
			if err != nil {
				s.errorf(layer, fi.Path, "%s analyzer: %v", a.Type(), err)
			}
			// Cache a copy: the packages are rewritten per path below.
			s.cache[key] = analyzer.Result{OS: res.OS, Packages: append([]analyzer.Package(nil), res.Packages...)}
		}
		if res.OS != nil && (s.res.OS == nil || fi.Path == "etc/os-release" && s.osPath != fi.Path) {
			s.res.OS = &OS{ID: res.OS.ID, VersionID: res.OS.VersionID, PrettyName: res.OS.PrettyName}
			s.osPath = fi.Path
		}
		for _, p := range res.Packages {
			p.FilePath = fi.Path
			p.Layer = layer
			s.res.Packages = append(s.res.Packages, fromAnalyzer(p))
		}
	}
	return nil
}

// readAtMost appends at most max bytes of r to buf, growing it only when
// r holds more than its capacity (a file that grew after its size was
// read).
func readAtMost(buf []byte, r io.Reader, max int64) ([]byte, error) {
	start := len(buf)
	for int64(len(buf)-start) < max {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := min(int64(cap(buf)-len(buf)), max-int64(len(buf)-start))
		n, err := r.Read(buf[len(buf) : len(buf)+int(room)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// ScanImage scans img; target names it in the report.
func ScanImage(ctx context.Context, img v1.Image, target string, opt Options) (*Result, error) {
	s := newScan(opt, target, "image")
	infos, _, err := image.Layers(img)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", target, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("scan %s: read config: %w", target, err)
	}
	if id, err := img.ConfigName(); err == nil {
		s.res.ImageID = id.String()
	}
	digests := make([]string, len(infos))
	for i, li := range infos {
		l := Layer{Digest: li.Digest.String(), DiffID: li.DiffID.String(), CreatedBy: li.CreatedBy}
		s.res.Layers = append(s.res.Layers, l)
		s.layers[l.Digest] = l
		digests[i] = l.Digest
	}
	s.nLayers = len(infos)
	walk := image.WalkOptions{Wanted: s.selects, Parallel: opt.Parallel, Visible: func(l image.LayerInfo, _ image.FileInfo) {
		if l.Index+1 != s.curLayer {
			s.curLayer = l.Index + 1
			if s.opt.Progress != nil {
				// Layers are walked from the top; report how many are done.
				s.opt.Progress(Progress{Layer: s.nLayers - l.Index, Layers: s.nLayers, Files: s.res.Stats.Files})
			}
		}
		s.count()
	}}
	if walk.Parallel == 0 {
		walk.Parallel = min(runtime.GOMAXPROCS(0), maxParallelLayers)
	}
	rep, err := image.WalkWith(ctx, img, walk, func(l image.LayerInfo, fi image.FileInfo, r io.Reader) error {
		return s.file(ctx, l.Digest.String(), l.CreatedBy, fi, r)
	})
	if rep != nil {
		for _, le := range rep.LayerErrors {
			d := le.Layer.String()
			where := "layer " + d
			for i, l := range s.res.Layers {
				if l.Digest == d {
					where = fmt.Sprintf("layer %d of %d %s (diff_id %s, created by %q)", i+1, len(s.res.Layers), d, l.DiffID, l.CreatedBy)
				}
			}
			s.errorf(d, "", "%s could not be read completely; files after the damage were not scanned: %v", where, le.Err)
		}
		for _, e := range rep.Escapes {
			s.errorf(e.Layer.String(), e.Name, "tar entry escapes the image root; skipped")
		}
	}
	if err != nil {
		return s.res, fmt.Errorf("scan %s: %w", target, err)
	}
	if opt.Scanners[Misconfig] {
		s.res.Misconfigurations = append(s.res.Misconfigurations, misconfig.CheckConfig(cfg, misconfig.Steps(cfg, digests))...)
	}
	return s.finish(ctx)
}

// finish runs the checks that need the whole walk and sorts the result.
func (s *scan) finish(ctx context.Context) (*Result, error) {
	if s.res.OS != nil {
		for i, p := range s.res.Packages {
			if p.Type == string(analyzer.TypeDpkg) && (s.res.OS.ID == "debian" || s.res.OS.ID == "ubuntu") {
				s.res.Packages[i].PURL = dpkg.PURL(analyzer.Package{Name: p.Name, Version: p.Version, Arch: p.Arch,
					SourceName: p.SourceName, SourceVersion: p.SourceVersion}, s.res.OS.ID, s.res.OS.ID+"-"+s.res.OS.VersionID)
			}
		}
	}
	sort.SliceStable(s.res.Packages, func(i, j int) bool {
		a, b := s.res.Packages[i], s.res.Packages[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Path < b.Path
	})
	if s.opt.Scanners[Misconfig] {
		for _, p := range s.res.Packages {
			s.files.AddPackage(p.Name, p.Layer, s.layers[p.Layer].CreatedBy)
		}
		s.res.Misconfigurations = append(s.res.Misconfigurations, s.files.Findings()...)
	}
	if s.opt.Scanners[Passwd] {
		if data, ok := s.accounts["etc/shadow"]; ok {
			found, err := s.opt.Passwd.CheckShadow(ctx, "etc/shadow", data)
			if err != nil {
				s.errorf("", "etc/shadow", "%v", err)
			}
			s.res.Passwords = append(s.res.Passwords, found...)
		}
		if data, ok := s.accounts["etc/passwd"]; ok {
			found, err := passwd.CheckPasswd("etc/passwd", data)
			if err != nil {
				s.errorf("", "etc/passwd", "%v", err)
			}
			s.res.Passwords = append(s.res.Passwords, found...)
		}
	}
	if s.opt.Scanners[Vuln] {
		if s.opt.DB == nil {
			return s.res, errors.New("vulnerability scan needs a database")
		}
		if err := s.matchAll(ctx); err != nil {
			return s.res, err
		}
	}
	sort.SliceStable(s.res.Malware, func(i, j int) bool {
		a, b := s.res.Malware[i], s.res.Malware[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.RuleID < b.RuleID
	})
	sort.SliceStable(s.res.Secrets, func(i, j int) bool {
		a, b := s.res.Secrets[i], s.res.Secrets[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Line < b.Line
	})
	return s.res, nil
}

// matchAll matches every package and fills Vulnerabilities.
func (s *scan) matchAll(ctx context.Context) error {
	seen := map[string]bool{}
	layerIndex := map[string]int{}
	for i, l := range s.res.Layers {
		layerIndex[l.Digest] = i
	}
	for _, p := range s.res.Packages {
		q, ok := query(p, s.res.OS)
		if !ok {
			continue
		}
		found, err := s.opt.DB.Match(ctx, q.base, q.name, q.version)
		if errors.Is(err, version.ErrInvalid) || errors.Is(err, vulndb.ErrUnknownEcosystem) {
			s.opt.Logger.Debug("version not matchable", "component", "scanner", "package", p.Name, "version", q.version, "err", err)
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.errorf(p.Layer, p.Path, "match %s %s: %v", p.Name, p.Version, err)
			continue
		}
		for _, f := range found {
			if q.release != "" && f.Ecosystem != q.release && !strings.HasPrefix(f.Ecosystem, q.release+":") {
				continue
			}
			key := f.ID + "\x00" + p.Name + "\x00" + p.Version + "\x00" + p.Path
			if seen[key] {
				continue
			}
			seen[key] = true
			v := Vulnerability{ID: f.ID, Aliases: f.Aliases, Summary: f.Summary, Package: p.Name, PackageType: p.Type, PURL: p.PURL,
				InstalledVersion: p.Version, Severity: SeverityFromScore(f.Score), CVSSScore: f.Score, CVSSVector: f.CVSS,
				Ecosystem: f.Ecosystem, Layer: p.Layer, CreatedBy: s.layers[p.Layer].CreatedBy, Path: p.Path}
			if v.Severity == "UNKNOWN" && f.Rating != "" {
				v.Severity = f.Rating
			}
			if v.Aliases == nil {
				v.Aliases = []string{}
			}
			if len(f.Fixed) > 0 {
				v.FixedVersion = f.Fixed[0]
			}
			s.res.Vulnerabilities = append(s.res.Vulnerabilities, v)
		}
	}
	sort.SliceStable(s.res.Vulnerabilities, func(i, j int) bool {
		a, b := s.res.Vulnerabilities[i], s.res.Vulnerabilities[j]
		if la, lb := layerIndex[a.Layer], layerIndex[b.Layer]; la != lb {
			return la < lb
		}
		if a.Package != b.Package {
			return a.Package < b.Package
		}
		if ra, rb := SeverityRank(a.Severity), SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		return a.ID < b.ID
	})
	return nil
}
