package rules

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigilsec/vigil/internal/event"
)

// Ruleset is a compiled set of rules, safe for concurrent use by several
// Evaluators.
type Ruleset struct {
	memoSlots int
	rules     []*Rule
	bySource  map[string]*sourceRules
}

type sourceRules struct {
	src    event.Source
	byType [][]*Rule // enabled rules by event type code
	used   []bool    // event types some enabled rule needs
	all    []*Rule   // enabled rules
}

// Rules returns every loaded rule in load order, enabled or not, of every
// source, including rules of sources that are not available.
func (rs *Ruleset) Rules() []*Rule { return rs.rules }

// Enabled returns the enabled, compiled rules of source.
func (rs *Ruleset) Enabled(source string) []*Rule {
	if s := rs.bySource[source]; s != nil {
		return s.all
	}
	return nil
}

// EventTypes returns the type codes of source that at least one enabled rule
// can match: what an event producer must capture. It returns nil when the
// source has a single event type.
func (rs *Ruleset) EventTypes(source string) []int {
	s := rs.bySource[source]
	if s == nil || s.src.TypeField() == "" {
		return nil
	}
	var out []int
	for code, u := range s.used {
		if u {
			out = append(out, code)
		}
	}
	return out
}

// Load reads files in order, applying each file's appends and overrides to
// what earlier files defined, and compiles the result. It returns every
// problem found; the Ruleset holds the rules that compiled and is usable
// even when there are errors.
func Load(files []File, opts Options) (*Ruleset, Diagnostics) {
	l := &loader{
		lists:   map[string]*listDef{},
		macros:  map[string]*macroDef{},
		rules:   map[string]*ruleDef{},
		sources: map[string]event.Source{},
	}
	for _, s := range opts.Sources {
		l.sources[s.Name()] = s
	}
	for _, f := range files {
		l.loadFile(f)
	}
	rs := l.compile()
	return rs, dedupe(l.diags, files)
}

