// Package fakeapi is a FAKE of the Vigil HTTP API v1 (the contract in
// docs/console.md): in-memory users, sessions, alerts, assets and stats,
// seeded with made-up data. It exists only to develop the console and to
// test the console in a browser without a running `vigil run`; the real
// API lives in internal/server and the final browser test runs against it.
package fakeapi

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Alert is an alert of the API (list item).
type Alert struct {
	ID           int64          `json:"id"`
	Time         time.Time      `json:"time"`
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
	Status       string         `json:"status"`
	Note         string         `json:"note"`
	Count        int            `json:"count"`
}

// Proc is a process of an alert's provenance.
type Proc struct {
	PID         int       `json:"pid"`
	PPID        int       `json:"ppid"`
	Exe         string    `json:"exe"`
	Cmdline     string    `json:"cmdline"`
	User        string    `json:"user"`
	UID         int       `json:"uid"`
	StartTime   time.Time `json:"start_time"`
	ContainerID string    `json:"container_id"`
}

// Provenance is the process tree of an alert.
type Provenance struct {
	Process   Proc   `json:"process"`
	Ancestors []Proc `json:"ancestors"`
	Children  []Proc `json:"children"`
}

// TimelineEntry is an event in an alert's history.
type TimelineEntry struct {
	Time  time.Time `json:"time"`
	Kind  string    `json:"kind"`
	Actor string    `json:"actor"`
	Text  string    `json:"text"`
}

type record struct {
	Alert
	prov     *Provenance
	timeline []TimelineEntry
}

type session struct {
	user, role, csrf string
}

// API is the fake. Create it with New; it is an http.Handler of the
// /api/v1 routes.
type API struct {
	mux *http.ServeMux

	mu       sync.Mutex
	users    map[string][2]string // name → password, role
	sessions map[string]session   // cookie → session
	alerts   []*record            // by id ascending
	subs     map[chan []byte]struct{}
	now      func() time.Time
}

// New returns a fake holding the users (name → password, role "admin" or
// "viewer") and, when seed is true, a week of made-up alerts.
func New(users map[string][2]string, seed bool) *API {
	a := &API{mux: http.NewServeMux(), users: users, sessions: map[string]session{}, subs: map[chan []byte]struct{}{}, now: time.Now}
	if seed {
		a.seed()
	}
	m := a.mux
	m.HandleFunc("POST /api/v1/login", a.login)
	m.HandleFunc("POST /api/v1/logout", a.logout)
	m.HandleFunc("GET /api/v1/me", a.auth("", a.me))
	m.HandleFunc("GET /api/v1/health", a.auth("", a.health))
	m.HandleFunc("GET /api/v1/alerts", a.auth("", a.list))
	m.HandleFunc("GET /api/v1/alerts/stream", a.auth("", a.stream))
	m.HandleFunc("GET /api/v1/alerts/{id}", a.auth("", a.detail))
	m.HandleFunc("POST /api/v1/alerts/{id}/status", a.auth("admin", a.setStatus))
	m.HandleFunc("POST /api/v1/alerts/{id}/notes", a.auth("admin", a.addNote))
	m.HandleFunc("GET /api/v1/stats", a.auth("", a.stats))
	m.HandleFunc("GET /api/v1/assets/{kind}", a.auth("", a.assets))
	m.HandleFunc("GET /api/v1/assets/{kind}/{id...}", a.auth("", a.asset))
	return a
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func token() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	var req struct{ Username, Password string }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, 400, "login: malformed JSON: "+err.Error())
		return
	}
	a.mu.Lock()
	u, ok := a.users[req.Username]
	if !ok || u[0] != req.Password {
		a.mu.Unlock()
		fail(w, 401, "wrong user name or password")
		return
	}
	s := session{user: req.Username, role: u[1], csrf: token()}
	id := token()
	a.sessions[id] = s
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "vigil_session", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	writeJSON(w, 200, map[string]string{"user": s.user, "role": s.role, "csrf_token": s.csrf})
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie("vigil_session"); err == nil {
		a.mu.Lock()
		delete(a.sessions, c.Value)
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: "vigil_session", Value: "", Path: "/", MaxAge: -1})
	w.WriteHeader(204)
}

