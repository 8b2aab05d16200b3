package policy

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/respond"
	"github.com/vigilsec/vigil/internal/store"
	"github.com/vigilsec/vigil/internal/store/sqlite"
)

// env is an engine over a real SQLite store, acting on real processes.
type env struct {
	t       *testing.T
	dir     string
	db      *sqlite.Store
	eng     *Engine
	mu      sync.Mutex
	results []Result
	now     time.Time
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	db, err := sqlite.Open(t.Context(), filepath.Join(e.dir, "vigil.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	e.db = db
	cfg.OnResult = func(_ *alert.Alert, _ string, r Result) {
		e.mu.Lock()
		e.results = append(e.results, r)
		e.mu.Unlock()
	}
	cfg.Now = func() time.Time {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.now
	}
	x := NewExecutor(ExecutorConfig{Respond: respond.Config{DataDir: e.dir}, DataDir: e.dir})
	eng, err := New(t.Context(), cfg, x, &StoreTimeline{Store: db, Wait: 5 * time.Second})
	require.NoError(t, err)
	e.eng = eng
	return e
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// sleeper starts a host process and returns an alert raised by it, stored.
func (e *env) sleeper(rule string) (*exec.Cmd, *alert.Alert) {
	e.t.Helper()
	start := time.Now()
	cmd := exec.Command("sleep", "60")
	require.NoError(e.t, cmd.Start())
	e.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	exe, _ := exec.LookPath("sleep")
	a := &alert.Alert{Time: time.Now(), Rule: rule, Priority: "Critical", Source: "syscall", Hostname: "h",
		Output:  "sleep started pid=" + strconv.Itoa(cmd.Process.Pid),
		Context: &alert.Context{Provenance: &alert.Provenance{Process: alert.Proc{PID: int64(cmd.Process.Pid), Exe: exe, StartTime: start}}}}
	require.NoError(e.t, e.db.Insert(e.t.Context(), []*alert.Alert{a}))
	return cmd, a
}

func alive(cmd *exec.Cmd) bool {
	// Reap if it exited, then probe.
	var ws syscall.WaitStatus
	pid, _ := syscall.Wait4(cmd.Process.Pid, &ws, syscall.WNOHANG, nil)
	return pid == 0
}

// timeline returns the action entries of the stored alert a.
func (e *env) timeline(a *alert.Alert, n int) []store.TimelineEntry {
	e.t.Helper()
	id, err := (&StoreTimeline{Store: e.db}).ID(e.t.Context(), a)
	require.NoError(e.t, err)
	var got []store.TimelineEntry
	require.Eventually(e.t, func() bool {
		d, err := e.db.Detail(e.t.Context(), id)
		require.NoError(e.t, err)
		got = nil
		for _, x := range d.Timeline {
			if x.Kind == store.KindAction {
				got = append(got, x)
			}
		}
		return len(got) >= n
	}, 5*time.Second, 10*time.Millisecond)
	return got
}

func (e *env) send(a *alert.Alert) {
	e.t.Helper()
	require.True(e.t, e.eng.Accept(a))
	require.NoError(e.t, e.eng.Send(context.Background(), a))
}

func (e *env) audit() []respond.AuditEntry {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, respond.AuditFile))
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(e.t, err)
	var out []respond.AuditEntry
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var x respond.AuditEntry
		require.NoError(e.t, json.Unmarshal([]byte(l), &x))
		out = append(out, x)
	}
	return out
}

func hostKill(name string) Policy {
	return Policy{Name: name, Rules: []string{"Miner*"}, Host: true, Actions: []Step{{Action: respond.ActionKillProcess}}}
}

func TestEngineKillsHostProcessAndRecords(t *testing.T) {
	e := newEnv(t, Config{Policies: []Policy{hostKill("kill-miners")}})
	cmd, a := e.sleeper("Miner started")
	e.send(a)
	tl := e.timeline(a, 1)
	require.Equal(t, "policy:kill-miners", tl[0].Actor)
	require.Contains(t, tl[0].Text, "kill-process pid "+strconv.Itoa(cmd.Process.Pid)+": ok")
	require.Eventually(t, func() bool { return !alive(cmd) }, 2*time.Second, 10*time.Millisecond)
	au := e.audit()
	require.Len(t, au, 1)
	require.Equal(t, "kill-process", au[0].Action)
	require.Equal(t, "ok", au[0].Result)
	require.Contains(t, au[0].CommandLine, "actor=policy:kill-miners")
	require.Equal(t, uint64(1), e.eng.Stats().Actions)
}

func TestEngineDryRun(t *testing.T) {
	p := hostKill("dry")
	p.DryRun = true
	p.Actions = append(p.Actions, Step{Action: respond.ActionBlockExec})
	e := newEnv(t, Config{Policies: []Policy{p}})
	cmd, a := e.sleeper("Miner started")
	e.send(a)
	tl := e.timeline(a, 2)
	require.Contains(t, tl[0].Text, "kill-process pid "+strconv.Itoa(cmd.Process.Pid)+": dry-run (would kill-process pid ")
	require.Contains(t, tl[1].Text, "block-exec exe ")
	require.Contains(t, tl[1].Text, ": dry-run (would block-exec ")
	require.Contains(t, tl[1].Text, "sha256 of")
	require.True(t, alive(cmd), "dry run must not kill")
	require.Nil(t, e.audit(), "dry run writes no audit line")
	_, err := os.Stat(filepath.Join(e.dir, respond.BlockListFile))
	require.ErrorIs(t, err, os.ErrNotExist, "dry run must not block")
	require.Equal(t, uint64(2), e.eng.Stats().DryRun)
}

