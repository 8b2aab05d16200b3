// Package storetest is the conformance suite of alert stores: table-driven
// tests every implementation of store.Store, store.AlertAPI,
// store.Accounts and store.Seriesser must pass with the same results. The
// SQLite and PostgreSQL stores run it from their own tests:
//
//	func TestConformance(t *testing.T) { storetest.Run(t, opener) }
package storetest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/store"
)

// Store is what the suite tests.
type Store interface {
	store.Store
	store.AlertAPI
	store.Accounts
	store.Seriesser
	// Count returns the number of stored alerts.
	Count(ctx context.Context) (int64, error)
}

// Opener opens a store for a test. With where == "" it creates a new,
// empty store; otherwise it opens again the store created at where. It
// returns the store and where it lives. It fails t on error. The suite
// closes the stores it opens.
type Opener func(t testing.TB, where string) (s Store, at string)

// T0 is the time the fixtures start at; it has nanoseconds, which a store
// must keep.
var T0 = time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)

// Run runs every conformance test against stores from open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"RoundTrip", testRoundTrip},
		{"InsertInvalidIsAtomic", testInsertInvalidIsAtomic},
		{"ListFilters", testListFilters},
		{"FilterPodPriorityText", testFilterPodPriorityText},
		{"PagingStableWhileInserting", testPagingStableWhileInserting},
		{"AfterSeesEveryAlertOnce", testAfterSeesEveryAlertOnce},
		{"ReadersDuringWrite", testReadersDuringWrite},
		{"SetStatus", testSetStatus},
		{"Prune", testPrune},
		{"PruneBySizeWithTies", testPruneBySizeWithTies},
		{"Stats", testStats},
		{"CountColumn", testCountColumn},
		{"Series", testSeries},
		{"ReopenKeepsData", testReopenKeepsData},
		{"DetailContextTimelineChildren", testDetail},
		{"Assets", testAssets},
		{"UpsertAssets", testUpsertAssets},
		{"Accounts", testAccounts},
		{"Sink", testSink},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

// fresh opens a new, empty store closed at the end of the test.
func fresh(t testing.TB, open Opener) Store {
	t.Helper()
	s, _ := open(t, "")
	t.Cleanup(func() { s.Close() })
	return s
}

