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
	// Auth is the auth section: authentication of the HTTP API.
	Auth Auth
	// TLS is the tls section: HTTPS for the HTTP server.
	TLS TLS
	// AuditTokenFile holds the bearer token POST /k8s-audit requires.
	AuditTokenFile string
	// AuditClientCA is a PEM CA file whose client certificates
	// authenticate POST /k8s-audit (mTLS; needs TLS).
	AuditClientCA string
	// Alerts is the alerts section: aggregation, rate limiting, retention.
	Alerts Alerts
	// Response is the response section: automatic response policies.
	Response Response

	set map[string]bool
}

// Auth is the auth section of vigil.yaml.
type Auth struct {
	// Enabled requires a login or an API token for the HTTP API, console
	// and /metrics (default true).
	Enabled bool
	// AdminPasswordFile holds the password of the first admin user.
	AdminPasswordFile string
	// MetricsTokenFile holds a bearer token that may read /metrics.
	MetricsTokenFile string
}

// TLS is the tls section of vigil.yaml.
type TLS struct {
	// Cert and Key are the PEM certificate and private key to serve.
	Cert, Key string
	// SelfSigned serves a self-signed certificate kept in data_dir.
	SelfSigned bool
}

// Has reports whether the key was set in the file: a top-level key
// (e.g. "listen", "outputs") or, for the auth, tls and alerts sections, a
// dotted one such as "auth.enabled", "tls.cert" or "alerts.rate_limit".
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
	"sensor": "the eBPF sensor settings",
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
		case "auth":
			d.auth(v, c)
		case "tls":
			d.tlsSection(k, v, c)
		case "audit_token_file":
			c.AuditTokenFile = d.path(v, key)
		case "audit_client_ca":
			c.AuditClientCA = d.path(v, key)
		case "alerts":
			d.alerts(v, c)
		case "response":
			d.response(v, c)
		default:
			if what, ok := planned[key]; ok {
				d.errorf(k, "%s: not implemented in this version (reserved for %s); remove it", key, what)
				return
			}
			d.unknown(k, "configuration", "listen, data_dir, hostname, max_request_bytes, rules, outputs, auth, tls, audit_token_file, audit_client_ca, alerts, response")
		}
	})
}

// auth decodes the auth section.
func (d *decoder) auth(n *yaml.Node, c *Config) {
	c.Auth.Enabled = true
	d.mapping(n, "auth", func(key string, k, v *yaml.Node) {
		switch key {
		case "enabled":
			c.Auth.Enabled = d.boolean(v, "auth.enabled")
		case "admin_password_file":
			c.Auth.AdminPasswordFile = d.path(v, "auth.admin_password_file")
		case "metrics_token_file":
			c.Auth.MetricsTokenFile = d.path(v, "auth.metrics_token_file")
		default:
			d.unknown(k, "auth", "enabled, admin_password_file, metrics_token_file")
			return
		}
		c.set["auth."+key] = true
	})
}

// tlsSection decodes the tls section; k is its key, for messages about the
// section as a whole.
func (d *decoder) tlsSection(k, n *yaml.Node, c *Config) {
	d.mapping(n, "tls", func(key string, k, v *yaml.Node) {
		switch key {
		case "cert":
			c.TLS.Cert = d.path(v, "tls.cert")
		case "key":
			c.TLS.Key = d.path(v, "tls.key")
		case "self_signed":
			c.TLS.SelfSigned = d.boolean(v, "tls.self_signed")
		default:
			d.unknown(k, "tls", "cert, key, self_signed")
			return
		}
		c.set["tls."+key] = true
	})
	switch {
	case c.set["tls.cert"] != c.set["tls.key"]:
		d.errorf(k, "tls: cert and key go together")
	case c.set["tls.cert"] && c.TLS.SelfSigned:
		d.errorf(k, "tls: self_signed: true excludes cert and key")
	}
}

// path decodes a non-empty file path.
func (d *decoder) path(n *yaml.Node, what string) string {
	s, ok := d.scalar(n, what)
	if !ok {
		return ""
	}
	if n.Tag != "!!str" {
		d.errorf(n, "%s: want a file path, got %q", what, s)
		return ""
	}
	if strings.TrimSpace(s) == "" {
		d.errorf(n, "%s: want a file path, got an empty string", what)
		return ""
	}
	return s
}
