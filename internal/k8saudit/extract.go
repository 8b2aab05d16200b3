package k8saudit

import (
	"slices"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/internal/event"
)

// Extraction functions. Their semantics follow Falco's k8saudit plugin
// (pkg/k8saudit/extract.go): a value that is not a string is rendered as its
// compact JSON text, list fields yield nothing when the value is not an
// array, and the per-container fields fan out over arrays met along their
// path. Deviations, where the plugin contradicts its own field
// descriptions, are noted on the functions.

// start returns the node a path starts at, or -1 when the well-known member
// is absent.
func (x *extractor) start(e *Event) int32 {
	if x.top == atRoot {
		return 0
	}
	return e.top[x.top]
}

// resolve follows x.keys from the path start, member by member, and returns
// the node reached or -1.
func (x *extractor) resolve(e *Event) int32 {
	n := x.start(e)
	for _, k := range x.keys {
		if n < 0 {
			return -1
		}
		n = e.get(n, k)
	}
	return n
}

// strValue returns a value holding s.
func strValue(s string) event.Value { return event.Value{Str: s} }

// fnStr yields the value at the path.
func fnStr(x *extractor, e *Event, dst []event.Value) []event.Value {
	if n := x.resolve(e); n >= 0 {
		dst = append(dst, strValue(e.d.text(n)))
	}
	return dst
}

// fnList yields the elements of the array at the path.
func fnList(x *extractor, e *Event, dst []event.Value) []event.Value {
	n := x.resolve(e)
	if n < 0 || e.d.tape[n].kind != kindArray {
		return dst
	}
	return e.appendElems(dst, n)
}

// appendElems appends every element of array node n.
func (e *Event) appendElems(dst []event.Value, n int32) []event.Value {
	end := int32(e.d.tape[n].next)
	for k := n + 1; k < end; k = int32(e.d.tape[k].next) {
		dst = append(dst, strValue(e.d.text(k)))
	}
	return dst
}

// walk collects in e.walk the nodes reached from the path start through
// x.keys, as the plugin's getValuesRecursive does: an array met before a key
// fans out over all its elements (x.index < 0) or selects element x.index,
// and the key then applies to each element; a key "" keeps the value. A
// missing value in a fanned-out element is recorded as -1. walk reports
// false when the path is missing before any fan-out.
func (x *extractor) walk(e *Event) bool {
	e.walk = e.walk[:0]
	n := x.start(e)
	if n < 0 {
		return false
	}
	return e.walkFrom(n, x.keys, x.index)
}

func (e *Event) walkFrom(n int32, keys []string, index int) bool {
	d := &e.d
	for i, k := range keys {
		if d.tape[n].kind == kindArray {
			if index < 0 {
				end := int32(d.tape[n].next)
				for el := n + 1; el < end; el = int32(d.tape[el].next) {
					mark := len(e.walk)
					if !e.walkFrom(el, keys[i:], index) {
						e.walk = append(e.walk[:mark], -1)
					}
				}
				return true
			}
			if n = d.elem(n, index); n < 0 {
				return false
			}
		}
		if k != "" {
			if n = e.get(n, k); n < 0 {
				return false
			}
		}
	}
	e.walk = append(e.walk, n)
	return true
}

// fnWalk yields the text of every value the walk reaches, skipping the
// missing ones.
func fnWalk(x *extractor, e *Event, dst []event.Value) []event.Value {
	if !x.walk(e) {
		return dst
	}
	for _, n := range e.walk {
		if n >= 0 {
			dst = append(dst, strValue(e.d.text(n)))
		}
	}
	return dst
}

// images runs the walk to the container images and reports false when one
// container has none (the plugin then fails the extraction).
func (x *extractor) images(e *Event) bool {
	if !x.walk(e) {
		return false
	}
	for _, n := range e.walk {
		if n < 0 {
			return false
		}
	}
	return true
}

