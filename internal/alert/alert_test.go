package alert

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// ts is 2026-11-23T10:00:00.123456789Z.
var ts = time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC)

func shellAlert() *Alert {
	return &Alert{
		Time:     ts,
		Rule:     "Terminal shell in container",
		Priority: "Notice",
		Source:   "syscall",
		Output:   "A shell was spawned in a container with an attached terminal (evt_type=execve user=root process=bash proc_exepath=/usr/bin/bash parent=runc command=bash -c ls <x> & y terminal=34816 exe_flags=EXE_WRITABLE container_id=8a1b2c3d4e5f container_name=web)",
		OutputFields: map[string]any{
			"evt.type":                "execve",
			"user.name":               "root",
			"proc.name":               "bash",
			"proc.exepath":            "/usr/bin/bash",
			"proc.pname":              "runc",
			"proc.cmdline":            "bash -c ls <x> & y",
			"proc.tty":                uint64(34816),
			"evt.arg.flags":           "EXE_WRITABLE",
			"container.id":            "8a1b2c3d4e5f",
			"container.name":          "web",
			"k8s.ns.name":             nil,
			"proc.vpid":               int64(1),
			"proc.is_exe_upper_layer": false,
		},
		Tags:     []string{"maturity_stable", "container", "shell", "mitre_execution", "T1059"},
		Hostname: "node-1",
	}
}

func k8sAlert() *Alert {
	return &Alert{
		Time:     time.Date(2026, 11, 23, 11, 30, 5, 0, time.FixedZone("CET", 3600)),
		Rule:     "Attach/Exec Pod",
		Priority: "Notice",
		Source:   "k8s_audit",
		Output:   "Attach/Exec to pod (user=admin pod=web-0 resource=pods ns=default action=exec command=\"sh\"\t)",
		OutputFields: map[string]any{
			"ka.user.name":          "admin",
			"ka.target.name":        "web-0",
			"ka.uri.param[command]": "sh",
		},
		Hostname: "vigil-0",
	}
}

func TestMarshalJSONGolden(t *testing.T) {
	var got bytes.Buffer
	for _, a := range []*Alert{shellAlert(), k8sAlert()} {
		b, err := a.AppendJSON(nil)
		require.NoError(t, err)
		got.Write(b)
		got.WriteByte('\n')
	}
	golden := filepath.Join("testdata", "alerts.golden.jsonl")
	if *update {
		require.NoError(t, os.WriteFile(golden, got.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), got.String())
}

// falcoPayload mirrors falcosidekick's types.FalcoPayload, the struct it
// decodes Falco's json_output into.
type falcoPayload struct {
	UUID         string         `json:"uuid,omitempty"`
	Output       string         `json:"output"`
	Priority     string         `json:"priority"`
	Rule         string         `json:"rule"`
	Time         time.Time      `json:"time"`
	OutputFields map[string]any `json:"output_fields"`
	Source       string         `json:"source"`
	Tags         []string       `json:"tags,omitempty"`
	Hostname     string         `json:"hostname,omitempty"`
}

func TestMarshalJSONSchema(t *testing.T) {
	tests := []struct {
		name       string
		alert      *Alert
		wantTime   string
		wantOutput string
	}{
		{
			name:       "utc with nanoseconds",
			alert:      shellAlert(),
			wantTime:   "2026-11-23T10:00:00.123456789Z",
			wantOutput: "10:00:00.123456789: Notice A shell was spawned",
		},
		{
			name:       "other zone converted, zero fraction kept",
			alert:      k8sAlert(),
			wantTime:   "2026-11-23T10:30:05.000000000Z",
			wantOutput: "10:30:05.000000000: Notice Attach/Exec to pod",
		},
		{
			name:       "empty alert",
			alert:      &Alert{Time: time.Unix(0, 5).UTC()},
			wantTime:   "1970-01-01T00:00:00.000000005Z",
			wantOutput: "00:00:00.000000005:  ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.alert)
			require.NoError(t, err)

			// Exactly Falco's keys, in Falco's (sorted) order.
			dec := json.NewDecoder(bytes.NewReader(b))
			var keys []string
			tok, err := dec.Token()
			require.NoError(t, err)
			require.Equal(t, json.Delim('{'), tok)
			for dec.More() {
				k, err := dec.Token()
				require.NoError(t, err)
				keys = append(keys, k.(string))
				var skip json.RawMessage
				require.NoError(t, dec.Decode(&skip))
			}
			require.Equal(t, []string{"hostname", "output", "output_fields", "priority", "rule", "source", "tags", "time"}, keys)

			var raw map[string]any
			require.NoError(t, json.Unmarshal(b, &raw))
			require.Equal(t, tt.wantTime, raw["time"])
			require.True(t, strings.HasPrefix(raw["output"].(string), tt.wantOutput), "output %q", raw["output"])
			require.NotNil(t, raw["tags"], "tags must be an array, not null")
			require.NotNil(t, raw["output_fields"], "output_fields must be an object, not null")

			// falcosidekick decodes it without loss.
			var p falcoPayload
			dec = json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&p))
			require.True(t, p.Time.Equal(tt.alert.Time), "time %s != %s", p.Time, tt.alert.Time)
			require.Equal(t, tt.alert.Rule, p.Rule)
			require.Equal(t, tt.alert.Priority, p.Priority)
			require.Equal(t, tt.alert.Source, p.Source)
			require.Equal(t, tt.alert.Hostname, p.Hostname)
			require.Equal(t, tt.alert.Text(), p.Output)
			require.Equal(t, len(tt.alert.Tags), len(p.Tags))
			for i := range p.Tags {
				require.Equal(t, tt.alert.Tags[i], p.Tags[i], "tag order")
			}
			require.Len(t, p.OutputFields, len(tt.alert.OutputFields))
		})
	}
}

