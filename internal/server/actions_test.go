package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/auth"
	"github.com/vigilsec/vigil/internal/respond"
	"github.com/vigilsec/vigil/internal/respond/policy"
	"github.com/vigilsec/vigil/internal/store"
	"github.com/vigilsec/vigil/internal/store/sqlite"
)

func TestAlertActions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	au := auth.New(db, auth.Config{Hash: auth.HashParams{Time: 1, Memory: 64, Threads: 1}})
	_, err = au.Bootstrap(ctx, "admin", "admin-password")
	require.NoError(t, err)
	require.NoError(t, au.CreateUser(ctx, "viewer", "viewer-password", store.RoleViewer))
	x := policy.NewExecutor(policy.ExecutorConfig{Respond: respond.Config{DataDir: dir}, DataDir: dir})
	srv, err := New(Config{API: &APIConfig{Store: db, Auth: au, Actions: x}}, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	// 1: a Kubernetes audit alert (nothing to act on); 2: a container
	// that is gone; 3: a real host process.
	start := time.Now()
	sleep := exec.Command("sleep", "60")
	require.NoError(t, sleep.Start())
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	now := time.Now()
	require.NoError(t, db.Insert(ctx, []*alert.Alert{
		{Time: now, Rule: "K8s secret read", Priority: "Warning", Source: "k8s_audit", Output: "a", Hostname: "h"},
		{Time: now, Rule: "Shell", Priority: "Warning", Source: "syscall", Output: "b", Hostname: "h",
			OutputFields: map[string]any{"container.id": "abc123def456"}},
		{Time: now, Rule: "Miner", Priority: "Critical", Source: "syscall", Output: "c", Hostname: "h",
			Context: &alert.Context{Provenance: &alert.Provenance{Process: alert.Proc{PID: int64(sleep.Process.Pid), Exe: "/bin/sleep", StartTime: start}}}},
	}))
	admin, viewer, noCSRF := newClient(t, ts.URL), newClient(t, ts.URL), newClient(t, ts.URL)
	require.Equal(t, http.StatusOK, admin.login("admin", "admin-password").code)
	require.Equal(t, http.StatusOK, viewer.login("viewer", "viewer-password").code)
	require.Equal(t, http.StatusOK, noCSRF.login("admin", "admin-password").code)
	noCSRF.csrf = ""

	for _, tc := range []struct {
		name   string
		c      *client
		path   string
		body   string
		code   int
		status string // of the reply
		want   string // in the reply
	}{
		{"viewer refused", viewer, "/api/v1/alerts/3/actions", `{"action":"kill-process","confirm":true}`, 403, "", "role viewer may not"},
		{"session without CSRF", noCSRF, "/api/v1/alerts/3/actions", `{"action":"kill-process","confirm":true}`, 403, "", "X-CSRF-Token"},
		{"no confirm", admin, "/api/v1/alerts/3/actions", `{"action":"kill-process"}`, 400, "", `send \"confirm\": true`},
		{"unknown action", admin, "/api/v1/alerts/3/actions", `{"action":"explode","confirm":true}`, 400, "", "action: want one of"},
		{"unknown field", admin, "/api/v1/alerts/3/actions", `{"action":"pause","confirm":true,"force":1}`, 400, "", "unknown field"},
		{"allow without isolate", admin, "/api/v1/alerts/2/actions", `{"action":"pause","confirm":true,"allow":["10.0.0.1"]}`, 400, "", "allow: only for isolate"},
		{"bad allow", admin, "/api/v1/alerts/2/actions", `{"action":"isolate","confirm":true,"allow":["nope"]}`, 400, "", "allow[0]"},
		{"no such alert", admin, "/api/v1/alerts/99/actions", `{"action":"pause","confirm":true}`, 404, "", "not found"},
		{"no container", admin, "/api/v1/alerts/1/actions", `{"action":"pause","confirm":true}`, 409, "skipped", "the alert has no container"},
		{"host process is never paused", admin, "/api/v1/alerts/3/actions", `{"action":"pause","confirm":true}`, 409, "skipped", "host process"},
		{"container gone", admin, "/api/v1/alerts/2/actions", `{"action":"pause","confirm":true}`, 410, "failed", "target not found"},
		{"kill the process", admin, "/api/v1/alerts/3/actions", `{"action":"kill-process","confirm":true}`, 200, "ok", "pidfd_send_signal SIGKILL"},
		{"then it is gone", admin, "/api/v1/alerts/3/actions", `{"action":"kill-process","confirm":true}`, 410, "failed", "target not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.c.do("POST", tc.path, tc.body)
			require.Equal(t, tc.code, r.code, string(r.body))
			require.Contains(t, string(r.body), tc.want)
			if tc.status != "" {
				var rep actionReply
				r.json(t, &rep)
				require.Equal(t, tc.status, rep.Status)
				require.Equal(t, "admin", rep.Timeline.Actor)
				require.Equal(t, store.KindAction, rep.Timeline.Kind)
			}
		})
	}
	var ws syscall.WaitStatus
	pid, err := syscall.Wait4(sleep.Process.Pid, &ws, 0, nil)
	require.NoError(t, err)
	require.Equal(t, sleep.Process.Pid, pid)
	require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL)

	// Every action that ran or was refused for its target is in the
	// timeline, with the user; bad requests are not.
	d, err := db.Detail(ctx, 3)
	require.NoError(t, err)
	var texts []string
	for _, e := range d.Timeline[1:] {
		require.Equal(t, "admin", e.Actor)
		texts = append(texts, e.Text)
	}
	require.Len(t, texts, 3)
	require.Contains(t, texts[0], "pause: skipped")
	require.Contains(t, texts[1], "kill-process pid "+strconv.Itoa(sleep.Process.Pid)+": ok")
	require.Contains(t, texts[2], "kill-process pid "+strconv.Itoa(sleep.Process.Pid)+": failed")
}
