package sysevent_test

import (
	"github.com/vigilsec/vigil/internal/testutil"

	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigilsec/vigil/internal/event"
	"github.com/vigilsec/vigil/internal/sysevent"
)

// Falco's upstream rules files are read from ../shared/data/falco/rules.

// fieldRef is one field reference found in a rules file.
type fieldRef struct {
	name   string
	arg    string
	hasArg bool
	at     string // file:line of the rule, macro or list
}

func (r fieldRef) String() string {
	if r.hasArg {
		return fmt.Sprintf("%s[%s]", r.name, r.arg)
	}
	return r.name
}

// comparison is one `operand [operator values]` of a condition.
type comparison struct {
	lhs    string // operand: a field reference or a macro name
	op     string // "" when the operand stands alone (a macro)
	values []string
}

// fieldRefRE is how a field reference is spelled: dotted lower-case class
// and name, optionally followed by a bracket argument.
var fieldRefRE = regexp.MustCompile(`^([a-z0-9_]+(?:\.[a-zA-Z0-9_]+)+)(?:\[([^\]]*)\])?$`)

// outputFieldRE finds %field and %field[arg] in an output string.
var outputFieldRE = regexp.MustCompile(`%([a-z0-9_]+(?:\.[a-zA-Z0-9_]+)+)(?:\[([^\]]*)\])?`)

var (
	logicalOps = []string{"and", "or", "not"}
	binaryOps  = []string{
		"=", "==", "!=", "<", "<=", ">", ">=",
		"contains", "icontains", "bcontains", "startswith", "bstartswith",
		"endswith", "glob", "iglob", "regex", "pmatch", "in", "intersects",
	}
	unaryOps = []string{"exists"}
)

type tokKind int

const (
	tkWord tokKind = iota
	tkString
	tkOp // symbolic comparison operator
	tkLParen
	tkRParen
	tkComma
)

type token struct {
	kind tokKind
	text string // for tkString, the unquoted text
}

// lexCondition splits a Falco condition into tokens. A word runs up to a
// space, parenthesis, comma, quote or operator character; a bracket
// argument ([...]) is part of its word whatever it holds.
func lexCondition(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tkLParen, "("})
			i++
		case c == ')':
			toks = append(toks, token{tkRParen, ")"})
			i++
		case c == ',':
			toks = append(toks, token{tkComma, ","})
			i++
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string at offset %d", i)
			}
			toks = append(toks, token{tkString, s[i+1 : j]})
			i = j + 1
		case strings.IndexByte("=<>!", c) >= 0:
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			op := s[i:j]
			if op == "!" {
				return nil, fmt.Errorf("stray '!' at offset %d", i)
			}
			toks = append(toks, token{tkOp, op})
			i = j
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\n\r(),\"'=<>!", s[j]) < 0 {
				if s[j] == '[' {
					k := strings.IndexByte(s[j:], ']')
					if k < 0 {
						return nil, fmt.Errorf("unterminated '[' at offset %d", j)
					}
					j += k
				}
				j++
			}
			toks = append(toks, token{tkWord, s[i:j]})
			i = j
		}
	}
	return toks, nil
}

// parseComparisons walks the tokens of a condition and returns its
// comparisons. After a binary operator comes a value: one word or string,
// or a parenthesized list of them. Anything else out of place is an error,
// so that a condition the walker does not understand fails the test rather
// than hiding field references.
func parseComparisons(cond string) ([]comparison, error) {
	toks, err := lexCondition(cond)
	if err != nil {
		return nil, err
	}
	var out []comparison
	for i := 0; i < len(toks); {
		t := toks[i]
		switch {
		case t.kind == tkLParen || t.kind == tkRParen:
			i++
			continue
		case t.kind == tkWord && slices.Contains(logicalOps, t.text):
			i++
			continue
		case t.kind != tkWord:
			return nil, fmt.Errorf("unexpected %q where an operand belongs", t.text)
		}
		c := comparison{lhs: t.text}
		i++
		if i < len(toks) && (toks[i].kind == tkOp || toks[i].kind == tkWord && slices.Contains(binaryOps, toks[i].text)) {
			c.op = toks[i].text
			i++
			switch {
			case i < len(toks) && toks[i].kind == tkLParen:
				i++
				for i < len(toks) && toks[i].kind != tkRParen {
					switch toks[i].kind {
					case tkWord, tkString:
						c.values = append(c.values, toks[i].text)
					case tkComma:
					default:
						return nil, fmt.Errorf("unexpected %q in the values of %s %s", toks[i].text, c.lhs, c.op)
					}
					i++
				}
				if i == len(toks) {
					return nil, fmt.Errorf("unclosed value list after %s %s", c.lhs, c.op)
				}
				i++
			case i < len(toks) && (toks[i].kind == tkWord || toks[i].kind == tkString):
				c.values = []string{toks[i].text}
				i++
			case i < len(toks) && (toks[i].text == "<" || toks[i].text == ">"):
				// evt.dir=< and evt.dir=> compare with a direction.
				c.values = []string{toks[i].text}
				i++
			default:
				return nil, fmt.Errorf("missing value after %s %s", c.lhs, c.op)
			}
		} else if i < len(toks) && toks[i].kind == tkWord && slices.Contains(unaryOps, toks[i].text) {
			c.op = toks[i].text
			i++
		}
		out = append(out, c)
	}
	return out, nil
}

