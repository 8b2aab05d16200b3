package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigilsec/vigil/internal/event"
)

// EngineVersion is the Falco rules engine version this engine implements,
// compared with required_engine_version.
const EngineVersion = "0.57.0"

// nativePlugins are the Falco plugins whose fields Vigil implements itself:
// files requiring them load without the plugin.
var nativePlugins = map[string]bool{
	"k8saudit": true, "k8saudit-aks": true, "k8saudit-eks": true, "k8saudit-gke": true,
	"k8saudit-ovh": true, "json": true,
	// Falco's container plugin provides container.* fields, which Vigil's
	// syscall source implements itself.
	"container": true,
}

type pos struct {
	file      string
	line, col int
}

type listDef struct {
	name  string
	items []item
	pos   pos
	used  bool
}

type macroDef struct {
	name    string
	cond    string
	condPos condPos
	pos     pos
	ast     expr
	err     error
}

type exceptionDef struct {
	name         string
	fields       []string
	fieldsScalar bool
	comps        []string
	compsScalar  bool
	values       []*yaml.Node
	pos          pos
}

type ruleDef struct {
	rule       *Rule
	cond       string
	condPos    condPos
	outPos     condPos
	exceptions []exceptionDef
	skipUnk    bool
	warnEvt    bool
	pos        pos
}

// condPos maps offsets of a condition text back to its YAML source. A
// condition built by appends holds one segment per piece.
type condPos struct {
	segs []condSeg
}

type condSeg struct {
	start int // offset of the segment in the whole condition
	node  *yaml.Node
	pos   pos
	src   []string // source lines of the file
}

// loader holds the state of a Load.
type loader struct {
	diags    Diagnostics
	lists    map[string]*listDef
	macros   map[string]*macroDef
	rules    map[string]*ruleDef
	order    []*ruleDef
	sources  map[string]event.Source
	curLines []string
	// memoSlots counts the compiled macros, each memoized per event.
	memoSlots int
}

func (l *loader) add(p pos, sev Severity, itemType, name, format string, args ...any) {
	l.diags = append(l.diags, Diagnostic{
		File: p.file, Line: p.line, Col: p.col, Severity: sev,
		ItemType: itemType, ItemName: name, Message: fmt.Sprintf(format, args...),
	})
}

func (l *loader) errorf(p pos, itemType, name, format string, args ...any) {
	l.add(p, SeverityError, itemType, name, format, args...)
}

