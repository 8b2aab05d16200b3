package version

import "strings"

// RubyGems orders gem versions as Gem::Version: a version is
// N(.[0-9A-Za-z]+)*(-[0-9A-Za-z-]+(.[0-9A-Za-z-]+)*)?, a "-" stands for
// ".pre.", segments are runs of digits (numbers) or letters (strings), any
// string makes a pre-release that sorts before numbers in the same position,
// and trailing zero segments are ignored ("1.0" == "1", "1.0.a" == "1.a").
// A blank version means "0".
type RubyGems struct{}

type gemSegment struct {
	num   string // digits without leading zeros when str is false
	str   string
	isStr bool
}

// Compare implements Comparer.
func (RubyGems) Compare(a, b string) (int, error) {
	sa, err := parseGem(a)
	if err != nil {
		return 0, err
	}
	sb, err := parseGem(b)
	if err != nil {
		return 0, err
	}
	for i := 0; i < len(sa) || i < len(sb); i++ {
		l, r := gemSegment{}, gemSegment{}
		if i < len(sa) {
			l = sa[i]
		}
		if i < len(sb) {
			r = sb[i]
		}
		switch {
		case l.isStr && !r.isStr:
			return -1, nil
		case !l.isStr && r.isStr:
			return 1, nil
		case l.isStr:
			if c := strings.Compare(l.str, r.str); c != 0 {
				return c, nil
			}
		default:
			if c := cmpDigits(l.num, r.num); c != 0 {
				return c, nil
			}
		}
	}
	return 0, nil
}

func validGem(s string) bool {
	if s == "" {
		return true
	}
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && isAlnum(s[j]) {
			j++
		}
		if j == i+1 {
			return false
		}
		i = j
	}
	if i == len(s) {
		return true
	}
	if s[i] != '-' {
		return false
	}
	for _, part := range strings.Split(s[i+1:], ".") {
		if part == "" {
			return false
		}
		for k := 0; k < len(part); k++ {
			if !isAlnum(part[k]) && part[k] != '-' {
				return false
			}
		}
	}
	return true
}

// parseGem returns the canonical segments: trailing zeros dropped from the
// numeric release and from the pre-release part.
func parseGem(orig string) ([]gemSegment, error) {
	s := strings.TrimSpace(orig)
	if !validGem(s) {
		return nil, invalid("gem version", orig, "malformed")
	}
	if s == "" {
		s = "0"
	}
	s = strings.ReplaceAll(s, "-", ".pre.")
	var segs []gemSegment
	for i := 0; i < len(s); {
		j := i
		switch {
		case isDigit(s[i]):
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			segs = append(segs, gemSegment{num: strings.TrimLeft(s[i:j], "0")})
		case isAlpha(s[i]):
			for j < len(s) && isAlpha(s[j]) {
				j++
			}
			segs = append(segs, gemSegment{str: s[i:j], isStr: true})
		default:
			j++
		}
		i = j
	}
	split := len(segs)
	for i, sg := range segs {
		if sg.isStr {
			split = i
			break
		}
	}
	release, pre := trimGemZeros(segs[:split]), trimGemZeros(segs[split:])
	return append(release[:len(release):len(release)], pre...), nil
}

func trimGemZeros(s []gemSegment) []gemSegment {
	for len(s) > 0 && !s[len(s)-1].isStr && s[len(s)-1].num == "" {
		s = s[:len(s)-1]
	}
	return s
}
