package alert

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestAppendFieldsMatchesEncodingJSON checks the fast encoder against encoding/json: both must
// decode to the same value.
func TestAppendFieldsMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		f    map[string]any
		bad  bool
	}{
		{"empty", map[string]any{}, false},
		{"scalars", map[string]any{"s": "a\"b\\c\n\t\r\x01</>&", "b": true, "n": nil, "i": -7, "i32": int32(3),
			"i64": int64(1) << 62, "u64": uint64(1) << 63, "u32": uint32(9), "f": 1.5e-9, "big": 1e300}, false},
		{"unicode and invalid utf8", map[string]any{"ü": "ünï\u2028", "bad": "a\xffb"}, false},
		{"fallback types", map[string]any{"list": []string{"x", "y"}, "obj": map[string]int{"k": 1}, "i8": int8(-1)}, false},
		{"nan", map[string]any{"x": nan()}, true},
		{"channel", map[string]any{"x": make(chan int)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := AppendFields(nil, tt.f, nil)
			if tt.bad {
				if err == nil {
					t.Fatalf("AppendFields = %s, want error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("invalid JSON %s: %v", got, err)
			}
			if err := json.Unmarshal(want, &w); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("AppendFields = %s\nencoding/json = %s", got, want)
			}
		})
	}
}

func nan() float64 { z := 0.0; return z / z }
