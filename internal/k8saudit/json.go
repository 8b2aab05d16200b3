package k8saudit

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"unicode/utf8"
	"unsafe"
)

// This file holds a small JSON parser made for audit events. It parses a
// document held in doc.buf into a flat array of nodes (the tape), one per
// value, in document order. Nodes point into buf; no value is copied. The
// buffers are reused from one document to the next, so that parsing
// allocates nothing once they have grown.
//
// A document holding whitespace between tokens (pretty-printed) is compacted
// in place and parsed again, so that the raw bytes of any value are its
// compact JSON text, which is how Falco renders non-string values.

// kind is the type of a JSON value.
type kind uint8

// JSON value kinds.
const (
	kindNull kind = iota + 1
	kindFalse
	kindTrue
	kindNumber
	kindString
	kindArray
	kindObject
)

// Node flags.
const (
	flagEscaped   uint8 = 1 << iota // string holding escapes, not unescaped yet
	flagUnescaped                   // string whose start/end index doc.unesc
)

// maxDepth bounds the nesting of arrays and objects.
const maxDepth = 512

// maxDocSize bounds a document so that offsets fit the nodes' uint32.
const maxDocSize = 1 << 31

// node is one JSON value of the tape.
//
// For strings, start and end delimit the content between the quotes (or,
// with flagUnescaped, the unescaped content in doc.unesc). For other values
// they delimit the value's text. next is the index of the node that follows
// the value and all its descendants, so a container's children are the
// nodes from its index+1 to its next, members of objects being laid out as
// a key node followed by a value node.
type node struct {
	start, end uint32
	next       uint32
	kind       kind
	flags      uint8
}

// syntaxError is a JSON syntax error at byte offset off of the document.
type syntaxError struct {
	off       int
	msg       string
	truncated bool // the document ended inside a value
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.msg)
}

// doc is a parsed JSON document.
type doc struct {
	buf   []byte   // the document; compacted in place when it held whitespace
	tape  []node   // the values; tape[0] is the root
	unesc []byte   // unescaped strings
	stack []uint32 // open containers, while parsing
}

// reset empties d, keeping its buffers.
func (d *doc) reset() {
	d.buf = d.buf[:0]
	d.tape = d.tape[:0]
	d.unesc = d.unesc[:0]
}

// parse parses d.buf, which must hold exactly one JSON value, possibly
// surrounded by whitespace.
func (d *doc) parse() error {
	if len(d.buf) >= maxDocSize {
		return &syntaxError{off: 0, msg: fmt.Sprintf("document of %d bytes is too large", len(d.buf))}
	}
	spaced, err := d.parseOnce()
	if err != nil {
		return err
	}
	if spaced {
		d.buf = compactInPlace(d.buf)
		if _, err := d.parseOnce(); err != nil {
			// Compaction keeps a valid document valid.
			return fmt.Errorf("reparse compacted document: %w", err)
		}
	}
	return nil
}

// isSpace tells the JSON whitespace bytes.
var isSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// strPlain tells the bytes that may appear as is in a JSON string: all but
// the quote, the backslash and control characters.
var strPlain = func() (t [256]bool) {
	for i := 0x20; i < 256; i++ {
		t[i] = i != '"' && i != '\\'
	}
	return t
}()

