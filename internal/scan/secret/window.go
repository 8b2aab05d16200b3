package secret

import (
	"regexp"
	"regexp/syntax"
)

// Unbounded is the reach of a rule whose regular expression can match
// text of any length.
const Unbounded = -1

// maxWindowReach caps the reach used for windows: a rule whose regex can
// match more bytes than this (or any number, such as a private key block)
// runs on the whole file.
const maxWindowReach = 4096

// unboundedReach is the reach of a rule with an unbounded repetition that
// stays on one line (a token of any length): a longer secret is reported
// with its first bytes.
const unboundedReach = 512

// windowReach returns how many bytes around a keyword hit a rule's regex
// must see: its longest match, capped at maxWindowReach, or 0 (the whole
// file) when an unbounded repetition can cross lines, as in private key
// blocks.
func windowReach(re *regexp.Regexp) int {
	p, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return 0
	}
	p = p.Simplify()
	if crossesLines(p) {
		return 0
	}
	switch n := maxLen(p); {
	case n == Unbounded:
		return unboundedReach
	case n > maxWindowReach:
		return maxWindowReach
	default:
		return n
	}
}

// crossesLines reports whether re has an unbounded repetition of something
// that can match a newline.
func crossesLines(re *syntax.Regexp) bool {
	unbounded := re.Op == syntax.OpStar || re.Op == syntax.OpPlus || re.Op == syntax.OpRepeat && re.Max < 0
	if unbounded && matchesNewline(re.Sub[0]) {
		return true
	}
	for _, s := range re.Sub {
		if crossesLines(s) {
			return true
		}
	}
	return false
}

// matchesNewline reports whether re can match text containing '\n'.
func matchesNewline(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpAnyChar:
		return true
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if r == '\n' {
				return true
			}
		}
		return false
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i] <= '\n' && '\n' <= re.Rune[i+1] {
				return true
			}
		}
		return false
	}
	for _, s := range re.Sub {
		if matchesNewline(s) {
			return true
		}
	}
	return false
}

// maxLen returns the longest text re can match, in bytes, or Unbounded.
func maxLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpNoMatch, syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpBeginText, syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return 0
	case syntax.OpLiteral:
		n := 0
		for _, r := range re.Rune {
			n += runeBytes(r)
		}
		if re.Flags&syntax.FoldCase != 0 {
			// A folded ASCII letter may match a longer rune (k → K, s → ſ).
			n = 3 * len(re.Rune)
		}
		return n
	case syntax.OpCharClass, syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		m := 1
		for i := 0; i+1 < len(re.Rune); i += 2 {
			m = max(m, runeBytes(re.Rune[i+1]))
		}
		if re.Op != syntax.OpCharClass {
			m = 4
		}
		return m
	case syntax.OpCapture:
		return maxLen(re.Sub[0])
	case syntax.OpStar, syntax.OpPlus:
		return Unbounded
	case syntax.OpQuest:
		return maxLen(re.Sub[0])
	case syntax.OpRepeat:
		if re.Max < 0 {
			return Unbounded
		}
		n := maxLen(re.Sub[0])
		if n == Unbounded {
			return Unbounded
		}
		return n * re.Max
	case syntax.OpConcat:
		total := 0
		for _, s := range re.Sub {
			n := maxLen(s)
			if n == Unbounded {
				return Unbounded
			}
			total += n
		}
		return total
	case syntax.OpAlternate:
		best := 0
		for _, s := range re.Sub {
			n := maxLen(s)
			if n == Unbounded {
				return Unbounded
			}
			best = max(best, n)
		}
		return best
	}
	return Unbounded
}

func runeBytes(r rune) int {
	switch {
	case r < 0x80:
		return 1
	case r < 0x800:
		return 2
	case r < 0x10000:
		return 3
	}
	return 4
}
