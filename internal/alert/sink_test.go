package alert

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func numbered(i int) *Alert {
	return &Alert{
		Time:         ts,
		Rule:         "r",
		Priority:     "Warning",
		Source:       "syscall",
		Output:       "n=" + strconv.Itoa(i),
		OutputFields: map[string]any{"n": i},
	}
}

// seqs decodes JSON lines and returns the n output field of each.
func seqs(t *testing.T, data []byte) []int {
	t.Helper()
	var out []int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var p falcoPayload
		require.NoError(t, json.Unmarshal(sc.Bytes(), &p), "line %q", sc.Text())
		out = append(out, int(p.OutputFields["n"].(float64)))
	}
	require.NoError(t, sc.Err())
	return out
}

func TestWriterSink(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		want   string
	}{
		{"json", FormatJSON, `{"hostname":"","output":"10:00:00.123456789: Warning n=1","output_fields":{"n":1},"priority":"Warning","rule":"r","source":"syscall","tags":[],"time":"2026-11-23T10:00:00.123456789Z"}` + "\n"},
		{"text", FormatText, "10:00:00.123456789: Warning n=1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			s := NewWriterSink(&buf, tt.format)
			require.NoError(t, s.Send(context.Background(), numbered(1)))
			require.Equal(t, tt.want, buf.String())
			require.NoError(t, s.Send(context.Background(), numbered(1)))
			require.Equal(t, tt.want+tt.want, buf.String())

			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			require.ErrorIs(t, s.Send(ctx, numbered(2)), context.Canceled)
			require.NoError(t, s.Close())
			require.ErrorIs(t, s.Send(context.Background(), numbered(3)), ErrClosed)
			require.Equal(t, tt.want+tt.want, buf.String(), "nothing written after cancel or close")
		})
	}
}

func TestWriterSinkErrors(t *testing.T) {
	pr, pw := io.Pipe()
	require.NoError(t, pr.CloseWithError(errors.New("reader gone")))
	tests := []struct {
		name    string
		sink    *WriterSink
		alert   *Alert
		wantErr string
	}{
		{"write error", NewWriterSink(pw, FormatJSON), numbered(1), `write alert "r": reader gone`},
		{"encode error", NewWriterSink(io.Discard, FormatJSON), &Alert{Rule: "bad", Time: ts, OutputFields: map[string]any{"c": func() {}}}, `encode alert "bad"`},
		{"nil writer", NewWriterSink(nil, FormatJSON), numbered(1), "nil writer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorContains(t, tt.sink.Send(context.Background(), tt.alert), tt.wantErr)
		})
	}
}

func TestFileSink(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		path  string
		sends []int
		want  []int // whole file after Close
	}{
		{"creates parent dirs", filepath.Join(dir, "a", "b", "alerts.json"), []int{1, 2}, []int{1, 2}},
		{"appends on reopen", filepath.Join(dir, "a", "b", "alerts.json"), []int{3}, []int{1, 2, 3}},
		{"no sends", filepath.Join(dir, "empty.json"), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := OpenFileSink(tt.path)
			require.NoError(t, err)
			require.Equal(t, tt.path, s.Path())
			for _, n := range tt.sends {
				require.NoError(t, s.Send(context.Background(), numbered(n)))
			}
			require.NoError(t, s.Close())
			require.NoError(t, s.Close(), "second Close repeats the first result")
			require.ErrorIs(t, s.Send(context.Background(), numbered(9)), ErrClosed)

			fi, err := os.Stat(tt.path)
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
			di, err := os.Stat(filepath.Dir(tt.path))
			require.NoError(t, err)
			if filepath.Dir(tt.path) != dir {
				require.Equal(t, os.FileMode(0o700), di.Mode().Perm())
			}
			data, err := os.ReadFile(tt.path)
			require.NoError(t, err)
			require.Equal(t, tt.want, seqs(t, data))
		})
	}
}

func TestOpenFileSinkErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{"empty", "", "open alert file: empty path"},
		{"parent is a file", filepath.Join(file, "alerts.json"), "open alert file " + filepath.Join(file, "alerts.json")},
		{"path is a dir", dir, "open alert file " + dir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := OpenFileSink(tt.path)
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, s)
		})
	}
}
