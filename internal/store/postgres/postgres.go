// Package postgres is the PostgreSQL alert store, for a server that keeps
// more alerts than one SQLite file should, or several Vigil servers sharing
// one database. It implements the same interfaces with the same semantics
// as store/sqlite (store.Store, store.AlertAPI, store.Accounts,
// store.Seriesser) through github.com/jackc/pgx/v5 (pure Go) and a pgxpool
// connection pool.
//
// The schema is embedded (migrations/*.sql) and versioned in the table
// vigil_schema_version; Open applies what is missing in one transaction
// under an advisory lock, so servers starting together migrate once. Tables
// live in the first schema of the connection's search_path (public unless
// the DSN sets search_path).
//
// Insert writes a batch with COPY in one transaction. Alert IDs must become
// visible in increasing order, because the API streams new alerts with
// After(lastID): Insert therefore takes a transaction-level advisory lock
// before drawing IDs, so inserts (from every process sharing the database)
// commit one at a time, as in SQLite.
//
// Every call without a deadline gets one of Timeout; Open and each
// connection attempt time out after ConnectTimeout unless the DSN sets
// connect_timeout.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/store"
)

// Errors about the database.
var (
	// ErrNotAlertDB is returned when the schema holds an alert table that
	// Vigil did not create (no vigil_schema_version table).
	ErrNotAlertDB = errors.New("not a Vigil alert database")
	// ErrSchemaTooNew is returned for a schema written by a newer Vigil.
	ErrSchemaTooNew = errors.New("alert database was written by a newer Vigil")
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations are the embedded migration scripts in version order.
var migrations = func() []string {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		panic(err) // a constant pattern
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			panic(err) // embedded
		}
		out[i] = string(b)
	}
	return out
}()

// SchemaVersion is the schema version this package writes.
var SchemaVersion = len(migrations)

// Default timeouts.
const (
	// Timeout bounds a call whose context has no deadline.
	Timeout = 30 * time.Second
	// ConnectTimeout bounds a connection attempt when the DSN sets none.
	ConnectTimeout = 10 * time.Second
)

// Lock keys of pg_advisory_xact_lock.
const (
	lockMigrate int64 = 0x7669_6769_6c00_0001 // "vigil" + 1
	lockInsert  int64 = 0x7669_6769_6c00_0002
)

// Store is the PostgreSQL alert store. It is safe for concurrent use.
type Store struct {
	dsn  string // redacted, for errors
	pool *pgxpool.Pool

	pruneChunk int // rows deleted per Prune transaction

	closeOnce sync.Once
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.AlertAPI  = (*Store)(nil)
	_ store.Accounts  = (*Store)(nil)
	_ store.Seriesser = (*Store)(nil)
)