// repository returns the repository part of image, as the plugin computes
// it: up to the first ':', then up to the first '@'.
func repository(image string) string {
	if i := strings.IndexByte(image, ':'); i >= 0 {
		image = image[:i]
	}
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	return image
}

// fnImages yields the image of every container.
func fnImages(x *extractor, e *Event, dst []event.Value) []event.Value {
	if !x.images(e) {
		return dst
	}
	for _, n := range e.walk {
		dst = append(dst, strValue(e.d.text(n)))
	}
	return dst
}

// fnRepos yields the image repository of every container.
func fnRepos(x *extractor, e *Event, dst []event.Value) []event.Value {
	if !x.images(e) {
		return dst
	}
	for _, n := range e.walk {
		dst = append(dst, strValue(repository(e.d.text(n))))
	}
	return dst
}

// fnFirstImage yields the image of the first container.
func fnFirstImage(x *extractor, e *Event, dst []event.Value) []event.Value {
	if !x.images(e) || len(e.walk) == 0 {
		return dst
	}
	return append(dst, strValue(e.d.text(e.walk[0])))
}

// fnFirstRepo yields the image repository of the first container.
func fnFirstRepo(x *extractor, e *Event, dst []event.Value) []event.Value {
	if !x.images(e) || len(e.walk) == 0 {
		return dst
	}
	return append(dst, strValue(repository(e.d.text(e.walk[0]))))
}

// fnAnyTrue yields "true" when a value the walk reaches is JSON true,
// "false" otherwise.
func fnAnyTrue(x *extractor, e *Event, dst []event.Value) []event.Value {
	if !x.walk(e) {
		return dst
	}
	for _, n := range e.walk {
		if n >= 0 && e.d.tape[n].kind == kindTrue {
			return append(dst, strValue("true"))
		}
	}
	return append(dst, strValue("false"))
}

// fnEffective yields, for every container of the list at the path, the
// container's securityContext member x.arg (runAsUser, runAsGroup), else the
// pod's, else "0".
//
// This follows the field's description and Falco's former built-in
// extractor. The plugin reads spec.runAsUser and containers[].runAsUser,
// members pods do not have, and so yields "0" for every container.
func fnEffective(x *extractor, e *Event, dst []event.Value) []event.Value {
	d := &e.d
	ro := x.start(e)
	spec := e.get(ro, "spec")
	if spec < 0 {
		return dst
	}
	pod := e.get(e.get(spec, "securityContext"), x.arg)
	list := e.get(spec, x.keys[1])
	if list < 0 || d.tape[list].kind != kindArray {
		return dst
	}
	end := int32(d.tape[list].next)
	i := 0
	for c := list + 1; c < end; c, i = int32(d.tape[c].next), i+1 {
		if x.index >= 0 && i != x.index {
			continue
		}
		v := e.get(e.get(c, "securityContext"), x.arg)
		switch {
		case v >= 0:
			dst = append(dst, strValue(d.text(v)))
		case pod >= 0:
			dst = append(dst, strValue(d.text(pod)))
		default:
			dst = append(dst, strValue("0"))
		}
	}
	return dst
}

// fnHostPorts yields the hostPort of every container port, or its
// containerPort when hostPort is unset.
func fnHostPorts(x *extractor, e *Event, dst []event.Value) []event.Value {
	if !x.walk(e) {
		return dst
	}
	d := &e.d
	orig := len(dst)
	for _, ports := range e.walk {
		if ports < 0 {
			continue
		}
		if d.tape[ports].kind != kindArray {
			return dst[:orig] // the plugin fails the extraction
		}
		end := int32(d.tape[ports].next)
		for p := ports + 1; p < end; p = int32(d.tape[p].next) {
			if v := d.get(p, "hostPort", -1); v >= 0 {
				dst = append(dst, strValue(d.text(v)))
			} else if v := d.get(p, "containerPort", -1); v >= 0 {
				dst = append(dst, strValue(d.text(v)))
			}
		}
	}
	return dst
}