// ListAll pages through every alert matching f.
func ListAll(t testing.TB, s store.Store, f store.Filter) []store.StoredAlert {
	t.Helper()
	var all []store.StoredAlert
	for {
		p, err := s.List(context.Background(), f)
		require.NoError(t, err)
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

// names returns the first word of each alert's Output, space-separated.
func names(as []store.StoredAlert) string {
	var n []string
	for _, a := range as {
		n = append(n, strings.Fields(a.Output)[0])
	}
	return strings.Join(n, " ")
}

func testRoundTrip(t *testing.T, open Opener) {
	tests := []struct {
		name string
		in   alert.Alert
		want store.StoredAlert // ID, Status, Count filled in by the test
	}{
		{
			name: "syscall with every field",
			in: alert.Alert{
				Time: T0.In(time.FixedZone("X", 3600)), Rule: "Terminal shell in container", Priority: "Notice",
				Source: "syscall", Output: `A shell was spawned <b>"quoted"</b> ünïcode \ backslash`,
				OutputFields: map[string]any{
					"container.id": "4f2a", "container.name": "web", "container.image.repository": "nginx",
					"k8s.ns.name": "prod", "k8s.pod.name": "web-0", "k8s.node.name": "node-1",
					"proc.pid": int64(42), "evt.rawres": -1, "fd.num": 3.5, "proc.tty": true, "user.loginuid": nil,
					"proc.args": []string{"-c", "id"}, "big": int64(1) << 62,
				},
				Tags:     []string{"container", "shell", "mitre_execution"},
				Hostname: "host-1",
			},
			want: store.StoredAlert{
				Alert: alert.Alert{
					Time: T0, Rule: "Terminal shell in container", Priority: "Notice",
					Source: "syscall", Output: `A shell was spawned <b>"quoted"</b> ünïcode \ backslash`,
					OutputFields: map[string]any{
						"container.id": "4f2a", "container.name": "web", "container.image.repository": "nginx",
						"k8s.ns.name": "prod", "k8s.pod.name": "web-0", "k8s.node.name": "node-1",
						"proc.pid": int64(42), "evt.rawres": int64(-1), "fd.num": 3.5, "proc.tty": true, "user.loginuid": nil,
						"proc.args": []any{"-c", "id"}, "big": int64(1) << 62,
					},
					Tags:     []string{"container", "shell", "mitre_execution"},
					Hostname: "host-1",
				},
				Container: "4f2a", Image: "nginx", Namespace: "prod", Pod: "web-0", Node: "node-1",
			},
		},
		{
			name: "k8s audit",
			in: alert.Alert{Time: T0.Add(time.Second), Rule: "Attach to pod", Priority: "Warning", Source: "k8s_audit",
				Output: "attach", OutputFields: map[string]any{"ka.target.namespace": "kube-system",
					"ka.target.resource": "pods", "ka.target.name": "etcd-0"}, Hostname: "api"},
			want: store.StoredAlert{Alert: alert.Alert{Time: T0.Add(time.Second), Rule: "Attach to pod", Priority: "Warning",
				Source: "k8s_audit", Output: "attach", OutputFields: map[string]any{"ka.target.namespace": "kube-system",
					"ka.target.resource": "pods", "ka.target.name": "etcd-0"}, Tags: []string{}, Hostname: "api"},
				Namespace: "kube-system", Pod: "etcd-0", Node: "api"},
		},
		{
			name: "empty fields and unknown priority",
			in:   alert.Alert{Time: T0.Add(2 * time.Second), Rule: "r", Priority: "Weird"},
			want: store.StoredAlert{Alert: alert.Alert{Time: T0.Add(2 * time.Second), Rule: "r", Priority: "Weird",
				OutputFields: map[string]any{}, Tags: []string{}}},
		},
		{
			name: "time before 1970",
			in:   alert.Alert{Time: time.Date(1969, 7, 20, 20, 17, 40, 1, time.UTC), Rule: "moon", Priority: "Alert"},
			want: store.StoredAlert{Alert: alert.Alert{Time: time.Date(1969, 7, 20, 20, 17, 40, 1, time.UTC), Rule: "moon",
				Priority: "Alert", OutputFields: map[string]any{}, Tags: []string{}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t, open)
			ctx := context.Background()
			require.NoError(t, s.Insert(ctx, []*alert.Alert{&tt.in}))
			p, err := s.List(ctx, store.Filter{})
			require.NoError(t, err)
			require.Len(t, p.Alerts, 1)
			want := tt.want
			want.ID, want.Status, want.Count = p.Alerts[0].ID, store.StatusOpen, 1
			got, err := s.Get(ctx, want.ID)
			require.NoError(t, err)
			require.Equal(t, want, got, "Get")
			require.Equal(t, want, p.Alerts[0], "List")
		})
	}
}

func testInsertInvalidIsAtomic(t *testing.T, open Opener) {
	nan := func() float64 { z := 0.0; return z / z }
	tests := []struct {
		name string
		bad  *alert.Alert
	}{
		{"nil alert", nil},
		{"NaN field", &alert.Alert{Time: T0, Rule: "nan", OutputFields: map[string]any{"x": nan()}}},
		{"zero time", &alert.Alert{Rule: "zero"}},
		{"unencodable field", &alert.Alert{Time: T0, Rule: "ch", OutputFields: map[string]any{"c": make(chan int)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t, open)
			ctx := context.Background()
			err := s.Insert(ctx, []*alert.Alert{{Time: T0, Rule: "ok", Hostname: "h"}, tt.bad})
			require.ErrorIs(t, err, store.ErrInvalid)
			require.Contains(t, err.Error(), "alert 1", "the error names the bad alert")
			n, err := s.Count(ctx)
			require.NoError(t, err)
			require.Zero(t, n, "batch rolled back")
			_, err = s.Asset(ctx, store.AssetHost, "h")
			require.ErrorIs(t, err, store.ErrNotFound, "no asset of the rolled back batch")
		})
	}
}

// FilterFixture returns alerts whose Output names them a0, a1, ... and
// whose times increase with the index.
func FilterFixture() []*alert.Alert {
	mk := func(i int, rule, prio, ns, ctr, out string) *alert.Alert {
		f := map[string]any{}
		if ns != "" {
			f["k8s.ns.name"] = ns
		}
		if ctr != "" {
			f["container.id"] = ctr
		}
		return &alert.Alert{Time: T0.Add(time.Duration(i) * time.Minute), Rule: rule, Priority: prio,
			Source: "syscall", Output: fmt.Sprintf("a%d %s", i, out), OutputFields: f}
	}
	return []*alert.Alert{
		mk(0, "shell", "Notice", "prod", "c1", "bash spawned"),
		mk(1, "shell", "Warning", "dev", "c2", "sh spawned"),
		mk(2, "write etc", "Error", "prod", "c1", "file /etc/passwd"),
		mk(3, "write etc", "Critical", "", "", "file /etc/shadow 100%"),
		mk(4, "netcat", "Debug", "prod", "c3", "nc_listen"),
		mk(5, "netcat", "Emergency", "dev", "c3", "NC remote"),
		mk(6, "shell", "Informational", "prod", "c1", `zsh spawned C:\tmp`),
		mk(7, "odd", "Weird", "prod", "c1", "odd priority"),
	}
}

func testListFilters(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	require.NoError(t, s.Insert(ctx, FilterFixture()))
	// a1 acknowledged, a2 resolved.
	byName := map[string]int64{}
	for _, a := range ListAll(t, s, store.Filter{}) {
		byName[strings.Fields(a.Output)[0]] = a.ID
	}
	require.NoError(t, s.SetStatus(ctx, byName["a1"], store.StatusAcknowledged, ""))
	require.NoError(t, s.SetStatus(ctx, byName["a2"], store.StatusResolved, "fixed"))
	tests := []struct {
		name string
		f    store.Filter
		want string // outputs' names, newest first
	}{
		{"none", store.Filter{}, "a7 a6 a5 a4 a3 a2 a1 a0"},
		{"since", store.Filter{Since: T0.Add(5 * time.Minute)}, "a7 a6 a5"},
		{"until exclusive", store.Filter{Until: T0.Add(2 * time.Minute)}, "a1 a0"},
		{"range", store.Filter{Since: T0.Add(2 * time.Minute), Until: T0.Add(4 * time.Minute)}, "a3 a2"},
		{"far bounds", store.Filter{Since: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, "a7 a6 a5 a4 a3 a2 a1 a0"},
		{"one rule", store.Filter{Rules: []string{"netcat"}}, "a5 a4"},
		{"two rules", store.Filter{Rules: []string{"netcat", "write etc"}}, "a5 a4 a3 a2"},
		{"unknown rule", store.Filter{Rules: []string{"nope"}}, ""},
		{"min warning", store.Filter{MinPriority: "warning"}, "a5 a3 a2 a1"},
		{"min debug excludes unknown", store.Filter{MinPriority: "Debug"}, "a6 a5 a4 a3 a2 a1 a0"},
		{"min emergency", store.Filter{MinPriority: "EMERGENCY"}, "a5"},
		{"priority info alias", store.Filter{Priority: "Info"}, "a6"},
		{"container", store.Filter{Container: "c1"}, "a7 a6 a2 a0"},
		{"namespace", store.Filter{Namespace: "dev"}, "a5 a1"},
		{"text case-insensitive", store.Filter{Text: "SPAWNED"}, "a6 a1 a0"},
		{"text percent literal", store.Filter{Text: "100%"}, "a3"},
		{"text underscore literal", store.Filter{Text: "c_l"}, "a4"},
		{"text backslash literal", store.Filter{Text: `c:\t`}, "a6"},
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
			MinPriority: "debug", Since: T0.Add(time.Minute), Until: T0.Add(7 * time.Minute), Text: "N", Limit: 1}, "a6 a4"},
		{"many rules", store.Filter{Rules: append(slices.Repeat([]string{"x"}, 70), "odd", "netcat")}, "a7 a5 a4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, names(ListAll(t, s, tt.f)), "List(%+v)", tt.f)
		})
	}
	t.Run("page size", func(t *testing.T) {
		p, err := s.List(ctx, store.Filter{Limit: 3})
		require.NoError(t, err)
		require.Len(t, p.Alerts, 3)
		require.NotNil(t, p.Next)
		require.Equal(t, p.Alerts[2].ID, p.Next.ID)
		require.True(t, p.Next.Time.Equal(p.Alerts[2].Time))
		p, err = s.List(ctx, store.Filter{Limit: 8})
		require.NoError(t, err)
		require.Len(t, p.Alerts, 8)
		require.Nil(t, p.Next, "an exact last page has no next cursor")
	})
	t.Run("invalid", func(t *testing.T) {
		for _, f := range []store.Filter{{MinPriority: "loud"}, {Priority: "loud"}, {Statuses: []store.Status{"gone"}}, {Limit: -2}} {
			_, err := s.List(ctx, f)
			require.ErrorIs(t, err, store.ErrInvalid, "List(%+v)", f)
		}
	})
}

