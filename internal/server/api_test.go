package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/auth"
	"github.com/vigilsec/vigil/internal/store"
	"github.com/vigilsec/vigil/internal/store/sqlite"
)

type apiEnv struct {
	url   string
	db    *sqlite.Store
	auth  *auth.Service
	admin *client // logged-in admin session
}

// client is an HTTP client with a cookie jar and optional CSRF and bearer
// headers.
type client struct {
	t      *testing.T
	base   string
	hc     *http.Client
	csrf   string
	bearer string
}

func newClient(t *testing.T, base string) *client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &client{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

type resp struct {
	code int
	body []byte
	hdr  http.Header
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), string(r.body))
}

func (c *client) do(method, path, body string) resp {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	res, err := c.hc.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	return resp{res.StatusCode, b, res.Header}
}

func (c *client) login(user, pw string) resp {
	c.t.Helper()
	r := c.do("POST", "/api/v1/login", fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw))
	if r.code == http.StatusOK {
		var lr struct {
			CSRF string `json:"csrf_token"`
		}
		r.json(c.t, &lr)
		c.csrf = lr.CSRF
	}
	return r
}

func newAPIEnv(t *testing.T, withAuth bool) *apiEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	env := &apiEnv{db: db}
	cfg := &APIConfig{Store: db, Version: "test", StreamPoll: 20 * time.Millisecond,
		Sources: func() map[string]string { return map[string]string{"k8s_audit": "running", "syscall": "off"} }}
	if withAuth {
		env.auth = auth.New(db, auth.Config{Hash: auth.HashParams{Time: 1, Memory: 64, Threads: 1}})
		_, err := env.auth.Bootstrap(ctx, "admin", "admin-password")
		require.NoError(t, err)
		require.NoError(t, env.auth.CreateUser(ctx, "viewer", "viewer-password", store.RoleViewer))
		cfg.Auth = env.auth
	}
	srv, err := New(Config{API: cfg, Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("metrics")) }),
		MetricsToken: "metrics-secret"}, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	env.url = ts.URL
	env.admin = newClient(t, ts.URL)
	if withAuth {
		require.Equal(t, http.StatusOK, env.admin.login("admin", "admin-password").code)
	}
	return env
}

// seed inserts n alerts one second apart from t0, rules r0..r4,
// priorities alternating Warning and Error, namespaces ns0/ns1.
var t0 = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func seed(t *testing.T, db *sqlite.Store, n int) {
	t.Helper()
	batch := make([]*alert.Alert, 0, n)
	for i := range n {
		prio := "Warning"
		if i%2 == 1 {
			prio = "Error"
		}
		batch = append(batch, &alert.Alert{Time: t0.Add(time.Duration(i) * time.Second), Rule: fmt.Sprintf("r%d", i%5),
			Priority: prio, Source: "syscall", Output: fmt.Sprintf("event %d", i), Hostname: "node1",
			Tags:         []string{"container", "T1609", "mitre_execution"},
			OutputFields: map[string]any{"k8s.ns.name": fmt.Sprintf("ns%d", i%2), "container.id": "abc123def456", "proc.pid": int64(i)}})
	}
	require.NoError(t, db.Insert(context.Background(), batch))
}

