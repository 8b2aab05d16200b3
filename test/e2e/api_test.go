//go:build linux

package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// apiClient talks HTTPS to a `vigil run`, trusting only the certificate
// it generated in its data directory, with a cookie jar for the session.
type apiClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newAPIClient(t *testing.T, addr, dataDir string) *apiClient {
	t.Helper()
	pemBytes, err := os.ReadFile(filepath.Join(dataDir, "tls-selfsigned.crt"))
	require.NoError(t, err, "the self-signed certificate in the data directory")
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(pemBytes))
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &apiClient{t: t, base: "https://" + addr, http: &http.Client{
		Timeout:   20 * time.Second,
		Jar:       jar,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}},
	}}
}

// apiReply is an HTTP reply.
type apiReply struct {
	code int
	body []byte
	hdr  http.Header
}

// decode decodes the JSON body into v.
func (r apiReply) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

// do sends method path with body (JSON-encoded unless []byte) and headers
// given as name, value pairs.
func (c *apiClient) do(method, path string, body any, hdr ...string) apiReply {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(c.t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.http.Do(req)
	require.NoError(c.t, err, "%s %s", method, path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return apiReply{code: resp.StatusCode, body: b, hdr: resp.Header}
}

// expect sends the request and requires the status code.
func (c *apiClient) expect(code int, method, path string, body any, hdr ...string) apiReply {
	c.t.Helper()
	r := c.do(method, path, body, hdr...)
	require.Equal(c.t, code, r.code, "%s %s: %s", method, path, r.body)
	if code >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(r.body, &e) == nil {
			require.NotEmpty(c.t, e.Error, "an error reply says what: %s", r.body)
		}
	}
	return r
}

// randomSecret is a secret unlikely to appear anywhere by chance.
func randomSecret(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return prefix + hex.EncodeToString(b)
}

type apiAlert struct {
	ID       int64    `json:"id"`
	Rule     string   `json:"rule"`
	Priority string   `json:"priority"`
	Source   string   `json:"source"`
	Output   string   `json:"output"`
	Tags     []string `json:"tags"`
	Status   string   `json:"status"`
	Note     string   `json:"note"`
}

type apiAlertDetail struct {
	apiAlert
	Provenance json.RawMessage `json:"provenance"`
	Mitre      []struct {
		ID, Name, Tactic string
	} `json:"mitre"`
	Timeline []struct {
		Kind, Actor, Text string
	} `json:"timeline"`
}

// TestAPI drives `vigil run` with authentication and a self-signed
// certificate as an operator would: the audit webhook behind a bearer
// token, login over HTTPS, alerts listed, read and triaged with the CSRF
// header, an API token for a viewer; and no secret in vigil's output.
func TestAPI(t *testing.T) {
	c := readCapture(t, "pod_exec.jsonl")
	replay := vigil(t, "replay", c.Path)
	require.Equal(t, 0, replay.Code, "stderr:\n%s", replay.Stderr)
	want := lines(replay.Stdout)
	require.Len(t, want, 2, "alerts of %s", c.Name)

	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	password := randomSecret(t, "pw-")
	auditToken := randomSecret(t, "audit-")
	tokenFile := filepath.Join(dir, "audit-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(auditToken+"\n"), 0o600))
	t.Setenv("VIGIL_ADMIN_PASSWORD", password)
	d := startDaemon(t, "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--tls-self-signed", "--audit-token-file", tokenFile)
	api := newAPIClient(t, d.addr, dataDir)
	secrets := map[string]string{"admin password": password, "audit token": auditToken}

	t.Run("TLS only", func(t *testing.T) {
		st, err := os.Stat(filepath.Join(dataDir, "tls-selfsigned.key"))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "mode of the generated key")
		resp, err := client.Get("http://" + d.addr + "/healthz")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "plain HTTP to the HTTPS server")
		api.expect(http.StatusOK, "GET", "/healthz", nil)
	})

	t.Run("audit webhook needs the token", func(t *testing.T) {
		body := eventList(c.Events)
		for _, tc := range []struct {
			name string
			hdr  []string
		}{
			{"no token", nil},
			{"wrong token", []string{"Authorization", "Bearer " + randomSecret(t, "audit-")}},
			{"not bearer", []string{"Authorization", "Basic " + auditToken}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := api.do("POST", "/k8s-audit", body, tc.hdr...)
				require.Equal(t, http.StatusUnauthorized, r.code, "%s", r.body)
				require.Contains(t, string(r.body), "missing or invalid bearer token")
			})
		}
		time.Sleep(100 * time.Millisecond)
		require.Empty(t, d.stdoutLines(), "refused requests raised alerts")
		r := api.expect(http.StatusOK, "POST", "/k8s-audit", body, "Authorization", "Bearer "+auditToken)
		require.Equal(t, fmt.Sprintf(`{"accepted":%d}`, len(c.Events)), string(r.body))
		require.Equal(t, want, d.waitStdout(len(want), 5*time.Second))
	})

	var csrf string
	t.Run("login", func(t *testing.T) {
		api.expect(http.StatusUnauthorized, "GET", "/api/v1/alerts", nil)
		api.expect(http.StatusUnauthorized, "GET", "/metrics", nil)
		api.expect(http.StatusUnauthorized, "POST", "/api/v1/login", map[string]string{"username": "admin", "password": password + "x"})
		r := api.expect(http.StatusOK, "POST", "/api/v1/login", map[string]string{"username": "admin", "password": password})
		var login struct {
			User, Role string
			CSRF       string `json:"csrf_token"`
		}
		r.decode(t, &login)
		require.Equal(t, "admin", login.User)
		require.Equal(t, "admin", login.Role)
		require.NotEmpty(t, login.CSRF)
		csrf = login.CSRF
		secrets["CSRF token"] = csrf
		var cookie *http.Cookie
		for _, ck := range (&http.Response{Header: r.hdr}).Cookies() {
			if ck.Name == "vigil_session" {
				cookie = ck
			}
		}
		require.NotNil(t, cookie, "session cookie")
		require.True(t, cookie.Secure, "Secure over TLS")
		require.True(t, cookie.HttpOnly)
		require.Equal(t, http.SameSiteStrictMode, cookie.SameSite)
		secrets["session id"] = cookie.Value
		var me struct{ User, Role string }
		api.expect(http.StatusOK, "GET", "/api/v1/me", nil).decode(t, &me)
		require.Equal(t, "admin", me.User)
		api.expect(http.StatusOK, "GET", "/metrics", nil)
	})

	var alerts []apiAlert
	t.Run("list alerts", func(t *testing.T) {
		// The store is written in batches: wait for both alerts.
		deadline := time.Now().Add(5 * time.Second)
		for {
			var list struct {
				Items      []apiAlert `json:"items"`
				NextCursor *string    `json:"next_cursor"`
			}
			api.expect(http.StatusOK, "GET", "/api/v1/alerts", nil).decode(t, &list)
			alerts = list.Items
			if len(alerts) >= len(want) || time.Now().After(deadline) {
				require.Nil(t, list.NextCursor)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		require.Len(t, alerts, len(want))
		for _, a := range alerts {
			require.Equal(t, "Interactive Session Into Pod", a.Rule)
			require.Equal(t, "Notice", a.Priority)
			require.Equal(t, "k8s_audit", a.Source)
			require.Equal(t, "open", a.Status)
			require.Contains(t, a.Output, "pod=shell ns=vigil-e2e action=exec")
		}
		require.Greater(t, alerts[0].ID, alerts[1].ID, "newest first")
		var filtered struct{ Items []apiAlert }
		api.expect(http.StatusOK, "GET", "/api/v1/alerts?q=verb%3Dget", nil).decode(t, &filtered)
		require.Len(t, filtered.Items, 1)
		require.Contains(t, filtered.Items[0].Output, "verb=get")
	})
	require.NotEmpty(t, alerts, "no alerts listed")
	id := alerts[0].ID
	path := fmt.Sprintf("/api/v1/alerts/%d", id)

	t.Run("alert detail", func(t *testing.T) {
		var a apiAlertDetail
		api.expect(http.StatusOK, "GET", path, nil).decode(t, &a)
		require.Equal(t, id, a.ID)
		require.Equal(t, "Interactive Session Into Pod", a.Rule)
		require.Equal(t, []string{"k8s", "T1609", "mitre_execution"}, a.Tags)
		require.Equal(t, "null", string(a.Provenance), "an audit alert has no process")
		require.Len(t, a.Mitre, 1)
		require.Equal(t, "T1609", a.Mitre[0].ID)
		require.Equal(t, "Container Administration Command", a.Mitre[0].Name)
		require.Equal(t, "execution", a.Mitre[0].Tactic)
		require.NotEmpty(t, a.Timeline)
		require.Equal(t, "alert", a.Timeline[0].Kind)
		api.expect(http.StatusNotFound, "GET", "/api/v1/alerts/999999", nil)
	})

	t.Run("change status with the CSRF header", func(t *testing.T) {
		change := map[string]string{"status": "acknowledged", "note": "looking into it"}
		api.expect(http.StatusForbidden, "POST", path+"/status", change)
		api.expect(http.StatusForbidden, "POST", path+"/status", change, "X-CSRF-Token", "wrong")
		var a apiAlert
		api.expect(http.StatusOK, "POST", path+"/status", change, "X-CSRF-Token", csrf).decode(t, &a)
		require.Equal(t, "acknowledged", a.Status)
		var detail apiAlertDetail
		api.expect(http.StatusOK, "GET", path, nil).decode(t, &detail)
		require.Equal(t, "acknowledged", detail.Status)
		var kinds []string
		for _, e := range detail.Timeline {
			kinds = append(kinds, e.Kind)
			if e.Kind == "status" {
				require.Equal(t, "admin", e.Actor)
			}
		}
		require.Contains(t, kinds, "status")
		var list struct{ Items []apiAlert }
		api.expect(http.StatusOK, "GET", "/api/v1/alerts?status=acknowledged", nil).decode(t, &list)
		require.Len(t, list.Items, 1)
		require.Equal(t, id, list.Items[0].ID)
		api.expect(http.StatusBadRequest, "POST", path+"/status", map[string]string{"status": "ignored"}, "X-CSRF-Token", csrf)
	})

	t.Run("viewer API token", func(t *testing.T) {
		api.expect(http.StatusForbidden, "POST", "/api/v1/tokens", map[string]string{"name": "e2e-viewer", "role": "viewer"})
		var tok struct {
			ID, Name, Role, Token string
		}
		api.expect(http.StatusCreated, "POST", "/api/v1/tokens", map[string]string{"name": "e2e-viewer", "role": "viewer"},
			"X-CSRF-Token", csrf).decode(t, &tok)
		require.Equal(t, "viewer", tok.Role)
		require.True(t, strings.HasPrefix(tok.Token, "vgl_"), "token %q", tok.Token)
		secrets["API token"] = tok.Token
		var toks struct {
			Items []map[string]any `json:"items"`
		}
		api.expect(http.StatusOK, "GET", "/api/v1/tokens", nil).decode(t, &toks)
		require.Len(t, toks.Items, 1)
		require.NotContains(t, string(api.expect(http.StatusOK, "GET", "/api/v1/tokens", nil).body), tok.Token, "a token is shown once")

		// A client with no session: the bearer token only.
		viewer := newAPIClient(t, d.addr, dataDir)
		bearer := []string{"Authorization", "Bearer " + tok.Token}
		var list struct{ Items []apiAlert }
		viewer.expect(http.StatusOK, "GET", "/api/v1/alerts", nil, bearer...).decode(t, &list)
		require.Len(t, list.Items, len(want))
		viewer.expect(http.StatusOK, "GET", path, nil, bearer...)
		viewer.expect(http.StatusOK, "GET", "/metrics", nil, bearer...)
		var me struct{ User, Role string }
		viewer.expect(http.StatusOK, "GET", "/api/v1/me", nil, bearer...).decode(t, &me)
		require.Equal(t, "viewer", me.Role)
		viewer.expect(http.StatusForbidden, "POST", path+"/status", map[string]string{"status": "resolved"}, bearer...)
		viewer.expect(http.StatusForbidden, "POST", path+"/notes", map[string]string{"text": "x"}, bearer...)
		viewer.expect(http.StatusForbidden, "GET", "/api/v1/tokens", nil, bearer...)
		viewer.expect(http.StatusForbidden, "POST", "/api/v1/tokens", map[string]string{"name": "x", "role": "admin"}, bearer...)
		viewer.expect(http.StatusUnauthorized, "GET", "/api/v1/alerts", nil, "Authorization", "Bearer vgl_"+strings.Repeat("0", 43))
		var a apiAlert
		api.expect(http.StatusOK, "GET", path, nil).decode(t, &a)
		require.Equal(t, "acknowledged", a.Status, "the viewer changed nothing")

		var health struct {
			Status, Version, Store string
			Sources                map[string]string
		}
		viewer.expect(http.StatusOK, "GET", "/api/v1/health", nil, bearer...).decode(t, &health)
		require.Equal(t, "ok", health.Status)
		require.Equal(t, testVersion, health.Version, "the version stamped into the binary")
		require.Equal(t, "ok", health.Store)
		require.Equal(t, map[string]string{"syscall": "off", "k8s_audit": "running"}, health.Sources)

		// Deleted, the token stops working at once.
		api.expect(http.StatusNoContent, "DELETE", "/api/v1/tokens/"+tok.ID, nil, "X-CSRF-Token", csrf)
		viewer.expect(http.StatusUnauthorized, "GET", "/api/v1/alerts", nil, bearer...)
	})

	t.Run("logout", func(t *testing.T) {
		api.expect(http.StatusNoContent, "POST", "/api/v1/logout", nil, "X-CSRF-Token", csrf)
		api.expect(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
	})

	t.Run("no secrets in the output", func(t *testing.T) {
		d.mu.Lock()
		out := strings.Join(d.stdout, "\n") + "\n" + strings.Join(d.stderr, "\n")
		d.mu.Unlock()
		require.Contains(t, out, "msg=login component=server", "logins are logged")
		for what, s := range secrets {
			require.NotEmpty(t, s, what)
			require.NotContains(t, out, s, "the %s appears in vigil's stdout/stderr", what)
		}
	})
}

// TestAPIConfigFile: the auth, tls and audit webhook keys of vigil.yaml
// take effect, and flags override them.
func TestAPIConfigFile(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	password, auditToken, metricsToken := randomSecret(t, "pw-"), randomSecret(t, "audit-"), randomSecret(t, "metrics-")
	files := map[string]string{"admin-password": password, "audit-token": auditToken, "metrics-token": metricsToken}
	for name, s := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(s+"\n"), 0o600))
	}
	conf := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(conf, fmt.Appendf(nil, `listen: 127.0.0.1:0
data_dir: %s
auth:
  enabled: true
  admin_password_file: %s
  metrics_token_file: %s
tls:
  self_signed: true
audit_token_file: %s
outputs: []
`, dataDir, filepath.Join(dir, "admin-password"), filepath.Join(dir, "metrics-token"), filepath.Join(dir, "audit-token")), 0o600))
	t.Setenv("VIGIL_ADMIN_PASSWORD", "") // the file's password, not the environment's

	d := startDaemon(t, "--config", conf)
	api := newAPIClient(t, d.addr, dataDir)
	event := readCapture(t, "pod_exec.jsonl").Events[0]
	api.expect(http.StatusUnauthorized, "POST", "/k8s-audit", event)
	api.expect(http.StatusOK, "POST", "/k8s-audit", event, "Authorization", "Bearer "+auditToken)
	api.expect(http.StatusUnauthorized, "GET", "/metrics", nil)
	api.expect(http.StatusOK, "GET", "/metrics", nil, "Authorization", "Bearer "+metricsToken)
	api.expect(http.StatusOK, "POST", "/api/v1/login", map[string]string{"username": "admin", "password": password})
	d.mu.Lock()
	out := strings.Join(d.stdout, "\n") + strings.Join(d.stderr, "\n")
	d.mu.Unlock()
	for _, s := range files {
		require.NotContains(t, out, s)
	}

	// A bad value stops vigil run before it starts, naming FILE:LINE:COL.
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("tls:\n  cert: /x.pem\n"), 0o600))
	r := vigil(t, "run", "--config", bad, "--data-dir", t.TempDir())
	require.Equal(t, 1, r.Code, "stderr:\n%s", r.Stderr)
	require.Contains(t, r.Stderr, bad+":1:1: tls: cert and key go together")

	// --auth=false on the command line wins over enabled: true in the file.
	d2 := startDaemon(t, "--config", conf, "--data-dir", filepath.Join(dir, "data2"), "--auth=false", "--tls-self-signed=false")
	resp, err := client.Get("http://" + d2.addr + "/api/v1/alerts")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "no login with --auth=false, plain HTTP with --tls-self-signed=false")
}
