package server

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/auth"
	"github.com/vigilsec/vigil/internal/store"
)

// APIStore is what the HTTP API reads and writes: the alert store with the
// API's queries (store/sqlite implements it).
type APIStore interface {
	store.Store
	store.AlertAPI
	store.Seriesser
}

// APIConfig configures the /api/v1 routes.
type APIConfig struct {
	// Store keeps alerts, assets and (with Auth) accounts.
	Store APIStore
	// Auth authenticates requests; nil turns authentication off: every
	// request acts as an admin named "anonymous".
	Auth *auth.Service
	// Version is reported by GET /api/v1/health.
	Version string
	// Sources reports the state of each event source for GET
	// /api/v1/health ("running", "off", "unavailable: why").
	Sources func() map[string]string
	// StreamPoll is how often GET /api/v1/alerts/stream looks for new
	// alerts; default 500ms.
	StreamPoll time.Duration
	// Actions runs response actions on alerts (POST
	// /api/v1/alerts/{id}/actions); nil answers 503.
	Actions AlertActioner
}

// API limits.
const (
	maxAPIBody      = 1 << 20 // JSON request bodies of /api/v1
	apiDefaultLimit = 100
	apiMaxLimit     = 500
	sessionCookie   = "vigil_session"
	csrfHeader      = "X-CSRF-Token"
	// maxSeriesBuckets bounds GET /api/v1/stats.
	maxSeriesBuckets = 10000
)

// principalKey keys the request's auth.Principal in its context.
type principalKey struct{}

// apiHandler is a handler of an authenticated route.
type apiHandler func(w http.ResponseWriter, r *http.Request, p auth.Principal)

type api struct {
	cfg   APIConfig
	s     *Server
	mitre *mitreIndex
}

// registerAPI adds the /api/v1 routes.
func (s *Server) registerAPI(cfg APIConfig) error {
	if cfg.Store == nil {
		return errors.New("server config: API without a store")
	}
	if cfg.StreamPoll <= 0 {
		cfg.StreamPoll = 500 * time.Millisecond
	}
	m, err := loadMITRE()
	if err != nil {
		return err
	}
	a := &api{cfg: cfg, s: s, mitre: m}
	s.mux.HandleFunc("POST /api/v1/login", a.login)
	for _, r := range []struct {
		pattern string
		admin   bool // admin only, even for GET
		h       apiHandler
	}{
		{"POST /api/v1/logout", false, a.logout},
		{"GET /api/v1/me", false, a.me},
		{"GET /api/v1/tokens", true, a.listTokens},
		{"POST /api/v1/tokens", true, a.createToken},
		{"DELETE /api/v1/tokens/{id}", true, a.deleteToken},
		{"GET /api/v1/users", true, a.listUsers},
		{"POST /api/v1/users", true, a.createUser},
		{"DELETE /api/v1/users/{name}", true, a.deleteUser},
		{"GET /api/v1/alerts", false, a.listAlerts},
		{"GET /api/v1/alerts/stream", false, a.stream},
		{"GET /api/v1/alerts/{id}", false, a.getAlert},
		{"POST /api/v1/alerts/{id}/status", true, a.setStatus},
		{"POST /api/v1/alerts/{id}/notes", true, a.addNote},
		{"POST /api/v1/alerts/{id}/actions", true, a.alertAction},
		{"GET /api/v1/stats", false, a.stats},
		{"GET /api/v1/assets/{kind}", false, a.listAssets},
		{"GET /api/v1/assets/{kind}/{id...}", false, a.getAsset},
		{"GET /api/v1/health", false, a.health},
	} {
		s.mux.Handle(r.pattern, a.authed(r.admin, r.h))
	}
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			r2 := r.Clone(r.Context())
			r2.Method = m
			if _, pat := s.mux.Handler(r2); pat != "/api/" {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path+" (allowed: "+strings.Join(allowed, ", ")+")")
			return
		}
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return nil
}

// anonymous is the principal of every request when authentication is off.
var anonymous = auth.Principal{Name: "anonymous", Role: store.RoleAdmin}

