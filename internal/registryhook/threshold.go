package registryhook

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vigilsec/vigil/internal/scan/scanner"
)

// DefaultThreshold alerts on any CRITICAL or HIGH vulnerability, any
// malware and any secret.
const DefaultThreshold = "vuln>=HIGH,secret,malware"

// Threshold says which findings raise an alert: a finding counts when the
// threshold names its kind and its severity is at least the minimum given
// for that kind.
type Threshold struct {
	min map[scanner.Kind]int // kind → lowest SeverityRank counted
}

// ParseThreshold parses a comma-separated list of KIND (every finding of
// that kind) or KIND>=SEVERITY items, e.g. "vuln>=HIGH,secret,malware".
// Kinds are those of scanner.AllKinds; "none" alerts on nothing.
func ParseThreshold(s string) (Threshold, error) {
	t := Threshold{min: map[scanner.Kind]int{}}
	if strings.TrimSpace(s) == "none" {
		return t, nil
	}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		kind, sev, hasSev := strings.Cut(item, ">=")
		k := scanner.Kind(strings.TrimSpace(kind))
		if !slices.Contains(scanner.AllKinds, k) {
			return Threshold{}, fmt.Errorf("threshold %q: unknown kind %q (want vuln, secret, misconfig, passwd, malware)", s, kind)
		}
		rank := 0
		if hasSev {
			sev = strings.ToUpper(strings.TrimSpace(sev))
			rank = scanner.SeverityRank(sev)
			if rank < 0 {
				return Threshold{}, fmt.Errorf("threshold %q: unknown severity %q (want %s)", s, sev, strings.Join(scanner.Severities, ","))
			}
		}
		t.min[k] = rank
	}
	if len(t.min) == 0 {
		return Threshold{}, fmt.Errorf("threshold %q: no kind given (use none to never alert)", s)
	}
	return t, nil
}

// String returns the threshold in the syntax ParseThreshold reads.
func (t Threshold) String() string {
	var parts []string
	for _, k := range scanner.AllKinds {
		r, ok := t.min[k]
		switch {
		case !ok:
		case r == 0:
			parts = append(parts, string(k))
		default:
			parts = append(parts, string(k)+">="+scanner.Severities[r])
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// Finding is one finding of a report in a kind-neutral form.
type Finding struct {
	Kind     scanner.Kind
	ID       string
	Severity string
}

// Summary is what a report holds, counted for the alert.
type Summary struct {
	// Counts counts every finding of the report by severity (UNKNOWN …
	// CRITICAL), whether or not it passes the threshold.
	Counts map[string]int
	// Over are the findings that pass the threshold, worst first.
	Over []Finding
}

// Worst returns the highest severity among the findings over the
// threshold, "" when there are none.
func (s Summary) Worst() string {
	if len(s.Over) == 0 {
		return ""
	}
	return s.Over[0].Severity
}

// Evaluate counts the findings of res and selects those over t.
func (t Threshold) Evaluate(res *scanner.Result) Summary {
	s := Summary{Counts: make(map[string]int, len(scanner.Severities))}
	for _, sev := range scanner.Severities {
		s.Counts[sev] = 0
	}
	add := func(k scanner.Kind, id, sev string) {
		if scanner.SeverityRank(sev) < 0 {
			sev = "UNKNOWN"
		}
		s.Counts[sev]++
		if min, ok := t.min[k]; ok && scanner.SeverityRank(sev) >= min {
			s.Over = append(s.Over, Finding{Kind: k, ID: id, Severity: sev})
		}
	}
	for _, v := range res.Vulnerabilities {
		add(scanner.Vuln, v.ID, v.Severity)
	}
	for _, x := range res.Secrets {
		add(scanner.Secrets, x.RuleID, x.Severity)
	}
	for _, x := range res.Malware {
		add(scanner.Malware, x.RuleID, x.Severity)
	}
	for _, x := range res.Misconfigurations {
		add(scanner.Misconfig, x.ID, x.Severity)
	}
	for _, x := range res.Passwords {
		add(scanner.Passwd, x.ID, x.Severity)
	}
	slices.SortStableFunc(s.Over, func(a, b Finding) int {
		return scanner.SeverityRank(b.Severity) - scanner.SeverityRank(a.Severity)
	})
	return s
}

// Priority maps a finding severity to the Falco priority of the alert.
func Priority(severity string) string {
	switch severity {
	case "CRITICAL":
		return "Critical"
	case "HIGH":
		return "Error"
	case "MEDIUM":
		return "Warning"
	case "LOW":
		return "Notice"
	}
	return "Informational"
}
