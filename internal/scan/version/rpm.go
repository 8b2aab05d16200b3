package version

import "strings"

// RPM orders [epoch:]version[-release] strings as rpm does: epochs as
// numbers (a missing epoch is 0), then version and release with rpmvercmp.
// rpmvercmp compares alternating alphabetic and numeric segments, treats
// every other character as a separator, sorts '~' before anything (even the
// end of the string) and '^' after the end of the string but before any
// further segment. A missing release sorts before any release.
type RPM struct{}

type rpmVersion struct {
	epoch, version, release string
	hasRelease              bool
}

// Compare implements Comparer.
func (RPM) Compare(a, b string) (int, error) {
	va, err := parseRPM(a)
	if err != nil {
		return 0, err
	}
	vb, err := parseRPM(b)
	if err != nil {
		return 0, err
	}
	if c := cmpDigits(va.epoch, vb.epoch); c != 0 {
		return c, nil
	}
	if c := rpmvercmp(va.version, vb.version); c != 0 {
		return c, nil
	}
	switch {
	case va.hasRelease && vb.hasRelease:
		return rpmvercmp(va.release, vb.release), nil
	case va.hasRelease:
		return 1, nil
	case vb.hasRelease:
		return -1, nil
	}
	return 0, nil
}

func parseRPM(s string) (rpmVersion, error) {
	const kind = "rpm version"
	v := rpmVersion{epoch: "0"}
	if s == "" {
		return v, invalid(kind, s, "empty")
	}
	if hasSpaceOrControl(s) {
		return v, invalid(kind, s, "whitespace or control character")
	}
	rest := s
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		ep := rest[:i]
		if !allDigits(ep) {
			return v, invalid(kind, s, "epoch is not a number")
		}
		v.epoch = ep
		rest = rest[i+1:]
		if strings.IndexByte(rest, ':') >= 0 {
			return v, invalid(kind, s, "more than one colon")
		}
	}
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		v.release, v.hasRelease = rest[i+1:], true
		rest = rest[:i]
		if v.release == "" {
			return v, invalid(kind, s, "release is empty")
		}
	}
	if rest == "" {
		return v, invalid(kind, s, "version is empty")
	}
	v.version = rest
	return v, nil
}

func byteAt(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// rpmvercmp follows rpm's lib/rpmvercmp.c semantics.
func rpmvercmp(a, b string) int {
	if a == b {
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !isAlnum(a[i]) && a[i] != '~' && a[i] != '^' {
			i++
		}
		for j < len(b) && !isAlnum(b[j]) && b[j] != '~' && b[j] != '^' {
			j++
		}
		ac, bc := byteAt(a, i), byteAt(b, j)
		if ac == '~' || bc == '~' {
			if ac != '~' {
				return 1
			}
			if bc != '~' {
				return -1
			}
			i++
			j++
			continue
		}
		if ac == '^' || bc == '^' {
			if i >= len(a) {
				return -1
			}
			if j >= len(b) {
				return 1
			}
			if ac != '^' {
				return 1
			}
			if bc != '^' {
				return -1
			}
			i++
			j++
			continue
		}
		if i >= len(a) || j >= len(b) {
			break
		}
		si, sj := i, j
		numeric := isDigit(a[i])
		if numeric {
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
		} else {
			for i < len(a) && isAlpha(a[i]) {
				i++
			}
			for j < len(b) && isAlpha(b[j]) {
				j++
			}
		}
		if sj == j {
			// Segments of different types: the numeric one is newer.
			if numeric {
				return 1
			}
			return -1
		}
		var c int
		if numeric {
			c = cmpDigits(a[si:i], b[sj:j])
		} else {
			c = strings.Compare(a[si:i], b[sj:j])
		}
		if c != 0 {
			return c
		}
	}
	switch {
	case i >= len(a) && j >= len(b):
		return 0
	case i >= len(a):
		return -1
	}
	return 1
}