// auth checks the session cookie, the CSRF header of mutations and the role.
func (a *API) auth(role string, h func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("vigil_session")
		if err != nil {
			fail(w, 401, "not logged in")
			return
		}
		a.mu.Lock()
		s, ok := a.sessions[c.Value]
		a.mu.Unlock()
		if !ok {
			fail(w, 401, "session expired")
			return
		}
		if r.Method != http.MethodGet && r.Header.Get("X-CSRF-Token") != s.csrf {
			fail(w, 403, "missing or wrong X-CSRF-Token")
			return
		}
		if role == "admin" && s.role != "admin" {
			fail(w, 403, "this needs the admin role")
			return
		}
		h(w, r, s)
	}
}

func (a *API) me(w http.ResponseWriter, _ *http.Request, s session) {
	writeJSON(w, 200, map[string]string{"user": s.user, "role": s.role, "csrf_token": s.csrf})
}

func (a *API) health(w http.ResponseWriter, _ *http.Request, _ session) {
	writeJSON(w, 200, map[string]any{"status": "ok", "version": "fake", "store": "ok",
		"sources": map[string]string{"syscall": "running", "k8s_audit": "running"}})
}

var prioRank = map[string]int{"emergency": 0, "alert": 1, "critical": 2, "error": 3, "warning": 4, "notice": 5, "informational": 6, "info": 6, "debug": 7}

func (a *API) list(w http.ResponseWriter, r *http.Request, _ session) {
	q := r.URL.Query()
	var since, until time.Time
	for _, p := range []struct {
		k string
		t *time.Time
	}{{"since", &since}, {"until", &until}} {
		if v := q.Get(p.k); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				fail(w, 400, fmt.Sprintf("parameter %s: %v", p.k, err))
				return
			}
			*p.t = t
		}
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			fail(w, 400, "parameter limit: want 1 to 500")
			return
		}
		limit = n
	}
	minRank := 99
	if v := q.Get("min_priority"); v != "" {
		r, ok := prioRank[strings.ToLower(v)]
		if !ok {
			fail(w, 400, "parameter min_priority: unknown priority "+v)
			return
		}
		minRank = r
	}
	after := int64(1 << 62)
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			fail(w, 400, "parameter cursor: malformed")
			return
		}
		after = n
	}
	text := strings.ToLower(q.Get("q"))
	a.mu.Lock()
	defer a.mu.Unlock()
	items := []Alert{}
	var next *string
	for i := len(a.alerts) - 1; i >= 0; i-- {
		al := a.alerts[i].Alert
		if al.ID >= after || !since.IsZero() && al.Time.Before(since) || !until.IsZero() && !al.Time.Before(until) ||
			q.Get("rule") != "" && al.Rule != q.Get("rule") || q.Get("priority") != "" && !strings.EqualFold(al.Priority, q.Get("priority")) ||
			prioRank[strings.ToLower(al.Priority)] > minRank ||
			q.Get("container") != "" && al.Container != q.Get("container") || q.Get("namespace") != "" && al.Namespace != q.Get("namespace") ||
			q.Get("pod") != "" && al.Pod != q.Get("pod") || q.Get("status") != "" && al.Status != q.Get("status") ||
			text != "" && !strings.Contains(strings.ToLower(al.Rule), text) && !strings.Contains(strings.ToLower(al.Output), text) {
			continue
		}
		if len(items) == limit {
			c := strconv.FormatInt(items[len(items)-1].ID, 10)
			next = &c
			break
		}
		items = append(items, al)
	}
	writeJSON(w, 200, map[string]any{"items": items, "next_cursor": next})
}

func (a *API) find(w http.ResponseWriter, r *http.Request) *record {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, 400, "alert id: not a number")
		return nil
	}
	for _, rec := range a.alerts {
		if rec.ID == id {
			return rec
		}
	}
	fail(w, 404, fmt.Sprintf("alert %d not found", id))
	return nil
}

var mitre = map[string][2]string{
	"T1609":     {"Container Administration Command", "execution"},
	"T1611":     {"Escape to Host", "privilege-escalation"},
	"T1552.007": {"Container API", "credential-access"},
	"T1613":     {"Container and Resource Discovery", "discovery"},
	"T1059":     {"Command and Scripting Interpreter", "execution"},
	"T1105":     {"Ingress Tool Transfer", "command-and-control"},
	"T1098":     {"Account Manipulation", "persistence"},
}