func (l *loader) warnf(p pos, itemType, name, format string, args ...any) {
	l.add(p, SeverityWarning, itemType, name, format, args...)
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// loadFile reads one file's items into the loader.
func (l *loader) loadFile(f File) {
	l.curLines = strings.Split(string(f.Data), "\n")
	dec := yaml.NewDecoder(bytes.NewReader(f.Data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			line, msg := 1, err.Error()
			if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
				msg = m[2]
			} else {
				msg = strings.TrimPrefix(msg, "yaml: ")
			}
			l.errorf(pos{f.Name, line, 1}, "file", f.Name, "invalid YAML: %s", msg)
			return
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue
		}
		if root.Kind != yaml.SequenceNode {
			l.errorf(pos{f.Name, root.Line, root.Column}, "file", f.Name, "rules content must be a list of items (- rule:, - macro:, - list:), got %s", kindName(root))
			return
		}
		for _, it := range root.Content {
			l.loadItem(f.Name, it)
		}
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

// mapping is a YAML mapping's keys and values with positions.
type mapping struct {
	keys []string
	vals map[string]*yaml.Node
	kpos map[string]pos
}

func toMapping(file string, n *yaml.Node) (*mapping, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("expected a mapping, got %s", kindName(n))
	}
	m := &mapping{vals: map[string]*yaml.Node{}, kpos: map[string]pos{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := m.vals[k.Value]; dup {
			return nil, fmt.Errorf("line %d: key %q repeated", k.Line, k.Value)
		}
		m.keys = append(m.keys, k.Value)
		m.vals[k.Value] = v
		m.kpos[k.Value] = pos{file, k.Line, k.Column}
	}
	return m, nil
}

func (l *loader) loadItem(file string, n *yaml.Node) {
	p := pos{file, n.Line, n.Column}
	m, err := toMapping(file, n)
	if err != nil {
		l.errorf(p, "item", "", "%v", err)
		return
	}
	switch {
	case m.vals["rule"] != nil:
		l.loadRule(file, m, p)
	case m.vals["macro"] != nil:
		l.loadMacro(file, m, p)
	case m.vals["list"] != nil:
		l.loadList(file, m, p)
	case m.vals["required_engine_version"] != nil:
		l.checkEngineVersion(m.vals["required_engine_version"], pos{file, m.vals["required_engine_version"].Line, m.vals["required_engine_version"].Column})
	case m.vals["required_plugin_versions"] != nil:
		l.checkPlugins(file, m.vals["required_plugin_versions"])
	default:
		name := ""
		if len(m.keys) > 0 {
			name = m.keys[0]
		}
		l.errorf(p, "item", name, "unknown item type: expected one of rule, macro, list, required_engine_version, required_plugin_versions")
	}
}

func (l *loader) checkEngineVersion(v *yaml.Node, p pos) {
	want, ok := parseEngineVersion(v.Value)
	if !ok || v.Kind != yaml.ScalarNode {
		l.errorf(p, "required_engine_version", v.Value, "not a version: expected an integer or MAJOR.MINOR.PATCH")
		return
	}
	have, _ := parseEngineVersion(EngineVersion)
	if compareVersion(want, have) > 0 {
		l.errorf(p, "required_engine_version", v.Value, "rules require engine version %s, this engine is %s", v.Value, EngineVersion)
	}
}

// parseEngineVersion reads N (Falco's old integer form, meaning 0.N.0) or
// MAJOR.MINOR.PATCH.
func parseEngineVersion(s string) ([3]int, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return [3]int{0, n, 0}, true
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return [3]int{}, false
	}
	var v [3]int
	for i, part := range parts {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return [3]int{}, false
		}
		v[i] = n
	}
	return v, true
}

func compareVersion(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (l *loader) checkPlugins(file string, v *yaml.Node) {
	if v.Kind != yaml.SequenceNode {
		l.errorf(pos{file, v.Line, v.Column}, "required_plugin_versions", "", "expected a list of {name, version}")
		return
	}
	for _, e := range v.Content {
		m, err := toMapping(file, e)
		p := pos{file, e.Line, e.Column}
		if err != nil {
			l.errorf(p, "required_plugin_versions", "", "%v", err)
			continue
		}
		name := scalar(m.vals["name"])
		if name == "" || scalar(m.vals["version"]) == "" {
			l.errorf(p, "required_plugin_versions", name, "each entry needs a name and a version")
			continue
		}
		ok := nativePlugins[name]
		if alts := m.vals["alternatives"]; alts != nil && alts.Kind == yaml.SequenceNode {
			for _, a := range alts.Content {
				if am, err := toMapping(file, a); err == nil && nativePlugins[scalar(am.vals["name"])] {
					ok = true
				}
			}
		}
		if !ok {
			l.warnf(p, "required_plugin_versions", name, "plugin %s is not built into Vigil: rules of its source are not evaluated", name)
		}
	}
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// stringList reads a scalar or a sequence of scalars.
func stringList(n *yaml.Node) ([]string, bool, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, true, nil
		}
		return []string{n.Value}, true, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, false, fmt.Errorf("line %d: expected a string, got %s", c.Line, kindName(c))
			}
			out = append(out, c.Value)
		}
		return out, false, nil
	}
	return nil, false, fmt.Errorf("expected a string or a list of strings, got %s", kindName(n))
}

