package rules

import (
	"fmt"
	"strconv"
	"strings"
)

// The condition grammar, after Falco's:
//
//	expr    = and { "or" and }
//	and     = not { "and" not }
//	not     = "not" not | primary
//	primary = "(" expr ")" | check | MACRO
//	check   = field OP [operand]
//	field   = NAME [ "[" ARG "]" ] | TRANSFORMER "(" field ")"
//	operand = VALUE | "(" [ VALUE { "," VALUE } ] ")" | "val" "(" field ")"

// expr is a node of a parsed condition.
type expr interface{ offset() int }

type andExpr struct {
	list []expr
	off  int
}

type orExpr struct {
	list []expr
	off  int
}

type notExpr struct {
	x   expr
	off int
}

// macroRef names a macro; it is resolved at compile time.
type macroRef struct {
	name string
	off  int
}

// boolExpr is a constant, from an empty exception list and the like.
type boolExpr struct {
	v   bool
	off int
}

type fieldRef struct {
	name       string
	arg        string
	hasArg     bool
	transforms []string // innermost first: tolower(basename(x)) = [basename tolower]
	off        int
}

// String writes the field back as it appears in a condition or output.
func (f *fieldRef) String() string {
	s := f.name
	if f.hasArg {
		s += "[" + f.arg + "]"
	}
	for _, t := range f.transforms {
		s = t + "(" + s + ")"
	}
	return s
}

type item struct {
	text   string
	quoted bool
	off    int
}

type operandKind uint8

const (
	operandNone operandKind = iota
	operandValue
	operandList
	operandField
)

type operand struct {
	kind  operandKind
	items []item // one for operandValue
	field *fieldRef
}

type checkExpr struct {
	field fieldRef
	op    string
	rhs   operand
	off   int
}

func (e *andExpr) offset() int   { return e.off }
func (e *orExpr) offset() int    { return e.off }
func (e *notExpr) offset() int   { return e.off }
func (e *macroRef) offset() int  { return e.off }
func (e *boolExpr) offset() int  { return e.off }
func (e *checkExpr) offset() int { return e.off }

// ParseError is a syntax error at a byte offset of a condition.
type ParseError struct {
	Off int
	Msg string
}

func (e *ParseError) Error() string { return e.Msg }

var transformers = map[string]bool{"tolower": true, "toupper": true, "b64": true, "basename": true, "len": true}

// unaryOps take no operand; listOps take a parenthesised list.
var (
	wordOps = map[string]bool{
		"contains": true, "icontains": true, "bcontains": true, "startswith": true,
		"bstartswith": true, "endswith": true, "glob": true, "in": true, "intersects": true,
		"pmatch": true, "exists": true, "regex": true,
	}
	listOps = map[string]bool{"in": true, "intersects": true, "pmatch": true}
)

type parser struct {
	s   string
	pos int
}

// parseCondition parses a whole condition.
func parseCondition(s string) (expr, error) {
	p := &parser{s: s}
	p.skipSpace()
	if p.pos >= len(p.s) {
		return nil, &ParseError{Off: 0, Msg: "empty condition"}
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.s) {
		return nil, p.errorf("unexpected %q after end of expression", p.peekToken())
	}
	return e, nil
}

func (p *parser) errorf(format string, args ...any) error {
	return &ParseError{Off: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r', '\f', '\v', '\b':
			p.pos++
		default:
			return
		}
	}
}

// peekToken returns the next token for messages.
func (p *parser) peekToken() string {
	if p.pos >= len(p.s) {
		return "end of condition"
	}
	end := p.pos + 1
	for end < len(p.s) && end-p.pos < 30 && !isSpace(p.s[end]) {
		end++
	}
	return p.s[p.pos:end]
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '\b'
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9') || c == '.' || c == '-'
}

// peekWord returns the identifier at the current position without consuming it.
func (p *parser) peekWord() string {
	if p.pos >= len(p.s) || !isIdentStart(p.s[p.pos]) {
		return ""
	}
	end := p.pos + 1
	for end < len(p.s) && isIdentChar(p.s[end]) {
		end++
	}
	return p.s[p.pos:end]
}

