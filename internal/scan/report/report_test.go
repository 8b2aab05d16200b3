package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/scan/malware"
	"github.com/vigilsec/vigil/internal/scan/misconfig"
	"github.com/vigilsec/vigil/internal/scan/passwd"
	"github.com/vigilsec/vigil/internal/scan/scanner"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.*")

const (
	layer0 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	layer1 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// fixture is a scan result shaped like a real one (see the scanner tests
// for how each field is produced).
func fixture() *scanner.Result {
	return &scanner.Result{
		SchemaVersion: scanner.SchemaVersion, Target: "vigil.test/scan:1", Type: "image",
		ImageID: "sha256:3333333333333333333333333333333333333333333333333333333333333333",
		OS:      &scanner.OS{ID: "debian", VersionID: "12", PrettyName: "Debian GNU/Linux 12 (bookworm)"},
		Layers: []scanner.Layer{
			{Digest: layer0, DiffID: layer0, CreatedBy: "/bin/sh -c #(nop) ADD file:abc in / "},
			{Digest: layer1, DiffID: layer1, CreatedBy: "COPY app /usr/local/bin/app # buildkit"},
		},
		Packages: []scanner.Package{
			{Name: "golang.org/x/text", Version: "v0.3.0", Type: "gobinary", PURL: "pkg:golang/golang.org/x/text@v0.3.0", Path: "usr/local/bin/app", Layer: layer1, Indirect: true},
			{Name: "openssl-vigiltest", Version: "3.0.11-1~deb12u2", Type: "dpkg", SourceName: "openssl", Arch: "amd64",
				PURL: "pkg:deb/debian/openssl-vigiltest@3.0.11-1~deb12u2?arch=amd64&distro=debian-12", Path: "var/lib/dpkg/status", Layer: layer0},
		},
		Vulnerabilities: []scanner.Vulnerability{
			{ID: "DEBIAN-CVE-2023-5678", Aliases: []string{"CVE-2023-5678"}, Package: "openssl-vigiltest", PackageType: "dpkg",
				InstalledVersion: "3.0.11-1~deb12u2", FixedVersion: "3.0.13-1~deb12u1", Severity: "MEDIUM", CVSSScore: 5.3,
				CVSSVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", Ecosystem: "Debian:12", Layer: layer0,
				CreatedBy: "/bin/sh -c #(nop) ADD file:abc in / ", Path: "var/lib/dpkg/status"},
			{ID: "GO-2020-0015", Aliases: []string{"CVE-2020-14040", "GHSA-5rcv-m4m3-hfh7"}, Summary: "Infinite loop when decoding some inputs in golang.org/x/text",
				Package: "golang.org/x/text", PackageType: "gobinary", InstalledVersion: "v0.3.0", FixedVersion: "0.3.3", Severity: "HIGH", CVSSScore: 7.5,
				Ecosystem: "Go", Layer: layer1, CreatedBy: "COPY app /usr/local/bin/app # buildkit", Path: "usr/local/bin/app"},
		},
		Misconfigurations: []misconfig.Finding{
			{ID: misconfig.IDRootUser, Severity: "MEDIUM", Title: "image runs as root", Detail: "no USER instruction sets a non-root user"},
			{ID: misconfig.IDSetuid, Severity: "LOW", Title: "setuid binary usr/bin/passwd", Path: "usr/bin/passwd", Layer: layer0},
		},
		Secrets: []scanner.Secret{{RuleID: "aws-access-key-id", Description: "AWS access key ID", Severity: "HIGH", Path: "root/.aws/credentials", Line: 2, Match: "AKIA****", Layer: layer1}},
		Malware: []malware.Finding{{RuleID: "XMRIG_Monero_Miner", Source: "miners/pua_xmrig_monero_miner.yar", Description: "Detects Monero mining software",
			Severity: "HIGH", Author: "Florian Roth (Nextron Systems)", License: "Detection Rule License 1.1 https://github.com/Neo23x0/signature-base/blob/master/LICENSE",
			Reference: "https://github.com/xmrig/xmrig/releases", SHA256: "57ad20aea08483bf5e1e06c43dfb157b308625f0c23c2b0207406b912b7e8e43",
			Path: "usr/local/bin/kswapd0", Layer: layer1, CreatedBy: "COPY app /usr/local/bin/app # buildkit"}},
		Passwords: []passwd.Finding{{ID: passwd.IDDictionaryPassword, Severity: "HIGH", User: "root", Path: "etc/shadow", Line: 1,
			Algorithm: "sha512crypt", Hash: "$6$abcd…", Title: "account root has a weak password that matches a dictionary password"}},
		Errors: []scanner.Error{{Layer: layer1, Path: "../escape", Message: "tar entry escapes the image root; skipped"}},
	}
}

var opts = Options{Version: "1.2.3", Now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden."+name)
	if *update {
		require.NoError(t, os.WriteFile(p, got, 0o644))
		return
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run go test ./internal/scan/report -update")
	require.Equal(t, string(want), string(got), "differs from %s (-update rewrites it)", p)
}

func TestGolden(t *testing.T) {
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Write(&buf, format, fixture(), opts))
			golden(t, format, buf.Bytes())
			var again bytes.Buffer
			require.NoError(t, Write(&again, format, fixture(), opts))
			require.Equal(t, buf.String(), again.String(), "output must be deterministic")
		})
	}
	require.ErrorContains(t, Write(&bytes.Buffer{}, "xml", fixture(), opts), `unknown format "xml"`)
}