// overrides reads the `override` key: key → "append" or "replace".
func (l *loader) overrides(m *mapping, itemType, name string, allowed map[string]string) (map[string]string, bool) {
	ov := m.vals["override"]
	if ov == nil {
		return nil, true
	}
	p := m.kpos["override"]
	om, err := toMapping(p.file, ov)
	if err != nil {
		l.errorf(p, itemType, name, "override: %v", err)
		return nil, false
	}
	out := map[string]string{}
	ok := true
	for _, k := range om.keys {
		mode := scalar(om.vals[k])
		kp := om.kpos[k]
		allowedModes, known := allowed[k]
		switch {
		case !known:
			l.errorf(kp, itemType, name, "override: key %q cannot be overridden", k)
			ok = false
		case mode != "append" && mode != "replace":
			l.errorf(kp, itemType, name, "override: %s must be append or replace, got %q", k, mode)
			ok = false
		case !strings.Contains(allowedModes, mode):
			l.errorf(kp, itemType, name, "override: key %q cannot be %sed", k, strings.TrimSuffix(mode, "e"))
			ok = false
		case m.vals[k] == nil:
			l.errorf(kp, itemType, name, "override: key %q is overridden but not given", k)
			ok = false
		default:
			out[k] = mode
		}
	}
	if ok && len(out) == 0 {
		l.errorf(p, itemType, name, "override: nothing to override")
		return nil, false
	}
	return out, ok
}

func (l *loader) appendFlag(m *mapping, itemType, name string) (bool, bool) {
	a := m.vals["append"]
	if a == nil {
		return false, true
	}
	b, err := strconv.ParseBool(a.Value)
	if err != nil || a.Kind != yaml.ScalarNode {
		l.errorf(m.kpos["append"], itemType, name, "append must be true or false")
		return false, false
	}
	if b && m.vals["override"] != nil {
		l.errorf(m.kpos["append"], itemType, name, "append and override cannot be used together")
		return false, false
	}
	return b, true
}

func (l *loader) checkKeys(m *mapping, itemType, name string, known map[string]bool) {
	for _, k := range m.keys {
		if !known[k] {
			l.warnf(m.kpos[k], itemType, name, "unknown key %q ignored", k)
		}
	}
}

func (l *loader) loadList(file string, m *mapping, p pos) {
	name := scalar(m.vals["list"])
	if name == "" {
		l.errorf(p, "list", "", "list name must be a non-empty string")
		return
	}
	l.checkKeys(m, "list", name, map[string]bool{"list": true, "items": true, "append": true, "override": true})
	app, ok := l.appendFlag(m, "list", name)
	if !ok {
		return
	}
	ov, ok := l.overrides(m, "list", name, map[string]string{"items": "append replace"})
	if !ok {
		return
	}
	in := m.vals["items"]
	if in == nil {
		l.errorf(p, "list", name, "missing required key 'items'")
		return
	}
	if in.Kind != yaml.SequenceNode && !(in.Kind == yaml.ScalarNode && in.Tag == "!!null") {
		l.errorf(pos{file, in.Line, in.Column}, "list", name, "items must be a list, got %s", kindName(in))
		return
	}
	var items []item
	for _, c := range in.Content {
		if c.Kind != yaml.ScalarNode {
			l.errorf(pos{file, c.Line, c.Column}, "list", name, "list items must be strings, got %s", kindName(c))
			return
		}
		items = append(items, listItem(c))
	}
	prev := l.lists[name]
	if app || ov["items"] == "append" {
		if prev == nil {
			l.errorf(p, "list", name, "append to undefined list")
			return
		}
		prev.items = append(prev.items, items...)
		return
	}
	if ov["items"] == "replace" && prev == nil {
		l.errorf(p, "list", name, "override of undefined list")
		return
	}
	l.lists[name] = &listDef{name: name, items: items, pos: p}
}

// listItem reads a list item; items written with quotes inside the YAML
// string ('"a b"') are literal values.
func listItem(c *yaml.Node) item {
	v := c.Value
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		if s, n, err := unquote(v); err == nil && n == len(v) {
			return item{text: s, quoted: true}
		}
	}
	return item{text: v}
}