// splitRef splits a field reference into name and bracket argument. ok is
// false for words that are not field references (macro names).
func splitRef(word string) (name, arg string, hasArg, ok bool, err error) {
	if !strings.Contains(word, ".") {
		return "", "", false, false, nil
	}
	m := fieldRefRE.FindStringSubmatchIndex(word)
	if m == nil {
		return "", "", false, false, fmt.Errorf("operand %q is not spelled like a field", word)
	}
	name = word[m[2]:m[3]]
	if m[4] >= 0 {
		arg, hasArg = word[m[4]:m[5]], true
	}
	return name, arg, hasArg, true, nil
}

// conditionFields returns the field references of a condition.
func conditionFields(cond string) ([]fieldRef, error) {
	cmps, err := parseComparisons(cond)
	if err != nil {
		return nil, err
	}
	var refs []fieldRef
	for _, c := range cmps {
		name, arg, hasArg, ok, err := splitRef(c.lhs)
		if err != nil {
			return nil, err
		}
		if ok {
			refs = append(refs, fieldRef{name: name, arg: arg, hasArg: hasArg})
		}
	}
	return refs, nil
}

// outputFields returns the %field references of an output string.
func outputFields(out string) []fieldRef {
	var refs []fieldRef
	for _, m := range outputFieldRE.FindAllStringSubmatchIndex(out, -1) {
		r := fieldRef{name: out[m[2]:m[3]]}
		if m[4] >= 0 {
			r.arg, r.hasArg = out[m[4]:m[5]], true
		}
		refs = append(refs, r)
	}
	return refs
}

// ruleItem is one rule, macro or list of a rules file.
type ruleItem struct {
	kind      string // "rule", "macro", "list"
	name      string
	at        string
	source    string
	condition string
	output    string
	items     []string
	excFields []string
}

