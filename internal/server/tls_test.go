package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testCA is a certificate authority made for a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// newCert creates a certificate from tmpl signed by parent (self-signed
// when parent is nil) and returns it with its key.
func newCert(t *testing.T, tmpl *x509.Certificate, parent *testCA) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	require.NoError(t, err)
	tmpl.SerialNumber = serial
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	c, k, p := newCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: name}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}, nil)
	return &testCA{cert: c, key: k, pem: p}
}

// clientCert is a client certificate signed by ca.
func clientCert(t *testing.T, ca *testCA, name string) tls.Certificate {
	t.Helper()
	c, k, _ := newCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: name},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca)
	return tls.Certificate{Certificate: [][]byte{c.Raw}, PrivateKey: k, Leaf: c}
}

func leafOf(t *testing.T, c tls.Certificate) *x509.Certificate {
	t.Helper()
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	require.NoError(t, err)
	return leaf
}

func TestSelfSigned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	certPath, keyPath := filepath.Join(dir, SelfSignedCert), filepath.Join(dir, SelfSignedKey)

	c, created, err := SelfSigned(dir, []string{"vigil.example", "10.0.0.7", "0.0.0.0", "::", "", "localhost"})
	require.NoError(t, err)
	require.True(t, created)
	leaf := leafOf(t, c)
	require.Equal(t, []string{"localhost", "vigil.example"}, leaf.DNSNames, "DNS SANs")
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	require.Equal(t, []string{"127.0.0.1", "::1", "10.0.0.7"}, ips, "IP SANs: wildcard listen addresses are left out")
	require.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, leaf.ExtKeyUsage)
	require.Equal(t, x509.ECDSA, leaf.PublicKeyAlgorithm)
	require.Equal(t, elliptic.P256(), leaf.PublicKey.(*ecdsa.PublicKey).Curve)
	require.WithinDuration(t, time.Now().Add(365*24*time.Hour), leaf.NotAfter, time.Hour)
	require.True(t, leaf.NotBefore.Before(time.Now()))

	for _, f := range []struct {
		path string
		mode os.FileMode
	}{{keyPath, 0o600}, {certPath, 0o644}} {
		st, err := os.Stat(f.path)
		require.NoError(t, err)
		require.Equal(t, f.mode, st.Mode().Perm(), "mode of %s", f.path)
	}
	st, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm(), "mode of the directory it created")

	// The certificate file verifies for every SAN (what a client trusting
	// it checks).
	certPEM, err := os.ReadFile(certPath)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(certPEM))
	for _, name := range []string{"localhost", "127.0.0.1", "::1", "vigil.example", "10.0.0.7"} {
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool})
		require.NoError(t, err, name)
	}
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: "other.example", Roots: pool})
	require.Error(t, err)

	t.Run("reused on restart", func(t *testing.T) {
		for _, hosts := range [][]string{
			{"vigil.example", "10.0.0.7"},
			{"10.0.0.7"}, // a subset of the names is still covered
			nil,
		} {
			again, created, err := SelfSigned(dir, hosts)
			require.NoError(t, err)
			require.False(t, created, "hosts %q", hosts)
			require.Equal(t, c.Certificate, again.Certificate)
		}
		after, err := os.ReadFile(certPath)
		require.NoError(t, err)
		require.Equal(t, certPEM, after, "the file is not rewritten")
	})

	t.Run("replaced for a new host", func(t *testing.T) {
		nc, created, err := SelfSigned(dir, []string{"other.example"})
		require.NoError(t, err)
		require.True(t, created)
		require.NotEqual(t, c.Certificate, nc.Certificate)
		require.NoError(t, leafOf(t, nc).VerifyHostname("other.example"))
		st, err := os.Stat(keyPath)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	})

	t.Run("replaced a week before expiry", func(t *testing.T) {
		old, key, oldPEM := newCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "old"},
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
			NotAfter: time.Now().Add(3 * 24 * time.Hour)}, nil)
		kder, err := x509.MarshalECPrivateKey(key)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
		require.NoError(t, os.WriteFile(certPath, oldPEM, 0o644))
		nc, created, err := SelfSigned(dir, nil)
		require.NoError(t, err)
		require.True(t, created)
		require.NotEqual(t, old.Raw, nc.Certificate[0])
		require.WithinDuration(t, time.Now().Add(365*24*time.Hour), leafOf(t, nc).NotAfter, time.Hour)
	})

	t.Run("corrupt file is an error, not overwritten", func(t *testing.T) {
		require.NoError(t, os.WriteFile(certPath, []byte("not a certificate\n"), 0o644))
		_, _, err := SelfSigned(dir, nil)
		require.ErrorContains(t, err, "load self-signed certificate "+certPath+": ")
		require.ErrorContains(t, err, "(delete it to make a new one)")
		b, err := os.ReadFile(certPath)
		require.NoError(t, err)
		require.Equal(t, "not a certificate\n", string(b))
	})
}

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cert, _, err := SelfSigned(dir, nil)
	require.NoError(t, err)
	cfg, err := TLSConfig(cert, "")
	require.NoError(t, err)
	require.Nil(t, cfg.ClientCAs)
	require.Equal(t, uint16(tls.VersionTLS12), cfg.MinVersion)

	noPEM := filepath.Join(dir, "empty.pem")
	require.NoError(t, os.WriteFile(noPEM, []byte("hello\n"), 0o600))
	for _, tc := range []struct{ file, want string }{
		{filepath.Join(dir, "missing.pem"), "read client CA " + filepath.Join(dir, "missing.pem") + ": open "},
		{noPEM, "client CA " + noPEM + ": no PEM certificate found"},
	} {
		_, err := TLSConfig(cert, tc.file)
		require.ErrorContains(t, err, tc.want)
	}
}