func TestJSONSchemaFields(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, JSON(&buf, fixture()))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	for _, k := range []string{"target", "os", "layers", "packages", "vulnerabilities", "misconfigurations", "secrets", "passwords", "errors"} {
		require.Contains(t, doc, k)
	}
	v := doc["vulnerabilities"].([]any)[1].(map[string]any)
	for _, k := range []string{"id", "aliases", "package", "installed_version", "fixed_version", "severity", "cvss_score", "layer", "created_by", "path"} {
		require.Contains(t, v, k)
	}
	l := doc["layers"].([]any)[0].(map[string]any)
	for _, k := range []string{"digest", "diff_id", "created_by"} {
		require.Contains(t, l, k)
	}
	var back scanner.Result
	require.NoError(t, json.Unmarshal(buf.Bytes(), &back))
	want := fixture()
	want.Stats = scanner.Stats{}
	require.Equal(t, *want, back)
}

// TestSARIFStructure checks the properties SARIF 2.1.0 requires of the log,
// runs, tool driver, rules and results, and the cross references.
func TestSARIFStructure(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, SARIF(&buf, fixture(), opts))
	var log map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &log))
	require.Equal(t, "2.1.0", log["version"])
	require.Contains(t, log["$schema"], "sarif-2.1.0")
	runs := log["runs"].([]any)
	require.Len(t, runs, 1)
	run := runs[0].(map[string]any)
	driver := run["tool"].(map[string]any)["driver"].(map[string]any)
	require.Equal(t, "vigil", driver["name"])
	rules := driver["rules"].([]any)
	ruleIDs := map[string]int{}
	for i, r := range rules {
		rm := r.(map[string]any)
		id := rm["id"].(string)
		require.NotEmpty(t, id)
		_, dup := ruleIDs[id]
		require.False(t, dup, "rule %s twice", id)
		ruleIDs[id] = i
		require.NotEmpty(t, rm["shortDescription"].(map[string]any)["text"])
	}
	results := run["results"].([]any)
	require.Len(t, results, 7) // 2 vulnerabilities, 2 misconfigurations, a secret, a malware file, a weak account
	levels := map[string]bool{"none": true, "note": true, "warning": true, "error": true}
	for _, r := range results {
		rm := r.(map[string]any)
		require.NotEmpty(t, rm["message"].(map[string]any)["text"])
		require.True(t, levels[rm["level"].(string)])
		require.Equal(t, float64(ruleIDs[rm["ruleId"].(string)]), rm["ruleIndex"], "ruleIndex must point at the rule")
		locs := rm["locations"].([]any)
		require.NotEmpty(t, locs)
		uri := locs[0].(map[string]any)["physicalLocation"].(map[string]any)["artifactLocation"].(map[string]any)["uri"]
		require.NotEmpty(t, uri)
	}
}

func TestCycloneDXRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, CycloneDX(&buf, fixture(), opts))
	var bom cdx.BOM
	require.NoError(t, cdx.NewBOMDecoder(bytes.NewReader(buf.Bytes()), cdx.BOMFileFormatJSON).Decode(&bom))
	require.Equal(t, cdx.SpecVersion1_5, bom.SpecVersion)
	require.Equal(t, "vigil.test/scan:1", bom.Metadata.Component.Name)
	require.Len(t, *bom.Components, 2)
	purls := map[string]string{}
	for _, c := range *bom.Components {
		purls[c.PackageURL] = c.BOMRef
	}
	require.Contains(t, purls, "pkg:golang/golang.org/x/text@v0.3.0")
	require.Len(t, *bom.Vulnerabilities, 2)
	for _, v := range *bom.Vulnerabilities {
		for _, a := range *v.Affects {
			found := false
			for _, ref := range purls {
				found = found || ref == a.Ref
			}
			require.True(t, found, "%s affects unknown ref %s", v.ID, a.Ref)
		}
	}
}

func TestSPDXRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, SPDX(&buf, fixture(), opts))
	doc, err := spdxjson.Read(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	require.Equal(t, "SPDX-2.3", doc.SPDXVersion)
	require.Len(t, doc.Packages, 3)
	var purls []string
	for _, p := range doc.Packages {
		for _, r := range p.PackageExternalReferences {
			purls = append(purls, r.Locator)
		}
	}
	require.ElementsMatch(t, []string{"pkg:golang/golang.org/x/text@v0.3.0", "pkg:deb/debian/openssl-vigiltest@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"}, purls)
	require.Len(t, doc.Relationships, 3)
}
