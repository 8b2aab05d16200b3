//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/store"
	"github.com/vigilsec/vigil/internal/store/sqlite"
)

// TestRunAggregation posts the same real audit EventList three times to
// `vigil run --sensor off --aggregate-window 2s`: each distinct alert (same
// rule, user and target) is printed once at once, and when the window
// closes one follow-up carries vigil.count, the repeats it stands for. The
// counts add up to every match, on stdout, in the store and in /metrics.
func TestRunAggregation(t *testing.T) {
	c := readCapture(t, "sa_token_read_secrets.jsonl")
	replay := vigil(t, "replay", c.Path)
	require.Equal(t, 0, replay.Code, "stderr:\n%s", replay.Stderr)
	// Group replay's alerts (one EventList) by aggregation key.
	type group struct {
		first string // the alert line
		n     int    // alerts of this key per EventList
	}
	var groups []*group
	byKey := map[string]*group{}
	perList := 0
	for _, l := range lines(replay.Stdout) {
		a := checkAlert(t, l)
		f := a.OutputFields
		k := fmt.Sprint(a.Rule, "|", f["ka.user.name"], "|", f["ka.target.resource"], "|", f["ka.target.subresource"], "|",
			f["ka.target.namespace"], "|", f["ka.target.name"])
		g := byKey[k]
		if g == nil {
			g = &group{first: l}
			byKey[k] = g
			groups = append(groups, g)
		}
		g.n++
		perList++
	}
	require.Less(t, len(groups), perList, "the capture should repeat a key within one EventList")

	const posts = 3
	const window = 2 * time.Second
	dataDir := filepath.Join(t.TempDir(), "data")
	d := startDaemon(t, "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--auth=false",
		"--aggregate-window", window.String())
	d.waitReady()
	start := time.Now()
	for range posts {
		code, reply := d.post(bytes.NewReader(eventList(c.Events)))
		require.Equal(t, http.StatusOK, code, reply)
	}
	// The first alert of each group at once.
	got := d.waitStdout(len(groups), 2*time.Second)
	firstAfter := time.Since(start)
	require.Less(t, firstAfter, window, "first alerts must not wait for the window")
	for i, g := range groups {
		require.Equal(t, g.first, got[i], "first alert %d is replay's, unchanged", i)
	}
	// Then one follow-up per group when its window closes.
	d.waitStdout(2*len(groups), window+5*time.Second)
	require.GreaterOrEqual(t, time.Since(start), window, "follow-ups come when the window closes")
	time.Sleep(200 * time.Millisecond)
	got = d.stdoutLines()
	require.Len(t, got, 2*len(groups), "one first alert and one follow-up per group:\n%s", strings.Join(got, "\n"))
	total := len(groups)
	for i, g := range groups {
		l := got[len(groups)+i]
		a := checkAlert(t, l) // Falco's schema: vigil.count is inside output_fields
		var want alertJSON
		require.NoError(t, json.Unmarshal([]byte(g.first), &want))
		require.Equal(t, want.Rule, a.Rule)
		require.Equal(t, want.Priority, a.Priority)
		n := posts*g.n - 1
		require.EqualValues(t, n, a.OutputFields["vigil.count"], "follow-up of %s", a.Rule)
		require.Contains(t, a.Output, fmt.Sprintf("(vigil.count=%d: %d more within %s)", n, n, window))
		total += n
	}
	require.Equal(t, posts*perList, total, "the counts add up to every match")

	code, metrics := d.get("/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, metrics, fmt.Sprintf("vigil_alerts_aggregated_total %d\n", posts*perList-len(groups)))
	require.Contains(t, metrics, "vigil_alerts_aggregation_groups 0\n")
	require.Contains(t, metrics, `vigil_alerts_dropped_total{stage="queue"} 0`+"\n")

	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-d.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("vigil run did not exit within 15s of SIGTERM")
	}
	require.NoError(t, d.err)
	// The store holds the same rows, follow-ups with their count.
	db, err := sqlite.Open(context.Background(), filepath.Join(dataDir, "vigil.db"))
	require.NoError(t, err)
	defer db.Close()
	st, err := db.Stats(context.Background(), time.Time{}, time.Time{})
	require.NoError(t, err)
	require.EqualValues(t, posts*perList, st.Total, "alerts in the store, weighted by count")
	p, err := db.List(context.Background(), store.Filter{})
	require.NoError(t, err)
	require.Len(t, p.Alerts, 2*len(groups))
}
