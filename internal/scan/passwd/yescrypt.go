package passwd

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"strings"
)

// yescrypt flags (the subset of the specification's flags needed for the
// "$y$" crypt format with the default pwxform settings).
const (
	ycRW             = 0x002
	ycFlavorMask     = 0x3fc
	ycDefaultsFlavor = 0x0b6 // RW | ROUNDS_6 | GATHER_4 | SIMPLE_2 | SBOX_12K
	ycPrehash        = 0x10000000
)

// pwxform parameters of the default flavour.
const (
	pwxSimple = 2
	pwxGather = 4
	pwxRounds = 6
	sWidth    = 8
	pwxWords  = pwxGather * pwxSimple * 2           // 16 uint32 per pwxform block
	sWords    = 3 * (1 << sWidth) * pwxSimple * 2   // 3072 uint32 = 12 KiB of S-boxes
	sPairs    = (1 << sWidth) * pwxSimple           // 512 64-bit entries per S-box
	sMask     = ((1 << sWidth) - 1) * pwxSimple * 8 // byte offset mask
)

type yescryptParams struct {
	flags uint32
	N     uint64
	r, p  uint32
	t     uint32
}

func atoi64(c byte) uint32 {
	if i := strings.IndexByte(itoa64, c); i >= 0 {
		return uint32(i)
	}
	return 64
}

// decodeVarUint decodes yescrypt's variable-length parameter encoding.
func decodeVarUint(s string, minVal uint32) (uint32, string, bool) {
	if s == "" {
		return 0, s, false
	}
	c := atoi64(s[0])
	s = s[1:]
	if c > 63 {
		return 0, s, false
	}
	start, end, chars, nbits := uint32(0), uint32(47), 1, uint32(0)
	dst := minVal
	for c > end {
		dst += (end + 1 - start) << nbits
		start = end + 1
		end = start + (62-end)/2
		chars++
		nbits += 6
	}
	dst += (c - start) << nbits
	for chars--; chars > 0; chars-- {
		if s == "" {
			return 0, s, false
		}
		c = atoi64(s[0])
		s = s[1:]
		if c > 63 {
			return 0, s, false
		}
		nbits -= 6
		dst += c << nbits
	}
	return dst, s, true
}

// decode64 decodes yescrypt's little-endian base-64 (groups of up to four
// characters into up to three bytes).
func decode64(s string) ([]byte, bool) {
	var out []byte
	for len(s) > 0 {
		var value, nbits uint32
		for len(s) > 0 && nbits < 24 {
			c := atoi64(s[0])
			if c > 63 {
				return nil, false
			}
			s = s[1:]
			value |= c << nbits
			nbits += 6
		}
		if nbits < 12 {
			return nil, false
		}
		for nbits >= 8 {
			out = append(out, byte(value))
			value >>= 8
			nbits -= 8
		}
		if value != 0 {
			return nil, false
		}
	}
	return out, true
}

// encode64 is the inverse of decode64.
func encode64(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		var value, nbits uint32
		for nbits < 24 && i < len(src) {
			value |= uint32(src[i]) << nbits
			i++
			nbits += 8
		}
		for b := uint32(0); b < nbits; b += 6 {
			dst = append(dst, itoa64[value&0x3f])
			value >>= 6
		}
	}
	return dst
}