// parseOnce builds the tape of d.buf. spaced reports whether whitespace
// separates tokens inside the value (the document is not compact).
func (d *doc) parseOnce() (spaced bool, err error) {
	b := d.buf
	n := len(b)
	if est := len(b) / 12; cap(d.tape) < est {
		// About one node per 12 bytes in audit events: grow once.
		d.tape = slices.Grow(d.tape[:0], est)
	}
	tape := d.tape[:cap(d.tape)]
	nt := 0 // nodes used in tape
	stack := d.stack[:0]
	i := 0
	var c byte
	var top uint32

	for i < n && isSpace[b[i]] {
		i++
	}
	if i == n {
		return false, &syntaxError{off: i, msg: "no JSON value", truncated: true}
	}

value:
	if i >= n {
		goto eof
	}
	c = b[i]
	switch {
	case c == '{' || c == '[':
		if len(stack) >= maxDepth {
			return false, &syntaxError{off: i, msg: "nesting too deep"}
		}
		stack = append(stack, uint32(nt))
		if nt == len(tape) {
			tape = growTape(tape)
		}
		k, closer := kindObject, byte('}')
		if c == '[' {
			k, closer = kindArray, ']'
		}
		t := &tape[nt]
		t.start, t.end, t.next, t.kind, t.flags = uint32(i), 0, uint32(nt+1), k, 0
		nt++
		i++
		if i < n && b[i] <= ' ' {
			for i < n && isSpace[b[i]] {
				i++
			}
			spaced = true
		}
		if i < n && b[i] == closer {
			goto closeContainer
		}
		if k == kindObject {
			goto key
		}
		goto value
	case c == '"':
		j, esc, serr := scanStringAt(b, i, n)
		if serr != nil {
			return false, serr
		}
		var fl uint8
		if esc {
			fl = flagEscaped
		}
		if nt == len(tape) {
			tape = growTape(tape)
		}
		t := &tape[nt]
		t.start, t.end, t.next, t.kind, t.flags = uint32(i+1), uint32(j), uint32(nt+1), kindString, fl
		nt++
		i = j + 1
	case c == 't' || c == 'f' || c == 'n':
		var lit string
		var k kind
		switch c {
		case 't':
			lit, k = "true", kindTrue
		case 'f':
			lit, k = "false", kindFalse
		default:
			lit, k = "null", kindNull
		}
		if n-i < len(lit) {
			if string(b[i:]) == lit[:n-i] {
				goto eof
			}
			return false, &syntaxError{off: i, msg: "invalid literal"}
		}
		if string(b[i:i+len(lit)]) != lit {
			return false, &syntaxError{off: i, msg: "invalid literal"}
		}
		if nt == len(tape) {
			tape = growTape(tape)
		}
		t := &tape[nt]
		t.start, t.end, t.next, t.kind, t.flags = uint32(i), uint32(i+len(lit)), uint32(nt+1), k, 0
		nt++
		i += len(lit)
	case c == '-' || (c >= '0' && c <= '9'):
		j, serr := scanNumber(b, i)
		if serr != nil {
			return false, serr
		}
		if nt == len(tape) {
			tape = growTape(tape)
		}
		t := &tape[nt]
		t.start, t.end, t.next, t.kind, t.flags = uint32(i), uint32(j), uint32(nt+1), kindNumber, 0
		nt++
		i = j
	default:
		return false, &syntaxError{off: i, msg: fmt.Sprintf("unexpected %s", quoteByte(c))}
	}

afterValue:
	if len(stack) == 0 {
		for i < n && isSpace[b[i]] {
			i++
		}
		if i != n {
			return false, &syntaxError{off: i, msg: fmt.Sprintf("unexpected %s after the value", quoteByte(b[i]))}
		}
		d.tape, d.stack = tape[:nt], stack
		return spaced, nil
	}
	if i < n && b[i] <= ' ' {
		for i < n && isSpace[b[i]] {
			i++
		}
		spaced = true
	}
	if i >= n {
		goto eof
	}
	c = b[i]
	top = stack[len(stack)-1]
	switch c {
	case ',':
		i++
		if i < n && b[i] <= ' ' {
			for i < n && isSpace[b[i]] {
				i++
			}
			spaced = true
		}
		if tape[top].kind == kindObject {
			goto key
		}
		goto value
	case '}':
		if tape[top].kind != kindObject {
			return false, &syntaxError{off: i, msg: "unexpected '}' in array"}
		}
		goto closeContainer
	case ']':
		if tape[top].kind != kindArray {
			return false, &syntaxError{off: i, msg: "unexpected ']' in object"}
		}
		goto closeContainer
	default:
		if tape[top].kind == kindObject {
			return false, &syntaxError{off: i, msg: fmt.Sprintf("unexpected %s after object member, want ',' or '}'", quoteByte(c))}
		}
		return false, &syntaxError{off: i, msg: fmt.Sprintf("unexpected %s after array element, want ',' or ']'", quoteByte(c))}
	}

closeContainer:
	// b[i] closes the innermost open container.
	top = stack[len(stack)-1]
	stack = stack[:len(stack)-1]
	tape[top].end = uint32(i + 1)
	tape[top].next = uint32(nt)
	i++
	goto afterValue

key:
	if i >= n {
		goto eof
	}
	if b[i] != '"' {
		return false, &syntaxError{off: i, msg: fmt.Sprintf("unexpected %s, want a member name", quoteByte(b[i]))}
	}
	{
		j, esc, serr := scanStringAt(b, i, n)
		if serr != nil {
			return false, serr
		}
		var fl uint8
		if esc {
			fl = flagEscaped
		}
		if nt == len(tape) {
			tape = growTape(tape)
		}
		t := &tape[nt]
		t.start, t.end, t.next, t.kind, t.flags = uint32(i+1), uint32(j), uint32(nt+1), kindString, fl
		nt++
		i = j + 1
	}
	if i < n && b[i] <= ' ' {
		for i < n && isSpace[b[i]] {
			i++
		}
		spaced = true
	}
	if i >= n {
		goto eof
	}
	if b[i] != ':' {
		return false, &syntaxError{off: i, msg: fmt.Sprintf("unexpected %s after member name, want ':'", quoteByte(b[i]))}
	}
	i++
	if i < n && b[i] <= ' ' {
		for i < n && isSpace[b[i]] {
			i++
		}
		spaced = true
	}
	goto value

eof:
	d.tape, d.stack = tape[:nt], stack
	return false, &syntaxError{off: n, msg: "unexpected end of input", truncated: true}
}

