// Package event is the event model shared by every event source and the
// rules engine: the Source contract, field descriptions and extracted values.
//
// A source (syscall, k8s_audit, ...) describes its fields in a registry and,
// for each field used by a rule, hands the engine an Extractor compiled once.
// At evaluation time the engine asks extractors for values into a reused
// buffer, so that evaluating an event allocates nothing.
package event

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// FieldType is the type of the values a field yields. It decides how
// condition operands are parsed and which operators apply.
type FieldType uint8

// Field types, after Falco's parameter types.
const (
	TypeString  FieldType = iota + 1 // text; Value.Str
	TypeInt                          // signed integer; Value.Num as int64
	TypeUint                         // unsigned integer; Value.Num
	TypeBool                         // Value.Num 0 or 1
	TypeIPAddr                       // Value.IP
	TypeIPNet                        // Value.Net
	TypePort                         // Value.Num
	TypeRelTime                      // nanoseconds, Value.Num
	TypeAbsTime                      // nanoseconds since the epoch, Value.Num
	TypeBytes                        // raw buffer; Value.Str holds the bytes
	TypePath                         // file system path; Value.Str
)

var typeNames = [...]string{
	TypeString:  "string",
	TypeInt:     "int64",
	TypeUint:    "uint64",
	TypeBool:    "bool",
	TypeIPAddr:  "ipaddr",
	TypeIPNet:   "ipnet",
	TypePort:    "port",
	TypeRelTime: "reltime",
	TypeAbsTime: "abstime",
	TypeBytes:   "bytebuf",
	TypePath:    "fspath",
}

// String returns the type's name as `vigil fields` prints it.
func (t FieldType) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return "unknown"
}

// Numeric reports whether values of the type are held in Value.Num.
func (t FieldType) Numeric() bool {
	switch t {
	case TypeInt, TypeUint, TypeBool, TypePort, TypeRelTime, TypeAbsTime:
		return true
	}
	return false
}

// Textual reports whether values of the type are held in Value.Str.
func (t FieldType) Textual() bool {
	return t == TypeString || t == TypeBytes || t == TypePath
}

// ArgKind says what a field accepts between brackets, as in
// proc.aname[2] or ka.uri.param[x] or jevt.value[/a/b].
type ArgKind uint8

// Argument kinds.
const (
	ArgNone  ArgKind = iota // no argument allowed
	ArgIndex                // a non-negative integer
	ArgKey                  // any text (a key, a JSON pointer, a name)
)

// Field describes one field of a source's registry.
type Field struct {
	Name        string
	Type        FieldType
	List        bool    // yields zero or more values per event
	Arg         ArgKind // what may follow in brackets
	ArgRequired bool    // the argument must be given
	Desc        string
	// Deprecated marks fields kept for compatibility with older rules.
	Deprecated bool
}

// Value is one extracted value. Which member is set depends on the field's
// FieldType. Str may point into memory owned by the event: it is valid only
// until the event is released and must be copied to be kept.
type Value struct {
	Str string
	Num uint64
	IP  netip.Addr
	Net netip.Prefix
}

// Event is one event of a source. Sources define their own concrete types;
// extractors of that source type-assert it.
type Event interface {
	// Source returns the name of the event's source, e.g. "k8s_audit".
	Source() string
	// TypeCode returns the event's type as an index into the source's
	// EventTypes (0 when the source has a single type).
	TypeCode() int
	// Timestamp returns the event time in nanoseconds since the epoch.
	Timestamp() int64
}

// Extractor reads one compiled field (a name plus its argument) out of
// events of its source.
type Extractor interface {
	// Extract appends the field's values for ev to dst and returns the
	// extended slice. It appends nothing when the field has no value for ev.
	// It must not allocate when dst has room for the values.
	Extract(ev Event, dst []Value) []Value
}

// ExtractorFunc adapts a function to the Extractor interface.
type ExtractorFunc func(ev Event, dst []Value) []Value

// Extract calls f.
func (f ExtractorFunc) Extract(ev Event, dst []Value) []Value { return f(ev, dst) }

// Source describes an event source to the rules engine.
type Source interface {
	// Name is the value of a rule's `source` key, e.g. "syscall".
	Name() string
	// Fields lists the source's field registry.
	Fields() []Field
	// Extractor compiles field name with its bracket argument (hasArg
	// tells whether one was written). It returns an error wrapping
	// ErrUnknownField when the field does not exist, or another error saying
	// why the argument is wrong.
	Extractor(name, arg string, hasArg bool) (Extractor, error)
	// EventTypes lists the source's event type names; an event's TypeCode
	// indexes it. A source with a single kind of event returns nil.
	EventTypes() []string
	// TypeField names the field whose values are event type names
	// ("evt.type"), or "" when the source has a single kind of event.
	TypeField() string
}

// ErrUnknownField is returned by Source.Extractor for a name that is not in
// the registry.
var ErrUnknownField = errors.New("unknown field")

// Lookup finds name in fields. It returns false when absent.
func Lookup(fields []Field, name string) (Field, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// ErrFieldArg is wrapped by the errors of Source.Extractor for a missing,
// unexpected or malformed bracket argument.
var ErrFieldArg = errors.New("bad field argument")

// CheckArg validates the bracket argument of f as its registry entry
// describes it: required or not, none at all, an index (a non-negative
// 64-bit integer) or a non-empty key. example shows how the argument is
// written, for the message when it is missing. Errors wrap ErrFieldArg.
func CheckArg(f Field, arg string, hasArg bool, example string) error {
	switch {
	case !hasArg && f.ArgRequired:
		return fmt.Errorf("field %s requires an argument, as in %s: %w", f.Name, example, ErrFieldArg)
	case !hasArg:
		return nil
	case f.Arg == ArgNone:
		return fmt.Errorf("field %s takes no argument, got [%s]: %w", f.Name, arg, ErrFieldArg)
	case arg == "":
		return fmt.Errorf("field %s: empty argument: %w", f.Name, ErrFieldArg)
	case f.Arg == ArgIndex:
		if _, err := strconv.ParseUint(arg, 10, 64); err != nil {
			return fmt.Errorf("field %s: argument %q is not a non-negative integer: %w", f.Name, arg, ErrFieldArg)
		}
	}
	return nil
}
