package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder walks yaml.Node trees, collecting problems with positions.
type decoder struct {
	file     string
	problems []Problem
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.problems = append(d.problems, Problem{File: d.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)})
}

// unknown reports an unknown key of section, listing the valid ones.
func (d *decoder) unknown(k *yaml.Node, section, valid string) {
	d.errorf(k, "unknown key %q in %s (valid: %s)", k.Value, section, valid)
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// kindName names a node kind for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar"
	}
	return "nothing"
}

// mapping calls fn for each key of n in order, reporting duplicate keys
// and non-mappings. A null value is an empty mapping.
func (d *decoder) mapping(n *yaml.Node, what string, fn func(key string, k, v *yaml.Node)) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: want a mapping, got %s", what, kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: keys must be strings", what)
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "%s: duplicate key %q", what, k.Value)
			continue
		}
		seen[k.Value] = true
		fn(k.Value, k, v)
	}
}

// scalar returns the value of a scalar node, reporting other kinds.
func (d *decoder) scalar(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, "%s: want a value, got %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) str(n *yaml.Node, what string) string {
	s, ok := d.scalar(n, what)
	if ok && n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float" && n.Tag != "!!bool" {
		d.errorf(n, "%s: want a string, got %s", what, n.Tag)
		return ""
	}
	return s
}

func (d *decoder) boolean(n *yaml.Node, what string) bool {
	s, ok := d.scalar(n, what)
	if !ok {
		return false
	}
	if n.Tag != "!!bool" {
		d.errorf(n, "%s: want true or false, got %q", what, s)
		return false
	}
	b, _ := strconv.ParseBool(strings.ToLower(s))
	return b
}

// integer decodes a non-negative int.
func (d *decoder) integer(n *yaml.Node, what string) int {
	s, ok := d.scalar(n, what)
	if !ok {
		return 0
	}
	v, err := strconv.Atoi(s)
	if err != nil || n.Tag != "!!int" {
		d.errorf(n, "%s: want an integer, got %q", what, s)
		return 0
	}
	if v < 0 {
		d.errorf(n, "%s: must not be negative, got %d", what, v)
		return 0
	}
	return v
}

// duration decodes a Go duration such as "500ms" or "10s".
func (d *decoder) duration(n *yaml.Node, what string) time.Duration {
	s, ok := d.scalar(n, what)
	if !ok {
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.errorf(n, "%s: want a duration such as 500ms, 10s or 1m, got %q", what, s)
		return 0
	}
	if v < 0 {
		d.errorf(n, "%s: must not be negative, got %s", what, s)
		return 0
	}
	return v
}

// sizeUnits are the suffixes size accepts.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"B", 1},
}

// size decodes a byte count: an integer, or one with a unit suffix such
// as 100MiB or 10MB.
func (d *decoder) size(n *yaml.Node, what string) int64 {
	s, ok := d.scalar(n, what)
	if !ok {
		return 0
	}
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		d.errorf(n, "%s: want a size in bytes such as 1048576, 100MiB or 10MB, got %q", what, s)
		return 0
	}
	return v * mult
}

// strList decodes a list of strings; a single string is a list of one.
func (d *decoder) strList(n *yaml.Node, what string) []string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{d.str(n, what)}
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: want a list of strings, got %s", what, kindName(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for i, e := range n.Content {
		out = append(out, d.str(resolve(e), fmt.Sprintf("%s[%d]", what, i)))
	}
	return out
}

// strMap decodes a mapping of strings to strings.
func (d *decoder) strMap(n *yaml.Node, what string) map[string]string {
	m := map[string]string{}
	d.mapping(n, what, func(key string, k, v *yaml.Node) {
		m[key] = d.str(v, what+"."+key)
	})
	return m
}
