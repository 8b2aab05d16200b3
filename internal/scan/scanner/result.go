package scanner

import (
	"github.com/vigilsec/vigil/internal/scan/analyzer"
	"github.com/vigilsec/vigil/internal/scan/malware"
	"github.com/vigilsec/vigil/internal/scan/misconfig"
	"github.com/vigilsec/vigil/internal/scan/passwd"
)

// SchemaVersion is the version of the JSON report; it changes only when a
// field is renamed or removed.
const SchemaVersion = 1

// Result is the outcome of one scan. Its JSON form is the documented report
// schema (docs/scanning.md); field names are stable.
type Result struct {
	SchemaVersion     int                 `json:"schema_version"`
	Target            string              `json:"target"`
	Type              string              `json:"type"` // "image" or "filesystem"
	ImageID           string              `json:"image_id,omitempty"`
	OS                *OS                 `json:"os"`
	Layers            []Layer             `json:"layers"`
	Packages          []Package           `json:"packages"`
	Vulnerabilities   []Vulnerability     `json:"vulnerabilities"`
	Misconfigurations []misconfig.Finding `json:"misconfigurations"`
	Secrets           []Secret            `json:"secrets"`
	Malware           []malware.Finding   `json:"malware"`
	Passwords         []passwd.Finding    `json:"passwords"`
	Errors            []Error             `json:"errors"`
	Stats             Stats               `json:"-"`
}

// OS is the detected distribution.
type OS struct {
	ID         string `json:"id"`
	VersionID  string `json:"version_id"`
	PrettyName string `json:"pretty_name,omitempty"`
}

// Layer is one image layer, base first.
type Layer struct {
	Digest    string `json:"digest"`
	DiffID    string `json:"diff_id"`
	CreatedBy string `json:"created_by"`
}

// Package is one installed package or module.
type Package struct {
	Name          string `json:"name"`
	Version       string `json:"version"`
	Type          string `json:"type"`
	PURL          string `json:"purl,omitempty"`
	SourceName    string `json:"source_name,omitempty"`
	SourceVersion string `json:"source_version,omitempty"`
	Arch          string `json:"arch,omitempty"`
	Path          string `json:"path"`
	Layer         string `json:"layer,omitempty"`
	Indirect      bool   `json:"indirect,omitempty"`
}

// Vulnerability is one advisory matching an installed package.
type Vulnerability struct {
	ID               string   `json:"id"`
	Aliases          []string `json:"aliases"`
	Summary          string   `json:"summary,omitempty"`
	Package          string   `json:"package"`
	PackageType      string   `json:"package_type"`
	PURL             string   `json:"purl,omitempty"`
	InstalledVersion string   `json:"installed_version"`
	FixedVersion     string   `json:"fixed_version"`
	Severity         string   `json:"severity"`
	CVSSScore        float64  `json:"cvss_score"`
	CVSSVector       string   `json:"cvss_vector,omitempty"`
	Ecosystem        string   `json:"ecosystem"`
	Layer            string   `json:"layer"`
	CreatedBy        string   `json:"created_by"`
	Path             string   `json:"path"`
}

// Secret is one secret found in a file; Match is always redacted.
type Secret struct {
	RuleID      string `json:"rule_id"`
	Description string `json:"description"`
	Severity    string `json:"severity"`
	Path        string `json:"path"`
	Line        int    `json:"line"`
	Column      int    `json:"column,omitempty"`
	Match       string `json:"match"`
	Layer       string `json:"layer,omitempty"`
	CreatedBy   string `json:"created_by,omitempty"`
}

// Error is one problem that made the scan incomplete; the rest of the scan
// went on.
type Error struct {
	Layer   string `json:"layer,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

// Stats are volatile measurements of a scan, not part of the JSON report.
type Stats struct {
	Files         int64 // visible entries walked
	AnalyzedFiles int64 // files handed to analyzers
	CacheHits     int64 // files whose content was analysed before
	Bytes         int64 // bytes read for analysis
}

// fromAnalyzer converts an analyzer package.
func fromAnalyzer(p analyzer.Package) Package {
	return Package{Name: p.Name, Version: p.Version, Type: string(p.Type), PURL: p.PURL, SourceName: p.SourceName,
		SourceVersion: p.SourceVersion, Arch: p.Arch, Path: p.FilePath, Layer: p.Layer, Indirect: p.Indirect}
}

// Severities in increasing order.
var Severities = []string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

// SeverityRank orders severities: UNKNOWN 0 … CRITICAL 4, -1 for others.
func SeverityRank(s string) int {
	for i, x := range Severities {
		if x == s {
			return i
		}
	}
	return -1
}

// SeverityFromScore maps a CVSS v3 base score to its qualitative rating.
func SeverityFromScore(score float64) string {
	switch {
	case score >= 9:
		return "CRITICAL"
	case score >= 7:
		return "HIGH"
	case score >= 4:
		return "MEDIUM"
	case score > 0:
		return "LOW"
	}
	return "UNKNOWN"
}