// parseYescrypt splits a "$y$" setting into its parameters, the salt string
// and the decoded salt.
func parseYescrypt(setting string) (yescryptParams, string, []byte, error) {
	prm := yescryptParams{p: 1}
	src, ok := strings.CutPrefix(setting, "$y$")
	if !ok {
		return prm, "", nil, fmt.Errorf("%w: not yescrypt", ErrMalformed)
	}
	bad := func(what string) (yescryptParams, string, []byte, error) {
		return prm, "", nil, fmt.Errorf("%w: yescrypt %s", ErrMalformed, what)
	}
	var flavor, nlog2 uint32
	if flavor, src, ok = decodeVarUint(src, 0); !ok {
		return bad("flavour")
	}
	switch {
	case flavor < ycRW:
		prm.flags = flavor
	case flavor <= ycRW+(ycFlavorMask>>2):
		prm.flags = ycRW + ((flavor - ycRW) << 2)
	default:
		return bad("flavour")
	}
	if nlog2, src, ok = decodeVarUint(src, 1); !ok || nlog2 > 63 {
		return bad("N")
	}
	prm.N = 1 << nlog2
	if prm.r, src, ok = decodeVarUint(src, 1); !ok {
		return bad("r")
	}
	if src != "" && src[0] != '$' {
		var have uint32
		if have, src, ok = decodeVarUint(src, 1); !ok {
			return bad("parameters")
		}
		if have&1 != 0 {
			if prm.p, src, ok = decodeVarUint(src, 2); !ok {
				return bad("p")
			}
		}
		if have&2 != 0 {
			if prm.t, src, ok = decodeVarUint(src, 1); !ok {
				return bad("t")
			}
		}
		if have&^3 != 0 {
			// g (hash upgrades) and ROM are not used by crypt(3) hashes.
			return prm, "", nil, fmt.Errorf("%w: yescrypt with upgrades or ROM", ErrUnsupported)
		}
	}
	if src == "" || src[0] != '$' {
		return bad("parameters")
	}
	src = src[1:]
	saltStr := src
	if i := strings.LastIndexByte(src, '$'); i >= 0 {
		saltStr = src[:i]
	}
	salt, ok := decode64(saltStr)
	if !ok || len(salt) > 64 {
		return bad("salt")
	}
	return prm, setting[:len(setting)-len(src)] + saltStr, salt, nil
}

// maxRN caps r*N, so one hash uses at most 128*maxRN bytes (256 MiB):
// parameters come from untrusted images. Debian's default is 2^17.
const maxRN = 1 << 21

// Yescrypt computes the "$y$" crypt hash of password with the parameters and
// salt of setting. Only the default flavour (as produced by libxcrypt,
// mkpasswd and Debian 12's passwd) is supported.
func Yescrypt(password, setting string) (string, error) {
	prm, prefix, salt, err := parseYescrypt(setting)
	if err != nil {
		return "", err
	}
	if prm.flags != ycDefaultsFlavor {
		return "", fmt.Errorf("%w: yescrypt flavour %#x", ErrUnsupported, prm.flags)
	}
	if prm.N < 2 || prm.r < 1 || prm.p < 1 || uint64(prm.r)*uint64(prm.p) >= 1<<30 ||
		prm.N/uint64(prm.p) <= 1 || prm.N > 1<<24 || uint64(prm.r)*prm.N > maxRN ||
		uint64(prm.r)*uint64(prm.p) > 1<<16 || prm.t > 16 {
		return "", fmt.Errorf("%w: yescrypt parameters N=%d r=%d p=%d out of range", ErrUnsupported, prm.N, prm.r, prm.p)
	}
	key, err := yescryptKDF([]byte(password), salt, prm)
	if err != nil {
		return "", err
	}
	return string(encode64([]byte(prefix+"$"), key)), nil
}