// TestAuditMTLS serves POST /k8s-audit over real TLS with a client CA: a
// client certificate it signed gets in, one from another CA is refused in
// the handshake, and without a certificate the bearer token (when set) is
// the only way in.
func TestAuditMTLS(t *testing.T) {
	dir := t.TempDir()
	trusted, other := newCA(t, "apiserver client CA"), newCA(t, "some other CA")
	caFile := filepath.Join(dir, "client-ca.pem")
	require.NoError(t, os.WriteFile(caFile, trusted.pem, 0o600))
	serverCert, _, err := SelfSigned(filepath.Join(dir, "data"), nil)
	require.NoError(t, err)
	certPEM, err := os.ReadFile(filepath.Join(dir, "data", SelfSignedCert))
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(certPEM))
	good, bad := clientCert(t, trusted, "kube-apiserver"), clientCert(t, other, "intruder")
	event := readTestdata(t, "event.json")

	for _, token := range []string{"", "s3cret-audit-token"} {
		t.Run("token="+token, func(t *testing.T) {
			cfg, err := TLSConfig(serverCert, caFile)
			require.NoError(t, err)
			dec := &auditDecoder{}
			s, err := New(Config{Addr: "127.0.0.1:0", TLS: cfg, AuditToken: token}, dec)
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			addr, err := s.Listen(ctx)
			require.NoError(t, err)
			done := make(chan error, 1)
			go func() { done <- s.Serve(ctx) }()
			t.Cleanup(func() {
				cancel()
				require.NoError(t, <-done)
			})
			url := "https://" + addr.String()

			client := func(cert *tls.Certificate) *http.Client {
				tc := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
				if cert != nil {
					// Always sent: Go's default would send only a
					// certificate whose issuer the server asks for.
					tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
				}
				return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
			}
			post := func(c *http.Client, bearer string) (reply, error) {
				req, err := http.NewRequest("POST", url+"/k8s-audit", bytes.NewReader(event))
				require.NoError(t, err)
				if bearer != "" {
					req.Header.Set("Authorization", "Bearer "+bearer)
				}
				resp, err := c.Do(req)
				if err != nil {
					return reply{}, err
				}
				defer resp.Body.Close()
				var b bytes.Buffer
				_, err = b.ReadFrom(resp.Body)
				require.NoError(t, err)
				return reply{code: resp.StatusCode, body: b.String()}, nil
			}

			tests := []struct {
				name   string
				cert   *tls.Certificate
				bearer string
				code   int    // 0: refused in the TLS handshake
				body   string // part of the reply
			}{
				{"client certificate of the CA", &good, "", 200, `{"accepted":1}`},
				{"client certificate of the CA and a wrong token", &good, "wrong", 200, `{"accepted":1}`},
				{"client certificate of another CA", &bad, "", 0, ""},
				{"no certificate, no token", nil, "", 401, "missing or invalid bearer token or client certificate"},
				{"no certificate, wrong token", nil, "wrong", 401, "missing or invalid bearer token or client certificate"},
			}
			if token != "" {
				tests = append(tests, struct {
					name   string
					cert   *tls.Certificate
					bearer string
					code   int
					body   string
				}{"no certificate, the token", nil, token, 200, `{"accepted":1}`})
			}
			accepted := 0
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					r, err := post(client(tc.cert), tc.bearer)
					if tc.code == 0 {
						require.Error(t, err, "a certificate of another CA must not complete the handshake")
						require.ErrorContains(t, err, "tls: ")
						return
					}
					require.NoError(t, err)
					require.Equal(t, tc.code, r.code, "reply: %s", r.body)
					require.Contains(t, r.body, tc.body)
					if tc.code == 200 {
						accepted++
					}
				})
			}
			require.Len(t, dec.IDs(), accepted, "events ingested only for accepted requests")

			// Probes need no client certificate.
			r := do(t, client(nil), "GET", url+"/healthz", nil)
			require.Equal(t, 200, r.code)
		})
	}
}
