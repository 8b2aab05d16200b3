package registryhook

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/scan/malware"
	"github.com/vigilsec/vigil/internal/scan/misconfig"
	"github.com/vigilsec/vigil/internal/scan/passwd"
	"github.com/vigilsec/vigil/internal/scan/scanner"
)

const (
	digA = "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	digB = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	digH = "sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, contentType, file string
		want                    Parsed
	}{
		{"distribution", ContentTypeDistribution, "distribution.json", Parsed{Ignored: 3, Pushes: []Push{
			{Registry: "192.168.100.227:5000", Repository: "team/app", Digest: digA, Tag: "v1.2.3", Source: "distribution"},
			{Registry: "registry.example.com", Repository: "team/other", Digest: digB, Source: "distribution"},
		}}},
		{"distribution by shape", "application/json", "distribution.json", Parsed{Ignored: 3, Pushes: []Push{
			{Registry: "192.168.100.227:5000", Repository: "team/app", Digest: digA, Tag: "v1.2.3", Source: "distribution"},
			{Registry: "registry.example.com", Repository: "team/other", Digest: digB, Source: "distribution"},
		}}},
		{"harbor", "application/json", "harbor.json", Parsed{Pushes: []Push{
			{Registry: "harbor.example.com", Repository: "library/nginx", Digest: digH, Tag: "latest", Source: "harbor"},
		}}},
		{"harbor cloudevents", "application/cloudevents+json", "harbor-cloudevents.json", Parsed{Pushes: []Push{
			{Registry: "harbor.example.com:8443", Repository: "library/nginx", Digest: digH, Tag: "v2", Source: "harbor"},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.contentType, readTestdata(t, tt.file))
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	p := tests[0].want.Pushes[0]
	require.Equal(t, "192.168.100.227:5000/team/app@"+digA, p.Ref())
	require.Equal(t, "192.168.100.227:5000/team/app:v1.2.3", p.Image())
}

func TestParseBad(t *testing.T) {
	manifest := `"mediaType":"application/vnd.docker.distribution.manifest.v2+json"`
	tests := []struct {
		name, contentType, body string
		wantErr                 []string // substrings of the error
		wantPushes              int
	}{
		{"not json", ContentTypeDistribution, `{"events":`, []string{"distribution envelope"}, 0},
		{"not an object", "application/json", `[1,2]`, []string{"not a JSON object"}, 0},
		{"unknown shape", "application/json", `{"hello":1}`, []string{"neither a Distribution envelope"}, 0},
		{"no events field", ContentTypeDistribution, `{}`, []string{"no events field"}, 0},
		{"bad digest", ContentTypeDistribution, `{"events":[{"id":"e1","action":"push","target":{` + manifest + `,"digest":"sha256:xyz","repository":"a"},"request":{"host":"r:5000"}}]}`,
			[]string{`events[0] (id "e1")`, `digest "sha256:xyz"`}, 0},
		{"md5 digest", ContentTypeDistribution, `{"events":[{"action":"push","target":{` + manifest + `,"digest":"md5:0123456789abcdef0123456789abcdef","repository":"a"},"request":{"host":"r:5000"}}]}`,
			[]string{"events[0]", "digest"}, 0},
		{"no host", ContentTypeDistribution, `{"events":[{"action":"push","target":{` + manifest + `,"digest":"` + digA + `","repository":"a"}}]}`,
			[]string{"events[0]", "no registry host"}, 0},
		{"bad host", ContentTypeDistribution, `{"events":[{"action":"push","target":{` + manifest + `,"digest":"` + digA + `","repository":"a"},"request":{"host":"a b"}}]}`,
			[]string{"events[0]", `registry host "a b"`}, 0},
		{"bad repository", ContentTypeDistribution, `{"events":[{"action":"push","target":{` + manifest + `,"digest":"` + digA + `","repository":"UPPER/Case"},"request":{"host":"r:5000"}}]}`,
			[]string{"events[0]", `repository "UPPER/Case"`}, 0},
		{"one good one bad", ContentTypeDistribution, `{"events":[` +
			`{"action":"push","target":{` + manifest + `,"digest":"` + digA + `","repository":"a"},"request":{"host":"r:5000"}},` +
			`{"action":"push","target":{` + manifest + `,"digest":"` + digB + `","repository":""},"request":{"host":"r:5000"}}]}`,
			[]string{"events[1]", "repository: empty"}, 1},
		{"harbor no event_data", "application/json", `{"type":"PUSH_ARTIFACT"}`, []string{"no event_data"}, 0},
		{"harbor no resources", "application/json", `{"type":"PUSH_ARTIFACT","event_data":{"repository":{"repo_full_name":"a/b"}}}`,
			[]string{"event_data.resources: empty"}, 0},
		{"harbor bad resource", "application/json", `{"type":"PUSH_ARTIFACT","event_data":{"resources":[{"digest":"` + digH + `","resource_url":""}],"repository":{"repo_full_name":"a/b"}}}`,
			[]string{"event_data.resources[0]", "no registry host"}, 0},
		{"harbor wrong type", "application/json", `{"type":"PUSH_ARTIFACT","event_data":[]}`, []string{"harbor webhook"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.contentType, []byte(tt.body))
			require.ErrorIs(t, err, ErrBadPayload)
			for _, s := range tt.wantErr {
				require.Contains(t, err.Error(), s)
			}
			require.Len(t, got.Pushes, tt.wantPushes)
		})
	}
}

func TestParseIgnoresOtherHarborEvents(t *testing.T) {
	got, err := Parse("application/json", []byte(`{"type":"DELETE_ARTIFACT","event_data":{"resources":[]}}`))
	require.NoError(t, err)
	require.Equal(t, Parsed{Ignored: 1}, got)
}

func FuzzParse(f *testing.F) {
	for _, n := range []string{"distribution.json", "harbor.json", "harbor-cloudevents.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`{"events":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, ct := range []string{ContentTypeDistribution, "application/json"} {
			got, _ := Parse(ct, body)
			for _, p := range got.Pushes {
				if p.Registry == "" || p.Repository == "" || !strings.HasPrefix(p.Digest, "sha256:") {
					t.Fatalf("invalid push returned: %+v", p)
				}
			}
		}
	})
}

