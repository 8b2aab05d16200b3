package auth

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/store"
	"github.com/vigilsec/vigil/internal/store/sqlite"
)

// fastHash keeps tests quick; the production parameters are tested once.
var fastHash = HashParams{Time: 1, Memory: 64, Threads: 1}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newService(t *testing.T) (*Service, *clock) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "vigil.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	c := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	return New(db, Config{Hash: fastHash, Now: c.now}), c
}

func TestPasswordHash(t *testing.T) {
	h := HashPassword("correct horse", DefaultHashParams)
	require.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$"), h)
	require.NotEqual(t, h, HashPassword("correct horse", DefaultHashParams), "salted")
	for _, tt := range []struct {
		name, enc, pw string
		want          bool
	}{
		{"match", h, "correct horse", true},
		{"wrong", h, "correct horsE", false},
		{"empty", h, "", false},
		{"malformed", "$argon2id$v=19$m=x$a$b", "correct horse", false},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuv", "correct horse", false},
		{"huge memory", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$aGFzaA", "x", false},
	} {
		t.Run(tt.name, func(t *testing.T) { require.Equal(t, tt.want, CheckPassword(tt.enc, tt.pw)) })
	}
}

func TestLoginSessionLogout(t *testing.T) {
	ctx := context.Background()
	s, c := newService(t)
	created, err := s.Bootstrap(ctx, "admin", "s3cret-pass")
	require.NoError(t, err)
	require.True(t, created)
	created, err = s.Bootstrap(ctx, "admin", "other-pass")
	require.NoError(t, err)
	require.False(t, created, "only when no user exists")

	_, _, err = s.Login(ctx, "1.2.3.4", "admin", "wrong-pass")
	require.ErrorIs(t, err, ErrUnauthenticated)
	_, _, err = s.Login(ctx, "1.2.3.4", "nobody", "s3cret-pass")
	require.ErrorIs(t, err, ErrUnauthenticated)
	id, p, err := s.Login(ctx, "1.2.3.4", "admin", "s3cret-pass")
	require.NoError(t, err)
	require.Equal(t, store.RoleAdmin, p.Role)
	require.GreaterOrEqual(t, len(id), 43, "256-bit id")
	require.NotEmpty(t, p.CSRF)
	require.True(t, CheckCSRF(p, p.CSRF))
	require.False(t, CheckCSRF(p, p.CSRF+"x"))
	require.False(t, CheckCSRF(Principal{}, ""))

	got, err := s.Session(ctx, id)
	require.NoError(t, err)
	require.Equal(t, p, got)
	_, err = s.Session(ctx, id+"x")
	require.ErrorIs(t, err, ErrUnauthenticated)

	// Idle expiry.
	c.t = c.t.Add(13 * time.Hour)
	_, err = s.Session(ctx, id)
	require.ErrorIs(t, err, ErrUnauthenticated)

	id, _, err = s.Login(ctx, "1.2.3.4", "admin", "s3cret-pass")
	require.NoError(t, err)
	s.Logout(id)
	_, err = s.Session(ctx, id)
	require.ErrorIs(t, err, ErrUnauthenticated)

	// A deleted user's session ends.
	require.NoError(t, s.CreateUser(ctx, "eve", "viewer-pass", store.RoleViewer))
	id, p, err = s.Login(ctx, "5.6.7.8", "eve", "viewer-pass")
	require.NoError(t, err)
	require.Equal(t, store.RoleViewer, p.Role)
	require.NoError(t, s.Accounts().DeleteUser(ctx, "eve"))
	_, err = s.Session(ctx, id)
	require.ErrorIs(t, err, ErrUnauthenticated)
}

func TestLoginRateLimit(t *testing.T) {
	ctx := context.Background()
	s, c := newService(t)
	require.NoError(t, s.CreateUser(ctx, "admin", "s3cret-pass", store.RoleAdmin))
	for range 5 {
		_, _, err := s.Login(ctx, "9.9.9.9", "admin", "bad-password")
		require.ErrorIs(t, err, ErrUnauthenticated)
	}
	_, _, err := s.Login(ctx, "9.9.9.9", "admin", "s3cret-pass")
	require.ErrorIs(t, err, ErrRateLimited, "even the right password, until the window ends")
	_, _, err = s.Login(ctx, "8.8.8.8", "admin", "s3cret-pass")
	require.NoError(t, err, "other clients are not limited")
	c.t = c.t.Add(time.Minute)
	_, _, err = s.Login(ctx, "9.9.9.9", "admin", "s3cret-pass")
	require.NoError(t, err)
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	s, c := newService(t)
	tok, secret, err := s.CreateToken(ctx, "ci", store.RoleViewer)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(secret, TokenPrefix))
	require.NotContains(t, tok.Hash, secret)
	p, err := s.Token(ctx, secret)
	require.NoError(t, err)
	require.Equal(t, Principal{Name: "ci", Role: store.RoleViewer, TokenID: tok.ID}, p)
	toks, err := s.Accounts().Tokens(ctx)
	require.NoError(t, err)
	require.Equal(t, c.t, toks[0].LastUsed)
	for _, bad := range []string{"", "vgl_", secret + "x", strings.TrimPrefix(secret, TokenPrefix)} {
		_, err := s.Token(ctx, bad)
		require.ErrorIs(t, err, ErrUnauthenticated, bad)
	}
	require.NoError(t, s.Accounts().DeleteToken(ctx, tok.ID))
	_, err = s.Token(ctx, secret)
	require.ErrorIs(t, err, ErrUnauthenticated)
	_, _, err = s.CreateToken(ctx, "x", "root")
	require.ErrorIs(t, err, store.ErrInvalid)
}

func TestCreateUserValidation(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	for _, tt := range []struct{ name, user, pw string }{
		{"short password", "bob", "short"},
		{"empty name", "", "long-enough"},
		{"slash", "a/b", "long-enough"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, s.CreateUser(ctx, tt.user, tt.pw, store.RoleViewer), store.ErrInvalid)
		})
	}
	require.NoError(t, s.CreateUser(ctx, "bob", "long-enough", store.RoleViewer))
	require.ErrorIs(t, s.CreateUser(ctx, "bob", "long-enough", store.RoleViewer), store.ErrConflict)
}
