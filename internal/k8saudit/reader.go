package k8saudit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxLineSize is the default bound on the size of a line, and of a
// record or EventList item spanning lines, that Reader accepts.
const DefaultMaxLineSize = 16 << 20

// DecodeError reports data that is not a Kubernetes audit event: a bad
// line, record or EventList item. Msg starts with the text of
// ErrNotAuditEvent, which the error wraps.
type DecodeError struct {
	File string // the name given to NewReader, or "body" for DecodeBody
	Line int    // 1-based line where the bad record or item starts
	Msg  string
}

// Error returns "FILE:LINE: MSG".
func (e *DecodeError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Unwrap returns ErrNotAuditEvent.
func (e *DecodeError) Unwrap() error { return ErrNotAuditEvent }

func decodeErr(file string, line int, format string, args ...any) *DecodeError {
	return &DecodeError{File: file, Line: line, Msg: ErrNotAuditEvent.Error() + ": " + fmt.Sprintf(format, args...)}
}

// Reader reads audit events from a stream: JSON lines (one Event, EventList
// or array of them per line, as the kube-apiserver log backend writes) or
// whole JSON documents spanning lines (pretty-printed Events, EventLists or
// arrays). Items of an EventList spanning lines are read one at a time, so
// that memory stays bounded by the maximum line size whatever the size of
// the list.
//
// Records of JSON lines start in the first column, while pretty-printers
// indent the inner lines of a document: a line starting with '{' or '[' in
// its first column while a record spanning lines is open starts a new
// record, and the open one is reported as truncated. After a record whose
// structure is broken, lines are skipped up to such a line.
//
// A Reader reuses its buffers: reading a stream of single-line events
// allocates nothing once they have grown.
type Reader struct {
	br   *bufio.Reader
	name string
	max  int

	err      error  // sticky read error; io.EOF at the end
	line     int    // number of the current line
	cur      []byte // the current line, without its end of line
	pos      int    // next byte of cur to feed to the stream
	lineDone bool   // cur has been processed
	replay   bool   // cur must be handled as a fresh line
	resync   bool   // skip lines up to one that starts a record
	lineBuf  []byte

	rec  doc     // the record or item being emitted
	env  doc     // an EventList envelope, to check its kind
	recs records // events of rec still to emit
	st   stream  // a record spanning lines
	num  uint64
}

// NewReader returns a Reader of r. name is the file name used in
// DecodeErrors.
func NewReader(r io.Reader, name string) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), name: name, max: DefaultMaxLineSize}
}

// SetMaxLineSize sets the largest line, and the largest record or EventList
// item spanning lines, the reader accepts, in bytes; n <= 0 restores
// DefaultMaxLineSize. Longer lines are skipped, never buffered whole, with
// a DecodeError.
func (r *Reader) SetMaxLineSize(n int) {
	if n <= 0 {
		n = DefaultMaxLineSize
	}
	r.max = min(n, maxDocSize-1)
}

// Next reads the next audit event into ev. It returns io.EOF at the end of
// the stream and a *DecodeError for a record or EventList item that is not
// an audit event; the caller may then call Next again to read on. Other
// errors are read errors, returned again by every later call.
//
// The values extracted from ev are valid until ev is passed to Next again.
func (r *Reader) Next(ev *Event) error {
	for {
		if r.recs.active() {
			if done, err := r.recs.next(ev); done {
				if err == nil {
					r.num++
					ev.num = r.num
				}
				return err
			}
			continue
		}
		if r.replay {
			r.replay = false
			if err := r.startLine(); err != nil {
				return err
			}
			continue
		}
		if r.st.active && !r.lineDone {
			if err := r.feed(); err != nil {
				return err
			}
			continue
		}
		tooLong, err := r.readLine()
		if err != nil {
			if r.st.active {
				derr := r.truncated("end of input")
				r.st.reset()
				return derr
			}
			return err
		}
		r.pos, r.lineDone = 0, false
		if tooLong {
			if r.st.active {
				r.st.reset()
				r.resync = true
			}
			return decodeErr(r.name, r.line, "line is longer than %d bytes", r.max)
		}
		if r.st.active {
			if len(r.cur) > 0 && (r.cur[0] == '{' || r.cur[0] == '[') {
				// Records of JSON lines start in column 0, lines
				// inside pretty-printed documents are indented: the
				// current record was cut short.
				derr := r.truncated(fmt.Sprintf("line %d starts a new record", r.line))
				r.st.reset()
				r.replay = true
				return derr
			}
			continue
		}
		if err := r.startLine(); err != nil {
			return err
		}
	}
}

