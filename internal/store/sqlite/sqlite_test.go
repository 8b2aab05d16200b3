package sqlite

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/store/storetest"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)

func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "alerts.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		want  error
	}{
		{"garbage file", func(t *testing.T, path string) {
			writeFile(t, path, []byte(strings.Repeat("not a database\n", 100)))
		}, ErrCorrupt},
		{"short file", func(t *testing.T, path string) { writeFile(t, path, []byte("SQLite")) }, ErrCorrupt},
		{"header then garbage", func(t *testing.T, path string) {
			writeFile(t, path, append([]byte("SQLite format 3\x00"), []byte(strings.Repeat("\xff", 8000))...))
		}, ErrCorrupt},
		{"other database", func(t *testing.T, path string) {
			execSQL(t, path, `CREATE TABLE advisory (id TEXT)`)
		}, ErrNotAlertDB},
		{"newer schema", func(t *testing.T, path string) {
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			execSQL(t, path, `UPDATE schema_version SET version = 99`)
		}, ErrSchemaTooNew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "alerts.db")
			tt.setup(t, path)
			s, err := Open(ctx, path)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	t.Run("damaged pages", func(t *testing.T) {
		s, path := openTemp(t)
		var batch []*alert.Alert
		for i := range 2000 {
			batch = append(batch, &alert.Alert{Time: t0.Add(time.Duration(i)), Rule: "r", Output: strings.Repeat("x", 200)})
		}
		if err := s.Insert(ctx, batch); err != nil {
			t.Fatal(err)
		}
		s.Close() // checkpoints the WAL into the file
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := 8192; i < len(b)-4096; i += 4096 * 3 {
			copy(b[i:i+512], strings.Repeat("\xa5", 512))
		}
		writeFile(t, path, b)
		s2, err := Open(ctx, path)
		if err == nil {
			err = s2.Check(ctx)
			s2.Close()
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open+Check of damaged file = %v, want ErrCorrupt", err)
		}
	})
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func execSQL(t *testing.T, path, q string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

const (
	crashEnv   = "VIGIL_STORE_CRASH_DB"
	crashBatch = 200
)

// TestCrashHelper is the child of TestCrashMidWrite: it inserts batches in a
// loop and prints "committed N" after each Insert returns.
func TestCrashHelper(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process for TestCrashMidWrite")
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	batch := make([]*alert.Alert, crashBatch)
	for n := 1; ; n++ {
		for i := range batch {
			batch[i] = storetest.RealisticAlert(n*crashBatch + i)
		}
		if err := s.Insert(ctx, batch); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("committed", n)
	}
}

func TestCrashMidWrite(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in helper")
	}
	for _, kills := range []int{5, 40} {
		t.Run(fmt.Sprintf("after %d batches", kills), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "alerts.db")
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), crashEnv+"="+path)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			committed := 0
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				line := sc.Text()
				if n, ok := strings.CutPrefix(line, "committed "); ok {
					committed, _ = strconv.Atoi(n)
					if committed >= kills {
						// The child is mid-way into the next batch.
						cmd.Process.Signal(syscall.SIGKILL)
						break
					}
				} else if strings.HasPrefix(line, "error") {
					t.Fatalf("helper: %s", line)
				}
			}
			cmd.Wait()
			if committed < kills {
				t.Fatalf("helper reported %d batches before exiting", committed)
			}
			ctx := context.Background()
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatalf("reopen after SIGKILL: %v", err)
			}
			defer s.Close()
			if err := s.Check(ctx); err != nil {
				t.Fatal(err)
			}
			n, err := s.Count(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n < int64(committed*crashBatch) || n%crashBatch != 0 {
				t.Fatalf("after crash: %d rows, want >= %d whole batches of %d", n, committed, crashBatch)
			}
			t.Logf("child reported %d batches, %d rows survived", committed, n)
			if err := s.Insert(ctx, []*alert.Alert{storetest.RealisticAlert(0)}); err != nil {
				t.Fatalf("insert after recovery: %v", err)
			}
		})
	}
}
