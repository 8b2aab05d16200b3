package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"go.yaml.in/yaml/v3"

	"github.com/vigilsec/vigil/internal/scan/analyzer/catalog"
	"github.com/vigilsec/vigil/internal/scan/image"
	"github.com/vigilsec/vigil/internal/scan/malware"
	"github.com/vigilsec/vigil/internal/scan/passwd"
	"github.com/vigilsec/vigil/internal/scan/scanner"
	"github.com/vigilsec/vigil/internal/scan/secret"
	"github.com/vigilsec/vigil/internal/scan/vulndb"
)

// ScanConfig is what `vigil scan` asks for.
type ScanConfig struct {
	Target        string // image reference, image file/dir, or directory
	Filesystem    bool   // scan Target as a directory (vigil scan fs)
	Insecure      bool   // allow plain-HTTP registries
	DBPath        string
	Scanners      scanner.Set
	ShowPasswords bool
	SecretConfig  string   // gitleaks TOML rules replacing the built-in secret rules; "" uses the built-in ones
	MalwareRules  []string // directories of YARA rules (builds with -tags yara)
	MalwareHashes []string // SHA-256 blocklists added to the embedded one
	Progress      func(scanner.Progress)
	Logger        *slog.Logger
}

// Scan runs a scan. The returned error means the scan could not run or
// stopped early; problems that left it incomplete are in Result.Errors.
func Scan(ctx context.Context, cfg ScanConfig) (*scanner.Result, error) {
	opt := scanner.Options{Scanners: cfg.Scanners, Analyzers: catalog.All(), Progress: cfg.Progress, Logger: cfg.Logger,
		Passwd: &passwd.Checker{ShowPasswords: cfg.ShowPasswords}}
	if cfg.Scanners[scanner.Vuln] {
		db, err := vulndb.OpenExisting(ctx, cfg.DBPath)
		if errors.Is(err, vulndb.ErrNoDatabase) {
			err = fmt.Errorf("%w (create it with: vigil db import DIR|ZIP|FILE --db %s, or pass --scanners without vuln)", err, cfg.DBPath)
		}
		if err != nil {
			return nil, err
		}
		defer db.Close()
		opt.DB = db
	}
	if cfg.Scanners[scanner.Secrets] {
		s, err := SecretScanner(cfg.SecretConfig, cfg.Logger)
		if err != nil {
			return nil, err
		}
		opt.Secrets = s
	}
	if cfg.Scanners[scanner.Malware] {
		m, err := malware.New(malware.Options{RuleDirs: cfg.MalwareRules, HashFiles: cfg.MalwareHashes})
		if err != nil && !errors.Is(err, malware.ErrNoYARA) {
			return nil, err
		}
		if m != nil && cfg.Logger != nil {
			for _, sk := range m.Skipped {
				cfg.Logger.Warn("YARA rule file skipped", "component", "scan", "reason", sk)
			}
		}
		opt.Malware = m
	}
	if cfg.Filesystem {
		return scanner.ScanDir(ctx, cfg.Target, opt)
	}
	img, err := openImage(ctx, cfg.Target, cfg.Insecure)
	if err != nil {
		return nil, err
	}
	return scanner.ScanImage(ctx, img, cfg.Target, opt)
}

// SecretScanner returns the built-in secret rules, or the rules of the
// gitleaks configuration at path (plus the built-in ones when it sets
// [extend] useDefault). Rules Go cannot compile are logged and skipped.
func SecretScanner(path string, log *slog.Logger) (scanner.SecretScanner, error) {
	if path == "" {
		return scanner.SecretRules{S: secret.New(secret.Builtin())}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret config: %w", err)
	}
	gl, err := secret.LoadGitleaks(path, data)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, sk := range gl.Skipped {
		log.Warn("secret rule skipped", "component", "scan", "file", path, "rule", sk.ID, "reason", sk.Reason)
	}
	rules := gl.Rules
	if gl.UseDefault {
		rules = append(secret.Builtin(), rules...)
	}
	return scanner.SecretRules{S: secret.New(rules, secret.WithAllowlists(gl.Allowlists...))}, nil
}

