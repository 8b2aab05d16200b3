package rules

import (
	"fmt"
	"strings"

	"github.com/vigilsec/vigil/internal/event"
)

// Priority is a rule's priority, Falco's eight syslog-like levels; lower is
// more severe.
type Priority uint8

// Priorities, most severe first.
const (
	Emergency Priority = iota
	Alert
	Critical
	Error
	Warning
	Notice
	Informational
	Debug
)

var priorityNames = [...]string{"Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"}

// String returns Falco's spelling of p, as in its json_output.
func (p Priority) String() string {
	if int(p) < len(priorityNames) {
		return priorityNames[p]
	}
	return fmt.Sprintf("Priority(%d)", p)
}

// ParsePriority parses a priority name case-insensitively. Like Falco it
// also accepts "info".
func ParsePriority(s string) (Priority, bool) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "info" {
		return Informational, true
	}
	for i, n := range priorityNames {
		if strings.ToLower(n) == t {
			return Priority(i), true
		}
	}
	return 0, false
}

// File is one rules file: its name, used in diagnostics, and its content.
type File struct {
	Name string
	Data []byte
}

// Rule is a loaded rule: what the rules file said, once every append and
// override has been applied.
type Rule struct {
	Name     string
	Desc     string
	Output   string
	Source   string
	Priority Priority
	Tags     []string
	Enabled  bool
	// File and Line locate the rule's first definition.
	File string
	Line int

	// Compiled state, set for enabled rules of known sources.
	id     int
	cond   node
	format *format
}

// Options configures Load.
type Options struct {
	// Sources are the event sources rules may name. Rules of any other
	// source are kept but not compiled, with a warning (as Falco skips
	// rules of sources with no loaded plugin).
	Sources []event.Source
}
