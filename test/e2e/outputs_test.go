//go:build linux

package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sidekickPayload mirrors falcosidekick's types.FalcoPayload.
type sidekickPayload struct {
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

// TestRunConfigOutputs runs `vigil run --config` with a webhook output (a
// falcosidekick stand-in checking its payload type), a text file output
// with a minimum priority and a unix syslog receiver, posts a real audit
// capture, and checks what each received and the Prometheus counters.
func TestRunConfigOutputs(t *testing.T) {
	c := readCapture(t, "sa_token_read_secrets.jsonl")
	replay := vigil(t, "replay", c.Path)
	require.Equal(t, 0, replay.Code, "stderr:\n%s", replay.Stderr)
	want := lines(replay.Stdout)
	require.NotEmpty(t, want)

	var mu sync.Mutex
	var got []sidekickPayload
	var hookErr error
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p sidekickPayload
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err := dec.Decode(&p)
		mu.Lock()
		defer mu.Unlock()
		if err != nil || r.Header.Get("X-Token") != "t0k" || r.Method != http.MethodPost {
			hookErr = err
			if err == nil {
				hookErr = &json.UnsupportedValueError{Str: "bad request: " + r.Method + " " + r.Header.Get("X-Token")}
			}
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got = append(got, p)
	}))
	defer hook.Close()

	dir := t.TempDir()
	sock := filepath.Join(dir, "syslog.sock")
	rx, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	require.NoError(t, err)
	defer rx.Close()
	textFile := filepath.Join(dir, "errors.log")
	cfg := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`
listen: 127.0.0.1:0
data_dir: `+filepath.Join(dir, "data")+`
hostname: e2e-host
outputs:
  - type: webhook
    name: sidekick
    url: `+hook.URL+`/
    headers: {X-Token: t0k}
    retry: {max_attempts: 3, initial_backoff: 10ms}
  - type: file
    name: errors
    path: `+textFile+`
    format: text
    min_priority: error
  - type: syslog
    network: unixgram
    address: `+sock+`
    facility: local3
`), 0o600))

	d := startDaemon(t, "--config", cfg, "--auth=false") // metrics scraped without a token
	d.waitReady()
	code, reply := d.post(bytes.NewReader(eventList(c.Events)))
	require.Equal(t, http.StatusOK, code, reply)

	// The webhook gets every alert replay gives for the same events.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n, herr := len(got), hookErr
		mu.Unlock()
		require.NoError(t, herr)
		if n >= len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook got %d of %d alerts within 10s", n, len(want))
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	var rules []string
	errorsWanted := 0
	perRule := map[string]int{} // vigil_alerts_total label pairs

	for i, p := range got {
		var r sidekickPayload
		require.NoError(t, json.Unmarshal([]byte(want[i]), &r))
		require.Equal(t, r.Rule, p.Rule)
		require.Equal(t, "e2e-host", p.Hostname, "hostname from the config file")
		require.Equal(t, "k8s_audit", p.Source)
		rules = append(rules, p.Rule)
		perRule[`priority="`+p.Priority+`",rule="`+p.Rule+`"`]++
		if p.Priority == "Error" || p.Priority == "Critical" || p.Priority == "Alert" || p.Priority == "Emergency" {
			errorsWanted++
		}
	}
	mu.Unlock()
	require.Contains(t, rules, "Service Account Read Secrets")
	require.NotEmpty(t, len(want)-errorsWanted, "the capture must also raise alerts below error, to test min_priority")

	// Syslog receives one RFC 5424 datagram per alert, facility local3.
	buf := make([]byte, 64<<10)
	syslogRe := regexp.MustCompile(`^<(\d+)>1 \S+ e2e-host vigil \d+ k8s_audit - \d\d:\d\d:\d\d\.\d{9}: (\w+) `)
	for range want {
		require.NoError(t, rx.SetReadDeadline(time.Now().Add(5*time.Second)))
		n, err := rx.Read(buf)
		require.NoError(t, err)
		m := syslogRe.FindStringSubmatch(string(buf[:n]))
		require.NotNil(t, m, "syslog message %q", buf[:n])
		pri, _ := strconv.Atoi(m[1])
		require.Equal(t, 19, pri/8, "facility local3")
	}

	// The text file holds only the alerts of priority error or more.
	var textLines []string
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(textFile)
		textLines = lines(string(b))
		return len(textLines) >= errorsWanted
	}, 5*time.Second, 20*time.Millisecond)
	require.Len(t, textLines, errorsWanted)
	for _, l := range textLines {
		require.Regexp(t, `^\d\d:\d\d:\d\d\.\d{9}: (Error|Critical|Alert|Emergency) `, l)
	}
	require.Empty(t, d.stdoutLines(), "stdout is not among the configured outputs")

	// Prometheus counters.
	code, metrics := d.get("/metrics")
	require.Equal(t, http.StatusOK, code)
	for labels, n := range perRule {
		require.Contains(t, metrics, "vigil_alerts_total{"+labels+"} "+strconv.Itoa(n)+"\n")
	}
	for _, line := range []string{
		`vigil_events_total{source="k8s_audit"} ` + strconv.Itoa(len(c.Events)),
		`vigil_output_sent_total{output="sidekick"} ` + strconv.Itoa(len(want)),
		`vigil_output_sent_total{output="syslog"} ` + strconv.Itoa(len(want)),
		`vigil_output_filtered_total{output="errors"} ` + strconv.Itoa(len(want)-errorsWanted),
		`vigil_output_failed_total{output="sidekick"} 0`,
		`vigil_output_dropped_total{output="sidekick"} 0`,
	} {
		require.Contains(t, metrics, line+"\n")
	}
	require.True(t, strings.Contains(metrics, `vigil_output_sent_total{output="store"}`))
}

// TestRunConfigErrors checks that a bad configuration file stops vigil
// run with every problem as FILE:LINE:COL, and that flags override the file.
func TestRunConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\nlisten_addr: x\noutputs:\n  - type: webhook\n    url: http://127.0.0.1:1/\n    retry: {max_attempts: many}\n"), 0o600))
	r := vigil(t, "run", "--config", cfg)
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.Stderr, cfg+`:2:1: unknown key "listen_addr" in configuration`)
	require.Contains(t, r.Stderr, cfg+`:6:27: outputs[0] (webhook).retry.max_attempts: want an integer, got "many"`+"\n")
	require.Equal(t, 3, strings.Count(r.Stderr, "\n"), "two problems, each once:\n%s", r.Stderr)

	r = vigil(t, "run", "--config", filepath.Join(dir, "missing.yaml"))
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.Stderr, "read config: open "+filepath.Join(dir, "missing.yaml"))

	// --listen on the command line wins over the file's.
	require.NoError(t, os.WriteFile(cfg, []byte("listen: 127.0.0.1:1\ndata_dir: "+filepath.Join(dir, "data")+"\n"), 0o600))
	d := startDaemon(t, "--config", cfg, "--listen", "127.0.0.1:0")
	require.NotEqual(t, "127.0.0.1:1", d.addr)
	d.waitReady()
}
