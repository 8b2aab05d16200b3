package version

import "strings"

// APK orders Alpine (and Wolfi) package versions as apk-tools does:
//
//	digit{.digit}...{letter}{_suffix{number}}...{~hash}{-r number}
//
// Numbers compare numerically, except that a dotted component with a leading
// zero compares as a string ("1.02" < "1.1"); pre-release suffixes _alpha,
// _beta, _pre, _rc sort before the bare version and _cvs, _svn, _git, _hg, _p
// after it; a version that goes on where the other ends is newer unless what
// follows is a pre-release suffix. Strings apk's validator rejects are errors.
type APK struct{}

type apkTok int

const (
	apkInitialDigit apkTok = iota
	apkDigit
	apkLetter
	apkSuffix
	apkSuffixNo
	apkCommitHash
	apkRevisionNo
	apkEnd
	apkInvalid
)

// Suffix ranks; apkSuffixNone (no suffix) is the pivot between pre- and
// post-release suffixes.
const (
	apkSuffixInvalid = iota
	apkSuffixAlpha
	apkSuffixBeta
	apkSuffixPre
	apkSuffixRC
	apkSuffixNone
	apkSuffixCVS
	apkSuffixSVN
	apkSuffixGit
	apkSuffixHg
	apkSuffixP
)

var apkSuffixes = map[string]int{
	"alpha": apkSuffixAlpha, "beta": apkSuffixBeta, "pre": apkSuffixPre, "rc": apkSuffixRC,
	"cvs": apkSuffixCVS, "svn": apkSuffixSVN, "git": apkSuffixGit, "hg": apkSuffixHg, "p": apkSuffixP,
}

type apkToken struct {
	typ    apkTok
	value  string
	suffix int
}

type apkLexer struct {
	s   string
	pos int
	cur apkToken
}

func (l *apkLexer) digits() string {
	start := l.pos
	for l.pos < len(l.s) && isDigit(l.s[l.pos]) {
		l.pos++
	}
	return l.s[start:l.pos]
}

func (l *apkLexer) first() {
	l.cur = apkToken{typ: apkInitialDigit, value: l.digits()}
	if l.cur.value == "" {
		l.cur.typ = apkInvalid
	}
}

// next reads the token after l.cur, checking that its type may follow.
func (l *apkLexer) next() {
	prev := l.cur.typ
	if l.pos >= len(l.s) {
		l.cur = apkToken{typ: apkEnd}
		return
	}
	bad := apkToken{typ: apkInvalid}
	c := l.s[l.pos]
	switch {
	case c >= 'a' && c <= 'z':
		if prev > apkDigit {
			l.cur = bad
			return
		}
		l.cur = apkToken{typ: apkLetter, value: l.s[l.pos : l.pos+1]}
		l.pos++
	case c == '.' || isDigit(c):
		if c == '.' {
			if prev > apkDigit {
				l.cur = bad
				return
			}
			l.pos++
		}
		var t apkTok
		switch prev {
		case apkInitialDigit, apkDigit:
			t = apkDigit
		case apkSuffix:
			t = apkSuffixNo
		default:
			l.cur = bad
			return
		}
		l.cur = apkToken{typ: t, value: l.digits()}
		if l.cur.value == "" {
			l.cur = bad
		}
	case c == '_':
		if prev > apkSuffixNo {
			l.cur = bad
			return
		}
		l.pos++
		start := l.pos
		for l.pos < len(l.s) && l.s[l.pos] >= 'a' && l.s[l.pos] <= 'z' {
			l.pos++
		}
		word := l.s[start:l.pos]
		suf, ok := apkSuffixes[word]
		if !ok {
			l.cur = bad
			return
		}
		l.cur = apkToken{typ: apkSuffix, value: word, suffix: suf}
	case c == '~':
		if prev >= apkCommitHash {
			l.cur = bad
			return
		}
		l.pos++
		start := l.pos
		for l.pos < len(l.s) && isHex(l.s[l.pos]) {
			l.pos++
		}
		if l.pos == start {
			l.cur = bad
			return
		}
		l.cur = apkToken{typ: apkCommitHash, value: l.s[start:l.pos]}
	case c == '-':
		if prev >= apkRevisionNo || !strings.HasPrefix(l.s[l.pos:], "-r") {
			l.cur = bad
			return
		}
		l.pos += 2
		l.cur = apkToken{typ: apkRevisionNo, value: l.digits()}
		if l.cur.value == "" {
			l.cur = bad
		}
	default:
		l.cur = bad
	}
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func validateAPK(s string) error {
	l := apkLexer{s: s}
	for l.first(); l.cur.typ < apkEnd; l.next() {
	}
	if l.cur.typ != apkEnd {
		if s == "" {
			return invalid("apk version", s, "empty")
		}
		return invalid("apk version", s, "does not match digit{.digit}...{letter}{_suffix{N}}...{~hash}{-rN}")
	}
	return nil
}

func apkTokenCmp(a, b apkToken) int {
	switch a.typ {
	case apkDigit:
		if a.value[0] == '0' || b.value[0] == '0' {
			return strings.Compare(a.value, b.value)
		}
		return cmpDigits(a.value, b.value)
	case apkInitialDigit, apkSuffixNo, apkRevisionNo:
		return cmpDigits(a.value, b.value)
	case apkSuffix:
		return sign(a.suffix - b.suffix)
	}
	return strings.Compare(a.value, b.value)
}

// Compare implements Comparer.
func (APK) Compare(a, b string) (int, error) {
	if err := validateAPK(a); err != nil {
		return 0, err
	}
	if err := validateAPK(b); err != nil {
		return 0, err
	}
	la, lb := apkLexer{s: a}, apkLexer{s: b}
	la.first()
	lb.first()
	for la.cur.typ == lb.cur.typ && la.cur.typ < apkEnd {
		if c := apkTokenCmp(la.cur, lb.cur); c != 0 {
			return c, nil
		}
		la.next()
		lb.next()
	}
	ta, tb := la.cur, lb.cur
	switch {
	case ta.typ == tb.typ:
		return 0, nil
	case ta.typ == apkSuffix && ta.suffix < apkSuffixNone:
		return -1, nil
	case tb.typ == apkSuffix && tb.suffix < apkSuffixNone:
		return 1, nil
	case ta.typ > tb.typ:
		return -1, nil
	}
	return 1, nil
}