// fnRulesField yields the elements of the arrays the walk reaches (the
// apiGroups, verbs, ... of every rule, or of rule x.index).
func fnRulesField(x *extractor, e *Event, dst []event.Value) []event.Value {
	if !x.walk(e) {
		return dst
	}
	for _, n := range e.walk {
		if n >= 0 && e.d.tape[n].kind == kindArray {
			dst = e.appendElems(dst, n)
		}
	}
	return dst
}

// fnVolumeTypes yields the member names but "name" of every volume.
func fnVolumeTypes(x *extractor, e *Event, dst []event.Value) []event.Value {
	if !x.walk(e) {
		return dst
	}
	d := &e.d
	for _, n := range e.walk {
		if n < 0 || d.tape[n].kind != kindObject {
			continue
		}
		end := int32(d.tape[n].next)
		for k := n + 1; k < end; k = int32(d.tape[k+1].next) {
			if !d.keyIs(k, "name") {
				dst = append(dst, strValue(d.str(k)))
			}
		}
	}
	return dst
}

// fnHostPathMatch yields "true" when a volume's hostPath is x.arg, or starts
// with it when it ends with '*', and "false" otherwise.
//
// The plugin looks at the first volume only (it passes the key argument's
// index, 0, as an index filter); this checks every volume, as the field's
// description says.
func fnHostPathMatch(x *extractor, e *Event, dst []event.Value) []event.Value {
	if !x.walk(e) {
		return dst
	}
	prefix, isPrefix := strings.CutSuffix(x.arg, "*")
	for _, n := range e.walk {
		if n < 0 {
			continue
		}
		v := e.d.text(n)
		if (isPrefix && strings.HasPrefix(v, prefix)) || v == x.arg {
			return append(dst, strValue("true"))
		}
	}
	return append(dst, strValue("false"))
}

// fnSourceIPs yields the client IP addresses, or the one at x.index.
//
// The plugin reads requestObject.rules[].sourceIPs, a copy-and-paste slip
// that never yields a value; this reads the event's sourceIPs, as the
// field's description says.
func fnSourceIPs(x *extractor, e *Event, dst []event.Value) []event.Value {
	n := x.start(e)
	if n < 0 || e.d.tape[n].kind != kindArray {
		return dst
	}
	if x.index >= 0 {
		if el := e.d.elem(n, x.index); el >= 0 {
			dst = append(dst, strValue(e.d.text(el)))
		}
		return dst
	}
	return e.appendElems(dst, n)
}

// fnTargetPod yields objectRef.name when objectRef.resource is "pods".
func fnTargetPod(x *extractor, e *Event, dst []event.Value) []event.Value {
	ref := x.start(e)
	res := e.d.get(ref, "resource", -1)
	if res < 0 || e.d.tape[res].kind != kindString || e.d.str(res) != "pods" {
		return dst
	}
	if name := e.d.get(ref, "name", -1); name >= 0 {
		dst = append(dst, strValue(e.d.text(name)))
	}
	return dst
}

// subjects returns the subjects array of a binding, or -1.
func (x *extractor) subjects(e *Event) int32 {
	n := x.resolve(e)
	if n < 0 || e.d.tape[n].kind != kindArray {
		return -1
	}
	return n
}

// subjectName returns the name of binding subject s when its kind is
// x.kindArg, or -1.
func (x *extractor) subjectName(e *Event, s int32) int32 {
	k := e.d.get(s, "kind", -1)
	if k < 0 || e.d.tape[k].kind != kindString || e.d.str(k) != x.kindArg {
		return -1
	}
	return e.d.get(s, "name", -1)
}

// fnSubjectNames yields the names of the binding subjects of kind
// x.kindArg.
func fnSubjectNames(x *extractor, e *Event, dst []event.Value) []event.Value {
	subj := x.subjects(e)
	if subj < 0 {
		return dst
	}
	end := int32(e.d.tape[subj].next)
	for s := subj + 1; s < end; s = int32(e.d.tape[s].next) {
		if name := x.subjectName(e, s); name >= 0 {
			dst = append(dst, strValue(e.d.text(name)))
		}
	}
	return dst
}

