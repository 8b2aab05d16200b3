package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/vigilsec/vigil/internal/event"
)

// testSource is a small source for engine tests: events are maps of field
// name to values.
type testSource struct{}

type testEvent struct {
	typ    int
	fields map[string][]event.Value
}

func (e *testEvent) Source() string   { return "test" }
func (e *testEvent) TypeCode() int    { return e.typ }
func (e *testEvent) Timestamp() int64 { return 1_700_000_000_000_000_000 }

var testTypes = []string{"unknown", "open", "openat", "execve", "connect"}

var testFields = []event.Field{
	{Name: "evt.type", Type: event.TypeString, Desc: "event type"},
	{Name: "t.str", Type: event.TypeString},
	{Name: "t.other", Type: event.TypeString},
	{Name: "t.path", Type: event.TypePath},
	{Name: "t.num", Type: event.TypeUint},
	{Name: "t.int", Type: event.TypeInt},
	{Name: "t.bool", Type: event.TypeBool},
	{Name: "t.ip", Type: event.TypeIPAddr},
	{Name: "t.list", Type: event.TypeString, List: true},
	{Name: "t.arg", Type: event.TypeString, Arg: event.ArgKey, ArgRequired: true},
	{Name: "t.idx", Type: event.TypeString, Arg: event.ArgIndex},
}

func (testSource) Name() string          { return "test" }
func (testSource) Fields() []event.Field { return testFields }
func (testSource) EventTypes() []string  { return testTypes }
func (testSource) TypeField() string     { return "evt.type" }
func (testSource) Extractor(name, arg string, hasArg bool) (event.Extractor, error) {
	f, ok := event.Lookup(testFields, name)
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, event.ErrUnknownField)
	}
	if err := event.CheckArg(f, arg, hasArg, name+"[KEY]"); err != nil {
		return nil, err
	}
	key := name
	if hasArg {
		key = name + "[" + arg + "]"
	}
	if name == "evt.type" {
		return event.ExtractorFunc(func(ev event.Event, dst []event.Value) []event.Value {
			return append(dst, event.Value{Str: testTypes[ev.TypeCode()]})
		}), nil
	}
	return event.ExtractorFunc(func(ev event.Event, dst []event.Value) []event.Value {
		return append(dst, ev.(*testEvent).fields[key]...)
	}), nil
}

// ev builds a test event from "field=value" pairs; list fields take
// several pairs; typ is an event type name.
func ev(typ string, kv ...string) *testEvent {
	e := &testEvent{fields: map[string][]event.Value{}}
	for i, t := range testTypes {
		if t == typ {
			e.typ = i
		}
	}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		name := k
		if i := strings.IndexByte(k, '['); i > 0 {
			name = k[:i]
		}
		f, _ := event.Lookup(testFields, name)
		var val event.Value
		switch {
		case f.Type.Numeric():
			var n int64
			if v == "true" {
				n = 1
			} else {
				fmt.Sscan(v, &n)
			}
			val.Num = uint64(n)
		case f.Type == event.TypeIPAddr:
			val.IP = netip.MustParseAddr(v)
		default:
			val.Str = v
		}
		e.fields[k] = append(e.fields[k], val)
	}
	return e
}