func (a *API) detail(w http.ResponseWriter, r *http.Request, _ session) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rec := a.find(w, r)
	if rec == nil {
		return
	}
	ms := []map[string]string{}
	for _, t := range rec.Tags {
		if m, ok := mitre[t]; ok {
			ms = append(ms, map[string]string{"id": t, "name": m[0], "tactic": m[1]})
		}
	}
	var ci any
	if rec.Container != "" {
		ci = map[string]any{"id": rec.Container, "name": rec.Pod + "-app", "image": rec.Image, "image_digest": "sha256:" + strings.Repeat("3f9a", 16),
			"runtime": "containerd", "labels": map[string]string{"app": "web", "io.kubernetes.pod.namespace": rec.Namespace}, "privileged": rec.Rule == "Launch Privileged Container",
			"pod": map[string]any{"name": rec.Pod, "namespace": rec.Namespace, "uid": "6b1f0c2e-9d7a-4c1e-8f3a-2a9d5b7c1e44", "labels": map[string]string{"app": "web", "tier": "frontend"}}}
	}
	writeJSON(w, 200, struct {
		Alert
		Provenance    *Provenance         `json:"provenance"`
		ContainerInfo any                 `json:"container_info"`
		Mitre         []map[string]string `json:"mitre"`
		Timeline      []TimelineEntry     `json:"timeline"`
	}{rec.Alert, rec.prov, ci, ms, rec.timeline})
}

func (a *API) setStatus(w http.ResponseWriter, r *http.Request, s session) {
	var req struct{ Status, Note string }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, 400, "status: malformed JSON: "+err.Error())
		return
	}
	if req.Status != "open" && req.Status != "acknowledged" && req.Status != "resolved" {
		fail(w, 400, "status: want open, acknowledged or resolved, not "+strconv.Quote(req.Status))
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	rec := a.find(w, r)
	if rec == nil {
		return
	}
	rec.Status, rec.Note = req.Status, req.Note
	text := "status set to " + req.Status
	if req.Note != "" {
		text += ": " + req.Note
	}
	rec.timeline = append(rec.timeline, TimelineEntry{a.now().UTC(), "status", s.user, text})
	writeJSON(w, 200, rec.Alert)
}

func (a *API) addNote(w http.ResponseWriter, r *http.Request, s session) {
	var req struct{ Text string }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || strings.TrimSpace(req.Text) == "" {
		fail(w, 400, "note: want {\"text\": \"…\"}")
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	rec := a.find(w, r)
	if rec == nil {
		return
	}
	rec.timeline = append(rec.timeline, TimelineEntry{a.now().UTC(), "note", s.user, req.Text})
	writeJSON(w, 201, map[string]any{})
}

func (a *API) stream(w http.ResponseWriter, r *http.Request, _ session) {
	fl, ok := w.(http.Flusher)
	if !ok {
		fail(w, 500, "streaming unsupported")
		return
	}
	ch := make(chan []byte, 16)
	a.mu.Lock()
	a.subs[ch] = struct{}{}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.subs, ch)
		a.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(200)
	_, _ = fmt.Fprint(w, ": connected\n\n")
	fl.Flush()
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			_, _ = fmt.Fprint(w, ": keepalive\n\n")
		case b := <-ch:
			_, _ = fmt.Fprintf(w, "event: alert\ndata: %s\n\n", b)
		}
		fl.Flush()
	}
}

// Add stores a new alert (ID, status and count filled in) and sends it to
// the stream's subscribers. It returns the ID.
func (a *API) Add(al Alert, prov *Provenance) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	al.ID = int64(len(a.alerts) + 1)
	if al.Status == "" {
		al.Status = "open"
	}
	if al.Count == 0 {
		al.Count = 1
	}
	a.alerts = append(a.alerts, &record{Alert: al, prov: prov, timeline: []TimelineEntry{{al.Time, "alert", "vigil", "alert raised by rule " + al.Rule}}})
	b, _ := json.Marshal(al)
	for ch := range a.subs {
		select {
		case ch <- b:
		default:
		}
	}
	return al.ID
}

