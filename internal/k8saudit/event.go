package k8saudit

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/vigilsec/vigil/internal/event"
)

// SourceName is the name of the source, the value of a rule's `source` key.
const SourceName = "k8s_audit"

// pluginName is what evt.pluginname yields, after Falco's plugin.
const pluginName = "k8saudit"

// ErrNotAuditEvent is wrapped by the errors reporting data that is not a
// Kubernetes audit event. Its text starts every DecodeError message.
var ErrNotAuditEvent = errors.New("data not recognized as a k8s audit event")

// Well-known members of an audit event, indexed when an event is loaded so
// that extraction does not search the top-level object.
const (
	topAuditID = iota
	topStage
	topVerb
	topRequestURI
	topUser
	topImpersonatedUser
	topObjectRef
	topRequestObject
	topResponseObject
	topResponseStatus
	topAnnotations
	topUserAgent
	topSourceIPs
	topStageTimestamp
	topRequestReceivedTimestamp
	topKind
	topAPIVersion
	topLevel
	numTop
)

// topID returns the index of the well-known top-level member key, or -1.
func topID(key string) int {
	switch key {
	case "auditID":
		return topAuditID
	case "stage":
		return topStage
	case "verb":
		return topVerb
	case "requestURI":
		return topRequestURI
	case "user":
		return topUser
	case "impersonatedUser":
		return topImpersonatedUser
	case "objectRef":
		return topObjectRef
	case "requestObject":
		return topRequestObject
	case "responseObject":
		return topResponseObject
	case "responseStatus":
		return topResponseStatus
	case "annotations":
		return topAnnotations
	case "userAgent":
		return topUserAgent
	case "sourceIPs":
		return topSourceIPs
	case "stageTimestamp":
		return topStageTimestamp
	case "requestReceivedTimestamp":
		return topRequestReceivedTimestamp
	case "kind":
		return topKind
	case "apiVersion":
		return topAPIVersion
	case "level":
		return topLevel
	}
	return -1
}

// Event is one Kubernetes audit event. It owns its JSON bytes and their
// parsed form; Decode, Reader.Next and DecodeBody fill it, reusing its
// buffers. The zero value is an empty event, from which no field yields a
// value.
type Event struct {
	d     doc
	top   [numTop]int32
	ts    int64
	num   uint64
	valid bool

	walk    []int32 // scratch node list of one extraction
	scratch []byte  // values built by extraction, valid until reuse
	cache   fmtCache
	gen     uint32 // generation of memo entries valid for this event
	memo    [memoSize]memoEntry
}

// memoSize is the number of entries of the member lookup memo.
const memoSize = 256

// memoEntry remembers that member key of object node parent is node res
// (-1: absent), for the event of generation gen. key is identified by its
// data pointer and length: extractors look up the same compiled strings
// again and again.
type memoEntry struct {
	gen    uint32
	parent int32
	res    int32
	klen   int32
	kptr   uintptr
}

// get returns member key of object node n (see doc.get), remembering the
// answer for the event's next lookups of the same member.
func (e *Event) get(n int32, key string) int32 {
	if n < 0 {
		return -1
	}
	kp := uintptr(unsafe.Pointer(unsafe.StringData(key)))
	h := (uint32(n)*0x9E3779B1 + uint32(kp>>3)*0x85EBCA77) >> 24
	m := &e.memo[h%memoSize]
	if m.gen == e.gen && m.parent == n && m.kptr == kp && m.klen == int32(len(key)) {
		return m.res
	}
	res := e.d.get(n, key, -1)
	*m = memoEntry{gen: e.gen, parent: n, res: res, klen: int32(len(key)), kptr: kp}
	return res
}

var _ event.Event = (*Event)(nil)

// fmtCache holds values formatted once per event, by cache slot.
type fmtCache struct {
	val  [numCache]string
	have uint16
}

// Source returns "k8s_audit".
func (e *Event) Source() string { return SourceName }

// TypeCode returns 0: audit events are of a single type.
func (e *Event) TypeCode() int { return 0 }

// Timestamp returns the event's stageTimestamp, or its
// requestReceivedTimestamp when the former is missing or malformed, in
// nanoseconds since the epoch.
func (e *Event) Timestamp() int64 { return e.ts }

// Num returns the event's number in its stream, counted from 1 by Reader
// and DecodeBody (0 after Decode). It is the value of evt.num.
func (e *Event) Num() uint64 { return e.num }

// Raw returns the event's compact JSON text. It points into the event and
// is valid until the event is reused.
func (e *Event) Raw() []byte {
	if !e.valid || len(e.d.tape) == 0 {
		return nil
	}
	root := e.d.tape[0]
	return e.d.buf[root.start:root.end:root.end]
}