// principal authenticates r: a bearer API token, else the session cookie
// (with the CSRF header on state-changing methods). ok is false after an
// error reply.
func (a *api) principal(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	if a.cfg.Auth == nil {
		return anonymous, true
	}
	var (
		p   auth.Principal
		err error
	)
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			writeError(w, http.StatusUnauthorized, "Authorization header: want Bearer <api token>")
			return p, false
		}
		p, err = a.cfg.Auth.Token(r.Context(), strings.TrimSpace(tok))
	} else {
		c, cerr := r.Cookie(sessionCookie)
		if cerr != nil {
			writeError(w, http.StatusUnauthorized, "not logged in: log in at POST /api/v1/login or send Authorization: Bearer <api token>")
			return p, false
		}
		p, err = a.cfg.Auth.Session(r.Context(), c.Value)
		if err == nil && !safeMethod(r.Method) && !auth.CheckCSRF(p, r.Header.Get(csrfHeader)) {
			writeError(w, http.StatusForbidden, "missing or wrong "+csrfHeader+" header (the csrf_token of the session)")
			return p, false
		}
	}
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		writeError(w, http.StatusUnauthorized, "invalid or expired credentials")
		return p, false
	case err != nil:
		a.s.log.Error("authenticate", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "authenticate: internal error")
		return p, false
	}
	return p, true
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// authed wraps h with authentication and the role check: viewers may only
// GET, and admin routes are for admins.
func (a *api) authed(adminOnly bool, h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiHeaders(w)
		p, ok := a.principal(w, r)
		if !ok {
			return
		}
		// Logout is allowed to every role.
		if p.Role != store.RoleAdmin && (adminOnly || !safeMethod(r.Method)) && r.URL.Path != "/api/v1/logout" {
			writeError(w, http.StatusForbidden, fmt.Sprintf("role %s may not %s %s", p.Role, r.Method, r.URL.Path))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)), p)
	})
}

func apiHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}

// writeJSON replies with code and v as JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // a failed write means the client is gone
}

// writeError replies with {"error": msg}.
func writeError(w http.ResponseWriter, code int, msg string) {
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > maxErrMsg {
		msg = strings.ToValidUTF8(msg[:maxErrMsg], "") + "..."
	}
	apiHeaders(w)
	writeJSON(w, code, map[string]string{"error": msg})
}

// storeError replies to a store error: 404, 400, 409 or 500.
func (a *api) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	case r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "request cancelled")
	default:
		a.s.log.Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// decode reads a JSON body of at most maxAPIBody bytes into v, rejecting
// unknown fields. ok is false after an error reply (400 or 413).
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.ContentLength > maxAPIBody {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, maxAPIBody))
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON object")
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds the limit of %d bytes", maxAPIBody))
		return false
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("empty body: want a JSON object")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
		return false
	}
	return true
}

// clientKey is the rate-limit key of a request: the peer's IP address.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type loginReply struct {
	User string     `json:"user"`
	Role store.Role `json:"role"`
	CSRF string     `json:"csrf_token"`
}

func (a *api) login(w http.ResponseWriter, r *http.Request) {
	apiHeaders(w)
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !decode(w, r, &req) {
		return
	}
	if a.cfg.Auth == nil {
		writeJSON(w, http.StatusOK, loginReply{User: anonymous.Name, Role: anonymous.Role})
		return
	}
	id, p, err := a.cfg.Auth.Login(r.Context(), clientKey(r), req.Username, req.Password)
	switch {
	case errors.Is(err, auth.ErrRateLimited):
		a.s.log.Warn("login rate limited", "client", clientKey(r))
		writeError(w, http.StatusTooManyRequests, err.Error())
		return
	case errors.Is(err, auth.ErrUnauthenticated):
		a.s.log.Info("login failed", "client", clientKey(r), "user", req.Username)
		writeError(w, http.StatusUnauthorized, "wrong user name or password")
		return
	case err != nil:
		a.storeError(w, r, err)
		return
	}
	a.s.log.Info("login", "client", clientKey(r), "user", p.Name)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, loginReply{User: p.Name, Role: p.Role, CSRF: p.CSRF})
}