func (a *API) stats(w http.ResponseWriter, r *http.Request, _ session) {
	q := r.URL.Query()
	now := a.now()
	since, until := now.Add(-24*time.Hour), now
	for _, p := range []struct {
		k string
		t *time.Time
	}{{"since", &since}, {"until", &until}} {
		if v := q.Get(p.k); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				fail(w, 400, fmt.Sprintf("parameter %s: %v", p.k, err))
				return
			}
			*p.t = t
		}
	}
	bucket := time.Hour
	if v := q.Get("bucket"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			fail(w, 400, "parameter bucket: want a duration of at least 1m")
			return
		}
		bucket = d
	}
	type point struct {
		Time       time.Time      `json:"time"`
		ByPriority map[string]int `json:"by_priority"`
	}
	start := since.Truncate(bucket)
	series := []point{}
	for t := start; t.Before(until); t = t.Add(bucket) {
		series = append(series, point{t.UTC(), map[string]int{}})
	}
	total := 0
	bp, br, bn := map[string]int{}, map[string]int{}, map[string]int{}
	a.mu.Lock()
	for _, rec := range a.alerts {
		if rec.Time.Before(since) || !rec.Time.Before(until) {
			continue
		}
		total++
		bp[rec.Priority]++
		br[rec.Rule]++
		if rec.Namespace != "" {
			bn[rec.Namespace]++
		}
		if i := int(rec.Time.Sub(start) / bucket); i >= 0 && i < len(series) {
			series[i].ByPriority[rec.Priority]++
		}
	}
	a.mu.Unlock()
	writeJSON(w, 200, map[string]any{"total": total, "by_priority": bp, "by_rule": br, "by_namespace": bn, "series": series})
}

type asset struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Kind       string         `json:"kind"`
	FirstSeen  time.Time      `json:"first_seen"`
	LastSeen   time.Time      `json:"last_seen"`
	Attributes map[string]any `json:"attributes"`
	Alerts     int            `json:"alerts"`
}

func (a *API) assetList(kind string) ([]asset, bool) {
	byID := map[string]*asset{}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, rec := range a.alerts {
		var id, name string
		attrs := map[string]any{}
		switch kind {
		case "hosts":
			id, name = rec.Hostname, rec.Hostname
			attrs["kernel"] = "6.18.0"
		case "containers":
			id, name = rec.Container, rec.Pod
			attrs["image"], attrs["namespace"] = rec.Image, rec.Namespace
		case "images":
			id, name = rec.Image, rec.Image
		case "pods":
			id, name = rec.Namespace+"/"+rec.Pod, rec.Pod
			attrs["namespace"], attrs["node"] = rec.Namespace, rec.Node
			if rec.Pod == "" {
				id = ""
			}
		default:
			return nil, false
		}
		if id == "" {
			continue
		}
		as := byID[id]
		if as == nil {
			as = &asset{ID: id, Name: name, Kind: strings.TrimSuffix(kind, "s"), FirstSeen: rec.Time, Attributes: attrs}
			byID[id] = as
		}
		as.LastSeen = rec.Time
		as.Alerts++
	}
	out := make([]asset, 0, len(byID))
	for _, as := range byID {
		out = append(out, *as)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastSeen.After(out[j].LastSeen) })
	return out, true
}

func (a *API) assets(w http.ResponseWriter, r *http.Request, _ session) {
	l, ok := a.assetList(r.PathValue("kind"))
	if !ok {
		fail(w, 404, "unknown asset kind "+strconv.Quote(r.PathValue("kind")))
		return
	}
	writeJSON(w, 200, map[string]any{"items": l})
}

func (a *API) asset(w http.ResponseWriter, r *http.Request, _ session) {
	l, ok := a.assetList(r.PathValue("kind"))
	if !ok {
		fail(w, 404, "unknown asset kind "+strconv.Quote(r.PathValue("kind")))
		return
	}
	for _, as := range l {
		if as.ID == r.PathValue("id") {
			writeJSON(w, 200, as)
			return
		}
	}
	fail(w, 404, "no such asset")
}