// keyword reports whether the keyword kw follows as a whole word, and consumes it.
func (p *parser) keyword(kw string) bool {
	p.skipSpace()
	if !strings.HasPrefix(p.s[p.pos:], kw) {
		return false
	}
	end := p.pos + len(kw)
	if end < len(p.s) && isIdentChar(p.s[end]) {
		return false
	}
	p.pos = end
	return true
}

func (p *parser) parseOr() (expr, error) {
	start := p.pos
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	list := []expr{first}
	for p.keyword("or") {
		e, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		list = append(list, e)
	}
	if len(list) == 1 {
		return first, nil
	}
	return &orExpr{list: list, off: start}, nil
}

func (p *parser) parseAnd() (expr, error) {
	start := p.pos
	first, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	list := []expr{first}
	for p.keyword("and") {
		e, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		list = append(list, e)
	}
	if len(list) == 1 {
		return first, nil
	}
	return &andExpr{list: list, off: start}, nil
}

func (p *parser) parseNot() (expr, error) {
	p.skipSpace()
	start := p.pos
	if p.keyword("not") {
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &notExpr{x: x, off: start}, nil
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() (expr, error) {
	p.skipSpace()
	if p.pos >= len(p.s) {
		return nil, p.errorf("unexpected end of condition, expected a check, a macro or '('")
	}
	start := p.pos
	if p.s[p.pos] == '(' {
		p.pos++
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != ')' {
			return nil, p.errorf("missing ')' to close '(' at offset %d", start)
		}
		p.pos++
		return e, nil
	}
	w := p.peekWord()
	if w == "" {
		return nil, p.errorf("unexpected %q, expected a check, a macro or '('", p.peekToken())
	}
	switch w {
	case "and", "or":
		return nil, p.errorf("unexpected %q, expected a check, a macro or '('", w)
	}
	// A transformer call or a field (has a dot) starts a check; a bare
	// identifier is a macro.
	after := p.pos + len(w)
	if transformers[w] && after < len(p.s) && p.s[after] == '(' || strings.Contains(w, ".") {
		f, err := p.parseField()
		if err != nil {
			return nil, err
		}
		return p.parseCheck(f, start)
	}
	if after < len(p.s) && p.s[after] == '[' {
		return nil, p.errorf("unknown field %q (a field name has a dot, as in proc.name)", w)
	}
	p.pos = after
	// Only "and", "or", ")" or the end may follow a macro: an operator
	// means a field name without a dot.
	save := p.pos
	p.skipSpace()
	if op := p.peekOp(); op != "" {
		p.pos = start
		return nil, p.errorf("unknown field %q (a field name has a dot, as in proc.name)", w)
	}
	p.pos = save
	return &macroRef{name: w, off: start}, nil
}

// parseField parses NAME[ARG] or TRANSFORMER(field).
func (p *parser) parseField() (fieldRef, error) {
	p.skipSpace()
	start := p.pos
	w := p.peekWord()
	if w == "" {
		return fieldRef{}, p.errorf("expected a field name, got %q", p.peekToken())
	}
	p.pos += len(w)
	if transformers[w] && p.pos < len(p.s) && p.s[p.pos] == '(' {
		p.pos++
		inner, err := p.parseField()
		if err != nil {
			return fieldRef{}, err
		}
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != ')' {
			return fieldRef{}, p.errorf("missing ')' after the argument of %s", w)
		}
		p.pos++
		inner.transforms = append(inner.transforms, w)
		inner.off = start
		return inner, nil
	}
	f := fieldRef{name: w, off: start}
	if p.pos < len(p.s) && p.s[p.pos] == '[' {
		end := strings.IndexByte(p.s[p.pos:], ']')
		if end < 0 {
			return fieldRef{}, p.errorf("missing ']' after the argument of field %s", w)
		}
		f.arg = p.s[p.pos+1 : p.pos+end]
		f.hasArg = true
		p.pos += end + 1
	}
	if !strings.Contains(f.name, ".") {
		p.pos = start
		return fieldRef{}, p.errorf("unknown field %q (a field name has a dot, as in proc.name)", w)
	}
	return f, nil
}

// peekOp returns the operator at the current position, if any.
func (p *parser) peekOp() string {
	if p.pos >= len(p.s) {
		return ""
	}
	rest := p.s[p.pos:]
	for _, op := range []string{"==", "!=", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(rest, op) {
			return op
		}
	}
	w := p.peekWord()
	if wordOps[w] {
		return w
	}
	return ""
}

func (p *parser) parseCheck(f fieldRef, start int) (expr, error) {
	p.skipSpace()
	op := p.peekOp()
	if op == "" {
		if p.pos >= len(p.s) {
			return nil, p.errorf("missing operator after field %s", f.String())
		}
		return nil, p.errorf("unknown operator %q after field %s", p.peekToken(), f.String())
	}
	p.pos += len(op)
	if op == "==" {
		op = "="
	}
	c := &checkExpr{field: f, op: op, off: start}
	if op == "exists" {
		return c, nil
	}
	p.skipSpace()
	if listOps[op] {
		if p.pos >= len(p.s) || p.s[p.pos] != '(' {
			// Falco accepts a single value where a list is expected.
			it, err := p.parseValue()
			if err != nil {
				return nil, err
			}
			c.rhs = operand{kind: operandList, items: []item{it}}
			return c, nil
		}
		items, err := p.parseList()
		if err != nil {
			return nil, err
		}
		c.rhs = operand{kind: operandList, items: items}
		return c, nil
	}
	// val(field) or a transformer on the right-hand side.
	if w := p.peekWord(); (w == "val" || transformers[w]) && p.pos+len(w) < len(p.s) && p.s[p.pos+len(w)] == '(' {
		if w == "val" {
			p.pos += len(w) + 1
			rf, err := p.parseField()
			if err != nil {
				return nil, err
			}
			p.skipSpace()
			if p.pos >= len(p.s) || p.s[p.pos] != ')' {
				return nil, p.errorf("missing ')' after val(%s", rf.String())
			}
			p.pos++
			c.rhs = operand{kind: operandField, field: &rf}
			return c, nil
		}
		rf, err := p.parseField()
		if err != nil {
			return nil, err
		}
		c.rhs = operand{kind: operandField, field: &rf}
		return c, nil
	}
	if p.pos < len(p.s) && p.s[p.pos] == '(' {
		items, err := p.parseList()
		if err != nil {
			return nil, err
		}
		c.rhs = operand{kind: operandList, items: items}
		return c, nil
	}
	it, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	c.rhs = operand{kind: operandValue, items: []item{it}}
	return c, nil
}

func (p *parser) parseList() ([]item, error) {
	start := p.pos
	p.pos++ // '('
	var items []item
	for {
		p.skipSpace()
		if p.pos >= len(p.s) {
			p.pos = start
			return nil, p.errorf("missing ')' to close the list")
		}
		if p.s[p.pos] == ')' {
			p.pos++
			return items, nil
		}
		if len(items) > 0 {
			if p.s[p.pos] != ',' {
				return nil, p.errorf("expected ',' or ')' in list, got %q", p.peekToken())
			}
			p.pos++
			p.skipSpace()
			if p.pos < len(p.s) && p.s[p.pos] == ')' { // trailing comma
				p.pos++
				return items, nil
			}
		}
		it, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
}

// parseValue parses a quoted string or a bare word.
func (p *parser) parseValue() (item, error) {
	p.skipSpace()
	start := p.pos
	if p.pos >= len(p.s) {
		return item{}, p.errorf("missing value at end of condition")
	}
	if c := p.s[p.pos]; c == '"' || c == '\'' {
		s, n, err := unquote(p.s[p.pos:])
		if err != nil {
			return item{}, p.errorf("%v", err)
		}
		p.pos += n
		return item{text: s, quoted: true, off: start}, nil
	}
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if isSpace(c) || c == '(' || c == ')' || c == ',' || c == '"' || c == '\'' {
			break
		}
		p.pos++
	}
	if p.pos == start {
		return item{}, p.errorf("expected a value, got %q", p.peekToken())
	}
	return item{text: p.s[start:p.pos], off: start}, nil
}

// unquote reads a quoted string at the start of s and returns its value and
// the number of bytes consumed.
func unquote(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, nil
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'x':
				if i+2 < len(s) {
					if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
						b.WriteByte(byte(v))
						i += 2
						continue
					}
				}
				b.WriteString(`\x`)
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("unterminated string %.20s", s)
}