func TestAPIAuthMatrix(t *testing.T) {
	env := newAPIEnv(t, true)
	seed(t, env.db, 3)
	anon := newClient(t, env.url)
	viewer := newClient(t, env.url)
	require.Equal(t, http.StatusOK, viewer.login("viewer", "viewer-password").code)
	noCSRF := newClient(t, env.url)
	require.Equal(t, http.StatusOK, noCSRF.login("admin", "admin-password").code)
	noCSRF.csrf = ""
	badBearer := newClient(t, env.url)
	badBearer.bearer = "vgl_nope"

	tests := []struct {
		name         string
		c            *client
		method, path string
		body         string
		want         int
	}{
		{"anon list", anon, "GET", "/api/v1/alerts", "", 401},
		{"anon me", anon, "GET", "/api/v1/me", "", 401},
		{"anon health", anon, "GET", "/api/v1/health", "", 401},
		{"anon metrics", anon, "GET", "/metrics", "", 401},
		{"bad bearer", badBearer, "GET", "/api/v1/alerts", "", 401},
		{"viewer list", viewer, "GET", "/api/v1/alerts", "", 200},
		{"viewer detail", viewer, "GET", "/api/v1/alerts/1", "", 200},
		{"viewer status", viewer, "POST", "/api/v1/alerts/1/status", `{"status":"resolved"}`, 403},
		{"viewer note", viewer, "POST", "/api/v1/alerts/1/notes", `{"text":"x"}`, 403},
		{"viewer tokens", viewer, "GET", "/api/v1/tokens", "", 403},
		{"viewer users", viewer, "GET", "/api/v1/users", "", 403},
		{"viewer metrics", viewer, "GET", "/metrics", "", 200},
		{"no csrf", noCSRF, "POST", "/api/v1/alerts/1/status", `{"status":"resolved"}`, 403},
		{"no csrf GET ok", noCSRF, "GET", "/api/v1/alerts", "", 200},
		{"admin status", env.admin, "POST", "/api/v1/alerts/1/status", `{"status":"resolved"}`, 200},
		{"bad json", env.admin, "POST", "/api/v1/alerts/1/status", `{"status":`, 400},
		{"unknown field", env.admin, "POST", "/api/v1/alerts/1/status", `{"state":"x"}`, 400},
		{"bad status", env.admin, "POST", "/api/v1/alerts/1/status", `{"status":"done"}`, 400},
		{"missing alert", env.admin, "GET", "/api/v1/alerts/999", "", 404},
		{"bad id", env.admin, "GET", "/api/v1/alerts/abc", "", 400},
		{"status missing alert", env.admin, "POST", "/api/v1/alerts/999/status", `{"status":"open"}`, 404},
		{"too large", env.admin, "POST", "/api/v1/alerts/1/notes", `{"text":"` + strings.Repeat("a", 2<<20) + `"}`, 413},
		{"bad limit", env.admin, "GET", "/api/v1/alerts?limit=501", "", 400},
		{"bad param", env.admin, "GET", "/api/v1/alerts?colour=red", "", 400},
		{"bad since", env.admin, "GET", "/api/v1/alerts?since=yesterday", "", 400},
		{"bad cursor", env.admin, "GET", "/api/v1/alerts?cursor=!!", "", 400},
		{"bad min_priority", env.admin, "GET", "/api/v1/alerts?min_priority=loud", "", 400},
		{"unknown endpoint", env.admin, "GET", "/api/v1/nope", "", 404},
		{"method", env.admin, "PUT", "/api/v1/alerts", "", 405},
		{"asset kind", env.admin, "GET", "/api/v1/assets/volumes", "", 404},
		{"missing asset", env.admin, "GET", "/api/v1/assets/pods/x/y", "", 404},
		{"dup user", env.admin, "POST", "/api/v1/users", `{"username":"viewer","password":"long-enough","role":"viewer"}`, 409},
		{"weak password", env.admin, "POST", "/api/v1/users", `{"username":"bob","password":"short","role":"viewer"}`, 400},
		{"self delete", env.admin, "DELETE", "/api/v1/users/admin", "", 409},
		{"delete missing token", env.admin, "DELETE", "/api/v1/tokens/nope", "", 404},
		{"bad bucket", env.admin, "GET", "/api/v1/stats?bucket=1ns", "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.c.do(tt.method, tt.path, tt.body)
			require.Equal(t, tt.want, r.code, string(r.body))
			if tt.path != "/metrics" && r.code >= 400 {
				var e struct {
					Error string `json:"error"`
				}
				r.json(t, &e)
				require.NotEmpty(t, e.Error)
				require.Equal(t, "application/json", r.hdr.Get("Content-Type"))
			}
		})
	}
	// The metrics token works without a session.
	m := newClient(t, env.url)
	m.bearer = "metrics-secret"
	require.Equal(t, 200, m.do("GET", "/metrics", "").code)
	require.Equal(t, 401, m.do("GET", "/api/v1/alerts", "").code, "the metrics token is not an API token")
}

func TestAPILoginLogoutRateLimit(t *testing.T) {
	env := newAPIEnv(t, true)
	c := newClient(t, env.url)
	r := c.login("admin", "admin-password")
	require.Equal(t, 200, r.code)
	var lr map[string]any
	r.json(t, &lr)
	require.Equal(t, "admin", lr["user"])
	require.Equal(t, "admin", lr["role"])
	ck := r.hdr.Get("Set-Cookie")
	require.Contains(t, ck, "vigil_session=")
	require.Contains(t, ck, "HttpOnly")
	require.Contains(t, ck, "SameSite=Strict")
	require.Contains(t, ck, "Path=/")
	me := c.do("GET", "/api/v1/me", "")
	require.Equal(t, 200, me.code)
	me.json(t, &lr)
	require.Equal(t, c.csrf, lr["csrf_token"])
	require.Equal(t, 204, c.do("POST", "/api/v1/logout", "").code)
	require.Equal(t, 401, c.do("GET", "/api/v1/me", "").code)

	bad := newClient(t, env.url)
	for range 5 {
		require.Equal(t, 401, bad.login("admin", "wrong-password").code)
	}
	require.Equal(t, 429, bad.login("admin", "admin-password").code)
	require.Equal(t, 400, bad.do("POST", "/api/v1/login", `{"user":"x"}`).code)
}

