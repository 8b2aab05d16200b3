package k8saudit

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// toAny converts node i of d to what encoding/json decodes with UseNumber.
func toAny(d *doc, i int32) any {
	nd := d.tape[i]
	switch nd.kind {
	case kindNull:
		return nil
	case kindTrue:
		return true
	case kindFalse:
		return false
	case kindNumber:
		return json.Number(d.buf[nd.start:nd.end])
	case kindString:
		return strings.Clone(d.str(i))
	case kindArray:
		out := []any{}
		for k := i + 1; k < int32(nd.next); k = int32(d.tape[k].next) {
			out = append(out, toAny(d, k))
		}
		return out
	case kindObject:
		out := map[string]any{}
		for k := i + 1; k < int32(nd.next); k = int32(d.tape[k+1].next) {
			out[strings.Clone(d.str(k))] = toAny(d, k+1)
		}
		return out
	}
	panic("bad node kind")
}

// stdDecode decodes data with encoding/json, numbers as json.Number.
func stdDecode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

func parseString(t testing.TB, s string) (*doc, error) {
	t.Helper()
	d := &doc{buf: []byte(s)}
	return d, d.parse()
}

func TestParseValid(t *testing.T) {
	tests := []string{
		`{}`, `[]`, `0`, `-0`, `-12.5e+10`, `1E-3`, `true`, `false`, `null`, `""`,
		` {"a" : [ 1 , 2 , {"b" : null} ] , "c" : "d" } `,
		"{\n  \"a\": {\n    \"b\": [\n      true,\n      false\n    ]\n  }\n}\n",
		`{"esc":"a\"b\\c\/d\b\f\n\r\t","u":"\u00e9\u4e2d\ud83d\ude00","lone":"\ud83d","low":"\ude00x","pair?":"\ud83d\u0041"}`,
		`{"utf8":"é中😀","k\u0065y":1,"":""}`,
		`[[],{},[[]],{"a":{}},"x"]`,
		`{"dup":1,"dup":2}`,
		`{"long":"` + strings.Repeat("abcdefgh", 40) + `","s":"` + strings.Repeat(`\"`, 9) + `"}`,
	}
	for _, in := range tests {
		t.Run(in, func(t *testing.T) {
			d, err := parseString(t, in)
			require.NoError(t, err)
			want, err := stdDecode([]byte(in))
			require.NoError(t, err)
			require.Equal(t, want, toAny(d, 0))
			var compact bytes.Buffer
			require.NoError(t, json.Compact(&compact, []byte(in)))
			require.Equal(t, compact.String(), string(d.raw(0)), "compact text of the root")
			require.Equal(t, len(d.tape), int(d.tape[0].next), "root spans the tape")
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		in        string
		truncated bool
		msg       string
	}{
		{"", true, "no JSON value"},
		{"  \n", true, "no JSON value"},
		{`{`, true, "end of input"},
		{`{"a":`, true, "end of input"},
		{`{"a":1,`, true, "end of input"},
		{`[1,2`, true, "end of input"},
		{`"abc`, true, "end of input in string"},
		{`"ab\`, true, "end of input in string"},
		{`"\u12`, true, "end of input in string"},
		{`tru`, true, "end of input"},
		{`-`, true, "end of input in number"},
		{`1.`, true, "end of input in number"},
		{`1e+`, true, "end of input in number"},
		{`{"a" 1}`, false, `want ':'`},
		{`[1 2]`, false, `want ',' or ']'`},
		{`{"a":1 "b":2}`, false, `want ',' or '}'`},
		{`{"a":1}}`, false, "after the value"},
		{`{"a":1} x`, false, "after the value"},
		{`01`, false, "after the value"},
		{`{a:1}`, false, "want a member name"},
		{`[1,]`, false, "unexpected ']'"},
		{`{"a":1,}`, false, "want a member name"},
		{`{"a":]`, false, "unexpected ']'"},
		{`[}`, false, "unexpected '}'"},
		{`[1}`, false, "unexpected '}' in array"},
		{`{"a":1]`, false, "unexpected ']' in object"},
		{"\"a\x01\"", false, "control character"},
		{`"\q"`, false, "invalid escape"},
		{`"\u12g4"`, false, `invalid \u escape`},
		{`nul`, true, "end of input"},
		{`nulx`, false, "invalid literal"},
		{`+1`, false, "unexpected '+'"},
		{`1.e5`, false, "digit after '.'"},
		{`1ex`, false, "digit in the exponent"},
		{`-a`, false, "invalid number"},
		{strings.Repeat("[", maxDepth+1), false, "nesting too deep"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.False(t, json.Valid([]byte(tt.in)), "test input must be invalid JSON")
			_, err := parseString(t, tt.in)
			var se *syntaxError
			require.ErrorAs(t, err, &se)
			require.Equal(t, tt.truncated, se.truncated, "truncated: %v", err)
			require.Contains(t, err.Error(), tt.msg)
			require.LessOrEqual(t, se.off, len(tt.in))
		})
	}
}

func TestParseReusesBuffers(t *testing.T) {
	var d doc
	big := compactFixture(t, "pod_create.json")
	for _, in := range [][]byte{big, []byte(`{"a":"b"}`), big} {
		d.buf = append(d.buf[:0], in...)
		require.NoError(t, d.parse())
		want, err := stdDecode(in)
		require.NoError(t, err)
		require.Equal(t, want, toAny(&d, 0))
	}
	allocs := testing.AllocsPerRun(100, func() {
		d.buf = append(d.buf[:0], big...)
		if err := d.parse(); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs, "parsing into grown buffers must not allocate")
}

func TestAppendIndentMatchesEncodingJSON(t *testing.T) {
	inputs := []string{`{}`, `[]`, `{"a":[],"b":{},"c":[1,{"d":"},:[]{"}]}`, `"x"`, `[[[]]]`, `{"s":"\"{\\"}`}
	files, err := filepath.Glob("testdata/*.json")
	require.NoError(t, err)
	for _, f := range files {
		inputs = append(inputs, string(compactFixture(t, filepath.Base(f))))
	}
	for _, in := range inputs {
		var want bytes.Buffer
		require.NoError(t, json.Indent(&want, []byte(in), "", "  "))
		require.Equal(t, want.String(), string(appendIndent(nil, []byte(in))), "input %s", in)
	}
}

// FuzzParse checks the parser against encoding/json on arbitrary input,
// and that nothing in the package panics or loops on it.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(compactFixture(f, filepath.Base(name)))
		f.Add(data[:len(data)/2])
	}
	list := compactFixture(f, "eventlist.json")
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, list, "", "  "); err != nil {
		f.Fatal(err)
	}
	exec := compactFixture(f, "pod_exec.json")
	f.Add(pretty.Bytes())
	f.Add(pretty.Bytes()[:pretty.Len()*2/3])
	f.Add(append(append(bytes.Clone(list[:len(list)/2]), '\n'), exec...))
	f.Add(append(append(append(bytes.Clone(exec), '\n'), list...), exec...))
	f.Add([]byte("[\n" + string(exec) + ",\n  7\n]\n{\n \"items\": [\n  \"x\"]}\n"))
	for _, s := range []string{`{"a":[1,2,{"b":"\u00e9"}]}`, `[{"kind":"Event"}]`, "{\n", `"\ud83d\ude00"`, `1e5`, "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := &doc{buf: bytes.Clone(data)}
		err := d.parse()
		valid := json.Valid(data)
		if (err == nil) != valid {
			t.Fatalf("parse error %v, but json.Valid = %v", err, valid)
		}
		if err == nil {
			checkValidDoc(t, d, data)
		} else {
			var se *syntaxError
			if !errors.As(err, &se) || se.off < 0 || se.off > len(data) {
				t.Fatalf("bad syntax error %#v", err)
			}
		}
		fuzzDecoders(t, data)
	})
}