func testFilterPodPriorityText(t *testing.T, open Opener) {
	ctx := context.Background()
	s := fresh(t, open)
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	require.NoError(t, s.Insert(ctx, []*alert.Alert{
		{Time: t0, Rule: "Shell in container", Priority: "Warning", Output: "a", OutputFields: map[string]any{"k8s.pod.name": "p1"}},
		{Time: t0.Add(time.Second), Rule: "Other", Priority: "Error", Output: "shell b", OutputFields: map[string]any{"k8s.pod.name": "p2"}},
		{Time: t0.Add(2 * time.Second), Rule: "Third", Priority: "Warning", Output: "c"},
	}))
	for _, tt := range []struct {
		name string
		f    store.Filter
		want []string
	}{
		{"pod", store.Filter{Pod: "p1"}, []string{"Shell in container"}},
		{"priority exact", store.Filter{Priority: "warning"}, []string{"Third", "Shell in container"}},
		{"text over rule and output", store.Filter{Text: "SHELL"}, []string{"Other", "Shell in container"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, a := range ListAll(t, s, tt.f) {
				got = append(got, a.Rule)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

// testPagingStableWhileInserting pages through a fixed set (with time ties)
// while another goroutine inserts newer alerts: every original alert must
// be seen exactly once, in (time, id) descending order.
func testPagingStableWhileInserting(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	var batch []*alert.Alert
	for i := range 500 {
		// Groups of 5 share a time, to exercise the id tie-break.
		batch = append(batch, &alert.Alert{Time: T0.Add(time.Duration(i/5) * time.Second), Rule: "r", Priority: "Notice", Output: strconv.Itoa(i)})
	}
	require.NoError(t, s.Insert(ctx, batch))
	newer := T0.Add(time.Hour)
	want := ListAll(t, s, store.Filter{Limit: store.MaxLimit})
	require.Len(t, want, 500)

	// The first page is taken before the writer starts; later pages start
	// from its cursor, so no newer alert may show up in them.
	f := store.Filter{Limit: 7}
	p, err := s.List(ctx, f)
	require.NoError(t, err)
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
			a := &alert.Alert{Time: newer.Add(time.Duration(i) * time.Millisecond), Rule: "new", Priority: "Notice"}
			if err := s.Insert(ctx, []*alert.Alert{a, a}); err != nil {
				insertErr = err
				return
			}
		}
	}()
	for f.After != nil {
		time.Sleep(time.Millisecond) // let the writer commit between pages
		p, err := s.List(ctx, f)
		require.NoError(t, err)
		for _, a := range p.Alerts {
			require.Equal(t, "r", a.Rule, "newer alert %d appeared after the first page", a.ID)
		}
		got = append(got, p.Alerts...)
		f.After = p.Next
	}
	close(done)
	wg.Wait()
	require.NoError(t, insertErr)
	require.Len(t, got, len(want))
	for i := range got {
		require.Equal(t, want[i].ID, got[i].ID, "position %d", i)
	}
	n, err := s.Count(ctx)
	require.NoError(t, err)
	require.Greater(t, n, int64(500), "the writer inserted while paging")
}

// testAfterSeesEveryAlertOnce follows the store with After(lastID), as the
// API's live stream does, while four goroutines insert: every alert must be
// seen exactly once, in increasing ID order. IDs must therefore become
// visible in order.
func testAfterSeesEveryAlertOnce(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	const writers, batches, size = 4, 25, 20
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				batch := make([]*alert.Alert, size)
				for i := range batch {
					batch[i] = &alert.Alert{Time: T0.Add(time.Duration(b*size+i) * time.Millisecond), Rule: "w" + strconv.Itoa(w), Priority: "Notice"}
				}
				if err := s.Insert(ctx, batch); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	seen := map[int64]bool{}
	var last int64
	for done := false; ; {
		select {
		case <-finished:
			done = true
		default:
		}
		as, err := s.After(ctx, last, 50)
		require.NoError(t, err)
		for _, a := range as {
			require.Greater(t, a.ID, last, "After returns increasing IDs")
			require.False(t, seen[a.ID], "alert %d seen twice", a.ID)
			seen[a.ID] = true
			last = a.ID
		}
		if done && len(as) == 0 {
			break
		}
	}
	close(errc)
	require.NoError(t, <-errc)
	require.Len(t, seen, writers*batches*size, "every alert seen once")
	id, err := s.LastID(ctx)
	require.NoError(t, err)
	require.Equal(t, last, id)
}

// testReadersDuringWrite reads while a large batch is being written: every
// read succeeds and sees the batch entirely or not at all.
func testReadersDuringWrite(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	small := make([]*alert.Alert, 100)
	for i := range small {
		small[i] = RealisticAlert(i)
	}
	require.NoError(t, s.Insert(ctx, small))
	big := make([]*alert.Alert, 20000)
	for i := range big {
		big[i] = RealisticAlert(100 + i)
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
	require.NoError(t, writeErr)
	n, err := s.Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 20100, n)
	t.Logf("%d rounds of 3 concurrent readers during the write", reads)
}

func testSetStatus(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	require.NoError(t, s.Insert(ctx, FilterFixture()[:1]))
	id := ListAll(t, s, store.Filter{})[0].ID
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
	last, lastNote := store.StatusOpen, ""
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.SetStatus(ctx, tt.id, tt.status, tt.note)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
				last, lastNote = tt.status, tt.note
			}
			a, err := s.Get(ctx, id)
			require.NoError(t, err)
			require.Equal(t, last, a.Status)
			require.Equal(t, lastNote, a.Note)
		})
	}
	_, err := s.Get(ctx, id+100)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testPrune(t *testing.T, open Opener) {
	tests := []struct {
		name      string
		olderThan time.Time
		maxRows   int
		deleted   int
		left      string
	}{
		{"nothing", time.Time{}, 0, 0, "a7 a6 a5 a4 a3 a2 a1 a0"},
		{"by age", T0.Add(5 * time.Minute), 0, 5, "a7 a6 a5"},
		{"by size", time.Time{}, 3, 5, "a7 a6 a5"},
		{"size above count", time.Time{}, 100, 0, "a7 a6 a5 a4 a3 a2 a1 a0"},
		{"age then size", T0.Add(2 * time.Minute), 4, 4, "a7 a6 a5 a4"},
		{"age newer than all", T0.Add(time.Hour), 0, 8, ""},
		{"age exactly two", T0.Add(2 * time.Minute), 0, 2, "a7 a6 a5 a4 a3 a2"},
		{"size zero rows kept is no limit", time.Time{}, 0, 0, "a7 a6 a5 a4 a3 a2 a1 a0"},
		{"size one", time.Time{}, 1, 7, "a7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t, open)
			ctx := context.Background()
			require.NoError(t, s.Insert(ctx, FilterFixture()))
			n, err := s.Prune(ctx, tt.olderThan, tt.maxRows)
			require.NoError(t, err)
			require.Equal(t, tt.deleted, n)
			require.Equal(t, tt.left, names(ListAll(t, s, store.Filter{})))
		})
	}
}

