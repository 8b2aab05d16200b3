package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAuditRouteWithConsole: with the console served at "/", other
// methods on /k8s-audit still get 405, not the console.
func TestAuditRouteWithConsole(t *testing.T) {
	console := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("console")) })
	dec := &auditDecoder{}
	srv, err := New(Config{Console: console}, dec)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for _, method := range []string{"GET", "HEAD", "PUT", "DELETE"} {
		t.Run(method, func(t *testing.T) {
			r := do(t, ts.Client(), method, ts.URL+"/k8s-audit", nil)
			require.Equal(t, http.StatusMethodNotAllowed, r.code)
			require.Equal(t, "POST", r.hdr.Get("Allow"))
			require.NotContains(t, r.body, "console")
		})
	}
	r := do(t, ts.Client(), "POST", ts.URL+"/k8s-audit", bytes.NewReader(readTestdata(t, "event.json")))
	require.Equal(t, http.StatusOK, r.code, r.body)
	require.Equal(t, `{"accepted":1}`, r.body)
	require.Equal(t, "console", do(t, ts.Client(), "GET", ts.URL+"/alerts", nil).body)
}
