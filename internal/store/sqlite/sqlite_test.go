package sqlite

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/store"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)

func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "alerts.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// listAll pages through every alert matching f with page size limit.
func listAll(t testing.TB, s *Store, f store.Filter) []store.StoredAlert {
	t.Helper()
	var all []store.StoredAlert
	for {
		p, err := s.List(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Alerts...)
		if p.Next == nil {
			return all
		}
		if f.After != nil && p.Next.ID == f.After.ID && p.Next.Time.Equal(f.After.Time) {
			t.Fatalf("cursor did not advance past %+v", *p.Next)
		}
		f.After = p.Next
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   alert.Alert
		want store.StoredAlert // ID, Status, Count filled in by the test
	}{
		{
			name: "syscall with every field",
			in: alert.Alert{
				Time: t0.In(time.FixedZone("X", 3600)), Rule: "Terminal shell in container", Priority: "Notice",
				Source: "syscall", Output: `A shell was spawned <b>"quoted"</b> ünïcode`,
				OutputFields: map[string]any{
					"container.id": "4f2a", "container.name": "web", "container.image.repository": "nginx",
					"k8s.ns.name": "prod", "k8s.pod.name": "web-0", "k8s.node.name": "node-1",
					"proc.pid": int64(42), "evt.rawres": -1, "fd.num": 3.5, "proc.tty": true, "user.loginuid": nil,
					"proc.args": []string{"-c", "id"},
				},
				Tags:     []string{"container", "shell", "mitre_execution"},
				Hostname: "host-1",
			},
			want: store.StoredAlert{
				Alert: alert.Alert{
					Time: t0, Rule: "Terminal shell in container", Priority: "Notice",
					Source: "syscall", Output: `A shell was spawned <b>"quoted"</b> ünïcode`,
					OutputFields: map[string]any{
						"container.id": "4f2a", "container.name": "web", "container.image.repository": "nginx",
						"k8s.ns.name": "prod", "k8s.pod.name": "web-0", "k8s.node.name": "node-1",
						"proc.pid": int64(42), "evt.rawres": int64(-1), "fd.num": 3.5, "proc.tty": true, "user.loginuid": nil,
						"proc.args": []any{"-c", "id"},
					},
					Tags:     []string{"container", "shell", "mitre_execution"},
					Hostname: "host-1",
				},
				Container: "4f2a", Image: "nginx", Namespace: "prod", Pod: "web-0", Node: "node-1",
			},
		},
		{
			name: "k8s audit",
			in: alert.Alert{Time: t0.Add(time.Second), Rule: "Attach to pod", Priority: "Warning", Source: "k8s_audit",
				Output: "attach", OutputFields: map[string]any{"ka.target.namespace": "kube-system",
					"ka.target.resource": "pods", "ka.target.name": "etcd-0"}, Hostname: "api"},
			want: store.StoredAlert{Alert: alert.Alert{Time: t0.Add(time.Second), Rule: "Attach to pod", Priority: "Warning",
				Source: "k8s_audit", Output: "attach", OutputFields: map[string]any{"ka.target.namespace": "kube-system",
					"ka.target.resource": "pods", "ka.target.name": "etcd-0"}, Tags: []string{}, Hostname: "api"},
				Namespace: "kube-system", Pod: "etcd-0", Node: "api"},
		},
		{
			name: "empty fields and unknown priority",
			in:   alert.Alert{Time: t0.Add(2 * time.Second), Rule: "r", Priority: "Weird"},
			want: store.StoredAlert{Alert: alert.Alert{Time: t0.Add(2 * time.Second), Rule: "r", Priority: "Weird",
				OutputFields: map[string]any{}, Tags: []string{}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTemp(t)
			ctx := context.Background()
			if err := s.Insert(ctx, []*alert.Alert{&tt.in}); err != nil {
				t.Fatal(err)
			}
			p, err := s.List(ctx, store.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Alerts) != 1 {
				t.Fatalf("List returned %d alerts, want 1", len(p.Alerts))
			}
			want := tt.want
			want.ID, want.Status, want.Count = p.Alerts[0].ID, store.StatusOpen, 1
			got, err := s.Get(ctx, want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Get =\n%#v\nwant\n%#v", got, want)
			}
			if !reflect.DeepEqual(p.Alerts[0], want) {
				t.Errorf("List =\n%#v\nwant\n%#v", p.Alerts[0], want)
			}
		})
	}
}

func TestInsertInvalidIsAtomic(t *testing.T) {
	tests := []struct {
		name string
		bad  *alert.Alert
	}{
		{"nil alert", nil},
		{"NaN field", &alert.Alert{Time: t0, Rule: "nan", OutputFields: map[string]any{"x": nan()}}},
		{"zero time", &alert.Alert{Rule: "zero"}},
		{"unencodable field", &alert.Alert{Time: t0, Rule: "ch", OutputFields: map[string]any{"c": make(chan int)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTemp(t)
			ctx := context.Background()
			err := s.Insert(ctx, []*alert.Alert{{Time: t0, Rule: "ok"}, tt.bad})
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("Insert = %v, want ErrInvalid", err)
			}
			if n, err := s.Count(ctx); err != nil || n != 0 {
				t.Fatalf("Count = %d, %v; want 0 (batch rolled back)", n, err)
			}
		})
	}
}

func nan() float64 { z := 0.0; return z / z }

// filterFixture returns alerts whose Output names them a0, a1, ... and whose
// times increase with the index.
func filterFixture() []*alert.Alert {
	mk := func(i int, rule, prio, ns, ctr, out string) *alert.Alert {
		f := map[string]any{}
		if ns != "" {
			f["k8s.ns.name"] = ns
		}
		if ctr != "" {
			f["container.id"] = ctr
		}
		return &alert.Alert{Time: t0.Add(time.Duration(i) * time.Minute), Rule: rule, Priority: prio,
			Source: "syscall", Output: fmt.Sprintf("a%d %s", i, out), OutputFields: f}
	}
	return []*alert.Alert{
		mk(0, "shell", "Notice", "prod", "c1", "bash spawned"),
		mk(1, "shell", "Warning", "dev", "c2", "sh spawned"),
		mk(2, "write etc", "Error", "prod", "c1", "file /etc/passwd"),
		mk(3, "write etc", "Critical", "", "", "file /etc/shadow 100%"),
		mk(4, "netcat", "Debug", "prod", "c3", "nc_listen"),
		mk(5, "netcat", "Emergency", "dev", "c3", "NC remote"),
		mk(6, "shell", "Informational", "prod", "c1", "zsh spawned"),
		mk(7, "odd", "Weird", "prod", "c1", "odd priority"),
	}
}

func TestListFilters(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if err := s.Insert(ctx, filterFixture()); err != nil {
		t.Fatal(err)
	}
	// a1 acknowledged, a2 resolved.
	all := listAll(t, s, store.Filter{})
	byName := map[string]int64{}
	for _, a := range all {
		byName[strings.Fields(a.Output)[0]] = a.ID
	}
	if err := s.SetStatus(ctx, byName["a1"], store.StatusAcknowledged, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(ctx, byName["a2"], store.StatusResolved, "fixed"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    store.Filter
		want string // outputs' names, newest first
	}{
		{"none", store.Filter{}, "a7 a6 a5 a4 a3 a2 a1 a0"},
		{"since", store.Filter{Since: t0.Add(5 * time.Minute)}, "a7 a6 a5"},
		{"until exclusive", store.Filter{Until: t0.Add(2 * time.Minute)}, "a1 a0"},
		{"range", store.Filter{Since: t0.Add(2 * time.Minute), Until: t0.Add(4 * time.Minute)}, "a3 a2"},
		{"one rule", store.Filter{Rules: []string{"netcat"}}, "a5 a4"},
		{"two rules", store.Filter{Rules: []string{"netcat", "write etc"}}, "a5 a4 a3 a2"},
		{"min warning", store.Filter{MinPriority: "warning"}, "a5 a3 a2 a1"},
		{"min debug excludes unknown", store.Filter{MinPriority: "Debug"}, "a6 a5 a4 a3 a2 a1 a0"},
		{"min emergency", store.Filter{MinPriority: "EMERGENCY"}, "a5"},
		{"container", store.Filter{Container: "c1"}, "a7 a6 a2 a0"},
		{"namespace", store.Filter{Namespace: "dev"}, "a5 a1"},
		{"text case-insensitive", store.Filter{Text: "SPAWNED"}, "a6 a1 a0"},
		{"text percent literal", store.Filter{Text: "100%"}, "a3"},
		{"text underscore literal", store.Filter{Text: "c_l"}, "a4"},
		{"text no match", store.Filter{Text: "nothing"}, ""},
		{"status open", store.Filter{Statuses: []store.Status{store.StatusOpen}}, "a7 a6 a5 a4 a3 a0"},
		{"status ack or resolved", store.Filter{Statuses: []store.Status{store.StatusAcknowledged, store.StatusResolved}}, "a2 a1"},
		{"combined", store.Filter{Namespace: "prod", Rules: []string{"shell"}, MinPriority: "Notice"}, "a0"},
		{"limit pages", store.Filter{Limit: 3}, "a7 a6 a5 a4 a3 a2 a1 a0"},
		{"two rules paged", store.Filter{Rules: []string{"shell", "netcat"}, Limit: 1}, "a6 a5 a4 a1 a0"},
		{"two rules two statuses", store.Filter{Rules: []string{"shell", "write etc"},
			Statuses: []store.Status{store.StatusAcknowledged, store.StatusResolved}}, "a2 a1"},
		{"two statuses one rule", store.Filter{Rules: []string{"shell"},
			Statuses: []store.Status{store.StatusOpen, store.StatusAcknowledged}, Limit: 2}, "a6 a1 a0"},
		{"rules and everything", store.Filter{Rules: []string{"shell", "netcat", "odd"}, Namespace: "prod",
			MinPriority: "debug", Since: t0.Add(time.Minute), Until: t0.Add(7 * time.Minute), Text: "N", Limit: 1}, "a6 a4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var names []string
			for _, a := range listAll(t, s, tt.f) {
				names = append(names, strings.Fields(a.Output)[0])
			}
			if got := strings.Join(names, " "); got != tt.want {
				t.Errorf("List(%+v) = %q, want %q", tt.f, got, tt.want)
			}
		})
	}
	t.Run("page size", func(t *testing.T) {
		p, err := s.List(ctx, store.Filter{Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Alerts) != 3 || p.Next == nil || p.Next.ID != p.Alerts[2].ID || !p.Next.Time.Equal(p.Alerts[2].Time) {
			t.Errorf("page of 3: %d alerts, next %+v", len(p.Alerts), p.Next)
		}
		p, err = s.List(ctx, store.Filter{Limit: 8})
		if err != nil || len(p.Alerts) != 8 || p.Next != nil {
			t.Errorf("exact page: %d alerts, next %+v, err %v", len(p.Alerts), p.Next, err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for _, f := range []store.Filter{{MinPriority: "loud"}, {Statuses: []store.Status{"gone"}}, {Limit: -2}} {
			if _, err := s.List(ctx, f); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("List(%+v) = %v, want ErrInvalid", f, err)
			}
		}
	})
}

// TestPagingStableWhileInserting pages through a fixed set (with time ties)
// while another goroutine inserts newer alerts: every original alert must be
// seen exactly once, in (time, id) descending order.
func TestPagingStableWhileInserting(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	var batch []*alert.Alert
	for i := range 500 {
		// Groups of 5 share a time, to exercise the id tie-break.
		batch = append(batch, &alert.Alert{Time: t0.Add(time.Duration(i/5) * time.Second), Rule: "r", Priority: "Notice", Output: strconv.Itoa(i)})
	}
	if err := s.Insert(ctx, batch); err != nil {
		t.Fatal(err)
	}
	until := t0.Add(time.Hour) // newer alerts land after this
	want := listAll(t, s, store.Filter{Limit: store.MaxLimit})

	// The first page is taken before the writer starts; later pages start
	// from its cursor, so no newer alert may show up in them.
	f := store.Filter{Limit: 7}
	p, err := s.List(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	got := p.Alerts
	f.After = p.Next

	done := make(chan struct{})
	var wg sync.WaitGroup
	var insertErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			a := &alert.Alert{Time: until.Add(time.Duration(i) * time.Millisecond), Rule: "new", Priority: "Notice"}
			if err := s.Insert(ctx, []*alert.Alert{a, a}); err != nil {
				insertErr = err
				return
			}
		}
	}()
	for f.After != nil {
		time.Sleep(time.Millisecond) // let the writer commit between pages
		p, err := s.List(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Alerts {
			if a.Rule != "r" {
				t.Fatalf("newer alert %d appeared after the first page", a.ID)
			}
		}
		got = append(got, p.Alerts...)
		f.After = p.Next
	}
	close(done)
	wg.Wait()
	if insertErr != nil {
		t.Fatal(insertErr)
	}
	if len(got) != len(want) {
		t.Fatalf("paged %d alerts, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID {
			t.Fatalf("position %d: id %d, want %d", i, got[i].ID, want[i].ID)
		}
	}
	if n, _ := s.Count(ctx); n <= 500 {
		t.Errorf("writer inserted nothing while paging (count %d)", n)
	}
}

func TestSetStatus(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if err := s.Insert(ctx, filterFixture()[:1]); err != nil {
		t.Fatal(err)
	}
	id := listAll(t, s, store.Filter{})[0].ID
	tests := []struct {
		name    string
		id      int64
		status  store.Status
		note    string
		wantErr error
	}{
		{"acknowledge", id, store.StatusAcknowledged, "looking", nil},
		{"resolve", id, store.StatusResolved, "false positive", nil},
		{"reopen", id, store.StatusOpen, "", nil},
		{"bad status", id, "closed", "x", store.ErrInvalid},
		{"missing id", id + 100, store.StatusResolved, "", store.ErrNotFound},
	}
	last := store.StatusOpen
	lastNote := ""
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.SetStatus(ctx, tt.id, tt.status, tt.note)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("SetStatus = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				last, lastNote = tt.status, tt.note
			}
			a, err := s.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if a.Status != last || a.Note != lastNote {
				t.Errorf("after %s: status %q note %q, want %q %q", tt.name, a.Status, a.Note, last, lastNote)
			}
		})
	}
	if _, err := s.Get(ctx, id+100); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get missing = %v, want ErrNotFound", err)
	}
}

