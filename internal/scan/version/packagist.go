package version

import "strings"

// Packagist orders PHP Composer versions with PHP's version_compare after
// Composer's normalization: case-insensitive, a leading "v" dropped, the
// numeric release padded to four components (1.2 == 1.2.0.0). '-', '_', '+'
// and digit/letter transitions separate parts; numbers compare numerically;
// special forms order dev < alpha = a < beta = b < RC = rc < (number) <
// pl = p, matched by prefix; any other word sorts before dev.
type Packagist struct{}

// Compare implements Comparer.
func (Packagist) Compare(a, b string) (int, error) {
	pa, err := parsePackagist(a)
	if err != nil {
		return 0, err
	}
	pb, err := parsePackagist(b)
	if err != nil {
		return 0, err
	}
	return cmpPHPParts(pa, pb), nil
}

func parsePackagist(orig string) ([]string, error) {
	const kind = "Composer version"
	s := strings.ToLower(strings.TrimSpace(orig))
	s = strings.TrimPrefix(s, "v")
	if s == "" {
		return nil, invalid(kind, orig, "empty")
	}
	if hasSpaceOrControl(s) {
		return nil, invalid(kind, orig, "whitespace or control character")
	}
	// Canonicalize as php_canonicalize_version: separators become '.', and
	// a '.' goes between a digit and a non-digit.
	var b strings.Builder
	b.Grow(len(s) + 8)
	var prev byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		last := byte('.')
		if b.Len() > 0 {
			last = b.String()[b.Len()-1]
		}
		switch {
		case !isAlnum(c):
			if last != '.' {
				b.WriteByte('.')
			}
		case i > 0 && isAlnum(prev) && isDigit(prev) != isDigit(c):
			if last != '.' {
				b.WriteByte('.')
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
		prev = c
	}
	parts := strings.Split(strings.Trim(b.String(), "."), ".")
	if len(parts) == 1 && parts[0] == "" {
		return nil, invalid(kind, orig, "no version number")
	}
	if !allDigits(parts[0]) {
		return nil, invalid(kind, orig, "does not start with a number")
	}
	n := 0
	for n < len(parts) && allDigits(parts[n]) {
		n++
	}
	if n < 4 {
		pad := make([]string, 0, len(parts)+4-n)
		pad = append(pad, parts[:n]...)
		for i := n; i < 4; i++ {
			pad = append(pad, "0")
		}
		parts = append(pad, parts[n:]...)
	}
	return parts, nil
}

// phpSpecialOrder is version_compare's order of special forms; "#" stands
// for a number.
func phpSpecialOrder(s string) int {
	for _, f := range []struct {
		name  string
		order int
	}{{"dev", 0}, {"alpha", 1}, {"a", 1}, {"beta", 2}, {"b", 2}, {"rc", 3}, {"#", 4}, {"pl", 5}, {"p", 5}} {
		if strings.HasPrefix(s, f.name) {
			return f.order
		}
	}
	return -1
}

func cmpPHPParts(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		da, db := allDigits(a[i]), allDigits(b[i])
		var c int
		switch {
		case da && db:
			c = cmpDigits(a[i], b[i])
		case da:
			c = sign(phpSpecialOrder("#") - phpSpecialOrder(b[i]))
		case db:
			c = sign(phpSpecialOrder(a[i]) - phpSpecialOrder("#"))
		default:
			c = sign(phpSpecialOrder(a[i]) - phpSpecialOrder(b[i]))
		}
		if c != 0 {
			return c
		}
	}
	switch {
	case len(a) > len(b):
		if allDigits(a[len(b)]) {
			return 1
		}
		return cmpPHPParts(a[len(b):], []string{"#"})
	case len(b) > len(a):
		if allDigits(b[len(a)]) {
			return -1
		}
		return cmpPHPParts([]string{"#"}, b[len(a):])
	}
	return 0
}
