//go:build e2erespond

package respond

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/app"
	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/forensics"
	"github.com/vigilsec/vigil/internal/respond"
	"github.com/vigilsec/vigil/internal/respond/policy"
	"github.com/vigilsec/vigil/internal/respond/target"
)

// nearestRank returns the p-quantile of d by the nearest-rank method (for
// 30 samples p99 is the largest).
func nearestRank(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(i, 0)]
}

type policyEvent struct {
	a *alert.Alert
	r policy.Result
}

// TestPolicyE2E runs vigil run in-process with the eBPF sensor and a
// policy "capture, then pause" on a syscall rule; a process of a runc
// container trips the rule again and again. Each time the container must
// be frozen by the policy; the time from the alert (the event's time) to
// the kernel reporting the cgroup frozen is measured.
func TestPolicyE2E(t *testing.T) {
	c := startContainer(t)
	const rounds = 40
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rules, []byte(`
- rule: Policy trigger read
  desc: the e2e trigger file is opened
  condition: evt.type in (open, openat) and fd.name endswith /vigil-policy-trigger
  output: "trigger read by %proc.name (container_id=%container.id)"
  priority: CRITICAL
  tags: [e2e]
`), 0o600))
	c.sh("echo x > /tmp/vigil-policy-trigger")

	events := make(chan policyEvent, 4*rounds)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	var logs bytes.Buffer
	var logMu sync.Mutex
	logw := writerFunc(func(p []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return logs.Write(p) })
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, app.RunOptions{Listen: "127.0.0.1:0", Rules: []string{rules}, DataDir: filepath.Join(dir, "data"),
			Sensor: app.SensorOptions{Mode: app.SensorOn}, Auth: app.AuthOptions{Disabled: true}, Version: "e2e",
			Stdout: io.Discard, Stderr: logw, Logger: slog.New(slog.NewTextHandler(logw, nil)),
			Ready: func(addr string) { ready <- addr },
			Response: app.ResponseOptions{
				Policies: []policy.Policy{{Name: "contain-e2e", Rules: []string{"Policy trigger*"}, Tags: []string{"e2e"},
					MinPriority: "Critical", Sources: []string{"syscall"}, Actions: policy.Expand(nil, true)}},
				OnResult: func(a *alert.Alert, _ string, r policy.Result) { events <- policyEvent{a, r} },
			}})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(20 * time.Second):
			t.Error("vigil run did not stop")
		}
		if t.Failed() {
			logMu.Lock()
			t.Logf("vigil run log:\n%s", logs.String())
			logMu.Unlock()
		}
	})
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		if err != nil && strings.Contains(err.Error(), "sensor") {
			t.Skipf("the eBPF sensor cannot run here: %v", err)
		}
		t.Fatalf("vigil run: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("vigil run not ready in 60 s")
	}

	tcfg := target.Config{Sockets: []container.Socket{}}
	tg, err := target.Resolve(ctx, c.id, tcfg)
	require.NoError(t, err)
	r := respond.New(respond.Config{Target: tcfg})

	var byEngine, byPoller, byPause, byStart, byPollerScan, byPollerPID []time.Duration
	var bundles []string
	var lastAlert *alert.Alert
	for i := range rounds {
		frozen, _ := tg.Frozen()
		require.False(t, frozen, "round %d starts thawed", i)
		// The poller sees the freeze independently of the engine.
		seen := make(chan time.Time, 1)
		pctx, pcancel := context.WithCancel(ctx)
		go func() {
			for pctx.Err() == nil {
				if f, err := tg.Frozen(); err == nil && f {
					seen <- time.Now()
					return
				}
				time.Sleep(500 * time.Microsecond)
			}
		}()
		// Even rounds: cat alone, gone when the policy acts (the
		// container is found by its id: a scan of /proc). Odd rounds: cat
		// from a shell that lives on (found through the shell's pid).
		args := []string{"--root", c.runcRoot, "exec", c.id, "/bin/cat", "/tmp/vigil-policy-trigger"}
		if i%2 == 1 {
			args = []string{"--root", c.runcRoot, "exec", c.id, "/bin/sh", "-c", "cat /tmp/vigil-policy-trigger; sleep 0.3"}
		}
		trig := exec.Command("runc", args...)
		require.NoError(t, trig.Start())
		var capture, pause *policyEvent
		deadline := time.After(15 * time.Second)
		for pause == nil {
			select {
			case ev := <-events:
				switch ev.r.Action {
				case policy.ActionCapture:
					capture = &ev
				case respond.ActionPause:
					pause = &ev
				default:
					t.Fatalf("round %d: unexpected result %s", i, ev.r.Text())
				}
			case <-deadline:
				t.Fatalf("round %d: no pause within 15 s", i)
			}
		}
		var frozenAt time.Time
		select {
		case frozenAt = <-seen:
		case <-time.After(2 * time.Second):
			t.Fatalf("round %d: the poller never saw the container frozen", i)
		}
		pcancel()
		require.NotNil(t, capture, "round %d: capture before pause", i)
		require.Equal(t, policy.StatusOK, capture.r.Status, capture.r.Text())
		require.Contains(t, capture.r.Detail, "frozen before the capture")
		require.Equal(t, policy.StatusOK, pause.r.Status, pause.r.Text())
		require.Same(t, capture.a, pause.a)
		bundles = append(bundles, capture.r.Bundle)
		lastAlert = pause.a
		at := pause.a.Time
		// The freeze happens at the start of the capture; the pause that
		// follows finds the container frozen and keeps it so.
		byPoller = append(byPoller, frozenAt.Sub(at))
		if i%2 == 0 {
			byPollerScan = append(byPollerScan, frozenAt.Sub(at))
		} else {
			byPollerPID = append(byPollerPID, frozenAt.Sub(at))
		}
		require.False(t, capture.r.Frozen.IsZero())
		byEngine = append(byEngine, capture.r.Frozen.Sub(at))
		byPause = append(byPause, pause.r.Done.Sub(at))
		byStart = append(byStart, capture.r.Start.Sub(at))
		_, err := r.Unpause(ctx, c.id)
		require.NoError(t, err)
		require.NoError(t, trig.Wait(), "the trigger finishes once thawed")
	}
	t.Logf("alert → container frozen (poller, 0.5 ms polling), %d alerts: p50 %s, p99 %s, max %s", rounds,
		nearestRank(byPoller, 0.5), nearestRank(byPoller, 0.99), slices.Max(byPoller))
	t.Logf("  of which the alerting process was gone (container found by id), %d alerts: p50 %s, p99 %s", len(byPollerScan),
		nearestRank(byPollerScan, 0.5), nearestRank(byPollerScan, 0.99))
	t.Logf("  of which its shell lived on (container found by pid), %d alerts: p50 %s, p99 %s", len(byPollerPID),
		nearestRank(byPollerPID, 0.5), nearestRank(byPollerPID, 0.99))
	t.Logf("alert → frozen as the engine reports it (freeze before the capture), %d alerts: p50 %s, p99 %s", rounds,
		nearestRank(byEngine, 0.5), nearestRank(byEngine, 0.99))
	t.Logf("alert → the policy's first action starts (sensor, rules, pipeline, fanout, queue), %d alerts: p50 %s, p99 %s", rounds,
		nearestRank(byStart, 0.5), nearestRank(byStart, 0.99))
	t.Logf("alert → pause step done (after the capture of %d processes), %d alerts: p50 %s, p99 %s", len(tg.Procs), rounds,
		nearestRank(byPause, 0.5), nearestRank(byPause, 0.99))
	// The target is p99 ≤ 100 ms; on a shared 2-core machine under load
	// the tail reaches it, so the hard bound is 250 ms unless
	// VIGIL_E2E_STRICT=1 asks for the target itself.
	bound := 250 * time.Millisecond
	if os.Getenv("VIGIL_E2E_STRICT") == "1" {
		bound = 100 * time.Millisecond
	}
	if p := nearestRank(byPoller, 0.99); p > 100*time.Millisecond {
		t.Logf("p99 alert → frozen %s is above the 100 ms target (load average matters: see /proc/loadavg)", p)
	}
	require.LessOrEqual(t, nearestRank(byPoller, 0.5), 100*time.Millisecond, "p50 alert → frozen")
	require.LessOrEqual(t, nearestRank(byPoller, 0.99), bound, "p99 alert → frozen")

	// The bundles are complete and verify.
	m, err := forensics.Verify(bundles[0])
	require.NoError(t, err)
	require.NotEmpty(t, m.Files)

	// The timeline of the alert shows the capture and the pause, by the
	// policy; then an admin acts on it from the API.
	base := "http://" + addr
	id := alertID(t, base, lastAlert)
	tl := timeline(t, base, id, 2)
	require.Equal(t, "policy:contain-e2e", tl[0].Actor)
	require.Contains(t, tl[0].Text, "capture container "+c.id[:12]+": ok")
	require.Contains(t, tl[0].Text, "bundle "+bundles[len(bundles)-1])
	require.Equal(t, "policy:contain-e2e", tl[1].Actor)
	require.Contains(t, tl[1].Text, "pause container "+c.id[:12]+": ok")

	code, body := post(t, base, id, `{"action":"pause"}`)
	require.Equal(t, http.StatusBadRequest, code, body)
	code, body = post(t, base, id, `{"action":"pause","confirm":true}`)
	require.Equal(t, http.StatusOK, code, body)
	frozen, err := tg.Frozen()
	require.NoError(t, err)
	require.True(t, frozen)
	code, body = post(t, base, id, `{"action":"unpause","confirm":true}`)
	require.Equal(t, http.StatusOK, code, body)
	frozen, err = tg.Frozen()
	require.NoError(t, err)
	require.False(t, frozen)
	tl = timeline(t, base, id, 4)
	require.Equal(t, "anonymous", tl[2].Actor)
	require.Contains(t, tl[2].Text, "pause container "+c.id[:12]+": ok")
	require.Contains(t, tl[3].Text, "unpause container "+c.id[:12]+": ok")

	// The audit log has a line per action.
	b, err := os.ReadFile(filepath.Join(dir, "data", respond.AuditFile))
	require.NoError(t, err)
	require.GreaterOrEqual(t, strings.Count(string(b), `"action":"capture"`), rounds)
	require.Contains(t, string(b), "actor=policy:contain-e2e")
	require.Contains(t, string(b), "actor=anonymous")
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

