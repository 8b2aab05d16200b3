package pgtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// The server starts, accepts the password only, and its directory is gone
// after Stop.
func TestStartStop(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	s, err := Start(ctx)
	if errors.Is(err, ErrUnavailable) {
		t.Skip(err)
	}
	require.NoError(t, err)
	t.Logf("started in %s", time.Since(start).Round(time.Millisecond))
	c, err := pgx.Connect(ctx, s.DSN("postgres"))
	require.NoError(t, err)
	var v string
	require.NoError(t, c.QueryRow(ctx, "SHOW server_version").Scan(&v))
	t.Logf("server %s", v)
	c.Close(ctx)
	cfg, err := pgx.ParseConfig(s.DSN("postgres"))
	require.NoError(t, err)
	cfg.Password = "wrong"
	_, err = pgx.ConnectConfig(ctx, cfg)
	require.Error(t, err, "a wrong password is refused")
	require.NoError(t, s.Stop())
	require.NoDirExists(t, s.dir)
}
