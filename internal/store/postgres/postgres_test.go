package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/store"
	"github.com/vigilsec/vigil/internal/store/postgres/pgtest"
	"github.com/vigilsec/vigil/internal/store/storetest"
)

// testDB is the database the tests create their schemas in.
const testDB = "vigil_test"

var (
	server    *pgtest.Server
	serverErr error
)

// TestMain starts one PostgreSQL server for the package's tests and stops
// it after them.
func TestMain(m *testing.M) {
	ctx := context.Background()
	server, serverErr = pgtest.Start(ctx)
	if serverErr == nil {
		serverErr = server.CreateDatabase(ctx, testDB)
	}
	code := m.Run()
	if server != nil {
		if err := server.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

// pg returns the test server, skipping the test when none could start.
func pg(t testing.TB) *pgtest.Server {
	t.Helper()
	if errors.Is(serverErr, pgtest.ErrUnavailable) {
		t.Skipf("no PostgreSQL server to test against: %v", serverErr)
	}
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	return server
}

// openTemp opens a store in a new schema of the test database.
func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	dsn := pg(t).Schema(t, testDB)
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dsn
}

// TestConformance runs the store conformance suite (shared with the SQLite
// store), each test in its own schema, pruning in chunks of 2 rows so that
// Prune takes several transactions.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB, where string) (storetest.Store, string) {
		if where == "" {
			where = pg(t).Schema(t, testDB)
		}
		s, err := Open(context.Background(), where)
		if err != nil {
			t.Fatal(err)
		}
		s.pruneChunk = 2
		return s, where
	})
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://vigil:s3cret@db:5432/vigil?sslmode=require", "postgres://vigil:xxxxx@db:5432/vigil?sslmode=require"},
		{"postgresql://vigil@db/vigil", "postgresql://vigil@db/vigil"},
		{"postgres://db/vigil?user=v&password=s3cret", "postgres://db/vigil?password=xxxxx&user=v"},
		{"postgres://u:p%40ss@db/vigil", "postgres://u:xxxxx@db/vigil"},
		{"host=db user=vigil password=s3cret dbname=vigil", "host=db user=vigil password=xxxxx dbname=vigil"},
		{"host=db password = 's3 cret' dbname=vigil", "host=db password = xxxxx dbname=vigil"},
		{"host=db PASSWORD='it\\'s' dbname=vigil", "host=db PASSWORD=xxxxx dbname=vigil"},
		{"postgres://u:s3cret@db:port/x", "postgres://(unparsable DSN)"},
		{"mysql://u:s3cret@db/x", "mysql://u:xxxxx@db/x"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, Redact(tt.in))
		})
	}
	require.True(t, IsDSN("postgres://x"))
	require.True(t, IsDSN("postgresql://x"))
	require.False(t, IsDSN("/var/lib/vigil"))
}

func TestOpenErrors(t *testing.T) {
	srv := pg(t)
	ctx := context.Background()
	pw := srv.Password()
	tests := []struct {
		name  string
		dsn   func(t *testing.T) string
		want  error  // errors.Is target, or nil
		match string // substring of the error
	}{
		{"other application's alert table", func(t *testing.T) string {
			dsn := srv.Schema(t, testDB)
			require.NoError(t, srv.Exec(ctx, testDB, "CREATE TABLE "+schemaOf(t, dsn)+".alert (id int)"))
			return dsn
		}, ErrNotAlertDB, "not a Vigil alert database"},
		{"newer schema", func(t *testing.T) string {
			dsn := srv.Schema(t, testDB)
			s, err := Open(ctx, dsn)
			require.NoError(t, err)
			s.Close()
			require.NoError(t, srv.Exec(ctx, testDB, "UPDATE "+schemaOf(t, dsn)+".vigil_schema_version SET version = 99"))
			return dsn
		}, ErrSchemaTooNew, "schema version 99"},
		{"wrong password", func(t *testing.T) string {
			return strings.Replace(srv.DSN(testDB), pw, pw+"-wrong", 1)
		}, nil, "password authentication failed"},
		{"no such database", func(t *testing.T) string { return srv.DSN("nope") }, nil, `"nope" does not exist`},
		{"invalid DSN", func(t *testing.T) string {
			return strings.Replace(srv.DSN(testDB), "sslmode=disable", "sslmode=bogus", 1)
		}, nil, "invalid DSN"},
		{"nothing listening", func(t *testing.T) string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			port := l.Addr().(*net.TCPAddr).Port
			l.Close()
			return fmt.Sprintf("postgres://vigil:%s@127.0.0.1:%d/x", pw, port)
		}, nil, "connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(ctx, tt.dsn(t))
			if err == nil {
				s.Close()
			}
			require.Error(t, err)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
			}
			require.Contains(t, err.Error(), tt.match)
			require.Contains(t, err.Error(), "open alert database postgres://vigil:xxxxx@127.0.0.1:", "the error names the database")
			require.NotContains(t, err.Error(), pw, "no password in errors")
		})
	}
}

// schemaOf returns the search_path of a DSN from pgtest.Server.Schema.
func schemaOf(t *testing.T, dsn string) string {
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	return u.Query().Get("search_path")
}

// Servers starting together on an empty schema migrate it once.
func TestConcurrentOpen(t *testing.T) {
	dsn := pg(t).Schema(t, testDB)
	ctx := context.Background()
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			s, err := Open(ctx, dsn)
			if err == nil {
				err = s.Insert(ctx, []*alert.Alert{storetest.RealisticAlert(1)})
				s.Close()
			}
			errs <- err
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
	s, err := Open(ctx, dsn)
	require.NoError(t, err)
	defer s.Close()
	c, err := s.Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, n, c)
	var version int
	require.NoError(t, s.pool.QueryRow(ctx, `SELECT version FROM vigil_schema_version`).Scan(&version))
	require.Equal(t, SchemaVersion, version)
}

// Pruning deletes the timelines of deleted alerts and old exec records
// (not visible through the API once the alert is gone).
func TestPruneRelated(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	require.NoError(t, s.Insert(ctx, storetest.FilterFixture()))
	last, err := s.LastID(ctx)
	require.NoError(t, err)
	for id := last - 7; id <= last; id++ {
		require.NoError(t, s.AddTimeline(ctx, id, store.TimelineEntry{Kind: store.KindNote, Text: "n"}))
	}
	require.NoError(t, s.RecordExecs(ctx, []store.ExecRecord{
		{Host: "h", Proc: alert.Proc{PID: 2, PPID: 1, StartTime: storetest.T0}},
		{Host: "h", Proc: alert.Proc{PID: 3, PPID: 1, StartTime: storetest.T0.Add(time.Hour)}},
	}))
	count := func(table string) int {
		var n int
		require.NoError(t, s.pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n))
		return n
	}
	n, err := s.Prune(ctx, time.Time{}, 3)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	require.Equal(t, 3, count("alert_timeline"))
	require.Equal(t, 2, count("exec_record"), "no age given: exec records stay")
	_, err = s.Prune(ctx, storetest.T0.Add(6*time.Minute), 0)
	require.NoError(t, err)
	require.Equal(t, 2, count("alert_timeline"))
	require.Equal(t, 1, count("exec_record"))
}

// A call without a deadline gets one; a cancelled context stops a call.
func TestContext(t *testing.T) {
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.List(ctx, store.Filter{})
	require.ErrorIs(t, err, context.Canceled)
	err = s.Insert(ctx, []*alert.Alert{storetest.RealisticAlert(0)})
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, s.Ping(context.Background()))
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice")
}