func (l *loader) condPosOf(file string, n *yaml.Node) condPos {
	return condPos{segs: []condSeg{{start: 0, node: n, pos: pos{file, n.Line, n.Column}, src: l.curLines}}}
}

func (l *loader) loadMacro(file string, m *mapping, p pos) {
	name := scalar(m.vals["macro"])
	if name == "" {
		l.errorf(p, "macro", "", "macro name must be a non-empty string")
		return
	}
	l.checkKeys(m, "macro", name, map[string]bool{"macro": true, "condition": true, "append": true, "override": true})
	app, ok := l.appendFlag(m, "macro", name)
	if !ok {
		return
	}
	ov, ok := l.overrides(m, "macro", name, map[string]string{"condition": "append replace"})
	if !ok {
		return
	}
	cn := m.vals["condition"]
	if cn == nil {
		l.errorf(p, "macro", name, "missing required key 'condition'")
		return
	}
	if cn.Kind != yaml.ScalarNode {
		l.errorf(pos{file, cn.Line, cn.Column}, "macro", name, "condition must be a string, got %s", kindName(cn))
		return
	}
	prev := l.macros[name]
	if app || ov["condition"] == "append" {
		if prev == nil {
			l.errorf(p, "macro", name, "append to undefined macro")
			return
		}
		prev.condPos.segs = append(prev.condPos.segs, condSeg{start: len(prev.cond) + 1, node: cn, pos: pos{file, cn.Line, cn.Column}, src: l.curLines})
		prev.cond += " " + cn.Value
		return
	}
	if ov["condition"] == "replace" && prev == nil {
		l.errorf(p, "macro", name, "override of undefined macro")
		return
	}
	l.macros[name] = &macroDef{name: name, cond: cn.Value, condPos: l.condPosOf(file, cn), pos: p}
}

var ruleKeys = map[string]bool{
	"rule": true, "condition": true, "output": true, "desc": true, "priority": true, "tags": true,
	"source": true, "enabled": true, "exceptions": true, "skip-if-unknown-filter": true,
	"warn_evttypes": true, "append": true, "override": true,
	// Keys of newer Falco versions that Vigil accepts and does not use.
	"capture": true, "capture_duration": true,
}

var ruleOverridable = map[string]string{
	"condition": "append replace", "output": "append replace", "desc": "append replace",
	"tags": "append replace", "exceptions": "append replace", "priority": "replace",
	"enabled": "replace", "warn_evttypes": "replace", "skip-if-unknown-filter": "replace",
	"capture": "replace", "capture_duration": "replace",
}

func (l *loader) loadRule(file string, m *mapping, p pos) {
	name := scalar(m.vals["rule"])
	if name == "" {
		l.errorf(p, "rule", "", "rule name must be a non-empty string")
		return
	}
	l.checkKeys(m, "rule", name, ruleKeys)
	app, ok := l.appendFlag(m, "rule", name)
	if !ok {
		return
	}
	ov, ok := l.overrides(m, "rule", name, ruleOverridable)
	if !ok {
		return
	}
	prev := l.rules[name]

	// An item with only the name and `enabled` switches an existing rule.
	if !app && ov == nil && m.vals["enabled"] != nil && len(m.keys) == 2 {
		if prev == nil {
			l.errorf(p, "rule", name, "enabled set for undefined rule")
			return
		}
		if b, ok := l.boolKey(m, "enabled", "rule", name); ok {
			prev.rule.Enabled = b
		}
		return
	}

	if app || ov != nil {
		if prev == nil {
			if app {
				l.errorf(p, "rule", name, "append to undefined rule")
			} else {
				l.errorf(p, "rule", name, "override of undefined rule")
			}
			return
		}
		mode := func(k string) string {
			if app {
				if m.vals[k] == nil {
					return ""
				}
				switch k {
				case "condition", "output", "desc", "tags", "exceptions":
					return "append"
				case "rule", "append", "source":
					return ""
				}
				l.warnf(m.kpos[k], "rule", name, "key %q is ignored when appending; use override", k)
				return ""
			}
			return ov[k]
		}
		l.setRuleKeys(file, prev, m, mode)
		return
	}

	r := &ruleDef{pos: p, warnEvt: true, rule: &Rule{Name: name, Enabled: true, Source: "syscall", File: file, Line: p.line}}
	for _, k := range []string{"condition", "output", "desc", "priority"} {
		if m.vals[k] == nil {
			l.errorf(p, "rule", name, "missing required key '%s'", k)
			ok = false
		}
	}
	if !ok {
		return
	}
	if !l.setRuleKeys(file, r, m, func(string) string { return "replace" }) {
		return
	}
	if prev != nil {
		// A redefinition replaces the rule in its original place.
		*prev = *r
		return
	}
	l.rules[name] = r
	l.order = append(l.order, r)
}

