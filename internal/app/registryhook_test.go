package app

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/registryhook"
	"github.com/vigilsec/vigil/internal/scan/scanner"
	"github.com/vigilsec/vigil/internal/scan/scanner/scantest"
)

const registryBin = "/usr/bin/docker-registry"

// hookImage builds a one-layer image holding files (path → content).
func hookImage(t *testing.T, files map[string][]byte) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range []string{"usr/local/bin/app", "etc/app/key.pem", "etc/motd"} { // fixed order: stable digests
		data, ok := files[p]
		if !ok {
			continue
		}
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: p, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg,
			ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}))
		_, err := tw.Write(data)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	b := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	require.NoError(t, err)
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, History: v1.History{CreatedBy: "COPY . / # vigil test"}})
	require.NoError(t, err)
	cfg, err := img.ConfigFile()
	require.NoError(t, err)
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.User = "1000"
	img, err = mutate.ConfigFile(img, cfg)
	require.NoError(t, err)
	return img
}

// privateKeyPEM returns a freshly generated Ed25519 key in PKCS #8 PEM.
func privateKeyPEM(t *testing.T) []byte {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// startRegistry runs Debian's docker-registry on addr with storage in dir
// and, when hookURL is set, notifications to it; it stops at cleanup.
func startRegistry(t *testing.T, dir, addr, hookURL, token string) {
	t.Helper()
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
  secret: vigil-registry-hook-test
`, filepath.Join(dir, "storage"), addr)
	if hookURL != "" {
		cfg += fmt.Sprintf(`notifications:
  endpoints:
    - name: vigil
      url: %s
      headers:
        Authorization: [Bearer %s]
      timeout: 5s
      threshold: 3
      backoff: 1s
      ignoredmediatypes:
        - application/octet-stream
`, hookURL, token)
	}
	require.NoError(t, os.MkdirAll(dir, 0o700))
	path := filepath.Join(dir, "registry.yml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	var logs bytes.Buffer
	cmd := exec.Command(registryBin, "serve", path)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-done
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-done:
			t.Fatalf("docker-registry exited: %s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("docker-registry not serving on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(stop)
}

func push(t *testing.T, ref string, img v1.Image) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(r, img))
	d, err := img.Digest()
	require.NoError(t, err)
	return d
}

// alertsFrom decodes the JSON-lines alerts vigil run writes to stdout.
func alertsFrom(r io.Reader) <-chan map[string]any {
	ch := make(chan map[string]any, 16)
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				ch <- m
			}
		}
	}()
	return ch
}

// waitScanAlert returns the next registry hook alert; other alerts (from
// the machine's own activity) are skipped.
func waitScanAlert(t *testing.T, ch <-chan map[string]any) map[string]any {
	t.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case m := <-ch:
			if m["rule"] == registryhook.RuleName {
				return m
			}
		case <-timeout:
			t.Fatal("no image scan alert within 2 minutes")
		}
	}
}

func readReport(t *testing.T, path string) *scanner.Result {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var res scanner.Result
	require.NoError(t, json.Unmarshal(b, &res))
	return &res
}

// TestRegistryHook pushes real images to Debian's docker-registry on
// 127.0.0.1 and checks what vigil run does with the notifications: the
// Harbor-shaped webhook first (registry without notifications), then the
// registry's own Distribution notifications.
func TestRegistryHook(t *testing.T) {
	if _, err := os.Stat(registryBin); err != nil {
		t.Skipf("docker-registry not installed (scripts/deps.sh installs the Debian package): %v", err)
	}
	dir := t.TempDir()
	dbPath := scantest.DB(t, dir)
	app := scantest.GoBinary(t, dir)
	appBin, err := os.ReadFile(app)
	require.NoError(t, err)
	vulnImg := hookImage(t, map[string][]byte{"usr/local/bin/app": appBin, "etc/app/key.pem": privateKeyPEM(t)})
	harborImg := hookImage(t, map[string][]byte{"usr/local/bin/app": appBin, "etc/app/key.pem": privateKeyPEM(t), "etc/motd": []byte("harbor\n")})
	cleanImg := hookImage(t, map[string][]byte{"etc/motd": []byte("hello\n")})

	token := "hook-token-1234"
	tokenFile := filepath.Join(dir, "hook.token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token+"\n"), 0o600))
	regAddr := freePort(t)
	dataDir := filepath.Join(dir, "data")

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	alerts := alertsFrom(pr)
	ready := make(chan string, 1)
	logPath := filepath.Join(dir, "vigil.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("vigil run log:\n%s", b)
		}
	})
	runErr := make(chan error, 1)
	go func() {
		runErr <- Run(ctx, RunOptions{
			Listen: "127.0.0.1:0", DataDir: dataDir, Hostname: "hook-test", Stdout: pw, Stderr: io.Discard,
			Logger: slog.New(slog.NewTextHandler(logFile, nil)),
			Sensor: SensorOptions{Mode: SensorOff}, Auth: AuthOptions{Disabled: true},
			Ready: func(addr string) { ready <- addr },
			RegistryHook: RegistryHookOptions{Enabled: true, TokenFile: tokenFile, Insecure: []string{regAddr},
				Registries: []string{regAddr}, DBPath: dbPath, QueueSize: 4},
		})
	}()
	var vigilAddr string
	select {
	case vigilAddr = <-ready:
	case err := <-runErr:
		t.Fatalf("vigil run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("vigil run not ready")
	}
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-runErr)
		_ = pw.Close()
	})
	hookURL := "http://" + vigilAddr + "/hooks/registry"
	reportOf := func(d v1.Hash) string { return filepath.Join(dataDir, "scans", d.String()+".json") }

	t.Run("harbor", func(t *testing.T) {
		regDir := filepath.Join(dir, "registry")
		startRegistry(t, regDir, regAddr, "", "")
		d := push(t, regAddr+"/library/web:v2", harborImg)
		body := fmt.Sprintf(`{"type":"PUSH_ARTIFACT","occur_at":1700000000,"operator":"admin","event_data":{`+
			`"resources":[{"digest":%q,"tag":"v2","resource_url":"%s/library/web:v2"}],`+
			`"repository":{"name":"web","namespace":"library","repo_full_name":"library/web","repo_type":"private"}}}`, d, regAddr)
		for _, tc := range []struct {
			token string
			code  int
		}{{"", http.StatusUnauthorized}, {"wrong", http.StatusUnauthorized}, {token, http.StatusAccepted}} {
			req, err := http.NewRequest(http.MethodPost, hookURL, strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, tc.code, resp.StatusCode, string(b))
		}
		al := waitScanAlert(t, alerts)
		checkScanAlert(t, al, d, regAddr+"/library/web:v2", "library/web", reportOf(d))
	})

	t.Run("distribution", func(t *testing.T) {
		regDir := filepath.Join(dir, "registry") // the same storage as the harbor subtest
		startRegistry(t, regDir, regAddr, hookURL, token)
		clean := push(t, regAddr+"/team/clean:1", cleanImg)
		d := push(t, regAddr+"/team/app:v1", vulnImg)
		al := waitScanAlert(t, alerts)
		checkScanAlert(t, al, d, regAddr+"/team/app:v1", "team/app", reportOf(d))

		// The clean image, pushed first, was scanned first (one worker):
		// its report is there and it raised no alert.
		res := readReport(t, reportOf(clean))
		require.Equal(t, regAddr+"/team/clean@"+clean.String(), res.Target)
		require.Empty(t, res.Vulnerabilities)
		require.Empty(t, res.Secrets)

		resp, err := http.Get("http://" + vigilAddr + "/metrics")
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		metrics := string(b)
		require.Contains(t, metrics, "vigil_registry_hook_scanned_total 3")
		require.Contains(t, metrics, "vigil_registry_hook_alerts_total 2")
		require.Contains(t, metrics, "vigil_registry_hook_unauthorized_total 2")
		require.Contains(t, metrics, "vigil_registry_hook_failed_total 0")
	})
}

// checkScanAlert checks an image scan alert against the stored report.
func checkScanAlert(t *testing.T, al map[string]any, digest v1.Hash, image, repo, reportPath string) {
	t.Helper()
	t.Logf("alert: %s", al["output"])
	f, ok := al["output_fields"].(map[string]any)
	require.True(t, ok, "output_fields: %v", al)
	require.Equal(t, registryhook.Source, al["source"])
	require.Equal(t, "hook-test", al["hostname"])
	require.Equal(t, digest.String(), f["digest"])
	require.Equal(t, image, f["image"])
	require.Equal(t, repo, f["repository"])
	require.Equal(t, reportPath, f["report"])
	require.Equal(t, "Critical", al["priority"], "the private key is a CRITICAL secret")
	require.Contains(t, f["top_findings"], "private-key")

	res := readReport(t, reportPath)
	require.Contains(t, res.Target, "@"+digest.String())
	var ids []string
	want := map[string]any{}
	for _, s := range scanner.Severities {
		want[s] = 0.0
	}
	count := func(sev string) { want[sev] = want[sev].(float64) + 1 }
	for _, v := range res.Vulnerabilities {
		ids = append(ids, v.ID)
		count(v.Severity)
	}
	for _, s := range res.Secrets {
		count(s.Severity)
	}
	for _, m := range res.Misconfigurations {
		count(m.Severity)
	}
	for _, p := range res.Passwords {
		count(p.Severity)
	}
	for _, m := range res.Malware {
		count(m.Severity)
	}
	require.Contains(t, ids, scantest.XTextAdvisory, "the vulnerable golang.org/x/text in the Go binary")
	require.Equal(t, want, f["counts"])
	require.GreaterOrEqual(t, want["UNKNOWN"], 1.0)
	require.GreaterOrEqual(t, want["CRITICAL"], 1.0)
}
