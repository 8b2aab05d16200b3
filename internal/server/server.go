// Package server is the HTTP server of `vigil run`: the kube-apiserver
// audit webhook (POST /k8s-audit), liveness (GET /healthz) and readiness
// (GET /readyz) probes, and room for more routes through Handle.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	DefaultAddr              = "127.0.0.1:9765"
	DefaultMaxBodyBytes      = 32 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = time.Minute
	DefaultWriteTimeout      = time.Minute
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultShutdownTimeout   = 10 * time.Second
)

// Config configures a Server. Zero fields take their defaults.
type Config struct {
	// Addr is the TCP address to listen on, host:port. Default
	// DefaultAddr; port 0 picks a free port (see Listen).
	Addr string
	// MaxBodyBytes is the largest request body accepted; larger ones get
	// 413. Default DefaultMaxBodyBytes (32 MiB).
	MaxBodyBytes int64
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are
	// those of http.Server.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests once the
	// serving context is cancelled; then connections are closed.
	ShutdownTimeout time.Duration
	// Logger receives server logs. Default: discard.
	Logger *slog.Logger

	// API, when set, serves the HTTP API under /api/v1 (see api.go).
	API *APIConfig
	// Console, when set, serves the web console at / (package web).
	// TODO(console): cmd wiring passes web.Handler() once web/embed.go
	// exists.
	Console http.Handler
	// Metrics, when set, is served at GET /metrics: behind the API's
	// authentication when it is on, or to a request bearing MetricsToken.
	Metrics      http.Handler
	MetricsToken string
	// TLS, when set, serves HTTPS. With ClientCAs and a ClientAuth that
	// verifies given certificates, a verified client certificate
	// authenticates POST /k8s-audit.
	TLS *tls.Config
	// AuditToken, when set, lets POST /k8s-audit requests bearing
	// "Authorization: Bearer AuditToken" in. When AuditToken or client
	// certificates are configured, requests with neither get 401.
	AuditToken string
}

// Server is the HTTP server of `vigil run`. Create it with New.
type Server struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	ingester AuditIngester
	bufs     sync.Pool // *bytes.Buffer for audit bodies

	mu       sync.Mutex // guards checks, ln and serving
	checks   []readyCheck
	ln       net.Listener
	serving  bool
	stopping atomic.Bool // set once shutdown begins; /readyz then fails
}

// New validates cfg, fills in defaults and returns a server with its
// routes registered. ingester handles POST /k8s-audit; if it is nil that
// route is not registered.
func New(cfg Config, ingester AuditIngester) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("server config: addr %q: %w", cfg.Addr, err)
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("server config: negative max body bytes %d", cfg.MaxBodyBytes)
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"read header timeout", &cfg.ReadHeaderTimeout, DefaultReadHeaderTimeout},
		{"read timeout", &cfg.ReadTimeout, DefaultReadTimeout},
		{"write timeout", &cfg.WriteTimeout, DefaultWriteTimeout},
		{"idle timeout", &cfg.IdleTimeout, DefaultIdleTimeout},
		{"shutdown timeout", &cfg.ShutdownTimeout, DefaultShutdownTimeout},
	} {
		if *d.v < 0 {
			return nil, fmt.Errorf("server config: negative %s %s", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "server"),
		mux:      http.NewServeMux(),
		ingester: ingester,
	}
	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)
	if ingester != nil {
		s.mux.HandleFunc("POST /k8s-audit", s.auditAuth(s.handleAudit))
		// Other methods get 405, not the console's "/" route.
		s.mux.HandleFunc("/k8s-audit", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Allow", "POST")
			httpError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		})
	}
	if cfg.API != nil {
		if err := s.registerAPI(*cfg.API); err != nil {
			return nil, err
		}
	}
	if cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", s.metricsAuth(cfg.Metrics))
	}
	if cfg.Console != nil {
		// "/" with a method check: "GET /" would conflict with "/api/".
		console := cfg.Console
		s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				httpError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed")
				return
			}
			console.ServeHTTP(w, r)
		})
	}
	return s, nil
}

