package outputs

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
)

// ts is 2026-11-23T10:00:00.123456789Z.
var ts = time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC)

func testAlert() *alert.Alert {
	return &alert.Alert{
		Time:     ts,
		Rule:     "Terminal shell in container",
		Priority: "Warning",
		Source:   "syscall",
		Output:   "A shell was spawned (user=root container=web pod=web-0 cmd=bash -c <x> & y)",
		OutputFields: map[string]any{
			"user.name":      "root",
			"container.name": "web",
			"container.id":   "8a1b2c3d4e5f",
			"k8s.pod.name":   "web-0",
			"k8s.ns.name":    nil,
			"proc.vpid":      int64(1),
			"proc.tty":       uint64(34816),
		},
		Tags:     []string{"container", "shell", "T1059"},
		Hostname: "node-1",
	}
}

// fastRetry retries quickly, for tests.
var fastRetry = Retry{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}

func TestParsePriority(t *testing.T) {
	tests := []struct {
		in      string
		want    Priority
		wantErr bool
	}{
		{"emergency", 0, false},
		{"Alert", 1, false},
		{"CRITICAL", 2, false},
		{"error", 3, false},
		{" warning ", 4, false},
		{"notice", 5, false},
		{"informational", 6, false},
		{"info", 6, false},
		{"debug", 7, false},
		{"warn", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePriority(tt.in)
			if tt.wantErr {
				require.ErrorContains(t, err, "unknown priority")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, p)
		})
	}
	require.Equal(t, "Warning", Priority(4).String())
}

func TestAtLeast(t *testing.T) {
	require.Nil(t, AtLeast(PriorityDebug), "debug accepts everything: no filter")
	acc := AtLeast(4) // warning
	for _, tt := range []struct {
		priority string
		want     bool
	}{
		{"Emergency", true}, {"Error", true}, {"Warning", true}, {"warning", true},
		{"Notice", false}, {"Informational", false}, {"Debug", false},
		{"Bogus", true}, // unknown priorities pass: nothing lost silently
	} {
		require.Equal(t, tt.want, acc(&alert.Alert{Priority: tt.priority}), tt.priority)
	}
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int // answers in order; the last repeats
		wantCalls int
		wantErr   string
	}{
		{"success first", []int{200}, 1, ""},
		{"500 then success", []int{500, 503, 204}, 3, ""},
		{"429 retried", []int{429, 200}, 2, ""},
		{"attempts bounded", []int{502}, 3, "502 Bad Gateway: busy (gave up after 3 attempts)"},
		{"400 not retried", []int{400}, 1, "400 Bad Request: busy"},
		{"404 not retried", []int{404}, 1, "404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				st := tt.statuses[min(n, len(tt.statuses)-1)]
				w.WriteHeader(st)
				_, _ = w.Write([]byte("busy"))
			}))
			defer srv.Close()
			w, err := NewWebhook(WebhookConfig{HTTP: HTTP{URL: srv.URL + "/secret-path?token=x", Retry: fastRetry}})
			require.NoError(t, err)
			defer w.Close()
			err = w.Send(context.Background(), testAlert())
			require.Equal(t, tt.wantCalls, int(calls.Load()))
			require.Equal(t, uint64(tt.wantCalls-1), w.Retries())
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			require.NotContains(t, err.Error(), "secret-path", "URL path and query may hold tokens")
			require.NotContains(t, err.Error(), "token=x")
		})
	}
}

func TestRetryBackoffAndCancel(t *testing.T) {
	r := newRetrier(Retry{MaxAttempts: 4, InitialBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
	fail := errors.New("down")
	start := time.Now()
	err := r.do(context.Background(), func(context.Context) error { return fail })
	el := time.Since(start)
	require.ErrorIs(t, err, fail)
	require.ErrorContains(t, err, "gave up after 4 attempts")
	// Waits of 20, 40 and 40 ms, each jittered into [half, all].
	require.GreaterOrEqual(t, el, 50*time.Millisecond)
	require.Less(t, el, 2*time.Second)
	require.Equal(t, uint64(3), r.Retries())

	ctx, cancel := context.WithCancel(context.Background())
	r = newRetrier(Retry{MaxAttempts: 100, InitialBackoff: time.Hour})
	calls := 0
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	err = r.do(ctx, func(context.Context) error { calls++; return fail })
	require.ErrorIs(t, err, fail)
	require.ErrorContains(t, err, "retry cancelled after 1 attempts")
	require.Equal(t, 1, calls)
}

func TestSpecOutput(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		wantErr string
	}{
		{"stdout", Spec{Name: "out", Kind: KindStdout}, ""},
		{"bad priority", Spec{Name: "o", Kind: KindStdout, Pos: "v.yaml:3:5", MinPriority: "loud"}, `v.yaml:3:5: output "o": min_priority: unknown priority "loud"`},
		{"bad kind", Spec{Name: "o", Kind: "pager"}, `output "o": unknown output type "pager"`},
		{"webhook no url", Spec{Name: "w", Kind: KindWebhook, Pos: "v.yaml:9:3"}, `v.yaml:9:3: output "w": webhook output: url is required`},
		{"webhook ftp", Spec{Name: "w", Kind: KindWebhook, Webhook: WebhookConfig{HTTP: HTTP{URL: "ftp://x/"}}}, `want an http:// or https:// URL`},
		{"webhook method", Spec{Name: "w", Kind: KindWebhook, Webhook: WebhookConfig{HTTP: HTTP{URL: "http://x/"}, Method: "GET"}}, `method "GET": want POST, PUT or PATCH`},
		{"webhook header", Spec{Name: "w", Kind: KindWebhook, Webhook: WebhookConfig{HTTP: HTTP{URL: "http://x/"}, Headers: map[string]string{"A": "b\nc"}}}, `invalid header "A"`},
		{"tls missing ca", Spec{Name: "w", Kind: KindWebhook, Webhook: WebhookConfig{HTTP: HTTP{URL: "https://x/", TLS: TLS{CAFile: "/nonexistent/ca.pem"}}}}, `tls ca_file: open /nonexistent/ca.pem`},
		{"tls cert without key", Spec{Name: "w", Kind: KindWebhook, Webhook: WebhookConfig{HTTP: HTTP{URL: "https://x/", TLS: TLS{CertFile: "c.pem"}}}}, `cert_file and key_file go together`},
		{"negative retry", Spec{Name: "s", Kind: KindSlack, Slack: SlackConfig{HTTP: HTTP{URL: "https://x/", Retry: Retry{MaxAttempts: -1}}}}, `negative max_attempts -1`},
		{"syslog network", Spec{Name: "s", Kind: KindSyslog, Syslog: SyslogConfig{Network: "sctp", Address: "x:1"}}, `network "sctp"`},
		{"syslog facility", Spec{Name: "s", Kind: KindSyslog, Syslog: SyslogConfig{Facility: "local9"}}, `unknown facility "local9"`},
		{"syslog udp address", Spec{Name: "s", Kind: KindSyslog, Syslog: SyslogConfig{Network: "udp", Address: "nohost"}}, `address "nohost"`},
		{"file no path", Spec{Name: "f", Kind: KindFile}, `file output: path is required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := tt.spec.Output(nil)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.spec.Name, o.Name)
			require.NoError(t, o.Sink.Close())
		})
	}
}
