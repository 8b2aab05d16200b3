package report

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/vigilsec/vigil/internal/scan/scanner"
)

// pkgRef is the CycloneDX bom-ref / SPDX id key of a package occurrence.
func pkgRef(p scanner.Package) string {
	id := p.PURL
	if id == "" {
		id = p.Type + ":" + p.Name + "@" + p.Version
	}
	return id + "#" + p.Path
}

// CycloneDX writes a CycloneDX 1.5 JSON BOM: the packages as components
// (with layer and path properties) and the vulnerabilities affecting them.
func CycloneDX(w io.Writer, res *scanner.Result, opt Options) error {
	bom := cdx.NewBOM()
	bom.SerialNumber = "urn:uuid:" + stableID("cyclonedx", res.Target, res.ImageID, opt.Now.UTC().Format(time.RFC3339))
	mainType := cdx.ComponentTypeContainer
	if res.Type != "image" {
		mainType = cdx.ComponentTypeFile
	}
	main := &cdx.Component{BOMRef: "target", Type: mainType, Name: res.Target, Version: res.ImageID}
	bom.Metadata = &cdx.Metadata{
		Timestamp: opt.Now.UTC().Format(time.RFC3339),
		Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: "vigil", Version: opt.Version}}},
		Component: main,
	}
	comps := []cdx.Component{}
	refs := map[string]bool{}
	for _, p := range res.Packages {
		ref := pkgRef(p)
		if refs[ref] {
			continue
		}
		refs[ref] = true
		props := []cdx.Property{{Name: "vigil:package:type", Value: p.Type}, {Name: "vigil:path", Value: p.Path}}
		if p.Layer != "" {
			props = append(props, cdx.Property{Name: "vigil:layer:digest", Value: p.Layer})
		}
		if p.SourceName != "" {
			props = append(props, cdx.Property{Name: "vigil:package:source", Value: p.SourceName})
		}
		comps = append(comps, cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeLibrary, Name: p.Name, Version: p.Version,
			PackageURL: p.PURL, Properties: &props})
	}
	bom.Components = &comps
	deps := []cdx.Dependency{}
	if len(comps) > 0 {
		var on []string
		for _, c := range comps {
			on = append(on, c.BOMRef)
		}
		deps = append(deps, cdx.Dependency{Ref: main.BOMRef, Dependencies: &on})
	}
	bom.Dependencies = &deps
	vulns := []cdx.Vulnerability{}
	byID := map[string]int{}
	for _, v := range res.Vulnerabilities {
		ref := ""
		for _, p := range res.Packages {
			if p.Name == v.Package && p.Version == v.InstalledVersion && p.Path == v.Path {
				ref = pkgRef(p)
				break
			}
		}
		aff := cdx.Affects{Ref: ref, Range: &[]cdx.AffectedVersions{{Version: v.InstalledVersion, Status: cdx.VulnerabilityStatusAffected}}}
		if i, ok := byID[v.ID]; ok {
			*vulns[i].Affects = append(*vulns[i].Affects, aff)
			continue
		}
		cv := cdx.Vulnerability{BOMRef: v.ID, ID: v.ID, Description: v.Summary, Affects: &[]cdx.Affects{aff}}
		r := cdx.VulnerabilityRating{Severity: cdx.Severity(strings.ToLower(v.Severity))}
		if v.CVSSScore > 0 {
			score := v.CVSSScore
			r.Score, r.Method, r.Vector = &score, cdx.ScoringMethodCVSSv3, v.CVSSVector
			if strings.HasPrefix(v.CVSSVector, "CVSS:3.0") {
				r.Method = cdx.ScoringMethodCVSSv3
			} else if strings.HasPrefix(v.CVSSVector, "CVSS:3.1") {
				r.Method = cdx.ScoringMethodCVSSv31
			}
		}
		cv.Ratings = &[]cdx.VulnerabilityRating{r}
		if v.FixedVersion != "" {
			cv.Recommendation = "Upgrade " + v.Package + " to " + v.FixedVersion + " or later"
		}
		if len(v.Aliases) > 0 {
			var rs []cdx.VulnerabilityReference
			for _, a := range v.Aliases {
				rs = append(rs, cdx.VulnerabilityReference{ID: a})
			}
			cv.References = &rs
		}
		byID[v.ID] = len(vulns)
		vulns = append(vulns, cv)
	}
	bom.Vulnerabilities = &vulns
	return cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON).SetPretty(true).EncodeVersion(bom, cdx.SpecVersion1_5)
}

var spdxIDChars = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

// SPDX writes an SPDX 2.3 JSON document: the target as the described
// package, containing one package per installed package with its PURL as
// an external reference.
func SPDX(w io.Writer, res *scanner.Result, opt Options) error {
	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      res.Target,
		DocumentNamespace: "https://vigil.dev/spdx/" + stableID("spdx", res.Target, res.ImageID, opt.Now.UTC().Format(time.RFC3339)),
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: "vigil-" + opt.Version}},
			Created:  opt.Now.UTC().Format("2006-01-02T15:04:05Z"),
		},
	}
	rootID := common.ElementID("Target")
	purpose := "CONTAINER"
	if res.Type != "image" {
		purpose = "FILE"
	}
	doc.Packages = append(doc.Packages, &spdx.Package{PackageName: res.Target, PackageSPDXIdentifier: rootID, PackageVersion: res.ImageID,
		PackageDownloadLocation: "NOASSERTION", PrimaryPackagePurpose: purpose, IsFilesAnalyzedTagPresent: true})
	doc.Relationships = append(doc.Relationships, &spdx.Relationship{RefA: common.MakeDocElementID("", "DOCUMENT"),
		RefB: common.MakeDocElementID("", string(rootID)), Relationship: common.TypeRelationshipDescribe})
	seen := map[string]bool{}
	for i, p := range res.Packages {
		ref := pkgRef(p)
		if seen[ref] {
			continue
		}
		seen[ref] = true
		id := common.ElementID(fmt.Sprintf("Package-%d-%s", i, strings.Trim(spdxIDChars.ReplaceAllString(p.Name, "-"), "-")))
		sp := &spdx.Package{PackageName: p.Name, PackageSPDXIdentifier: id, PackageVersion: p.Version,
			PackageDownloadLocation: "NOASSERTION", PrimaryPackagePurpose: "LIBRARY", IsFilesAnalyzedTagPresent: true,
			PackageSourceInfo: "found in " + p.Path + layerNote(p.Layer)}
		if p.PURL != "" {
			sp.PackageExternalReferences = []*spdx.PackageExternalReference{{Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: p.PURL}}
		}
		doc.Packages = append(doc.Packages, sp)
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{RefA: common.MakeDocElementID("", string(rootID)),
			RefB: common.MakeDocElementID("", string(id)), Relationship: common.TypeRelationshipContains})
	}
	return spdxjson.Write(doc, w, spdxjson.Indent("  "))
}

func layerNote(l string) string {
	if l == "" {
		return ""
	}
	return " (layer " + l + ")"
}
