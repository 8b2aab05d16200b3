package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/store"
)

func TestDetailContextTimelineChildren(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	a := &alert.Alert{
		Time: start.Add(time.Second), Rule: "Read sensitive file", Priority: "Warning", Source: "syscall",
		Output: "cat read /etc/shadow", Hostname: "node1",
		OutputFields: map[string]any{"container.id": "abc123def456", "container.image.repository": "nginx",
			"k8s.ns.name": "prod", "k8s.pod.name": "web-1"},
		Context: &alert.Context{
			Provenance: &alert.Provenance{
				Process:   alert.Proc{PID: 30, PPID: 20, Exe: "/usr/bin/cat", StartTime: start},
				Ancestors: []alert.Proc{{PID: 20, PPID: 10, Exe: "/bin/sh"}, {PID: 10, PPID: 1, Exe: "/bin/sh"}},
			},
			Container: &alert.ContainerInfo{ID: "abc123def456aaaa", Privileged: true, Pod: &alert.PodInfo{Name: "web-1"}},
		},
	}
	plain := &alert.Alert{Time: start, Rule: "audit", Priority: "Notice", Source: "k8s_audit", Hostname: "node1"}
	require.NoError(t, s.Insert(ctx, []*alert.Alert{plain, a}))
	require.NoError(t, s.RecordExecs(ctx, []store.ExecRecord{
		{Host: "node1", Proc: alert.Proc{PID: 31, PPID: 30, Exe: "/bin/child", StartTime: start.Add(2 * time.Second)}},
		{Host: "node1", Proc: alert.Proc{PID: 32, PPID: 30, Exe: "/bin/old", StartTime: start.Add(-time.Hour)}}, // an earlier process with the same pid
		{Host: "node2", Proc: alert.Proc{PID: 33, PPID: 30, Exe: "/bin/other-host", StartTime: start.Add(2 * time.Second)}},
	}))

	d, err := s.Detail(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, a.Context, d.Context)
	require.Len(t, d.Children, 1)
	require.Equal(t, "/bin/child", d.Children[0].Exe)
	require.Equal(t, []store.TimelineEntry{{Time: a.Time, Kind: store.KindAlert, Text: a.Rule}}, d.Timeline)

	up, err := s.UpdateStatus(ctx, 2, store.StatusAcknowledged, "looking", "alice")
	require.NoError(t, err)
	require.Equal(t, store.StatusAcknowledged, up.Status)
	require.Equal(t, "looking", up.Note)
	require.NoError(t, s.AddTimeline(ctx, 2, store.TimelineEntry{Kind: store.KindNote, Actor: "bob", Text: "benign"}))
	d, err = s.Detail(ctx, 2)
	require.NoError(t, err)
	require.Len(t, d.Timeline, 3)
	require.Equal(t, []string{store.KindAlert, store.KindStatus, store.KindNote}, []string{d.Timeline[0].Kind, d.Timeline[1].Kind, d.Timeline[2].Kind})
	require.Equal(t, "alice", d.Timeline[1].Actor)
	require.Equal(t, "acknowledged: looking", d.Timeline[1].Text)

	d, err = s.Detail(ctx, 1)
	require.NoError(t, err)
	require.Nil(t, d.Context)
	require.Empty(t, d.Children)

	for name, err := range map[string]error{
		"detail":   func() error { _, err := s.Detail(ctx, 99); return err }(),
		"status":   func() error { _, err := s.UpdateStatus(ctx, 99, store.StatusOpen, "", ""); return err }(),
		"timeline": s.AddTimeline(ctx, 99, store.TimelineEntry{Kind: store.KindNote}),
	} {
		require.ErrorIs(t, err, store.ErrNotFound, name)
	}
	_, err = s.UpdateStatus(ctx, 2, "bogus", "", "")
	require.ErrorIs(t, err, store.ErrInvalid)

	after, err := s.After(ctx, 0, 10)
	require.NoError(t, err)
	require.Len(t, after, 2)
	require.Equal(t, int64(1), after[0].ID)
	last, err := s.LastID(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(2), last)

	// Pruning the alert drops its timeline.
	_, err = s.Prune(ctx, time.Time{}, 1)
	require.NoError(t, err)
	var n int
	require.NoError(t, s.r.QueryRow(`SELECT count(*) FROM alert_timeline`).Scan(&n))
	require.Equal(t, 2, n, "alert 2 is kept")
	_, err = s.Prune(ctx, start.Add(time.Hour), 0)
	require.NoError(t, err)
	require.NoError(t, s.r.QueryRow(`SELECT count(*) FROM alert_timeline`).Scan(&n))
	require.Zero(t, n)
}

