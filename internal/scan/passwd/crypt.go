// Package passwd finds weak local accounts in an image or filesystem:
// /etc/shadow entries without a password or whose hash matches a bundled
// dictionary of common and default passwords, and UID 0 accounts other than
// root. The crypt(3) algorithms it checks (md5-crypt, sha256-crypt,
// sha512-crypt and yescrypt) are implemented here in pure Go.
package passwd

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// ErrUnsupported is returned for a hash whose algorithm Vigil cannot check.
var ErrUnsupported = errors.New("unsupported password hash")

// ErrMalformed is returned for a hash string that does not parse.
var ErrMalformed = errors.New("malformed password hash")

const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Algorithm names the crypt(3) scheme of a hash from its prefix: "md5crypt",
// "sha256crypt", "sha512crypt", "yescrypt", or "" for anything else.
func Algorithm(h string) string {
	switch {
	case strings.HasPrefix(h, "$1$"):
		return "md5crypt"
	case strings.HasPrefix(h, "$5$"):
		return "sha256crypt"
	case strings.HasPrefix(h, "$6$"):
		return "sha512crypt"
	case strings.HasPrefix(h, "$y$"):
		return "yescrypt"
	}
	return ""
}

// Verify reports whether password hashes to h. It supports $1$, $5$, $6$
// and $y$ (yescrypt's default flavour); other schemes return ErrUnsupported.
func Verify(password, h string) (bool, error) {
	var got string
	var err error
	switch Algorithm(h) {
	case "md5crypt":
		got, err = MD5Crypt(password, h)
	case "sha256crypt":
		got, err = SHACrypt(sha256.New, password, h)
	case "sha512crypt":
		got, err = SHACrypt(sha512.New, password, h)
	case "yescrypt":
		got, err = Yescrypt(password, h)
	default:
		return false, fmt.Errorf("%w: %s", ErrUnsupported, Redact(h))
	}
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(h)) == 1, nil
}

// Redact shortens a hash for display: its scheme and parameters, and the
// first characters of the salt; never the hash itself.
func Redact(h string) string {
	if h == "" {
		return ""
	}
	parts := strings.Split(h, "$")
	if len(parts) < 3 || parts[0] != "" {
		if len(h) > 2 {
			return h[:2] + "…"
		}
		return "…"
	}
	keep := "$" + parts[1] + "$"
	rest := parts[2:]
	// Keep parameter fields (rounds=, yescrypt's params) but at most four
	// characters of the salt.
	if len(rest) > 0 && (strings.HasPrefix(rest[0], "rounds=") || parts[1] == "y") && len(rest) > 1 {
		keep += rest[0] + "$"
		rest = rest[1:]
	}
	if len(rest) > 0 {
		s := rest[0]
		if len(s) > 4 {
			s = s[:4]
		}
		keep += s
	}
	return keep + "…"
}

// b64From24 appends n characters encoding the 24-bit value b2<<16|b1<<8|b0,
// least significant six bits first, as crypt(3) does.
func b64From24(dst []byte, b2, b1, b0 byte, n int) []byte {
	w := uint32(b2)<<16 | uint32(b1)<<8 | uint32(b0)
	for ; n > 0; n-- {
		dst = append(dst, itoa64[w&0x3f])
		w >>= 6
	}
	return dst
}

// MD5Crypt computes the md5-crypt ($1$) hash of password with the salt of
// setting (a full hash or "$1$salt").
func MD5Crypt(password, setting string) (string, error) {
	rest, ok := strings.CutPrefix(setting, "$1$")
	if !ok {
		return "", fmt.Errorf("%w: not md5-crypt", ErrMalformed)
	}
	salt, _, _ := strings.Cut(rest, "$")
	if len(salt) > 8 {
		salt = salt[:8]
	}
	const magic = "$1$"
	p := []byte(password)
	s := []byte(salt)

	alt := md5.New()
	alt.Write(p)
	alt.Write(s)
	alt.Write(p)
	altSum := alt.Sum(nil)

	ctx := md5.New()
	ctx.Write(p)
	ctx.Write([]byte(magic))
	ctx.Write(s)
	for n := len(p); n > 0; n -= 16 {
		ctx.Write(altSum[:min(16, n)])
	}
	for i := len(p); i > 0; i >>= 1 {
		if i&1 != 0 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write(p[:1])
		}
	}
	final := ctx.Sum(nil)
	for i := 0; i < 1000; i++ {
		c := md5.New()
		if i&1 != 0 {
			c.Write(p)
		} else {
			c.Write(final)
		}
		if i%3 != 0 {
			c.Write(s)
		}
		if i%7 != 0 {
			c.Write(p)
		}
		if i&1 != 0 {
			c.Write(final)
		} else {
			c.Write(p)
		}
		final = c.Sum(final[:0])
	}
	out := []byte(magic + salt + "$")
	for _, t := range [][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		out = b64From24(out, final[t[0]], final[t[1]], final[t[2]], 4)
	}
	out = b64From24(out, 0, 0, final[11], 2)
	return string(out), nil
}

