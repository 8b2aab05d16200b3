package vulndb

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/vigilsec/vigil/internal/scan/cvss"
	"github.com/vigilsec/vigil/internal/scan/version"
)

// Sources of advisories.
const (
	SourceOSV    = "osv"
	SourceAlpine = "alpine-secdb"
	SourceDebian = "debian-tracker"
)

// ErrMalformed is wrapped by the error of every document that could not be
// imported.
var ErrMalformed = errors.New("malformed advisory document")

// Reference is a link of an advisory.
type Reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// Severity is one severity rating: a CVSS vector for the CVSS_V2, CVSS_V3
// and CVSS_V4 types, a word for distribution ratings (Debian urgency).
type Severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// Severity types besides OSV's CVSS ones.
const (
	SeverityDebian   = "Debian"            // Debian security tracker urgency
	SeverityDatabase = "DATABASE_SPECIFIC" // database_specific.severity of an OSV record
)

// databaseSeverity returns database_specific.severity when it is a string.
func databaseSeverity(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var ds struct {
		Severity any `json:"severity"`
	}
	if json.Unmarshal(raw, &ds) != nil {
		return ""
	}
	s, _ := ds.Severity.(string)
	return strings.TrimSpace(s)
}

// Rating returns the qualitative severity (LOW, MEDIUM, HIGH, CRITICAL)
// of an advisory without a CVSS v3 score: the highest of its
// database_specific severity and its Debian urgencies ("unimportant" and
// "low" are LOW; "not yet assigned" and "end-of-life" say nothing). ""
// when none says.
func Rating(list []Severity) string {
	rank := map[string]int{"LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}
	best := ""
	for _, s := range list {
		var r string
		w := strings.ToUpper(strings.TrimRight(strings.TrimSpace(s.Score), "*"))
		switch s.Type {
		case SeverityDebian:
			switch w {
			case "UNIMPORTANT", "LOW":
				r = "LOW"
			case "MEDIUM":
				r = "MEDIUM"
			case "HIGH":
				r = "HIGH"
			}
		case SeverityDatabase:
			switch w {
			case "LOW", "MEDIUM", "HIGH", "CRITICAL":
				r = w
			case "MODERATE":
				r = "MEDIUM"
			}
		}
		if rank[r] > rank[best] {
			best = r
		}
	}
	return best
}

// Event is one OSV range event; exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

func (e Event) version() string {
	switch {
	case e.Introduced != "":
		return e.Introduced
	case e.Fixed != "":
		return e.Fixed
	case e.LastAffected != "":
		return e.LastAffected
	}
	return e.Limit
}

// Range is an OSV affected range: SEMVER, ECOSYSTEM or GIT.
type Range struct {
	Type   string  `json:"type"`
	Events []Event `json:"events"`
}

// affected is one package of an advisory as stored.
type affected struct {
	Ecosystem string
	Package   string
	Ranges    []Range
	Versions  []string
	Severity  []Severity
}

// record is an advisory ready to store. A partial record (Alpine secdb,
// Debian tracker) carries only some packages of the advisory: its affected
// entries replace the stored ones of the same ecosystem and package and
// leave the others alone.
type record struct {
	ID         string
	Source     string
	Modified   time.Time
	Published  time.Time
	Withdrawn  time.Time
	Summary    string
	Details    string
	Aliases    []string
	References []Reference
	Severity   []Severity
	Affected   []affected
	Partial    bool
}

// osvDoc is the subset of the OSV schema Vigil stores, plus the fields of an
// Alpine secdb document so that one decode tells the formats apart.
type osvDoc struct {
	ID        string        `json:"id"`
	Modified  string        `json:"modified"`
	Published string        `json:"published"`
	Withdrawn string        `json:"withdrawn"`
	Aliases   []string      `json:"aliases"`
	Upstream  []string      `json:"upstream"`
	Summary   string        `json:"summary"`
	Details   string        `json:"details"`
	Severity  []Severity    `json:"severity"`
	Affected  []osvAffected `json:"affected"`
	// DatabaseSpecific may carry a qualitative "severity" (GitHub
	// advisories: LOW, MODERATE, HIGH, CRITICAL).
	DatabaseSpecific json.RawMessage `json:"database_specific"`
	References       []Reference     `json:"references"`

	DistroVersion string          `json:"distroversion"`
	RepoName      string          `json:"reponame"`
	Packages      []alpinePackage `json:"packages"`
}

type osvAffected struct {
	Package *struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
	} `json:"package"`
	Ranges   []osvRange `json:"ranges"`
	Versions []string   `json:"versions"`
	Severity []Severity `json:"severity"`
}

type osvRange struct {
	Type   string                       `json:"type"`
	Events []map[string]json.RawMessage `json:"events"`
}

func parseTime(field, s string, required bool) (time.Time, error) {
	if s == "" {
		if required {
			return time.Time{}, fmt.Errorf("%s missing", field)
		}
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not an RFC 3339 time", field, s)
	}
	return t.UTC(), nil
}

var upstreamCVE = regexp.MustCompile(`(?:^|-)(CVE-\d{4}-\d{4,})$`)