type tlEntry struct {
	Kind, Actor, Text string
}

// alertID finds the stored alert a through the API.
func alertID(t *testing.T, base string, a *alert.Alert) int64 {
	t.Helper()
	var id int64
	require.Eventually(t, func() bool {
		res, err := http.Get(base + "/api/v1/alerts?limit=500")
		require.NoError(t, err)
		defer res.Body.Close()
		var page struct {
			Items []struct {
				ID   int64     `json:"id"`
				Time time.Time `json:"time"`
				Rule string    `json:"rule"`
			} `json:"items"`
		}
		require.NoError(t, json.NewDecoder(res.Body).Decode(&page))
		for _, it := range page.Items {
			if it.Rule == a.Rule && it.Time.Equal(a.Time) {
				id = it.ID
				return true
			}
		}
		return false
	}, 5*time.Second, 50*time.Millisecond)
	return id
}

// timeline returns the action entries of alert id once there are n.
func timeline(t *testing.T, base string, id int64, n int) []tlEntry {
	t.Helper()
	var out []tlEntry
	require.Eventually(t, func() bool {
		res, err := http.Get(fmt.Sprintf("%s/api/v1/alerts/%d", base, id))
		require.NoError(t, err)
		defer res.Body.Close()
		var d struct {
			Timeline []tlEntry `json:"timeline"`
		}
		require.NoError(t, json.NewDecoder(res.Body).Decode(&d))
		out = out[:0]
		for _, e := range d.Timeline {
			if e.Kind == "action" {
				out = append(out, e)
			}
		}
		return len(out) >= n
	}, 15*time.Second, 50*time.Millisecond)
	return out
}

func post(t *testing.T, base string, id int64, body string) (int, string) {
	t.Helper()
	res, err := http.Post(fmt.Sprintf("%s/api/v1/alerts/%d/actions", base, id), "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
