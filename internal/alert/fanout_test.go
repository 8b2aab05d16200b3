package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, nil))
}

// eventually polls cond every millisecond for up to 5 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func statsOf(t *testing.T, f *Fanout, name string) SinkStats {
	t.Helper()
	for _, s := range f.Stats() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no sink %q in stats", name)
	return SinkStats{}
}

func TestFanoutOrderPerSink(t *testing.T) {
	tests := []struct {
		name      string
		queueSize int
		n         int
		lossless  bool
	}{
		{"default queue", 0, 1000, true},
		{"large queue", 5000, 5000, true},
		{"queue of one may drop but keeps order", 1, 2000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "alerts.json")
			file, err := OpenFileSink(path)
			require.NoError(t, err)
			var a, b bytes.Buffer
			f, err := NewFanout(FanoutConfig{QueueSize: tt.queueSize},
				Output{Name: "a", Sink: NewWriterSink(&a, FormatJSON)},
				Output{Name: "file", Sink: file},
				Output{Name: "b", Sink: NewWriterSink(&b, FormatJSON)},
			)
			require.NoError(t, err)
			for i := range tt.n {
				require.NoError(t, f.Send(context.Background(), numbered(i)))
			}
			require.NoError(t, f.Close(context.Background()))

			data, err := os.ReadFile(path)
			require.NoError(t, err)
			outs := map[string][]byte{"a": a.Bytes(), "b": b.Bytes(), "file": data}
			for _, st := range f.Stats() {
				got := seqs(t, outs[st.Name])
				require.Equal(t, uint64(len(got)), st.Sent, st.Name)
				require.Equal(t, uint64(tt.n), st.Sent+st.Dropped, "%s: every alert sent or dropped", st.Name)
				require.Zero(t, st.Errors, st.Name)
				require.Zero(t, st.Queued, st.Name)
				for i := 1; i < len(got); i++ {
					require.Less(t, got[i-1], got[i], "%s: order at %d", st.Name, i)
				}
				if tt.lossless {
					require.Len(t, got, tt.n, st.Name)
					require.Zero(t, st.Dropped, st.Name)
				}
			}
		})
	}
}

// Concurrent senders: every sink receives the alerts in the same order.
func TestFanoutSameOrderAcrossSinks(t *testing.T) {
	const senders, each = 8, 500
	var a, b bytes.Buffer
	f, err := NewFanout(FanoutConfig{QueueSize: senders * each},
		Output{Name: "a", Sink: NewWriterSink(&a, FormatJSON)},
		Output{Name: "b", Sink: NewWriterSink(&b, FormatJSON)},
	)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				require.NoError(t, f.Send(context.Background(), numbered(g*each+i)))
			}
		}()
	}
	wg.Wait()
	require.NoError(t, f.Close(context.Background()))
	got := seqs(t, a.Bytes())
	require.Len(t, got, senders*each)
	require.Equal(t, got, seqs(t, b.Bytes()))
}

func TestFanoutOverflowBlockedSink(t *testing.T) {
	const queue, extra = 4, 10
	pr, pw := io.Pipe() // nobody reads yet: writes block
	defer pr.Close()
	var fast bytes.Buffer
	var logs lockedBuffer
	f, err := NewFanout(FanoutConfig{QueueSize: queue, DropLogInterval: time.Hour, Logger: testLogger(&logs)},
		Output{Name: "fast", Sink: NewWriterSink(&fast, FormatJSON)},
		Output{Name: "blocked", Sink: NewWriterSink(pw, FormatJSON)},
	)
	require.NoError(t, err)

	// Alert 0 is taken by the blocked sink's goroutine, which then hangs in
	// Write; the next `queue` alerts fill its queue and the rest drop.
	require.NoError(t, f.Send(context.Background(), numbered(0)))
	eventually(t, "blocked sink to take alert 0", func() bool { return statsOf(t, f, "blocked").Queued == 0 })
	for i := 1; i <= extra; i++ {
		start := time.Now()
		require.NoError(t, f.Send(context.Background(), numbered(i)))
		require.Less(t, time.Since(start), time.Second, "Send must not block on a stuck sink")
		// The fast sink shares the queue size: let it keep up.
		eventually(t, "fast sink to drain", func() bool { return statsOf(t, f, "fast").Sent == uint64(i+1) })
	}

	st := statsOf(t, f, "blocked")
	require.Equal(t, SinkStats{Name: "blocked", Dropped: extra - queue, Queued: queue}, st)
	require.Equal(t, 1, strings.Count(logs.String(), `"msg":"alert queue full, dropping alerts"`), logs.String())
	require.Contains(t, logs.String(), `"component":"alert","sink":"blocked","dropped_total":1,"queue_size":4`)

	// Unblock: Close drains what was queued, in order.
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(pr)
		got <- b
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, f.Close(ctx))
	require.NoError(t, pw.Close())
	require.Equal(t, []int{0, 1, 2, 3, 4}, seqs(t, <-got))
	require.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, seqs(t, fast.Bytes()))
	require.Equal(t, []SinkStats{
		{Name: "fast", Sent: extra + 1},
		{Name: "blocked", Sent: queue + 1, Dropped: extra - queue},
	}, f.Stats())
}

