package vulndb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigilsec/vigil/internal/scan/version"
)

// ErrUnknownEcosystem is returned by Match for an ecosystem without a known
// version ordering.
var ErrUnknownEcosystem = errors.New("no version ordering for ecosystem")

// Finding is one advisory affecting a package version.
type Finding struct {
	ID        string    `json:"id"`
	Aliases   []string  `json:"aliases,omitempty"`
	Summary   string    `json:"summary,omitempty"`
	Source    string    `json:"source"`
	Ecosystem string    `json:"ecosystem"` // as the advisory names it, e.g. "Debian:12"
	Package   string    `json:"package"`
	Version   string    `json:"version"`          // the version matched
	Fixed     []string  `json:"fixed,omitempty"`  // fix versions above Version in the matching ranges
	CVSS      string    `json:"cvss,omitempty"`   // highest-scoring CVSS v3 vector
	Score     float64   `json:"score,omitempty"`  // its base score
	Rating    string    `json:"rating,omitempty"` // qualitative severity without a score (Rating); "" unknown
	Modified  time.Time `json:"modified"`
}

const matchQuery = `
SELECT a.id, a.source, a.modified, a.summary, a.aliases, a.cvss_vector, a.cvss_score, a.severity,
       f.ecosystem, f.package, f.ranges, f.versions
FROM affected f JOIN advisory a ON a.id = f.advisory_id
WHERE f.base_ecosystem = ? AND f.package_key = ? AND a.withdrawn = ''`

// Match returns the advisories that affect version ver of package pkg in
// ecosystem. An ecosystem with a release ("Debian:12", "Alpine:v3.19",
// "Ubuntu:22.04:LTS") matches only advisories for that release; a bare one
// ("Debian") matches advisories of every release. A version is affected when
// it is listed in the advisory's versions or lies in a range: at or after an
// introduced event ("0" is the beginning of time) and before the next fixed
// event, or at or before the next last_affected event. Withdrawn advisories
// never match. For Go, the standard library is the module "stdlib" and
// versions may be given as Go release tags (go1.21.5, go1.22rc1).
func (db *DB) Match(ctx context.Context, ecosystem, pkg, ver string) ([]Finding, error) {
	base := version.BaseEcosystem(ecosystem)
	cmp, ok := version.ForEcosystem(base)
	if !ok {
		return nil, fmt.Errorf("match %s %s@%s: %w", ecosystem, pkg, ver, ErrUnknownEcosystem)
	}
	orig := ver
	if base == "Go" && (pkg == "stdlib" || pkg == "toolchain") {
		ver = goTagToSemver(ver)
	}
	if _, err := cmp.Compare(ver, ver); err != nil {
		return nil, fmt.Errorf("match %s %s@%s: %w", ecosystem, pkg, orig, err)
	}
	rows, err := db.match.QueryContext(ctx, base, packageKey(base, pkg))
	if err != nil {
		return nil, fmt.Errorf("match %s %s@%s: %w", ecosystem, pkg, orig, db.wrap(err))
	}
	defer rows.Close()
	exact := strings.IndexByte(ecosystem, ':') >= 0
	var out []Finding
	seen := map[string]bool{}
	for rows.Next() {
		var (
			f                                 Finding
			modified, aliases, ranges, listed string
			severity                          string
			score                             sql.NullFloat64
		)
		if err := rows.Scan(&f.ID, &f.Source, &modified, &f.Summary, &aliases, &f.CVSS, &score, &severity,
			&f.Ecosystem, &f.Package, &ranges, &listed); err != nil {
			return nil, fmt.Errorf("match %s %s@%s: %w", ecosystem, pkg, orig, db.wrap(err))
		}
		if exact && f.Ecosystem != ecosystem {
			continue
		}
		var a affected
		if err := json.Unmarshal([]byte(ranges), &a.Ranges); err != nil {
			return nil, fmt.Errorf("match %s %s@%s: advisory %s: %w: ranges: %v", ecosystem, pkg, orig, f.ID, ErrCorrupt, err)
		}
		if err := json.Unmarshal([]byte(listed), &a.Versions); err != nil {
			return nil, fmt.Errorf("match %s %s@%s: advisory %s: %w: versions: %v", ecosystem, pkg, orig, f.ID, ErrCorrupt, err)
		}
		a.Ecosystem = f.Ecosystem
		hit, fixed := affects(&a, cmp, ver)
		if !hit || seen[f.ID+"\x00"+f.Ecosystem] {
			continue
		}
		seen[f.ID+"\x00"+f.Ecosystem] = true
		f.Version, f.Fixed = orig, fixed
		f.Score = score.Float64
		f.Modified, _ = time.Parse(time.RFC3339Nano, modified)
		if err := json.Unmarshal([]byte(aliases), &f.Aliases); err != nil {
			return nil, fmt.Errorf("match %s %s@%s: advisory %s: %w: aliases: %v", ecosystem, pkg, orig, f.ID, ErrCorrupt, err)
		}
		if !score.Valid {
			var sev []Severity
			if err := json.Unmarshal([]byte(severity), &sev); err != nil {
				return nil, fmt.Errorf("match %s %s@%s: advisory %s: %w: severity: %v", ecosystem, pkg, orig, f.ID, ErrCorrupt, err)
			}
			f.Rating = Rating(sev)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("match %s %s@%s: %w", ecosystem, pkg, orig, db.wrap(err))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].Ecosystem < out[j].Ecosystem
	})
	return out, nil
}

