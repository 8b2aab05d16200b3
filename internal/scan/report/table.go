package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/vigilsec/vigil/internal/scan/malware"
	"github.com/vigilsec/vigil/internal/scan/scanner"
)

// Table writes a human-readable report: findings grouped by the layer that
// introduced them (config-only findings last), then weak accounts, errors
// and a summary.
func Table(w io.Writer, res *scanner.Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	osName := "unknown OS"
	if res.OS != nil {
		osName = res.OS.ID + " " + res.OS.VersionID
	}
	fmt.Fprintf(tw, "%s (%s, %s)\n", res.Target, res.Type, osName)
	groups := append([]scanner.Layer{}, res.Layers...)
	groups = append(groups, scanner.Layer{}) // directories and config-only findings
	for i, l := range groups {
		var vulns []scanner.Vulnerability
		for _, v := range res.Vulnerabilities {
			if v.Layer == l.Digest {
				vulns = append(vulns, v)
			}
		}
		var mis []int
		for j, m := range res.Misconfigurations {
			if m.Layer == l.Digest {
				mis = append(mis, j)
			}
		}
		var secrets []scanner.Secret
		for _, s := range res.Secrets {
			if s.Layer == l.Digest {
				secrets = append(secrets, s)
			}
		}
		var mal []malware.Finding
		for _, m := range res.Malware {
			if m.Layer == l.Digest {
				mal = append(mal, m)
			}
		}
		if len(vulns)+len(mis)+len(secrets)+len(mal) == 0 {
			continue
		}
		fmt.Fprintln(tw)
		switch {
		case l.Digest != "":
			fmt.Fprintf(tw, "Layer %d/%d %s\n", i+1, len(res.Layers), shortDigest(l.Digest))
			if l.CreatedBy != "" {
				fmt.Fprintf(tw, "  created by: %s\n", oneLine(l.CreatedBy, 120))
			}
		case res.Type == "image":
			fmt.Fprintln(tw, "Image configuration")
		default:
			fmt.Fprintln(tw, "Files")
		}
		if len(vulns) > 0 {
			fmt.Fprintln(tw, "  VULNERABILITY\tSEVERITY\tPACKAGE\tINSTALLED\tFIXED\tPATH")
			for _, v := range vulns {
				fixed := v.FixedVersion
				if fixed == "" {
					fixed = "-"
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Severity, v.Package, v.InstalledVersion, fixed, v.Path)
			}
		}
		if len(mis) > 0 {
			fmt.Fprintln(tw, "  CHECK\tSEVERITY\tTITLE")
			for _, j := range mis {
				m := res.Misconfigurations[j]
				fmt.Fprintf(tw, "  %s\t%s\t%s\n", m.ID, m.Severity, m.Title)
			}
		}
		if len(secrets) > 0 {
			fmt.Fprintln(tw, "  SECRET\tSEVERITY\tLOCATION\tMATCH")
			for _, s := range secrets {
				fmt.Fprintf(tw, "  %s\t%s\t%s:%d\t%s\n", s.RuleID, s.Severity, s.Path, s.Line, s.Match)
			}
		}
		if len(mal) > 0 {
			fmt.Fprintln(tw, "  MALWARE\tSEVERITY\tPATH\tDESCRIPTION")
			for _, m := range mal {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m.RuleID, m.Severity, m.Path, oneLine(m.Description, 80))
			}
		}
	}
	if len(res.Passwords) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "Accounts")
		fmt.Fprintln(tw, "  CHECK\tSEVERITY\tUSER\tLOCATION\tTITLE")
		for _, p := range res.Passwords {
			title := p.Title
			if p.Password != "" {
				title += " (password: " + p.Password + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s:%d\t%s\n", p.ID, p.Severity, p.User, p.Path, p.Line, title)
		}
	}
	if len(res.Errors) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "Errors (the scan is incomplete)")
		for _, e := range res.Errors {
			where := e.Path
			if e.Layer != "" && where != "" {
				where = shortDigest(e.Layer) + " " + where
			}
			if where != "" {
				where += ": "
			}
			fmt.Fprintf(tw, "  %s%s\n", where, e.Message)
		}
	}
	fmt.Fprintln(tw)
	counts := map[string]int{}
	for _, v := range res.Vulnerabilities {
		counts[v.Severity]++
	}
	var parts []string
	for i := len(scanner.Severities) - 1; i >= 0; i-- {
		if n := counts[scanner.Severities[i]]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", scanner.Severities[i], n))
		}
	}
	sev := ""
	if len(parts) > 0 {
		sev = " (" + strings.Join(parts, ", ") + ")"
	}
	mal := ""
	if len(res.Malware) > 0 {
		mal = fmt.Sprintf(", %d malware", len(res.Malware))
	}
	fmt.Fprintf(tw, "Total: %d packages, %d vulnerabilities%s, %d misconfigurations, %d secrets%s, %d weak accounts, %d errors\n",
		len(res.Packages), len(res.Vulnerabilities), sev, len(res.Misconfigurations), len(res.Secrets), mal, len(res.Passwords), len(res.Errors))
	return tw.Flush()
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		return s[:max-1] + "…"
	}
	return s
}