// yescryptKDF is yescrypt_kdf with its pre-hashing step for large N.
func yescryptKDF(passwd, salt []byte, prm yescryptParams) ([]byte, error) {
	if prm.N/uint64(prm.p) >= 0x100 && prm.N/uint64(prm.p)*uint64(prm.r) >= 0x20000 {
		pre := prm
		pre.flags |= ycPrehash
		pre.N >>= 6
		pre.t = 0
		dk, err := yescryptBody(passwd, salt, pre)
		if err != nil {
			return nil, err
		}
		passwd = dk
	}
	return yescryptBody(passwd, salt, prm)
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// yescryptBody is yescrypt_kdf_body for the RW flavour, 32-byte output.
func yescryptBody(passwd, salt []byte, prm yescryptParams) ([]byte, error) {
	r, p, N := int(prm.r), int(prm.p), prm.N
	if r < 1 {
		return nil, fmt.Errorf("%w: yescrypt r=%d", ErrUnsupported, r)
	}
	prehashKey := "yescrypt"
	if prm.flags&ycPrehash != 0 {
		prehashKey = "yescrypt-prehash"
	}
	pw := hmacSHA256([]byte(prehashKey), passwd)
	s := 32 * r // uint32 words per block
	bBytes, err := pbkdf2.Key(sha256.New, string(pw), salt, 1, 128*r*p)
	if err != nil {
		return nil, fmt.Errorf("yescrypt pbkdf2: %w", err)
	}
	copy(pw, bBytes[:32])
	B := make([]uint32, s*p)
	for i := range B {
		B[i] = binary.LittleEndian.Uint32(bBytes[4*i:])
	}
	V := make([]uint32, uint64(s)*N)
	XY := make([]uint32, 2*s)
	ctxs := make([]pwxCtx, p)
	S := make([]uint32, sWords*p)
	for i := range ctxs {
		ctxs[i].S = S[i*sWords : (i+1)*sWords]
	}
	smix(B, r, N, p, prm.t, prm.flags, V, XY, ctxs, pw)

	for i, w := range B {
		binary.LittleEndian.PutUint32(bBytes[4*i:], w)
	}
	dk, err := pbkdf2.Key(sha256.New, string(pw), bBytes, 1, 32)
	if err != nil {
		return nil, fmt.Errorf("yescrypt pbkdf2: %w", err)
	}
	if prm.flags&ycPrehash == 0 {
		client := hmacSHA256(dk, []byte("Client Key"))
		stored := sha256.Sum256(client)
		dk = stored[:]
	}
	return dk, nil
}

// pwxCtx is the pwxform state of one smix lane: the S-box memory, the three
// S-boxes as offsets into it (in 64-bit entries) and the write index.
type pwxCtx struct {
	S          []uint32
	s0, s1, s2 int
	w          int
}

func salsa20(b []uint32, rounds int) {
	var x [16]uint32
	// The block is stored SIMD-shuffled: word i holds Salsa20 word i*5%16.
	for i := 0; i < 16; i++ {
		x[i*5%16] = b[i]
	}
	for i := 0; i < rounds; i += 2 {
		x[4] ^= bits.RotateLeft32(x[0]+x[12], 7)
		x[8] ^= bits.RotateLeft32(x[4]+x[0], 9)
		x[12] ^= bits.RotateLeft32(x[8]+x[4], 13)
		x[0] ^= bits.RotateLeft32(x[12]+x[8], 18)
		x[9] ^= bits.RotateLeft32(x[5]+x[1], 7)
		x[13] ^= bits.RotateLeft32(x[9]+x[5], 9)
		x[1] ^= bits.RotateLeft32(x[13]+x[9], 13)
		x[5] ^= bits.RotateLeft32(x[1]+x[13], 18)
		x[14] ^= bits.RotateLeft32(x[10]+x[6], 7)
		x[2] ^= bits.RotateLeft32(x[14]+x[10], 9)
		x[6] ^= bits.RotateLeft32(x[2]+x[14], 13)
		x[10] ^= bits.RotateLeft32(x[6]+x[2], 18)
		x[3] ^= bits.RotateLeft32(x[15]+x[11], 7)
		x[7] ^= bits.RotateLeft32(x[3]+x[15], 9)
		x[11] ^= bits.RotateLeft32(x[7]+x[3], 13)
		x[15] ^= bits.RotateLeft32(x[11]+x[7], 18)

		x[1] ^= bits.RotateLeft32(x[0]+x[3], 7)
		x[2] ^= bits.RotateLeft32(x[1]+x[0], 9)
		x[3] ^= bits.RotateLeft32(x[2]+x[1], 13)
		x[0] ^= bits.RotateLeft32(x[3]+x[2], 18)
		x[6] ^= bits.RotateLeft32(x[5]+x[4], 7)
		x[7] ^= bits.RotateLeft32(x[6]+x[5], 9)
		x[4] ^= bits.RotateLeft32(x[7]+x[6], 13)
		x[5] ^= bits.RotateLeft32(x[4]+x[7], 18)
		x[11] ^= bits.RotateLeft32(x[10]+x[9], 7)
		x[8] ^= bits.RotateLeft32(x[11]+x[10], 9)
		x[9] ^= bits.RotateLeft32(x[8]+x[11], 13)
		x[10] ^= bits.RotateLeft32(x[9]+x[8], 18)
		x[12] ^= bits.RotateLeft32(x[15]+x[14], 7)
		x[13] ^= bits.RotateLeft32(x[12]+x[15], 9)
		x[14] ^= bits.RotateLeft32(x[13]+x[12], 13)
		x[15] ^= bits.RotateLeft32(x[14]+x[13], 18)
	}
	for i := 0; i < 16; i++ {
		b[i] += x[i*5%16]
	}
}

func blkxor(dst, src []uint32) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}