// Byte orders of the final encodings of sha256-crypt and sha512-crypt.
var (
	sha256Order = [][3]int{{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
		{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29}}
	sha512Order = func() [][3]int {
		var o [][3]int
		for k := 0; k < 21; k++ {
			a, b, c := k, k+21, k+42
			switch k % 3 {
			case 0:
				o = append(o, [3]int{a, b, c})
			case 1:
				o = append(o, [3]int{b, c, a})
			default:
				o = append(o, [3]int{c, a, b})
			}
		}
		return o
	}()
)

// SHACrypt computes the sha256-crypt ($5$) or sha512-crypt ($6$) hash of
// password with the salt and rounds of setting, following Ulrich Drepper's
// specification. newHash is sha256.New or sha512.New.
func SHACrypt(newHash func() hash.Hash, password, setting string) (string, error) {
	probe := newHash()
	size := probe.Size()
	magic := "$5$"
	if size == 64 {
		magic = "$6$"
	}
	rest, ok := strings.CutPrefix(setting, magic)
	if !ok {
		return "", fmt.Errorf("%w: not %s", ErrMalformed, magic)
	}
	rounds, custom := 5000, false
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		num, after, found := strings.Cut(r, "$")
		if !found {
			return "", fmt.Errorf("%w: rounds without salt", ErrMalformed)
		}
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			return "", fmt.Errorf("%w: rounds %q", ErrMalformed, num)
		}
		rounds, custom, rest = int(min(max(n, 1000), 999999999)), true, after
	}
	salt, _, _ := strings.Cut(rest, "$")
	if len(salt) > 16 {
		salt = salt[:16]
	}
	p, s := []byte(password), []byte(salt)

	b := newHash()
	b.Write(p)
	b.Write(s)
	b.Write(p)
	bSum := b.Sum(nil)

	a := newHash()
	a.Write(p)
	a.Write(s)
	for n := len(p); n > 0; n -= size {
		a.Write(bSum[:min(size, n)])
	}
	for n := len(p); n > 0; n >>= 1 {
		if n&1 != 0 {
			a.Write(bSum)
		} else {
			a.Write(p)
		}
	}
	aSum := a.Sum(nil)

	dp := newHash()
	for range len(p) {
		dp.Write(p)
	}
	pSeq := repeat(dp.Sum(nil), len(p))

	ds := newHash()
	for range 16 + int(aSum[0]) {
		ds.Write(s)
	}
	sSeq := repeat(ds.Sum(nil), len(s))

	c := aSum
	h := newHash()
	for i := 0; i < rounds; i++ {
		h.Reset()
		if i&1 != 0 {
			h.Write(pSeq)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(sSeq)
		}
		if i%7 != 0 {
			h.Write(pSeq)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pSeq)
		}
		c = h.Sum(c[:0])
	}

	out := []byte(magic)
	if custom {
		out = append(out, "rounds="+strconv.Itoa(rounds)+"$"...)
	}
	out = append(out, salt...)
	out = append(out, '$')
	if size == 32 {
		for _, t := range sha256Order {
			out = b64From24(out, c[t[0]], c[t[1]], c[t[2]], 4)
		}
		out = b64From24(out, 0, c[31], c[30], 3)
	} else {
		for _, t := range sha512Order {
			out = b64From24(out, c[t[0]], c[t[1]], c[t[2]], 4)
		}
		out = b64From24(out, 0, 0, c[63], 2)
	}
	return string(out), nil
}

// repeat returns n bytes of d repeated.
func repeat(d []byte, n int) []byte {
	out := make([]byte, n)
	for i := 0; i < n; i += len(d) {
		copy(out[i:], d)
	}
	return out
}
