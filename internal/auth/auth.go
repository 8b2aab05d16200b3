// Package auth authenticates users of the HTTP API: passwords hashed with
// argon2id, server-side sessions with CSRF tokens, API tokens stored
// hashed, the admin and viewer roles, and a per-client login rate limit.
// Users and tokens are kept in a store.Accounts; sessions live in memory
// (a restart logs everyone out).
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/vigilsec/vigil/internal/store"
)

// Errors of the Service.
var (
	// ErrUnauthenticated means no or invalid credentials (HTTP 401).
	ErrUnauthenticated = errors.New("invalid credentials")
	// ErrRateLimited means too many failed logins from a client (HTTP 429).
	ErrRateLimited = errors.New("too many failed logins; try again later")
)

// TokenPrefix starts every API token.
const TokenPrefix = "vgl_"

// Principal is who made a request.
type Principal struct {
	Name string // user name or token name
	Role store.Role
	// TokenID is set when authenticated by API token.
	TokenID string
	// CSRF is the session's CSRF token; "" for API tokens.
	CSRF string
}

// Config configures a Service. Zero fields take defaults.
type Config struct {
	// SessionTTL is how long a session lives without use; default 12h.
	SessionTTL time.Duration
	// SessionMaxAge bounds a session's life; default 7 days.
	SessionMaxAge time.Duration
	// MaxFailures failed logins per client within FailureWindow trigger
	// ErrRateLimited until the window ends; defaults 5 and 1 minute.
	MaxFailures   int
	FailureWindow time.Duration
	// Hash are the argon2id parameters for new passwords; default
	// DefaultHashParams.
	Hash HashParams
	// Now is the clock; default time.Now.
	Now func() time.Time
}

type session struct {
	p       Principal
	created time.Time
	used    time.Time
}

type failures struct {
	n     int
	start time.Time
}

// Service authenticates passwords, sessions and API tokens.
type Service struct {
	cfg Config
	acc store.Accounts

	mu       sync.Mutex
	sessions map[[32]byte]*session // by SHA-256 of the session id
	fails    map[string]*failures  // by client address
	lastGC   time.Time
}

// New returns a Service over acc.
func New(acc store.Accounts, cfg Config) *Service {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.SessionMaxAge <= 0 {
		cfg.SessionMaxAge = 7 * 24 * time.Hour
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 5
	}
	if cfg.FailureWindow <= 0 {
		cfg.FailureWindow = time.Minute
	}
	if cfg.Hash == (HashParams{}) {
		cfg.Hash = DefaultHashParams
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, acc: acc, sessions: map[[32]byte]*session{}, fails: map[string]*failures{}}
}

// Accounts returns the account store.
func (s *Service) Accounts() store.Accounts { return s.acc }

// randomToken returns n random bytes, base64url encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// RandomPassword returns a random password of 24 characters.
func RandomPassword() string { return randomToken(18) }

// Bootstrap creates the admin user with password when no user exists. It
// reports whether it created one. An empty password is refused.
func (s *Service) Bootstrap(ctx context.Context, name, password string) (bool, error) {
	users, err := s.acc.Users(ctx)
	if err != nil {
		return false, fmt.Errorf("bootstrap admin: %w", err)
	}
	if len(users) > 0 {
		return false, nil
	}
	if err := s.CreateUser(ctx, name, password, store.RoleAdmin); err != nil {
		return false, fmt.Errorf("bootstrap admin: %w", err)
	}
	return true, nil
}

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 8

// CreateUser adds a user with a hashed password.
func (s *Service) CreateUser(ctx context.Context, name, password string, role store.Role) error {
	switch {
	case name == "" || len(name) > 64 || strings.ContainsAny(name, "/ \t\r\n"):
		return fmt.Errorf("user name %q: want 1-64 characters without spaces or '/': %w", name, store.ErrInvalid)
	case len(password) < MinPasswordLen:
		return fmt.Errorf("password of user %q: want at least %d characters: %w", name, MinPasswordLen, store.ErrInvalid)
	case !role.Valid():
		return fmt.Errorf("role %q: want admin or viewer: %w", role, store.ErrInvalid)
	}
	return s.acc.CreateUser(ctx, store.User{Name: name, Role: role, PasswordHash: HashPassword(password, s.cfg.Hash), Created: s.cfg.Now()})
}

// Login checks a user's password for client (its address, the rate limit
// key) and opens a session. It returns the session id (the cookie value)
// and the principal with its CSRF token.
func (s *Service) Login(ctx context.Context, client, name, password string) (string, Principal, error) {
	now := s.cfg.Now()
	s.mu.Lock()
	if f := s.fails[client]; f != nil && now.Sub(f.start) < s.cfg.FailureWindow && f.n >= s.cfg.MaxFailures {
		s.mu.Unlock()
		return "", Principal{}, ErrRateLimited
	}
	s.mu.Unlock()
	u, err := s.acc.User(ctx, name)
	ok := false
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Spend the same time as a real check, so timing does not tell
		// which names exist.
		_ = CheckPassword(dummyHash, password)
	case err != nil:
		return "", Principal{}, fmt.Errorf("login: %w", err)
	default:
		ok = CheckPassword(u.PasswordHash, password)
	}
	if !ok {
		s.mu.Lock()
		f := s.fails[client]
		if f == nil || now.Sub(f.start) >= s.cfg.FailureWindow {
			f = &failures{start: now}
			s.fails[client] = f
		}
		f.n++
		s.mu.Unlock()
		return "", Principal{}, ErrUnauthenticated
	}
	id := randomToken(32) // 256 bits
	p := Principal{Name: u.Name, Role: u.Role, CSRF: randomToken(32)}
	s.mu.Lock()
	delete(s.fails, client)
	s.gcLocked(now)
	s.sessions[sha256.Sum256([]byte(id))] = &session{p: p, created: now, used: now}
	s.mu.Unlock()
	return id, p, nil
}

