package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// capture is one file of real kube-apiserver audit events, one per line.
type capture struct {
	Name   string   // base name
	Path   string   // absolute path
	Events [][]byte // its lines
}

// readCaptures reads ruleset/testdata/real/*.jsonl, in name order.
func readCaptures(t testing.TB) []capture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(realDir(), "*.jsonl"))
	require.NoError(t, err)
	require.NotEmpty(t, paths, "no captures in %s", realDir())
	var out []capture
	for _, p := range paths {
		out = append(out, readCapture(t, filepath.Base(p)))
	}
	return out
}

func readCapture(t testing.TB, name string) capture {
	t.Helper()
	p := filepath.Join(realDir(), name)
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	c := capture{Name: name, Path: p}
	for _, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			c.Events = append(c.Events, l)
		}
	}
	return c
}

// auditEvent is the part of an audit event the tests look at.
type auditEvent struct {
	Kind           string `json:"kind"`
	AuditID        string `json:"auditID"`
	Verb           string `json:"verb"`
	StageTimestamp string `json:"stageTimestamp"`
	ObjectRef      struct {
		Resource string `json:"resource"`
	} `json:"objectRef"`
}

func decodeEvent(t testing.TB, line []byte) auditEvent {
	t.Helper()
	var ev auditEvent
	require.NoError(t, json.Unmarshal(line, &ev))
	require.Equal(t, "Event", ev.Kind)
	return ev
}

// alertTime is the time of an alert for an audit event: its stageTimestamp,
// in RFC 3339 UTC with nine fractional digits.
func alertTime(t testing.TB, ev auditEvent) string {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, ev.StageTimestamp)
	require.NoError(t, err)
	return ts.UTC().Format("2006-01-02T15:04:05.000000000Z")
}

// realWant reads ruleset/testdata/real.want: for each capture file and
// 1-based event number, the rules the event fires, in load order.
func realWant(t testing.TB) map[string]map[int][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(moduleRoot, "ruleset", "testdata", "real.want"))
	require.NoError(t, err)
	want := map[string]map[int][]string{}
	for i, l := range strings.Split(string(data), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		ref, rule, ok := strings.Cut(l, " ")
		require.True(t, ok, "real.want:%d: %q", i+1, l)
		file, num, ok := strings.Cut(ref, ":")
		if want[file] == nil {
			want[file] = map[int][]string{}
		}
		if !ok {
			require.Equal(t, "-", rule, "real.want:%d", i+1)
			continue
		}
		n, err := strconv.Atoi(num)
		require.NoError(t, err, "real.want:%d", i+1)
		want[file][n] = append(want[file][n], rule)
	}
	return want
}

// alertKeys are the keys of Falco's json_output, in Falco's order.
var alertKeys = []string{"hostname", "output", "output_fields", "priority", "rule", "source", "tags", "time"}

var (
	alertTimeRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$`)
	falcoPrioRe = regexp.MustCompile(`^(Emergency|Alert|Critical|Error|Warning|Notice|Informational|Debug)$`)
)

// alertJSON is one alert line.
type alertJSON struct {
	Hostname     string         `json:"hostname"`
	Output       string         `json:"output"`
	OutputFields map[string]any `json:"output_fields"`
	Priority     string         `json:"priority"`
	Rule         string         `json:"rule"`
	Source       string         `json:"source"`
	Tags         []string       `json:"tags"`
	Time         string         `json:"time"`
}

// checkAlert checks that line is one alert in Falco's json_output schema and
// returns it.
func checkAlert(t testing.TB, line string) alertJSON {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	tok, err := dec.Token()
	require.NoError(t, err, "alert %q", line)
	require.Equal(t, json.Delim('{'), tok, "alert %q", line)
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var v json.RawMessage
		require.NoError(t, dec.Decode(&v))
	}
	require.Equal(t, alertKeys, keys, "keys of alert %q", line)

	var a alertJSON
	dec = json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&a))
	require.False(t, dec.More())
	require.Regexp(t, alertTimeRe, a.Time)
	ts, err := time.Parse(time.RFC3339Nano, a.Time)
	require.NoError(t, err)
	require.Regexp(t, falcoPrioRe, a.Priority)
	require.Equal(t, "k8s_audit", a.Source)
	require.NotEmpty(t, a.Rule)
	require.NotNil(t, a.Tags, "tags must be an array")
	require.NotNil(t, a.OutputFields, "output_fields must be an object")
	for k, v := range a.OutputFields {
		switch v.(type) {
		case nil, string, float64, bool:
		default:
			t.Fatalf("alert %q: output_fields[%q] is %T, want a string, number, boolean or null", a.Rule, k, v)
		}
	}
	require.True(t, strings.HasPrefix(a.Output, ts.Format("15:04:05.000000000")+": "+a.Priority+" "),
		"output %q does not start with the event's time and the priority", a.Output)
	host, err := os.Hostname()
	require.NoError(t, err)
	require.Equal(t, host, a.Hostname)
	return a
}

// summaryRe is replay's summary line on stderr.
var summaryRe = regexp.MustCompile(`^replay: (\d+) events, (\d+) alerts, (\d+) malformed records in (\S+) \((\d+) events/s\)$`)

// replaySummary is replay's summary line.
type replaySummary struct {
	Events, Alerts, Malformed int
	Elapsed                   time.Duration
	Rate                      int
}

// parseSummary checks that the last line of stderr is replay's summary
// and returns it.
func parseSummary(t testing.TB, lastLine string) replaySummary {
	t.Helper()
	m := summaryRe.FindStringSubmatch(lastLine)
	require.NotNil(t, m, "last line of stderr is not the summary: %q", lastLine)
	var s replaySummary
	s.Events, _ = strconv.Atoi(m[1])
	s.Alerts, _ = strconv.Atoi(m[2])
	s.Malformed, _ = strconv.Atoi(m[3])
	s.Rate, _ = strconv.Atoi(m[5])
	var err error
	s.Elapsed, err = time.ParseDuration(m[4])
	require.NoError(t, err, "duration of %q", lastLine)
	return s
}

// lastLine returns the last line of the file at path.
func lastLineOf(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	last := ""
	for sc.Scan() {
		last = sc.Text()
	}
	require.NoError(t, sc.Err())
	return last
}