func TestPrune(t *testing.T) {
	tests := []struct {
		name      string
		olderThan time.Time
		maxRows   int
		deleted   int
		left      string
	}{
		{"nothing", time.Time{}, 0, 0, "a7 a6 a5 a4 a3 a2 a1 a0"},
		{"by age", t0.Add(5 * time.Minute), 0, 5, "a7 a6 a5"},
		{"by size", time.Time{}, 3, 5, "a7 a6 a5"},
		{"size above count", time.Time{}, 100, 0, "a7 a6 a5 a4 a3 a2 a1 a0"},
		{"age then size", t0.Add(2 * time.Minute), 4, 4, "a7 a6 a5 a4"},
		{"age newer than all", t0.Add(time.Hour), 0, 8, ""},
		{"age exactly chunk", t0.Add(2 * time.Minute), 0, 2, "a7 a6 a5 a4 a3 a2"},
		{"size zero rows kept is no limit", time.Time{}, 0, 0, "a7 a6 a5 a4 a3 a2 a1 a0"},
		{"size one", time.Time{}, 1, 7, "a7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTemp(t)
			s.pruneChunk = 2 // several transactions per prune
			ctx := context.Background()
			if err := s.Insert(ctx, filterFixture()); err != nil {
				t.Fatal(err)
			}
			n, err := s.Prune(ctx, tt.olderThan, tt.maxRows)
			if err != nil || n != tt.deleted {
				t.Fatalf("Prune = %d, %v; want %d", n, err, tt.deleted)
			}
			var names []string
			for _, a := range listAll(t, s, store.Filter{}) {
				names = append(names, strings.Fields(a.Output)[0])
			}
			if got := strings.Join(names, " "); got != tt.left {
				t.Errorf("left %q, want %q", got, tt.left)
			}
		})
	}
}

