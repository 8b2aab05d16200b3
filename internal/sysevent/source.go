// Package sysevent describes the syscall event source to the rules engine:
// its field registry (Falco's evt.*, proc.*, thread.*, user.*, group.*,
// fd.*, fs.path.*, container.*, k8s.* and syscall.* fields) and the table of
// event type names that evt.type takes, so that Falco's syscall rules can be
// validated, compiled and evaluated.
//
// The eBPF sensor assembles one *Event per kernel event (SetType prepares
// its arguments after Falco's event table, see ParamSpecs); the extractors
// Source.Extractor compiles read Falco's fields out of it, rendered as
// Falco (libsinsp) renders them, without allocating.
package sysevent

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/vigilsec/vigil/internal/event"
)

// SourceName is the name of the syscall source, the value of a rule's
// `source` key.
const SourceName = "syscall"

// TypeField is the field whose values are event type names.
const TypeField = "evt.type"

// ErrFieldArg is wrapped by the errors Source.Extractor returns for a known
// field with a missing, superfluous or malformed argument.
var ErrFieldArg = event.ErrFieldArg

// fieldIndex maps a field name to its index in fieldTable. Built once at
// init, then read-only.
var fieldIndex = func() map[string]int {
	m := make(map[string]int, len(fieldTable))
	for i, f := range fieldTable {
		m[f.Name] = i
	}
	return m
}()

// Source is the syscall event source. Its zero value is ready to use; all
// its tables are shared and read-only.
type Source struct{}

var _ event.Source = Source{}

// Name returns "syscall".
func (Source) Name() string { return SourceName }

// TypeField returns "evt.type".
func (Source) TypeField() string { return TypeField }

// Fields returns a copy of the field registry. Fields that take their
// argument after a dot as well as in brackets (evt.arg.NAME, evt.rawarg.NAME,
// evt.type.is.NAME, thread.cgroup.NAME and the *.label.NAME fields) are
// listed once, under their bare name.
func (Source) Fields() []event.Field { return slices.Clone(fieldTable) }

// EventTypes returns a copy of the event type names evt.type takes: the
// x86_64 system calls, the syscalls Falco knows from other architectures
// and Falco's other event names (procexit, switch, container, asyncevent,
// ...). Index 0 is "unknown", so that the zero TypeCode means unknown. The
// order is alphabetical after index 0; codes are not stable across versions
// and must not be stored.
func (Source) EventTypes() []string { return slices.Clone(eventTypes) }

// TypeCode returns the index of the event type name in EventTypes, for the
// sensor to set an event's TypeCode. It returns false for an unknown name.
func (Source) TypeCode(name string) (int, bool) {
	c, ok := typeCodes[name]
	return c, ok
}

// Compiled is the extractor Source.Extractor returns: the registry entry a
// field reference resolved to and its argument. Rules engines may read it to
// learn the type of a reference such as evt.rawarg.res, which is not listed
// under that name in Fields.
type Compiled struct {
	// Field is the registry entry. For evt.rawarg its Type is the type of
	// the named event argument.
	Field event.Field
	// Arg is the argument, written in brackets or after a dot.
	Arg string
	// HasArg tells whether an argument was written.
	HasArg bool

	fn  extractFn // chosen once by Extractor: no lookup by name per event
	idx int       // the argument as an index (or evt.type.is's type code); -1 for none
}

// FieldInfo returns c.Field, so that a rules engine can learn the resolved
// type through a small interface without importing this package.
func (c *Compiled) FieldInfo() event.Field { return c.Field }

// Extract appends the field's values for ev, which must be an *Event; it
// appends nothing for events of other sources or when the field has no
// value for ev. Text values may point into ev. It allocates nothing once
// ev's scratch buffer has grown to the size of its rendered text.
func (c *Compiled) Extract(ev event.Event, dst []event.Value) []event.Value {
	e, ok := ev.(*Event)
	if !ok || c.fn == nil {
		return dst
	}
	return c.fn(c, e, dst)
}

