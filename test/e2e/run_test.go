//go:build linux

package e2e

import (
	"github.com/vigilsec/vigil/internal/store/sqlite"
	"slices"

	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// daemon is a running `vigil run`.
type daemon struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string // bound address, from the log

	mu     sync.Mutex
	stdout []string // complete lines
	stderr []string
	change chan struct{} // closed and replaced when a line arrives

	exited chan struct{} // closed once the process is reaped
	err    error         // Wait's error
}

// servingRe finds the bound address in the log of `vigil run`.
var servingRe = regexp.MustCompile(`msg=serving component=run addr=(\S+)`)

// startDaemon starts `vigil run args...` and waits until it logs the
// address it listens on.
func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, change: make(chan struct{}), exited: make(chan struct{})}
	// These tests are about the audit webhook and outputs: the syscall
	// source stays off unless asked for, so that what the machine does
	// meanwhile cannot add alerts (test/runtime covers the sensor).
	if !slices.Contains(args, "--sensor") {
		args = append([]string{"--sensor", "off"}, args...)
	}
	// They count one alert per matching event: aggregation is off unless
	// asked for (TestRunAggregation covers it).
	if !slices.Contains(args, "--aggregate-window") {
		args = append([]string{"--aggregate-window", "0s"}, args...)
	}
	d.cmd = exec.Command(vigilBin, append([]string{"run"}, args...)...)
	stdout, err := d.cmd.StdoutPipe()
	require.NoError(t, err)
	stderr, err := d.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, d.cmd.Start())
	var readers sync.WaitGroup
	readers.Add(2)
	go d.read(stdout, &d.stdout, &readers)
	go d.read(stderr, &d.stderr, &readers)
	go func() {
		readers.Wait()
		d.err = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if t.Failed() {
			t.Logf("vigil run stderr:\n%s", tail(strings.Join(d.stderr, "\n")))
		}
		assertNoCrash(t, d.cmd.Args, strings.Join(d.stderr, "\n"))
	})
	d.waitFor(10*time.Second, "the bound address in the log", func() bool {
		for _, l := range d.stderr {
			if m := servingRe.FindStringSubmatch(l); m != nil {
				d.addr = m[1]
				return true
			}
		}
		return false
	})
	return d
}

func (d *daemon) read(r io.Reader, dst *[]string, wg *sync.WaitGroup) {
	defer wg.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		d.mu.Lock()
		*dst = append(*dst, sc.Text())
		close(d.change)
		d.change = make(chan struct{})
		d.mu.Unlock()
	}
}

// waitFor waits until cond, called with d.mu held, is true.
func (d *daemon) waitFor(timeout time.Duration, what string, cond func() bool) time.Duration {
	d.t.Helper()
	start := time.Now()
	deadline := time.After(timeout)
	for {
		d.mu.Lock()
		ok, ch := cond(), d.change
		d.mu.Unlock()
		if ok {
			return time.Since(start)
		}
		select {
		case <-ch:
		case <-d.exited:
			d.mu.Lock()
			ok = cond()
			d.mu.Unlock()
			if !ok {
				d.t.Fatalf("vigil run exited (%v) before %s", d.err, what)
			}
			return time.Since(start)
		case <-deadline:
			d.t.Fatalf("no %s within %s", what, timeout)
		}
	}
}

// waitStdout waits until stdout holds n lines and returns them.
func (d *daemon) waitStdout(n int, timeout time.Duration) []string {
	d.t.Helper()
	d.waitFor(timeout, fmt.Sprintf("%d alert lines on stdout", n), func() bool { return len(d.stdout) >= n })
	return d.stdoutLines()
}

func (d *daemon) stdoutLines() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.stdout...)
}

func (d *daemon) url(path string) string { return "http://" + d.addr + path }

var client = &http.Client{Timeout: 20 * time.Second}