// auditAuth protects the audit webhook with the bearer token and client
// certificates configured, if any.
func (s *Server) auditAuth(h http.HandlerFunc) http.HandlerFunc {
	mtls := s.cfg.TLS != nil && s.cfg.TLS.ClientCAs != nil
	if s.cfg.AuditToken == "" && !mtls {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if (s.cfg.AuditToken != "" && checkBearer(r, s.cfg.AuditToken)) ||
			(mtls && r.TLS != nil && len(r.TLS.VerifiedChains) > 0) {
			h(w, r)
			return
		}
		s.log.Warn("audit webhook request refused: no valid token or client certificate", "remote", r.RemoteAddr)
		httpError(w, http.StatusUnauthorized, "audit webhook: missing or invalid bearer token or client certificate")
	}
}

// metricsAuth lets a request with the metrics token in, else applies the
// API's authentication (any role) when it is on.
func (s *Server) metricsAuth(h http.Handler) http.Handler {
	if s.cfg.API == nil || s.cfg.API.Auth == nil {
		if s.cfg.MetricsToken == "" {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !checkBearer(r, s.cfg.MetricsToken) {
				httpError(w, http.StatusUnauthorized, "metrics: missing or invalid bearer token")
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	a := &api{cfg: *s.cfg.API, s: s}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.MetricsToken != "" && checkBearer(r, s.cfg.MetricsToken) {
			h.ServeHTTP(w, r)
			return
		}
		if _, ok := a.principal(w, r); ok {
			h.ServeHTTP(w, r)
		}
	})
}

// Config returns the configuration in effect, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Handler returns the server's routes, for tests and for embedding in
// another server.
func (s *Server) Handler() http.Handler { return s.mux }

// Handle registers h for pattern, a Go 1.22 ServeMux pattern such as
// "GET /api/v1/alerts". It returns an error, instead of panicking like
// http.ServeMux, for an invalid pattern, a nil handler or a pattern that
// conflicts with a registered one. It may be called while serving.
func (s *Server) Handle(pattern string, h http.Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("register route %q: %v", pattern, r)
		}
	}()
	s.mux.Handle(pattern, h)
	return nil
}

// Listen binds the configured address and returns the bound address,
// which tells the port chosen for port 0. Call Serve next.
func (s *Server) Listen(ctx context.Context) (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil, fmt.Errorf("listen %s: already listening on %s", s.cfg.Addr, s.ln.Addr())
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	return ln.Addr(), nil
}

// Addr returns the bound address, or nil before Listen.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// ListenAndServe binds the configured address and serves until ctx is
// cancelled (see Serve).
func (s *Server) ListenAndServe(ctx context.Context) error {
	if _, err := s.Listen(ctx); err != nil {
		return err
	}
	return s.Serve(ctx)
}

// Serve serves on the listener bound by Listen until ctx is cancelled,
// then shuts down gracefully: it stops accepting connections, fails
// /readyz, and waits up to ShutdownTimeout for in-flight requests before
// closing the remaining connections. It returns nil after a graceful
// shutdown and an error if serving fails or the shutdown times out. A
// server serves once.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	ln, serving := s.ln, s.serving
	if ln != nil {
		s.serving = true
	}
	s.mu.Unlock()
	if ln == nil {
		return errors.New("serve: Listen not called")
	}
	if serving {
		return fmt.Errorf("serve %s: already served", ln.Addr())
	}
	addr := ln.Addr().String()
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if s.cfg.TLS != nil {
		srv.TLSConfig = s.cfg.TLS
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("serving", "addr", addr)

	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", addr, err)
	case <-ctx.Done():
	}
	s.stopping.Store(true)
	s.log.Info("shutting down", "addr", addr, "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close() // the error is Shutdown's, reported below
		<-errc
		return fmt.Errorf("shut down %s: %w", addr, err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", addr, err)
	}
	return nil
}
