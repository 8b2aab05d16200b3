// Package pgtest starts a throwaway PostgreSQL server for tests: initdb in
// a temporary directory, the server on a free loopback port with a
// password-protected superuser, torn down by Stop. As root, the server runs
// as the "postgres" user (PostgreSQL refuses to run as root).
//
// The binaries are looked up in $VIGIL_PG_BINDIR, then in
// /usr/lib/postgresql/<newest>/bin (Debian's postgresql package), then on
// PATH. Start returns ErrUnavailable when they are missing or cannot run;
// tests skip with its message.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrUnavailable is returned by Start when no PostgreSQL server can be run
// on this machine.
var ErrUnavailable = errors.New("postgresql server binaries unavailable")

// User is the superuser of the test server.
const User = "vigil"

// Server is a running test server.
type Server struct {
	dir      string // data directory (and socket directory)
	port     int
	password string
	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
	schemas  atomic.Int64
}

// binDir returns the directory holding initdb and postgres.
func binDir() (string, error) {
	if d := os.Getenv("VIGIL_PG_BINDIR"); d != "" {
		return d, nil
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
		sort.Slice(m, func(i, j int) bool { return version(m[i]) > version(m[j]) })
		return filepath.Dir(m[0]), nil
	}
	p, err := exec.LookPath("initdb")
	if err != nil {
		return "", fmt.Errorf("%w: no initdb in /usr/lib/postgresql/*/bin or on PATH (apt-get install postgresql)", ErrUnavailable)
	}
	return filepath.Dir(p), nil
}

// version returns the major version in /usr/lib/postgresql/<v>/bin/initdb.
func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// Start initializes and starts a server. Stop it with Stop.
func Start(ctx context.Context) (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("%w: running as root and no postgres user to run the server as: %w", ErrUnavailable, err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	dir, err := os.MkdirTemp("", "vigil-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("start test postgres: %w", err)
	}
	s := &Server{dir: dir, exited: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("start test postgres: %w", err)
		}
	}
	var pw [16]byte
	_, _ = rand.Read(pw[:])
	s.password = hex.EncodeToString(pw[:])
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(s.password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("start test postgres: %w", err)
	}
	if cred != nil {
		if err := os.Chown(pwfile, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("start test postgres: %w", err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", User,
		"--pwfile", pwfile, "--auth", "scram-sha-256", "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%w: initdb: %w\n%s", ErrUnavailable, err, out)
	}
	os.Remove(pwfile)
	for attempt := 0; ; attempt++ {
		err := s.startServer(ctx, bin, data, cred)
		if err == nil {
			break
		}
		if attempt == 2 {
			return nil, err
		}
	}
	ok = true
	return s, nil
}

// startServer runs postgres on a free port and waits until it accepts
// connections.
func (s *Server) startServer(ctx context.Context, bin, data string, cred *syscall.Credential) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start test postgres: free port: %w", err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	var logBuf bytes.Buffer
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+s.dir,
		"-c", "max_connections=200", "-c", "shared_buffers=128MB", "-c", "logging_collector=off")
	// The server dies with the test binary (SIGQUIT: immediate shutdown).
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	s.cmd.Stdout, s.cmd.Stderr = &logBuf, &logBuf
	s.cmd.Dir = s.dir
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("%w: postgres: %w", ErrUnavailable, err)
	}
	s.exited = make(chan struct{})
	go func() { s.waitErr = s.cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := pgx.Connect(ctx, s.DSN("postgres"))
		if err == nil {
			c.Close(ctx)
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%w: postgres exited: %v\n%s", ErrUnavailable, s.waitErr, logBuf.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.cmd.Process.Signal(syscall.SIGQUIT)
			<-s.exited
			return fmt.Errorf("start test postgres: not accepting connections after 30s: %w\n%s", err, logBuf.String())
		}
	}
}

// DSN returns a connection URL for database db as the superuser.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", User, s.password, s.port, db)
}

// Password returns the superuser's password (to check it is not logged).
func (s *Server) Password() string { return s.password }

// Exec runs SQL statements in database db.
func (s *Server) Exec(ctx context.Context, db, sql string) error {
	c, err := pgx.Connect(ctx, s.DSN(db))
	if err != nil {
		return fmt.Errorf("connect to test postgres: %w", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql); err != nil {
		return fmt.Errorf("test postgres: %s: %w", sql, err)
	}
	return nil
}

// CreateDatabase creates database name.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	return s.Exec(ctx, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
}

// Schema creates a new, empty schema in database db and returns a DSN whose
// search_path is that schema only, so that each test sees its own tables.
func (s *Server) Schema(t testing.TB, db string) string {
	t.Helper()
	name := fmt.Sprintf("t%d", s.schemas.Add(1))
	if err := s.Exec(context.Background(), db, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	return s.DSN(db) + "&search_path=" + name
}

// Stop shuts the server down (fast shutdown) and removes its directory.
func (s *Server) Stop() error {
	var err error
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Signal(syscall.SIGQUIT)
			<-s.exited
			err = errors.New("stop test postgres: no fast shutdown in 30s")
		}
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}