// affects evaluates one affected entry for version v (already valid for
// cmp) and returns the fix versions above v of the ranges that hit.
func affects(a *affected, cmp version.Comparer, v string) (bool, []string) {
	hit := false
	for _, listed := range a.Versions {
		if listed == v {
			hit = true
			break
		}
		if c, err := cmp.Compare(listed, v); err == nil && c == 0 {
			hit = true
			break
		}
	}
	var fixed []string
	for i := range a.Ranges {
		rg := &a.Ranges[i]
		rc := rangeComparer(rg.Type, a.Ecosystem)
		if rc == nil {
			continue // GIT ranges name commits, not versions
		}
		in, fx, ok := inRange(rg.Events, rc, v)
		if !ok || !in {
			continue
		}
		hit = true
		fixed = append(fixed, fx...)
	}
	return hit, fixed
}

// inRange walks events sorted by version (as Import stores them): each
// introduced at or below v turns "affected" on, each fixed at or below v and
// each last_affected below v turns it off; the first event above v settles
// the state, and when it is a fix of an affected v it is reported. ok is
// false when an event's version cannot be compared.
func inRange(events []Event, cmp version.Comparer, v string) (in bool, fixed []string, ok bool) {
	for _, e := range events {
		ev := e.version()
		if e.Limit != "" {
			continue
		}
		if e.Introduced == "0" {
			in = true
			continue
		}
		c, err := cmp.Compare(v, ev)
		if err != nil {
			return false, nil, false
		}
		if e.LastAffected != "" {
			if c > 0 {
				in = false
				continue
			}
			break
		}
		if c < 0 {
			// ev is above v: nothing later can change the state.
			if in && e.Fixed != "" {
				fixed = []string{e.Fixed}
			}
			break
		}
		in = e.Introduced != ""
	}
	return in, fixed, true
}

// goTagToSemver turns a Go release tag into the semantic version OSV uses
// for the standard library: go1.21.5 → 1.21.5, go1.21 → 1.21.0,
// go1.21rc2 → 1.21.0-rc.2, go1.20beta1 → 1.20.0-beta.1. Other strings are
// returned unchanged.
func goTagToSemver(tag string) string {
	rest, ok := strings.CutPrefix(tag, "go")
	if !ok {
		return tag
	}
	pre := ""
	for _, p := range []string{"rc", "beta"} {
		if i := strings.Index(rest, p); i > 0 {
			pre = "-" + p + "." + rest[i+len(p):]
			rest = rest[:i]
			break
		}
	}
	switch strings.Count(rest, ".") {
	case 0:
		rest += ".0.0"
	case 1:
		rest += ".0"
	}
	return rest + pre
}
