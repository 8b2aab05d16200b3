package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/vigilsec/vigil/internal/scan/scanner"
)

// SARIF 2.1.0 subset written by Vigil.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool    sarifTool     `json:"tool"`
		Results []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version"`
		InformationURI string      `json:"informationUri"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID               string         `json:"id"`
		Name             string         `json:"name,omitempty"`
		ShortDescription sarifText      `json:"shortDescription"`
		FullDescription  *sarifText     `json:"fullDescription,omitempty"`
		HelpURI          string         `json:"helpUri,omitempty"`
		Properties       map[string]any `json:"properties,omitempty"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID     string          `json:"ruleId"`
		RuleIndex  int             `json:"ruleIndex"`
		Level      string          `json:"level"`
		Message    sarifText       `json:"message"`
		Locations  []sarifLocation `json:"locations"`
		Properties map[string]any  `json:"properties,omitempty"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical `json:"physicalLocation"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           *sarifRegion  `json:"region,omitempty"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine int `json:"startLine"`
	}
)

// sarifLevel maps a severity to a SARIF level.
func sarifLevel(sev string) string {
	switch sev {
	case "CRITICAL", "HIGH":
		return "error"
	case "MEDIUM":
		return "warning"
	}
	return "note"
}

// securitySeverity is the numeric score GitHub code scanning sorts by.
func securitySeverity(sev string, score float64) string {
	if score > 0 {
		return strconv.FormatFloat(score, 'f', 1, 64)
	}
	return map[string]string{"CRITICAL": "9.5", "HIGH": "8.0", "MEDIUM": "5.5", "LOW": "2.0"}[sev]
}

// SARIF writes a SARIF 2.1.0 log with one rule per vulnerability or check
// id and one result per finding, located at the file path in the target.
func SARIF(w io.Writer, res *scanner.Result, opt Options) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "vigil", Version: opt.Version,
		InformationURI: "https://github.com/vigilsec/vigil", Rules: []sarifRule{}}}, Results: []sarifResult{}}
	index := map[string]int{}
	rule := func(r sarifRule) int {
		if i, ok := index[r.ID]; ok {
			return i
		}
		index[r.ID] = len(run.Tool.Driver.Rules)
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, r)
		return index[r.ID]
	}
	loc := func(path string, line int) []sarifLocation {
		if path == "" {
			path = res.Target
		}
		l := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: path}}}
		if line > 0 {
			l.PhysicalLocation.Region = &sarifRegion{StartLine: line}
		}
		return []sarifLocation{l}
	}
	for _, v := range res.Vulnerabilities {
		desc := v.Summary
		if desc == "" {
			desc = v.ID + " in " + v.Package
		}
		i := rule(sarifRule{ID: v.ID, Name: "Vulnerability", ShortDescription: sarifText{desc}, HelpURI: "https://osv.dev/vulnerability/" + v.ID,
			Properties: map[string]any{"security-severity": securitySeverity(v.Severity, v.CVSSScore), "tags": []string{"vulnerability", "security", v.Severity}}})
		fixed := "no fixed version yet"
		if v.FixedVersion != "" {
			fixed = "fixed in " + v.FixedVersion
		}
		run.Results = append(run.Results, sarifResult{RuleID: v.ID, RuleIndex: i, Level: sarifLevel(v.Severity),
			Message:    sarifText{fmt.Sprintf("%s %s is affected by %s (%s); %s", v.Package, v.InstalledVersion, v.ID, v.Severity, fixed)},
			Locations:  loc(v.Path, 0),
			Properties: map[string]any{"layer": v.Layer, "created_by": v.CreatedBy}})
	}
	for _, m := range res.Misconfigurations {
		i := rule(sarifRule{ID: m.ID, Name: "Misconfiguration", ShortDescription: sarifText{m.Title},
			Properties: map[string]any{"security-severity": securitySeverity(m.Severity, 0), "tags": []string{"misconfiguration", "security", m.Severity}}})
		msg := m.Title
		if m.Detail != "" {
			msg += ": " + m.Detail
		}
		run.Results = append(run.Results, sarifResult{RuleID: m.ID, RuleIndex: i, Level: sarifLevel(m.Severity), Message: sarifText{msg},
			Locations: loc(m.Path, 0), Properties: map[string]any{"layer": m.Layer, "created_by": m.CreatedBy}})
	}
	for _, s := range res.Secrets {
		i := rule(sarifRule{ID: s.RuleID, Name: "Secret", ShortDescription: sarifText{s.Description},
			Properties: map[string]any{"security-severity": securitySeverity(s.Severity, 0), "tags": []string{"secret", "security", s.Severity}}})
		run.Results = append(run.Results, sarifResult{RuleID: s.RuleID, RuleIndex: i, Level: sarifLevel(s.Severity),
			Message: sarifText{s.Description + ": " + s.Match}, Locations: loc(s.Path, s.Line),
			Properties: map[string]any{"layer": s.Layer, "created_by": s.CreatedBy}})
	}
	for _, m := range res.Malware {
		props := map[string]any{"security-severity": securitySeverity(m.Severity, 0), "tags": []string{"malware", "security", m.Severity}}
		for k, v := range map[string]string{"author": m.Author, "license": m.License, "reference": m.Reference, "source": m.Source} {
			if v != "" {
				props[k] = v
			}
		}
		i := rule(sarifRule{ID: m.RuleID, Name: "Malware", ShortDescription: sarifText{m.Description}, Properties: props})
		run.Results = append(run.Results, sarifResult{RuleID: m.RuleID, RuleIndex: i, Level: sarifLevel(m.Severity),
			Message: sarifText{m.RuleID + ": " + m.Description + " (sha256 " + m.SHA256 + ")"}, Locations: loc(m.Path, 0),
			Properties: map[string]any{"layer": m.Layer, "created_by": m.CreatedBy}})
	}
	for _, p := range res.Passwords {
		i := rule(sarifRule{ID: p.ID, Name: "WeakAccount", ShortDescription: sarifText{p.Title},
			Properties: map[string]any{"security-severity": securitySeverity(p.Severity, 0), "tags": []string{"password", "security", p.Severity}}})
		run.Results = append(run.Results, sarifResult{RuleID: p.ID, RuleIndex: i, Level: sarifLevel(p.Severity),
			Message: sarifText{p.Title}, Locations: loc(p.Path, p.Line)})
	}
	sort.SliceStable(run.Results, func(i, j int) bool { return run.Results[i].RuleIndex < run.Results[j].RuleIndex })
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}
