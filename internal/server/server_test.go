package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// auditDecoder is a small real AuditIngester: it decodes an audit.k8s.io
// EventList or Event, validates it and records the audit IDs.
type auditDecoder struct {
	// gate, if non-nil, makes IngestAudit wait until it is closed or the
	// request context ends; entered then receives one value per call.
	gate    chan struct{}
	entered chan struct{}
	// store, if non-nil, is the error of the (unavailable) downstream
	// store, returned after a successful decode.
	store error

	mu  sync.Mutex
	ids []string
}

type auditEvent struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	AuditID    string `json:"auditID"`
	Stage      string `json:"stage"`
	Verb       string `json:"verb"`
}

func (d *auditDecoder) IngestAudit(ctx context.Context, body []byte) (int, error) {
	if d.gate != nil {
		d.entered <- struct{}{}
		select {
		case <-d.gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	var head struct {
		Kind       string       `json:"kind"`
		APIVersion string       `json:"apiVersion"`
		Items      []auditEvent `json:"items"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return 0, fmt.Errorf("%w: decode audit events: %v", ErrBadInput, err)
	}
	if !strings.HasPrefix(head.APIVersion, "audit.k8s.io/") {
		return 0, fmt.Errorf("%w: apiVersion %q is not audit.k8s.io", ErrBadInput, head.APIVersion)
	}
	var events []auditEvent
	switch head.Kind {
	case "EventList":
		events = head.Items
	case "Event":
		var e auditEvent
		if err := json.Unmarshal(body, &e); err != nil {
			return 0, fmt.Errorf("%w: decode audit event: %v", ErrBadInput, err)
		}
		events = []auditEvent{e}
	default:
		return 0, fmt.Errorf("%w: kind %q is not Event or EventList", ErrBadInput, head.Kind)
	}
	for i, e := range events {
		if e.AuditID == "" {
			return 0, fmt.Errorf("%w: item %d: missing auditID\nsecond line", ErrBadInput, i)
		}
	}
	if d.store != nil {
		return 0, fmt.Errorf("store audit events: %w", d.store)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range events {
		d.ids = append(d.ids, e.AuditID)
	}
	return len(events), nil
}

func (d *auditDecoder) IDs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.ids...)
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// chunked hides the length of b so the client sends it chunked.
func chunked(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) }

type reply struct {
	code int
	body string
	hdr  http.Header
}

func do(t *testing.T, c *http.Client, method, url string, body io.Reader) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{resp.StatusCode, string(b), resp.Header}
}

func TestRoutes(t *testing.T) {
	list := readTestdata(t, "eventlist.json")
	event := readTestdata(t, "event.json")
	const limit = 4096
	atLimit := append(bytes.Repeat([]byte(" "), limit-len(event)), event...)
	over := append(bytes.Repeat([]byte(" "), limit+1-len(event)), event...)

	tests := []struct {
		name     string
		ingester *auditDecoder // default: a fresh decoder
		method   string
		path     string
		body     io.Reader
		wantCode int
		wantBody string // exact unless wantSub
		wantSub  bool
		wantIDs  int
	}{
		{name: "event list", method: "POST", path: "/k8s-audit", body: bytes.NewReader(list), wantCode: 200, wantBody: `{"accepted":3}`, wantIDs: 3},
		{name: "single event", method: "POST", path: "/k8s-audit", body: bytes.NewReader(event), wantCode: 200, wantBody: `{"accepted":1}`, wantIDs: 1},
		{name: "chunked", method: "POST", path: "/k8s-audit", body: chunked(list), wantCode: 200, wantBody: `{"accepted":3}`, wantIDs: 3},
		{name: "exactly the limit", method: "POST", path: "/k8s-audit", body: bytes.NewReader(atLimit), wantCode: 200, wantBody: `{"accepted":1}`, wantIDs: 1},
		{name: "empty list", method: "POST", path: "/k8s-audit", body: strings.NewReader(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}`), wantCode: 200, wantBody: `{"accepted":0}`},
		{name: "get audit", method: "GET", path: "/k8s-audit", wantCode: 405, wantBody: "Method Not Allowed\n"},
		{name: "put audit", method: "PUT", path: "/k8s-audit", body: bytes.NewReader(event), wantCode: 405, wantBody: "Method Not Allowed\n"},
		{name: "not json", method: "POST", path: "/k8s-audit", body: strings.NewReader("level=Metadata verb=get"), wantCode: 400,
			wantBody: "request body is not JSON (starts with 'l'): want audit.k8s.io Event or EventList JSON\n"},
		{name: "empty body", method: "POST", path: "/k8s-audit", body: strings.NewReader(" \n\t"), wantCode: 400,
			wantBody: "empty request body: want audit.k8s.io Event or EventList JSON\n"},
		{name: "no body", method: "POST", path: "/k8s-audit", wantCode: 400,
			wantBody: "empty request body: want audit.k8s.io Event or EventList JSON\n"},
		{name: "truncated json", method: "POST", path: "/k8s-audit", body: bytes.NewReader(list[:100]), wantCode: 400,
			wantBody: "bad input: decode audit events: unexpected end of JSON input\n"},
		{name: "array", method: "POST", path: "/k8s-audit", body: strings.NewReader(`[1]`), wantCode: 400,
			wantBody: "bad input: decode audit events: json: cannot unmarshal array", wantSub: true},
		{name: "wrong kind", method: "POST", path: "/k8s-audit", body: strings.NewReader(`{"kind":"Pod","apiVersion":"audit.k8s.io/v1"}`), wantCode: 400,
			wantBody: "bad input: kind \"Pod\" is not Event or EventList\n"},
		{name: "multi-line error on one line", method: "POST", path: "/k8s-audit", body: strings.NewReader(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{}]}`), wantCode: 400,
			wantBody: "bad input: item 0: missing auditID second line\n"},
		{name: "store down", ingester: &auditDecoder{store: errors.New("disk full")}, method: "POST", path: "/k8s-audit", body: bytes.NewReader(event), wantCode: 500,
			wantBody: "ingest audit events: internal error\n"},
		{name: "too large by content length", method: "POST", path: "/k8s-audit", body: bytes.NewReader(over), wantCode: 413,
			wantBody: "request body of 4097 bytes exceeds the limit of 4096 bytes\n"},
		{name: "too large chunked", method: "POST", path: "/k8s-audit", body: chunked(over), wantCode: 413,
			wantBody: "request body exceeds the limit of 4096 bytes\n"},
		{name: "healthz", method: "GET", path: "/healthz", wantCode: 200, wantBody: "ok"},
		{name: "healthz head", method: "HEAD", path: "/healthz", wantCode: 200, wantBody: ""},
		{name: "healthz post", method: "POST", path: "/healthz", wantCode: 405, wantBody: "Method Not Allowed\n"},
		{name: "readyz no checks", method: "GET", path: "/readyz", wantCode: 200, wantBody: "ok"},
		{name: "unknown path", method: "GET", path: "/nope", wantCode: 404, wantBody: "404 page not found\n"},
		{name: "root", method: "POST", path: "/", body: bytes.NewReader(event), wantCode: 404, wantBody: "404 page not found\n"},
		{name: "audit subpath", method: "POST", path: "/k8s-audit/x", body: bytes.NewReader(event), wantCode: 404, wantBody: "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ing := tt.ingester
			if ing == nil {
				ing = &auditDecoder{}
			}
			s, err := New(Config{MaxBodyBytes: limit}, ing)
			require.NoError(t, err)
			ts := httptest.NewServer(s.Handler())
			defer ts.Close()

			r := do(t, ts.Client(), tt.method, ts.URL+tt.path, tt.body)
			require.Equal(t, tt.wantCode, r.code, r.body)
			if tt.wantSub {
				require.Contains(t, r.body, tt.wantBody)
				require.Equal(t, 1, strings.Count(r.body, "\n"), "one line: %q", r.body)
			} else {
				require.Equal(t, tt.wantBody, r.body)
			}
			switch r.code {
			case 200:
				if tt.path == "/k8s-audit" {
					require.Equal(t, "application/json", r.hdr.Get("Content-Type"))
				}
			case 405:
				require.NotEmpty(t, r.hdr.Get("Allow"))
			case 400, 413, 500:
				require.Equal(t, "text/plain; charset=utf-8", r.hdr.Get("Content-Type"))
			}
			require.Len(t, ing.IDs(), tt.wantIDs)
		})
	}
}

func TestNilIngesterHasNoAuditRoute(t *testing.T) {
	s, err := New(Config{}, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	tests := []struct {
		method, path string
		want         int
	}{{"POST", "/k8s-audit", 404}, {"GET", "/healthz", 200}, {"GET", "/readyz", 200}}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			require.Equal(t, tt.want, do(t, ts.Client(), tt.method, ts.URL+tt.path, strings.NewReader("{}")).code)
		})
	}
}

// TestContentLengthRefusedUnread sends only the headers of a huge request
// over a raw connection: the 413 must come without the body being read.
func TestContentLengthRefusedUnread(t *testing.T) {
	s, err := New(Config{}, &auditDecoder{})
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	tests := []struct {
		name   string
		header string
	}{
		{"plain", "Content-Length: 1099511627776\r\n"},
		{"expect continue", "Content-Length: 33554433\r\nExpect: 100-continue\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", ts.Listener.Addr().String())
			require.NoError(t, err)
			defer conn.Close()
			require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
			_, err = fmt.Fprintf(conn, "POST /k8s-audit HTTP/1.1\r\nHost: vigil\r\nContent-Type: application/json\r\n%s\r\n", tt.header)
			require.NoError(t, err)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
			require.True(t, resp.Close, "connection closed after refusing an unread body")
		})
	}
}

func TestReadiness(t *testing.T) {
	s, err := New(Config{}, nil)
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	var rulesErr, sensorErr atomic.Pointer[error]
	check := func(p *atomic.Pointer[error]) func() error {
		return func() error {
			if e := p.Load(); e != nil {
				return *e
			}
			return nil
		}
	}
	set := func(p *atomic.Pointer[error], err error) {
		if err == nil {
			p.Store(nil)
			return
		}
		p.Store(&err)
	}

	steps := []struct {
		name     string
		do       func()
		wantCode int
		wantBody string
	}{
		{"no checks", func() {}, 200, "ok"},
		{"checks added, failing", func() {
			set(&rulesErr, errors.New("rules not loaded"))
			set(&sensorErr, errors.New("bpf probe not attached:\npermission denied"))
			s.AddReadyCheck("rules", check(&rulesErr))
			s.AddReadyCheck("sensor", check(&sensorErr))
		}, 503, "not ready:\nrules: rules not loaded\nsensor: bpf probe not attached: permission denied\n"},
		{"one passes", func() { set(&rulesErr, nil) }, 503, "not ready:\nsensor: bpf probe not attached: permission denied\n"},
		{"all pass", func() { set(&sensorErr, nil) }, 200, "ok"},
		{"flip back", func() { set(&rulesErr, errors.New("reloading")) }, 503, "not ready:\nrules: reloading\n"},
		{"replace check", func() { s.AddReadyCheck("rules", func() error { return nil }) }, 200, "ok"},
		{"panicking check", func() { s.AddReadyCheck("store", func() error { panic("nil db") }) }, 503, "not ready:\nstore: check panicked: nil db\n"},
		{"remove check", func() { s.AddReadyCheck("store", nil) }, 200, "ok"},
		{"remove unknown is a no-op", func() { s.AddReadyCheck("other", nil) }, 200, "ok"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do()
			r := do(t, ts.Client(), "GET", ts.URL+"/readyz", nil)
			require.Equal(t, st.wantCode, r.code)
			require.Equal(t, st.wantBody, r.body)
			// Liveness does not depend on readiness.
			require.Equal(t, 200, do(t, ts.Client(), "GET", ts.URL+"/healthz", nil).code)
		})
	}
}

// serve runs s on a real 127.0.0.1 listener and returns its base URL, the
// cancel function that starts shutdown, and Serve's result.
func serve(t *testing.T, s *Server) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := s.Listen(ctx)
	require.NoError(t, err)
	require.Equal(t, addr, s.Addr())
	done := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		done <- s.Serve(ctx)
	}()
	base := "http://" + addr.String()
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, 5*time.Second, time.Millisecond, "server up")
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	return base, cancel, done
}

func TestGracefulShutdown(t *testing.T) {
	ing := &auditDecoder{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	s, err := New(Config{Addr: "127.0.0.1:0"}, ing)
	require.NoError(t, err)
	base, cancel, done := serve(t, s)

	inflight := make(chan reply, 1)
	go func() {
		resp, err := http.Post(base+"/k8s-audit", "application/json", bytes.NewReader(readTestdata(t, "eventlist.json")))
		if err != nil {
			inflight <- reply{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		inflight <- reply{code: resp.StatusCode, body: string(b)}
	}()
	<-ing.entered
	cancel()

	// New connections are refused once shutdown has begun...
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err == nil {
			c.Close()
		}
		return err != nil
	}, 5*time.Second, 5*time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}
	// ...and the request in flight completes.
	close(ing.gate)
	r := <-inflight
	require.Equal(t, 200, r.code, r.body)
	require.Equal(t, `{"accepted":3}`, r.body)
	require.NoError(t, <-done)
	require.Len(t, ing.IDs(), 3)
}

func TestShutdownTimeout(t *testing.T) {
	ing := &auditDecoder{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	defer close(ing.gate)
	s, err := New(Config{Addr: "127.0.0.1:0", ShutdownTimeout: 100 * time.Millisecond}, ing)
	require.NoError(t, err)
	base, cancel, done := serve(t, s)

	clientErr := make(chan error, 1)
	go func() {
		resp, err := http.Post(base+"/k8s-audit", "application/json", bytes.NewReader(readTestdata(t, "event.json")))
		if err == nil {
			resp.Body.Close()
		}
		clientErr <- err
	}()
	<-ing.entered
	start := time.Now()
	cancel()
	err = <-done
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "shut down 127.0.0.1:")
	require.Less(t, time.Since(start), 5*time.Second)
	require.Error(t, <-clientErr, "the stuck request's connection is closed")
}

func TestConcurrentRequests(t *testing.T) {
	ing := &auditDecoder{}
	s, err := New(Config{Addr: "127.0.0.1:0", MaxBodyBytes: 8192}, ing)
	require.NoError(t, err)
	base, _, _ := serve(t, s)
	list := readTestdata(t, "eventlist.json")
	event := readTestdata(t, "event.json")
	big := bytes.Repeat([]byte("{"), 9000)

	const workers, each = 16, 25
	kinds := []struct {
		body     []byte
		wantCode int
		wantBody string
	}{
		{list, 200, `{"accepted":3}`},
		{event, 200, `{"accepted":1}`},
		{[]byte("nope"), 400, ""},
		{big, 413, ""},
		{[]byte(`{"kind":"Event"}`), 400, ""},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				k := kinds[(w+i)%len(kinds)]
				resp, err := client.Post(base+"/k8s-audit", "application/json", bytes.NewReader(k.body))
				var got string
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != k.wantCode || (k.wantBody != "" && string(b) != k.wantBody) {
						got = fmt.Sprintf("%d %q", resp.StatusCode, b)
					}
				} else {
					got = err.Error()
				}
				if got != "" {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("worker %d req %d: want %d, got %s", w, i, k.wantCode, got))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	require.Empty(t, failures)

	// Every body was seen whole: each accepted audit ID is a known one,
	// in the expected numbers.
	counts := map[string]int{}
	for _, id := range ing.IDs() {
		counts[id]++
	}
	// Each worker cycles through the kinds; request i of worker w uses
	// kind (w+i)%5, so over 16*25 requests each kind is used 80 times.
	require.Equal(t, map[string]int{
		"5d0a3c5e-2f0e-4f1e-9a39-1f3c7a4b2e01": 80,
		"9b7f2a44-61c8-4d7e-8e0f-0c2d4e6f8a02": 80,
		"1e4c8d9a-3b2f-4a6e-b5d7-7f9e1a2c3d03": 80,
		"7c3e5a1b-0d2f-4e6a-8b9c-1d2e3f4a5b04": 80,
	}, counts)
}

// TestErrorsDoNotAffectLaterRequests runs refused and valid requests in
// turn through one client and one keep-alive connection pool.
func TestErrorsDoNotAffectLaterRequests(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0", MaxBodyBytes: 1024}, &auditDecoder{})
	require.NoError(t, err)
	base, _, _ := serve(t, s)
	event := readTestdata(t, "event.json")
	over := append(bytes.Repeat([]byte(" "), 1025), event...)

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	steps := []struct {
		name     string
		method   string
		body     io.Reader
		wantCode int
	}{
		{"valid", "POST", bytes.NewReader(event), 200},
		{"413 by length", "POST", bytes.NewReader(over), 413},
		{"valid after 413", "POST", bytes.NewReader(event), 200},
		{"413 chunked", "POST", chunked(over), 413},
		{"valid after chunked 413", "POST", bytes.NewReader(event), 200},
		{"400", "POST", strings.NewReader("garbage"), 400},
		{"valid after 400", "POST", bytes.NewReader(event), 200},
		{"400 from ingester", "POST", strings.NewReader("{}"), 400},
		{"valid after ingester 400", "POST", bytes.NewReader(event), 200},
		{"405", "GET", nil, 405},
		{"valid after 405", "POST", bytes.NewReader(event), 200},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := do(t, client, st.method, base+"/k8s-audit", st.body)
			require.Equal(t, st.wantCode, r.code, r.body)
			if st.wantCode == 200 {
				require.Equal(t, `{"accepted":1}`, r.body)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		want    func(t *testing.T, c Config)
		wantErr string
	}{
		{name: "defaults", cfg: Config{}, want: func(t *testing.T, c Config) {
			require.Equal(t, "127.0.0.1:9765", c.Addr)
			require.Equal(t, int64(32<<20), c.MaxBodyBytes)
			require.Equal(t, DefaultReadHeaderTimeout, c.ReadHeaderTimeout)
			require.Equal(t, DefaultReadTimeout, c.ReadTimeout)
			require.Equal(t, DefaultWriteTimeout, c.WriteTimeout)
			require.Equal(t, DefaultIdleTimeout, c.IdleTimeout)
			require.Equal(t, DefaultShutdownTimeout, c.ShutdownTimeout)
			require.NotNil(t, c.Logger)
		}},
		{name: "kept", cfg: Config{Addr: ":8080", MaxBodyBytes: 10, ShutdownTimeout: time.Second}, want: func(t *testing.T, c Config) {
			require.Equal(t, ":8080", c.Addr)
			require.Equal(t, int64(10), c.MaxBodyBytes)
			require.Equal(t, time.Second, c.ShutdownTimeout)
		}},
		{name: "no port", cfg: Config{Addr: "127.0.0.1"}, wantErr: `server config: addr "127.0.0.1": address 127.0.0.1: missing port in address`},
		{name: "negative body", cfg: Config{MaxBodyBytes: -1}, wantErr: "server config: negative max body bytes -1"},
		{name: "negative read", cfg: Config{ReadTimeout: -time.Second}, wantErr: "server config: negative read timeout -1s"},
		{name: "negative shutdown", cfg: Config{ShutdownTimeout: -time.Millisecond}, wantErr: "server config: negative shutdown timeout -1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg, nil)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				require.Nil(t, s)
				return
			}
			require.NoError(t, err)
			tt.want(t, s.Config())
		})
	}
}

func TestHandle(t *testing.T) {
	s, err := New(Config{}, &auditDecoder{})
	require.NoError(t, err)
	pong := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "pong") })
	tests := []struct {
		name    string
		pattern string
		h       http.Handler
		wantErr string
	}{
		{"new route", "GET /v1/ping", pong, ""},
		{"conflict", "POST /k8s-audit", pong, `register route "POST /k8s-audit": pattern "POST /k8s-audit"`},
		{"invalid", "GET", pong, `register route "GET"`},
		{"nil handler", "GET /v1/nil", nil, `register route "GET /v1/nil": http: nil handler`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Handle(tt.pattern, tt.h)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	r := do(t, ts.Client(), "GET", ts.URL+"/v1/ping", nil)
	require.Equal(t, reply{200, "pong", r.hdr}, r)
	require.Equal(t, 200, do(t, ts.Client(), "POST", ts.URL+"/k8s-audit", bytes.NewReader(readTestdata(t, "event.json"))).code)
}

func TestListenServeErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	ctx := context.Background()

	t.Run("address in use", func(t *testing.T) {
		s, err := New(Config{Addr: busy.Addr().String()}, nil)
		require.NoError(t, err)
		err = s.ListenAndServe(ctx)
		require.ErrorContains(t, err, "listen "+busy.Addr().String()+": ")
		require.ErrorContains(t, err, "address already in use")
		require.Nil(t, s.Addr())
	})
	t.Run("serve before listen", func(t *testing.T) {
		s, err := New(Config{}, nil)
		require.NoError(t, err)
		require.EqualError(t, s.Serve(ctx), "serve: Listen not called")
	})
	t.Run("listen twice, serve twice", func(t *testing.T) {
		s, err := New(Config{Addr: "127.0.0.1:0"}, nil)
		require.NoError(t, err)
		_, _, done := serve(t, s)
		_, err = s.Listen(ctx)
		require.ErrorContains(t, err, "already listening on 127.0.0.1:")
		require.ErrorContains(t, s.Serve(ctx), "already served")
		select {
		case err := <-done:
			t.Fatalf("first Serve stopped: %v", err)
		default:
		}
	})
	t.Run("cancelled before serve", func(t *testing.T) {
		s, err := New(Config{Addr: "127.0.0.1:0"}, nil)
		require.NoError(t, err)
		addr, err := s.Listen(ctx)
		require.NoError(t, err)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		require.NoError(t, s.Serve(cctx))
		_, err = net.Dial("tcp", addr.String())
		require.Error(t, err, "listener closed")
	})
}
