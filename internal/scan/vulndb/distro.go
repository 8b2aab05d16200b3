package vulndb

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigilsec/vigil/internal/scan/version"
)

// alpinePackage is one entry of an Alpine secdb document
// (https://secdb.alpinelinux.org/v3.19/main.json).
type alpinePackage struct {
	Pkg struct {
		Name     string              `json:"name"`
		SecFixes map[string][]string `json:"secfixes"`
	} `json:"pkg"`
}

// alpineRecords turns a secdb document into partial advisories
// ALPINE-<CVE>: for each package, the CVE is fixed in the listed version of
// that branch, so versions before it are affected. A fix version "0" means
// the branch was never affected.
func alpineRecords(d *osvDoc, now time.Time) ([]record, error) {
	if !strings.HasPrefix(d.DistroVersion, "v") {
		return nil, fmt.Errorf("distroversion %q: want v<major>.<minor>", d.DistroVersion)
	}
	eco := "Alpine:" + d.DistroVersion
	byID := map[string]*record{}
	var errs []error
	for i, p := range d.Packages {
		name := p.Pkg.Name
		if name == "" {
			errs = append(errs, fmt.Errorf("packages[%d]: pkg.name missing", i))
			continue
		}
		fixes := make([]string, 0, len(p.Pkg.SecFixes))
		for v := range p.Pkg.SecFixes {
			fixes = append(fixes, v)
		}
		sort.Strings(fixes)
		for _, fixed := range fixes {
			if fixed != "0" {
				if _, err := (version.APK{}).Compare(fixed, fixed); err != nil {
					errs = append(errs, fmt.Errorf("packages[%d] %s: secfixes: %v", i, name, err))
					continue
				}
			}
			for _, entry := range p.Pkg.SecFixes[fixed] {
				id, _, _ := strings.Cut(strings.TrimSpace(entry), " ")
				if id == "" || fixed == "0" {
					continue
				}
				rid := "ALPINE-" + id
				r := byID[rid]
				if r == nil {
					r = &record{ID: rid, Source: SourceAlpine, Modified: now, Partial: true}
					if strings.HasPrefix(id, "CVE-") {
						r.Aliases = []string{id}
					}
					byID[rid] = r
				}
				addFix(r, eco, name, fixed, version.APK{})
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return flatten(byID, fmt.Sprintf("Alpine %s %s", d.DistroVersion, d.RepoName)), nil
}

// addFix records that pkg in eco is fixed in fixed; when an advisory lists
// several fixes for one package the earliest counts.
func addFix(r *record, eco, pkg, fixed string, cmp version.Comparer) {
	for i := range r.Affected {
		a := &r.Affected[i]
		if a.Ecosystem != eco || a.Package != pkg {
			continue
		}
		cur := a.Ranges[0].Events[1].Fixed
		if c, err := cmp.Compare(fixed, cur); err == nil && c < 0 {
			a.Ranges[0].Events[1].Fixed = fixed
		}
		return
	}
	r.Affected = append(r.Affected, affected{
		Ecosystem: eco,
		Package:   pkg,
		Ranges:    []Range{{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}, {Fixed: fixed}}}},
	})
}

func flatten(byID map[string]*record, origin string) []record {
	out := make([]record, 0, len(byID))
	for _, r := range byID {
		if len(r.Affected) == 0 {
			continue
		}
		if r.Details == "" {
			r.Details = "Imported from " + origin + "."
		}
		sort.Slice(r.Affected, func(i, j int) bool {
			if r.Affected[i].Ecosystem != r.Affected[j].Ecosystem {
				return r.Affected[i].Ecosystem < r.Affected[j].Ecosystem
			}
			return r.Affected[i].Package < r.Affected[j].Package
		})
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// debianEntry is one CVE of one source package in the Debian security
// tracker's JSON (https://security-tracker.debian.org/tracker/data/json).
type debianEntry struct {
	Description string `json:"description"`
	Releases    map[string]struct {
		Status       string `json:"status"`
		FixedVersion string `json:"fixed_version"`
		Urgency      string `json:"urgency"`
	} `json:"releases"`
}

// debianReleases maps codenames to the release numbers OSV uses in
// "Debian:<N>".
var debianReleases = map[string]string{
	"wheezy": "7", "jessie": "8", "stretch": "9", "buster": "10", "bullseye": "11",
	"bookworm": "12", "trixie": "13", "forky": "14", "duke": "15", "sid": "sid",
}

// debianRecords turns the tracker's {package: {CVE: {releases: ...}}} into
// partial advisories DEBIAN-<CVE>. A resolved entry is fixed in
// fixed_version ("0": never affected); an open one affects every version;
// undetermined entries are skipped.
func debianRecords(raw []byte, now time.Time) ([]record, error) {
	var doc map[string]map[string]debianEntry
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	if len(doc) == 0 {
		return nil, errors.New("no packages")
	}
	byID := map[string]*record{}
	var errs []error
	pkgs := make([]string, 0, len(doc))
	for p := range doc {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		for id, e := range doc[pkg] {
			if e.Releases == nil {
				errs = append(errs, fmt.Errorf("%s %s: releases missing", pkg, id))
				continue
			}
			rid := "DEBIAN-" + id
			r := byID[rid]
			if r == nil {
				r = &record{ID: rid, Source: SourceDebian, Modified: now, Partial: true, Summary: firstLine(e.Description), Details: e.Description}
				if strings.HasPrefix(id, "CVE-") {
					r.Aliases = []string{id}
				}
				byID[rid] = r
			}
			for codename, rel := range e.Releases {
				num, ok := debianReleases[codename]
				if !ok {
					num = codename
				}
				eco := "Debian:" + num
				switch rel.Status {
				case "resolved":
					if rel.FixedVersion == "" || rel.FixedVersion == "0" {
						continue
					}
					if _, err := (version.Dpkg{}).Compare(rel.FixedVersion, rel.FixedVersion); err != nil {
						errs = append(errs, fmt.Errorf("%s %s %s: fixed_version: %v", pkg, id, codename, err))
						continue
					}
					addFix(r, eco, pkg, rel.FixedVersion, version.Dpkg{})
				case "open":
					r.Affected = append(r.Affected, affected{
						Ecosystem: eco, Package: pkg,
						Ranges: []Range{{Type: "ECOSYSTEM", Events: []Event{{Introduced: "0"}}}},
					})
				default:
					continue
				}
				if rel.Urgency != "" && !hasSeverity(r.Severity, SeverityDebian, rel.Urgency) {
					r.Severity = append(r.Severity, Severity{Type: SeverityDebian, Score: rel.Urgency})
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, r := range byID {
		sort.Slice(r.Severity, func(i, j int) bool { return r.Severity[i].Score < r.Severity[j].Score })
	}
	return flatten(byID, "the Debian security tracker"), nil
}

func hasSeverity(list []Severity, typ, score string) bool {
	for _, s := range list {
		if s.Type == typ && s.Score == score {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
