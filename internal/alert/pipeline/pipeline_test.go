package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/metrics"
)

// recorder is a Sender keeping what it was given.
type recorder struct {
	mu     sync.Mutex
	alerts []*alert.Alert
}

func (r *recorder) Send(_ context.Context, a *alert.Alert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.alerts = append(r.alerts, a)
	return nil
}

func (r *recorder) got() []*alert.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*alert.Alert(nil), r.alerts...)
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// sysAlert is a syscall alert of rule by the process exe/cmdline in
// container ctr.
func sysAlert(rule, ctr, exe, cmdline string) *alert.Alert {
	return &alert.Alert{
		Time: t0, Rule: rule, Priority: "Warning", Source: "syscall",
		Output:       fmt.Sprintf("%s by %s (container=%s)", rule, cmdline, ctr),
		OutputFields: map[string]any{"proc.cmdline": cmdline, "container.id": ctr},
		Hostname:     "node-1",
		Context: &alert.Context{Provenance: &alert.Provenance{Process: alert.Proc{
			PID: 42, Exe: exe, Cmdline: cmdline, ContainerID: ctr}}},
	}
}

// auditAlert is an audit alert of rule by user on ns/name of resource.
func auditAlert(rule, user, resource, ns, name string) *alert.Alert {
	return &alert.Alert{
		Time: t0, Rule: rule, Priority: "Notice", Source: "k8s_audit",
		Output: fmt.Sprintf("%s (user=%s target=%s/%s/%s)", rule, user, resource, ns, name),
		OutputFields: map[string]any{"ka.user.name": user, "ka.target.resource": resource,
			"ka.target.namespace": ns, "ka.target.name": name, "ka.verb": "get"},
		Hostname: "node-1",
	}
}

// step is one input of a timing test: at offset from t0, either an alert
// is processed or (a == nil) the worker ticks.
type step struct {
	at time.Duration
	a  *alert.Alert
}

// sent is what a test expects the pipeline to pass on.
type sent struct {
	rule  string
	count int64 // alert.Count
	cmd   string
}

func summarize(as []*alert.Alert) []sent {
	out := make([]sent, len(as))
	for i, a := range as {
		cmd, _ := a.OutputFields["proc.cmdline"].(string)
		if cmd == "" {
			cmd, _ = a.OutputFields["ka.target.name"].(string)
		}
		out[i] = sent{a.Rule, a.Count(), cmd}
	}
	return out
}

