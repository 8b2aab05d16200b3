//go:build e2econsole

// Browser tests of the web console in real headless Chromium, driven by
// browser.mjs (playwright-core). Run with `make e2e-console`, or:
//
//	bash scripts/deps-browser.sh && go test -tags e2econsole -v ./test/console/
//
// TestConsoleRealServer runs the console against a real `vigil run` built
// from this tree and writes the screenshots of docs/console.md to
// test/console/screenshots. TestConsoleFakeAPI runs it against the FAKE API
// of fakeapi (seeded with a week of made-up alerts).
package console

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/test/console/fakeapi"
	"github.com/vigilsec/vigil/web"
)

// moduleRoot returns the directory holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "go.mod not found above the working directory")
		dir = parent
	}
}

// needBrowser skips unless Chromium, Node and playwright-core are installed.
func needBrowser(t *testing.T, root string) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Skip("no /usr/bin/chromium: run scripts/deps-browser.sh")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("no node on PATH: run scripts/deps-browser.sh")
	}
	if _, err := os.Stat(filepath.Join(root, "web/node_modules/playwright-core")); err != nil {
		t.Skip("no web/node_modules/playwright-core: run scripts/deps-browser.sh")
	}
}

// runBrowser runs browser.mjs with env; when it prints "LIVE?" it calls
// live and then lets the script go on. It fails the test when the script
// fails and returns its step lines.
func runBrowser(t *testing.T, root string, env map[string]string, live func()) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(root, "test/console/browser.mjs"))
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	var steps []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		t.Log(line)
		if line == "LIVE?" {
			if live != nil {
				live()
			}
			_, _ = io.WriteString(stdin, "go\n")
			continue
		}
		steps = append(steps, line)
	}
	err = cmd.Wait()
	require.NoErrorf(t, err, "browser.mjs failed:\n%s", stderr.String())
	require.Contains(t, steps, "step: ok")
	return steps
}

func TestConsoleFakeAPI(t *testing.T) {
	root := moduleRoot(t)
	needBrowser(t, root)
	api := fakeapi.New(map[string][2]string{"admin": {"pw-admin", "admin"}}, true)
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/", web.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	steps := runBrowser(t, root, map[string]string{
		"VIGIL_URL": srv.URL, "VIGIL_USER": "admin", "VIGIL_PASS": "pw-admin", "SHOTS": t.TempDir(),
		"EXPECT_RULE": "Terminal shell in container", "EXPECT_PROC": "1", "EXPECT_MITRE": "T1059",
		"LIVE_RULE": "Container escape via release_agent", "ASSET_KIND": "containers",
	}, func() {
		api.Add(fakeapi.Sample(3, time.Now()))
	})
	require.Contains(t, strings.Join(steps, "\n"), "process tree: 3 ancestors → bash (highlighted) → 2 children")
}

// daemon is a running `vigil run`.
type daemon struct {
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	stderr bytes.Buffer
}

var servingRe = regexp.MustCompile(`msg=serving component=run addr=(\S+)`)

func startVigil(t *testing.T, bin, password string) *daemon {
	t.Helper()
	d := &daemon{}
	d.cmd = exec.Command(bin, "run", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0")
	d.cmd.Env = append(os.Environ(), "VIGIL_ADMIN_PASSWORD="+password)
	d.cmd.Stdout = io.Discard
	pr, pw := io.Pipe()
	d.cmd.Stderr = pw
	require.NoError(t, d.cmd.Start())
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			d.mu.Lock()
			d.stderr.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
			if m := servingRe.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = d.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = d.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = d.cmd.Process.Kill()
			<-done
		}
		_ = pw.Close()
		if t.Failed() {
			d.mu.Lock()
			t.Logf("vigil run stderr:\n%s", d.stderr.String())
			d.mu.Unlock()
		}
	})
	select {
	case d.addr = <-found:
	case <-time.After(60 * time.Second):
		d.mu.Lock()
		defer d.mu.Unlock()
		t.Fatalf("vigil run did not log its address within 60s:\n%s", d.stderr.String())
	}
	return d
}

// timestampRe matches the timestamps of an audit event.
var timestampRe = regexp.MustCompile(`"(requestReceivedTimestamp|stageTimestamp)":"[^"]+"`)