// loadRulesFile decodes the items of one Falco rules file. ok is false for
// YAML files that are not rules files (a mapping at the top, as
// registry.yaml).
func loadRulesFile(path string) (items []ruleItem, ok bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, false, fmt.Errorf("decode %s: %w", path, err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.SequenceNode {
		return nil, false, nil
	}
	base := filepath.Base(path)
	for _, n := range doc.Content[0].Content {
		if n.Kind != yaml.MappingNode {
			return nil, false, fmt.Errorf("%s:%d: item is not a mapping", base, n.Line)
		}
		it := ruleItem{at: fmt.Sprintf("%s:%d", base, n.Line)}
		for k := 0; k+1 < len(n.Content); k += 2 {
			key, val := n.Content[k].Value, n.Content[k+1]
			switch key {
			case "rule", "macro", "list":
				it.kind, it.name = key, val.Value
			case "source":
				it.source = val.Value
			case "condition":
				it.condition = val.Value
			case "output":
				it.output = val.Value
			case "items":
				for _, v := range val.Content {
					it.items = append(it.items, v.Value)
				}
			case "exceptions":
				for _, e := range val.Content {
					for j := 0; j+1 < len(e.Content); j += 2 {
						if e.Content[j].Value != "fields" {
							continue
						}
						if f := e.Content[j+1]; f.Kind == yaml.ScalarNode {
							it.excFields = append(it.excFields, f.Value)
						} else {
							for _, v := range f.Content {
								it.excFields = append(it.excFields, v.Value)
							}
						}
					}
				}
			}
		}
		if it.kind != "" {
			items = append(items, it)
		}
	}
	return items, true, nil
}

// loadRules decodes every rules file of rulesDir.
func loadRules(t *testing.T) []ruleItem {
	t.Helper()
	rulesDir := testutil.SharedData(t, "falco/rules")
	paths, err := filepath.Glob(filepath.Join(rulesDir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no rules files in %s: %v", rulesDir, err)
	}
	var all []ruleItem
	rulesFiles := 0
	for _, p := range paths {
		items, ok, err := loadRulesFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Logf("%s: not a rules file (no top-level list), skipped", p)
			continue
		}
		rulesFiles++
		all = append(all, items...)
	}
	if rulesFiles < 5 {
		t.Fatalf("found %d rules files in %s, want at least 5", rulesFiles, rulesDir)
	}
	return all
}

// TestRulesFieldsResolve checks that every field referenced by Falco's
// syscall rules (conditions of rules and macros, outputs, exception fields)
// compiles in the syscall source.
func TestRulesFieldsResolve(t *testing.T) {
	src := sysevent.Source{}
	var refs []fieldRef
	for _, it := range loadRules(t) {
		if it.source != "" && it.source != sysevent.SourceName {
			continue
		}
		if it.condition != "" {
			fs, err := conditionFields(it.condition)
			if err != nil {
				t.Errorf("%s: %s %s: condition: %v", it.at, it.kind, it.name, err)
				continue
			}
			for _, f := range fs {
				f.at = it.at
				refs = append(refs, f)
			}
		}
		for _, f := range outputFields(it.output) {
			f.at = it.at
			refs = append(refs, f)
		}
		for _, w := range it.excFields {
			name, arg, hasArg, ok, err := splitRef(w)
			if err != nil || !ok {
				t.Errorf("%s: exception field %q: not a field reference", it.at, w)
				continue
			}
			refs = append(refs, fieldRef{name: name, arg: arg, hasArg: hasArg, at: it.at})
		}
	}
	seen := map[string]bool{}
	for _, r := range refs {
		seen[r.String()] = true
		if _, err := src.Extractor(r.name, r.arg, r.hasArg); err != nil {
			t.Errorf("%s: %s: %v", r.at, r, err)
		}
	}
	// The files reference well over a hundred distinct fields; far fewer
	// means the tokenizer lost them.
	if len(seen) < 100 {
		t.Fatalf("found %d distinct field references, want at least 100: %v", len(seen), seen)
	}
	for _, want := range []string{"proc.aname[2]", "evt.arg.flags", "container.image.repository", "k8s.pod.name", "proc.aexepath[2]", "container.mount.dest[/var/run/docker.sock]"} {
		if !seen[want] {
			t.Errorf("reference %s not found in the rules files", want)
		}
	}
}

// TestRulesEventTypesKnown checks that every value compared with evt.type
// or syscall.type in Falco's rules, list references expanded, is one of
// the source's event types.
func TestRulesEventTypesKnown(t *testing.T) {
	items := loadRules(t)
	lists := map[string][]string{}
	for _, it := range items {
		if it.kind == "list" {
			lists[it.name] = append(lists[it.name], it.items...)
		}
	}
	var expand func(v string, depth int) []string
	expand = func(v string, depth int) []string {
		l, ok := lists[v]
		if !ok || depth > 10 {
			return []string{v}
		}
		var out []string
		for _, x := range l {
			out = append(out, expand(x, depth+1)...)
		}
		return out
	}
	known := map[string]bool{}
	for _, n := range (sysevent.Source{}).EventTypes() {
		known[n] = true
	}
	checked := map[string]bool{}
	for _, it := range items {
		if it.condition == "" || it.source != "" && it.source != sysevent.SourceName {
			continue
		}
		cmps, err := parseComparisons(it.condition)
		if err != nil {
			t.Errorf("%s: %v", it.at, err)
			continue
		}
		for _, c := range cmps {
			if c.lhs != "evt.type" && c.lhs != "syscall.type" {
				continue
			}
			switch c.op {
			case "=", "==", "!=", "in", "intersects":
			default:
				t.Errorf("%s: %s %s: operator not checked by this test", it.at, c.lhs, c.op)
				continue
			}
			for _, v := range c.values {
				for _, name := range expand(v, 0) {
					checked[name] = true
					if !known[name] {
						t.Errorf("%s: %s %s %s: %q is not an event type", it.at, c.lhs, c.op, v, name)
					}
				}
			}
		}
	}
	if len(checked) < 30 {
		t.Fatalf("checked %d distinct event type values, want at least 30: %v", len(checked), checked)
	}
}

// TestConditionFields checks the test's own tokenizer, on which the rules
// tests rely.
func TestConditionFields(t *testing.T) {
	tests := []struct {
		cond    string
		want    []string
		wantErr bool
	}{
		{cond: `evt.type in (open,openat) and fd.name startswith /etc`, want: []string{"evt.type", "fd.name"}},
		{cond: `spawned_process and not proc.name in (known_list, "a b", sh)`, want: []string{"proc.name"}},
		{cond: `fd.sip="10.0.0.1" or fd.net = 10.0.0.0/8`, want: []string{"fd.sip", "fd.net"}},
		{cond: `(proc.aname[2]=bash and container.mount.dest[/var/run/docker.sock] exists)`, want: []string{"proc.aname[2]", "container.mount.dest[/var/run/docker.sock]"}},
		{cond: `evt.arg.flags contains O_TMPFILE and evt.rawres>=0`, want: []string{"evt.arg.flags", "evt.rawres"}},
		{cond: `k8s.ns.name != 'kube-system' and my_macro`, want: []string{"k8s.ns.name"}},
		{cond: `fd.name pmatch (/etc, /usr/lib.so) and user.uid!=0`, want: []string{"fd.name", "user.uid"}},
		{cond: `(evt.type = connect and evt.dir=<) or fd.types[0] in (ipv4)`, want: []string{"evt.type", "evt.dir", "fd.types[0]"}},
		{cond: `proc.name = `, wantErr: true},
		{cond: `proc.name = "unterminated`, wantErr: true},
		{cond: `tolower(proc.name) = bash`, wantErr: true},
		{cond: `fd.name in (a, b`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			refs, err := conditionFields(tt.cond)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %v, want an error", refs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range refs {
				got = append(got, r.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestOutputFields checks the %field scanner of output strings.
func TestOutputFields(t *testing.T) {
	tests := []struct {
		out  string
		want []string
	}{
		{out: `File opened (file=%fd.name user=%user.name)`, want: []string{"fd.name", "user.name"}},
		{out: `gparent=%proc.aname[2] flags=%evt.arg.flags 100% fd_proto=fd.l4proto`, want: []string{"proc.aname[2]", "evt.arg.flags"}},
		{out: `%container.mount.dest[/etc] %k8s.pod.name`, want: []string{"container.mount.dest[/etc]", "k8s.pod.name"}},
		{out: `no fields here`, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.out, func(t *testing.T) {
			var got []string
			for _, r := range outputFields(tt.out) {
				got = append(got, r.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRulesTypesOfReferences spot-checks the types the rules rely on when
// their operands are parsed.
func TestRulesTypesOfReferences(t *testing.T) {
	src := sysevent.Source{}
	tests := []struct {
		ref  string
		want event.FieldType
	}{
		{"fd.sip", event.TypeIPAddr},
		{"fd.snet", event.TypeIPNet},
		{"fd.sport", event.TypePort},
		{"evt.rawres", event.TypeInt},
		{"user.uid", event.TypeUint},
		{"proc.exepath", event.TypePath},
		{"evt.buffer", event.TypeBytes},
		{"container.privileged", event.TypeBool},
		{"proc.duration", event.TypeRelTime},
		{"proc.exe_ino.ctime", event.TypeAbsTime},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			name, arg, hasArg, _, err := splitRef(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			x, err := src.Extractor(name, arg, hasArg)
			if err != nil {
				t.Fatal(err)
			}
			c, ok := x.(*sysevent.Compiled)
			if !ok {
				t.Fatalf("extractor is %T, want *sysevent.Compiled", x)
			}
			if c.Field.Type != tt.want {
				t.Errorf("type %s, want %s", c.Field.Type, tt.want)
			}
		})
	}
}
