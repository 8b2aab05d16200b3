package rules

import (
	"encoding/json"
	"fmt"
)

// Severity of a Diagnostic.
type Severity uint8

// Severities.
const (
	SeverityError Severity = iota
	SeverityWarning
)

// String returns "error" or "warning".
func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// MarshalJSON encodes the severity as its name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Diagnostic is one problem found in a rules file.
type Diagnostic struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"column"`
	Severity Severity `json:"severity"`
	ItemType string   `json:"item_type"`
	ItemName string   `json:"item_name"`
	Message  string   `json:"message"`
}

// String formats d as FILE:LINE:COL: SEVERITY: ITEMTYPE 'NAME': MESSAGE.
func (d Diagnostic) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s '%s': %s", d.File, d.Line, d.Col, d.Severity, d.ItemType, d.ItemName, d.Message)
}

// Diagnostics is every problem found by Load, errors and warnings.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Errors returns only the errors.
func (ds Diagnostics) Errors() Diagnostics { return ds.filter(SeverityError) }

// Warnings returns only the warnings.
func (ds Diagnostics) Warnings() Diagnostics { return ds.filter(SeverityWarning) }

func (ds Diagnostics) filter(s Severity) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == s {
			out = append(out, d)
		}
	}
	return out
}
