package outputs

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
)

// falcoPayload mirrors falcosidekick's types.FalcoPayload, the struct its
// POST / handler decodes Falco's json_output into.
type falcoPayload struct {
	UUID         string         `json:"uuid,omitempty"`
	Output       string         `json:"output"`
	Priority     string         `json:"priority"`
	Rule         string         `json:"rule"`
	Time         time.Time      `json:"time"`
	OutputFields map[string]any `json:"output_fields"`
	Source       string         `json:"source"`
	Tags         []string       `json:"tags,omitempty"`
	Hostname     string         `json:"hostname,omitempty"`
}

// request is what a test receiver saw.
type request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// receiver records requests and answers with status and body.
type receiver struct {
	mu   sync.Mutex
	reqs []request
	got  chan struct{}
}

func newReceiver() *receiver { return &receiver{got: make(chan struct{}, 1000)} }

func (rc *receiver) handler(status int, answer string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), b})
		rc.mu.Unlock()
		rc.got <- struct{}{}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	})
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

func TestWebhookBodyIsFalcoJSON(t *testing.T) {
	rc := newReceiver()
	srv := httptest.NewServer(rc.handler(http.StatusOK, ""))
	defer srv.Close()
	w, err := NewWebhook(WebhookConfig{
		HTTP:    HTTP{URL: srv.URL + "/", Retry: fastRetry},
		Method:  "put",
		Headers: map[string]string{"Authorization": "Bearer s3cret", "X-Custom": "v"},
	})
	require.NoError(t, err)
	defer w.Close()
	a := testAlert()
	require.NoError(t, w.Send(context.Background(), a))

	reqs := rc.requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	require.Equal(t, http.MethodPut, r.Method)
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	require.Equal(t, "Bearer s3cret", r.Header.Get("Authorization"))
	require.Equal(t, "v", r.Header.Get("X-Custom"))
	want, err := a.AppendJSON(nil)
	require.NoError(t, err)
	require.Equal(t, string(want), string(r.Body), "body is exactly Falco's json_output")

	// falcosidekick decodes it without unknown fields or loss.
	var p falcoPayload
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&p))
	require.Equal(t, a.Rule, p.Rule)
	require.Equal(t, a.Priority, p.Priority)
	require.Equal(t, a.Source, p.Source)
	require.Equal(t, a.Hostname, p.Hostname)
	require.Equal(t, a.Text(), p.Output)
	require.Equal(t, a.Tags, p.Tags)
	require.True(t, p.Time.Equal(a.Time))
	require.Len(t, p.OutputFields, len(a.OutputFields))
}

// pki is a test CA with a server and a client certificate, as PEM files.
type pki struct {
	caFile, certFile, keyFile string // CA, client cert and key
	caPool                    *x509.CertPool
	server                    tls.Certificate
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		require.NoError(t, err)
		return der, key
	}
	writePEM := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return p
	}
	var k pki
	k.caFile = writePEM("ca.pem", "CERTIFICATE", caDER)
	k.caPool = x509.NewCertPool()
	k.caPool.AddCert(ca)
	srvDER, srvKey := issue(2, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	k.server = tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}
	cliDER, cliKey := issue(3, "vigil client", x509.ExtKeyUsageClientAuth)
	k.certFile = writePEM("client.pem", "CERTIFICATE", cliDER)
	keyDER, err := x509.MarshalECPrivateKey(cliKey)
	require.NoError(t, err)
	k.keyFile = writePEM("client-key.pem", "EC PRIVATE KEY", keyDER)
	return k
}

func TestWebhookTLS(t *testing.T) {
	k := newPKI(t)
	rc := newReceiver()
	srv := httptest.NewUnstartedServer(rc.handler(http.StatusOK, ""))
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{k.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    k.caPool,
	}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	defer srv.Close()
	noRetry := Retry{MaxAttempts: 1}
	tests := []struct {
		name    string
		tls     TLS
		wantErr string
	}{
		{"ca and client cert", TLS{CAFile: k.caFile, CertFile: k.certFile, KeyFile: k.keyFile}, ""},
		{"no client cert", TLS{CAFile: k.caFile}, "certificate required"},
		{"unknown CA", TLS{CertFile: k.certFile, KeyFile: k.keyFile}, "certificate signed by unknown authority"},
		{"insecure skips server check", TLS{InsecureSkipVerify: true, CertFile: k.certFile, KeyFile: k.keyFile}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(rc.requests())
			w, err := NewWebhook(WebhookConfig{HTTP: HTTP{URL: srv.URL, TLS: tt.tls, Retry: noRetry}})
			require.NoError(t, err)
			defer w.Close()
			err = w.Send(context.Background(), testAlert())
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Len(t, rc.requests(), before)
				return
			}
			require.NoError(t, err)
			require.Len(t, rc.requests(), before+1)
		})
	}
}

// TestSlowWebhookDoesNotDelayOthers runs two webhooks behind one Fanout:
// one receiver hangs, the other must get every alert promptly.
func TestSlowWebhookDoesNotDelayOthers(t *testing.T) {
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hung.Close()
	defer close(release)
	rc := newReceiver()
	fast := httptest.NewServer(rc.handler(http.StatusOK, ""))
	defer fast.Close()

	const n = 50
	hw, err := NewWebhook(WebhookConfig{HTTP: HTTP{URL: hung.URL, Timeout: time.Minute, Retry: Retry{MaxAttempts: 1}}})
	require.NoError(t, err)
	fw, err := NewWebhook(WebhookConfig{HTTP: HTTP{URL: fast.URL, Retry: fastRetry}})
	require.NoError(t, err)
	f, err := alert.NewFanout(alert.FanoutConfig{QueueSize: 8},
		alert.Output{Name: "hung", Sink: hw}, alert.Output{Name: "fast", Sink: fw, QueueSize: n})
	require.NoError(t, err)
	hungStats := func() alert.SinkStats {
		for _, s := range f.Stats() {
			if s.Name == "hung" {
				return s
			}
		}
		return alert.SinkStats{}
	}
	start := time.Now()
	for i := range n {
		a := testAlert()
		a.Rule = fmt.Sprint("rule ", i)
		require.NoError(t, f.Send(context.Background(), a))
		if i == 0 { // the hung output takes the first alert into its request
			require.Eventually(t, func() bool { return hungStats().Queued == 0 }, 5*time.Second, time.Millisecond)
		}
	}
	require.Less(t, time.Since(start), 5*time.Second, "Send must not block on the hung output")
	deadline := time.After(10 * time.Second)
	for range n {
		select {
		case <-rc.got:
		case <-deadline:
			t.Fatalf("fast receiver got %d of %d alerts within 10s", len(rc.requests()), n)
		}
	}
	for i, r := range rc.requests() {
		var p falcoPayload
		require.NoError(t, json.Unmarshal(r.Body, &p))
		require.Equal(t, fmt.Sprint("rule ", i), p.Rule, "order kept")
	}
	// One alert is stuck in the hung request, 8 wait in its queue, the
	// rest were dropped and counted.
	require.Equal(t, uint64(n-1-8), hungStats().Dropped)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	require.Error(t, f.Close(ctx), "close gives up on the hung output")
}