func TestAggregation(t *testing.T) {
	shell := func(cmd string) *alert.Alert { return sysAlert("Shell", "c1", "/bin/sh", cmd) }
	for _, tc := range []struct {
		name      string
		window    time.Duration
		maxGroups int
		steps     []step
		want      []sent
		st        Stats // Repeats, FollowUps, Overflow checked
	}{
		{
			name: "first at once, repeats counted, one follow-up when the window closes", window: 10 * time.Second,
			steps: []step{{0, shell("sh -c id")}, {time.Second, shell("sh -c id")}, {2 * time.Second, shell("sh -c id")},
				{9 * time.Second, nil}, {9*time.Second + 999*time.Millisecond, shell("sh -c id")}, {10 * time.Second, nil}},
			want: []sent{{"Shell", 1, "sh -c id"}, {"Shell", 3, "sh -c id"}},
			st:   Stats{Repeats: 3, FollowUps: 1},
		},
		{
			name: "no repeat, no follow-up; after the window a new group starts", window: 10 * time.Second,
			steps: []step{{0, shell("sh -c id")}, {10 * time.Second, nil}, {11 * time.Second, shell("sh -c id")},
				{12 * time.Second, shell("sh -c id")}, {21 * time.Second, nil}},
			want: []sent{{"Shell", 1, "sh -c id"}, {"Shell", 1, "sh -c id"}, {"Shell", 1, "sh -c id"}},
			st:   Stats{Repeats: 1, FollowUps: 1},
		},
		{
			name: "window 0 disables aggregation", window: 0,
			steps: []step{{0, shell("sh -c id")}, {0, shell("sh -c id")}, {time.Second, nil}},
			want:  []sent{{"Shell", 1, "sh -c id"}, {"Shell", 1, "sh -c id"}},
		},
		{
			name: "another command line, container, executable or rule is another group", window: 10 * time.Second,
			steps: []step{{0, shell("sh -c id")}, {0, shell("sh -c ls")}, {0, sysAlert("Shell", "c2", "/bin/sh", "sh -c id")},
				{0, sysAlert("Shell", "c1", "/bin/bash", "sh -c id")}, {0, sysAlert("Other", "c1", "/bin/sh", "sh -c id")},
				{0, shell("sh -c ls")}, {10 * time.Second, nil}},
			want: []sent{{"Shell", 1, "sh -c id"}, {"Shell", 1, "sh -c ls"}, {"Shell", 1, "sh -c id"}, {"Shell", 1, "sh -c id"},
				{"Other", 1, "sh -c id"}, {"Shell", 1, "sh -c ls"}},
			st: Stats{Repeats: 1, FollowUps: 1},
		},
		{
			name: "audit: same user and target aggregate, another target does not", window: 5 * time.Second,
			steps: []step{{0, auditAlert("Read Secret", "bob", "secrets", "ns", "db")}, {time.Second, auditAlert("Read Secret", "bob", "secrets", "ns", "db")},
				{time.Second, auditAlert("Read Secret", "bob", "secrets", "ns", "web")}, {time.Second, auditAlert("Read Secret", "eve", "secrets", "ns", "db")},
				{5 * time.Second, nil}},
			want: []sent{{"Read Secret", 1, "db"}, {"Read Secret", 1, "web"}, {"Read Secret", 1, "db"}, {"Read Secret", 1, "db"}},
			st:   Stats{Repeats: 1, FollowUps: 1},
		},
		{
			name: "cap on open groups: the overflow is sent unaggregated and counted", window: 10 * time.Second, maxGroups: 2,
			steps: []step{{0, shell("a")}, {0, shell("b")}, {0, shell("c")}, {0, shell("c")}, {0, shell("a")}, {10 * time.Second, nil},
				{11 * time.Second, shell("c")}, {11 * time.Second, shell("c")}},
			want: []sent{{"Shell", 1, "a"}, {"Shell", 1, "b"}, {"Shell", 1, "c"}, {"Shell", 1, "c"}, {"Shell", 1, "a"}, {"Shell", 1, "c"}},
			st:   Stats{Repeats: 2, FollowUps: 1, Overflow: 2},
		},
		{
			name: "internal alerts are never aggregated", window: 10 * time.Second,
			steps: []step{{0, &alert.Alert{Rule: "Vigil internal: x", Source: InternalSource}}, {0, &alert.Alert{Rule: "Vigil internal: x", Source: InternalSource}}},
			want:  []sent{{"Vigil internal: x", 1, ""}, {"Vigil internal: x", 1, ""}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			p, err := newPipeline(Config{Window: tc.window, MaxGroups: tc.maxGroups}, rec)
			require.NoError(t, err)
			for _, s := range tc.steps {
				if s.a == nil {
					p.tick(t0.Add(s.at))
				} else {
					p.process(s.a, t0.Add(s.at))
				}
			}
			require.Equal(t, tc.want, summarize(rec.got()))
			st := p.Stats()
			require.Equal(t, tc.st, Stats{Repeats: st.Repeats, FollowUps: st.FollowUps, Overflow: st.Overflow})
		})
	}
}