func TestAssets(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	mk := func(d time.Duration, ctr string) *alert.Alert {
		return &alert.Alert{Time: t0.Add(d), Rule: "r", Priority: "Warning", Source: "syscall", Hostname: "node1",
			OutputFields: map[string]any{"container.id": ctr, "container.image.repository": "nginx", "k8s.ns.name": "prod", "k8s.pod.name": "web"}}
	}
	require.NoError(t, s.Insert(ctx, []*alert.Alert{mk(0, "c1"), mk(time.Minute, "c1"), mk(2*time.Minute, "c2")}))
	require.NoError(t, s.UpsertAssets(ctx, []store.Asset{{Kind: store.AssetContainer, ID: "c1", Name: "web-ctr",
		FirstSeen: t0.Add(-time.Hour), LastSeen: t0.Add(-time.Hour), Attributes: map[string]any{"runtime": "containerd"}}}))

	tests := []struct {
		kind, id    string
		name        string
		alerts      int64
		first, last time.Time
	}{
		{store.AssetHost, "node1", "node1", 3, t0, t0.Add(2 * time.Minute)},
		{store.AssetContainer, "c1", "web-ctr", 2, t0.Add(-time.Hour), t0.Add(time.Minute)},
		{store.AssetContainer, "c2", "", 1, t0.Add(2 * time.Minute), t0.Add(2 * time.Minute)},
		{store.AssetImage, "nginx", "", 3, t0, t0.Add(2 * time.Minute)},
		{store.AssetPod, "prod/web", "", 3, t0, t0.Add(2 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.id, func(t *testing.T) {
			a, err := s.Asset(ctx, tt.kind, tt.id)
			require.NoError(t, err)
			require.Equal(t, tt.name, a.Name)
			require.Equal(t, tt.alerts, a.Alerts)
			require.Equal(t, tt.first, a.FirstSeen)
			require.Equal(t, tt.last, a.LastSeen)
		})
	}
	a, err := s.Asset(ctx, store.AssetContainer, "c1")
	require.NoError(t, err)
	require.Equal(t, map[string]any{"runtime": "containerd"}, a.Attributes)
	list, err := s.Assets(ctx, store.AssetContainer)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "c2", list[0].ID, "most recently seen first")
	_, err = s.Asset(ctx, store.AssetPod, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Assets(ctx, "volumes")
	require.ErrorIs(t, err, store.ErrInvalid)
}

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	require.NoError(t, s.CreateUser(ctx, store.User{Name: "admin", Role: store.RoleAdmin, PasswordHash: "h"}))
	require.ErrorIs(t, s.CreateUser(ctx, store.User{Name: "admin", Role: store.RoleViewer, PasswordHash: "h"}), store.ErrConflict)
	require.ErrorIs(t, s.CreateUser(ctx, store.User{Name: "x", Role: "root", PasswordHash: "h"}), store.ErrInvalid)
	u, err := s.User(ctx, "admin")
	require.NoError(t, err)
	require.Equal(t, store.RoleAdmin, u.Role)
	users, err := s.Users(ctx)
	require.NoError(t, err)
	require.Len(t, users, 1)
	require.NoError(t, s.DeleteUser(ctx, "admin"))
	require.ErrorIs(t, s.DeleteUser(ctx, "admin"), store.ErrNotFound)
	_, err = s.User(ctx, "admin")
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, s.CreateToken(ctx, store.Token{ID: "t1", Name: "ci", Role: store.RoleViewer, Hash: "aa"}))
	require.ErrorIs(t, s.CreateToken(ctx, store.Token{ID: "t2", Name: "ci2", Role: store.RoleViewer, Hash: "aa"}), store.ErrConflict)
	tok, err := s.TokenByHash(ctx, "aa")
	require.NoError(t, err)
	require.Equal(t, "ci", tok.Name)
	require.True(t, tok.LastUsed.IsZero())
	used := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.TouchToken(ctx, "t1", used))
	toks, err := s.Tokens(ctx)
	require.NoError(t, err)
	require.Equal(t, used, toks[0].LastUsed)
	require.NoError(t, s.DeleteToken(ctx, "t1"))
	_, err = s.TokenByHash(ctx, "aa")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestFilterPodPriorityText(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	require.NoError(t, s.Insert(ctx, []*alert.Alert{
		{Time: t0, Rule: "Shell in container", Priority: "Warning", Output: "a", OutputFields: map[string]any{"k8s.pod.name": "p1"}},
		{Time: t0.Add(time.Second), Rule: "Other", Priority: "Error", Output: "shell b", OutputFields: map[string]any{"k8s.pod.name": "p2"}},
		{Time: t0.Add(2 * time.Second), Rule: "Third", Priority: "Warning", Output: "c"},
	}))
	for _, tt := range []struct {
		name string
		f    store.Filter
		want []string
	}{
		{"pod", store.Filter{Pod: "p1"}, []string{"Shell in container"}},
		{"priority exact", store.Filter{Priority: "warning"}, []string{"Third", "Shell in container"}},
		{"text over rule and output", store.Filter{Text: "SHELL"}, []string{"Other", "Shell in container"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, a := range listAll(t, s, tt.f) {
				got = append(got, a.Rule)
			}
			require.Equal(t, tt.want, got)
		})
	}
	_, err := s.List(ctx, store.Filter{Priority: "loud"})
	require.ErrorIs(t, err, store.ErrInvalid)
}