// fnSubjectNSNames yields namespace:name of the binding subjects of kind
// x.kindArg.
func fnSubjectNSNames(x *extractor, e *Event, dst []event.Value) []event.Value {
	subj := x.subjects(e)
	if subj < 0 {
		return dst
	}
	end := int32(e.d.tape[subj].next)
	for s := subj + 1; s < end; s = int32(e.d.tape[s].next) {
		name := x.subjectName(e, s)
		if name < 0 {
			continue
		}
		mark := len(e.scratch)
		if ns := e.d.get(s, "namespace", -1); ns >= 0 {
			e.scratch = append(e.scratch, e.d.text(ns)...)
		}
		e.scratch = append(e.scratch, ':')
		e.scratch = append(e.scratch, e.d.text(name)...)
		dst = append(dst, strValue(bstr(e.scratch[mark:])))
	}
	return dst
}

// fnConst yields x.arg.
func fnConst(x *extractor, _ *Event, dst []event.Value) []event.Value {
	return append(dst, strValue(x.arg))
}

// fnPointer yields the value at a JSON pointer: fastjson's Value.Get
// semantics, where a key also indexes arrays by its decimal value.
func fnPointer(x *extractor, e *Event, dst []event.Value) []event.Value {
	n := x.start(e)
	for _, k := range x.keys {
		if n < 0 {
			return dst
		}
		idx := -1
		if e.d.tape[n].kind == kindArray {
			if v, err := strconv.Atoi(k); err == nil {
				idx = v
			}
		}
		n = e.d.get(n, k, idx)
	}
	if n < 0 {
		return dst
	}
	return append(dst, strValue(e.d.text(n)))
}

// Slots of the per-event cache of formatted values.
const (
	cacheRawtime = iota
	cacheTime
	cacheTimeS
	cacheISO
	cacheDatetime
	cacheDatetimeS
	cacheObj
	numCache
)

// cached returns the value of slot, formatting it on first use.
func (e *Event) cached(slot int) string {
	if e.cache.have&(1<<slot) != 0 {
		return e.cache.val[slot]
	}
	mark := len(e.scratch)
	switch slot {
	case cacheRawtime:
		e.scratch = strconv.AppendInt(e.scratch, e.ts, 10)
	case cacheTime:
		e.scratch = appendTime(e.scratch, e.ts, layoutTime)
	case cacheTimeS:
		e.scratch = appendTime(e.scratch, e.ts, layoutTimeS)
	case cacheISO:
		e.scratch = appendTime(e.scratch, e.ts, layoutISO)
	case cacheDatetime:
		e.scratch = appendTime(e.scratch, e.ts, layoutDatetime)
	case cacheDatetimeS:
		e.scratch = appendTime(e.scratch, e.ts, layoutDatetimeS)
	case cacheObj:
		e.scratch = appendIndent(e.scratch, e.Raw())
	}
	s := bstr(e.scratch[mark:])
	e.cache.val[slot] = s
	e.cache.have |= 1 << slot
	return s
}

// fnTimeStr yields the event time formatted after x.layout.
func fnTimeStr(x *extractor, e *Event, dst []event.Value) []event.Value {
	return append(dst, strValue(e.cached(x.layout)))
}

// fnObj yields the whole event as JSON indented by two spaces, as the json
// plugin renders json.obj with encoding/json's Indent.
func fnObj(_ *extractor, e *Event, dst []event.Value) []event.Value {
	return append(dst, strValue(e.cached(cacheObj)))
}

// fnNum yields the event number.
func fnNum(_ *extractor, e *Event, dst []event.Value) []event.Value {
	return append(dst, event.Value{Num: e.num})
}