func TestFanoutCloseDeadline(t *testing.T) {
	pr, pw := io.Pipe()
	f, err := NewFanout(FanoutConfig{QueueSize: 8}, Output{Name: "stuck", Sink: NewWriterSink(pw, FormatJSON)})
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, f.Send(context.Background(), numbered(i)))
	}
	eventually(t, "sink to take alert 0", func() bool { return statsOf(t, f, "stuck").Queued == 2 })

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = f.Close(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "drain alert queues: 2 alerts pending")
	require.Less(t, time.Since(start), 2*time.Second)

	require.ErrorIs(t, f.Send(context.Background(), numbered(9)), ErrClosed)
	require.ErrorIs(t, f.Close(context.Background()), ErrClosed)

	// Once the stuck write fails, the rest is discarded, not sent.
	require.NoError(t, pr.CloseWithError(errors.New("gone")))
	eventually(t, "queue discarded", func() bool {
		s := statsOf(t, f, "stuck")
		return s.Errors == 1 && s.Dropped == 2 && s.Queued == 0
	})
	require.Zero(t, statsOf(t, f, "stuck").Sent)
}

func TestFanoutSendErrorsCounted(t *testing.T) {
	pr, pw := io.Pipe()
	require.NoError(t, pr.CloseWithError(errors.New("broken")))
	var logs lockedBuffer
	f, err := NewFanout(FanoutConfig{DropLogInterval: time.Hour, Logger: testLogger(&logs)},
		Output{Name: "broken", Sink: NewWriterSink(pw, FormatJSON)})
	require.NoError(t, err)
	for i := range 5 {
		require.NoError(t, f.Send(context.Background(), numbered(i)))
	}
	require.NoError(t, f.Close(context.Background()))
	require.Equal(t, []SinkStats{{Name: "broken", Errors: 5}}, f.Stats())
	require.Equal(t, 1, strings.Count(logs.String(), "alert sink send failed"), logs.String())
	require.Contains(t, logs.String(), `write alert \"r\": broken`)
}