func TestAPITokenLifecycle(t *testing.T) {
	env := newAPIEnv(t, true)
	r := env.admin.do("POST", "/api/v1/tokens", `{"name":"ci","role":"viewer"}`)
	require.Equal(t, 201, r.code, string(r.body))
	var created struct{ ID, Name, Role, Token string }
	r.json(t, &created)
	require.True(t, strings.HasPrefix(created.Token, "vgl_"))
	require.Equal(t, "viewer", created.Role)

	tc := newClient(t, env.url)
	tc.bearer = created.Token
	require.Equal(t, 200, tc.do("GET", "/api/v1/alerts", "").code)
	require.Equal(t, 403, tc.do("POST", "/api/v1/tokens", `{"name":"x","role":"admin"}`).code, "viewer token")

	r = env.admin.do("GET", "/api/v1/tokens", "")
	require.Equal(t, 200, r.code)
	var list struct {
		Items []map[string]any `json:"items"`
	}
	r.json(t, &list)
	require.Len(t, list.Items, 1)
	require.Equal(t, created.ID, list.Items[0]["id"])
	require.NotNil(t, list.Items[0]["last_used"])
	require.NotContains(t, string(r.body), created.Token, "the token is shown once")

	// An admin token needs no CSRF header.
	r = env.admin.do("POST", "/api/v1/tokens", `{"name":"ops","role":"admin"}`)
	require.Equal(t, 201, r.code)
	var adm struct{ Token string }
	r.json(t, &adm)
	ac := newClient(t, env.url)
	ac.bearer = adm.Token
	require.Equal(t, 201, ac.do("POST", "/api/v1/users", `{"username":"bob","password":"long-enough","role":"viewer"}`).code)
	require.Equal(t, 204, ac.do("DELETE", "/api/v1/users/bob", "").code)

	require.Equal(t, 204, env.admin.do("DELETE", "/api/v1/tokens/"+created.ID, "").code)
	require.Equal(t, 401, tc.do("GET", "/api/v1/alerts", "").code, "deleted token")
}

type alertList struct {
	Items []struct {
		ID        int64  `json:"id"`
		Time      string `json:"time"`
		Rule      string `json:"rule"`
		Priority  string `json:"priority"`
		Namespace string `json:"namespace"`
		Status    string `json:"status"`
	} `json:"items"`
	Next *string `json:"next_cursor"`
}

func TestAPIPagingAndFilters(t *testing.T) {
	env := newAPIEnv(t, true)
	seed(t, env.db, 1000)
	seen := map[int64]bool{}
	prev := int64(1 << 62)
	path := "/api/v1/alerts?limit=77"
	pages := 0
	for {
		r := env.admin.do("GET", path, "")
		require.Equal(t, 200, r.code, string(r.body))
		var l alertList
		r.json(t, &l)
		pages++
		for _, a := range l.Items {
			require.Less(t, a.ID, prev, "newest first")
			prev = a.ID
			require.False(t, seen[a.ID])
			seen[a.ID] = true
		}
		if l.Next == nil {
			break
		}
		path = "/api/v1/alerts?limit=77&cursor=" + *l.Next
	}
	require.Len(t, seen, 1000)
	require.Equal(t, 13, pages)

	count := func(q string) int {
		r := env.admin.do("GET", "/api/v1/alerts?limit=500&"+q, "")
		require.Equal(t, 200, r.code, string(r.body))
		var l alertList
		r.json(t, &l)
		return len(l.Items)
	}
	for _, tt := range []struct {
		q    string
		want int
	}{
		{"", 500},
		{"rule=r1", 200},
		{"rule=r1&rule=r2", 400},
		{"priority=Error", 500},
		{"min_priority=Error&namespace=ns0", 0},
		{"namespace=ns0", 500},
		{"container=abc123def456&rule=r0", 200},
		{"container=other", 0},
		{"q=event+99", 11}, // 99, 990-999
		{"q=R3", 200},      // free text over the rule too
		{"since=" + t0.Add(990*time.Second).Format(time.RFC3339), 10},
		{"until=" + t0.Add(10*time.Second).Format(time.RFC3339Nano), 10},
		{"status=resolved", 0},
		{"status=open,acknowledged", 500},
	} {
		t.Run(tt.q, func(t *testing.T) { require.Equal(t, tt.want, count(tt.q)) })
	}
	r := env.admin.do("GET", "/api/v1/alerts?limit=1", "")
	var l alertList
	r.json(t, &l)
	require.Equal(t, t0.Add(999*time.Second).Format("2006-01-02T15:04:05.000000000Z"), l.Items[0].Time)
}

