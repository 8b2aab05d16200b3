package scanner_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/scan/report"
	"github.com/vigilsec/vigil/internal/scan/scanner"
	"github.com/vigilsec/vigil/internal/scan/secret"
	"github.com/vigilsec/vigil/internal/testutil"
)

// secretFiles are the planted files of secretImage and the raw secrets
// they hold.
type secretFiles struct {
	files   map[string][]byte // path -> content
	secrets []string
}

func plantSecrets(t *testing.T) secretFiles {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	gh := "ghp_" + "Zq7Lr2Xw9Tn4Vb8Mc1Kd6Hs3Jf5Gp0Ya2Ue9"
	gl := "glpat-" + "Rk3Vn8Qx2Wm7Lt5Ys9Pb"
	body := []byte("BEGIN RSA PRIVATE KEY")
	return secretFiles{
		files: map[string][]byte{
			"app/config.yaml":       []byte("server:\n  port: 8080\ngithub:\n  token: " + gh + "\n"),
			"root/.ssh/id_rsa":      keyPEM,
			"srv/deploy.sh":         []byte("#!/bin/sh\ncurl -H 'PRIVATE-TOKEN: " + gl + "' https://gitlab.example/api/v4/projects\n"),
			"usr/lib/blob.bin":      append([]byte{0x7f, 'E', 'L', 'F', 0}, []byte("token: "+gh)...), // binary: skipped
			"usr/share/doc/key.txt": body,                                                            // not a key
		},
		secrets: []string{gh, gl, string(keyPEM[40:80])},
	}
}

func tarLayer(t *testing.T, files map[string][]byte, names ...string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		data := files[n]
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: n, Mode: 0o600, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}))
		_, err := tw.Write(data)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	require.NoError(t, err)
	return l
}

const (
	secretBaseStep = "COPY rootfs / # buildkit"
	secretAppStep  = "COPY config.yaml deploy.sh /srv/ # buildkit"
)

// secretImage has the key and a binary in its base layer, the token files
// in the second.
func secretImage(t *testing.T, sf secretFiles) (v1.Image, []string) {
	t.Helper()
	layers := []v1.Layer{
		tarLayer(t, sf.files, "root/.ssh/id_rsa", "usr/lib/blob.bin", "usr/share/doc/key.txt"),
		tarLayer(t, sf.files, "app/config.yaml", "srv/deploy.sh"),
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	require.NoError(t, err)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	cf.History = []v1.History{{CreatedBy: secretBaseStep}, {CreatedBy: secretAppStep}}
	img, err = mutate.ConfigFile(img, cf)
	require.NoError(t, err)
	var digests []string
	for _, l := range layers {
		d, err := l.Digest()
		require.NoError(t, err)
		digests = append(digests, d.String())
	}
	return img, digests
}

func gitleaksRules(t *testing.T) *secret.Scanner {
	t.Helper()
	p := testutil.SharedData(t, "secrets/gitleaks/gitleaks.toml")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	cfg, err := secret.LoadGitleaks(p, data)
	require.NoError(t, err)
	return secret.New(cfg.Rules, secret.WithAllowlists(cfg.Allowlists...))
}

func TestSecretsInImage(t *testing.T) {
	sf := plantSecrets(t)
	img, digests := secretImage(t, sf)
	for name, rules := range map[string]*secret.Scanner{"builtin": secret.New(secret.Builtin()), "gitleaks": gitleaksRules(t)} {
		t.Run(name, func(t *testing.T) {
			res, err := scanner.ScanImage(context.Background(), img, "secret-image", scanner.Options{
				Scanners: scanner.Set{scanner.Secrets: true}, Secrets: scanner.SecretRules{S: rules}})
			require.NoError(t, err)
			require.Empty(t, res.Errors)
			byPath := map[string]scanner.Secret{}
			for _, s := range res.Secrets { // sorted by path and line: keep each file's first
				if _, ok := byPath[s.Path]; !ok {
					byPath[s.Path] = s
				}
			}
			require.Len(t, byPath, 3, "findings: %+v", res.Secrets)
			for p, want := range map[string]struct {
				layer, step string
				line        int
			}{
				"root/.ssh/id_rsa": {digests[0], secretBaseStep, 0}, // line 1 (gitleaks) or 2 (built-in: the key body)
				"app/config.yaml":  {digests[1], secretAppStep, 4},
				"srv/deploy.sh":    {digests[1], secretAppStep, 2},
			} {
				f, ok := byPath[p]
				require.True(t, ok, "no finding in %s: %+v", p, res.Secrets)
				require.Equal(t, want.layer, f.Layer, p)
				require.Equal(t, want.step, f.CreatedBy, p)
				if want.line > 0 {
					require.Equal(t, want.line, f.Line, p)
				} else {
					require.LessOrEqual(t, f.Line, 2, p)
				}
				require.Contains(t, f.Match, "****", p)
			}
			requireNoSecretInReports(t, res, sf.secrets)
		})
	}
}

// requireNoSecretInReports renders res in every format and checks that no
// raw secret appears.
func requireNoSecretInReports(t *testing.T, res *scanner.Result, secrets []string) {
	t.Helper()
	for _, format := range report.Formats {
		var buf bytes.Buffer
		require.NoError(t, report.Write(&buf, format, res, report.Options{Version: "test"}), format)
		if format != "cyclonedx" && format != "spdx" { // SBOMs list packages, not findings
			require.Contains(t, buf.String(), "****", "%s report shows no redacted secret", format)
		}
		for _, s := range secrets {
			require.NotContains(t, buf.String(), s, "%s report leaks a secret", format)
		}
	}
}

func TestSecretsInDir(t *testing.T) {
	sf := plantSecrets(t)
	dir := t.TempDir()
	for p, data := range sf.files {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), data, 0o600))
	}
	// A text file beyond the cap: its beginning is scanned and the cut is
	// reported.
	big := append(bytes.Repeat([]byte("filler line without secrets\n"), 600), sf.files["app/config.yaml"]...)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.log"), big, 0o600))
	res, err := scanner.ScanDir(context.Background(), dir, scanner.Options{
		Scanners: scanner.Set{scanner.Secrets: true}, Secrets: scanner.SecretRules{S: secret.New(secret.Builtin()), MaxSize: 16 << 10}})
	require.NoError(t, err)
	paths := map[string]bool{}
	for _, s := range res.Secrets {
		paths[s.Path] = true
		require.Empty(t, s.Layer)
	}
	require.Equal(t, map[string]bool{"root/.ssh/id_rsa": true, "app/config.yaml": true, "srv/deploy.sh": true}, paths)
	require.Len(t, res.Errors, 1)
	require.Equal(t, "big.log", res.Errors[0].Path)
	require.Contains(t, res.Errors[0].Message, "scanned its beginning")
	requireNoSecretInReports(t, res, sf.secrets)
}