// IsDSN reports whether s names a PostgreSQL database (a postgres:// or
// postgresql:// URL) rather than a file or directory.
func IsDSN(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

var kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)`)

// Redact returns dsn with its password replaced by "xxxxx", for logs and
// errors. It handles URLs (user:password@, ?password=), whatever their
// scheme, and key=value strings.
func Redact(dsn string) string {
	if scheme, _, ok := strings.Cut(dsn, "://"); ok {
		u, err := url.Parse(dsn)
		if err != nil {
			return scheme + "://(unparsable DSN)"
		}
		if q := u.Query(); q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	return kvPassword.ReplaceAllString(dsn, "${1}xxxxx")
}

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value string, see pgx.ParseConfig), migrates its schema to
// SchemaVersion and returns the store. Errors name the DSN without its
// password.
func Open(ctx context.Context, dsn string) (*Store, error) {
	s := &Store{dsn: Redact(dsn), pruneChunk: 5000}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors may quote the DSN: do not wrap them.
		return nil, fmt.Errorf("open alert database %s: invalid DSN", s.dsn)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = ConnectTimeout
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "vigil"
	}
	ctx, cancel := context.WithTimeout(ctx, ConnectTimeout+Timeout)
	defer cancel()
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open alert database %s: %w", s.dsn, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("open alert database %s: %w", s.dsn, err)
	}
	return s, nil
}

// migrate brings the schema to SchemaVersion in one transaction.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockMigrate); err != nil {
		return fmt.Errorf("lock schema: %w", err)
	}
	var hasVersion, hasAlert bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('vigil_schema_version') IS NOT NULL,
		to_regclass('alert') IS NOT NULL`).Scan(&hasVersion, &hasAlert); err != nil {
		return fmt.Errorf("read schema: %w", err)
	}
	version := 0
	switch {
	case !hasVersion && hasAlert:
		return ErrNotAlertDB
	case !hasVersion:
		if _, err := tx.Exec(ctx, `CREATE TABLE vigil_schema_version (version INTEGER NOT NULL);
			INSERT INTO vigil_schema_version VALUES (0)`); err != nil {
			return fmt.Errorf("create vigil_schema_version: %w", err)
		}
	default:
		if err := tx.QueryRow(ctx, `SELECT version FROM vigil_schema_version`).Scan(&version); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
	}
	if version > SchemaVersion {
		return fmt.Errorf("%w: schema version %d, this build knows %d", ErrSchemaTooNew, version, SchemaVersion)
	}
	for v := version; v < SchemaVersion; v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v+1, err)
		}
	}
	if version != SchemaVersion {
		if _, err := tx.Exec(ctx, `UPDATE vigil_schema_version SET version = $1`, SchemaVersion); err != nil {
			return fmt.Errorf("set schema version: %w", err)
		}
	}
	return tx.Commit(ctx)
}

// Close closes the connection pool, waiting for connections in use. Later
// calls do nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(s.pool.Close)
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping alert database %s: %w", s.dsn, err)
	}
	return nil
}

// withTimeout gives ctx a deadline of Timeout when it has none.
func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, Timeout)
}