func (a *api) logout(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	if c, err := r.Cookie(sessionCookie); err == nil && a.cfg.Auth != nil {
		a.cfg.Auth.Logout(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) me(w http.ResponseWriter, _ *http.Request, p auth.Principal) {
	writeJSON(w, http.StatusOK, loginReply{User: p.Name, Role: p.Role, CSRF: p.CSRF})
}

type tokenJSON struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Role     store.Role `json:"role"`
	Created  string     `json:"created"`
	LastUsed *string    `json:"last_used"`
}

func (a *api) accounts(w http.ResponseWriter) (*auth.Service, bool) {
	if a.cfg.Auth == nil {
		writeError(w, http.StatusNotFound, "authentication is off: no users or tokens")
		return nil, false
	}
	return a.cfg.Auth, true
}

func (a *api) listTokens(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	au, ok := a.accounts(w)
	if !ok {
		return
	}
	toks, err := au.Accounts().Tokens(r.Context())
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	items := make([]tokenJSON, len(toks))
	for i, t := range toks {
		items[i] = tokenJSON{ID: t.ID, Name: t.Name, Role: t.Role, Created: fmtTime(t.Created)}
		if !t.LastUsed.IsZero() {
			s := fmtTime(t.LastUsed)
			items[i].LastUsed = &s
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (a *api) createToken(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	au, ok := a.accounts(w)
	if !ok {
		return
	}
	var req struct {
		Name string     `json:"name"`
		Role store.Role `json:"role"`
	}
	if !decode(w, r, &req) {
		return
	}
	t, secret, err := au.CreateToken(r.Context(), req.Name, req.Role)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	a.s.log.Info("api token created", "by", p.Name, "token_id", t.ID, "token_name", t.Name, "role", t.Role)
	writeJSON(w, http.StatusCreated, map[string]any{"id": t.ID, "name": t.Name, "role": t.Role, "token": secret})
}

func (a *api) deleteToken(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	au, ok := a.accounts(w)
	if !ok {
		return
	}
	if err := au.Accounts().DeleteToken(r.Context(), r.PathValue("id")); err != nil {
		a.storeError(w, r, err)
		return
	}
	a.s.log.Info("api token deleted", "by", p.Name, "token_id", r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) listUsers(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	au, ok := a.accounts(w)
	if !ok {
		return
	}
	users, err := au.Accounts().Users(r.Context())
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	type userJSON struct {
		Username string     `json:"username"`
		Role     store.Role `json:"role"`
		Created  string     `json:"created"`
	}
	items := make([]userJSON, len(users))
	for i, u := range users {
		items[i] = userJSON{u.Name, u.Role, fmtTime(u.Created)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (a *api) createUser(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	au, ok := a.accounts(w)
	if !ok {
		return
	}
	var req struct {
		Username string     `json:"username"`
		Password string     `json:"password"`
		Role     store.Role `json:"role"`
	}
	if !decode(w, r, &req) {
		return
	}
	if err := au.CreateUser(r.Context(), req.Username, req.Password, req.Role); err != nil {
		a.storeError(w, r, err)
		return
	}
	a.s.log.Info("user created", "by", p.Name, "user", req.Username, "role", req.Role)
	writeJSON(w, http.StatusCreated, map[string]any{"username": req.Username, "role": req.Role})
}

func (a *api) deleteUser(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	au, ok := a.accounts(w)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if name == p.Name && p.TokenID == "" {
		writeError(w, http.StatusConflict, "a user cannot delete itself")
		return
	}
	if err := au.Accounts().DeleteUser(r.Context(), name); err != nil {
		a.storeError(w, r, err)
		return
	}
	a.s.log.Info("user deleted", "by", p.Name, "user", name)
	w.WriteHeader(http.StatusNoContent)
}

// timeLayout is RFC 3339 UTC with nine fractional digits.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// alertJSON is the API's Alert.
type alertJSON struct {
	ID           int64          `json:"id"`
	Time         string         `json:"time"`
	Rule         string         `json:"rule"`
	Priority     string         `json:"priority"`
	Source       string         `json:"source"`
	Output       string         `json:"output"`
	OutputFields map[string]any `json:"output_fields"`
	Tags         []string       `json:"tags"`
	Hostname     string         `json:"hostname"`
	Container    string         `json:"container"`
	Image        string         `json:"image"`
	Namespace    string         `json:"namespace"`
	Pod          string         `json:"pod"`
	Node         string         `json:"node"`
	Status       store.Status   `json:"status"`
	Note         string         `json:"note"`
	Count        int64          `json:"count"`
}

func toJSON(a *store.StoredAlert) alertJSON {
	j := alertJSON{ID: a.ID, Time: fmtTime(a.Time), Rule: a.Rule, Priority: a.Priority, Source: a.Source,
		Output: a.Output, OutputFields: a.OutputFields, Tags: a.Tags, Hostname: a.Hostname, Container: a.Container,
		Image: a.Image, Namespace: a.Namespace, Pod: a.Pod, Node: a.Node, Status: a.Status, Note: a.Note, Count: a.Count}
	if j.OutputFields == nil {
		j.OutputFields = map[string]any{}
	}
	if j.Tags == nil {
		j.Tags = []string{}
	}
	return j
}

// encodeCursor makes the opaque cursor of c.
func encodeCursor(c *store.Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Time.UnixNano(), 10) + ":" + strconv.FormatInt(c.ID, 10)))
}

func decodeCursor(s string) (*store.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("cursor: not a cursor from next_cursor")
	}
	ts, id, ok := strings.Cut(string(b), ":")
	t, err1 := strconv.ParseInt(ts, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return nil, errors.New("cursor: not a cursor from next_cursor")
	}
	return &store.Cursor{Time: time.Unix(0, t), ID: n}, nil
}

// parseTime reads an RFC 3339 query parameter.
func parseTime(q map[string][]string, name string) (time.Time, error) {
	v := firstValue(q, name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, fmt.Errorf("parameter %s=%q: want an RFC 3339 time such as 2025-01-02T15:04:05Z", name, v)
	}
	return t, nil
}

func firstValue(q map[string][]string, name string) string {
	if v := q[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// parseFilter reads the query parameters of GET /api/v1/alerts.
func parseFilter(r *http.Request) (store.Filter, error) {
	q := r.URL.Query()
	known := map[string]bool{"since": true, "until": true, "rule": true, "priority": true, "min_priority": true,
		"container": true, "namespace": true, "pod": true, "status": true, "q": true, "limit": true, "cursor": true}
	for k := range q {
		if !known[k] {
			return store.Filter{}, fmt.Errorf("unknown parameter %q", k)
		}
	}
	var f store.Filter
	var err error
	if f.Since, err = parseTime(q, "since"); err != nil {
		return f, err
	}
	if f.Until, err = parseTime(q, "until"); err != nil {
		return f, err
	}
	f.Rules = q["rule"]
	f.Priority = firstValue(q, "priority")
	if f.Priority != "" {
		if _, ok := store.PriorityRank(f.Priority); !ok {
			return f, fmt.Errorf("parameter priority=%q: not a Falco priority", f.Priority)
		}
	}
	f.MinPriority = firstValue(q, "min_priority")
	if f.MinPriority != "" {
		if _, ok := store.PriorityRank(f.MinPriority); !ok {
			return f, fmt.Errorf("parameter min_priority=%q: not a Falco priority", f.MinPriority)
		}
	}
	f.Container, f.Namespace, f.Pod, f.Text = firstValue(q, "container"), firstValue(q, "namespace"), firstValue(q, "pod"), firstValue(q, "q")
	for _, v := range q["status"] {
		for s := range strings.SplitSeq(v, ",") {
			st := store.Status(s)
			if !st.Valid() {
				return f, fmt.Errorf("parameter status=%q: want open, acknowledged or resolved", s)
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	f.Limit = apiDefaultLimit
	if v := firstValue(q, "limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > apiMaxLimit {
			return f, fmt.Errorf("parameter limit=%q: want 1 to %d", v, apiMaxLimit)
		}
		f.Limit = n
	}
	if v := firstValue(q, "cursor"); v != "" {
		if f.After, err = decodeCursor(v); err != nil {
			return f, err
		}
	}
	return f, nil
}

func (a *api) listAlerts(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	f, err := parseFilter(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	page, err := a.cfg.Store.List(r.Context(), f)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	items := make([]alertJSON, len(page.Alerts))
	for i := range page.Alerts {
		items[i] = toJSON(&page.Alerts[i])
	}
	var next *string
	if page.Next != nil {
		c := encodeCursor(page.Next)
		next = &c
	}
	writeJSON(w, http.StatusOK, struct {
		Items []alertJSON `json:"items"`
		Next  *string     `json:"next_cursor"`
	}{items, next})
}

func alertID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("alert id %q: want a positive integer", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

type procJSON struct {
	PID         int64  `json:"pid"`
	PPID        int64  `json:"ppid"`
	Exe         string `json:"exe"`
	Cmdline     string `json:"cmdline"`
	User        string `json:"user"`
	UID         uint32 `json:"uid"`
	StartTime   string `json:"start_time"`
	ContainerID string `json:"container_id"`
}

func procToJSON(p alert.Proc) procJSON {
	return procJSON{PID: p.PID, PPID: p.PPID, Exe: p.Exe, Cmdline: p.Cmdline, User: p.User, UID: p.UID,
		StartTime: fmtTime(p.StartTime), ContainerID: p.ContainerID}
}

func procsToJSON(ps []alert.Proc) []procJSON {
	out := make([]procJSON, len(ps))
	for i, p := range ps {
		out[i] = procToJSON(p)
	}
	return out
}

type timelineJSON struct {
	Time  string `json:"time"`
	Kind  string `json:"kind"`
	Actor string `json:"actor"`
	Text  string `json:"text"`
}

func (a *api) getAlert(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	id, ok := alertID(w, r)
	if !ok {
		return
	}
	d, err := a.cfg.Store.Detail(r.Context(), id)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	type provenanceJSON struct {
		Process   procJSON   `json:"process"`
		Ancestors []procJSON `json:"ancestors"`
		Children  []procJSON `json:"children"`
	}
	out := struct {
		alertJSON
		Provenance    *provenanceJSON      `json:"provenance"`
		ContainerInfo *alert.ContainerInfo `json:"container_info"`
		MITRE         []Technique          `json:"mitre"`
		Timeline      []timelineJSON       `json:"timeline"`
	}{alertJSON: toJSON(&d.StoredAlert), MITRE: a.mitre.lookup(d.Tags)}
	if d.Context != nil {
		if pv := d.Context.Provenance; pv != nil {
			out.Provenance = &provenanceJSON{Process: procToJSON(pv.Process), Ancestors: procsToJSON(pv.Ancestors), Children: procsToJSON(d.Children)}
		}
		out.ContainerInfo = d.Context.Container
	}
	for _, e := range d.Timeline {
		out.Timeline = append(out.Timeline, timelineJSON{fmtTime(e.Time), e.Kind, e.Actor, e.Text})
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) setStatus(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := alertID(w, r)
	if !ok {
		return
	}
	var req struct {
		Status store.Status `json:"status"`
		Note   string       `json:"note"`
	}
	if !decode(w, r, &req) {
		return
	}
	if !req.Status.Valid() {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("status %q: want open, acknowledged or resolved", req.Status))
		return
	}
	al, err := a.cfg.Store.UpdateStatus(r.Context(), id, req.Status, req.Note, p.Name)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toJSON(&al))
}

// maxNote bounds a note's length.
const maxNote = 64 << 10

func (a *api) addNote(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id, ok := alertID(w, r)
	if !ok {
		return
	}
	var req struct {
		Text string `json:"text"`
	}
	if !decode(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Text) == "" || len(req.Text) > maxNote {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("text: want 1 to %d bytes", maxNote))
		return
	}
	e := store.TimelineEntry{Time: time.Now(), Kind: store.KindNote, Actor: p.Name, Text: req.Text}
	if err := a.cfg.Store.AddTimeline(r.Context(), id, e); err != nil {
		a.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, timelineJSON{fmtTime(e.Time), e.Kind, e.Actor, e.Text})
}

// stream serves GET /api/v1/alerts/stream: Server-Sent Events, one "alert"
// event per alert stored after the request started, polling the store.
func (a *api) stream(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	ctx := r.Context()
	last, err := a.cfg.Store.LastID(ctx)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write([]byte(": vigil alert stream\n\n")) {
		return
	}
	poll := time.NewTicker(a.cfg.StreamPoll)
	defer poll.Stop()
	lastWrite := time.Now()
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-poll.C:
			alerts, err := a.cfg.Store.After(ctx, last, 500)
			if err != nil {
				if ctx.Err() == nil {
					a.s.log.Error("alert stream", "err", err)
				}
				return
			}
			for i := range alerts {
				js, err := json.Marshal(toJSON(&alerts[i]))
				if err != nil {
					a.s.log.Error("alert stream: encode", "alert_id", alerts[i].ID, "err", err)
					continue
				}
				buf = append(append(append(buf[:0], "event: alert\nid: "...), strconv.FormatInt(alerts[i].ID, 10)...), "\ndata: "...)
				buf = append(append(buf, js...), "\n\n"...)
				if !write(buf) {
					return
				}
				last, lastWrite = alerts[i].ID, now
			}
			if now.Sub(lastWrite) > 15*time.Second {
				if !write([]byte(": keep-alive\n\n")) {
					return
				}
				lastWrite = now
			}
		}
	}
}

func (a *api) stats(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	q := r.URL.Query()
	since, err := parseTime(q, "since")
	if err == nil {
		var until time.Time
		until, err = parseTime(q, "until")
		if err == nil {
			a.statsFor(w, r, since, until, firstValue(q, "bucket"))
			return
		}
	}
	writeError(w, http.StatusBadRequest, err.Error())
}

func (a *api) statsFor(w http.ResponseWriter, r *http.Request, since, until time.Time, bucketParam string) {
	if until.IsZero() {
		until = time.Now()
	}
	if since.IsZero() {
		since = until.Add(-24 * time.Hour)
	}
	if !since.Before(until) {
		writeError(w, http.StatusBadRequest, "parameters since and until: since must be before until")
		return
	}
	bucket := time.Hour
	if bucketParam != "" {
		d, err := time.ParseDuration(bucketParam)
		if err != nil || d < time.Second {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("parameter bucket=%q: want a duration of at least 1s, such as 5m or 1h", bucketParam))
			return
		}
		bucket = d
	}
	if until.Sub(since)/bucket > maxSeriesBuckets {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("parameters since, until and bucket give more than %d buckets", maxSeriesBuckets))
		return
	}
	st, err := a.cfg.Store.Stats(r.Context(), since, until)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	series, err := a.cfg.Store.Series(r.Context(), since, until, bucket)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	type point struct {
		Time       string           `json:"time"`
		ByPriority map[string]int64 `json:"by_priority"`
	}
	pts := make([]point, len(series))
	for i, p := range series {
		pts[i] = point{fmtTime(p.Time), p.ByPriority}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": st.Total, "by_priority": st.ByPriority, "by_rule": st.ByRule,
		"by_namespace": st.ByNamespace, "series": pts})
}

type assetJSON struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Kind       string         `json:"kind"`
	FirstSeen  string         `json:"first_seen"`
	LastSeen   string         `json:"last_seen"`
	Attributes map[string]any `json:"attributes"`
	Alerts     int64          `json:"alerts"`
}

func assetToJSON(a store.Asset) assetJSON {
	if a.Attributes == nil {
		a.Attributes = map[string]any{}
	}
	return assetJSON{a.ID, a.Name, a.Kind, fmtTime(a.FirstSeen), fmtTime(a.LastSeen), a.Attributes, a.Alerts}
}

func assetKind(w http.ResponseWriter, r *http.Request) (string, bool) {
	k := r.PathValue("kind")
	if !store.ValidAssetKind(k) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("asset kind %q: want hosts, containers, images or pods", k))
		return "", false
	}
	return k, true
}

func (a *api) listAssets(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	kind, ok := assetKind(w, r)
	if !ok {
		return
	}
	list, err := a.cfg.Store.Assets(r.Context(), kind)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	items := make([]assetJSON, len(list))
	for i, as := range list {
		items[i] = assetToJSON(as)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (a *api) getAsset(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	kind, ok := assetKind(w, r)
	if !ok {
		return
	}
	as, err := a.cfg.Store.Asset(r.Context(), kind, r.PathValue("id"))
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, assetToJSON(as))
}

func (a *api) health(w http.ResponseWriter, r *http.Request, _ auth.Principal) {
	sources := map[string]string{}
	if a.cfg.Sources != nil {
		sources = a.cfg.Sources()
	}
	st := "ok"
	if _, err := a.cfg.Store.LastID(r.Context()); err != nil {
		st = "error: " + err.Error()
	}
	status := "ok"
	if st != "ok" {
		status = "degraded"
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": status, "version": a.cfg.Version, "sources": sources, "store": st})
}

// checkBearer reports whether r carries "Authorization: Bearer want", in
// constant time.
func checkBearer(r *http.Request, want string) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && want != "" && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(want)) == 1
}
