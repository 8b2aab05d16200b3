package rules

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vigilsec/vigil/internal/event"
)

// format is a compiled output string: literal text and fields.
type format struct {
	parts []formatPart
}

type formatPart struct {
	text  string
	field *outField
}

type outField struct {
	key string // as written, e.g. ka.uri.param[command]
	get getter
}

// formatError is a problem with the field at byte off of an output.
type formatError struct {
	off int
	msg string
	err error
}

func (e *formatError) Error() string { return e.msg }
func (e *formatError) Unwrap() error { return e.err }

// compileFormat parses %field and %field[arg] references of an output.
func compileFormat(src event.Source, fields map[string]event.Field, out string) (*format, error) {
	f := &format{}
	var lit strings.Builder
	for i := 0; i < len(out); i++ {
		c := out[i]
		if c != '%' || i+1 >= len(out) || !isIdentStart(out[i+1]) {
			lit.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(out) && (isIdentChar(out[j]) && out[j] != '-') {
			j++
		}
		// A sentence's final dot is not part of the name.
		for j > i+1 && out[j-1] == '.' {
			j--
		}
		name := out[i+1 : j]
		arg, hasArg := "", false
		if j < len(out) && out[j] == '[' {
			if k := strings.IndexByte(out[j:], ']'); k > 0 {
				arg, hasArg = out[j+1:j+k], true
				j += k + 1
			}
		}
		if !strings.Contains(name, ".") {
			lit.WriteString(out[i:j])
			i = j - 1
			continue
		}
		ext, err := src.Extractor(name, arg, hasArg)
		if err != nil {
			msg := fmt.Sprintf("field '%s': %v", name, err)
			if errors.Is(err, event.ErrUnknownField) {
				msg = fmt.Sprintf("unknown field '%s' for source %s", name, src.Name())
			}
			return nil, &formatError{off: i + 1, msg: msg, err: err}
		}
		info := fieldInfo(fields, name, ext)
		if lit.Len() > 0 {
			f.parts = append(f.parts, formatPart{text: lit.String()})
			lit.Reset()
		}
		key := out[i+1 : j]
		f.parts = append(f.parts, formatPart{field: &outField{key: key, get: getter{ext: ext, typ: info.Type, list: info.List}}})
		i = j - 1
	}
	if lit.Len() > 0 {
		f.parts = append(f.parts, formatPart{text: lit.String()})
	}
	return f, nil
}

// render writes the output text and the values of its fields.
func (f *format) render(c *evalCtx) (string, map[string]any) {
	var b strings.Builder
	fields := map[string]any{}
	for _, p := range f.parts {
		if p.field == nil {
			b.WriteString(p.text)
			continue
		}
		c.tb = c.tb[:0]
		vals := p.field.get.get(c, &c.a)
		if len(vals) == 0 {
			b.WriteString("<NA>")
			fields[p.field.key] = nil
			continue
		}
		if p.field.get.list {
			var lb strings.Builder
			lb.WriteByte('(')
			for i, v := range vals {
				if i > 0 {
					lb.WriteByte(',')
				}
				lb.WriteString(valueString(v, p.field.get.typ))
			}
			lb.WriteByte(')')
			s := lb.String()
			b.WriteString(s)
			fields[p.field.key] = s
			continue
		}
		v := vals[0]
		s := valueString(v, p.field.get.typ)
		b.WriteString(s)
		fields[p.field.key] = jsonValue(v, p.field.get.typ, s)
	}
	return b.String(), fields
}

// valueString renders a value as Falco prints it in outputs.
func valueString(v event.Value, t event.FieldType) string {
	switch {
	case t.Textual():
		return strings.Clone(v.Str)
	case t == event.TypeBool:
		if v.Num != 0 {
			return "true"
		}
		return "false"
	case t == event.TypeInt:
		return strconv.FormatInt(int64(v.Num), 10)
	case t.Numeric():
		return strconv.FormatUint(v.Num, 10)
	case t == event.TypeIPAddr:
		return v.IP.String()
	case t == event.TypeIPNet:
		return v.Net.String()
	}
	return ""
}

func jsonValue(v event.Value, t event.FieldType, s string) any {
	switch {
	case t == event.TypeBool:
		return v.Num != 0
	case t == event.TypeInt:
		return int64(v.Num)
	case t.Numeric():
		return v.Num
	}
	return s
}