// Count returns the number of stored alerts.
func (s *Store) Count(ctx context.Context) (int64, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM alert`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count alerts: %w", err)
	}
	return n, nil
}

// minTime and maxTime bound the times that fit in Unix nanoseconds.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// clampNanos returns t in Unix nanoseconds, clamped to the int64 range.
func clampNanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var alertCopyColumns = []string{"time", "rule", "priority", "prio", "source", "output", "output_fields",
	"tags", "hostname", "container", "image", "namespace", "pod", "node", "context", "count"}

// copyRows feeds a batch of alerts to COPY, encoding each row when it is
// asked for into buffers reused across rows (pgx encodes a row before
// asking for the next). It validates each alert and counts its assets.
type copyRows struct {
	alerts []*alert.Alert
	i      int
	err    error

	fields, tags, ctxJSON []byte
	keys                  []string
	vals                  []any
	assets                store.AssetCounts
}

func (r *copyRows) Next() bool {
	if r.err != nil || r.i >= len(r.alerts) {
		return false
	}
	i := r.i
	r.i++
	a := r.alerts[i]
	if a == nil {
		r.err = fmt.Errorf("insert alert %d: nil alert: %w", i, store.ErrInvalid)
		return false
	}
	if a.Time.Before(minTime) || a.Time.After(maxTime) {
		r.err = fmt.Errorf("insert alert %d (%s): time %s out of range: %w", i, a.Rule, a.Time, store.ErrInvalid)
		return false
	}
	var err error
	r.fields, r.keys, err = alert.AppendFields(r.fields[:0], a.OutputFields, r.keys)
	if err != nil {
		r.err = fmt.Errorf("insert alert %d (%s): encode output fields: %w: %w", i, a.Rule, store.ErrInvalid, err)
		return false
	}
	r.tags = append(r.tags[:0], '[')
	for j, tag := range a.Tags {
		if j > 0 {
			r.tags = append(r.tags, ',')
		}
		r.tags = alert.AppendJSONString(r.tags, tag)
	}
	r.tags = append(r.tags, ']')
	if r.ctxJSON == nil {
		r.ctxJSON = make([]byte, 0, 512) // non-nil: a nil []byte is NULL
	}
	r.ctxJSON = r.ctxJSON[:0]
	if a.Context != nil {
		b, err := json.Marshal(a.Context)
		if err != nil {
			r.err = fmt.Errorf("insert alert %d (%s): encode context: %w: %w", i, a.Rule, store.ErrInvalid, err)
			return false
		}
		r.ctxJSON = append(r.ctxJSON, b...)
	}
	rank, _ := store.PriorityRank(a.Priority)
	c := store.Extract(a)
	if r.vals == nil {
		r.vals = make([]any, len(alertCopyColumns))
	}
	v := r.vals
	v[0], v[1], v[2], v[3], v[4], v[5] = a.Time.UnixNano(), a.Rule, a.Priority, int16(rank), a.Source, a.Output
	v[6], v[7], v[8] = r.fields, r.tags, a.Hostname
	v[9], v[10], v[11], v[12], v[13], v[14] = c.Container, c.Image, c.Namespace, c.Pod, c.Node, r.ctxJSON
	v[15] = a.Count()
	r.assets.Add(a, &c)
	return true
}

func (r *copyRows) Values() ([]any, error) { return r.vals, nil }
func (r *copyRows) Err() error             { return r.err }

// Insert stores alerts in one transaction: COPY of the rows, then one
// upsert of the assets they name.
func (s *Store) Insert(ctx context.Context, alerts []*alert.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("insert %d alerts: %w", len(alerts), err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockInsert); err != nil {
		return fmt.Errorf("insert %d alerts: lock: %w", len(alerts), err)
	}
	rows := &copyRows{alerts: alerts}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"alert"}, alertCopyColumns, rows); err != nil {
		if rows.err != nil {
			return rows.err
		}
		return fmt.Errorf("insert %d alerts: %w", len(alerts), err)
	}
	if err := flushAssets(ctx, rows.assets, tx); err != nil {
		return fmt.Errorf("insert %d alerts: %w", len(alerts), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("insert %d alerts: commit: %w", len(alerts), err)
	}
	return nil
}

const columns = `id, time, rule, priority, source, output, output_fields, tags, hostname,
	container, image, namespace, pod, node, status, note, count`

// scanAlert reads one row selected with columns, plus extra destinations.
func scanAlert(row pgx.Row, extra ...any) (store.StoredAlert, error) {
	var (
		a            store.StoredAlert
		ns           int64
		fields, tags string
		status       string
	)
	dst := append([]any{&a.ID, &ns, &a.Rule, &a.Priority, &a.Source, &a.Output, &fields, &tags,
		&a.Hostname, &a.Container, &a.Image, &a.Namespace, &a.Pod, &a.Node, &status, &a.Note, &a.Count}, extra...)
	if err := row.Scan(dst...); err != nil {
		return a, err
	}
	a.Time = time.Unix(0, ns).UTC()
	a.Status = store.Status(status)
	var err error
	if a.OutputFields, err = store.DecodeFields(fields); err != nil {
		return a, fmt.Errorf("alert %d: output fields: %w", a.ID, err)
	}
	if err := json.Unmarshal([]byte(tags), &a.Tags); err != nil {
		return a, fmt.Errorf("alert %d: tags: %w", a.ID, err)
	}
	return a, nil
}

// collectAlerts scans every row of a query selecting columns.
func collectAlerts(rows pgx.Rows) ([]store.StoredAlert, error) {
	defer rows.Close()
	var out []store.StoredAlert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Get returns the alert with id, or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (store.StoredAlert, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	a, err := scanAlert(s.pool.QueryRow(ctx, `SELECT `+columns+` FROM alert WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("get alert %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("get alert %d: %w", id, err)
	}
	return a, nil
}

// List returns one page of alerts matching f, newest first.
func (s *Store) List(ctx context.Context, f store.Filter) (store.Page, error) {
	if err := f.Validate(); err != nil {
		return store.Page{}, fmt.Errorf("list alerts: %w", err)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	limit := f.PageLimit()
	q, args := listQuery(&f, limit+1)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return store.Page{}, fmt.Errorf("list alerts: %w", err)
	}
	var p store.Page
	if p.Alerts, err = collectAlerts(rows); err != nil {
		return store.Page{}, fmt.Errorf("list alerts: %w", err)
	}
	if len(p.Alerts) > limit {
		p.Alerts = p.Alerts[:limit]
		last := p.Alerts[limit-1]
		p.Next = &store.Cursor{Time: last.Time, ID: last.ID}
	}
	return p, nil
}