func TestThreshold(t *testing.T) {
	res := &scanner.Result{
		Vulnerabilities: []scanner.Vulnerability{
			{ID: "GO-1", Severity: "UNKNOWN"}, {ID: "CVE-HIGH", Severity: "HIGH"}, {ID: "CVE-CRIT", Severity: "CRITICAL"}, {ID: "CVE-LOW", Severity: "LOW"},
		},
		Secrets:           []scanner.Secret{{RuleID: "jwt", Severity: "MEDIUM"}},
		Malware:           []malware.Finding{{RuleID: "blocklist", Severity: "CRITICAL"}},
		Misconfigurations: []misconfig.Finding{{ID: "VGL-ROOT", Severity: "HIGH"}},
		Passwords:         []passwd.Finding{{ID: "weak-password", Severity: "CRITICAL"}},
	}
	tests := []struct {
		spec, canonical string
		wantOver        []string
		worst           string
	}{
		{DefaultThreshold, "vuln>=HIGH,secret,malware", []string{"CVE-CRIT", "blocklist", "CVE-HIGH", "jwt"}, "CRITICAL"},
		{"vuln", "vuln", []string{"CVE-CRIT", "CVE-HIGH", "CVE-LOW", "GO-1"}, "CRITICAL"},
		{" secret>=medium ", "secret>=MEDIUM", []string{"jwt"}, "MEDIUM"},
		{"secret>=HIGH", "secret>=HIGH", nil, ""},
		{"misconfig>=HIGH,passwd", "misconfig>=HIGH,passwd", []string{"weak-password", "VGL-ROOT"}, "CRITICAL"},
		{"none", "none", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			th, err := ParseThreshold(tt.spec)
			require.NoError(t, err)
			require.Equal(t, tt.canonical, th.String())
			sum := th.Evaluate(res)
			var ids []string
			for _, f := range sum.Over {
				ids = append(ids, f.ID)
			}
			require.Equal(t, tt.wantOver, ids)
			require.Equal(t, tt.worst, sum.Worst())
			require.Equal(t, map[string]int{"CRITICAL": 3, "HIGH": 2, "MEDIUM": 1, "LOW": 1, "UNKNOWN": 1}, sum.Counts)
		})
	}
	for _, bad := range []string{"", "vulns", "vuln>=SEVERE", ",", "vuln>HIGH"} {
		_, err := ParseThreshold(bad)
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "threshold")
	}
}

func TestPriority(t *testing.T) {
	for sev, want := range map[string]string{"CRITICAL": "Critical", "HIGH": "Error", "MEDIUM": "Warning", "LOW": "Notice", "UNKNOWN": "Informational", "": "Informational"} {
		require.Equal(t, want, Priority(sev), sev)
	}
}