// post sends body to /k8s-audit and returns the status and reply.
func (d *daemon) post(body io.Reader) (int, string) {
	d.t.Helper()
	resp, err := client.Post(d.url("/k8s-audit"), "application/json", body)
	require.NoError(d.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(d.t, err)
	return resp.StatusCode, string(b)
}

func (d *daemon) get(path string) (int, string) {
	d.t.Helper()
	resp, err := client.Get(d.url(path))
	require.NoError(d.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(d.t, err)
	return resp.StatusCode, string(b)
}

// waitReady polls GET /readyz until it answers 200.
func (d *daemon) waitReady() {
	d.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(d.url("/readyz"))
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				require.Equal(d.t, "ok", string(b))
				return
			}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("GET /readyz not 200 within 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventList wraps audit events in an audit.k8s.io/v1 EventList, as the
// kube-apiserver webhook backend sends them.
func eventList(events [][]byte) []byte {
	b := []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[`)
	b = append(b, bytes.Join(events, []byte(","))...)
	return append(b, "]}"...)
}

// TestRunWebhook drives `vigil run` as kube-apiserver's audit webhook
// backend would: real EventLists alert on stdout, in the alerts file and in
// the data directory; bad requests get 400 and 413 without hurting the
// process; SIGTERM drains every alert and exits 0.
func TestRunWebhook(t *testing.T) {
	c := readCapture(t, "sa_token_read_secrets.jsonl")
	body := eventList(c.Events)
	// The same events replayed give the alerts the webhook must produce.
	replay := vigil(t, "replay", c.Path)
	require.Equal(t, 0, replay.Code, "stderr:\n%s", replay.Stderr)
	want := lines(replay.Stdout)
	require.NotEmpty(t, want)

	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	alertsFile := filepath.Join(dir, "a.jsonl")
	const maxBody = 256 << 10
	d := startDaemon(t, "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--alerts-file", alertsFile,
		"--max-request-bytes", fmt.Sprint(maxBody))
	host, _, err := net.SplitHostPort(d.addr)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", host)
	d.waitReady()
	code, reply := d.get("/healthz")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ok", reply)

	posted := 0 // EventLists accepted
	postList := func() {
		t.Helper()
		code, reply := d.post(bytes.NewReader(body))
		require.Equal(t, http.StatusOK, code, "reply: %s", reply)
		require.Equal(t, fmt.Sprintf(`{"accepted":%d}`, len(c.Events)), reply)
		posted++
	}

	t.Run("alerts", func(t *testing.T) {
		start := time.Now()
		postList()
		d.waitFor(2*time.Second, "Service Account Read Secrets alert on stdout", func() bool {
			for _, l := range d.stdout {
				if strings.Contains(l, `"rule":"Service Account Read Secrets"`) {
					return true
				}
			}
			return false
		})
		t.Logf("Service Account Read Secrets alert on stdout %s after the request was sent", time.Since(start).Round(time.Microsecond))
		got := d.waitStdout(len(want), 2*time.Second)
		require.Equal(t, want, got, "the webhook's alerts differ from replay's for the same events")
		for _, l := range got {
			checkAlert(t, l)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		before := len(d.stdoutLines())
		truncated := body[:len(body)/2]
		var many [][]byte
		for len(many) <= (maxBody/len(body)+1)*len(c.Events) {
			many = append(many, c.Events...)
		}
		big := eventList(many)
		require.Greater(t, len(big), maxBody)
		tooLarge := fmt.Sprintf("exceeds the limit of %d bytes", maxBody)
		for _, tc := range []struct {
			name  string
			body  io.Reader
			code  int
			reply string // part of the reply
		}{
			{"not JSON", strings.NewReader("hello, this is not JSON"), http.StatusBadRequest, "not JSON"},
			{"binary", bytes.NewReader([]byte{0, 1, 2, 0xff, '{'}), http.StatusBadRequest, "not JSON"},
			{"empty", strings.NewReader(""), http.StatusBadRequest, "empty request body"},
			{"JSON not an audit event", strings.NewReader(`{"kind":"ConfigMap","apiVersion":"v1","data":{"a":"b"}}`), http.StatusBadRequest, malformedPrefix},
			{"truncated EventList", bytes.NewReader(truncated), http.StatusBadRequest, malformedPrefix},
			{"over the limit", bytes.NewReader(big), http.StatusRequestEntityTooLarge, tooLarge},
			// No Content-Length: the limit is found while reading.
			{"over the limit, chunked", io.MultiReader(bytes.NewReader(big)), http.StatusRequestEntityTooLarge, tooLarge},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, reply := d.post(tc.body)
				require.Equal(t, tc.code, code, "reply: %s", reply)
				require.Contains(t, reply, tc.reply)
				require.NotContains(t, reply, "goroutine ")
			})
		}
		code, _ := d.get("/k8s-audit")
		require.Equal(t, http.StatusMethodNotAllowed, code)
		time.Sleep(100 * time.Millisecond)
		require.Len(t, d.stdoutLines(), before, "rejected requests raised alerts")

		// Still healthy, still alerting.
		code, _ = d.get("/healthz")
		require.Equal(t, http.StatusOK, code)
		code, _ = d.get("/readyz")
		require.Equal(t, http.StatusOK, code)
		postList()
		got := d.waitStdout(before+len(want), 2*time.Second)
		require.Equal(t, want, got[before:])
	})

	t.Run("SIGTERM drains every alert", func(t *testing.T) {
		// A burst of concurrent requests, then SIGTERM at once.
		const burst = 50
		var wg sync.WaitGroup
		errs := make(chan error, burst)
		for range burst {
			wg.Go(func() {
				resp, err := client.Post(d.url("/k8s-audit"), "application/json", bytes.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("status %s", resp.Status)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		posted += burst
		require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
		select {
		case <-d.exited:
		case <-time.After(15 * time.Second):
			t.Fatal("vigil run did not exit within 15s of SIGTERM")
		}
		require.NoError(t, d.err, "exit status after SIGTERM")
		require.Equal(t, 0, d.cmd.ProcessState.ExitCode())

		stdout := d.stdoutLines()
		require.Len(t, stdout, posted*len(want), "alerts on stdout: %d EventLists of %d alerts", posted, len(want))
		// Alerts of concurrent requests interleave: compare counts.
		count := map[string]int{}
		for _, l := range stdout {
			count[l]++
		}
		for _, l := range want {
			require.Equal(t, posted, count[l], "alert printed %d times, want once per EventList: %s", count[l], l)
		}
		require.Len(t, count, len(want), "alerts not raised by replay")
		printed := strings.Join(stdout, "\n") + "\n"
		// The embedded store holds every alert printed on stdout.
		db, err := sqlite.Open(context.Background(), filepath.Join(dataDir, "vigil.db"))
		require.NoError(t, err)
		stored, err := db.Count(context.Background())
		require.NoError(t, err)
		require.NoError(t, db.Close())
		require.EqualValues(t, len(stdout), stored, "alerts in the embedded store")
		for _, f := range []string{alertsFile} {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			require.Equal(t, printed, string(data), "%s must hold every alert printed on stdout, in order", f)
			st, err := os.Stat(f)
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "mode of %s", f)
		}
		d.mu.Lock()
		log := strings.Join(d.stderr, "\n")
		d.mu.Unlock()
		require.Contains(t, log, fmt.Sprintf("msg=stopped component=run events=%d alerts=%d ", posted*len(c.Events), posted*len(want)))
	})
}

// TestRunStartupErrors: `vigil run` fails fast, exit 1, naming the problem.
func TestRunStartupErrors(t *testing.T) {
	// A port taken by another listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	taken := ln.Addr().String()
	for _, tc := range []struct {
		name string
		args []string
		want string // a line of stderr
	}{
		{"bad listen address", []string{"--listen", "nonsense"},
			`vigil: server config: addr "nonsense": address nonsense: missing port in address`},
		{"port in use", []string{"--listen", taken},
			"vigil: listen " + taken + ": listen tcp " + taken + ": bind: address already in use"},
		{"bad rules", []string{"--listen", "127.0.0.1:0", "-r", "testdata/list_loop.bad.yaml"},
			"testdata/list_loop.bad.yaml:2:3: error: list 'e2e_admins': list references form a loop: e2e_admins -> e2e_operators -> e2e_admins"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := vigil(t, append([]string{"run", "--data-dir", t.TempDir()}, tc.args...)...)
			require.Equal(t, 1, r.Code, "stderr:\n%s", r.Stderr)
			require.Empty(t, r.Stdout)
			require.Contains(t, lines(r.Stderr), tc.want)
		})
	}
}
