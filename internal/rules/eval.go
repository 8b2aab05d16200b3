package rules

import (
	"encoding/base64"
	"net/netip"
	"regexp"
	"strings"
	"unsafe"

	"github.com/vigilsec/vigil/internal/event"
)

// node is a compiled condition.
type node interface {
	eval(c *evalCtx) bool
}

// evalCtx holds an Evaluator's reusable buffers.
type evalCtx struct {
	ev event.Event
	a  []event.Value
	b  []event.Value
	tb []byte
	// Macro results of the current event: memoGen[i] == gen when memo[i]
	// holds macro slot i's result.
	gen     uint32
	memoGen []uint32
	memo    []bool
}

// memoNode evaluates a macro once per event, however many rules use it.
type memoNode struct {
	x    node
	slot int
}

func (n *memoNode) eval(c *evalCtx) bool {
	if c.memoGen[n.slot] == c.gen {
		return c.memo[n.slot]
	}
	v := n.x.eval(c)
	c.memoGen[n.slot], c.memo[n.slot] = c.gen, v
	return v
}

type andNode []node

func (n andNode) eval(c *evalCtx) bool {
	for _, x := range n {
		if !x.eval(c) {
			return false
		}
	}
	return true
}

type orNode []node

func (n orNode) eval(c *evalCtx) bool {
	for _, x := range n {
		if x.eval(c) {
			return true
		}
	}
	return false
}

type notNode struct{ x node }

func (n notNode) eval(c *evalCtx) bool { return !n.x.eval(c) }

type constNode bool

func (n constNode) eval(*evalCtx) bool { return bool(n) }

type opcode uint8

const (
	opEq opcode = iota + 1
	opNe
	opLt
	opLe
	opGt
	opGe
	opContains
	opIContains
	opBContains
	opStartsWith
	opBStartsWith
	opEndsWith
	opGlob
	opIn
	opIntersects
	opPmatch
	opExists
	opRegex
)

var opcodes = map[string]opcode{
	"=": opEq, "!=": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe,
	"contains": opContains, "icontains": opIContains, "bcontains": opBContains,
	"startswith": opStartsWith, "bstartswith": opBStartsWith, "endswith": opEndsWith,
	"glob": opGlob, "in": opIn, "intersects": opIntersects, "pmatch": opPmatch,
	"exists": opExists, "regex": opRegex,
}

type transform uint8

const (
	tfToLower transform = iota + 1
	tfToUpper
	tfB64
	tfBasename
	tfLen
)

var transformCodes = map[string]transform{
	"tolower": tfToLower, "toupper": tfToUpper, "b64": tfB64, "basename": tfBasename, "len": tfLen,
}

// getter extracts a (possibly transformed) field into a buffer.
type getter struct {
	ext  event.Extractor
	tfs  []transform // applied in order; never tfLen
	typ  event.FieldType
	list bool
}

// get extracts into *buf (keeping grown capacity) and applies transforms.
func (g *getter) get(c *evalCtx, buf *[]event.Value) []event.Value {
	vals := g.ext.Extract(c.ev, (*buf)[:0])
	*buf = vals[:0]
	for _, t := range g.tfs {
		vals = applyTransform(c, t, vals)
	}
	return vals
}

func applyTransform(c *evalCtx, t transform, vals []event.Value) []event.Value {
	// len() never gets here: the compiler turns it into check.lenOf.
	switch t {
	case tfBasename:
		for i := range vals {
			vals[i].Str = basename(vals[i].Str)
		}
	case tfToLower, tfToUpper:
		for i := range vals {
			vals[i].Str = c.mapCase(vals[i].Str, t == tfToUpper)
		}
	case tfB64:
		n := 0
		for _, v := range vals {
			if s, ok := c.b64(v.Str); ok {
				vals[n] = event.Value{Str: s}
				n++
			}
		}
		vals = vals[:n]
	}
	return vals
}