func TestNewAlert(t *testing.T) {
	p := Push{Registry: "r:5000", Repository: "team/app", Digest: digA, Tag: "v1"}
	sum := Summary{Counts: map[string]int{"CRITICAL": 1, "HIGH": 2, "MEDIUM": 0, "LOW": 0, "UNKNOWN": 3},
		Over: []Finding{{ID: "A", Severity: "CRITICAL"}, {ID: "B", Severity: "HIGH"}, {ID: "A", Severity: "HIGH"}}}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	al := NewAlert(p, sum, "/d/scans/x.json", "node1", now)
	require.Equal(t, RuleName, al.Rule)
	require.Equal(t, "Critical", al.Priority)
	require.Equal(t, Source, al.Source)
	require.Equal(t, "node1", al.Hostname)
	require.Equal(t, []string{"A", "B"}, al.OutputFields["top_findings"])
	require.Equal(t, "r:5000/team/app:v1", al.OutputFields["image"])
	require.Equal(t, digA, al.OutputFields["digest"])
	require.Equal(t, "team/app", al.OutputFields["repository"])
	require.Equal(t, 3, al.OutputFields["over_threshold"])
	require.Contains(t, al.Output, "critical=1 high=2 medium=0 low=0 unknown=3 over_threshold=3 top=A,B")
	b, err := al.MarshalJSON()
	require.NoError(t, err)
	var decoded map[string]any
	require.NoError(t, json.Unmarshal(b, &decoded))
	require.Equal(t, map[string]any{"CRITICAL": 1.0, "HIGH": 2.0, "MEDIUM": 0.0, "LOW": 0.0, "UNKNOWN": 3.0},
		decoded["output_fields"].(map[string]any)["counts"])
}

// newTestHook returns a hook whose workers are not started, so queued
// pushes stay queued.
func newTestHook(t *testing.T, cfg Config) *Hook {
	t.Helper()
	cfg.ReportDir = t.TempDir()
	cfg.Scan = func(context.Context, v1.Image, string) (*scanner.Result, error) { return &scanner.Result{}, nil }
	cfg.Emit = func(*alert.Alert) {}
	h, err := New(cfg)
	require.NoError(t, err)
	return h
}

func post(t *testing.T, h http.Handler, contentType, token string, body []byte) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/hooks/registry", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out), rec.Body.String())
	return rec, out
}

func TestHandlerQueue(t *testing.T) {
	h := newTestHook(t, Config{QueueSize: 2})
	dist := readTestdata(t, "distribution.json")
	rec, out := post(t, h, ContentTypeDistribution, "", dist)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.Equal(t, []any{digA, digB}, out["queued"])
	require.Equal(t, 3.0, out["ignored"])

	// The same digests again: in flight, deduplicated, still 202.
	rec, out = post(t, h, ContentTypeDistribution, "", dist)
	require.Equal(t, http.StatusAccepted, rec.Code)
	require.Equal(t, []any{}, out["queued"])
	require.Equal(t, []any{digA, digB}, out["duplicates"])

	// The queue (size 2) is full: 503 with Retry-After, counted.
	rec, out = post(t, h, "application/json", "", readTestdata(t, "harbor.json"))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "30", rec.Header().Get("Retry-After"))
	require.Equal(t, []any{digH}, out["dropped"])

	rec, out = post(t, h, "application/json", "", []byte(`{"nope":1}`))
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Contains(t, out["error"], "neither a Distribution envelope")

	st := h.Stats()
	require.Equal(t, Stats{Requests: 4, BadRequests: 1, Ignored: 6, Queued: 2, Duplicates: 2, Overflow: 1}, st)
}