// osvRecord checks an OSV document against the schema rules the matcher
// relies on and converts it. Every problem is reported, not just the first.
func osvRecord(d *osvDoc) (record, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	r := record{ID: d.ID, Source: SourceOSV, Summary: d.Summary, Details: d.Details, References: d.References, Severity: d.Severity}
	if d.ID == "" {
		bad("id missing")
	}
	var err error
	if r.Modified, err = parseTime("modified", d.Modified, true); err != nil {
		bad("%v", err)
	}
	if r.Published, err = parseTime("published", d.Published, false); err != nil {
		bad("%v", err)
	}
	if r.Withdrawn, err = parseTime("withdrawn", d.Withdrawn, false); err != nil {
		bad("%v", err)
	}
	if sev := databaseSeverity(d.DatabaseSpecific); sev != "" {
		r.Severity = append(r.Severity, Severity{Type: SeverityDatabase, Score: sev})
	}
	r.Aliases = append(r.Aliases, d.Aliases...)
	for _, u := range d.Upstream {
		// Distributions name upstream CVEs with a prefix: UBUNTU-CVE-2024-0727.
		if m := upstreamCVE.FindStringSubmatch(u); m != nil {
			r.Aliases = append(r.Aliases, m[1])
		}
	}
	r.Aliases = uniqueSorted(r.Aliases, d.ID)
	for i, a := range d.Affected {
		where := fmt.Sprintf("affected[%d]", i)
		var af affected
		if a.Package != nil {
			af.Ecosystem, af.Package = a.Package.Ecosystem, a.Package.Name
			if af.Ecosystem == "" || af.Package == "" {
				bad("%s.package: ecosystem and name are required", where)
			}
		}
		af.Versions = a.Versions
		af.Severity = a.Severity
		for j, rg := range a.Ranges {
			rwhere := fmt.Sprintf("%s.ranges[%d]", where, j)
			switch rg.Type {
			case "SEMVER", "ECOSYSTEM", "GIT":
			default:
				bad("%s: unknown type %q", rwhere, rg.Type)
			}
			if len(rg.Events) == 0 {
				bad("%s: no events", rwhere)
			}
			out := Range{Type: rg.Type}
			introduced := false
			for k, ev := range rg.Events {
				e, err := osvEvent(ev)
				if err != nil {
					bad("%s.events[%d]: %v", rwhere, k, err)
					continue
				}
				introduced = introduced || e.Introduced != ""
				out.Events = append(out.Events, e)
			}
			if len(rg.Events) > 0 && !introduced {
				bad("%s: no introduced event", rwhere)
			}
			af.Ranges = append(af.Ranges, out)
		}
		if af.Package == "" {
			// Only GIT ranges can go without a package; nothing to match.
			continue
		}
		r.Affected = append(r.Affected, af)
	}
	if len(errs) > 0 {
		return r, errors.Join(errs...)
	}
	for i := range r.Affected {
		prepareAffected(&r.Affected[i])
	}
	return r, nil
}

func osvEvent(ev map[string]json.RawMessage) (Event, error) {
	if len(ev) != 1 {
		return Event{}, fmt.Errorf("want exactly one of introduced, fixed, last_affected, limit; got %d keys", len(ev))
	}
	var e Event
	for k, raw := range ev {
		var v string
		if err := json.Unmarshal(raw, &v); err != nil || v == "" {
			return e, fmt.Errorf("%s: want a non-empty string", k)
		}
		switch k {
		case "introduced":
			e.Introduced = v
		case "fixed":
			e.Fixed = v
		case "last_affected":
			e.LastAffected = v
		case "limit":
			e.Limit = v
		default:
			return e, fmt.Errorf("unknown event %q", k)
		}
	}
	return e, nil
}

// prepareAffected sorts the events of each range by version so that Match
// can walk them in order; a range with a version its ordering rejects keeps
// its order (Match then skips it, as it cannot be evaluated).
func prepareAffected(a *affected) {
	for i := range a.Ranges {
		rg := &a.Ranges[i]
		cmp := rangeComparer(rg.Type, a.Ecosystem)
		if cmp == nil {
			continue
		}
		ok := true
		for _, e := range rg.Events {
			if v := e.version(); v != "0" {
				if _, err := cmp.Compare(v, v); err != nil {
					ok = false
					break
				}
			}
		}
		if !ok {
			continue
		}
		sort.SliceStable(rg.Events, func(x, y int) bool {
			vx, vy := rg.Events[x].version(), rg.Events[y].version()
			if vx == "0" || vy == "0" {
				return vx == "0" && vy != "0"
			}
			c, _ := cmp.Compare(vx, vy)
			return c < 0
		})
	}
}

// rangeComparer returns the ordering of a range type in an ecosystem, nil
// when it cannot be evaluated (GIT, unknown ecosystems).
func rangeComparer(rangeType, ecosystem string) version.Comparer {
	switch rangeType {
	case "SEMVER":
		if version.BaseEcosystem(ecosystem) == "Go" {
			return version.Go{}
		}
		return version.SemVer{}
	case "ECOSYSTEM":
		c, ok := version.ForEcosystem(ecosystem)
		if !ok {
			return nil
		}
		return c
	}
	return nil
}

func uniqueSorted(ids []string, self string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if id == "" || id == self || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// bestCVSS returns the highest-scoring CVSS v3 vector among the advisory's
// and its packages' severities. Vectors that do not parse are kept in the
// stored severity list but not scored.
func bestCVSS(r *record) (vector string, score float64, ok bool) {
	consider := func(list []Severity) {
		for _, s := range list {
			if s.Type != "CVSS_V3" {
				continue
			}
			sc, err := cvss.Parse(s.Score)
			if err != nil {
				continue
			}
			if !ok || sc.Base > score {
				vector, score, ok = s.Score, sc.Base, true
			}
		}
	}
	consider(r.Severity)
	for _, a := range r.Affected {
		consider(a.Severity)
	}
	return vector, score, ok
}

// packageKey normalizes a package name for lookup: PyPI names per PEP 503,
// others as they are.
func packageKey(ecosystem, name string) string {
	if version.BaseEcosystem(ecosystem) != "PyPI" {
		return name
	}
	var b strings.Builder
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '-' || c == '_' || c == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}