func (l *loader) boolKey(m *mapping, key, itemType, name string) (bool, bool) {
	n := m.vals[key]
	b, err := strconv.ParseBool(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		l.errorf(pos{m.kpos[key].file, n.Line, n.Column}, itemType, name, "%s must be true or false, got %q", key, n.Value)
		return false, false
	}
	return b, true
}

// setRuleKeys applies the keys of m to r; mode says per key "replace",
// "append" or "" (leave alone).
func (l *loader) setRuleKeys(file string, r *ruleDef, m *mapping, mode func(string) string) bool {
	name := r.rule.Name
	ok := true
	given := mode
	mode = func(k string) string {
		if m.vals[k] == nil {
			return ""
		}
		return given(k)
	}
	str := func(k string) (string, *yaml.Node, bool) {
		n := m.vals[k]
		if n.Kind != yaml.ScalarNode {
			l.errorf(pos{file, n.Line, n.Column}, "rule", name, "%s must be a string, got %s", k, kindName(n))
			ok = false
			return "", n, false
		}
		return n.Value, n, true
	}
	if md := mode("condition"); md != "" {
		if v, n, good := str("condition"); good {
			if md == "append" {
				r.condPos.segs = append(r.condPos.segs, condSeg{start: len(r.cond) + 1, node: n, pos: pos{file, n.Line, n.Column}, src: l.curLines})
				r.cond += " " + v
			} else {
				r.cond, r.condPos = v, l.condPosOf(file, n)
			}
		}
	}
	if md := mode("output"); md != "" {
		if v, n, good := str("output"); good {
			// Folded YAML scalars (output: >) end with a newline.
			v = strings.TrimSpace(v)
			if md == "append" {
				r.outPos.segs = append(r.outPos.segs, condSeg{start: len(r.rule.Output) + 1, node: n, pos: pos{file, n.Line, n.Column}, src: l.curLines})
				r.rule.Output += " " + v
			} else {
				r.rule.Output, r.outPos = v, l.condPosOf(file, n)
			}
		}
	}
	if md := mode("desc"); md != "" {
		if v, _, good := str("desc"); good {
			v = strings.TrimSpace(v)
			if md == "append" {
				r.rule.Desc += " " + v
			} else {
				r.rule.Desc = v
			}
		}
	}
	if md := mode("priority"); md != "" {
		if v, n, good := str("priority"); good {
			pr, valid := ParsePriority(v)
			if !valid {
				l.errorf(pos{file, n.Line, n.Column}, "rule", name, "unknown priority %q (expected emergency, alert, critical, error, warning, notice, informational or debug)", v)
				ok = false
			} else {
				r.rule.Priority = pr
			}
		}
	}
	if md := mode("tags"); md != "" {
		n := m.vals["tags"]
		tags, _, err := stringList(n)
		if err != nil {
			l.errorf(pos{file, n.Line, n.Column}, "rule", name, "tags: %v", err)
			ok = false
		} else if md == "append" {
			for _, t := range tags {
				if !contains(r.rule.Tags, t) {
					r.rule.Tags = append(r.rule.Tags, t)
				}
			}
		} else {
			r.rule.Tags = tags
		}
	}
	if mode("source") == "replace" {
		if v, _, good := str("source"); good {
			r.rule.Source = v
		}
	}
	if md := mode("enabled"); md != "" {
		if b, good := l.boolKey(m, "enabled", "rule", name); good {
			r.rule.Enabled = b
		} else {
			ok = false
		}
	}
	if md := mode("warn_evttypes"); md != "" {
		if b, good := l.boolKey(m, "warn_evttypes", "rule", name); good {
			r.warnEvt = b
		} else {
			ok = false
		}
	}
	if md := mode("skip-if-unknown-filter"); md != "" {
		if b, good := l.boolKey(m, "skip-if-unknown-filter", "rule", name); good {
			r.skipUnk = b
		} else {
			ok = false
		}
	}
	if md := mode("exceptions"); md != "" {
		excs, good := l.parseExceptions(file, name, m.vals["exceptions"])
		if !good {
			ok = false
		} else if md == "replace" {
			r.exceptions = excs
		} else {
			ok = l.appendExceptions(r, excs) && ok
		}
	}
	return ok
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (l *loader) parseExceptions(file, rule string, n *yaml.Node) ([]exceptionDef, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(pos{file, n.Line, n.Column}, "rule", rule, "exceptions must be a list, got %s", kindName(n))
		return nil, false
	}
	var out []exceptionDef
	ok := true
	for _, e := range n.Content {
		p := pos{file, e.Line, e.Column}
		m, err := toMapping(file, e)
		if err != nil {
			l.errorf(p, "rule", rule, "exception: %v", err)
			ok = false
			continue
		}
		ex := exceptionDef{name: scalar(m.vals["name"]), pos: p}
		if ex.name == "" {
			l.errorf(p, "rule", rule, "exception without a name")
			ok = false
			continue
		}
		for _, k := range m.keys {
			switch k {
			case "name", "fields", "comps", "values":
			default:
				l.warnf(m.kpos[k], "rule", rule, "exception %s: unknown key %q ignored", ex.name, k)
			}
		}
		if f := m.vals["fields"]; f != nil {
			ex.fields, ex.fieldsScalar, err = stringList(f)
			if err != nil {
				l.errorf(pos{file, f.Line, f.Column}, "rule", rule, "exception %s: fields: %v", ex.name, err)
				ok = false
				continue
			}
		}
		if c := m.vals["comps"]; c != nil {
			ex.comps, ex.compsScalar, err = stringList(c)
			if err != nil {
				l.errorf(pos{file, c.Line, c.Column}, "rule", rule, "exception %s: comps: %v", ex.name, err)
				ok = false
				continue
			}
		}
		if v := m.vals["values"]; v != nil {
			if v.Kind != yaml.SequenceNode {
				l.errorf(pos{file, v.Line, v.Column}, "rule", rule, "exception %s: values must be a list", ex.name)
				ok = false
				continue
			}
			ex.values = v.Content
		}
		out = append(out, ex)
	}
	return out, ok
}

func (l *loader) appendExceptions(r *ruleDef, excs []exceptionDef) bool {
	for _, ex := range excs {
		found := false
		for i := range r.exceptions {
			if r.exceptions[i].name == ex.name {
				found = true
				if len(ex.fields) > 0 && strings.Join(ex.fields, ",") != strings.Join(r.exceptions[i].fields, ",") {
					l.errorf(ex.pos, "rule", r.rule.Name, "exception %s: appended fields differ from the original", ex.name)
					return false
				}
				r.exceptions[i].values = append(r.exceptions[i].values, ex.values...)
			}
		}
		if !found {
			r.exceptions = append(r.exceptions, ex)
		}
	}
	return true
}
