package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/store"
	"github.com/vigilsec/vigil/internal/store/postgres"
	"github.com/vigilsec/vigil/internal/store/postgres/pgtest"
	"github.com/vigilsec/vigil/internal/store/sqlite"
)

// startPostgres starts a test server with a database "vigil", or skips.
func startPostgres(t *testing.T) (*pgtest.Server, string) {
	t.Helper()
	ctx := context.Background()
	srv, err := pgtest.Start(ctx)
	if errors.Is(err, pgtest.ErrUnavailable) {
		t.Skipf("no PostgreSQL server to test against: %v", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Stop()) })
	require.NoError(t, srv.CreateDatabase(ctx, "vigil"))
	return srv, srv.DSN("vigil")
}

// vigil run --store postgres://... keeps alerts, assets and accounts in
// PostgreSQL and logs the DSN without its password.
func TestRunWithPostgresStore(t *testing.T) {
	srv, dsn := startPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dataDir := t.TempDir()
	pwFile := filepath.Join(t.TempDir(), "admin-password")
	require.NoError(t, os.WriteFile(pwFile, []byte("correct horse battery staple\n"), 0o600))
	var logs lockedLog
	ready := make(chan string, 1)
	runErr := make(chan error, 1)
	go func() {
		runErr <- Run(ctx, RunOptions{
			Listen: "127.0.0.1:0", DataDir: dataDir, Store: dsn, Hostname: "pg-host", Stdout: io.Discard, Stderr: io.Discard,
			Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			Sensor: SensorOptions{Mode: SensorOff}, Auth: AuthOptions{AdminPasswordFile: pwFile},
			Ready: func(addr string) { ready <- addr },
		})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-runErr:
		t.Fatalf("run: %v\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatal("run not ready in 60s")
	}
	// Log in as the admin (whose account is in PostgreSQL) and list the
	// alerts (from PostgreSQL).
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := client.Post("http://"+addr+"/api/v1/login", "application/json",
		strings.NewReader(`{"username":"admin","password":"correct horse battery staple"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "login")
	resp, err = client.Get("http://" + addr + "/api/v1/alerts")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "alerts: %s", body)

	db, err := postgres.Open(context.Background(), dsn)
	require.NoError(t, err)
	defer db.Close()
	u, err := db.User(context.Background(), "admin")
	require.NoError(t, err, "the admin user was created in PostgreSQL")
	require.Equal(t, store.RoleAdmin, u.Role)
	require.Eventually(t, func() bool {
		_, err := db.Asset(context.Background(), store.AssetHost, "pg-host")
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "the host asset is written to PostgreSQL")
	require.NoFileExists(t, filepath.Join(dataDir, "vigil.db"), "no SQLite file with --store")

	cancel()
	select {
	case err := <-runErr:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop")
	}
	out := logs.String()
	require.Contains(t, out, `msg="alert store" component=store backend=postgres dsn="postgres://vigil:xxxxx@127.0.0.1:`)
	require.NotContains(t, out, srv.Password(), "no password in logs")
}

func TestOpenStore(t *testing.T) {
	srv, dsn := startPostgres(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "new")
	tests := []struct {
		name, dsn, dir string
		want           any    // *sqlite.Store or *postgres.Store
		wantErr        string // substring of the error
	}{
		{"sqlite in the data dir", "", dir, &sqlite.Store{}, ""},
		{"postgres", dsn, dir, &postgres.Store{}, ""},
		{"postgresql scheme", strings.Replace(dsn, "postgres://", "postgresql://", 1), dir, &postgres.Store{}, ""},
		{"other scheme", strings.Replace(dsn, "postgres://", "mysql://", 1), dir, nil, "want a postgres:// or postgresql:// URL"},
		{"wrong password", strings.Replace(dsn, srv.Password(), "nope", 1), dir, nil, "password authentication failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			db, err := openStore(ctx, tt.dsn, tt.dir, slog.New(slog.NewTextHandler(&logs, nil)))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NotContains(t, err.Error(), srv.Password())
				return
			}
			require.NoError(t, err)
			defer db.Close()
			require.IsType(t, tt.want, db)
			require.NotContains(t, logs.String(), srv.Password())
		})
	}
	require.FileExists(t, filepath.Join(dir, "vigil.db"), "the data dir is created")
}

// lockedLog is a log buffer safe for the run goroutines and the test.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
