package vulndb

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRating(t *testing.T) {
	for _, tc := range []struct {
		name string
		list []Severity
		want string
	}{
		{"none", nil, ""},
		{"debian low", []Severity{{SeverityDebian, "low"}}, "LOW"},
		{"debian low**", []Severity{{SeverityDebian, "low**"}}, "LOW"},
		{"debian unimportant", []Severity{{SeverityDebian, "unimportant"}}, "LOW"},
		{"debian highest release wins", []Severity{{SeverityDebian, "low"}, {SeverityDebian, "high"}, {SeverityDebian, "medium"}}, "HIGH"},
		{"debian not yet assigned", []Severity{{SeverityDebian, "not yet assigned"}}, ""},
		{"ghsa moderate", []Severity{{SeverityDatabase, "MODERATE"}}, "MEDIUM"},
		{"ghsa critical", []Severity{{SeverityDatabase, "CRITICAL"}}, "CRITICAL"},
		{"unknown word", []Severity{{SeverityDatabase, "severe"}}, ""},
		{"cvss ignored", []Severity{{"CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, Rating(tc.list)) })
	}
}

// TestMatchRating: Debian urgency and database_specific.severity reach
// matches without a CVSS score; a CVSS score leaves Rating empty; the Go
// vulndb (no severity at all) gives an empty Rating, never a dropped match.
func TestMatchRating(t *testing.T) {
	db := newDB(t)
	mustImport(t, db, "testdata/debian/tracker.json")
	dir := t.TempDir()
	doc := `{"id": "GHSA-test-0001", "modified": "2024-01-02T00:00:00Z", "summary": "x",
	  "database_specific": {"severity": "MODERATE", "cwe_ids": ["CWE-79"]},
	  "affected": [{"package": {"ecosystem": "npm", "name": "vigil-left-pad"},
	    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.0"}]}]}]}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "GHSA-test-0001.json"), []byte(doc), 0o644))
	mustImport(t, db, dir)
	mustImport(t, db, "testdata/osv")

	fs, err := db.Match(context.Background(), "Debian:12", "openssl", "3.0.11-1~deb12u2")
	require.NoError(t, err)
	require.Len(t, fs, 1)
	require.Zero(t, fs[0].Score)
	require.Equal(t, "LOW", fs[0].Rating)

	fs, err = db.Match(context.Background(), "npm", "vigil-left-pad", "1.1.0")
	require.NoError(t, err)
	require.Len(t, fs, 1)
	require.Equal(t, "MEDIUM", fs[0].Rating)
}