// testPruneBySizeWithTies keeps exactly the newest maxRows when many alerts
// share a time: the id breaks the tie.
func testPruneBySizeWithTies(t *testing.T, open Opener) {
	for _, keep := range []int{1, 3, 9, 10} {
		t.Run(strconv.Itoa(keep), func(t *testing.T) {
			s := fresh(t, open)
			ctx := context.Background()
			var batch []*alert.Alert
			for i := range 10 {
				batch = append(batch, &alert.Alert{Time: T0, Rule: "r", Output: strconv.Itoa(i)})
			}
			require.NoError(t, s.Insert(ctx, batch))
			before := ListAll(t, s, store.Filter{})
			n, err := s.Prune(ctx, time.Time{}, keep)
			require.NoError(t, err)
			require.Equal(t, 10-keep, n)
			require.Equal(t, before[:keep], ListAll(t, s, store.Filter{}), "the newest %d are kept", keep)
		})
	}
}

func testStats(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	require.NoError(t, s.Insert(ctx, FilterFixture()))
	tests := []struct {
		name         string
		since, until time.Time
		want         store.Stats
	}{
		{"all", time.Time{}, time.Time{}, store.Stats{Total: 8,
			ByPriority: map[string]int64{"Notice": 1, "Warning": 1, "Error": 1, "Critical": 1, "Debug": 1,
				"Emergency": 1, "Informational": 1, "Weird": 1},
			ByRule:      map[string]int64{"shell": 3, "write etc": 2, "netcat": 2, "odd": 1},
			ByNamespace: map[string]int64{"prod": 5, "dev": 2, "": 1}}},
		{"window", T0.Add(4 * time.Minute), T0.Add(6 * time.Minute), store.Stats{Total: 2,
			ByPriority: map[string]int64{"Debug": 1, "Emergency": 1},
			ByRule:     map[string]int64{"netcat": 2}, ByNamespace: map[string]int64{"prod": 1, "dev": 1}}},
		{"empty", T0.Add(time.Hour), time.Time{}, store.Stats{ByPriority: map[string]int64{},
			ByRule: map[string]int64{}, ByNamespace: map[string]int64{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := s.Stats(ctx, tt.since, tt.until)
			require.NoError(t, err)
			require.Equal(t, tt.want, st)
		})
	}
}

// testCountColumn: an aggregated follow-up is stored with its vigil.count
// as its Count, and Stats and Series weigh alerts by it.
func testCountColumn(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	first := &alert.Alert{Time: T0, Rule: "R", Priority: "Warning", Source: "k8s_audit", Output: "o", Hostname: "h",
		OutputFields: map[string]any{"ka.user.name": "bob"}}
	follow := *first
	follow.Time = T0.Add(time.Second)
	follow.OutputFields = map[string]any{"ka.user.name": "bob", alert.CountField: int64(37)}
	require.NoError(t, s.Insert(ctx, []*alert.Alert{first, &follow}))
	p, err := s.List(ctx, store.Filter{})
	require.NoError(t, err)
	require.Len(t, p.Alerts, 2)
	require.EqualValues(t, 37, p.Alerts[0].Count)
	require.EqualValues(t, 37, p.Alerts[0].OutputFields[alert.CountField], "the field is kept too")
	require.EqualValues(t, 1, p.Alerts[1].Count)
	st, err := s.Stats(ctx, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.EqualValues(t, 38, st.Total)
	require.EqualValues(t, 38, st.ByRule["R"])
	series, err := s.Series(ctx, T0.Truncate(time.Hour), T0.Add(time.Hour), time.Hour)
	require.NoError(t, err)
	require.Len(t, series, 1)
	require.EqualValues(t, 38, series[0].ByPriority["Warning"])
}

func testSeries(t *testing.T, open Opener) {
	s := fresh(t, open)
	ctx := context.Background()
	require.NoError(t, s.Insert(ctx, FilterFixture()))
	hour := T0.Truncate(time.Hour)
	tests := []struct {
		name         string
		since, until time.Time
		bucket       time.Duration
		want         []store.SeriesPoint
		wantErr      error
	}{
		{"one bucket", hour, hour.Add(time.Hour), time.Hour,
			[]store.SeriesPoint{{Time: hour, ByPriority: map[string]int64{"Notice": 1, "Warning": 1, "Error": 1,
				"Critical": 1, "Debug": 1, "Emergency": 1, "Informational": 1, "Weird": 1}}}, nil},
		// a2 at 10:02:00.12, a3-a5 at 10:03-10:05, a6 at 10:06; buckets
		// are aligned on the Unix epoch.
		{"buckets of 3 minutes", T0.Add(2 * time.Minute), T0.Add(7 * time.Minute), 3 * time.Minute,
			[]store.SeriesPoint{
				{Time: hour, ByPriority: map[string]int64{"Error": 1}},
				{Time: hour.Add(3 * time.Minute), ByPriority: map[string]int64{"Critical": 1, "Debug": 1, "Emergency": 1}},
				{Time: hour.Add(6 * time.Minute), ByPriority: map[string]int64{"Informational": 1}},
			}, nil},
		{"empty buckets left out", T0.Add(-10 * time.Minute), T0.Add(8 * time.Minute), time.Minute,
			[]store.SeriesPoint{
				{Time: hour, ByPriority: map[string]int64{"Notice": 1}},
				{Time: hour.Add(time.Minute), ByPriority: map[string]int64{"Warning": 1}},
				{Time: hour.Add(2 * time.Minute), ByPriority: map[string]int64{"Error": 1}},
				{Time: hour.Add(3 * time.Minute), ByPriority: map[string]int64{"Critical": 1}},
				{Time: hour.Add(4 * time.Minute), ByPriority: map[string]int64{"Debug": 1}},
				{Time: hour.Add(5 * time.Minute), ByPriority: map[string]int64{"Emergency": 1}},
				{Time: hour.Add(6 * time.Minute), ByPriority: map[string]int64{"Informational": 1}},
				{Time: hour.Add(7 * time.Minute), ByPriority: map[string]int64{"Weird": 1}},
			}, nil},
		{"nothing in range", T0.Add(time.Hour), T0.Add(2 * time.Hour), time.Minute, []store.SeriesPoint{}, nil},
		{"bad bucket", hour, hour.Add(time.Hour), 0, nil, store.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Series(ctx, tt.since, tt.until, tt.bucket)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func testReopenKeepsData(t *testing.T, open Opener) {
	s, at := open(t, "")
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	require.NoError(t, s.Insert(ctx, FilterFixture()))
	require.NoError(t, s.UpsertAssets(ctx, []store.Asset{{Kind: store.AssetImage, ID: "nginx", Attributes: map[string]any{"a": "b"}}}))
	before := ListAll(t, s, store.Filter{})
	require.NoError(t, s.SetStatus(ctx, before[0].ID, store.StatusAcknowledged, "mine"))
	before[0].Status, before[0].Note = store.StatusAcknowledged, "mine"
	require.NoError(t, s.Close())
	s2, _ := open(t, at)
	t.Cleanup(func() { s2.Close() })
	require.Equal(t, before, ListAll(t, s2, store.Filter{}))
	a, err := s2.Asset(ctx, store.AssetImage, "nginx")
	require.NoError(t, err)
	require.Equal(t, map[string]any{"a": "b"}, a.Attributes)
}

func testDetail(t *testing.T, open Opener) {
	ctx := context.Background()
	s := fresh(t, open)
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	a := &alert.Alert{
		Time: start.Add(time.Second), Rule: "Read sensitive file", Priority: "Warning", Source: "syscall",
		Output: "cat read /etc/shadow", Hostname: "node1",
		OutputFields: map[string]any{"container.id": "abc123def456", "container.image.repository": "nginx",
			"k8s.ns.name": "prod", "k8s.pod.name": "web-1"},
		Context: &alert.Context{
			Provenance: &alert.Provenance{
				Process:   alert.Proc{PID: 30, PPID: 20, Exe: "/usr/bin/cat", StartTime: start},
				Ancestors: []alert.Proc{{PID: 20, PPID: 10, Exe: "/bin/sh"}, {PID: 10, PPID: 1, Exe: "/bin/sh"}},
			},
			Container: &alert.ContainerInfo{ID: "abc123def456aaaa", Privileged: true, Pod: &alert.PodInfo{Name: "web-1"}},
		},
	}
	plain := &alert.Alert{Time: start, Rule: "audit", Priority: "Notice", Source: "k8s_audit", Hostname: "node1"}
	require.NoError(t, s.Insert(ctx, []*alert.Alert{plain, a}))
	first, err := s.LastID(ctx)
	require.NoError(t, err)
	plainID, id := first-1, first
	require.NoError(t, s.RecordExecs(ctx, []store.ExecRecord{
		{Host: "node1", Proc: alert.Proc{PID: 31, PPID: 30, Exe: "/bin/child", StartTime: start.Add(2 * time.Second)}},
		{Host: "node1", Proc: alert.Proc{PID: 32, PPID: 30, Exe: "/bin/old", StartTime: start.Add(-time.Hour)}}, // an earlier process with the same pid
		{Host: "node2", Proc: alert.Proc{PID: 33, PPID: 30, Exe: "/bin/other-host", StartTime: start.Add(2 * time.Second)}},
		{Host: "node1", Proc: alert.Proc{PID: 34, PPID: 30, Exe: "/bin/child2", StartTime: start.Add(3 * time.Second)}},
	}))
	require.NoError(t, s.RecordExecs(ctx, nil))

	d, err := s.Detail(ctx, id)
	require.NoError(t, err)
	require.Equal(t, a.Context, d.Context)
	require.Len(t, d.Children, 2)
	require.Equal(t, "/bin/child", d.Children[0].Exe, "oldest child first")
	require.Equal(t, "/bin/child2", d.Children[1].Exe)
	require.Equal(t, []store.TimelineEntry{{Time: a.Time, Kind: store.KindAlert, Text: a.Rule}}, d.Timeline)

	up, err := s.UpdateStatus(ctx, id, store.StatusAcknowledged, "looking", "alice")
	require.NoError(t, err)
	require.Equal(t, store.StatusAcknowledged, up.Status)
	require.Equal(t, "looking", up.Note)
	require.Equal(t, id, up.ID)
	noteTime := time.Date(2025, 3, 2, 0, 0, 0, 5, time.UTC)
	require.NoError(t, s.AddTimeline(ctx, id, store.TimelineEntry{Time: noteTime, Kind: store.KindNote, Actor: "bob", Text: "benign"}))
	d, err = s.Detail(ctx, id)
	require.NoError(t, err)
	require.Len(t, d.Timeline, 3)
	require.Equal(t, []string{store.KindAlert, store.KindStatus, store.KindNote}, []string{d.Timeline[0].Kind, d.Timeline[1].Kind, d.Timeline[2].Kind})
	require.Equal(t, "alice", d.Timeline[1].Actor)
	require.Equal(t, "acknowledged: looking", d.Timeline[1].Text)
	require.WithinDuration(t, time.Now(), d.Timeline[1].Time, time.Minute)
	require.Equal(t, store.TimelineEntry{Time: noteTime, Kind: store.KindNote, Actor: "bob", Text: "benign"}, d.Timeline[2])

	d, err = s.Detail(ctx, plainID)
	require.NoError(t, err)
	require.Nil(t, d.Context)
	require.Empty(t, d.Children)

	for name, err := range map[string]error{
		"detail":   func() error { _, err := s.Detail(ctx, id+99); return err }(),
		"status":   func() error { _, err := s.UpdateStatus(ctx, id+99, store.StatusOpen, "", ""); return err }(),
		"timeline": s.AddTimeline(ctx, id+99, store.TimelineEntry{Kind: store.KindNote}),
	} {
		require.ErrorIs(t, err, store.ErrNotFound, name)
	}
	_, err = s.UpdateStatus(ctx, id, "bogus", "", "")
	require.ErrorIs(t, err, store.ErrInvalid)

	after, err := s.After(ctx, 0, 10)
	require.NoError(t, err)
	require.Len(t, after, 2)
	require.Equal(t, plainID, after[0].ID)
	after, err = s.After(ctx, plainID, 10)
	require.NoError(t, err)
	require.Len(t, after, 1)
	require.Equal(t, id, after[0].ID)

	// Pruning by age drops the children recorded before the cut; the
	// alert's timeline goes with the alert.
	_, err = s.Prune(ctx, start.Add(2*time.Second+time.Nanosecond), 0)
	require.NoError(t, err)
	_, err = s.Detail(ctx, id)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, s.Insert(ctx, []*alert.Alert{a}))
	id, err = s.LastID(ctx)
	require.NoError(t, err)
	d, err = s.Detail(ctx, id)
	require.NoError(t, err)
	require.Len(t, d.Children, 1, "the child started before the prune cut is gone")
	require.Equal(t, "/bin/child2", d.Children[0].Exe)
	require.Len(t, d.Timeline, 1, "a new alert starts a new timeline")
}

func testAssets(t *testing.T, open Opener) {
	ctx := context.Background()
	s := fresh(t, open)
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	mk := func(d time.Duration, ctr string) *alert.Alert {
		return &alert.Alert{Time: t0.Add(d), Rule: "r", Priority: "Warning", Source: "syscall", Hostname: "node1",
			OutputFields: map[string]any{"container.id": ctr, "container.image.repository": "nginx", "k8s.ns.name": "prod", "k8s.pod.name": "web"}}
	}
	require.NoError(t, s.Insert(ctx, []*alert.Alert{mk(0, "c1"), mk(time.Minute, "c1"), mk(2*time.Minute, "c2")}))
	require.NoError(t, s.UpsertAssets(ctx, []store.Asset{{Kind: store.AssetContainer, ID: "c1", Name: "web-ctr",
		FirstSeen: t0.Add(-time.Hour), LastSeen: t0.Add(-time.Hour), Attributes: map[string]any{"runtime": "containerd"}}}))

	tests := []struct {
		kind, id    string
		name        string
		alerts      int64
		first, last time.Time
	}{
		{store.AssetHost, "node1", "node1", 3, t0, t0.Add(2 * time.Minute)},
		{store.AssetContainer, "c1", "web-ctr", 2, t0.Add(-time.Hour), t0.Add(time.Minute)},
		{store.AssetContainer, "c2", "", 1, t0.Add(2 * time.Minute), t0.Add(2 * time.Minute)},
		{store.AssetImage, "nginx", "", 3, t0, t0.Add(2 * time.Minute)},
		{store.AssetPod, "prod/web", "", 3, t0, t0.Add(2 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"/"+tt.id, func(t *testing.T) {
			a, err := s.Asset(ctx, tt.kind, tt.id)
			require.NoError(t, err)
			require.Equal(t, tt.name, a.Name)
			require.Equal(t, tt.alerts, a.Alerts)
			require.Equal(t, tt.first, a.FirstSeen)
			require.Equal(t, tt.last, a.LastSeen)
		})
	}
	a, err := s.Asset(ctx, store.AssetContainer, "c1")
	require.NoError(t, err)
	require.Equal(t, map[string]any{"runtime": "containerd"}, a.Attributes)
	list, err := s.Assets(ctx, store.AssetContainer)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "c2", list[0].ID, "most recently seen first")
	pods, err := s.Assets(ctx, store.AssetPod)
	require.NoError(t, err)
	require.Len(t, pods, 1)
	require.Equal(t, "prod/web", pods[0].ID)
	_, err = s.Asset(ctx, store.AssetPod, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Assets(ctx, "volumes")
	require.ErrorIs(t, err, store.ErrInvalid)
}

// testUpsertAssets checks how UpsertAssets merges into known assets: name
// replaced when given, attributes merged as a JSON merge patch, times
// widened, alert counts added, invalid batches refused whole.
func testUpsertAssets(t *testing.T, open Opener) {
	ctx := context.Background()
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	base := store.Asset{Kind: store.AssetImage, ID: "nginx", Name: "nginx:1", FirstSeen: t0, LastSeen: t0.Add(time.Hour),
		Attributes: map[string]any{"digest": "sha256:aa", "labels": map[string]any{"a": "1", "b": "2"}, "os": "linux"}, Alerts: 2}
	tests := []struct {
		name   string
		update []store.Asset
		want   store.Asset
	}{
		{"same again adds alerts", []store.Asset{base}, func() store.Asset { a := base; a.Alerts = 4; return a }()},
		{"empty name and attributes keep the old", []store.Asset{{Kind: store.AssetImage, ID: "nginx",
			FirstSeen: t0.Add(time.Minute), LastSeen: t0.Add(time.Minute)}}, base},
		{"times widen", []store.Asset{{Kind: store.AssetImage, ID: "nginx", FirstSeen: t0.Add(-time.Hour), LastSeen: t0.Add(2 * time.Hour)}},
			func() store.Asset {
				a := base
				a.FirstSeen, a.LastSeen = t0.Add(-time.Hour), t0.Add(2*time.Hour)
				return a
			}()},
		{"merge patch", []store.Asset{{Kind: store.AssetImage, ID: "nginx", Name: "nginx:2", FirstSeen: t0,
			Attributes: map[string]any{"digest": "sha256:bb", "os": nil, "labels": map[string]any{"b": nil, "c": "3"}, "n": 7}}},
			func() store.Asset {
				a := base
				a.Name = "nginx:2"
				a.Attributes = map[string]any{"digest": "sha256:bb", "labels": map[string]any{"a": "1", "c": "3"}, "n": int64(7)}
				return a
			}()},
		{"twice in one batch", []store.Asset{
			{Kind: store.AssetImage, ID: "nginx", Name: "x", FirstSeen: t0, Attributes: map[string]any{"k": "1"}, Alerts: 1},
			{Kind: store.AssetImage, ID: "nginx", FirstSeen: t0, Attributes: map[string]any{"k": "2", "digest": nil}, Alerts: 1}},
			func() store.Asset {
				a := base
				a.Name, a.Alerts = "x", 4
				a.Attributes = map[string]any{"k": "2", "os": "linux", "labels": map[string]any{"a": "1", "b": "2"}}
				return a
			}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t, open)
			require.NoError(t, s.UpsertAssets(ctx, []store.Asset{base}))
			require.NoError(t, s.UpsertAssets(ctx, tt.update))
			got, err := s.Asset(ctx, base.Kind, base.ID)
			require.NoError(t, err)
			want := tt.want
			want.Attributes = normalize(want.Attributes)
			require.Equal(t, want, got)
		})
	}
	t.Run("invalid batch is refused whole", func(t *testing.T) {
		s := fresh(t, open)
		for _, bad := range []store.Asset{{Kind: "volumes", ID: "v"}, {Kind: store.AssetHost}} {
			err := s.UpsertAssets(ctx, []store.Asset{{Kind: store.AssetHost, ID: "ok", FirstSeen: t0}, bad})
			require.ErrorIs(t, err, store.ErrInvalid)
		}
		_, err := s.Asset(ctx, store.AssetHost, "ok")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.NoError(t, s.UpsertAssets(ctx, nil))
	})
	t.Run("zero times are now", func(t *testing.T) {
		s := fresh(t, open)
		require.NoError(t, s.UpsertAssets(ctx, []store.Asset{{Kind: store.AssetHost, ID: "h"}}))
		a, err := s.Asset(ctx, store.AssetHost, "h")
		require.NoError(t, err)
		require.WithinDuration(t, time.Now(), a.FirstSeen, time.Minute)
		require.Equal(t, a.FirstSeen, a.LastSeen)
		require.Equal(t, map[string]any{}, a.Attributes)
	})
}

// normalize returns m as a store returns attributes: integers as int64.
func normalize(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		switch v := v.(type) {
		case int:
			out[k] = int64(v)
		case map[string]any:
			out[k] = normalize(v)
		default:
			out[k] = v
		}
	}
	return out
}

func testAccounts(t *testing.T, open Opener) {
	ctx := context.Background()
	s := fresh(t, open)
	created := time.Date(2024, 5, 1, 0, 0, 0, 7, time.UTC)
	require.NoError(t, s.CreateUser(ctx, store.User{Name: "admin", Role: store.RoleAdmin, PasswordHash: "h", Created: created}))
	require.NoError(t, s.CreateUser(ctx, store.User{Name: "Bob", Role: store.RoleViewer, PasswordHash: "h2"}))
	require.ErrorIs(t, s.CreateUser(ctx, store.User{Name: "admin", Role: store.RoleViewer, PasswordHash: "h"}), store.ErrConflict)
	for _, bad := range []store.User{{Name: "x", Role: "root", PasswordHash: "h"}, {Role: store.RoleAdmin, PasswordHash: "h"}, {Name: "x", Role: store.RoleAdmin}} {
		require.ErrorIs(t, s.CreateUser(ctx, bad), store.ErrInvalid)
	}
	u, err := s.User(ctx, "admin")
	require.NoError(t, err)
	require.Equal(t, store.User{Name: "admin", Role: store.RoleAdmin, PasswordHash: "h", Created: created}, u)
	users, err := s.Users(ctx)
	require.NoError(t, err)
	require.Len(t, users, 2)
	require.Equal(t, "Bob", users[0].Name, "by name")
	require.NoError(t, s.DeleteUser(ctx, "admin"))
	require.ErrorIs(t, s.DeleteUser(ctx, "admin"), store.ErrNotFound)
	_, err = s.User(ctx, "admin")
	require.ErrorIs(t, err, store.ErrNotFound)

	toks, err := s.Tokens(ctx)
	require.NoError(t, err)
	require.Empty(t, toks)
	require.NoError(t, s.CreateToken(ctx, store.Token{ID: "t1", Name: "ci", Role: store.RoleViewer, Hash: "aa", Created: created}))
	require.NoError(t, s.CreateToken(ctx, store.Token{ID: "t0", Name: "later", Role: store.RoleAdmin, Hash: "bb", Created: created.Add(time.Second)}))
	require.ErrorIs(t, s.CreateToken(ctx, store.Token{ID: "t2", Name: "ci2", Role: store.RoleViewer, Hash: "aa"}), store.ErrConflict)
	require.ErrorIs(t, s.CreateToken(ctx, store.Token{ID: "t1", Name: "ci3", Role: store.RoleViewer, Hash: "cc"}), store.ErrConflict)
	require.ErrorIs(t, s.CreateToken(ctx, store.Token{ID: "t3", Name: "x", Role: "root", Hash: "dd"}), store.ErrInvalid)
	tok, err := s.TokenByHash(ctx, "aa")
	require.NoError(t, err)
	require.Equal(t, store.Token{ID: "t1", Name: "ci", Role: store.RoleViewer, Hash: "aa", Created: created}, tok)
	require.True(t, tok.LastUsed.IsZero())
	used := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.TouchToken(ctx, "t1", used))
	toks, err = s.Tokens(ctx)
	require.NoError(t, err)
	require.Len(t, toks, 2)
	require.Equal(t, "t1", toks[0].ID, "oldest first")
	require.Equal(t, used, toks[0].LastUsed)
	require.NoError(t, s.DeleteToken(ctx, "t1"))
	require.ErrorIs(t, s.DeleteToken(ctx, "t1"), store.ErrNotFound)
	_, err = s.TokenByHash(ctx, "aa")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NotContains(t, err.Error(), "aa", "the hash is not echoed")
}

// testSink checks the batching sink over the store: full batches at once,
// the rest on the timer or at Close.
func testSink(t *testing.T, open Opener) {
	ctx := context.Background()
	s := fresh(t, open)
	sink := store.NewSink(s, 10, 50*time.Millisecond)
	mk := func(i int) *alert.Alert {
		return &alert.Alert{Time: time.Unix(1_700_000_000, int64(i)).UTC(), Rule: "R", Priority: "Warning",
			Source: "k8s_audit", Output: "o", OutputFields: map[string]any{"ka.target.namespace": "ns"}, Hostname: "h"}
	}
	for i := range 25 {
		require.NoError(t, sink.Send(ctx, mk(i)))
	}
	n, err := s.Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 20, n, "two full batches inserted at once")
	require.Eventually(t, func() bool {
		n, err := s.Count(ctx)
		return err == nil && n == 25
	}, 5*time.Second, 10*time.Millisecond, "the timer flushes the partial batch")
	require.NoError(t, sink.Send(ctx, mk(99)))
	require.NoError(t, sink.Close())
	n, err = s.Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 26, n, "Close flushes")
	require.ErrorIs(t, sink.Send(ctx, mk(100)), alert.ErrClosed)

	// A failed insert is reported, once.
	bad := store.NewSink(s, 1, time.Hour)
	require.ErrorIs(t, bad.Send(ctx, &alert.Alert{Rule: "zero time"}), store.ErrInvalid)
	require.NoError(t, bad.Send(ctx, mk(101)))
	require.NoError(t, bad.Close())
	n, err = s.Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 27, n, "the alert after the bad one is stored")
}