// gcLocked drops expired sessions and failure records, at most once a
// minute.
func (s *Service) gcLocked(now time.Time) {
	if now.Sub(s.lastGC) < time.Minute {
		return
	}
	s.lastGC = now
	for k, ss := range s.sessions {
		if s.expired(ss, now) {
			delete(s.sessions, k)
		}
	}
	for k, f := range s.fails {
		if now.Sub(f.start) >= s.cfg.FailureWindow {
			delete(s.fails, k)
		}
	}
}

func (s *Service) expired(ss *session, now time.Time) bool {
	return now.Sub(ss.used) >= s.cfg.SessionTTL || now.Sub(ss.created) >= s.cfg.SessionMaxAge
}

// Session returns the principal of a session id, refreshing its idle
// timer, or ErrUnauthenticated. A deleted user's sessions are refused.
func (s *Service) Session(ctx context.Context, id string) (Principal, error) {
	if id == "" {
		return Principal{}, ErrUnauthenticated
	}
	k := sha256.Sum256([]byte(id))
	now := s.cfg.Now()
	s.mu.Lock()
	ss := s.sessions[k]
	if ss != nil && s.expired(ss, now) {
		delete(s.sessions, k)
		ss = nil
	}
	if ss != nil {
		ss.used = now
	}
	s.mu.Unlock()
	if ss == nil {
		return Principal{}, ErrUnauthenticated
	}
	u, err := s.acc.User(ctx, ss.p.Name)
	if errors.Is(err, store.ErrNotFound) {
		s.Logout(id)
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("session: %w", err)
	}
	p := ss.p
	p.Role = u.Role
	return p, nil
}

// Logout ends a session.
func (s *Service) Logout(id string) {
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	delete(s.sessions, k)
	s.mu.Unlock()
}

// CheckCSRF reports whether token is the CSRF token of p, in constant
// time.
func CheckCSRF(p Principal, token string) bool {
	return p.CSRF != "" && subtle.ConstantTimeCompare([]byte(p.CSRF), []byte(token)) == 1
}

// HashToken returns the stored form of an API token secret: hex SHA-256.
// API tokens carry 256 random bits, so a fast hash suffices.
func HashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// CreateToken creates an API token and returns it with its secret, which
// is not kept and cannot be shown again.
func (s *Service) CreateToken(ctx context.Context, name string, role store.Role) (store.Token, string, error) {
	if name == "" || len(name) > 128 {
		return store.Token{}, "", fmt.Errorf("token name %q: want 1-128 characters: %w", name, store.ErrInvalid)
	}
	if !role.Valid() {
		return store.Token{}, "", fmt.Errorf("role %q: want admin or viewer: %w", role, store.ErrInvalid)
	}
	secret := TokenPrefix + randomToken(32)
	idb := make([]byte, 8)
	_, _ = rand.Read(idb)
	t := store.Token{ID: hex.EncodeToString(idb), Name: name, Role: role, Hash: HashToken(secret), Created: s.cfg.Now().UTC()}
	if err := s.acc.CreateToken(ctx, t); err != nil {
		return store.Token{}, "", err
	}
	return t, secret, nil
}

// touchEvery is the least time between two last_used updates of a token.
const touchEvery = time.Minute

// Token returns the principal of an API token secret, or
// ErrUnauthenticated.
func (s *Service) Token(ctx context.Context, secret string) (Principal, error) {
	if !strings.HasPrefix(secret, TokenPrefix) {
		return Principal{}, ErrUnauthenticated
	}
	t, err := s.acc.TokenByHash(ctx, HashToken(secret))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("token: %w", err)
	}
	if now := s.cfg.Now(); now.Sub(t.LastUsed) >= touchEvery {
		if err := s.acc.TouchToken(ctx, t.ID, now); err != nil {
			return Principal{}, err
		}
	}
	return Principal{Name: t.Name, Role: t.Role, TokenID: t.ID}, nil
}

// HashParams are argon2id parameters.
type HashParams struct {
	Time    uint32 // iterations
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultHashParams follow OWASP's argon2id recommendation (19 MiB, 2
// iterations, 1 thread).
var DefaultHashParams = HashParams{Time: 2, Memory: 19 * 1024, Threads: 1}

// dummyHash is checked against when a user does not exist.
var dummyHash = HashPassword("vigil-dummy-password", DefaultHashParams)

// HashPassword returns the PHC string of password hashed with argon2id
// and a random 16-byte salt: $argon2id$v=19$m=M,t=T,p=P$SALT$HASH.
func HashPassword(password string, p HashParams) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// CheckPassword reports whether password matches encoded (see
// HashPassword), in constant time. A malformed encoding never matches.
func CheckPassword(encoded, password string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var p HashParams
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Time == 0 || p.Threads == 0 || p.Memory > 1<<22 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
