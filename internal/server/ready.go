package server

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

type readyCheck struct {
	name string
	fn   func() error
}

// AddReadyCheck registers a readiness check: GET /readyz answers 200 only
// while every check returns nil. fn runs on each probe, so it must be fast
// and safe for concurrent use. Adding a check under an existing name
// replaces it; a nil fn removes the check of that name. Checks report in
// the order they were first added.
func (s *Server) AddReadyCheck(name string, fn func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.checks, func(c readyCheck) bool { return c.name == name })
	switch {
	case fn == nil && i >= 0:
		s.checks = slices.Delete(s.checks, i, i+1)
	case fn == nil:
	case i >= 0:
		s.checks[i].fn = fn
	default:
		s.checks = append(s.checks, readyCheck{name: name, fn: fn})
	}
}

// handleHealthz serves GET /healthz: the process is up.
func (s *Server) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

// handleReadyz serves GET /readyz: 200 "ok" when every check passes, else
// 503 with one "name: reason" line per failing check.
func (s *Server) handleReadyz(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	checks := slices.Clone(s.checks)
	s.mu.Unlock()

	var failed []string
	if s.stopping.Load() {
		failed = append(failed, "server: shutting down")
	}
	for _, c := range checks {
		if err := runCheck(c.fn); err != nil {
			failed = append(failed, c.name+": "+strings.Join(strings.Fields(err.Error()), " "))
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if len(failed) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready:\n" + strings.Join(failed, "\n") + "\n"))
		return
	}
	_, _ = w.Write([]byte("ok"))
}

// runCheck runs fn, turning a panic into an error.
func runCheck(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("check panicked: %v", r)
		}
	}()
	return fn()
}
