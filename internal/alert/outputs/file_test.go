package outputs

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
)

// numbered returns testAlert with rule "r<i>".
func numbered(i int) *alert.Alert {
	a := testAlert()
	a.Rule = fmt.Sprint("r", i)
	return a
}

// rulesIn returns the rules of the JSON lines in path, or nil if missing.
func rulesIn(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var rules []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var p falcoPayload
		require.NoError(t, json.Unmarshal([]byte(l), &p), "line %q", l)
		rules = append(rules, p.Rule)
	}
	return rules
}

func TestFileRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "alerts.jsonl")
	line, err := numbered(0).AppendJSON(nil)
	require.NoError(t, err)
	size := int64(len(line) + 1)
	// Room for 3 lines per file, 2 rotated files kept.
	f, err := OpenFile(FileConfig{Path: path, MaxSize: 3*size + 1, MaxFiles: 2})
	require.NoError(t, err)
	for i := range 10 {
		require.NoError(t, f.Send(context.Background(), numbered(i)))
	}
	require.NoError(t, f.Close())
	require.Equal(t, uint64(3), f.Rotations())
	require.Equal(t, []string{"r9"}, rulesIn(t, path))
	require.Equal(t, []string{"r6", "r7", "r8"}, rulesIn(t, path+".1"))
	require.Equal(t, []string{"r3", "r4", "r5"}, rulesIn(t, path+".2"))
	require.Nil(t, rulesIn(t, path+".3"), "only max_files rotated files are kept")
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	st, err = os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	require.ErrorIs(t, f.Send(context.Background(), numbered(0)), alert.ErrClosed)
}

func TestFileRotationKeepsExistingSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.log")
	require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("x", 90)+"\n"), 0o600))
	f, err := OpenFile(FileConfig{Path: path, MaxSize: 100, Format: alert.FormatText})
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Send(context.Background(), numbered(1)))
	require.Equal(t, uint64(1), f.Rotations(), "the existing 91 bytes count")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, numbered(1).Text()+"\n", string(b), "text format")
}

func TestFileReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.jsonl")
	f, err := OpenFile(FileConfig{Path: path})
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Send(context.Background(), numbered(1)))
	// logrotate moves the file away, then vigil gets SIGHUP.
	require.NoError(t, os.Rename(path, path+".old"))
	require.NoError(t, f.Send(context.Background(), numbered(2)))
	require.NoError(t, f.Reopen())
	require.NoError(t, f.Send(context.Background(), numbered(3)))
	require.Equal(t, []string{"r1", "r2"}, rulesIn(t, path+".old"))
	require.Equal(t, []string{"r3"}, rulesIn(t, path))
	var _ Reopener = f
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	_, err := OpenFile(FileConfig{Path: filepath.Join(blocker, "alerts.jsonl")})
	require.ErrorContains(t, err, "file output "+blocker)
	_, err = OpenFile(FileConfig{Path: filepath.Join(dir, "a"), MaxSize: -1})
	require.ErrorContains(t, err, "negative max_size -1")
}

func BenchmarkFileSend(b *testing.B) {
	f, err := OpenFile(FileConfig{Path: filepath.Join(b.TempDir(), "a.jsonl"), MaxSize: 1 << 20, MaxFiles: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	a := testAlert()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Send(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
}
