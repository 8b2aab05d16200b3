//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// perfEvents is the number of events of the generated replay input.
const perfEvents = 100_000

// writeReplayInput writes n audit events to path, one per line: the real
// captures repeated in order, each copy with a fresh auditID. It returns the
// input's size and the number of alerts the default ruleset raises on it,
// from real.want.
func writeReplayInput(t testing.TB, path string, n int) (size int64, alerts int) {
	t.Helper()
	want := realWant(t)
	type event struct {
		before, after []byte // the line around its auditID's value
		alerts        int
	}
	const key = `"auditID":"`
	var base []event
	for _, c := range readCaptures(t) {
		for i, l := range c.Events {
			before, rest, ok := bytes.Cut(l, []byte(key))
			require.True(t, ok, "%s: event %d without auditID", c.Name, i+1)
			_, after, ok := bytes.Cut(rest, []byte(`"`))
			require.True(t, ok)
			base = append(base, event{before, after, len(want[c.Name][i+1])})
		}
	}
	size, _ = generate(t, path, func(g *genWriter) {
		for i := range n {
			e := base[i%len(base)]
			g.bytes(e.before)
			g.str(key)
			g.str(uuid4(g.rng))
			g.str(`"`)
			g.bytes(e.after)
			g.str("\n")
			alerts += e.alerts
		}
	})
	return size, alerts
}

// uuid4 returns a random version 4 UUID.
func uuid4(rng *rand.Rand) string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		u := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(u >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// TestReplayThroughput replays 100,000 real audit events (the captures
// repeated with fresh auditIDs) and reports the wall time and events/s.
// It checks every alert is raised once per event, and that the peak RSS
// stays bounded.
func TestReplayThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 events: skipped with -short")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "events.jsonl")
	size, wantAlerts := writeReplayInput(t, in, perfEvents)
	stdout, err := os.Create(filepath.Join(dir, "alerts.jsonl"))
	require.NoError(t, err)
	defer stdout.Close()

	r := run(t, invocation{Args: []string{"replay", in}, Stdout: stdout, MeasureRSS: true})
	require.Equal(t, 0, r.Code, "stderr:\n%s", tail(r.Stderr))
	stderr := lines(r.Stderr)
	require.Len(t, stderr, 1, "stderr holds only the summary:\n%s", tail(r.Stderr))
	s := parseSummary(t, stderr[0])
	require.Equal(t, perfEvents, s.Events)
	require.Equal(t, wantAlerts, s.Alerts)
	require.Zero(t, s.Malformed)
	t.Logf("replay of %d events (%.0f MB): wall %s, %.0f events/s (%.1f MB/s); vigil's own count %s, %d events/s; %d alerts; max RSS %.1f MB",
		perfEvents, float64(size)/(1<<20), r.Wall.Round(time.Millisecond), perfEvents/r.Wall.Seconds(),
		float64(size)/(1<<20)/r.Wall.Seconds(), s.Elapsed, s.Rate, s.Alerts, float64(r.MaxRSS)/(1<<20))
	require.Less(t, r.MaxRSS, int64(200<<20), "max RSS of vigil replay")

	// One alert line per (event, rule): fresh auditIDs make them distinct.
	_, err = stdout.Seek(0, 0)
	require.NoError(t, err)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := make(map[string]bool, wantAlerts)
	for sc.Scan() {
		var a struct {
			Rule   string `json:"rule"`
			Fields struct {
				AuditID string `json:"ka.auditid"`
			} `json:"output_fields"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &a))
		require.NotEmpty(t, a.Fields.AuditID, "alert of %s without ka.auditid", a.Rule)
		k := a.Fields.AuditID + "\x00" + a.Rule
		require.False(t, seen[k], "alert %s raised twice for auditID %s", a.Rule, a.Fields.AuditID)
		seen[k] = true
	}
	require.NoError(t, sc.Err())
	require.Len(t, seen, wantAlerts)
}

// BenchmarkReplay100k runs `vigil replay` on 100,000 real audit events,
// alerts to /dev/null, and reports events/s (process start and rules
// loading included).
func BenchmarkReplay100k(b *testing.B) {
	in := filepath.Join(b.TempDir(), "events.jsonl")
	size, _ := writeReplayInput(b, in, perfEvents)
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(b, err)
	defer devnull.Close()
	var maxRSS int64
	b.SetBytes(size)
	for b.Loop() {
		r := run(b, invocation{Args: []string{"replay", in}, Stdout: devnull, MeasureRSS: true})
		if r.Code != 0 {
			b.Fatalf("exit %d: %s", r.Code, r.Stderr)
		}
		maxRSS = max(maxRSS, r.MaxRSS)
	}
	b.ReportMetric(float64(perfEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(maxRSS)/(1<<20), "max-RSS-MB")
}