// truncated reports the record being streamed as cut short.
func (r *Reader) truncated(why string) *DecodeError {
	st := &r.st
	if st.mode == modeItems || st.mode == modeTail {
		return decodeErr(r.name, st.startLine, "EventList truncated after %d items: %s", st.units, why)
	}
	return decodeErr(r.name, st.startLine, "record truncated: %s", why)
}

// readLine reads the next line into r.cur. tooLong reports a line longer
// than r.max, which is skipped.
func (r *Reader) readLine() (tooLong bool, err error) {
	if r.err != nil {
		return false, r.err
	}
	r.lineBuf = r.lineBuf[:0]
	total := 0
	for {
		chunk, err := r.br.ReadSlice('\n')
		total += len(chunk)
		if err == bufio.ErrBufferFull {
			if !tooLong {
				if total > r.max {
					tooLong = true
					r.lineBuf = r.lineBuf[:0]
				} else {
					r.lineBuf = append(r.lineBuf, chunk...)
				}
			}
			continue
		}
		if err != nil {
			if err != io.EOF {
				r.err = fmt.Errorf("read %s: %w", r.name, err)
				return false, r.err
			}
			r.err = io.EOF
			if total == 0 {
				return false, io.EOF
			}
		}
		r.line++
		size := total
		if size > 0 && err == nil {
			size-- // the '\n'
		}
		if tooLong || size > r.max {
			r.cur = nil
			return true, nil
		}
		if len(r.lineBuf) == 0 {
			r.cur = chunk[:len(chunk)-(total-size)]
		} else {
			r.lineBuf = append(r.lineBuf, chunk...)
			r.cur = r.lineBuf[:size]
		}
		if r.line == 1 {
			r.cur = bytes.TrimPrefix(r.cur, []byte("\xef\xbb\xbf"))
		}
		return false, nil
	}
}

// startLine handles r.cur as the first line of a record: a whole record,
// the start of one spanning lines, or a blank line.
func (r *Reader) startLine() error {
	line := r.cur
	i := 0
	for i < len(line) && isSpace[line[i]] {
		i++
	}
	if i == len(line) {
		return nil
	}
	if r.resync {
		if line[0] != '{' && line[0] != '[' {
			return nil
		}
		r.resync = false
	}
	if c := line[i]; c != '{' && c != '[' {
		return decodeErr(r.name, r.line, "a record must be a JSON object or array, found %s", quoteByte(c))
	}
	r.rec.buf = append(r.rec.buf[:0], line...)
	err := r.rec.parse()
	if err == nil {
		r.recs.start(&r.rec, r.name, r.line, false, true)
		return nil
	}
	var se *syntaxError
	if errors.As(err, &se) && se.truncated {
		r.st.begin(r.line)
		r.pos, r.lineDone = 0, false
		return nil
	}
	return syntaxDecodeErr(r.name, r.line, line, err, "")
}

