package version

import "strings"

// PEP440 orders Python package versions as PEP 440 (and the packaging
// library) define: [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local], after the
// spec's normalization (case, a "v" prefix, the alternative spellings alpha,
// beta, c, pre, preview, rev, r, the implicit post release "1.0-1", optional
// separators and numbers). Trailing zeros of the release do not count
// (1.0 == 1.0.0); dev releases sort before pre-releases of the same release,
// post releases after the release, and a local version after its public one.
type PEP440 struct{}

const (
	pepPreA = iota
	pepPreB
	pepPreRC
)

type pep440 struct {
	epoch   string
	release []string
	preL    int // -1: none
	preN    string
	hasPost bool
	postN   string
	hasDev  bool
	devN    string
	local   []string // nil: none
}

// Compare implements Comparer.
func (PEP440) Compare(a, b string) (int, error) {
	va, err := parsePEP440(a)
	if err != nil {
		return 0, err
	}
	vb, err := parsePEP440(b)
	if err != nil {
		return 0, err
	}
	return cmpPEP440(&va, &vb), nil
}

type pepScanner struct {
	s   string
	pos int
}

func (p *pepScanner) peek(off int) byte {
	if p.pos+off < len(p.s) {
		return p.s[p.pos+off]
	}
	return 0
}

func isPepSep(c byte) bool { return c == '.' || c == '-' || c == '_' }

func (p *pepScanner) digits() string {
	start := p.pos
	for p.pos < len(p.s) && isDigit(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// label matches one of words right after an optional separator and returns
// its index, leaving pos after it; on no match pos is unchanged.
func (p *pepScanner) label(words ...string) int {
	start := p.pos
	if isPepSep(p.peek(0)) {
		p.pos++
	}
	for i, w := range words {
		if strings.HasPrefix(p.s[p.pos:], w) {
			p.pos += len(w)
			return i
		}
	}
	p.pos = start
	return -1
}

// number reads the optional "[sep]N" after a label; a lone separator is
// consumed as the specification's grammar allows.
func (p *pepScanner) number() string {
	if isPepSep(p.peek(0)) {
		p.pos++
	}
	if n := p.digits(); n != "" {
		return n
	}
	return "0"
}

func parsePEP440(orig string) (pep440, error) {
	const kind = "PEP 440 version"
	v := pep440{preL: -1}
	s := strings.ToLower(strings.TrimSpace(orig))
	if s == "" {
		return v, invalid(kind, orig, "empty")
	}
	p := &pepScanner{s: strings.TrimPrefix(s, "v")}
	n := p.digits()
	if n == "" {
		return v, invalid(kind, orig, "does not start with a number")
	}
	v.epoch = "0"
	if p.peek(0) == '!' {
		v.epoch = n
		p.pos++
		if n = p.digits(); n == "" {
			return v, invalid(kind, orig, "no release after the epoch")
		}
	}
	v.release = append(v.release, n)
	for p.peek(0) == '.' && isDigit(p.peek(1)) {
		p.pos++
		v.release = append(v.release, p.digits())
	}
	// Longer spellings first so that "alpha" is not read as "a".
	switch p.label("alpha", "a", "beta", "b", "preview", "pre", "c", "rc") {
	case 0, 1:
		v.preL, v.preN = pepPreA, p.number()
	case 2, 3:
		v.preL, v.preN = pepPreB, p.number()
	case 4, 5, 6, 7:
		v.preL, v.preN = pepPreRC, p.number()
	}
	if p.peek(0) == '-' && isDigit(p.peek(1)) {
		p.pos++
		v.hasPost, v.postN = true, p.digits()
	} else if p.label("post", "rev", "r") >= 0 {
		v.hasPost, v.postN = true, p.number()
	}
	if p.label("dev") >= 0 {
		v.hasDev, v.devN = true, p.number()
	}
	if p.peek(0) == '+' {
		p.pos++
		v.local = []string{}
		for {
			start := p.pos
			for p.pos < len(p.s) && (isDigit(p.s[p.pos]) || (p.s[p.pos] >= 'a' && p.s[p.pos] <= 'z')) {
				p.pos++
			}
			if p.pos == start {
				return v, invalid(kind, orig, "empty local version segment")
			}
			v.local = append(v.local, p.s[start:p.pos])
			if !isPepSep(p.peek(0)) {
				break
			}
			p.pos++
		}
	}
	if p.pos != len(p.s) {
		return v, invalid(kind, orig, "unexpected text at "+p.s[p.pos:])
	}
	return v, nil
}

// pepRank orders the optional parts: absent parts sort at -inf or +inf as
// packaging's _cmpkey places them.
const (
	negInf = -1
	finite = 0
	posInf = 1
)

func cmpPEP440(a, b *pep440) int {
	if c := cmpDigits(a.epoch, b.epoch); c != 0 {
		return c
	}
	if c := cmpRelease(a.release, b.release); c != 0 {
		return c
	}
	if c := cmpOptional(a.preRank(), b.preRank(), func() int {
		if a.preL != b.preL {
			return sign(a.preL - b.preL)
		}
		return cmpDigits(a.preN, b.preN)
	}); c != 0 {
		return c
	}
	if c := cmpOptional(rankIf(a.hasPost, negInf), rankIf(b.hasPost, negInf), func() int {
		return cmpDigits(a.postN, b.postN)
	}); c != 0 {
		return c
	}
	if c := cmpOptional(rankIf(a.hasDev, posInf), rankIf(b.hasDev, posInf), func() int {
		return cmpDigits(a.devN, b.devN)
	}); c != 0 {
		return c
	}
	return cmpLocal(a.local, b.local)
}

// preRank: a dev release without pre or post release sorts before every
// pre-release; a version without pre-release after all of them.
func (v *pep440) preRank() int {
	switch {
	case v.preL >= 0:
		return finite
	case !v.hasPost && v.hasDev:
		return negInf
	}
	return posInf
}

func rankIf(present bool, absent int) int {
	if present {
		return finite
	}
	return absent
}

func cmpOptional(ra, rb int, both func() int) int {
	if ra != rb {
		return sign(ra - rb)
	}
	if ra == finite {
		return both()
	}
	return 0
}

func cmpRelease(a, b []string) int {
	a, b = trimZeros(a), trimZeros(b)
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := cmpDigits(a[i], b[i]); c != 0 {
			return c
		}
	}
	return sign(len(a) - len(b))
}

func trimZeros(r []string) []string {
	for len(r) > 0 && strings.TrimLeft(r[len(r)-1], "0") == "" {
		r = r[:len(r)-1]
	}
	return r
}

// cmpLocal: no local version sorts first; numeric segments compare as
// numbers and after alphanumeric ones, which compare as strings.
func cmpLocal(a, b []string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		na, nb := allDigits(a[i]), allDigits(b[i])
		var c int
		switch {
		case na && nb:
			c = cmpDigits(a[i], b[i])
		case na:
			c = 1
		case nb:
			c = -1
		default:
			c = strings.Compare(a[i], b[i])
		}
		if c != 0 {
			return c
		}
	}
	return sign(len(a) - len(b))
}