// Extractor resolves a field reference and checks its argument. name may
// carry the argument after a dot for the fields that allow it
// (evt.arg.flags, evt.type.is.open, k8s.pod.label.app); arg and hasArg are
// the bracket argument. An unknown name gives an error wrapping
// event.ErrUnknownField; a missing required argument, an argument given to
// a field that takes none, or a malformed one gives an error wrapping
// ErrFieldArg.
//
// The returned extractor is a *Compiled.
func (Source) Extractor(name, arg string, hasArg bool) (event.Extractor, error) {
	f, dotArg, dotted, ok := lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w %q in source %s", event.ErrUnknownField, name, SourceName)
	}
	if dotted {
		if hasArg {
			return nil, fmt.Errorf("field %s: argument %q given both after a dot and in brackets: %w", f.Name, arg, ErrFieldArg)
		}
		arg, hasArg = dotArg, true
	}
	if err := checkArg(f, arg, hasArg); err != nil {
		return nil, err
	}
	if f.Name == "evt.rawarg" {
		f.Type = event.TypeString
		if t, ok := rawArgTypes[arg]; ok {
			f.Type = t
		}
	}
	c := &Compiled{Field: f, Arg: arg, HasArg: hasArg, fn: extractors[f.Name], idx: -1}
	switch {
	case f.Name == "evt.type.is":
		if code, known := typeCodes[arg]; known {
			c.idx = code
		} else if n, err := strconv.Atoi(arg); err == nil {
			c.idx = n
		}
	case hasArg && isIndex(arg) && f.Name != "proc.env" && f.Name != "container.label" && f.Name != "k8s.pod.label":
		n, err := strconv.Atoi(arg)
		if err != nil {
			return nil, fmt.Errorf("field %s: index %q out of range: %w", f.Name, arg, ErrFieldArg)
		}
		c.idx = n
	}
	return c, nil
}

// lookup finds name in the registry, either exactly or as a field that
// takes its argument after a dot; dotted then reports the argument.
func lookup(name string) (f event.Field, arg string, dotted, ok bool) {
	if i, found := fieldIndex[name]; found {
		return fieldTable[i], "", false, true
	}
	// Longest prefix first: k8s.pod.label.a.b has prefix k8s.pod.label.
	for i := len(name) - 1; i > 0; i-- {
		if name[i] != '.' || !dotArgFields[name[:i]] {
			continue
		}
		return fieldTable[fieldIndex[name[:i]]], name[i+1:], true, true
	}
	return event.Field{}, "", false, false
}

// checkArg validates the argument of f.
func checkArg(f event.Field, arg string, hasArg bool) error {
	if err := event.CheckArg(f, arg, hasArg, argExample(f)); err != nil || !hasArg {
		return err
	}
	switch f.Name {
	case "evt.arg":
		if !isIndex(arg) && !isParamName(arg) {
			return fmt.Errorf("field %s: argument %q is neither an index nor an argument name: %w", f.Name, arg, ErrFieldArg)
		}
	case "evt.rawarg":
		if !isParamName(arg) {
			return fmt.Errorf("field %s: argument %q is not an argument name (evt.rawarg takes names, not indexes): %w", f.Name, arg, ErrFieldArg)
		}
	case "evt.type.is":
		if _, known := typeCodes[arg]; !known && !isIndex(arg) {
			return fmt.Errorf("field %s: unknown event type %q: %w", f.Name, arg, ErrFieldArg)
		}
	}
	return nil
}

// argExample shows how an argument is written for f.
func argExample(f event.Field) string {
	if dotArgFields[f.Name] {
		return f.Name + ".NAME"
	}
	if f.Arg == event.ArgIndex {
		return f.Name + "[0]"
	}
	return f.Name + "[NAME]"
}

// isIndex reports whether s is a decimal non-negative integer.
func isIndex(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// isParamName reports whether s is spelled like an event argument name:
// letters, digits and underscores, not all digits.
func isParamName(s string) bool {
	if s == "" || isIndex(s) {
		return false
	}
	for _, r := range s {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
