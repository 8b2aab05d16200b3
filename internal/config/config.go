// Package config reads vigil.yaml, the configuration file of `vigil run`.
// The file is decoded from yaml.Node trees so that every problem (an
// unknown key, a value of the wrong type, a bad duration) is reported as
// FILE:LINE:COL, all of them at once.
package config

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigilsec/vigil/internal/alert/outputs"
)

// DefaultPath is the configuration file `vigil run` reads when --config
// is not given, if it exists.
const DefaultPath = "/etc/vigil/vigil.yaml"

// Config is the content of vigil.yaml. Zero fields were not set; Has
// tells which top-level keys were present.
type Config struct {
	// File is the path the configuration was read from.
	File string
	// Listen is the HTTP listen address (host:port).
	Listen string
	// DataDir is the state directory (the SQLite alert store).
	DataDir string
	// Hostname is put in alerts.
	Hostname string
	// MaxRequestBytes is the largest audit webhook request accepted.
	MaxRequestBytes int64
	// Rules are the rules files and directories, "embedded:" naming the
	// default ruleset.
	Rules []string
	// Outputs are the alert outputs, in order.
	Outputs []outputs.Spec

	set map[string]bool
}

// Has reports whether the top-level key (e.g. "listen", "outputs") was
// set in the file.
func (c *Config) Has(key string) bool { return c.set[key] }

// Problem is one error in a configuration file.
type Problem struct {
	File      string
	Line, Col int
	Msg       string
}

// String formats p as FILE:LINE:COL: MESSAGE.
func (p Problem) String() string { return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg) }

// Error is every problem found in a configuration file.
type Error struct {
	Problems []Problem
}

// Error lists the problems, one per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return "invalid configuration:\n" + strings.Join(lines, "\n")
}

// Load reads and decodes the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes data, read from file (used in messages). On problems it
// returns an *Error listing them all.
func Parse(file string, data []byte) (*Config, error) {
	d := &decoder{file: file}
	c := &Config{File: file, set: map[string]bool{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{Problems: []Problem{yamlProblem(file, err)}}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return c, nil // empty file: all defaults
	}
	d.top(doc.Content[0], c)
	if len(d.problems) > 0 {
		return nil, &Error{Problems: d.problems}
	}
	return c, nil
}

// yamlProblem turns a YAML syntax error into a Problem; the parser
// reports "yaml: line N: message".
func yamlProblem(file string, err error) Problem {
	msg := err.Error()
	line := 1
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		var n int
		var rest string
		if k, _ := fmt.Sscanf(msg, "yaml: line %d:", &n); k == 1 {
			line = n
			if i := strings.Index(msg, ": "); i >= 0 {
				rest = msg[i+2:]
				if j := strings.Index(rest, ": "); j >= 0 {
					rest = rest[j+2:]
				}
				msg = rest
			}
		}
	}
	return Problem{File: file, Line: line, Col: 1, Msg: "yaml: " + strings.TrimPrefix(msg, "yaml: ")}
}

// planned are the top-level sections documented for later versions;
// naming them today is an error that says so.
var planned = map[string]string{
	"sensor":   "the eBPF sensor settings",
	"auth":     "API authentication",
	"response": "automated response actions",
}

// top decodes the root mapping.
func (d *decoder) top(n *yaml.Node, c *Config) {
	d.mapping(n, "configuration", func(key string, k, v *yaml.Node) {
		c.set[key] = true
		switch key {
		case "listen":
			c.Listen = d.str(v, key)
		case "data_dir":
			c.DataDir = d.str(v, key)
		case "hostname":
			c.Hostname = d.str(v, key)
		case "max_request_bytes":
			c.MaxRequestBytes = d.size(v, key)
		case "rules":
			d.mapping(v, "rules", func(key string, k, v *yaml.Node) {
				switch key {
				case "files":
					c.Rules = d.strList(v, "rules.files")
				default:
					d.unknown(k, "rules", "files")
				}
			})
		case "outputs":
			c.Outputs = d.outputs(v)
		default:
			if what, ok := planned[key]; ok {
				d.errorf(k, "%s: not implemented in this version (reserved for %s); remove it", key, what)
				return
			}
			d.unknown(k, "configuration", "listen, data_dir, hostname, max_request_bytes, rules, outputs")
		}
	})
}
