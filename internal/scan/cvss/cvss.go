// Package cvss computes CVSS v3.0 and v3.1 base scores from vector strings,
// following the FIRST specification documents' formulas and rounding.
package cvss

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrInvalidVector is wrapped by every error about a malformed vector.
var ErrInvalidVector = errors.New("invalid CVSS vector")

// Score is a parsed CVSS v3 base score.
type Score struct {
	Version string  // "3.0" or "3.1"
	Base    float64 // 0.0 to 10.0, one decimal
}

// Severity returns the qualitative rating of a base score: None, Low,
// Medium, High or Critical.
func Severity(base float64) string {
	switch {
	case base == 0:
		return "None"
	case base < 4:
		return "Low"
	case base < 7:
		return "Medium"
	case base < 9:
		return "High"
	}
	return "Critical"
}

// metric weights of the base metric group.
var baseWeights = map[string]map[byte]float64{
	"AV": {'N': 0.85, 'A': 0.62, 'L': 0.55, 'P': 0.2},
	"AC": {'L': 0.77, 'H': 0.44},
	"PR": {'N': 0.85, 'L': 0.62, 'H': 0.27}, // L and H change with scope
	"UI": {'N': 0.85, 'R': 0.62},
	"S":  {'U': 0, 'C': 0},
	"C":  {'H': 0.56, 'L': 0.22, 'N': 0},
	"I":  {'H': 0.56, 'L': 0.22, 'N': 0},
	"A":  {'H': 0.56, 'L': 0.22, 'N': 0},
}

// otherMetrics are the temporal and environmental metrics a vector may
// carry; they are validated but do not change the base score.
var otherMetrics = map[string]string{
	"E": "XUPFH", "RL": "XOTWU", "RC": "XURC",
	"CR": "XLMH", "IR": "XLMH", "AR": "XLMH",
	"MAV": "XNALP", "MAC": "XLH", "MPR": "XNLH", "MUI": "XNR", "MS": "XUC",
	"MC": "XNLH", "MI": "XNLH", "MA": "XNLH",
}

// Parse validates a CVSS v3.x vector ("CVSS:3.1/AV:N/AC:L/...") and computes
// its base score. All eight base metrics must be present, each metric at
// most once.
func Parse(vector string) (Score, error) {
	var s Score
	rest, ok := strings.CutPrefix(vector, "CVSS:3.")
	if !ok || len(rest) < 2 || (rest[0] != '0' && rest[0] != '1') || rest[1] != '/' {
		return s, fmt.Errorf("%w %q: want prefix CVSS:3.0/ or CVSS:3.1/", ErrInvalidVector, vector)
	}
	s.Version = "3." + rest[:1]
	vals := make(map[string]byte, 8)
	seen := make(map[string]bool, 12)
	for _, part := range strings.Split(rest[2:], "/") {
		name, val, ok := strings.Cut(part, ":")
		if !ok || len(val) != 1 {
			return s, fmt.Errorf("%w %q: malformed metric %q", ErrInvalidVector, vector, part)
		}
		if seen[name] {
			return s, fmt.Errorf("%w %q: metric %s given twice", ErrInvalidVector, vector, name)
		}
		seen[name] = true
		if w, ok := baseWeights[name]; ok {
			if _, ok := w[val[0]]; !ok {
				return s, fmt.Errorf("%w %q: bad value %s for %s", ErrInvalidVector, vector, val, name)
			}
			vals[name] = val[0]
			continue
		}
		allowed, ok := otherMetrics[name]
		if !ok {
			return s, fmt.Errorf("%w %q: unknown metric %s", ErrInvalidVector, vector, name)
		}
		if !strings.Contains(allowed, val) {
			return s, fmt.Errorf("%w %q: bad value %s for %s", ErrInvalidVector, vector, val, name)
		}
	}
	for _, m := range []string{"AV", "AC", "PR", "UI", "S", "C", "I", "A"} {
		if _, ok := vals[m]; !ok {
			return s, fmt.Errorf("%w %q: base metric %s missing", ErrInvalidVector, vector, m)
		}
	}
	s.Base = baseScore(vals, s.Version)
	return s, nil
}

func baseScore(v map[string]byte, version string) float64 {
	changed := v["S"] == 'C'
	pr := baseWeights["PR"][v["PR"]]
	if changed {
		switch v["PR"] {
		case 'L':
			pr = 0.68
		case 'H':
			pr = 0.5
		}
	}
	iss := 1 - (1-baseWeights["C"][v["C"]])*(1-baseWeights["I"][v["I"]])*(1-baseWeights["A"][v["A"]])
	var impact float64
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	} else {
		impact = 6.42 * iss
	}
	if impact <= 0 {
		return 0
	}
	exploitability := 8.22 * baseWeights["AV"][v["AV"]] * baseWeights["AC"][v["AC"]] * pr * baseWeights["UI"][v["UI"]]
	sum := impact + exploitability
	if changed {
		sum *= 1.08
	}
	return roundUp(math.Min(sum, 10), version)
}

// roundUp is the specification's Roundup: the smallest number with one
// decimal that is not below x. CVSS 3.1 defines it on integers to avoid
// floating-point artefacts (so 4.000000001 stays 4.0 rather than 4.1).
func roundUp(x float64, version string) float64 {
	if version == "3.0" {
		return math.Ceil(x*10) / 10
	}
	i := int64(math.Round(x * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000
	}
	return float64(i/10000+1) / 10
}