// dedupe drops repeated diagnostics and sorts them by file (in load
// order), line and column.
func dedupe(ds Diagnostics, files []File) Diagnostics {
	order := map[string]int{}
	for i, f := range files {
		if _, ok := order[f.Name]; !ok {
			order[f.Name] = i
		}
	}
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return order[a.File] < order[b.File]
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	seen := map[string]bool{}
	var out Diagnostics
	for _, d := range ds {
		k := d.String()
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
}

// compileErr is a problem found while compiling a condition: where and what.
type compileErr struct {
	itemType, name string
	at             pos
	msg            string
}

func (e *compileErr) Error() string { return e.msg }

// errSkip marks a rule skipped for an unknown field (skip-if-unknown-filter).
var errSkip = errors.New("skip")

type compiler struct {
	l      *loader
	src    event.Source
	types  []string
	codes  map[string]int
	rule   *ruleDef
	stack  []string // macros being expanded, for loop detection
	cache  map[string]compiled
	lstack []string
	fields map[string]event.Field
}

// compiled is a node with what it tells about event types.
type compiled struct {
	n     node
	types typeSet
}

// typeSet is the set of event types a condition can match. exact means the
// condition is true exactly for these types (only evt.type checks).
type typeSet struct {
	all   bool
	bits  []uint64
	exact bool
}

func (c *compiler) allTypes() typeSet { return typeSet{all: true} }

func (c *compiler) setOf(codes []int, exact bool) typeSet {
	t := typeSet{bits: make([]uint64, (len(c.types)+63)/64), exact: exact}
	for _, code := range codes {
		t.bits[code/64] |= 1 << (code % 64)
	}
	return t
}

func (c *compiler) and(a, b typeSet) typeSet {
	exact := a.exact && b.exact
	switch {
	case a.all && b.all:
		return typeSet{all: true, exact: exact}
	case a.all:
		b.exact = exact
		return b
	case b.all:
		a.exact = exact
		return a
	}
	out := typeSet{bits: make([]uint64, len(a.bits)), exact: exact}
	for i := range a.bits {
		out.bits[i] = a.bits[i] & b.bits[i]
	}
	return out
}

func (c *compiler) or(a, b typeSet) typeSet {
	exact := a.exact && b.exact
	if a.all || b.all {
		return typeSet{all: true, exact: exact}
	}
	out := typeSet{bits: make([]uint64, len(a.bits)), exact: exact}
	for i := range a.bits {
		out.bits[i] = a.bits[i] | b.bits[i]
	}
	return out
}

func (c *compiler) not(a typeSet) typeSet {
	if !a.exact || len(c.types) == 0 {
		return typeSet{all: true}
	}
	if a.all {
		return c.setOf(nil, true)
	}
	out := typeSet{bits: make([]uint64, len(a.bits)), exact: true}
	for i := range a.bits {
		out.bits[i] = ^a.bits[i]
	}
	return out
}

func (t typeSet) has(code int) bool {
	return t.all || t.bits[code/64]&(1<<(code%64)) != 0
}

func (l *loader) compile() *Ruleset {
	rs := &Ruleset{bySource: map[string]*sourceRules{}}
	defer func() { rs.memoSlots = l.memoSlots }()
	// Syntax of every macro, used or not.
	for _, name := range sortedKeys(l.macros) {
		m := l.macros[name]
		m.ast, m.err = parseCondition(m.cond)
		if m.err != nil {
			var pe *ParseError
			off := 0
			if errors.As(m.err, &pe) {
				off = pe.Off
			}
			l.errorf(m.condPos.locate(m.cond, off), "macro", name, "%v", m.err)
		}
	}
	caches := map[string]map[string]compiled{}
	fieldIndex := map[string]map[string]event.Field{}
	warnedSource := map[string]bool{}
	for _, r := range l.order {
		rs.rules = append(rs.rules, r.rule)
		src := l.sources[r.rule.Source]
		if src == nil {
			if !warnedSource[r.rule.Source] {
				warnedSource[r.rule.Source] = true
				l.warnf(r.pos, "rule", r.rule.Name, "source %q is not available: its rules are not evaluated", r.rule.Source)
			}
			continue
		}
		sr := rs.bySource[src.Name()]
		if sr == nil {
			types := src.EventTypes()
			n := len(types)
			if n == 0 {
				n = 1
			}
			sr = &sourceRules{src: src, byType: make([][]*Rule, n), used: make([]bool, n)}
			rs.bySource[src.Name()] = sr
		}
		if caches[src.Name()] == nil {
			caches[src.Name()] = map[string]compiled{}
		}
		if fieldIndex[src.Name()] == nil {
			idx := map[string]event.Field{}
			for _, f := range src.Fields() {
				idx[f.Name] = f
			}
			fieldIndex[src.Name()] = idx
		}
		c := &compiler{l: l, src: src, types: src.EventTypes(), rule: r, cache: caches[src.Name()], fields: fieldIndex[src.Name()]}
		c.codes = map[string]int{}
		for i, t := range c.types {
			c.codes[t] = i
		}
		cp, err := c.compileRule()
		condOK := err == nil
		if err != nil {
			var ce *compileErr
			switch {
			case errors.Is(err, errSkip):
			case errors.As(err, &ce):
				l.errorf(ce.at, ce.itemType, ce.name, "%s", ce.msg)
			default:
				l.errorf(r.pos, "rule", r.rule.Name, "%v", err)
			}
		}
		// The output is checked even when the condition failed, so that
		// both problems are reported at once.
		f, err := compileFormat(src, fieldIndex[src.Name()], r.rule.Output)
		if err != nil {
			at := r.pos
			var fe *formatError
			if errors.As(err, &fe) {
				at = r.outPos.locate(r.rule.Output, fe.off)
			}
			if r.skipUnk && errors.Is(err, event.ErrUnknownField) {
				l.warnf(at, "rule", r.rule.Name, "output: %v: rule skipped (skip-if-unknown-filter)", err)
				continue
			}
			l.errorf(at, "rule", r.rule.Name, "output: %v", err)
			continue
		}
		if !condOK {
			continue
		}
		r.rule.cond, r.rule.format = cp.n, f
		if len(c.types) > 0 && r.warnEvt && cp.types.all {
			l.warnf(r.pos, "rule", r.rule.Name, "rule matches all event types: it is evaluated for every event, a significant performance penalty; add evt.type conditions")
		}
		if !r.rule.Enabled {
			continue
		}
		r.rule.id = len(sr.all)
		sr.all = append(sr.all, r.rule)
		for code := range sr.byType {
			if len(c.types) == 0 || cp.types.has(code) {
				sr.byType[code] = append(sr.byType[code], r.rule)
				sr.used[code] = true
			}
		}
	}
	return rs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (c *compiler) ruleErr(off int, format string, args ...any) error {
	return &compileErr{itemType: "rule", name: c.rule.rule.Name, at: c.rule.condPos.locate(c.rule.cond, off), msg: fmt.Sprintf(format, args...)}
}

func (c *compiler) compileRule() (compiled, error) {
	r := c.rule
	ast, err := parseCondition(r.cond)
	if err != nil {
		var pe *ParseError
		off := 0
		if errors.As(err, &pe) {
			off = pe.Off
		}
		return compiled{}, c.ruleErr(off, "%v", err)
	}
	out, err := c.compileExpr(ast, func(off int, msg string) error { return c.ruleErr(off, "%s", msg) })
	if err != nil {
		return compiled{}, err
	}
	for _, ex := range r.exceptions {
		ce, err := c.compileException(ex)
		if err != nil {
			return compiled{}, err
		}
		if ce.n == nil {
			continue
		}
		nt := c.not(ce.types)
		out = compiled{n: andNode{out.n, notNode{ce.n}}, types: c.and(out.types, nt)}
	}
	return out, nil
}

type errAt func(off int, msg string) error

func (c *compiler) compileExpr(e expr, at errAt) (compiled, error) {
	switch e := e.(type) {
	case *andExpr:
		var nodes andNode
		t := c.allTypes()
		t.exact = true
		for i, x := range e.list {
			cx, err := c.compileExpr(x, at)
			if err != nil {
				return compiled{}, err
			}
			nodes = append(nodes, cx.n)
			if i == 0 {
				t = cx.types
			} else {
				t = c.and(t, cx.types)
			}
		}
		return compiled{n: nodes, types: t}, nil
	case *orExpr:
		var nodes orNode
		var t typeSet
		for i, x := range e.list {
			cx, err := c.compileExpr(x, at)
			if err != nil {
				return compiled{}, err
			}
			nodes = append(nodes, cx.n)
			if i == 0 {
				t = cx.types
			} else {
				t = c.or(t, cx.types)
			}
		}
		return compiled{n: nodes, types: t}, nil
	case *notExpr:
		cx, err := c.compileExpr(e.x, at)
		if err != nil {
			return compiled{}, err
		}
		return compiled{n: notNode{cx.n}, types: c.not(cx.types)}, nil
	case *boolExpr:
		return compiled{n: constNode(e.v), types: c.allTypes()}, nil
	case *macroRef:
		return c.compileMacro(e, at)
	case *checkExpr:
		return c.compileCheck(e, at)
	}
	return compiled{}, fmt.Errorf("internal: unknown expression %T", e)
}

func (c *compiler) compileMacro(e *macroRef, at errAt) (compiled, error) {
	m := c.l.macros[e.name]
	if m == nil {
		return compiled{}, at(e.off, fmt.Sprintf("undefined macro '%s'", e.name))
	}
	for i, s := range c.stack {
		if s == e.name {
			loop := append(append([]string{}, c.stack[i:]...), e.name)
			return compiled{}, &compileErr{itemType: "macro", name: e.name, at: m.pos, msg: "macro references form a loop: " + strings.Join(loop, " -> ")}
		}
	}
	if cx, ok := c.cache[e.name]; ok {
		return cx, nil
	}
	if m.err != nil {
		// Already reported at the macro.
		return compiled{}, errSkip
	}
	c.stack = append(c.stack, e.name)
	defer func() { c.stack = c.stack[:len(c.stack)-1] }()
	cx, err := c.compileExpr(m.ast, func(off int, msg string) error {
		return &compileErr{itemType: "macro", name: m.name, at: m.condPos.locate(m.cond, off), msg: msg}
	})
	if err != nil {
		return compiled{}, err
	}
	cx.n = &memoNode{x: cx.n, slot: c.l.memoSlots}
	c.l.memoSlots++
	c.cache[e.name] = cx
	return cx, nil
}

// expandItems replaces bare items naming lists by the lists' items.
func (c *compiler) expandItems(items []item, at errAt) ([]string, error) {
	var out []string
	for _, it := range items {
		if it.quoted {
			out = append(out, it.text)
			continue
		}
		ld := c.l.lists[it.text]
		if ld == nil {
			out = append(out, it.text)
			continue
		}
		for i, s := range c.lstack {
			if s == it.text {
				loop := append(append([]string{}, c.lstack[i:]...), it.text)
				return nil, &compileErr{itemType: "list", name: it.text, at: ld.pos, msg: "list references form a loop: " + strings.Join(loop, " -> ")}
			}
		}
		ld.used = true
		c.lstack = append(c.lstack, it.text)
		sub, err := c.expandItems(ld.items, at)
		c.lstack = c.lstack[:len(c.lstack)-1]
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	return out, nil
}

func (c *compiler) compileGetter(f *fieldRef, at errAt) (getter, bool, error) {
	ext, err := c.src.Extractor(f.name, f.arg, f.hasArg)
	if err != nil {
		if errors.Is(err, event.ErrUnknownField) {
			if c.rule.skipUnk {
				c.l.warnf(c.rule.pos, "rule", c.rule.rule.Name, "unknown field %s: rule skipped (skip-if-unknown-filter)", f.name)
				return getter{}, false, errSkip
			}
			return getter{}, false, at(f.off, fmt.Sprintf("unknown field '%s' for source %s", f.name, c.src.Name()))
		}
		return getter{}, false, at(f.off, fmt.Sprintf("field '%s': %v", f.String(), err))
	}
	info := fieldInfo(c.fields, f.name, ext)
	g := getter{ext: ext, typ: info.Type, list: info.List}
	lenOf := false
	for i, t := range f.transforms {
		code := transformCodes[t]
		if code == tfLen {
			if i != len(f.transforms)-1 {
				return getter{}, false, at(f.off, "len() must be the outermost transformer")
			}
			lenOf = true
			continue
		}
		if !g.typ.Textual() {
			return getter{}, false, at(f.off, fmt.Sprintf("transformer %s() needs a string field, %s is %s", t, f.name, g.typ))
		}
		g.tfs = append(g.tfs, code)
	}
	return g, lenOf, nil
}

// fieldInfo describes a field: from the registry, or from the extractor
// for fields only the source resolves (prefix fields such as evt.arg.NAME).
func fieldInfo(fields map[string]event.Field, name string, ext event.Extractor) event.Field {
	if info, ok := fields[name]; ok {
		return info
	}
	if d, ok := ext.(interface{ FieldInfo() event.Field }); ok {
		return d.FieldInfo()
	}
	return event.Field{Name: name, Type: event.TypeString}
}

func (c *compiler) compileCheck(e *checkExpr, at errAt) (compiled, error) {
	g, lenOf, err := c.compileGetter(&e.field, at)
	if err != nil {
		return compiled{}, err
	}
	k := &check{get: g, op: opcodes[e.op], lenOf: lenOf}
	typ := k.opType()
	k.signed = typ == event.TypeInt
	bad := func() error {
		return at(e.off, fmt.Sprintf("operator '%s' is not supported for field '%s' of type %s", e.op, e.field.String(), typ))
	}
	switch k.op {
	case opExists:
		return compiled{n: k, types: c.allTypes()}, nil
	case opContains, opIContains, opStartsWith, opEndsWith, opGlob, opRegex, opPmatch, opBContains, opBStartsWith:
		if !typ.Textual() {
			return compiled{}, bad()
		}
	case opLt, opLe, opGt, opGe:
		if !typ.Numeric() && !typ.Textual() {
			return compiled{}, bad()
		}
	}
	if e.rhs.kind == operandField {
		rg, rlen, err := c.compileGetter(e.rhs.field, at)
		if err != nil {
			return compiled{}, err
		}
		rt := rg.typ
		if rlen {
			rt = event.TypeUint
		}
		if rt.Textual() != typ.Textual() || rt.Numeric() != typ.Numeric() {
			return compiled{}, at(e.off, fmt.Sprintf("cannot compare %s (%s) with %s (%s)", e.field.String(), typ, e.rhs.field.String(), rt))
		}
		if rlen {
			return compiled{}, at(e.off, "len() is not supported on the right-hand side")
		}
		switch k.op {
		case opIn, opIntersects, opPmatch, opRegex:
			return compiled{}, at(e.off, fmt.Sprintf("operator '%s' does not take a field operand", e.op))
		}
		k.rhs = &rg
		return compiled{n: k, types: c.allTypes()}, nil
	}
	vals, err := c.expandItems(e.rhs.items, at)
	if err != nil {
		return compiled{}, err
	}
	if e.rhs.kind == operandList && !listOps[e.op] {
		return compiled{}, at(e.off, fmt.Sprintf("operator '%s' takes a single value, not a list", e.op))
	}
	if !listOps[e.op] && len(vals) != 1 {
		return compiled{}, at(e.off, fmt.Sprintf("operator '%s' takes a single value", e.op))
	}
	if err := c.setOperands(k, e, vals, at); err != nil {
		return compiled{}, err
	}
	types := c.allTypes()
	if tf := c.src.TypeField(); tf != "" && e.field.name == tf && !e.field.hasArg && len(e.field.transforms) == 0 {
		switch k.op {
		case opEq, opIn, opNe:
			var codes []int
			for _, v := range vals {
				code, ok := c.codes[v]
				if !ok {
					c.l.warnf(c.rule.pos, "rule", c.rule.rule.Name, "unknown event type '%s'", v)
					continue
				}
				codes = append(codes, code)
			}
			types = c.setOf(codes, true)
			if k.op == opNe {
				types = c.not(types)
			}
		}
	}
	return compiled{n: k, types: types}, nil
}

func (c *compiler) setOperands(k *check, e *checkExpr, vals []string, at errAt) error {
	typ := k.opType()
	switch {
	case typ.Textual():
		switch k.op {
		case opBContains, opBStartsWith:
			b, err := hex.DecodeString(strings.ReplaceAll(vals[0], " ", ""))
			if err != nil {
				return at(e.off, fmt.Sprintf("operator '%s' takes hexadecimal bytes, got %q", e.op, vals[0]))
			}
			k.strs = []string{string(b)}
		case opIContains:
			k.strs = []string{strings.ToLower(vals[0])}
		case opRegex:
			re, err := regexp.Compile(vals[0])
			if err != nil {
				return at(e.off, fmt.Sprintf("invalid regular expression %q: %v", vals[0], err))
			}
			k.re = re
		case opPmatch:
			for _, v := range vals {
				p := strings.TrimRight(v, "/")
				k.strs = append(k.strs, p)
				k.pmatch = append(k.pmatch, p+"/")
			}
		default:
			k.strs = vals
			if len(vals) > 8 {
				k.set = make(map[string]struct{}, len(vals))
				for _, v := range vals {
					k.set[v] = struct{}{}
				}
			}
		}
	case typ.Numeric():
		for _, v := range vals {
			n, err := parseNumber(v, typ)
			if err != nil {
				return at(e.off, fmt.Sprintf("field '%s' is %s: %v", e.field.String(), typ, err))
			}
			k.nums = append(k.nums, n)
		}
	case typ == event.TypeIPAddr || typ == event.TypeIPNet:
		for _, v := range vals {
			p, err := parseNet(v)
			if err != nil {
				return at(e.off, fmt.Sprintf("field '%s' is %s: %v", e.field.String(), typ, err))
			}
			k.nets = append(k.nets, p)
		}
	default:
		return at(e.off, fmt.Sprintf("field '%s' of type %s cannot be compared", e.field.String(), typ))
	}
	return nil
}

func parseNumber(s string, typ event.FieldType) (uint64, error) {
	if typ == event.TypeBool {
		switch strings.ToLower(s) {
		case "true":
			return 1, nil
		case "false":
			return 0, nil
		}
		return 0, fmt.Errorf("%q is not true or false", s)
	}
	if n, err := strconv.ParseInt(s, 0, 64); err == nil {
		return uint64(n), nil
	}
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return n, nil
}

func parseNet(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a network", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// compileException builds "(f1 c1 v1 and f2 c2 v2) or ..." for one
// exception; a nil node when it has no values.
func (c *compiler) compileException(ex exceptionDef) (compiled, error) {
	name := c.rule.rule.Name
	errf := func(format string, args ...any) error {
		return &compileErr{itemType: "rule", name: name, at: ex.pos, msg: fmt.Sprintf("exception %s: ", ex.name) + fmt.Sprintf(format, args...)}
	}
	at := func(_ int, msg string) error { return errf("%s", msg) }
	if len(ex.fields) == 0 {
		return compiled{}, errf("missing fields")
	}
	comps := ex.comps
	if len(comps) == 0 {
		def := "="
		if ex.fieldsScalar {
			def = "in"
		}
		for range ex.fields {
			comps = append(comps, def)
		}
	}
	if len(comps) != len(ex.fields) {
		return compiled{}, errf("has %d fields but %d comps", len(ex.fields), len(comps))
	}
	fields := make([]fieldRef, len(ex.fields))
	for i, fs := range ex.fields {
		p := &parser{s: fs}
		f, err := p.parseField()
		if err != nil || p.pos != len(fs) {
			return compiled{}, errf("invalid field %q", fs)
		}
		if _, ok := opcodes[comps[i]]; !ok && comps[i] != "==" {
			return compiled{}, errf("unknown comparison operator %q", comps[i])
		}
		if _, _, err := c.compileGetter(&f, at); err != nil {
			return compiled{}, err
		}
		fields[i] = f
	}
	mkCheck := func(f fieldRef, comp string, v *yaml.Node) (expr, error) {
		if comp == "==" {
			comp = "="
		}
		ce := &checkExpr{field: f, op: comp}
		switch {
		case v.Kind == yaml.SequenceNode:
			var items []item
			for _, s := range v.Content {
				items = append(items, listItem(s))
			}
			ce.rhs = operand{kind: operandList, items: items}
			if !listOps[comp] {
				return nil, errf("value list given for operator %s", comp)
			}
		case v.Kind == yaml.ScalarNode && listOps[comp]:
			ce.rhs = operand{kind: operandList, items: []item{listItem(v)}}
		case v.Kind == yaml.ScalarNode:
			ce.rhs = operand{kind: operandValue, items: []item{{text: v.Value, quoted: true}}}
		default:
			return nil, errf("values must be strings or lists")
		}
		if comp == "exists" {
			ce.rhs = operand{}
		}
		return ce, nil
	}
	var alts []expr
	if ex.fieldsScalar {
		comp := comps[0]
		if listOps[comp] {
			var items []item
			for _, v := range ex.values {
				if v.Kind != yaml.ScalarNode {
					return compiled{}, errf("values of a single-field exception must be strings")
				}
				items = append(items, listItem(v))
			}
			if len(items) > 0 {
				alts = append(alts, &checkExpr{field: fields[0], op: comp, rhs: operand{kind: operandList, items: items}})
			}
		} else {
			for _, v := range ex.values {
				ce, err := mkCheck(fields[0], comp, v)
				if err != nil {
					return compiled{}, err
				}
				alts = append(alts, ce)
			}
		}
	} else {
		for _, tuple := range ex.values {
			if tuple.Kind != yaml.SequenceNode || len(tuple.Content) != len(fields) {
				return compiled{}, &compileErr{itemType: "rule", name: name, at: pos{ex.pos.file, tuple.Line, tuple.Column},
					msg: fmt.Sprintf("exception %s: each value must be a list of %d items, one per field", ex.name, len(fields))}
			}
			var and andExpr
			for i, v := range tuple.Content {
				ce, err := mkCheck(fields[i], comps[i], v)
				if err != nil {
					return compiled{}, err
				}
				and.list = append(and.list, ce)
			}
			alts = append(alts, &and)
		}
	}
	if len(alts) == 0 {
		return compiled{}, nil
	}
	return c.compileExpr(&orExpr{list: alts}, at)
}

// locate maps a byte offset of a condition to its place in the rules file:
// the token at off is looked for in the source lines of the YAML scalar.
func (cp condPos) locate(cond string, off int) pos {
	if len(cp.segs) == 0 {
		return pos{}
	}
	seg := cp.segs[0]
	for _, s := range cp.segs {
		if s.start <= off {
			seg = s
		}
	}
	local := off - seg.start
	val := seg.node.Value
	if local < 0 || local > len(val) {
		return seg.pos
	}
	end := local
	for end < len(val) && end-local < 40 && !isSpace(val[end]) {
		end++
	}
	tok := val[local:end]
	if tok == "" {
		return seg.pos
	}
	nth := strings.Count(val[:local], tok)
	for ln := seg.node.Line - 1; ln >= 0 && ln < len(seg.src); ln++ {
		line := seg.src[ln]
		col := 0
		if ln == seg.node.Line-1 {
			col = seg.node.Column - 1
			if col > len(line) {
				col = len(line)
			}
		}
		for {
			i := strings.Index(line[col:], tok)
			if i < 0 {
				break
			}
			if nth == 0 {
				return pos{seg.pos.file, ln + 1, col + i + 1}
			}
			nth--
			col += i + len(tok)
		}
	}
	return seg.pos
}