// SWAR constants: a byte repeated over a 64-bit word.
const (
	ones   = 0x0101010101010101
	highs  = 0x8080808080808080
	quotes = '"' * ones
	slashs = '\\' * ones
	spaces = 0x20 * ones
)

// specialMask returns a word whose lowest set bit, if any, is the high bit
// of the first byte of v (little endian) that is a quote, a backslash or a
// control character. Bits above the lowest one may be false positives.
func specialMask(v uint64) uint64 {
	q := v ^ quotes
	s := v ^ slashs
	return ((q-ones)&^q | (s-ones)&^s | (v-spaces)&^v) & highs
}

// growTape returns tape, all its capacity used, with more capacity.
func growTape(tape []node) []node {
	tape = slices.Grow(tape, max(64, len(tape)))
	return tape[:cap(tape)]
}

// scanString scans the content of a string starting at b[i], just after
// the opening quote. It returns the index of the closing quote and whether
// the content holds escapes.
func scanString(b []byte, i int) (end int, escaped bool, err *syntaxError) {
	n := len(b)
	for {
		for i+8 <= n {
			if m := specialMask(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto special
			}
			i += 8
		}
		for i < n && strPlain[b[i]] {
			i++
		}
		if i >= n {
			return 0, false, &syntaxError{off: n, msg: "unexpected end of input in string", truncated: true}
		}
	special:
		switch c := b[i]; c {
		case '"':
			return i, escaped, nil
		case '\\':
			escaped = true
			if i+1 >= n {
				return 0, false, &syntaxError{off: n, msg: "unexpected end of input in string", truncated: true}
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := i + 2; k < i+6; k++ {
					if k >= n {
						return 0, false, &syntaxError{off: n, msg: "unexpected end of input in string", truncated: true}
					}
					if unhex(b[k]) < 0 {
						return 0, false, &syntaxError{off: k, msg: "invalid \\u escape"}
					}
				}
				i += 6
			default:
				return 0, false, &syntaxError{off: i, msg: fmt.Sprintf("invalid escape %s", quoteByte(b[i+1]))}
			}
		default:
			return 0, false, &syntaxError{off: i, msg: fmt.Sprintf("control character %s in string", quoteByte(c))}
		}
	}
}

// scanNumber scans the number starting at b[i] and returns the index just
// past it.
func scanNumber(b []byte, i int) (int, *syntaxError) {
	n := len(b)
	if b[i] == '-' {
		i++
	}
	if i >= n {
		return 0, &syntaxError{off: n, msg: "unexpected end of input in number", truncated: true}
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0, &syntaxError{off: i, msg: "invalid number"}
	}
	if i < n && b[i] == '.' {
		i++
		if i >= n {
			return 0, &syntaxError{off: n, msg: "unexpected end of input in number", truncated: true}
		}
		if b[i] < '0' || b[i] > '9' {
			return 0, &syntaxError{off: i, msg: "invalid number: want a digit after '.'"}
		}
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= n {
			return 0, &syntaxError{off: n, msg: "unexpected end of input in number", truncated: true}
		}
		if b[i] < '0' || b[i] > '9' {
			return 0, &syntaxError{off: i, msg: "invalid number: want a digit in the exponent"}
		}
		for i < n && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i, nil
}

// quoteByte renders c for an error message.
func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// compactInPlace removes the whitespace between the tokens of the valid
// JSON document b and returns the shortened slice.
func compactInPlace(b []byte) []byte {
	w := 0
	inStr, esc := false, false
	for _, c := range b {
		if inStr {
			b[w] = c
			w++
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		if isSpace[c] {
			continue
		}
		if c == '"' {
			inStr = true
		}
		b[w] = c
		w++
	}
	return b[:w]
}

// appendUnescaped appends the unescaped content of the valid JSON string
// content s to dst. Invalid surrogates become U+FFFD, as with encoding/json.
func appendUnescaped(dst, s []byte) []byte {
	for len(s) > 0 {
		k := bytes.IndexByte(s, '\\')
		if k < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:k]...)
		s = s[k:]
		switch s[1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(s[2:6])
			s = s[6:]
			if r >= 0xd800 && r < 0xdc00 && len(s) >= 6 && s[0] == '\\' && s[1] == 'u' {
				if r2 := hex4(s[2:6]); r2 >= 0xdc00 && r2 < 0xe000 {
					dst = utf8.AppendRune(dst, 0x10000+(r-0xd800)<<10+(r2-0xdc00))
					s = s[6:]
					continue
				}
			}
			if r >= 0xd800 && r < 0xe000 {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[1])
		}
		s = s[2:]
	}
	return dst
}

