// Package alert holds the alert model produced when a rule matches, its
// Falco-compatible encodings (json_output and the text line), and the
// outputs alerts are delivered to: a JSON-lines writer, an append-only file
// and a Fanout that feeds several sinks without letting a slow one block the
// caller.
package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// ErrClosed is returned by Send on a sink or fanout that has been closed.
var ErrClosed = errors.New("alert output closed")

// Alert is one rule match, as Falco reports it.
type Alert struct {
	// Time is when the event that matched happened.
	Time time.Time
	// Rule is the name of the rule that matched.
	Rule string
	// Priority is the rule's priority in Falco's spelling, e.g. "Warning".
	Priority string
	// Source is the event source, e.g. "syscall" or "k8s_audit".
	Source string
	// Output is the rule's rendered output message, without the time and
	// priority prefix Falco adds.
	Output string
	// OutputFields maps each field named in the rule's output, as written
	// (e.g. "proc.name" or "ka.uri.param[command]"), to its value: nil,
	// string, bool, an integer or float type, or anything encoding/json can
	// marshal.
	OutputFields map[string]any
	// Tags are the rule's tags, encoded in the order given.
	Tags []string
	// Hostname is the host the event was seen on.
	Hostname string
	// Context is Vigil's extra context (process provenance, container),
	// nil when none was recorded. It is not part of Falco's json_output:
	// MarshalJSON and AppendJSON leave it out.
	Context *Context
}

const (
	rfc3339Nano9 = "2006-01-02T15:04:05.000000000Z"
	clockNano9   = "15:04:05.000000000"
)

// Text returns the Falco text line of a: the UTC time of the event with
// nanoseconds, the priority and the message, as in
// "10:00:00.123456789: Warning Shell spawned (user=root)". It is also the
// "output" value of the JSON encoding.
func (a *Alert) Text() string {
	return string(a.AppendText(nil))
}

// AppendText appends the text line of a (see Text) to dst and returns the
// extended buffer.
func (a *Alert) AppendText(dst []byte) []byte {
	dst = a.Time.UTC().AppendFormat(dst, clockNano9)
	dst = append(dst, ": "...)
	dst = append(dst, a.Priority...)
	dst = append(dst, ' ')
	return append(dst, a.Output...)
}

// MarshalJSON encodes a in Falco's json_output schema, the one
// falcosidekick accepts: the keys hostname, output, output_fields,
// priority, rule, source, tags and time, in that order. time is RFC 3339
// UTC with nine fractional digits; output is the full text line (see
// Text). Missing tags encode as [] and missing fields as {}.
func (a *Alert) MarshalJSON() ([]byte, error) {
	return a.AppendJSON(nil)
}

// AppendJSON appends the JSON encoding of a (see MarshalJSON), without a
// trailing newline, to dst and returns the extended buffer. Unlike
// json.Marshal it does not escape <, > and &, as Falco does not. On error dst
// is returned unchanged in length.
func (a *Alert) AppendJSON(dst []byte) ([]byte, error) {
	if y := a.Time.UTC().Year(); y < 0 || y > 9999 {
		return dst, fmt.Errorf("encode alert %q: time year %d outside [0,9999]", a.Rule, y)
	}
	start := len(dst)
	dst = append(dst, `{"hostname":`...)
	dst = appendString(dst, a.Hostname)
	dst = append(dst, `,"output":"`...)
	// The time and priority prefix needs escaping only in the priority.
	dst = a.Time.UTC().AppendFormat(dst, clockNano9)
	dst = append(dst, ": "...)
	dst = appendStringBody(dst, a.Priority)
	dst = append(dst, ' ')
	dst = appendStringBody(dst, a.Output)
	dst = append(dst, `","output_fields":`...)
	var err error
	if dst, _, err = AppendFields(dst, a.OutputFields, nil); err != nil {
		return dst[:start], fmt.Errorf("encode alert %q: %w", a.Rule, err)
	}
	dst = append(dst, `,"priority":`...)
	dst = appendString(dst, a.Priority)
	dst = append(dst, `,"rule":`...)
	dst = appendString(dst, a.Rule)
	dst = append(dst, `,"source":`...)
	dst = appendString(dst, a.Source)
	dst = append(dst, `,"tags":[`...)
	for i, t := range a.Tags {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, t)
	}
	dst = append(dst, `],"time":"`...)
	dst = a.Time.UTC().AppendFormat(dst, rfc3339Nano9)
	return append(dst, `"}`...), nil
}

// AppendFields appends the JSON object of output fields f with its keys
// sorted, exactly as the output_fields of AppendJSON. keys is scratch space
// for the key list, returned for reuse.
func AppendFields(dst []byte, f map[string]any, keys []string) ([]byte, []string, error) {
	keys = keys[:0]
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		var err error
		if dst, err = appendValue(dst, f[k]); err != nil {
			return dst, keys, fmt.Errorf("output field %q: %w", k, err)
		}
	}
	return append(dst, '}'), keys, nil
}

// AppendJSONString appends s as a JSON string, escaped as AppendJSON
// escapes strings.
func AppendJSONString(dst []byte, s string) []byte { return appendString(dst, s) }

// appendValue appends the JSON encoding of an output field value.
func appendValue(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, v), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int8:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int16:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case uint8:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case uint64:
		return strconv.AppendUint(dst, v, 10), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return dst, fmt.Errorf("unsupported float value %v", v)
		}
	case float32:
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return dst, fmt.Errorf("unsupported float value %v", v)
		}
	case []string:
		dst = append(dst, '[')
		for i, s := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, s)
		}
		return append(dst, ']'), nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimSuffix(b.Bytes(), []byte("\n"))...), nil
}

// appendString appends s as a quoted JSON string.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendStringBody(dst, s)
	return append(dst, '"')
}

const hexDigits = "0123456789abcdef"

// appendStringBody appends s escaped for the inside of a JSON string:
// quotes, backslashes and control characters are escaped, invalid UTF-8
// becomes U+FFFD, and U+2028/U+2029 are escaped as encoding/json does. HTML
// characters are kept, as Falco keeps them.
func appendStringBody(dst []byte, s string) []byte {
	i := 0
	for j := 0; j < len(s); {
		c := s[j]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				j++
				continue
			}
			dst = append(dst, s[i:j]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			j++
			i = j
			continue
		}
		r, size := utf8.DecodeRuneInString(s[j:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[i:j]...)
			dst = append(dst, `\ufffd`...)
			j += size
			i = j
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[i:j]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			j += size
			i = j
			continue
		}
		j += size
	}
	return append(dst, s[i:]...)
}