func TestHandlerAuth(t *testing.T) {
	h := newTestHook(t, Config{Token: "s3cret", MaxBodyBytes: 4096, Registries: []string{"harbor.example.com"}})
	body := readTestdata(t, "harbor.json")
	tests := []struct {
		name, token string
		body        []byte
		code        int
	}{
		{"no token", "", body, http.StatusUnauthorized},
		{"wrong token", "nope", body, http.StatusUnauthorized},
		{"too large", "s3cret", bytes.Repeat([]byte(" "), 5000), http.StatusRequestEntityTooLarge},
		{"registry not allowed", "s3cret", bytes.ReplaceAll(body, []byte("harbor.example.com/"), []byte("evil.example.com/")), http.StatusForbidden},
		{"ok", "s3cret", body, http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, _ := post(t, h, "application/json", tt.token, tt.body)
			require.Equal(t, tt.code, rec.Code, rec.Body.String())
			if tt.code == http.StatusUnauthorized {
				require.NotEmpty(t, rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
	st := h.Stats()
	require.Equal(t, uint64(2), st.Unauthorized)
	require.Equal(t, uint64(1), st.Refused)
	require.Equal(t, uint64(1), st.BadRequests)
	require.Equal(t, uint64(1), st.Queued)
}

func TestNewConfigErrors(t *testing.T) {
	ok := Config{ReportDir: t.TempDir(), Scan: func(context.Context, v1.Image, string) (*scanner.Result, error) { return nil, nil }, Emit: func(*alert.Alert) {}}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"no scan", func(c *Config) { c.Scan = nil }, "Scan and Emit are required"},
		{"no report dir", func(c *Config) { c.ReportDir = "" }, "report directory"},
		{"negative queue", func(c *Config) { c.QueueSize = -1 }, "negative queue size"},
		{"bad insecure host", func(c *Config) { c.Insecure = []string{"http://x"} }, `"http://x" is not a host`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			_, err := New(c)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
	h, err := New(ok)
	require.NoError(t, err)
	cfg := h.Config()
	require.Equal(t, DefaultQueueSize, cfg.QueueSize)
	require.Equal(t, DefaultWorkers, cfg.Workers)
	require.Equal(t, DefaultThreshold, cfg.Threshold.String())
}

// TestWorkers drives the queue's workers against go-containerregistry's
// in-process registry (pkg/registry, a real implementation of the
// distribution API): a pushed image is pulled by digest, its report stored
// and the alert emitted; an unknown digest is counted as failed.
func TestWorkers(t *testing.T) {
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(256, 1)
	require.NoError(t, err)
	ref, err := name.ParseReference(host+"/team/app:v1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img))
	d, err := img.Digest()
	require.NoError(t, err)

	alerts := make(chan *alert.Alert, 4)
	scanned := make(chan string, 4)
	h, err := New(Config{ReportDir: t.TempDir(), Insecure: []string{host}, Hostname: "node1",
		Scan: func(_ context.Context, got v1.Image, target string) (*scanner.Result, error) {
			gd, err := got.Digest()
			if err != nil {
				return nil, err
			}
			scanned <- gd.String()
			return &scanner.Result{SchemaVersion: scanner.SchemaVersion, Target: target, Type: "image",
				Secrets: []scanner.Secret{{RuleID: "private-key", Severity: "CRITICAL", Path: "etc/key.pem"}}}, nil
		},
		Emit: func(a *alert.Alert) { alerts <- a }})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	h.Start(ctx)
	defer func() { cancel(); h.Wait() }()

	p := Push{Registry: host, Repository: "team/app", Digest: d.String(), Tag: "v1"}
	require.Equal(t, Queued, h.Enqueue(p))
	select {
	case a := <-alerts:
		require.Equal(t, d.String(), a.OutputFields["digest"])
		require.Equal(t, "Critical", a.Priority)
		require.Equal(t, host+"/team/app:v1", a.OutputFields["image"])
	case <-time.After(30 * time.Second):
		t.Fatal("no alert")
	}
	require.Equal(t, d.String(), <-scanned, "the image pulled is the pushed digest")
	b, err := os.ReadFile(h.ReportPath(d.String()))
	require.NoError(t, err)
	var res scanner.Result
	require.NoError(t, json.Unmarshal(b, &res))
	require.Equal(t, p.Ref(), res.Target)

	missing := Push{Registry: host, Repository: "team/app", Digest: digB}
	require.Equal(t, Queued, h.Enqueue(missing))
	require.Eventually(t, func() bool { return h.Stats().Failed == 1 }, 30*time.Second, 10*time.Millisecond)
	_, err = os.Stat(h.ReportPath(digB))
	require.ErrorIs(t, err, os.ErrNotExist)
	// Once done, a digest can be queued again.
	require.Eventually(t, func() bool { return h.Enqueue(p) == Queued }, 30*time.Second, 10*time.Millisecond)
	<-alerts
	st := h.Stats()
	require.Equal(t, uint64(2), st.Scanned)
	require.Equal(t, uint64(2), st.Alerts)
}