// maxSplit is the most rules listQuery turns into one ordered index search
// each.
const maxSplit = 64

// args collects query parameters and returns their $n placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// listQuery builds the listing query of f returning at most limit rows.
//
// Every index ends in (time, id), so an equality on an indexed column
// yields rows in listing order and the scan stops after limit rows. Several
// rules or statuses would make PostgreSQL read every matching row and sort;
// listQuery instead runs one ordered, limited subquery per value (several
// rules, else several statuses) and merges them.
func listQuery(f *store.Filter, limit int) (string, []any) {
	var (
		conds []string
		a     args
	)
	if !f.Since.IsZero() {
		conds = append(conds, "time >= "+a.add(clampNanos(f.Since)))
	}
	if !f.Until.IsZero() {
		conds = append(conds, "time < "+a.add(clampNanos(f.Until)))
	}
	if f.After != nil {
		conds = append(conds, "(time, id) < ("+a.add(clampNanos(f.After.Time))+", "+a.add(f.After.ID)+")")
	}
	if f.MinPriority != "" {
		rank, _ := store.PriorityRank(f.MinPriority)
		conds = append(conds, "prio <= "+a.add(int16(rank)))
	}
	if f.Priority != "" {
		rank, _ := store.PriorityRank(f.Priority)
		conds = append(conds, "prio = "+a.add(int16(rank)))
	}
	for _, eq := range []struct{ col, val string }{{"container", f.Container}, {"namespace", f.Namespace}, {"pod", f.Pod}} {
		if eq.val != "" {
			conds = append(conds, eq.col+" = "+a.add(eq.val))
		}
	}
	if f.Text != "" {
		p := a.add("%" + likeEscape(f.Text) + "%")
		conds = append(conds, "(output ILIKE "+p+" OR rule ILIKE "+p+")")
	}
	statuses := make([]string, len(f.Statuses))
	for i, st := range f.Statuses {
		statuses[i] = string(st)
	}
	rules := f.Rules
	var (
		splitCol  string
		splitVals []string
	)
	switch {
	case len(rules) > 1 && len(rules) <= maxSplit:
		splitCol, splitVals, rules = "rule", rules, nil
	case len(statuses) > 1:
		splitCol, splitVals, statuses = "status", statuses, nil
	}
	for _, in := range []struct {
		col  string
		vals []string
	}{{"rule", rules}, {"status", statuses}} {
		switch len(in.vals) {
		case 0:
		case 1:
			conds = append(conds, in.col+" = "+a.add(in.vals[0]))
		default:
			conds = append(conds, in.col+" = ANY("+a.add(in.vals)+")")
		}
	}
	where := "true"
	if len(conds) > 0 {
		where = strings.Join(conds, " AND ")
	}
	lim := a.add(limit)
	order := " ORDER BY time DESC, id DESC LIMIT " + lim
	if splitCol == "" {
		return `SELECT ` + columns + ` FROM alert WHERE ` + where + order, a
	}
	var q strings.Builder
	for i, v := range splitVals {
		if i > 0 {
			q.WriteString(" UNION ALL ")
		}
		q.WriteString(`(SELECT ` + columns + ` FROM alert WHERE ` + where + ` AND ` + splitCol + ` = ` + a.add(v) + order + `)`)
	}
	q.WriteString(order)
	return q.String(), a
}