// blockmixSalsa8 is scrypt's BlockMix with Salsa20/8 over 2r 64-byte blocks.
func blockmixSalsa8(b, y []uint32, r int) {
	var x [16]uint32
	copy(x[:], b[(2*r-1)*16:])
	for i := 0; i < 2*r; i++ {
		blkxor(x[:], b[i*16:i*16+16])
		salsa20(x[:], 8)
		copy(y[i*16:], x[:])
	}
	for i := 0; i < r; i++ {
		copy(b[i*16:i*16+16], y[(2*i)*16:])
		copy(b[(i+r)*16:(i+r)*16+16], y[(2*i+1)*16:])
	}
}

// pwxform transforms one 64-byte block with the lane's S-boxes.
func (c *pwxCtx) pwxform(x []uint32) {
	S, s0, s1, s2, w := c.S, c.s0, c.s1, c.s2, c.w
	for i := 0; i < pwxRounds; i++ {
		for j := 0; j < pwxGather; j++ {
			base := j * pwxSimple * 2
			p0 := s0 + int(x[base]&sMask)/8
			p1 := s1 + int(x[base+1]&sMask)/8
			for k := 0; k < pwxSimple; k++ {
				o := base + 2*k
				v0 := uint64(S[2*(p0+k)+1])<<32 | uint64(S[2*(p0+k)])
				v1 := uint64(S[2*(p1+k)+1])<<32 | uint64(S[2*(p1+k)])
				v := uint64(x[o+1])*uint64(x[o]) + v0
				v ^= v1
				x[o], x[o+1] = uint32(v), uint32(v>>32)
				if i != 0 && i != pwxRounds-1 {
					S[2*(s2+w)], S[2*(s2+w)+1] = uint32(v), uint32(v>>32)
					w++
				}
			}
		}
	}
	c.s0, c.s1, c.s2 = s2, s0, s1
	c.w = w & (sPairs - 1)
}

// blockmixPwxform is yescrypt's BlockMix_pwxform over 2r 64-byte blocks.
func (c *pwxCtx) blockmixPwxform(b []uint32, r int) {
	var x [pwxWords]uint32
	r1 := 128 * r / (pwxWords * 4)
	copy(x[:], b[(r1-1)*pwxWords:])
	for i := 0; i < r1; i++ {
		if r1 > 1 {
			blkxor(x[:], b[i*pwxWords:(i+1)*pwxWords])
		}
		c.pwxform(x[:])
		copy(b[i*pwxWords:], x[:])
	}
	i := (r1 - 1) * pwxWords * 4 / 64
	salsa20(b[i*16:i*16+16], 2)
	for i++; i < 2*r; i++ {
		blkxor(b[i*16:i*16+16], b[(i-1)*16:i*16])
		salsa20(b[i*16:i*16+16], 2)
	}
}

