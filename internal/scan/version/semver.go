package version

import "strings"

// SemVer orders Semantic Versioning 2.0.0 versions (npm, crates.io, OSV
// SEMVER ranges): MAJOR.MINOR.PATCH numerically, a pre-release sorts before
// its release and compares identifier by identifier (numeric identifiers
// numerically and before alphanumeric ones, which compare in ASCII order, a
// shorter list first), build metadata is ignored. A leading "v" is accepted.
type SemVer struct{}

// Go orders Go module versions: SemVer plus the go command's shorthands
// "v1" and "v1.2" (meaning v1.0.0 and v1.2.0), with the "v" optional as in
// OSV data. Pseudo-versions (v0.0.0-20191109021931-daa7c04131f5,
// v1.2.4-0.20191109021931-daa7c04131f5) are pre-releases and sort where the
// go command puts them; "+incompatible" is build metadata and is ignored.
type Go struct{}

type semver struct {
	major, minor, patch string
	pre                 string
}

// Compare implements Comparer.
func (SemVer) Compare(a, b string) (int, error) { return compareSemver(a, b, false) }

// Compare implements Comparer.
func (Go) Compare(a, b string) (int, error) { return compareSemver(a, b, true) }

func compareSemver(a, b string, shorthand bool) (int, error) {
	va, err := parseSemver(a, shorthand)
	if err != nil {
		return 0, err
	}
	vb, err := parseSemver(b, shorthand)
	if err != nil {
		return 0, err
	}
	return cmpSemver(va, vb), nil
}

func cmpSemver(a, b semver) int {
	if c := cmpDigits(a.major, b.major); c != 0 {
		return c
	}
	if c := cmpDigits(a.minor, b.minor); c != 0 {
		return c
	}
	if c := cmpDigits(a.patch, b.patch); c != 0 {
		return c
	}
	return comparePrerelease(a.pre, b.pre)
}

// numericIdent reads a MAJOR, MINOR or PATCH number at the start of s.
func numericIdent(s string) (num, rest string, ok bool) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == 0 || (i > 1 && s[0] == '0') {
		return "", s, false
	}
	return s[:i], s[i:], true
}

func parseSemver(s string, shorthand bool) (semver, error) {
	const kind = "semantic version"
	var v semver
	rest := strings.TrimPrefix(s, "v")
	var ok bool
	if v.major, rest, ok = numericIdent(rest); !ok {
		return v, invalid(kind, s, "major version is not a number without leading zeros")
	}
	v.minor, v.patch = "0", "0"
	if rest == "" && shorthand {
		return v, nil
	}
	if rest == "" || rest[0] != '.' {
		return v, invalid(kind, s, "want MAJOR.MINOR.PATCH")
	}
	if v.minor, rest, ok = numericIdent(rest[1:]); !ok {
		return v, invalid(kind, s, "minor version is not a number without leading zeros")
	}
	if rest == "" && shorthand {
		return v, nil
	}
	if rest == "" || rest[0] != '.' {
		return v, invalid(kind, s, "want MAJOR.MINOR.PATCH")
	}
	if v.patch, rest, ok = numericIdent(rest[1:]); !ok {
		return v, invalid(kind, s, "patch version is not a number without leading zeros")
	}
	if rest != "" && rest[0] == '-' {
		end := strings.IndexByte(rest, '+')
		if end < 0 {
			end = len(rest)
		}
		v.pre = rest[1:end]
		if !validIdents(v.pre, true) {
			return v, invalid(kind, s, "malformed pre-release")
		}
		rest = rest[end:]
	}
	if rest != "" && rest[0] == '+' {
		if !validIdents(rest[1:], false) {
			return v, invalid(kind, s, "malformed build metadata")
		}
		rest = ""
	}
	if rest != "" {
		return v, invalid(kind, s, "unexpected text after the version")
	}
	return v, nil
}

// validIdents checks dot-separated identifiers of [0-9A-Za-z-]; pre-release
// numeric identifiers must not have leading zeros.
func validIdents(s string, pre bool) bool {
	if s == "" {
		return false
	}
	for s != "" {
		id := s
		if i := strings.IndexByte(s, '.'); i >= 0 {
			id, s = s[:i], s[i+1:]
			if s == "" {
				return false
			}
		} else {
			s = ""
		}
		if id == "" {
			return false
		}
		for i := 0; i < len(id); i++ {
			if c := id[i]; !isAlnum(c) && c != '-' {
				return false
			}
		}
		if pre && len(id) > 1 && id[0] == '0' && allDigits(id) {
			return false
		}
	}
	return true
}

func comparePrerelease(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	for a != "" && b != "" {
		var ia, ib string
		ia, a, _ = strings.Cut(a, ".")
		ib, b, _ = strings.Cut(b, ".")
		na, nb := allDigits(ia), allDigits(ib)
		var c int
		switch {
		case na && nb:
			c = cmpDigits(ia, ib)
		case na:
			c = -1
		case nb:
			c = 1
		default:
			c = strings.Compare(ia, ib)
		}
		if c != 0 {
			return c
		}
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}
