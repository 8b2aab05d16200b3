// Package report writes scan results: a table grouped by layer for people,
// and JSON, SARIF 2.1.0, CycloneDX 1.5 JSON and SPDX 2.3 JSON for tools.
package report

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vigilsec/vigil/internal/scan/scanner"
)

// Formats lists the output formats.
var Formats = []string{"table", "json", "sarif", "cyclonedx", "spdx"}

// Options carry what a report needs besides the result.
type Options struct {
	Version string    // Vigil's version, named as the producing tool
	Now     time.Time // creation time of SBOM documents
}

// Write writes res in format to w.
func Write(w io.Writer, format string, res *scanner.Result, opt Options) error {
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	if opt.Version == "" {
		opt.Version = "dev"
	}
	switch format {
	case "table":
		return Table(w, res)
	case "json":
		return JSON(w, res)
	case "sarif":
		return SARIF(w, res, opt)
	case "cyclonedx":
		return CycloneDX(w, res, opt)
	case "spdx":
		return SPDX(w, res, opt)
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// JSON writes the documented JSON report, indented.
func JSON(w io.Writer, res *scanner.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// stableID derives a UUID-shaped identifier from the report's content, so
// that identical inputs give identical documents.
func stableID(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	h[6] = h[6]&0x0f | 0x50 // version 5-like, name-based
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func shortDigest(d string) string {
	if _, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return strings.SplitN(d, ":", 2)[0] + ":" + hex[:12]
	}
	return d
}