// Decode parses data, one audit Event object, into e. data is copied; e
// keeps no reference to it. An error wraps ErrNotAuditEvent and says why
// data is not an audit event; e is then empty.
func (e *Event) Decode(data []byte) error {
	e.clear()
	e.d.buf = append(e.d.buf[:0], data...)
	if err := e.d.parse(); err != nil {
		return fmt.Errorf("%w: %w", ErrNotAuditEvent, err)
	}
	if err := e.load(false); err != nil {
		return fmt.Errorf("%w: %s", ErrNotAuditEvent, err.Error())
	}
	return nil
}

// clear empties e, keeping its buffers.
func (e *Event) clear() {
	e.gen++
	if e.gen == 0 { // wrapped: entries of old generations could match
		e.memo = [memoSize]memoEntry{}
		e.gen = 1
	}
	e.valid = false
	e.num = 0
	e.ts = 0
	e.d.tape = e.d.tape[:0]
	e.d.unesc = e.d.unesc[:0]
	e.scratch = e.scratch[:0]
	e.cache.have = 0
}

// loadFrom makes e a copy of the value at node idx of src, which must be an
// object, and validates it as an audit event. It copies the value's bytes
// and nodes, so that src is not parsed twice.
func (e *Event) loadFrom(src *doc, idx int32, item bool) error {
	e.clear()
	root := src.tape[idx]
	base := root.start
	e.d.buf = append(e.d.buf[:0], src.buf[root.start:root.end]...)
	nodes := src.tape[idx:root.next]
	copied := true
	for _, nd := range nodes {
		if nd.flags&flagUnescaped != 0 {
			copied = false // its raw offsets are gone: parse again
			break
		}
	}
	if copied {
		e.d.tape = append(e.d.tape[:0], nodes...)
		for k := range e.d.tape {
			nd := &e.d.tape[k]
			nd.start -= base
			nd.end -= base
			nd.next -= uint32(idx)
		}
	} else if err := e.d.parse(); err != nil {
		return err
	}
	return e.load(item)
}

// swapIn makes e hold the document d, which must be parsed, giving d the
// buffers e held, and validates it as an audit event (item: as an item of
// an EventList).
func (e *Event) swapIn(d *doc, item bool) error {
	e.clear()
	e.d, *d = *d, e.d
	d.reset()
	return e.load(item)
}

// load indexes the parsed document of e and validates it as an audit
// event. item tells an element of an EventList's items, which need not
// carry kind and apiVersion.
func (e *Event) load(item bool) error {
	d := &e.d
	for k := range e.top {
		e.top[k] = -1
	}
	if len(d.tape) == 0 || d.tape[0].kind != kindObject {
		return errors.New("not a JSON object")
	}
	root := d.tape[0]
	for k := int32(1); k < int32(root.next); k = int32(d.tape[k+1].next) {
		id := topID(d.str(k))
		if id >= 0 && e.top[id] < 0 {
			e.top[id] = k + 1
		}
	}
	if err := e.recognize(item); err != nil {
		return err
	}
	ts, ok := e.timeOf(topStageTimestamp)
	if !ok {
		ts, ok = e.timeOf(topRequestReceivedTimestamp)
	}
	if !ok {
		return errors.New("no valid stageTimestamp or requestReceivedTimestamp")
	}
	e.ts = ts
	e.valid = true
	return nil
}

// recognize checks that the indexed document is an audit event: kind Event
// (or no kind) and apiVersion audit.k8s.io/v1 or v1beta1 (or none). Without
// both kind and apiVersion, the event must have an auditID and a stage.
func (e *Event) recognize(item bool) error {
	d := &e.d
	kindOK, apiOK := false, false
	if k := e.top[topKind]; k >= 0 {
		if d.tape[k].kind != kindString || d.str(k) != "Event" {
			return fmt.Errorf("kind is %s, not Event", d.text(k))
		}
		kindOK = true
	}
	if k := e.top[topAPIVersion]; k >= 0 {
		if d.tape[k].kind != kindString || !isAuditAPIVersion(d.str(k)) {
			return fmt.Errorf("apiVersion is %s, not audit.k8s.io/v1 or audit.k8s.io/v1beta1", d.text(k))
		}
		apiOK = true
	}
	if !(kindOK && apiOK) || item {
		if e.top[topAuditID] < 0 {
			return errors.New("no auditID")
		}
		if e.top[topStage] < 0 {
			return errors.New("no stage")
		}
	}
	return nil
}

// isAuditAPIVersion reports whether v is an audit API version this package
// reads.
func isAuditAPIVersion(v string) bool {
	return v == "audit.k8s.io/v1" || v == "audit.k8s.io/v1beta1"
}

// timeOf parses the RFC 3339 timestamp at well-known member id.
func (e *Event) timeOf(id int) (int64, bool) {
	k := e.top[id]
	if k < 0 || e.d.tape[k].kind != kindString {
		return 0, false
	}
	return parseRFC3339(e.d.str(k))
}