// syntaxDecodeErr reports the parse error err of data, which starts at
// line, at the line and column of the error.
func syntaxDecodeErr(file string, line int, data []byte, err error, what string) *DecodeError {
	var se *syntaxError
	if !errors.As(err, &se) {
		return decodeErr(file, line, "%s%v", what, err)
	}
	off := min(se.off, len(data))
	line += bytes.Count(data[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return decodeErr(file, line, "%sinvalid JSON at column %d: %s", what, col, se.msg)
}

// Stream modes: what the bytes of a record spanning lines belong to.
const (
	modeObject = iota + 1 // a top-level object, collected whole
	modeArray             // a top-level array: each element is a unit
	modeItems             // the items of an EventList: each item is a unit
	modeTail              // the rest of an EventList after its items
	modeSkip              // a bad record, skipped up to its end
)

// stream is the state of a record spanning lines. It tracks the nesting of
// the record and collects its units (the whole object, each element of an
// array, each item of an EventList) in acc, one at a time.
type stream struct {
	active     bool
	mode       int
	depth      int
	open       []byte // the open containers, '{' or '['
	inStr, esc bool
	skipScalar bool // skipping a scalar element that is not a record

	collecting bool   // acc is collecting a unit
	acc        []byte // the unit
	over       bool   // the unit exceeded the maximum size
	unitLine   int    // line where the unit starts
	startLine  int    // line where the record starts
	units      int    // units completed
	skipErr    *DecodeError
}

func (st *stream) begin(line int) {
	st.reset()
	st.active = true
	st.startLine = line
}

func (st *stream) reset() {
	st.active = false
	st.mode = 0
	st.depth = 0
	st.open = st.open[:0]
	st.inStr, st.esc, st.skipScalar = false, false, false
	st.collecting, st.over = false, false
	st.acc = st.acc[:0]
	st.units = 0
	st.skipErr = nil
}

// put adds c to the unit being collected.
func (st *stream) put(c byte, max int) {
	if !st.collecting || st.over {
		return
	}
	if len(st.acc) >= max {
		st.over = true
		st.acc = st.acc[:0]
		return
	}
	st.acc = append(st.acc, c)
}

// base returns the depth of the containers holding the units of the mode.
func (st *stream) base() int {
	if st.mode == modeItems {
		return 2
	}
	return 1
}

// feed processes the rest of the current line of a record spanning lines.
// It returns when a unit is ready (r.recs then holds it), when the record
// ends, at the end of the line, or with an error.
func (r *Reader) feed() error {
	st := &r.st
	b := r.cur
	for r.pos < len(b) {
		c := b[r.pos]
		r.pos++
		if st.inStr {
			st.put(c, r.max)
			switch {
			case st.esc:
				st.esc = false
			case c == '\\':
				st.esc = true
			case c == '"':
				st.inStr = false
			}
			continue
		}
		if st.skipScalar {
			if c != ',' && c != ']' && c != '}' && !isSpace[c] {
				continue
			}
			st.skipScalar = false
		}
		if isSpace[c] {
			st.put(c, r.max)
			continue
		}
		unitMode := st.mode == modeArray || st.mode == modeItems
		if unitMode && !st.collecting && st.depth == st.base() && c != ',' && c != ']' {
			if c != '{' && c != '[' {
				// A scalar where a record or item belongs.
				st.units++
				if c == '"' {
					st.inStr = true
				} else {
					st.skipScalar = true
				}
				return decodeErr(r.name, r.line, "%s is not a JSON object", st.unitName())
			}
			st.collecting, st.over = true, false
			st.acc = st.acc[:0]
			st.unitLine = r.line
		}
		switch c {
		case '"':
			st.inStr = true
			st.put(c, r.max)
		case '{', '[':
			if st.depth == 0 {
				st.depth = 1
				st.open = append(st.open[:0], c)
				if c == '{' {
					st.mode = modeObject
					st.collecting, st.over = true, false
					st.acc = append(st.acc[:0], c)
					st.unitLine = r.line
				} else {
					st.mode = modeArray
				}
				continue
			}
			if len(st.open) >= maxDepth {
				return r.structural("nesting too deep")
			}
			if st.mode == modeObject && st.depth == 1 && c == '[' && itemsKey(st.acc) {
				if derr := r.enterItems(); derr != nil {
					return derr
				}
				continue
			}
			st.put(c, r.max)
			st.open = append(st.open, c)
			st.depth++
		case '}', ']':
			if st.depth == 0 {
				return r.structural(fmt.Sprintf("unexpected %s", quoteByte(c)))
			}
			want := byte('{')
			if c == ']' {
				want = '['
			}
			if st.open[len(st.open)-1] != want {
				return r.structural(fmt.Sprintf("unexpected %s", quoteByte(c)))
			}
			st.open = st.open[:len(st.open)-1]
			st.depth--
			st.put(c, r.max)
			switch {
			case unitMode && st.collecting && st.depth == st.base():
				return r.unitDone()
			case st.mode == modeObject && st.depth == 0:
				return r.unitDone()
			case st.mode == modeItems && st.depth == 1:
				st.mode = modeTail
			case st.depth == 0:
				return r.recordDone()
			}
		default:
			st.put(c, r.max)
		}
	}
	// End of line.
	if st.inStr {
		return r.structural("line ends inside a string")
	}
	st.put('\n', r.max)
	r.lineDone = true
	return nil
}

// unitName names the unit being read, for messages.
func (st *stream) unitName() string {
	if st.mode == modeItems {
		return fmt.Sprintf("item %d of the EventList", st.units)
	}
	return fmt.Sprintf("element %d of the array", st.units)
}

// structural reports a record whose structure is broken, abandons it and
// skips lines up to the start of the next record.
func (r *Reader) structural(why string) error {
	derr := decodeErr(r.name, r.line, "malformed record starting at line %d: %s", r.st.startLine, why)
	r.st.reset()
	r.resync = true
	r.lineDone = true
	return derr
}

// itemsKey reports whether acc, the start of a top-level object, ends with
// the member name "items" and its colon.
func itemsKey(acc []byte) bool {
	acc = bytes.TrimRight(acc, " \t\r\n")
	acc, ok := bytes.CutSuffix(acc, []byte{':'})
	if !ok {
		return false
	}
	acc = bytes.TrimRight(acc, " \t\r\n")
	acc, ok = bytes.CutSuffix(acc, []byte(`"items"`))
	if !ok {
		return false
	}
	acc = bytes.TrimRight(acc, " \t\r\n")
	return len(acc) > 0 && (acc[len(acc)-1] == '{' || acc[len(acc)-1] == ',')
}

// enterItems switches from collecting a top-level object to reading the
// items of an EventList one at a time, once the envelope read so far is
// checked.
func (r *Reader) enterItems() error {
	st := &r.st
	var why string
	if st.over {
		why = fmt.Sprintf("EventList envelope larger than %d bytes", r.max)
	} else {
		r.env.buf = append(append(r.env.buf[:0], st.acc...), "[]}"...)
		if err := r.env.parse(); err != nil {
			why = err.Error()
		} else {
			why = envelopeProblem(&r.env, 0)
		}
	}
	st.open = append(st.open, '[')
	st.depth = 2
	st.collecting, st.over = false, false
	st.acc = st.acc[:0]
	if why != "" {
		st.mode = modeSkip
		st.skipErr = decodeErr(r.name, st.startLine, "%s", why)
		return nil
	}
	st.mode = modeItems
	return nil
}

// envelopeProblem checks the kind and apiVersion of the object n, which has
// items, and says what is wrong, or "".
func envelopeProblem(d *doc, n int32) string {
	if k := d.get(n, "kind", -1); k >= 0 && (d.tape[k].kind != kindString || !d.strIs(k, "EventList")) {
		return fmt.Sprintf("kind is %s, not EventList", d.tape[k].rawText(d))
	}
	if v := d.get(n, "apiVersion", -1); v >= 0 && (d.tape[v].kind != kindString ||
		!(d.strIs(v, "audit.k8s.io/v1") || d.strIs(v, "audit.k8s.io/v1beta1"))) {
		return fmt.Sprintf("apiVersion is %s, not audit.k8s.io/v1 or audit.k8s.io/v1beta1", d.tape[v].rawText(d))
	}
	return ""
}

// rawText returns the JSON text of the node for messages, strings quoted.
func (nd node) rawText(d *doc) string {
	if nd.kind == kindString {
		if nd.flags&flagUnescaped != 0 {
			return fmt.Sprintf("%q", d.unesc[nd.start:nd.end])
		}
		return string(d.buf[nd.start-1 : nd.end+1])
	}
	return string(d.buf[nd.start:nd.end])
}

// unitDone parses the unit just collected into r.rec for emission.
func (r *Reader) unitDone() error {
	st := &r.st
	st.units++
	items := st.mode == modeItems
	whole := st.mode == modeObject
	if whole {
		st.active = false
		if err := r.restOfLine(); err != nil {
			return err
		}
	} else {
		st.collecting = false
	}
	what := ""
	switch {
	case items:
		what = fmt.Sprintf("item %d of the EventList: ", st.units)
	case !whole:
		what = fmt.Sprintf("element %d of the array: ", st.units)
	}
	if st.over {
		st.over = false
		if whole {
			return decodeErr(r.name, st.unitLine, "record larger than %d bytes", r.max)
		}
		return decodeErr(r.name, st.unitLine, "%slarger than %d bytes", what, r.max)
	}
	// Hand the collected bytes to rec, and rec's old buffer to acc.
	r.rec.buf, st.acc = st.acc, r.rec.buf[:0]
	if err := r.rec.parse(); err != nil {
		return syntaxDecodeErr(r.name, st.unitLine, r.rec.buf, err, what)
	}
	r.recs.start(&r.rec, r.name, st.unitLine, items, true)
	if items {
		r.recs.itemNo = st.units
	}
	return nil
}

// recordDone ends a streamed array or EventList.
func (r *Reader) recordDone() error {
	st := &r.st
	skipErr := st.skipErr
	st.reset()
	if err := r.restOfLine(); err != nil {
		return err
	}
	if skipErr != nil {
		return skipErr
	}
	return nil
}

// restOfLine checks that nothing but whitespace follows a record ending in
// the middle of the current line.
func (r *Reader) restOfLine() error {
	rest := r.cur[r.pos:]
	r.pos = len(r.cur)
	r.lineDone = true
	for _, c := range rest {
		if !isSpace[c] {
			return decodeErr(r.name, r.line, "unexpected %s after the record", quoteByte(c))
		}
	}
	return nil
}

// records emits the audit events of a parsed record: the record itself, the
// items of an EventList, the elements of an array (recursively).
type records struct {
	d        *doc
	file     string
	line     int  // line where the record starts
	root     bool // the root is yet to be handled
	rootItem bool // the root is an EventList item
	swap     bool // the root event may take the document's buffers
	itemNo   int  // the root's number in its EventList, for messages
	frames   []frame
}

// frame is an array being iterated: its next element and its end.
type frame struct {
	next, end int32
	items     bool // the items of an EventList
	count     int
}

func (rs *records) start(d *doc, file string, line int, item, swap bool) {
	rs.d, rs.file, rs.line = d, file, line
	rs.root, rs.rootItem, rs.swap = true, item, swap
	rs.itemNo = 0
	rs.frames = rs.frames[:0]
}

func (rs *records) active() bool { return rs.root || len(rs.frames) > 0 }

// next loads the next event into ev. done reports that it either did (err
// nil) or found a bad record or item (err a *DecodeError); when done is
// false, no event is left.
func (rs *records) next(ev *Event) (done bool, err error) {
	d := rs.d
	if rs.root {
		rs.root = false
		if rs.rootItem {
			if err := rs.load(ev, 0, true); err != nil {
				return true, decodeErr(rs.file, rs.line, "item %d of the EventList: %v", rs.itemNo, err)
			}
			return true, nil
		}
		derr := rs.visit(ev, 0, &done)
		if derr != nil {
			return true, derr
		}
		if done {
			return true, nil
		}
	}
	for len(rs.frames) > 0 {
		f := &rs.frames[len(rs.frames)-1]
		if f.next >= f.end {
			rs.frames = rs.frames[:len(rs.frames)-1]
			continue
		}
		n := f.next
		f.next = int32(d.tape[n].next)
		f.count++
		if f.items {
			if err := rs.load(ev, n, true); err != nil {
				return true, decodeErr(rs.file, rs.line, "item %d of the EventList: %v", f.count, err)
			}
			return true, nil
		}
		count := f.count
		if derr := rs.visit(ev, n, &done); derr != nil {
			derr.Msg = fmt.Sprintf("%s (element %d of the array)", derr.Msg, count)
			return true, derr
		}
		if done {
			return true, nil
		}
	}
	return false, nil
}

// visit handles value n of a record: it loads an event into ev (done set),
// or pushes the items of an EventList or the elements of an array.
func (rs *records) visit(ev *Event, n int32, done *bool) *DecodeError {
	d := rs.d
	nd := d.tape[n]
	switch nd.kind {
	case kindArray:
		rs.frames = append(rs.frames, frame{next: n + 1, end: int32(nd.next)})
		return nil
	case kindObject:
	default:
		return decodeErr(rs.file, rs.line, "a record must be a JSON object or array")
	}
	if k := d.get(n, "kind", -1); k >= 0 && d.tape[k].kind == kindString && d.strIs(k, "EventList") {
		if why := envelopeProblem(d, n); why != "" {
			return decodeErr(rs.file, rs.line, "%s", why)
		}
		items := d.get(n, "items", -1)
		if items < 0 || d.tape[items].kind != kindArray {
			return decodeErr(rs.file, rs.line, "EventList without an items array")
		}
		rs.frames = append(rs.frames, frame{next: items + 1, end: int32(d.tape[items].next), items: true})
		return nil
	}
	if err := rs.load(ev, n, false); err != nil {
		return decodeErr(rs.file, rs.line, "%v", err)
	}
	*done = true
	return nil
}

// load loads object n into ev, taking the document's buffers when n is the
// root and that is allowed.
func (rs *records) load(ev *Event, n int32, item bool) error {
	if n == 0 && rs.swap {
		return ev.swapIn(rs.d, item)
	}
	return ev.loadFrom(rs.d, n, item)
}

// BodyDecoder decodes webhook request bodies, reusing its buffers from one
// body to the next. It is not safe for concurrent use: use one per
// goroutine. The zero value is ready to use.
type BodyDecoder struct {
	d   doc
	rs  records
	ev  Event
	buf []byte
}

// DecodeBody decodes the audit events of a webhook request body with a new
// BodyDecoder; see BodyDecoder.Decode.
func DecodeBody(data []byte, fn func(*Event) error) error {
	var bd BodyDecoder
	return bd.Decode(data, fn)
}

// Decode decodes the audit events of a webhook request body, an EventList
// or an Event (or an array of them), calling fn with each, in order. It
// reuses one Event for all: fn must not keep it, nor values extracted from
// it, after returning. data is not modified nor retained.
//
// Decode stops and returns the error of fn when fn fails. Items that are
// not audit events are skipped; their *DecodeErrors are returned, joined,
// once the others are handled. Data that is not JSON, or not an audit event
// or EventList, gives a single *DecodeError.
func (bd *BodyDecoder) Decode(data []byte, fn func(*Event) error) error {
	const file = "body"
	d := &bd.d
	d.buf = data
	spaced, err := d.parseOnce()
	if err != nil {
		d.buf = nil
		return syntaxDecodeErr(file, 1, data, err, "")
	}
	if spaced {
		bd.buf = append(bd.buf[:0], data...)
		d.buf = compactInPlace(bd.buf)
		if _, err := d.parseOnce(); err != nil {
			d.buf = nil
			return decodeErr(file, 1, "reparse compacted body: %v", err)
		}
	}
	defer func() { d.buf = nil }() // do not retain data
	d.unesc = d.unesc[:0]
	line := 1 + bytes.Count(data[:len(data)-len(bytes.TrimLeft(data, " \t\r\n"))], []byte{'\n'})
	bd.rs.start(d, file, line, false, false)
	var bad []error
	var num uint64
	for {
		done, err := bd.rs.next(&bd.ev)
		if !done {
			break
		}
		if err != nil {
			bad = append(bad, err)
			continue
		}
		num++
		bd.ev.num = num
		if err := fn(&bd.ev); err != nil {
			return err
		}
	}
	return errors.Join(bad...)
}