// openImage opens a local image (docker-save tar, OCI layout dir or tar)
// when target exists on disk, else pulls it from its registry with the
// credentials of the Docker config (~/.docker/config.json).
func openImage(ctx context.Context, target string, insecure bool) (v1.Image, error) {
	if _, err := os.Stat(target); err == nil {
		return image.Open(target)
	}
	var opts []name.Option
	if insecure {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.ParseReference(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s is neither a file, a directory nor an image reference: %w", target, err)
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	return img, nil
}

// IgnoreEntry is one entry of an ignore file.
type IgnoreEntry struct {
	ID      string `yaml:"id"`
	Reason  string `yaml:"reason"`
	Expires string `yaml:"expires"` // YYYY-MM-DD; the entry stops applying after that day
	Line    int    `yaml:"-"`
	expires time.Time
}

// IgnoreList is a parsed ignore file.
type IgnoreList struct {
	Path    string
	Entries []IgnoreEntry
}

// LoadIgnoreFile reads an ignore file:
//
//	ignore:
//	  - id: CVE-2023-5678
//	    reason: not reachable from our code
//	    expires: 2026-06-30
//
// Every problem is reported with its line.
func LoadIgnoreFile(path string) (*IgnoreList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ignore file: %w", err)
	}
	var doc struct {
		Ignore []yaml.Node `yaml:"ignore"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, errEOF(err)) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	list := &IgnoreList{Path: path}
	var errs []error
	for _, n := range doc.Ignore {
		var e IgnoreEntry
		if err := n.Decode(&e); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d:%d: %v", path, n.Line, n.Column, err))
			continue
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if k != "id" && k != "reason" && k != "expires" {
				errs = append(errs, fmt.Errorf("%s:%d:%d: unknown field %q (want id, reason, expires)", path, n.Content[i].Line, n.Content[i].Column, k))
			}
		}
		e.Line = n.Line
		if e.ID == "" {
			errs = append(errs, fmt.Errorf("%s:%d:%d: id is required", path, n.Line, n.Column))
			continue
		}
		if e.Expires != "" {
			t, err := time.Parse(time.DateOnly, e.Expires)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s:%d:%d: expires %q is not a YYYY-MM-DD date", path, n.Line, n.Column, e.Expires))
				continue
			}
			e.expires = t.AddDate(0, 0, 1) // valid through the whole day
		}
		list.Entries = append(list.Entries, e)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return list, nil
}

// errEOF lets an empty file through the decoder.
func errEOF(err error) error {
	if err != nil && err.Error() == "EOF" {
		return err
	}
	return nil
}

// Filter keeps only findings at the given severities (nil keeps all) and
// not ignored. It returns one warning per expired ignore entry: an expired
// entry no longer ignores anything.
func Filter(res *scanner.Result, severities []string, ignore *IgnoreList, now time.Time) []string {
	var warnings []string
	active := map[string]bool{}
	if ignore != nil {
		for _, e := range ignore.Entries {
			if !e.expires.IsZero() && !now.Before(e.expires) {
				warnings = append(warnings, fmt.Sprintf("%s:%d: ignore entry %s expired on %s; it no longer ignores anything", ignore.Path, e.Line, e.ID, e.Expires))
				continue
			}
			active[e.ID] = true
		}
	}
	keepSev := func(s string) bool { return len(severities) == 0 || slices.Contains(severities, s) }
	ignored := func(ids ...string) bool {
		for _, id := range ids {
			if active[id] {
				return true
			}
		}
		return false
	}
	vulns := res.Vulnerabilities[:0]
	for _, v := range res.Vulnerabilities {
		if keepSev(v.Severity) && !ignored(append([]string{v.ID}, v.Aliases...)...) {
			vulns = append(vulns, v)
		}
	}
	res.Vulnerabilities = vulns
	mis := res.Misconfigurations[:0]
	for _, m := range res.Misconfigurations {
		if keepSev(m.Severity) && !ignored(m.ID) {
			mis = append(mis, m)
		}
	}
	res.Misconfigurations = mis
	secrets := res.Secrets[:0]
	for _, s := range res.Secrets {
		if keepSev(s.Severity) && !ignored(s.RuleID) {
			secrets = append(secrets, s)
		}
	}
	res.Secrets = secrets
	mal := res.Malware[:0]
	for _, m := range res.Malware {
		if keepSev(m.Severity) && !ignored(m.RuleID, m.SHA256) {
			mal = append(mal, m)
		}
	}
	res.Malware = mal
	pw := res.Passwords[:0]
	for _, p := range res.Passwords {
		if keepSev(p.Severity) && !ignored(p.ID) {
			pw = append(pw, p)
		}
	}
	res.Passwords = pw
	return warnings
}

// ParseSeverities parses "HIGH,CRITICAL".
func ParseSeverities(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.ToUpper(strings.TrimSpace(f))
		if f == "" {
			continue
		}
		if scanner.SeverityRank(f) < 0 {
			return nil, fmt.Errorf("unknown severity %q (want %s)", f, strings.Join(scanner.Severities, ","))
		}
		out = append(out, f)
	}
	return out, nil
}

// Findings counts the findings of a (filtered) result.
func Findings(res *scanner.Result) int {
	return len(res.Vulnerabilities) + len(res.Misconfigurations) + len(res.Secrets) + len(res.Passwords) + len(res.Malware)
}