func checkValidDoc(t *testing.T, d *doc, data []byte) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		t.Fatal(err)
	}
	raw := d.raw(0)
	if !bytes.Equal(raw, compact.Bytes()) {
		t.Fatalf("compact text %q, want %q", raw, compact.Bytes())
	}
	if utf8.Valid(data) {
		want, err := stdDecode(data)
		if err != nil {
			t.Fatal(err)
		}
		if got := toAny(d, 0); !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %#v, want %#v", got, want)
		}
	}
	var ind bytes.Buffer
	if err := json.Indent(&ind, compact.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	if got := appendIndent(nil, compact.Bytes()); !bytes.Equal(got, ind.Bytes()) {
		t.Fatalf("indent %q, want %q", got, ind.Bytes())
	}
}

// fuzzDecoders runs every decoder of the package on data: none may panic,
// loop, or fail with anything but a DecodeError.
func fuzzDecoders(t *testing.T, data []byte) {
	orig := bytes.Clone(data)
	var ev Event
	if err := ev.Decode(data); err == nil {
		extractAll(t, &ev)
	} else if !errors.Is(err, ErrNotAuditEvent) {
		t.Fatalf("Decode: %v", err)
	}
	err := DecodeBody(data, func(e *Event) error { extractAll(t, e); return nil })
	if err != nil && !errors.Is(err, ErrNotAuditEvent) {
		t.Fatalf("DecodeBody: %v", err)
	}
	if !bytes.Equal(data, orig) {
		t.Fatal("DecodeBody modified its input")
	}
	for _, max := range []int{0, 16} {
		r := NewReader(bytes.NewReader(data), "fuzz")
		r.SetMaxLineSize(max)
		for n := 0; ; n++ {
			if n > len(data)+10 {
				t.Fatal("Reader does not terminate")
			}
			err := r.Next(&ev)
			if err == io.EOF {
				break
			}
			var de *DecodeError
			switch {
			case err == nil:
				extractAll(t, &ev)
			case errors.As(err, &de):
				if de.Line < 1 || !strings.HasPrefix(de.Msg, ErrNotAuditEvent.Error()) {
					t.Fatalf("bad DecodeError %#v", de)
				}
			default:
				t.Fatalf("Next: %v", err)
			}
		}
	}
}

// extractAll runs every extractor on ev.
func extractAll(t *testing.T, ev *Event) {
	for _, x := range allExtractors(t) {
		x.Extract(ev, nil)
	}
}
