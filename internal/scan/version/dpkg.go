package version

import "strings"

// Dpkg orders Debian and Ubuntu package versions as dpkg --compare-versions
// does: [epoch:]upstream[-revision], the epoch compared as a number, then
// upstream and revision with dpkg's verrevcmp: alternating non-digit and
// digit runs, where '~' sorts before everything (even the end of the string),
// letters before all other characters, and digit runs compare numerically.
type Dpkg struct{}

type dpkgVersion struct {
	epoch, upstream, revision string
}

// Compare implements Comparer.
func (Dpkg) Compare(a, b string) (int, error) {
	va, err := parseDpkg(a)
	if err != nil {
		return 0, err
	}
	vb, err := parseDpkg(b)
	if err != nil {
		return 0, err
	}
	if c := cmpDigits(va.epoch, vb.epoch); c != 0 {
		return c, nil
	}
	if c := verrevcmp(va.upstream, vb.upstream); c != 0 {
		return c, nil
	}
	return verrevcmp(va.revision, vb.revision), nil
}

// parseDpkg splits a version the way dpkg's parseversion does: the epoch ends
// at the first colon, the revision starts after the last hyphen. It rejects
// what dpkg rejects and, stricter than dpkg (which only warns), an upstream
// part that does not start with a digit and characters outside the policy's
// set.
func parseDpkg(s string) (dpkgVersion, error) {
	const kind = "dpkg version"
	orig := s
	s = strings.TrimSpace(s)
	if s == "" {
		return dpkgVersion{}, invalid(kind, orig, "empty")
	}
	if hasSpaceOrControl(s) {
		return dpkgVersion{}, invalid(kind, orig, "embedded spaces")
	}
	var v dpkgVersion
	v.epoch = "0"
	if i := strings.IndexByte(s, ':'); i >= 0 {
		ep := s[:i]
		switch {
		case ep == "":
			return v, invalid(kind, orig, "epoch is empty")
		case !allDigits(ep):
			return v, invalid(kind, orig, "epoch is not a number")
		case cmpDigits(ep, "2147483647") > 0:
			return v, invalid(kind, orig, "epoch is too big")
		}
		v.epoch = ep
		s = s[i+1:]
		if s == "" {
			return v, invalid(kind, orig, "nothing after colon")
		}
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		v.revision = s[i+1:]
		s = s[:i]
		if v.revision == "" {
			return v, invalid(kind, orig, "revision is empty")
		}
	}
	if s == "" {
		return v, invalid(kind, orig, "upstream version is empty")
	}
	if !isDigit(s[0]) {
		return v, invalid(kind, orig, "upstream version does not start with a digit")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && !strings.ContainsRune(".+~-:", rune(c)) {
			return v, invalid(kind, orig, "invalid character in upstream version")
		}
	}
	for i := 0; i < len(v.revision); i++ {
		if c := v.revision[i]; !isAlnum(c) && !strings.ContainsRune(".+~", rune(c)) {
			return v, invalid(kind, orig, "invalid character in revision")
		}
	}
	v.upstream = s
	return v, nil
}

// dpkgOrder is the weight of one non-digit character; 0 stands for the end of
// the string and for a digit, so '~' (-1) sorts before the end.
func dpkgOrder(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	c := s[i]
	switch {
	case isDigit(c):
		return 0
	case isAlpha(c):
		return int(c)
	case c == '~':
		return -1
	}
	return int(c) + 256
}

func verrevcmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := dpkgOrder(a, i), dpkgOrder(b, j)
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		firstDiff := 0
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if firstDiff != 0 {
			return sign(firstDiff)
		}
	}
	return 0
}