func TestFanoutConcurrentSend(t *testing.T) {
	const senders, each = 8, 300
	var a bytes.Buffer
	f, err := NewFanout(FanoutConfig{QueueSize: 64}, Output{Name: "a", Sink: NewWriterSink(&a, FormatText)}, Output{Name: "null", Sink: NewWriterSink(io.Discard, FormatJSON)})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for i := range each {
				if err := f.Send(context.Background(), numbered(i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, f.Close(context.Background()))
	for _, st := range f.Stats() {
		require.Equal(t, uint64(senders*each), st.Sent+st.Dropped, st.Name)
	}
	require.Equal(t, int(statsOf(t, f, "a").Sent), strings.Count(a.String(), "\n"))
}

func TestFanoutAcceptAndQueueSize(t *testing.T) {
	var warn, all bytes.Buffer
	pr, pw := io.Pipe() // never read: the "stuck" sink blocks on its first alert
	defer pr.Close()
	onlyWarning := func(a *Alert) bool { return a.Priority == "Warning" }
	f, err := NewFanout(FanoutConfig{QueueSize: 100},
		Output{Name: "warn", Sink: NewWriterSink(&warn, FormatText), Accept: onlyWarning},
		Output{Name: "all", Sink: NewWriterSink(&all, FormatText)},
		Output{Name: "stuck", Sink: NewWriterSink(pw, FormatText), QueueSize: 2})
	require.NoError(t, err)
	for i, p := range []string{"Warning", "Notice", "Warning", "Debug", "Warning", "Error"} {
		require.NoError(t, f.Send(context.Background(), &Alert{Time: ts, Priority: p, Rule: fmt.Sprint(i)}))
		if i == 0 { // let the stuck sink take the first alert into its Send
			require.Eventually(t, func() bool { return statsOf(t, f, "stuck").Queued == 0 }, 5*time.Second, time.Millisecond)
		}
	}
	// The stuck sink holds one alert in Send and two in its queue of 2.
	st := statsOf(t, f, "stuck")
	require.Equal(t, uint64(3), st.Dropped)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.Error(t, f.Close(ctx))
	require.Equal(t, SinkStats{Name: "warn", Sent: 3, Filtered: 3}, statsOf(t, f, "warn"))
	require.Equal(t, SinkStats{Name: "all", Sent: 6}, statsOf(t, f, "all"))
	require.Equal(t, 3, strings.Count(warn.String(), ": Warning "))
	require.Equal(t, 6, strings.Count(all.String(), "\n"))
	_, err = NewFanout(FanoutConfig{}, Output{Name: "neg", Sink: NewWriterSink(io.Discard, FormatJSON), QueueSize: -1})
	require.ErrorContains(t, err, `output "neg": negative queue size -1`)
}

func TestFanoutSendInput(t *testing.T) {
	f, err := NewFanout(FanoutConfig{}, Output{Name: "null", Sink: NewWriterSink(io.Discard, FormatJSON)})
	require.NoError(t, err)
	defer f.Close(context.Background())
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		alert   *Alert
		wantErr string
	}{
		{"nil alert", context.Background(), nil, "send alert: nil alert"},
		{"cancelled", cancelled, numbered(1), "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorContains(t, f.Send(tt.ctx, tt.alert), tt.wantErr)
		})
	}
	require.Equal(t, []SinkStats{{Name: "null"}}, f.Stats())
}

func TestNewFanoutErrors(t *testing.T) {
	ok := NewWriterSink(io.Discard, FormatJSON)
	tests := []struct {
		name    string
		cfg     FanoutConfig
		outs    []Output
		wantErr string
	}{
		{"no outputs", FanoutConfig{}, nil, "alert fanout: no outputs"},
		{"negative queue", FanoutConfig{QueueSize: -1}, []Output{{Name: "a", Sink: ok}}, "negative queue size -1"},
		{"negative interval", FanoutConfig{DropLogInterval: -time.Second}, []Output{{Name: "a", Sink: ok}}, "negative drop log interval -1s"},
		{"empty name", FanoutConfig{}, []Output{{Name: "a", Sink: ok}, {Name: "", Sink: ok}}, "output 1: empty name"},
		{"duplicate", FanoutConfig{}, []Output{{Name: "a", Sink: ok}, {Name: "a", Sink: ok}}, `output "a": duplicate name`},
		{"nil sink", FanoutConfig{}, []Output{{Name: "a", Sink: nil}}, `output "a": nil sink`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFanout(tt.cfg, tt.outs...)
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, f)
		})
	}
}

func BenchmarkFanoutSend(b *testing.B) {
	f, err := NewFanout(FanoutConfig{QueueSize: 4096},
		Output{Name: "a", Sink: NewWriterSink(io.Discard, FormatJSON)},
		Output{Name: "b", Sink: NewWriterSink(io.Discard, FormatText)})
	if err != nil {
		b.Fatal(err)
	}
	a := shellAlert()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Send(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := f.Close(ctx); err != nil {
		b.Fatal(err)
	}
}