func TestAPIDetailStatusNotes(t *testing.T) {
	env := newAPIEnv(t, true)
	ctx := context.Background()
	start := t0.Add(-time.Minute)
	require.NoError(t, env.db.Insert(ctx, []*alert.Alert{{
		Time: t0, Rule: "Read sensitive file untrusted", Priority: "Warning", Source: "syscall", Output: "cat /etc/shadow",
		Hostname: "node1", Tags: []string{"T1555", "T1609", "mitre_credential_access", "container"},
		OutputFields: map[string]any{"proc.name": "cat"},
		Context: &alert.Context{Provenance: &alert.Provenance{
			Process:   alert.Proc{PID: 30, PPID: 20, Exe: "/usr/bin/cat", Cmdline: "cat /etc/shadow", User: "root", StartTime: start},
			Ancestors: []alert.Proc{{PID: 20, PPID: 10, Exe: "/bin/sh"}, {PID: 10, PPID: 1, Exe: "/bin/sh"}},
		}},
	}, {Time: t0, Rule: "audit", Priority: "Notice", Source: "k8s_audit", Hostname: "node1"}}))
	require.NoError(t, env.db.RecordExecs(ctx, []store.ExecRecord{{Host: "node1", Proc: alert.Proc{PID: 31, PPID: 30, Exe: "/bin/child", StartTime: t0}}}))

	r := env.admin.do("POST", "/api/v1/alerts/1/status", `{"status":"acknowledged","note":"on it"}`)
	require.Equal(t, 200, r.code, string(r.body))
	var a map[string]any
	r.json(t, &a)
	require.Equal(t, "acknowledged", a["status"])
	require.Equal(t, "on it", a["note"])
	r = env.admin.do("POST", "/api/v1/alerts/1/notes", `{"text":"benign: backup job"}`)
	require.Equal(t, 201, r.code, string(r.body))
	require.Equal(t, 400, env.admin.do("POST", "/api/v1/alerts/1/notes", `{"text":"  "}`).code)

	r = env.admin.do("GET", "/api/v1/alerts/1", "")
	require.Equal(t, 200, r.code)
	var d struct {
		ID         int64  `json:"id"`
		Status     string `json:"status"`
		Provenance *struct {
			Process   struct{ PID int64 }   `json:"process"`
			Ancestors []struct{ PID int64 } `json:"ancestors"`
			Children  []struct {
				PID int64  `json:"pid"`
				Exe string `json:"exe"`
			} `json:"children"`
		} `json:"provenance"`
		ContainerInfo any `json:"container_info"`
		MITRE         []Technique
		Timeline      []struct{ Kind, Actor, Text string }
	}
	r.json(t, &d)
	require.Equal(t, int64(30), d.Provenance.Process.PID)
	require.Equal(t, []struct{ PID int64 }{{20}, {10}}, d.Provenance.Ancestors)
	require.Len(t, d.Provenance.Children, 1)
	require.Equal(t, "/bin/child", d.Provenance.Children[0].Exe)
	require.Nil(t, d.ContainerInfo)
	require.Equal(t, []Technique{
		{ID: "T1555", Name: "", Tactic: "credential-access"}, // not in the Containers matrix
		{ID: "T1609", Name: "Container Administration Command", Tactic: "execution"},
	}, d.MITRE)
	require.Len(t, d.Timeline, 3)
	require.Equal(t, "alert", d.Timeline[0].Kind)
	require.Equal(t, "status", d.Timeline[1].Kind)
	require.Equal(t, "admin", d.Timeline[1].Actor)
	require.Equal(t, "note", d.Timeline[2].Kind)
	require.Equal(t, "benign: backup job", d.Timeline[2].Text)
	require.Contains(t, string(r.body), `"start_time":"`+start.Format("2006-01-02T15:04:05.000000000Z")+`"`)

	r = env.admin.do("GET", "/api/v1/alerts/2", "")
	require.Contains(t, string(r.body), `"provenance":null`)
	require.Contains(t, string(r.body), `"mitre":[]`)
}