// TestFollowUpEncoding: the follow-up is the last repeat with vigil.count in
// output_fields and the count in its output; its JSON keeps Falco's schema.
func TestFollowUpEncoding(t *testing.T) {
	rec := &recorder{}
	p, err := newPipeline(Config{Window: 10 * time.Second}, rec)
	require.NoError(t, err)
	first := auditAlert("Read Secret", "bob", "secrets", "ns", "db")
	p.process(first, t0)
	for i := range 4 {
		a := auditAlert("Read Secret", "bob", "secrets", "ns", "db")
		a.Time = t0.Add(time.Duration(i+1) * time.Second)
		a.OutputFields["ka.verb"] = fmt.Sprint("verb", i)
		p.process(a, a.Time)
	}
	p.tick(t0.Add(10 * time.Second))
	got := rec.got()
	require.Len(t, got, 2)
	require.Same(t, first, got[0], "the first alert is passed on as is")
	fu := got[1]
	require.Equal(t, t0.Add(4*time.Second), fu.Time, "the follow-up has the time of the last repeat")
	require.Equal(t, int64(4), fu.Count())
	require.Equal(t, "Read Secret (user=bob target=secrets/ns/db) (vigil.count=4: 4 more within 10s)", fu.Output)
	b, err := fu.MarshalJSON()
	require.NoError(t, err)
	var falco struct {
		Hostname     string         `json:"hostname"`
		Output       string         `json:"output"`
		OutputFields map[string]any `json:"output_fields"`
		Priority     string         `json:"priority"`
		Rule         string         `json:"rule"`
		Source       string         `json:"source"`
		Tags         []string       `json:"tags"`
		Time         time.Time      `json:"time"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&falco), "%s", b)
	require.Equal(t, map[string]any{"vigil.count": 4.0, "ka.user.name": "bob", "ka.target.resource": "secrets",
		"ka.target.namespace": "ns", "ka.target.name": "db", "ka.verb": "verb3"}, falco.OutputFields)
	require.Equal(t, "verb3", got[1].OutputFields["ka.verb"])
	require.NotContains(t, first.OutputFields, alert.CountField, "the repeats are not modified")
}

func TestKeyFallbacks(t *testing.T) {
	noProv := func(exe, out string) *alert.Alert {
		return &alert.Alert{Rule: "R", Source: "syscall", Output: out,
			OutputFields: map[string]any{"proc.exepath": exe, "container.id": "c"}}
	}
	for _, tc := range []struct {
		name string
		a, b *alert.Alert
		same bool
	}{
		{"syscall without provenance: output fields", noProv("/bin/sh", "x"), noProv("/bin/sh", "y"), true},
		{"syscall without provenance: other exe", noProv("/bin/sh", "x"), noProv("/bin/ls", "x"), false},
		{"syscall without process fields: the output", noProv("", "x"), noProv("", "y"), false},
		{"syscall without process fields, same output", noProv("", "x"), noProv("", "x"), true},
		{"audit without user or target: the output",
			&alert.Alert{Rule: "R", Source: "k8s_audit", Output: "a"}, &alert.Alert{Rule: "R", Source: "k8s_audit", Output: "b"}, false},
		{"other source: the output", &alert.Alert{Rule: "R", Source: "x", Output: "a"}, &alert.Alert{Rule: "R", Source: "x", Output: "a"}, true},
		{"parts do not run together",
			&alert.Alert{Rule: "R", Source: "k8s_audit", OutputFields: map[string]any{"ka.user.name": "ab", "ka.target.resource": "c"}},
			&alert.Alert{Rule: "R", Source: "k8s_audit", OutputFields: map[string]any{"ka.user.name": "a", "ka.target.resource": "bc"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ka, kb := keyOf(tc.a), keyOf(tc.b)
			require.Equal(t, tc.same, ka == kb)
			var g aggregator
			require.Equal(t, tc.same, ka.hash(&g.seed) == kb.hash(&g.seed))
		})
	}
}

// TestHashCollision: groups whose keys hash alike stay apart (the hash
// chain), and close in order.
func TestHashCollision(t *testing.T) {
	g := newAggregator(time.Second, 10)
	var emitted []*alert.Alert
	a1, a2 := sysAlert("R", "c", "/x", "1"), sysAlert("R", "c", "/x", "2")
	k1, k2 := keyOf(a1), keyOf(a2)
	g.open(k1, 7, t0)
	g.open(k2, 7, t0.Add(time.Millisecond)) // forced collision
	require.Len(t, g.groups, 1)
	for _, gr := range []*group{g.groups[7], g.groups[7].chain} {
		gr.count, gr.last = 1, a1
		if gr.key == k2 {
			gr.last = a2
		}
	}
	g.expire(t0.Add(time.Second), false, func(a *alert.Alert) { emitted = append(emitted, a) })
	require.Len(t, emitted, 1)
	require.Equal(t, "1", emitted[0].OutputFields["proc.cmdline"])
	require.Equal(t, 1, g.n)
	require.Equal(t, k2, g.groups[7].key)
	require.Nil(t, g.groups[7].chain)
	g.expire(t0, true, func(a *alert.Alert) { emitted = append(emitted, a) })
	require.Len(t, emitted, 2)
	require.Empty(t, g.groups)
	require.Zero(t, g.n)
}

func TestRateLimit(t *testing.T) {
	reg := metrics.New()
	rec := &recorder{}
	p, err := newPipeline(Config{Rate: 10, Burst: 5, ReportInterval: time.Minute, Hostname: "node-1", Metrics: reg}, rec)
	require.NoError(t, err)
	for _, tc := range []struct {
		at       time.Duration
		rule     string
		n        int
		passed   int
		reported string // output of a rate-limited report expected after this step
	}{
		{0, "A", 8, 5, "A: 3"},                  // the burst; the first report at once
		{100 * time.Millisecond, "A", 3, 1, ""}, // 10/s: one token in 100 ms; reported at most once a minute
		{100 * time.Millisecond, "B", 2, 2, ""}, // per rule
		{time.Second, "A", 20, 5, ""},           // refilled to the burst, not beyond
		{30 * time.Second, "A", 6, 5, ""},       // limited again
		{61 * time.Second, "B", 0, 0, "A: 18"},  // the minute passed: what was refused since
		{200 * time.Second, "A", 0, 0, ""},      // nothing pending: no report
	} {
		before := len(rec.got())
		now := t0.Add(tc.at)
		for range tc.n {
			p.process(&alert.Alert{Rule: tc.rule, Source: "syscall", Output: "x"}, now)
		}
		p.tick(now)
		got := rec.got()[before:]
		passed := 0
		var reports []*alert.Alert
		for _, a := range got {
			if a.Rule == RateLimitedRule {
				reports = append(reports, a)
			} else {
				passed++
			}
		}
		require.Equal(t, tc.passed, passed, "step at %s", tc.at)
		if tc.reported == "" {
			require.Empty(t, reports, "step at %s", tc.at)
			continue
		}
		require.Len(t, reports, 1, "step at %s", tc.at)
		r := reports[0]
		require.Equal(t, InternalSource, r.Source)
		require.Equal(t, "Warning", r.Priority)
		require.Equal(t, "node-1", r.Hostname)
		require.Equal(t, tc.reported, r.OutputFields["vigil.rate_limited_rules"])
		require.Contains(t, r.Output, "over the limit of 10/s (burst 5) per rule")
	}
	require.Equal(t, uint64(3+2+15+1), p.Stats().RateLimited)
	require.Equal(t, 21.0, counterValue(t, reg, "vigil_alerts_rate_limited_total", "rule", "A"))
	require.Equal(t, 21.0, counterValue(t, reg, "vigil_alerts_dropped_total", "stage", "rate_limit"))
}

// TestRateLimitedNotAggregated: a rate-limited first alert opens no group,
// so the next repeat is the one sent first.
func TestRateLimitWithAggregation(t *testing.T) {
	rec := &recorder{}
	p, err := newPipeline(Config{Window: 10 * time.Second, Rate: 1, Burst: 1}, rec)
	require.NoError(t, err)
	p.process(sysAlert("R", "c", "/bin/a", "a"), t0)
	p.process(sysAlert("R", "c", "/bin/b", "b"), t0) // limited
	p.process(sysAlert("R", "c", "/bin/a", "a"), t0) // repeat: counted, not limited
	p.process(sysAlert("R", "c", "/bin/b", "b"), t0.Add(time.Second))
	p.process(sysAlert("R", "c", "/bin/b", "b"), t0.Add(time.Second))
	p.tick(t0.Add(11 * time.Second)) // follow-ups bypass the limiter
	p.tick(t0.Add(11 * time.Second))
	var got []sent
	for _, s := range summarize(rec.got()) {
		if s.rule != RateLimitedRule {
			got = append(got, s)
		}
	}
	require.Equal(t, []sent{{"R", 1, "a"}, {"R", 1, "b"}, {"R", 1, "a"}, {"R", 1, "b"}}, got)
	require.Equal(t, uint64(1), p.Stats().RateLimited)
}

func counterValue(t *testing.T, reg *metrics.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gatherer().Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || hasLabel(m, label, value) {
				if m.Counter != nil {
					return m.Counter.GetValue()
				}
				return m.Gauge.GetValue()
			}
		}
	}
	t.Fatalf("no metric %s{%s=%q}", name, label, value)
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// blockingSender blocks every Send until release is closed.
type blockingSender struct {
	recorder
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingSender) Send(ctx context.Context, a *alert.Alert) error {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return b.recorder.Send(ctx, a)
}

// TestQueueNeverBlocks: with the worker stuck, Send returns at once, the
// overflow is counted (queue and metric) and reported by an internal alert
// when the pipeline drains.
func TestQueueNeverBlocks(t *testing.T) {
	reg := metrics.New()
	bs := &blockingSender{entered: make(chan struct{}), release: make(chan struct{})}
	p, err := New(Config{QueueSize: 4, Metrics: reg, Hostname: "h"}, bs)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, p.Send(ctx, sysAlert("R", "c", "/x", "0")))
	<-bs.entered // the worker holds alert 0
	start := time.Now()
	for i := 1; i <= 20; i++ {
		require.NoError(t, p.Send(ctx, sysAlert("R", "c", "/x", fmt.Sprint(i))))
	}
	require.Less(t, time.Since(start), time.Second, "Send blocked")
	st := p.Stats()
	require.Equal(t, uint64(21), st.Received)
	require.Equal(t, uint64(16), st.Dropped)
	require.Equal(t, 4, st.Queued)
	require.Equal(t, 16.0, counterValue(t, reg, "vigil_alerts_dropped_total", "stage", "queue"))
	require.Equal(t, 4.0, counterValue(t, reg, "vigil_alerts_pipeline_queue_length", "", ""))
	close(bs.release)
	require.NoError(t, p.Close(ctx))
	require.ErrorIs(t, p.Send(ctx, sysAlert("R", "c", "/x", "late")), alert.ErrClosed)
	require.ErrorIs(t, p.Close(ctx), alert.ErrClosed)
	got := bs.got()
	require.Len(t, got, 5+1, "the 5 alerts let in and one drop report")
	var report *alert.Alert
	for _, a := range got {
		if a.Rule == DroppedRule {
			report = a
		}
	}
	require.NotNil(t, report)
	require.Equal(t, uint64(16), report.OutputFields["vigil.dropped"])
	require.True(t, strings.HasPrefix(report.Output, "Vigil internal: alerts dropped. 16 alerts dropped"), report.Output)
}

// TestCloseSendsFollowUps: Close passes on what is queued and the
// follow-ups of open groups, so no count is lost at shutdown.
func TestCloseSendsFollowUps(t *testing.T) {
	rec := &recorder{}
	p, err := New(Config{Window: time.Hour, QueueSize: 100}, rec)
	require.NoError(t, err)
	for range 10 {
		require.NoError(t, p.Send(context.Background(), sysAlert("R", "c", "/x", "same")))
	}
	require.NoError(t, p.Close(context.Background()))
	require.Equal(t, []sent{{"R", 1, "same"}, {"R", 9, "same"}}, summarize(rec.got()))
	require.Zero(t, p.Stats().OpenGroups)
}

// TestWorkerClosesWindows: with the real clock and worker, the follow-up
// arrives about one window after the first alert, without Close.
func TestWorkerClosesWindows(t *testing.T) {
	rec := &recorder{}
	p, err := New(Config{Window: 50 * time.Millisecond}, rec)
	require.NoError(t, err)
	defer p.Close(context.Background())
	start := time.Now()
	for range 3 {
		require.NoError(t, p.Send(context.Background(), sysAlert("R", "c", "/x", "same")))
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(rec.got()) < 2 {
		require.False(t, time.Now().After(deadline), "no follow-up within 5s")
		time.Sleep(5 * time.Millisecond)
	}
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	require.Equal(t, []sent{{"R", 1, "same"}, {"R", 2, "same"}}, summarize(rec.got()))
}

func TestConfigErrors(t *testing.T) {
	rec := &recorder{}
	for _, tc := range []struct {
		cfg  Config
		next Sender
		want string
	}{
		{Config{}, nil, "nil sender"},
		{Config{Window: -1}, rec, "negative aggregation window"},
		{Config{MaxGroups: -1}, rec, "negative max groups"},
		{Config{Rate: -1}, rec, "rate -1: want a number >= 0"},
		{Config{Burst: -1}, rec, "negative burst"},
		{Config{QueueSize: -1}, rec, "negative queue size"},
		{Config{ReportInterval: -1}, rec, "negative report interval"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := New(tc.cfg, tc.next)
			require.ErrorContains(t, err, tc.want)
		})
	}
	p, err := newPipeline(Config{Rate: 2.5}, rec)
	require.NoError(t, err)
	require.Equal(t, 3, p.cfg.Burst, "burst defaults to the rate rounded up")
}