func integerify(b []uint32, r int) uint64 {
	x := b[(2*r-1)*16:]
	return uint64(x[13])<<32 | uint64(x[0])
}

func p2floor(x uint64) uint64 {
	for y := x & (x - 1); y != 0; y = x & (x - 1) {
		x = y
	}
	return x
}

func wrap(x, i uint64) uint64 {
	n := p2floor(i)
	return (x & (n - 1)) + (i - n)
}

func shuffleIn(x, b []uint32, r int) {
	for k := 0; k < 2*r; k++ {
		for i := 0; i < 16; i++ {
			x[k*16+i] = b[k*16+(i*5%16)]
		}
	}
}

func shuffleOut(b, x []uint32, r int) {
	for k := 0; k < 2*r; k++ {
		for i := 0; i < 16; i++ {
			b[k*16+(i*5%16)] = x[k*16+i]
		}
	}
}

func smix1(b []uint32, r int, N uint64, flags uint32, v, xy []uint32, ctx *pwxCtx) {
	s := 32 * r
	x, y := xy[:s], xy[s:2*s]
	shuffleIn(x, b, r)
	for i := uint64(0); i < N; i++ {
		copy(v[i*uint64(s):], x)
		if flags&ycRW != 0 && i > 1 {
			j := wrap(integerify(x, r), i)
			blkxor(x, v[j*uint64(s):j*uint64(s)+uint64(s)])
		}
		if ctx != nil {
			ctx.blockmixPwxform(x, r)
		} else {
			blockmixSalsa8(x, y, r)
		}
	}
	shuffleOut(b, x, r)
}

func smix2(b []uint32, r int, N, nloop uint64, flags uint32, v, xy []uint32, ctx *pwxCtx) {
	s := uint64(32 * r)
	x, y := xy[:s], xy[s:2*s]
	shuffleIn(x, b, r)
	for i := uint64(0); i < nloop; i++ {
		j := integerify(x, r) & (N - 1)
		vj := v[j*s : j*s+s]
		blkxor(x, vj)
		if flags&ycRW != 0 {
			copy(vj, x)
		}
		if ctx != nil {
			ctx.blockmixPwxform(x, r)
		} else {
			blockmixSalsa8(x, y, r)
		}
	}
	shuffleOut(b, x, r)
}

func smix(B []uint32, r int, N uint64, p int, t, flags uint32, V, XY []uint32, ctxs []pwxCtx, passwd []byte) {
	s := 32 * r
	nchunk := N / uint64(p)
	nloopAll := nchunk
	if t <= 1 {
		if t != 0 {
			nloopAll *= 2
		}
		nloopAll = (nloopAll + 2) / 3
	} else {
		nloopAll *= uint64(t - 1)
	}
	nloopRW := nloopAll / uint64(p)
	nchunk &^= 1
	nloopAll = (nloopAll + 1) &^ 1
	nloopRW = (nloopRW + 1) &^ 1

	var vchunk uint64
	for i := 0; i < p; i, vchunk = i+1, vchunk+nchunk {
		np := nchunk
		if i == p-1 {
			np = N - vchunk
		}
		bp := B[i*s : (i+1)*s]
		vp := V[vchunk*uint64(s):]
		c := &ctxs[i]
		smix1(bp, 1, sWords/32, 0, c.S, XY, nil)
		c.s2, c.s1, c.s0, c.w = 0, sPairs, 2*sPairs, 0
		if i == 0 {
			var key [64]byte
			for k, w := range bp[s-16:] {
				binary.LittleEndian.PutUint32(key[4*k:], w)
			}
			copy(passwd, hmacSHA256(key[:], passwd))
		}
		smix1(bp, r, np, flags, vp, XY, c)
		smix2(bp, r, p2floor(np), nloopRW, flags, vp, XY, c)
	}
	for i := 0; i < p; i++ {
		smix2(B[i*s:(i+1)*s], r, N, nloopAll-nloopRW, flags&^ycRW, V, XY, &ctxs[i])
	}
}