func TestAPIStream(t *testing.T) {
	env := newAPIEnv(t, true)
	seed(t, env.db, 2) // before the stream: not sent
	req, err := http.NewRequest("GET", env.url+"/api/v1/alerts/stream", nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req = req.WithContext(ctx)
	res, err := env.admin.hc.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	require.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = env.db.Insert(context.Background(), []*alert.Alert{{Time: time.Now(), Rule: "live", Priority: "Critical", Source: "syscall"}})
	}()
	sc := bufio.NewScanner(res.Body)
	var event, data string
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = v
			break
		}
	}
	require.Equal(t, "alert", event)
	var a map[string]any
	require.NoError(t, json.Unmarshal([]byte(data), &a))
	require.Equal(t, "live", a["rule"])
	require.Equal(t, float64(3), a["id"])
}

func TestAPIStatsAssetsHealth(t *testing.T) {
	env := newAPIEnv(t, true)
	seed(t, env.db, 10)
	r := env.admin.do("GET", "/api/v1/stats?since="+t0.Format(time.RFC3339)+"&until="+t0.Add(time.Hour).Format(time.RFC3339)+"&bucket=5s", "")
	require.Equal(t, 200, r.code, string(r.body))
	var st struct {
		Total       int64            `json:"total"`
		ByPriority  map[string]int64 `json:"by_priority"`
		ByRule      map[string]int64 `json:"by_rule"`
		ByNamespace map[string]int64 `json:"by_namespace"`
		Series      []struct {
			Time       string           `json:"time"`
			ByPriority map[string]int64 `json:"by_priority"`
		} `json:"series"`
	}
	r.json(t, &st)
	require.Equal(t, int64(10), st.Total)
	require.Equal(t, map[string]int64{"Warning": 5, "Error": 5}, st.ByPriority)
	require.Equal(t, int64(5), st.ByNamespace["ns1"])
	require.Len(t, st.Series, 2)
	require.Equal(t, map[string]int64{"Warning": 3, "Error": 2}, st.Series[0].ByPriority)

	require.NoError(t, env.db.UpsertAssets(context.Background(), []store.Asset{{Kind: store.AssetPod, ID: "prod/web-1", Name: "web-1"}}))
	r = env.admin.do("GET", "/api/v1/assets/containers", "")
	require.Equal(t, 200, r.code)
	var assets struct {
		Items []map[string]any `json:"items"`
	}
	r.json(t, &assets)
	require.Len(t, assets.Items, 1)
	require.Equal(t, "abc123def456", assets.Items[0]["id"])
	require.Equal(t, float64(10), assets.Items[0]["alerts"])
	require.Equal(t, "containers", assets.Items[0]["kind"])
	r = env.admin.do("GET", "/api/v1/assets/pods/prod/web-1", "")
	require.Equal(t, 200, r.code, string(r.body))
	require.Contains(t, string(r.body), `"name":"web-1"`)

	r = env.admin.do("GET", "/api/v1/health", "")
	require.Equal(t, 200, r.code)
	var h map[string]any
	r.json(t, &h)
	require.Equal(t, map[string]any{"status": "ok", "version": "test", "store": "ok",
		"sources": map[string]any{"k8s_audit": "running", "syscall": "off"}}, h)
}

func TestAPIAuthOff(t *testing.T) {
	env := newAPIEnv(t, false)
	seed(t, env.db, 1)
	c := newClient(t, env.url)
	require.Equal(t, 200, c.do("GET", "/api/v1/alerts", "").code)
	require.Equal(t, 200, c.do("POST", "/api/v1/alerts/1/status", `{"status":"resolved"}`).code)
	r := c.do("GET", "/api/v1/me", "")
	require.Contains(t, string(r.body), `"user":"anonymous"`)
	require.Equal(t, 404, c.do("GET", "/api/v1/tokens", "").code)
	m := newClient(t, env.url)
	require.Equal(t, 401, m.do("GET", "/metrics", "").code, "the metrics token still applies")
	m.bearer = "metrics-secret"
	require.Equal(t, 200, m.do("GET", "/metrics", "").code)
}

func TestAPIWithConsole(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "vigil.db"))
	require.NoError(t, err)
	defer db.Close()
	console := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("console")) })
	srv, err := New(Config{API: &APIConfig{Store: db}, Console: console}, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	c := newClient(t, ts.URL)
	r := c.do("GET", "/alerts/12", "")
	require.Equal(t, 200, r.code)
	require.Equal(t, "console", string(r.body))
	require.Equal(t, 405, c.do("POST", "/", "x").code)
	require.Equal(t, 200, c.do("GET", "/api/v1/alerts", "").code)
	require.Equal(t, 404, c.do("GET", "/api/v1/nope", "").code)
}