func basename(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// scratch returns a string over n fresh bytes of the context's scratch buffer
// after fill wrote them.
func (c *evalCtx) scratch(n int, fill func([]byte)) string {
	if n == 0 {
		return ""
	}
	start := len(c.tb)
	if cap(c.tb)-start < n {
		nb := make([]byte, start, 2*cap(c.tb)+n)
		copy(nb, c.tb)
		c.tb = nb
	}
	c.tb = c.tb[:start+n]
	buf := c.tb[start : start+n]
	fill(buf)
	return unsafe.String(&buf[0], n)
}

func (c *evalCtx) mapCase(s string, upper bool) string {
	from, to := byte('A'), byte('a')
	if upper {
		from, to = 'a', 'A'
	}
	need := false
	for i := 0; i < len(s); i++ {
		if s[i] >= from && s[i] <= from+25 {
			need = true
			break
		}
	}
	if !need {
		return s
	}
	return c.scratch(len(s), func(b []byte) {
		for i := 0; i < len(s); i++ {
			ch := s[i]
			if ch >= from && ch <= from+25 {
				ch = ch - from + to
			}
			b[i] = ch
		}
	})
}

func (c *evalCtx) b64(s string) (string, bool) {
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	n := enc.DecodedLen(len(s))
	ok := true
	out := c.scratch(n, func(b []byte) {
		m, err := enc.Decode(b, unsafe.Slice(unsafe.StringData(s), len(s)))
		if err != nil {
			ok = false
		}
		n = m
	})
	if !ok {
		return "", false
	}
	return out[:n], true
}

// check is one comparison of a field with its operand.
type check struct {
	get getter
	op  opcode
	// lenOf turns the extracted values into their count (list) or
	// lengths (strings): the len() transformer.
	lenOf bool

	strs   []string            // string operands (lowered for icontains)
	set    map[string]struct{} // large string sets
	nums   []uint64
	signed bool
	nets   []netip.Prefix
	re     *regexp.Regexp
	pmatch []string // prefixes with a trailing slash, and the exact paths in strs
	rhs    *getter  // val(field)
}

func (k *check) eval(c *evalCtx) bool {
	c.tb = c.tb[:0]
	vals := k.get.get(c, &c.a)
	if k.lenOf {
		vals = lengths(vals, k.get.list)
	}
	if k.op == opExists {
		return len(vals) > 0
	}
	if len(vals) == 0 {
		return false
	}
	if k.rhs != nil {
		rv := k.rhs.get(c, &c.b)
		if len(rv) == 0 {
			return false
		}
		return k.cmpValue(vals[0], rv[0])
	}
	if len(vals) == 1 {
		return k.match(vals[0])
	}
	// Several values: a list field, or a field such as proc.aname without
	// an index that yields one value per ancestor. "in" on a list means
	// every value is in the set; "!=" means no value equals; any other
	// operator holds when some value satisfies it.
	switch {
	case k.op == opIn && k.get.list:
		for _, v := range vals {
			if !k.match(v) {
				return false
			}
		}
		return true
	case k.op == opNe:
		for _, v := range vals {
			if k.matchOp(opEq, v) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if k.match(v) {
			return true
		}
	}
	return false
}

func lengths(vals []event.Value, list bool) []event.Value {
	if list {
		n := uint64(len(vals))
		vals = vals[:1]
		vals[0] = event.Value{Num: n}
		return vals
	}
	for i := range vals {
		vals[i] = event.Value{Num: uint64(len(vals[i].Str))}
	}
	return vals
}

func (k *check) match(v event.Value) bool { return k.matchOp(k.op, v) }

func (k *check) opType() event.FieldType {
	if k.lenOf {
		return event.TypeUint
	}
	return k.get.typ
}

func (k *check) matchOp(op opcode, v event.Value) bool {
	switch t := k.opType(); {
	case t.Textual():
		return k.matchString(op, v.Str)
	case t.Numeric():
		return k.matchNum(op, v.Num)
	case t == event.TypeIPAddr:
		return k.matchIP(op, v.IP)
	case t == event.TypeIPNet:
		return k.matchIP(op, v.Net.Addr())
	}
	return false
}

func (k *check) matchString(op opcode, s string) bool {
	switch op {
	case opEq:
		return s == k.strs[0]
	case opNe:
		return s != k.strs[0]
	case opContains, opBContains:
		return strings.Contains(s, k.strs[0])
	case opIContains:
		return containsFold(s, k.strs[0])
	case opStartsWith, opBStartsWith:
		return strings.HasPrefix(s, k.strs[0])
	case opEndsWith:
		return strings.HasSuffix(s, k.strs[0])
	case opGlob:
		// Quick reject on a literal last byte: most paths fail here.
		p := k.strs[0]
		if n := len(p); n > 1 && p[n-2] != '\\' {
			if c := p[n-1]; c != '*' && c != '?' && c != ']' && (s == "" || s[len(s)-1] != c) {
				return false
			}
		}
		return globMatch(p, s)
	case opRegex:
		return k.re.MatchString(s)
	case opIn, opIntersects:
		if k.set != nil {
			_, ok := k.set[s]
			return ok
		}
		for _, x := range k.strs {
			if x == s {
				return true
			}
		}
		return false
	case opPmatch:
		for _, x := range k.strs {
			if s == x {
				return true
			}
		}
		for _, p := range k.pmatch {
			if strings.HasPrefix(s, p) {
				return true
			}
		}
		return false
	case opLt:
		return s < k.strs[0]
	case opLe:
		return s <= k.strs[0]
	case opGt:
		return s > k.strs[0]
	case opGe:
		return s >= k.strs[0]
	}
	return false
}

func (k *check) matchNum(op opcode, n uint64) bool {
	switch op {
	case opEq:
		return n == k.nums[0]
	case opNe:
		return n != k.nums[0]
	case opIn, opIntersects:
		for _, x := range k.nums {
			if x == n {
				return true
			}
		}
		return false
	}
	a, b := n, k.nums[0]
	if k.signed {
		return cmpOrdered(op, int64(a), int64(b))
	}
	return cmpOrdered(op, a, b)
}

func cmpOrdered[T int64 | uint64](op opcode, a, b T) bool {
	switch op {
	case opLt:
		return a < b
	case opLe:
		return a <= b
	case opGt:
		return a > b
	case opGe:
		return a >= b
	}
	return false
}

func (k *check) matchIP(op opcode, ip netip.Addr) bool {
	in := false
	for _, p := range k.nets {
		if p.Contains(ip.Unmap()) {
			in = true
			break
		}
	}
	if op == opNe {
		return !in
	}
	return in
}

// cmpValue compares two extracted values (field-to-field, val()).
func (k *check) cmpValue(a, b event.Value) bool {
	t := k.opType()
	switch {
	case t.Textual():
		switch k.op {
		case opEq:
			return a.Str == b.Str
		case opNe:
			return a.Str != b.Str
		case opContains, opBContains:
			return strings.Contains(a.Str, b.Str)
		case opIContains:
			return containsFoldBoth(a.Str, b.Str)
		case opStartsWith, opBStartsWith:
			return strings.HasPrefix(a.Str, b.Str)
		case opEndsWith:
			return strings.HasSuffix(a.Str, b.Str)
		case opGlob:
			return globMatch(b.Str, a.Str)
		case opLt:
			return a.Str < b.Str
		case opLe:
			return a.Str <= b.Str
		case opGt:
			return a.Str > b.Str
		case opGe:
			return a.Str >= b.Str
		}
	case t.Numeric():
		switch k.op {
		case opEq:
			return a.Num == b.Num
		case opNe:
			return a.Num != b.Num
		}
		if k.signed {
			return cmpOrdered(k.op, int64(a.Num), int64(b.Num))
		}
		return cmpOrdered(k.op, a.Num, b.Num)
	case t == event.TypeIPAddr:
		if k.op == opNe {
			return a.IP != b.IP
		}
		return a.IP == b.IP
	}
	return false
}

// containsFold reports whether s contains lower (already lower-case ASCII)
// ignoring ASCII case, without allocating.
func containsFold(s, lower string) bool {
	n := len(lower)
	if n == 0 {
		return true
	}
outer:
	for i := 0; i+n <= len(s); i++ {
		for j := 0; j < n; j++ {
			c := s[i+j]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lower[j] {
				continue outer
			}
		}
		return true
	}
	return false
}

func containsFoldBoth(s, sub string) bool {
	n := len(sub)
outer:
	for i := 0; i+n <= len(s); i++ {
		for j := 0; j < n; j++ {
			a, b := s[i+j], sub[j]
			if a >= 'A' && a <= 'Z' {
				a += 'a' - 'A'
			}
			if b >= 'A' && b <= 'Z' {
				b += 'a' - 'A'
			}
			if a != b {
				continue outer
			}
		}
		return true
	}
	return false
}

// globMatch matches s against a shell pattern: * (any run, slashes
// included), ? (one byte), [set] with ranges and ! or ^ negation, and \ to
// quote. It does not allocate.
func globMatch(pattern, s string) bool {
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			case '[':
				if sx < len(s) {
					if ok, width := matchClass(pattern[px:], s[sx]); width > 0 {
						if ok {
							px += width
							sx++
							continue
						}
					} else if s[sx] == '[' { // unterminated class: literal
						px++
						sx++
						continue
					}
				}
			case '\\':
				if px+1 < len(pattern) && sx < len(s) && pattern[px+1] == s[sx] {
					px += 2
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

// matchClass matches c against the class at the start of p ("[...]"). width
// is the class's length, 0 when it is not terminated.
func matchClass(p string, c byte) (bool, int) {
	i := 1
	neg := false
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		neg = true
		i++
	}
	matched := false
	first := true
	for i < len(p) {
		if p[i] == ']' && !first {
			return matched != neg, i + 1
		}
		first = false
		lo := p[i]
		if lo == '\\' && i+1 < len(p) {
			i++
			lo = p[i]
		}
		hi := lo
		if i+2 < len(p) && p[i+1] == '-' && p[i+2] != ']' {
			hi = p[i+2]
			i += 2
		}
		if lo <= c && c <= hi {
			matched = true
		}
		i++
	}
	return false, 0
}