// auditBody reads a real audit capture and wraps it in an EventList, with
// its timestamps moved to now so the alerts fall in the console's default
// time windows (the events are otherwise unchanged).
func auditBody(t *testing.T, root, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "ruleset/testdata/real", name))
	require.NoError(t, err)
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
	var items [][]byte
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		items = append(items, timestampRe.ReplaceAll(l, []byte(`"$1":"`+now+`"`)))
	}
	out := []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[`)
	out = append(out, bytes.Join(items, []byte(","))...)
	return append(out, "]}"...)
}

func postAudit(t *testing.T, base string, body []byte) {
	t.Helper()
	resp, err := http.Post(base+"/k8s-audit", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equalf(t, 200, resp.StatusCode, "POST /k8s-audit: %s", b)
}

// apiClient logs in to the real API and returns a client with the session.
func apiClient(t *testing.T, base, password string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Post(base+"/api/v1/login", "application/json", strings.NewReader(fmt.Sprintf(`{"username":"admin","password":%q}`, password)))
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		t.Skip("API v1 not served by vigil run yet")
	}
	require.Equalf(t, 200, resp.StatusCode, "login: %s", b)
	return c
}

func getJSON(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	resp, err := c.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equalf(t, 200, resp.StatusCode, "GET %s: %s", u, b)
	require.NoError(t, json.Unmarshal(b, v), "GET %s", u)
}

// waitAlert waits until the real API lists an alert of rule.
func waitAlert(t *testing.T, c *http.Client, base, rule string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var page struct{ Items []struct{ Rule string } }
		getJSON(t, c, base+"/api/v1/alerts?limit=5&rule="+url.QueryEscape(rule), &page)
		if len(page.Items) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert of rule %q within 20s", rule)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestConsoleRealServer(t *testing.T) {
	root := moduleRoot(t)
	needBrowser(t, root)
	bin := filepath.Join(t.TempDir(), "vigil")
	build := exec.Command("go", "build", "-o", bin, "./cmd/vigil")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoErrorf(t, err, "go build ./cmd/vigil:\n%s", out)

	const password = "console-e2e-Passw0rd"
	d := startVigil(t, bin, password)
	base := "http://" + d.addr
	c := apiClient(t, base, password)

	// A Kubernetes audit alert from a real captured kubectl exec.
	postAudit(t, base, auditBody(t, root, "pod_exec.jsonl"))
	waitAlert(t, c, base, "Interactive Session Into Pod")

	// A runtime alert from a real process, when the syscall source runs
	// (root with BTF).
	var health struct{ Sources map[string]string }
	getJSON(t, c, base+"/api/v1/health", &health)
	procRule := ""
	if health.Sources["syscall"] == "running" {
		// Start from a clean environment so that the screenshots show no
		// variables of the machine running the test.
		cmd := exec.Command("/bin/sh", "-c", "head -c1 /etc/shadow >/dev/null; sleep 0.2")
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		require.NoError(t, cmd.Run())
		procRule = "Sensitive File Read"
		waitAlert(t, c, base, procRule)
	} else {
		t.Logf("no runtime alert: the syscall source is %q (needs root and BTF)", health.Sources["syscall"])
	}

	// The console at / of vigil run; until internal/app mounts
	// web.Handler, put it in front of the real API on one origin.
	url := base
	resp, err := http.Get(base + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`<div id="app">`)) {
		t.Logf("vigil run does not serve the console at / (GET / = %d): serving web.Handler() in front of the real API; mount it in internal/app", resp.StatusCode)
		target, err := neturl(base)
		require.NoError(t, err)
		mux := http.NewServeMux()
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.FlushInterval = -1 // Server-Sent Events
		mux.Handle("/api/", proxy)
		mux.Handle("/", web.Handler())
		front := httptest.NewServer(mux)
		defer front.Close()
		url = front.URL
	}

	shots := filepath.Join(root, "test/console/screenshots")
	env := map[string]string{
		"VIGIL_URL": url, "VIGIL_USER": "admin", "VIGIL_PASS": password, "SHOTS": shots,
		"EXPECT_RULE": "Interactive Session Into Pod", "EXPECT_MITRE": "T1609",
		"LIVE_RULE": "Pod Created With Privileged Container", "ASSET_KIND": "hosts",
	}
	if procRule != "" {
		env["PROC_RULE"] = procRule
	}
	runBrowser(t, root, env, func() {
		// A new alert while the list is open arrives over the real SSE stream.
		postAudit(t, base, auditBody(t, root, "pod_privileged.jsonl"))
	})
}

func neturl(s string) (*url.URL, error) { return url.Parse(s) }