// fnRawtime yields the event time in nanoseconds (layout 0), its seconds
// (1) or its nanoseconds part (2).
func fnRawtime(x *extractor, e *Event, dst []event.Value) []event.Value {
	v := e.ts
	switch x.layout {
	case 1:
		v /= nsPerSec
	case 2:
		v %= nsPerSec
	}
	return append(dst, event.Value{Num: uint64(v)})
}

// appendIndent appends the compact, valid JSON document src indented as
// encoding/json's Indent(dst, src, "", "  ") renders it.
func appendIndent(dst, src []byte) []byte {
	dst = slices.Grow(dst, len(src)+len(src)/2)
	depth := 0
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '"':
			end, _, err := scanString(src, i+1)
			if err != nil { // not valid JSON: copy the rest as is
				return append(dst, src[i:]...)
			}
			dst = append(dst, src[i:end+1]...)
			i = end
		case '{', '[':
			dst = append(dst, c)
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				dst = append(dst, src[i+1])
				i++
				continue
			}
			depth++
			dst = appendNewline(dst, depth)
		case '}', ']':
			depth--
			dst = appendNewline(dst, depth)
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			dst = appendNewline(dst, depth)
		case ':':
			dst = append(dst, ':', ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// indentSpaces holds the indentation appendNewline copies from.
var indentSpaces = strings.Repeat(" ", 256)

// appendNewline appends a newline and depth indentation levels.
func appendNewline(b []byte, depth int) []byte {
	b = append(b, '\n')
	for n := 2 * max(depth, 0); n > 0; n -= len(indentSpaces) {
		b = append(b, indentSpaces[:min(n, len(indentSpaces))]...)
	}
	return b
}

// fnURIParam yields the first value of query parameter x.arg of the request
// URI, URL-decoded, as url.ParseQuery finds it. Like the plugin, it yields
// nothing when the URI or its query is malformed.
func fnURIParam(x *extractor, e *Event, dst []event.Value) []event.Value {
	n := x.start(e)
	if n < 0 {
		return dst
	}
	uri := e.d.text(n)
	for i := 0; i < len(uri); i++ {
		if uri[i] < 0x20 || uri[i] == 0x7f {
			return dst // url.Parse: invalid control character
		}
	}
	if i := strings.IndexByte(uri, '#'); i >= 0 {
		uri = uri[:i]
	}
	pathPart, query, found := strings.Cut(uri, "?")
	if !validEscapes(pathPart) || !found {
		return dst
	}
	// url.ParseQuery fails on any bad pair, even after a match.
	for q := query; q != ""; {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if strings.IndexByte(pair, ';') >= 0 {
			return dst
		}
		k, v, _ := strings.Cut(pair, "=")
		if !validEscapes(k) || !validEscapes(v) {
			return dst
		}
	}
	for q := query; q != ""; {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if !e.queryKeyIs(k, x.arg) {
			continue
		}
		if strings.IndexByte(v, '%') < 0 && strings.IndexByte(v, '+') < 0 {
			return append(dst, strValue(v))
		}
		mark := len(e.scratch)
		e.scratch = appendQueryUnescaped(e.scratch, v)
		return append(dst, strValue(bstr(e.scratch[mark:])))
	}
	return dst
}

// queryKeyIs reports whether the escaped query key k decodes to key.
func (e *Event) queryKeyIs(k, key string) bool {
	if strings.IndexByte(k, '%') < 0 && strings.IndexByte(k, '+') < 0 {
		return k == key
	}
	mark := len(e.scratch)
	e.scratch = appendQueryUnescaped(e.scratch, k)
	eq := bstr(e.scratch[mark:]) == key
	e.scratch = e.scratch[:mark]
	return eq
}

// validEscapes reports whether every '%' of s starts a %XX escape.
func validEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
				return false
			}
			i += 2
		}
	}
	return true
}

// appendQueryUnescaped appends s decoded as url.QueryUnescape does; s must
// pass validEscapes.
func appendQueryUnescaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			dst = append(dst, ' ')
		case '%':
			dst = append(dst, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
