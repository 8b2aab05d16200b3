package server

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vigilsec/vigil/internal/server/mitre"
)

// Technique is a MITRE ATT&CK technique named by an alert's tags.
type Technique struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Tactic string `json:"tactic"`
}

// mitreIndex maps technique ids to names and tactics.
type mitreIndex struct {
	tech map[string]struct {
		name    string
		tactics []string
	}
}

func loadMITRE() (*mitreIndex, error) {
	var doc struct {
		Techniques []struct {
			ID      string   `json:"id"`
			Name    string   `json:"name"`
			Tactics []string `json:"tactics"`
		} `json:"techniques"`
	}
	if err := json.Unmarshal(mitre.JSON, &doc); err != nil {
		return nil, fmt.Errorf("embedded MITRE techniques: %w", err)
	}
	m := &mitreIndex{tech: map[string]struct {
		name    string
		tactics []string
	}{}}
	for _, t := range doc.Techniques {
		m.tech[t.ID] = struct {
			name    string
			tactics []string
		}{t.Name, t.Tactics}
	}
	return m, nil
}

// lookup returns the techniques named by tags (T1234 or T1234.001, as
// Falco rules tag them), each with its name and the tactic the tags name
// (mitre_execution) when it is one of the technique's, else its first.
// Techniques outside the embedded Containers matrix keep an empty name.
func (m *mitreIndex) lookup(tags []string) []Technique {
	var tactics []string
	for _, t := range tags {
		if s, ok := strings.CutPrefix(t, "mitre_"); ok {
			tactics = append(tactics, strings.ReplaceAll(s, "_", "-"))
		}
	}
	out := []Technique{}
	for _, t := range tags {
		if !isTechniqueID(t) {
			continue
		}
		tech := Technique{ID: t}
		if e, ok := m.tech[t]; ok {
			tech.Name = e.name
			if len(e.tactics) > 0 {
				tech.Tactic = e.tactics[0]
			}
			for _, want := range tactics {
				for _, have := range e.tactics {
					if want == have {
						tech.Tactic = have
						goto done
					}
				}
			}
		} else if len(tactics) > 0 {
			tech.Tactic = tactics[0]
		}
	done:
		out = append(out, tech)
	}
	return out
}

// isTechniqueID reports whether s looks like T1234 or T1234.567.
func isTechniqueID(s string) bool {
	if len(s) != 5 && len(s) != 9 || s[0] != 'T' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if i == 5 {
			if c != '.' {
				return false
			}
			continue
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