// RealisticAlert returns a syscall alert shaped like Falco's "Terminal
// shell in container", varied by i: 22 namespaces, 6 rules, 977
// containers, 17 hosts, times T0 + i ms.
func RealisticAlert(i int) *alert.Alert {
	ns := namespaces[i%len(namespaces)]
	return &alert.Alert{
		Time:     T0.Add(time.Duration(i) * time.Millisecond),
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

// BenchmarkFilters are the listings the stores' BenchmarkList measure on
// RealisticAlert rows (rows is the number built).
func BenchmarkFilters(rows int) []struct {
	Name   string
	Filter store.Filter
} {
	return []struct {
		Name   string
		Filter store.Filter
	}{
		{"newest100", store.Filter{Limit: 100}},
		{"newest100/namespace", store.Filter{Limit: 100, Namespace: "team-07"}},
		{"newest100/namespace+minprio", store.Filter{Limit: 100, Namespace: "team-07", MinPriority: "Error"}},
		{"newest100/rule", store.Filter{Limit: 100, Rules: []string{"Write below etc"}}},
		{"newest100/two_rules", store.Filter{Limit: 100, Rules: []string{"Write below etc", "Terminal shell in container"}}},
		{"newest100/open_or_acknowledged", store.Filter{Limit: 100, Statuses: []store.Status{store.StatusOpen, store.StatusAcknowledged}}},
		{"newest100/text", store.Filter{Limit: 100, Text: "app-976 "}},
		{"page_at_half", store.Filter{Limit: 100, After: &store.Cursor{Time: T0.Add(time.Duration(rows/2) * time.Millisecond), ID: int64(rows / 2)}}},
	}
}