func TestEngineRateLimit(t *testing.T) {
	p := hostKill("limited")
	p.MaxActionsPerMinute = 2
	e := newEnv(t, Config{Policies: []Policy{p}, Workers: 1})
	var cmds []*exec.Cmd
	var alerts []*alert.Alert
	for range 4 {
		c, a := e.sleeper("Miner started")
		cmds, alerts = append(cmds, c), append(alerts, a)
	}
	for _, a := range alerts[:3] {
		e.send(a)
	}
	tl := e.timeline(alerts[2], 1)
	require.Contains(t, tl[0].Text, "rate limit of 2 actions per minute reached")
	require.Equal(t, StatusSkipped, strings.Fields(tl[0].Text)[2])
	require.Eventually(t, func() bool { return !alive(cmds[0]) && !alive(cmds[1]) }, 2*time.Second, 10*time.Millisecond)
	require.True(t, alive(cmds[2]), "over the limit: left alone")
	require.Equal(t, uint64(1), e.eng.Stats().RateLimited)
	// Half a minute refills one token.
	e.advance(30 * time.Second)
	e.send(alerts[3])
	require.Contains(t, e.timeline(alerts[3], 1)[0].Text, ": ok")
	require.Eventually(t, func() bool { return !alive(cmds[3]) }, 2*time.Second, 10*time.Millisecond)
}

func TestEngineSkips(t *testing.T) {
	pause := Policy{Name: "contain", Actions: Expand(nil, true)}
	e := newEnv(t, Config{Policies: []Policy{pause, hostKill("host-ok")},
		Exclude: Exclude{Namespaces: []string{"kube-system"}, Images: []string{"registry.local/*"}}})
	stored := func(a *alert.Alert) *alert.Alert {
		a.Time, a.Hostname, a.Source, a.Priority = time.Now(), "h", "syscall", "Warning"
		require.NoError(t, e.db.Insert(t.Context(), []*alert.Alert{a}))
		return a
	}
	ctr := func(ns, image string) *alert.Alert {
		return stored(&alert.Alert{Rule: "Shell " + ns + image, Output: ns + image, Context: &alert.Context{
			Container:  &alert.ContainerInfo{ID: strings.Repeat("ab", 32), Image: image, Pod: &alert.PodInfo{Namespace: ns}},
			Provenance: &alert.Provenance{Process: alert.Proc{PID: 99999999}}}})
	}
	for _, tc := range []struct {
		name string
		a    *alert.Alert
		want []string
	}{
		{"namespace allow-listed", ctr("kube-system", "nginx"), []string{"skipped (namespace kube-system is on the response allow-list (never touched))"}},
		{"image allow-listed", ctr("shop", "registry.local/agent"), []string{"skipped (image registry.local/agent is on the response allow-list"}},
		{"host process, policy without host", stored(&alert.Alert{Rule: "Shell on host", Output: "x",
			Context: &alert.Context{Provenance: &alert.Provenance{Process: alert.Proc{PID: 1234}}}}), []string{"skipped (host process"}},
		{"no target", stored(&alert.Alert{Rule: "K8s secret read", Output: "y"}), []string{"skipped (the alert has no container or process)"}},
		{"gone container: capture and pause fail", ctr("shop", "nginx"), []string{
			"capture container abababababab: failed: ", "pause container abababababab: failed: "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.send(tc.a)
			tl := e.timeline(tc.a, len(tc.want))
			require.Len(t, tl, len(tc.want))
			for i, w := range tc.want {
				require.Contains(t, tl[i].Text, w)
				require.Equal(t, "policy:contain", tl[i].Actor)
			}
		})
	}
	st := e.eng.Stats()
	require.Equal(t, uint64(2), st.Excluded)
	require.Equal(t, uint64(2), st.Failed)
}

func TestEngineQueueFullDrops(t *testing.T) {
	p := hostKill("q")
	p.DryRun = true
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // workers drop everything: the queue fills
	x := NewExecutor(ExecutorConfig{})
	eng, err := New(ctx, Config{Policies: []Policy{p}, QueueSize: 2, Workers: 1}, x, nil)
	require.NoError(t, err)
	a := &alert.Alert{Rule: "Miner started"}
	start := time.Now()
	for range 1000 {
		require.NoError(t, eng.Send(t.Context(), a))
	}
	require.Less(t, time.Since(start), time.Second, "Send never blocks")
	require.NoError(t, eng.Close())
	st := eng.Stats()
	require.Equal(t, uint64(1000), st.Matched+st.Dropped)
	require.Greater(t, st.Dropped, uint64(900))
	require.ErrorIs(t, eng.Send(t.Context(), a), alert.ErrClosed)
}

func TestEngineConfigErrors(t *testing.T) {
	x := NewExecutor(ExecutorConfig{})
	_, err := New(t.Context(), Config{Policies: []Policy{hostKill("a"), hostKill("a")}}, x, nil)
	require.ErrorContains(t, err, "policy a: duplicate name")
	_, err = New(t.Context(), Config{Policies: []Policy{{Name: "b"}}}, x, nil)
	require.ErrorContains(t, err, "policy b: no actions")
}

func BenchmarkAcceptSend(b *testing.B) {
	p := Policy{Name: "p", Rules: []string{"Never*"}, Actions: []Step{{Action: "pause"}}}
	eng, err := New(b.Context(), Config{Policies: []Policy{p}}, NewExecutor(ExecutorConfig{}), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	a := &alert.Alert{Rule: "Terminal shell in container", Priority: "Warning", Source: "syscall"}
	b.ReportAllocs()
	for b.Loop() {
		if eng.Accept(a) {
			b.Fatal("accepted")
		}
	}
}