// likeEscape escapes the LIKE wildcards of s with backslash, LIKE's
// default escape character.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// SetStatus sets the status and note of alert id.
func (s *Store) SetStatus(ctx context.Context, id int64, status store.Status, note string) error {
	if !status.Valid() {
		return fmt.Errorf("set status of alert %d: status %q: %w", id, status, store.ErrInvalid)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `UPDATE alert SET status = $1, note = $2 WHERE id = $3`, string(status), note, id)
	if err != nil {
		return fmt.Errorf("set status of alert %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("set status of alert %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// Stats counts alerts, weighted by Count, with since <= Time < until, in
// one scan (one snapshot).
func (s *Store) Stats(ctx context.Context, since, until time.Time) (store.Stats, error) {
	st := store.Stats{ByPriority: map[string]int64{}, ByRule: map[string]int64{}, ByNamespace: map[string]int64{}}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !since.IsZero() {
		lo = clampNanos(since)
	}
	if !until.IsZero() {
		hi = clampNanos(until)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT grouping(priority, rule, namespace), priority, rule, namespace, sum(count)::bigint
		FROM alert WHERE time >= $1 AND time < $2
		GROUP BY GROUPING SETS ((priority), (rule), (namespace))`, lo, hi)
	if err != nil {
		return st, fmt.Errorf("alert stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			g              int32
			prio, rule, ns *string
			n              int64
		)
		if err := rows.Scan(&g, &prio, &rule, &ns, &n); err != nil {
			return st, fmt.Errorf("alert stats: %w", err)
		}
		// grouping() sets a bit for each column not grouped: 0b011 is
		// grouped by priority only, 0b101 by rule, 0b110 by namespace.
		switch g {
		case 0b011:
			st.ByPriority[*prio] = n
			st.Total += n
		case 0b101:
			st.ByRule[*rule] = n
		case 0b110:
			st.ByNamespace[*ns] = n
		}
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("alert stats: %w", err)
	}
	return st, nil
}

// Prune deletes alerts older than olderThan, then the oldest beyond
// maxRows, then the timelines of deleted alerts and exec records older than
// olderThan. It deletes in transactions of at most 5,000 alerts so inserts
// are not held up behind a large delete; if it fails part-way, the rows
// already deleted stay deleted and are counted. Alerts inserted while it
// runs are not counted against maxRows. Freed space is reused once
// autovacuum has run; the tables do not shrink.
func (s *Store) Prune(ctx context.Context, olderThan time.Time, maxRows int) (int, error) {
	n, err := s.prune(ctx, olderThan, maxRows)
	if n > 0 && err == nil {
		err = s.pruneRelated(ctx, olderThan)
	}
	return n, err
}

func (s *Store) prune(ctx context.Context, olderThan time.Time, maxRows int) (int, error) {
	deleted := 0
	if !olderThan.IsZero() {
		n, err := s.deleteChunks(ctx, `time < $1`, clampNanos(olderThan))
		deleted += n
		if err != nil {
			return deleted, fmt.Errorf("prune alerts older than %s: %w", olderThan, err)
		}
	}
	if maxRows > 0 {
		var t, id int64
		qctx, cancel := withTimeout(ctx)
		err := s.pool.QueryRow(qctx, `SELECT time, id FROM alert
			ORDER BY time DESC, id DESC LIMIT 1 OFFSET $1`, maxRows).Scan(&t, &id)
		cancel()
		if errors.Is(err, pgx.ErrNoRows) {
			return deleted, nil // at most maxRows rows
		}
		if err != nil {
			return deleted, fmt.Errorf("prune alerts to %d rows: %w", maxRows, err)
		}
		n, err := s.deleteChunks(ctx, `(time, id) <= ($1, $2)`, t, id)
		deleted += n
		if err != nil {
			return deleted, fmt.Errorf("prune alerts to %d rows: %w", maxRows, err)
		}
	}
	return deleted, nil
}

// deleteChunks deletes the rows matching cond (parameters $1...), oldest
// first, in transactions of at most s.pruneChunk rows.
func (s *Store) deleteChunks(ctx context.Context, cond string, params ...any) (int, error) {
	q := `DELETE FROM alert WHERE id IN (SELECT id FROM alert WHERE ` + cond +
		` ORDER BY time, id LIMIT $` + strconv.Itoa(len(params)+1) + `)`
	params = append(params, s.pruneChunk)
	deleted := 0
	for {
		qctx, cancel := withTimeout(ctx)
		tag, err := s.pool.Exec(qctx, q, params...)
		cancel()
		if err != nil {
			return deleted, err
		}
		n := tag.RowsAffected()
		deleted += int(n)
		if n < int64(s.pruneChunk) {
			return deleted, nil
		}
	}
}

// isUniqueViolation reports a UNIQUE or PRIMARY KEY violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