func TestStats(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	if err := s.Insert(ctx, filterFixture()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		since, until time.Time
		total        int64
		byRule       map[string]int64
		byNS         map[string]int64
		warnings     int64
	}{
		{"all", time.Time{}, time.Time{}, 8,
			map[string]int64{"shell": 3, "write etc": 2, "netcat": 2, "odd": 1},
			map[string]int64{"prod": 5, "dev": 2, "": 1}, 1},
		{"window", t0.Add(4 * time.Minute), t0.Add(6 * time.Minute), 2,
			map[string]int64{"netcat": 2}, map[string]int64{"prod": 1, "dev": 1}, 0},
		{"empty", t0.Add(time.Hour), time.Time{}, 0, map[string]int64{}, map[string]int64{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := s.Stats(ctx, tt.since, tt.until)
			if err != nil {
				t.Fatal(err)
			}
			if st.Total != tt.total || !reflect.DeepEqual(st.ByRule, tt.byRule) ||
				!reflect.DeepEqual(st.ByNamespace, tt.byNS) || st.ByPriority["Warning"] != tt.warnings {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

func TestReopenKeepsData(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	if err := s.Insert(ctx, filterFixture()); err != nil {
		t.Fatal(err)
	}
	before := listAll(t, s, store.Filter{})
	if err := s.SetStatus(ctx, before[0].ID, store.StatusAcknowledged, "mine"); err != nil {
		t.Fatal(err)
	}
	before[0].Status, before[0].Note = store.StatusAcknowledged, "mine"
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	after := listAll(t, s2, store.Filter{})
	if !reflect.DeepEqual(after, before) {
		t.Errorf("after reopen:\n%+v\nwant\n%+v", after, before)
	}
	if err := s2.Check(ctx); err != nil {
		t.Error(err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		want  error
	}{
		{"garbage file", func(t *testing.T, path string) {
			writeFile(t, path, []byte(strings.Repeat("not a database\n", 100)))
		}, ErrCorrupt},
		{"short file", func(t *testing.T, path string) { writeFile(t, path, []byte("SQLite")) }, ErrCorrupt},
		{"header then garbage", func(t *testing.T, path string) {
			writeFile(t, path, append([]byte("SQLite format 3\x00"), []byte(strings.Repeat("\xff", 8000))...))
		}, ErrCorrupt},
		{"other database", func(t *testing.T, path string) {
			execSQL(t, path, `CREATE TABLE advisory (id TEXT)`)
		}, ErrNotAlertDB},
		{"newer schema", func(t *testing.T, path string) {
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			execSQL(t, path, `UPDATE schema_version SET version = 99`)
		}, ErrSchemaTooNew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "alerts.db")
			tt.setup(t, path)
			s, err := Open(ctx, path)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	t.Run("damaged pages", func(t *testing.T) {
		s, path := openTemp(t)
		var batch []*alert.Alert
		for i := range 2000 {
			batch = append(batch, &alert.Alert{Time: t0.Add(time.Duration(i)), Rule: "r", Output: strings.Repeat("x", 200)})
		}
		if err := s.Insert(ctx, batch); err != nil {
			t.Fatal(err)
		}
		s.Close() // checkpoints the WAL into the file
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := 8192; i < len(b)-4096; i += 4096 * 3 {
			copy(b[i:i+512], strings.Repeat("\xa5", 512))
		}
		writeFile(t, path, b)
		s2, err := Open(ctx, path)
		if err == nil {
			err = s2.Check(ctx)
			s2.Close()
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open+Check of damaged file = %v, want ErrCorrupt", err)
		}
	})
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func execSQL(t *testing.T, path, q string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

const (
	crashEnv   = "VIGIL_STORE_CRASH_DB"
	crashBatch = 200
)

// TestCrashHelper is the child of TestCrashMidWrite: it inserts batches in a
// loop and prints "committed N" after each Insert returns.
func TestCrashHelper(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process for TestCrashMidWrite")
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	batch := make([]*alert.Alert, crashBatch)
	for n := 1; ; n++ {
		for i := range batch {
			batch[i] = realisticAlert(n*crashBatch + i)
		}
		if err := s.Insert(ctx, batch); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("committed", n)
	}
}

func TestCrashMidWrite(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in helper")
	}
	for _, kills := range []int{5, 40} {
		t.Run(fmt.Sprintf("after %d batches", kills), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "alerts.db")
			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), crashEnv+"="+path)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			committed := 0
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				line := sc.Text()
				if n, ok := strings.CutPrefix(line, "committed "); ok {
					committed, _ = strconv.Atoi(n)
					if committed >= kills {
						// The child is mid-way into the next batch.
						cmd.Process.Signal(syscall.SIGKILL)
						break
					}
				} else if strings.HasPrefix(line, "error") {
					t.Fatalf("helper: %s", line)
				}
			}
			cmd.Wait()
			if committed < kills {
				t.Fatalf("helper reported %d batches before exiting", committed)
			}
			ctx := context.Background()
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatalf("reopen after SIGKILL: %v", err)
			}
			defer s.Close()
			if err := s.Check(ctx); err != nil {
				t.Fatal(err)
			}
			n, err := s.Count(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n < int64(committed*crashBatch) || n%crashBatch != 0 {
				t.Fatalf("after crash: %d rows, want >= %d whole batches of %d", n, committed, crashBatch)
			}
			t.Logf("child reported %d batches, %d rows survived", committed, n)
			if err := s.Insert(ctx, []*alert.Alert{realisticAlert(0)}); err != nil {
				t.Fatalf("insert after recovery: %v", err)
			}
		})
	}
}

// realisticAlert returns a syscall alert shaped like Falco's "Terminal shell
// in container", varied by i.
func realisticAlert(i int) *alert.Alert {
	ns := namespaces[i%len(namespaces)]
	return &alert.Alert{
		Time:     t0.Add(time.Duration(i) * time.Millisecond),
		Rule:     rules[i%len(rules)],
		Priority: prios[i%len(prios)],
		Source:   "syscall",
		Output: fmt.Sprintf("A shell was spawned in a container with an attached terminal (evt_type=execve user=root user_uid=0 "+
			"process=bash proc_exepath=/usr/bin/bash parent=runc command=bash -il terminal=34816 exe_flags=EXE_WRITABLE "+
			"container_id=%012x container_name=app-%d image=registry.example.com/team/app:1.%d k8s_ns=%s k8s_pod=app-%d)",
			i%977, i%977, i%13, ns, i%977),
		OutputFields: map[string]any{
			"evt.time": int64(1740823200123456789 + i), "evt.type": "execve", "user.name": "root", "user.uid": int64(0),
			"proc.name": "bash", "proc.exepath": "/usr/bin/bash", "proc.pname": "runc", "proc.cmdline": "bash -il",
			"proc.tty": int64(34816), "container.id": fmt.Sprintf("%012x", i%977), "container.name": fmt.Sprintf("app-%d", i%977),
			"container.image.repository": "registry.example.com/team/app", "container.image.tag": fmt.Sprintf("1.%d", i%13),
			"k8s.ns.name": ns, "k8s.pod.name": fmt.Sprintf("app-%d", i%977),
		},
		Tags:     []string{"container", "shell", "mitre_execution", "T1059", "maturity_stable"},
		Hostname: fmt.Sprintf("node-%d", i%17),
	}
}

var (
	namespaces = func() []string {
		var ns []string
		for i := range 20 {
			ns = append(ns, fmt.Sprintf("team-%02d", i))
		}
		return slices.Concat(ns, []string{"kube-system", "default"})
	}()
	rules = []string{"Terminal shell in container", "Write below etc", "Read sensitive file untrusted",
		"Contact K8S API Server From Container", "Drop and execute new binary in container", "Netcat Remote Code Execution in Container"}
	prios = []string{"Notice", "Warning", "Error", "Critical", "Informational", "Warning", "Notice"}
)

// TestReadersDuringWrite reads while a large batch is being written: every
// read succeeds and sees the batch entirely or not at all.
func TestReadersDuringWrite(t *testing.T) {
	s, _ := openTemp(t)
	ctx := context.Background()
	small := make([]*alert.Alert, 100)
	for i := range small {
		small[i] = realisticAlert(i)
	}
	if err := s.Insert(ctx, small); err != nil {
		t.Fatal(err)
	}
	big := make([]*alert.Alert, 20000)
	for i := range big {
		big[i] = realisticAlert(100 + i)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Insert(ctx, big) }()
	var writeErr error
	reads := 0
	for done := false; !done; {
		select {
		case writeErr = <-errc:
			done = true
		default:
		}
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := s.Count(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if n != 100 && n != 20100 {
					t.Errorf("reader saw %d rows, want 100 or 20100", n)
				}
				p, err := s.List(ctx, store.Filter{Limit: 10, Namespace: "team-01"})
				if err != nil || len(p.Alerts) == 0 {
					t.Errorf("List during write: %d alerts, %v", len(p.Alerts), err)
				}
			}()
		}
		wg.Wait()
		reads++
	}
	if writeErr != nil {
		t.Fatal(writeErr)
	}
	if n, _ := s.Count(ctx); n != 20100 {
		t.Errorf("after write: %d rows, want 20100", n)
	}
	t.Logf("%d rounds of 3 concurrent readers during the write", reads)
}

// TestPruneBySizeWithTies keeps exactly the newest maxRows when many alerts
// share a time: the id breaks the tie.
func TestPruneBySizeWithTies(t *testing.T) {
	for _, keep := range []int{1, 3, 9, 10} {
		t.Run(strconv.Itoa(keep), func(t *testing.T) {
			s, _ := openTemp(t)
			s.pruneChunk = 4
			ctx := context.Background()
			var batch []*alert.Alert
			for i := range 10 {
				batch = append(batch, &alert.Alert{Time: t0, Rule: "r", Output: strconv.Itoa(i)})
			}
			if err := s.Insert(ctx, batch); err != nil {
				t.Fatal(err)
			}
			before := listAll(t, s, store.Filter{})
			n, err := s.Prune(ctx, time.Time{}, keep)
			if err != nil || n != 10-keep {
				t.Fatalf("Prune = %d, %v; want %d", n, err, 10-keep)
			}
			after := listAll(t, s, store.Filter{})
			if !reflect.DeepEqual(after, before[:keep]) {
				t.Errorf("kept %d alerts, not the newest %d", len(after), keep)
			}
		})
	}
}