func TestMarshalJSONValues(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  string
	}{
		{"nil", nil, `null`},
		{"string", "a", `"a"`},
		{"html kept", "<a>&b", `"<a>&b"`},
		{"escapes", "q\"b\\n\nr\rt\tc\x01", `"q\"b\\n\nr\rt\tc\u0001"`},
		{"invalid utf8", "a\xffb", `"a\ufffdb"`},
		{"line separator", "a\u2028b\u2029", `"a\u2028b\u2029"`},
		{"unicode kept", "é☃", `"é☃"`},
		{"bool", true, `true`},
		{"int", -3, `-3`},
		{"int8", int8(-8), `-8`},
		{"int32", int32(-32), `-32`},
		{"int64", int64(math.MinInt64), `-9223372036854775808`},
		{"uint16", uint16(16), `16`},
		{"uint64", uint64(math.MaxUint64), `18446744073709551615`},
		{"float64", 1.5, `1.5`},
		{"float32", float32(0.25), `0.25`},
		{"strings", []string{"a", "b\""}, `["a","b\""]`},
		{"empty strings", []string{}, `[]`},
		{"other via encoding/json", map[string]int{"x": 1}, `{"x":1}`},
		{"other html kept", []any{"<"}, `["<"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &Alert{Time: ts, OutputFields: map[string]any{"f": tt.value}}
			b, err := a.AppendJSON(nil)
			require.NoError(t, err)
			require.True(t, json.Valid(b), "%s", b)
			want := `"output_fields":{"f":` + tt.want + `}`
			require.Contains(t, string(b), want)
		})
	}
}

func TestMarshalJSONErrors(t *testing.T) {
	tests := []struct {
		name    string
		alert   *Alert
		wantErr string
	}{
		{"nan", &Alert{Rule: "r", Time: ts, OutputFields: map[string]any{"x": math.NaN()}}, `encode alert "r": output field "x": unsupported float value NaN`},
		{"inf32", &Alert{Rule: "r", Time: ts, OutputFields: map[string]any{"x": float32(math.Inf(1))}}, `output field "x": unsupported float value +Inf`},
		{"channel", &Alert{Rule: "r", Time: ts, OutputFields: map[string]any{"c": make(chan int)}}, `output field "c": json: unsupported type`},
		{"year", &Alert{Rule: "r", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, `encode alert "r": time year 10000 outside [0,9999]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("keep")
			b, err := tt.alert.AppendJSON(prefix)
			require.ErrorContains(t, err, tt.wantErr)
			require.Equal(t, "keep", string(b))
			_, err = json.Marshal(tt.alert)
			require.Error(t, err)
		})
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		name  string
		alert *Alert
		want  string
	}{
		{"falco line", &Alert{Time: ts, Priority: "Warning", Output: "Sensitive file opened (file=/etc/shadow)"},
			"10:00:00.123456789: Warning Sensitive file opened (file=/etc/shadow)"},
		{"utc", k8sAlert(), "10:30:05.000000000: Notice " + k8sAlert().Output},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.alert.Text())
			require.Equal(t, "x"+tt.want, string(tt.alert.AppendText([]byte("x"))))
		})
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	a := shellAlert()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = a.AppendJSON(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