func hex4(b []byte) rune {
	return rune(unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3]))
}

// bstr returns b as a string without copying.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// str returns the content of string node i, unescaping it on first use
// into d.unesc. It changes the node: only documents whose nodes are not
// copied elsewhere may use it (see event.go).
func (d *doc) str(i int32) string {
	nd := &d.tape[i]
	if nd.flags&flagEscaped != 0 {
		start := len(d.unesc)
		d.unesc = appendUnescaped(d.unesc, d.buf[nd.start:nd.end])
		nd.start, nd.end = uint32(start), uint32(len(d.unesc))
		nd.flags = flagUnescaped
	}
	if nd.flags&flagUnescaped != 0 {
		return bstr(d.unesc[nd.start:nd.end])
	}
	return bstr(d.buf[nd.start:nd.end])
}

// strIs reports whether string node i holds s, without changing the node.
func (d *doc) strIs(i int32, s string) bool {
	nd := d.tape[i]
	switch {
	case nd.flags&flagUnescaped != 0:
		return bstr(d.unesc[nd.start:nd.end]) == s
	case nd.flags&flagEscaped != 0:
		mark := len(d.unesc)
		d.unesc = appendUnescaped(d.unesc, d.buf[nd.start:nd.end])
		eq := bstr(d.unesc[mark:]) == s
		d.unesc = d.unesc[:mark]
		return eq
	}
	return bstr(d.buf[nd.start:nd.end]) == s
}

// text returns node i as Falco's k8saudit and json plugins render a value:
// the content of a string, the compact JSON text of anything else.
func (d *doc) text(i int32) string {
	nd := &d.tape[i]
	if nd.kind == kindString {
		return d.str(i)
	}
	return bstr(d.buf[nd.start:nd.end])
}

// raw returns the JSON text of node i, which must not be an unescaped
// string.
func (d *doc) raw(i int32) []byte {
	nd := d.tape[i]
	if nd.kind == kindString {
		return d.buf[nd.start-1 : nd.end+1]
	}
	return d.buf[nd.start:nd.end]
}

// get returns the value of member key of object node i, the first one when
// the key repeats, or -1. On an array node it returns the element whose
// decimal index is idx (idx < 0: none), like fastjson's Value.Get.
func (d *doc) get(i int32, key string, idx int) int32 {
	if i < 0 {
		return -1
	}
	nd := d.tape[i]
	switch nd.kind {
	case kindObject:
		for k := i + 1; k < int32(nd.next); k = int32(d.tape[k+1].next) {
			if d.keyIs(k, key) {
				return k + 1
			}
		}
	case kindArray:
		if idx >= 0 {
			return d.elem(i, idx)
		}
	}
	return -1
}

// keyIs reports whether string node k spells key.
func (d *doc) keyIs(k int32, key string) bool {
	nd := d.tape[k]
	if nd.flags == 0 {
		return int(nd.end-nd.start) == len(key) && bstr(d.buf[nd.start:nd.end]) == key
	}
	return d.str(k) == key
}

// elem returns the idx-th element of array node i, or -1.
func (d *doc) elem(i int32, idx int) int32 {
	nd := d.tape[i]
	for k := i + 1; k < int32(nd.next); k = int32(d.tape[k].next) {
		if idx == 0 {
			return k
		}
		idx--
	}
	return -1
}

// scanStringAt scans the string whose opening quote is at b[i] (n is
// len(b)) and returns the index of its closing quote and whether it holds
// escapes. Strings of less than 8 bytes without escapes, as most member names
// are, take a fast path.
func scanStringAt(b []byte, i, n int) (int, bool, *syntaxError) {
	if n-i > 8 {
		if m := specialMask(binary.LittleEndian.Uint64(b[i+1:])); m != 0 {
			if k := i + 1 + bits.TrailingZeros64(m)>>3; b[k] == '"' {
				return k, false, nil
			}
		}
	}
	return scanString(b, i+1)
}
