//go:build linux

package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/alert/outputs"
	"github.com/vigilsec/vigil/internal/metrics"
	"github.com/vigilsec/vigil/internal/store"
	"github.com/vigilsec/vigil/internal/store/sqlite"
)

// syncBuf is a bytes.Buffer safe for the logging goroutines and the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStoreDiskFull: the alert database lives on a 1 MiB tmpfs that fills
// up. Inserts fail; the failure is logged and counted in /metrics, and the
// webhook and file outputs still receive every alert, through the same
// pipeline, fanout and outputs as vigil run.
func TestStoreDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	mnt := filepath.Join(dir, "tiny")
	require.NoError(t, os.Mkdir(mnt, 0o700))
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("mount tmpfs: %v (needs CAP_SYS_ADMIN)", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(mnt, "vigil.db"))
	require.NoError(t, err)
	defer db.Close()

	var (
		hookMu sync.Mutex
		hooked []string // rule outputs received
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a struct {
			Output string `json:"output"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &a); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		hookMu.Lock()
		hooked = append(hooked, a.Output)
		hookMu.Unlock()
	}))
	defer hook.Close()

	const n = 3000
	file := filepath.Join(dir, "alerts.jsonl")
	outs, err := buildOutputs(OutputsConfig{Specs: []outputs.Spec{
		{Name: "hook", Kind: outputs.KindWebhook, QueueSize: n, Webhook: outputs.WebhookConfig{HTTP: outputs.HTTP{URL: hook.URL}}},
		{Name: "file", Kind: outputs.KindFile, QueueSize: n, File: outputs.FileConfig{Path: file}},
	}})
	require.NoError(t, err)
	sink := store.NewSink(db, 100, 20*time.Millisecond)
	outs = append(outs, alert.Output{Name: "store", Sink: sink, QueueSize: n})
	var logs syncBuf
	log := slog.New(slog.NewTextHandler(&logs, nil))
	fan, err := alert.NewFanout(alert.FanoutConfig{Logger: log}, outs...)
	require.NoError(t, err)
	reg := metrics.New()
	require.NoError(t, reg.RegisterOutputs(outputStats(fan, outs)))
	stopRetention, err := startRetention(ctx, AlertOptions{}, db, sink, reg, log)
	require.NoError(t, err)
	defer stopRetention()
	pipe, err := startPipeline(AlertOptions{AggregateWindow: 10 * time.Second, QueueSize: n}, fan, reg, "node-1", log)
	require.NoError(t, err)

	// 3000 distinct alerts of about 1 KiB: 3 MiB, three times the tmpfs.
	pad := strings.Repeat("x", 1000)
	for i := range n {
		a := &alert.Alert{Time: time.Now().UTC(), Rule: "Disk filler", Priority: "Warning", Source: "syscall",
			Output: pad + " #" + itoa(i), OutputFields: map[string]any{"proc.cmdline": "filler " + itoa(i)}, Hostname: "node-1"}
		require.NoError(t, pipe.Send(ctx, a))
		if i%100 == 99 {
			time.Sleep(5 * time.Millisecond) // let the store flush batch by batch
		}
	}
	closeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	closePipeline(closeCtx, pipe, log)
	// The store's last batch may fail at close too (the disk is still
	// full): that error is expected; any other is not.
	if err := fan.Close(closeCtx); err != nil {
		require.ErrorContains(t, err, "disk is full")
		require.ErrorContains(t, err, "store")
	}

	// Every alert reached the webhook and the file.
	hookMu.Lock()
	require.Len(t, hooked, n, "webhook")
	hookMu.Unlock()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	lines := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines++
	}
	require.NoError(t, sc.Err())
	require.Equal(t, n, lines, "file")

	// The store took what fit, and counted the rest.
	st := sink.Stats()
	t.Logf("store: %d alerts inserted, %d lost in %d failed batches", st.Inserted, st.Failed, st.FailedBatches)
	require.Positive(t, st.Failed, "some inserts must fail on a full disk")
	require.Positive(t, st.Inserted)
	require.EqualValues(t, n, st.Inserted+st.Failed)
	stored, err := db.Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, st.Inserted, stored, "the store holds exactly the acknowledged alerts")
	require.Contains(t, logs.String(), "alert sink send failed")
	require.Contains(t, logs.String(), "sink=store")
	require.Contains(t, logs.String(), "full")

	rec := httptest.NewRecorder()
	reg.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	m := rec.Body.String()
	require.Contains(t, m, "vigil_store_alerts_failed_total "+itoa(int(st.Failed))+"\n")
	require.Contains(t, m, "vigil_store_insert_errors_total "+itoa(int(st.FailedBatches))+"\n")
	require.Contains(t, m, `vigil_output_sent_total{output="hook"} `+itoa(n)+"\n")
	require.Contains(t, m, `vigil_output_sent_total{output="file"} `+itoa(n)+"\n")
	require.NotContains(t, m, `vigil_output_failed_total{output="store"} 0`+"\n")
}

func itoa(i int) string { return strconv.Itoa(i) }
