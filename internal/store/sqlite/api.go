package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/store"
)

var (
	_ store.AlertAPI = (*Store)(nil)
	_ store.Accounts = (*Store)(nil)
)

// upsertAsset creates an asset or merges into the known one: the earliest
// first_seen, the latest last_seen, alerts added, a non-empty name and
// attributes merged (json_patch) when given.
const upsertAsset = `INSERT INTO asset (kind, id, name, first_seen, last_seen, attributes, alerts)
	VALUES (?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (kind, id) DO UPDATE SET
		first_seen = min(first_seen, excluded.first_seen),
		last_seen  = max(last_seen, excluded.last_seen),
		alerts     = alerts + excluded.alerts,
		name       = CASE WHEN excluded.name <> '' THEN excluded.name ELSE name END,
		attributes = CASE WHEN excluded.attributes <> '{}' THEN json_patch(attributes, excluded.attributes) ELSE attributes END`

func flushAssets(ctx context.Context, m store.AssetCounts, stmt *sql.Stmt) error {
	for k, e := range m {
		name := k.Name()
		if _, err := stmt.ExecContext(ctx, k.Kind, k.ID, name, e.First, e.Last, "{}", e.N); err != nil {
			return fmt.Errorf("asset %s %s: %w", k.Kind, k.ID, err)
		}
	}
	return nil
}

// pruneRelated deletes the timelines of deleted alerts and exec records
// older than olderThan.
func (s *Store) pruneRelated(ctx context.Context, olderThan time.Time) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM alert_timeline WHERE NOT EXISTS
		(SELECT 1 FROM alert WHERE alert.id = alert_timeline.alert_id)`); err != nil {
		return fmt.Errorf("prune alert timelines: %w", classify(err))
	}
	if !olderThan.IsZero() {
		if _, err := s.w.ExecContext(ctx, `DELETE FROM exec_record WHERE start < ?`, clampNanos(olderThan)); err != nil {
			return fmt.Errorf("prune exec records: %w", classify(err))
		}
	}
	return nil
}

// Detail returns alert id with its context, children and timeline, read in
// one snapshot.
func (s *Store) Detail(ctx context.Context, id int64) (store.Detail, error) {
	var d store.Detail
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return d, fmt.Errorf("get alert %d: %w", id, classify(err))
	}
	defer tx.Rollback()
	var ctxJSON string
	row := tx.QueryRowContext(ctx, `SELECT `+columns+`, context FROM alert WHERE id = ?`, id)
	d.StoredAlert, err = scanAlert(scanExtra{row, &ctxJSON})
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("get alert %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("get alert %d: %w", id, classify(err))
	}
	if ctxJSON != "" {
		d.Context = new(alert.Context)
		if err := json.Unmarshal([]byte(ctxJSON), d.Context); err != nil {
			return d, fmt.Errorf("get alert %d: context: %w", id, err)
		}
		d.StoredAlert.Context = d.Context
	}
	d.Timeline = []store.TimelineEntry{{Time: d.Time, Kind: store.KindAlert, Text: d.Rule}}
	rows, err := tx.QueryContext(ctx, `SELECT time, kind, actor, text FROM alert_timeline WHERE alert_id = ? ORDER BY id`, id)
	if err != nil {
		return d, fmt.Errorf("get alert %d timeline: %w", id, classify(err))
	}
	for rows.Next() {
		var e store.TimelineEntry
		var ns int64
		if err := rows.Scan(&ns, &e.Kind, &e.Actor, &e.Text); err != nil {
			rows.Close()
			return d, fmt.Errorf("get alert %d timeline: %w", id, err)
		}
		e.Time = time.Unix(0, ns).UTC()
		d.Timeline = append(d.Timeline, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return d, fmt.Errorf("get alert %d timeline: %w", id, classify(err))
	}
	if d.Context != nil && d.Context.Provenance != nil {
		p := d.Context.Provenance.Process
		rows, err := tx.QueryContext(ctx, `SELECT proc FROM exec_record WHERE host = ? AND ppid = ? AND start >= ?
			ORDER BY start LIMIT 1000`, d.Hostname, p.PID, p.StartTime.UnixNano())
		if err != nil {
			return d, fmt.Errorf("get alert %d children: %w", id, classify(err))
		}
		defer rows.Close()
		for rows.Next() {
			var js string
			var c alert.Proc
			if err := rows.Scan(&js); err != nil {
				return d, fmt.Errorf("get alert %d children: %w", id, err)
			}
			if err := json.Unmarshal([]byte(js), &c); err != nil {
				return d, fmt.Errorf("get alert %d children: %w", id, err)
			}
			d.Children = append(d.Children, c)
		}
		if err := rows.Err(); err != nil {
			return d, fmt.Errorf("get alert %d children: %w", id, classify(err))
		}
	}
	return d, nil
}

// scanExtra scans the alert columns followed by extra ones.
type scanExtra struct {
	sc    interface{ Scan(...any) error }
	extra *string
}

func (e scanExtra) Scan(dst ...any) error { return e.sc.Scan(append(dst, e.extra)...) }

// UpdateStatus sets the status and note of alert id and records the change
// in its timeline, in one transaction.
func (s *Store) UpdateStatus(ctx context.Context, id int64, status store.Status, note, actor string) (store.StoredAlert, error) {
	if !status.Valid() {
		return store.StoredAlert{}, fmt.Errorf("set status of alert %d: status %q: %w", id, status, store.ErrInvalid)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return store.StoredAlert{}, fmt.Errorf("set status of alert %d: %w", id, classify(err))
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE alert SET status = ?, note = ? WHERE id = ?`, string(status), note, id)
	if err != nil {
		return store.StoredAlert{}, fmt.Errorf("set status of alert %d: %w", id, classify(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.StoredAlert{}, fmt.Errorf("set status of alert %d: %w", id, store.ErrNotFound)
	}
	text := string(status)
	if note != "" {
		text += ": " + note
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_timeline (alert_id, time, kind, actor, text) VALUES (?, ?, ?, ?, ?)`,
		id, time.Now().UnixNano(), store.KindStatus, actor, text); err != nil {
		return store.StoredAlert{}, fmt.Errorf("set status of alert %d: timeline: %w", id, classify(err))
	}
	a, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+columns+` FROM alert WHERE id = ?`, id))
	if err != nil {
		return a, fmt.Errorf("set status of alert %d: %w", id, classify(err))
	}
	if err := tx.Commit(); err != nil {
		return a, fmt.Errorf("set status of alert %d: commit: %w", id, classify(err))
	}
	return a, nil
}

// AddTimeline appends e to the timeline of alert id.
func (s *Store) AddTimeline(ctx context.Context, id int64, e store.TimelineEntry) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO alert_timeline (alert_id, time, kind, actor, text)
		SELECT id, ?, ?, ?, ? FROM alert WHERE id = ?`, clampNanos(e.Time), e.Kind, e.Actor, e.Text, id)
	if err != nil {
		return fmt.Errorf("add %s to alert %d: %w", e.Kind, id, classify(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("add %s to alert %d: %w", e.Kind, id, store.ErrNotFound)
	}
	return nil
}

// After returns up to limit alerts with an ID above id, oldest first.
func (s *Store) After(ctx context.Context, id int64, limit int) ([]store.StoredAlert, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+columns+` FROM alert WHERE id > ? ORDER BY id LIMIT ?`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("alerts after %d: %w", id, classify(err))
	}
	defer rows.Close()
	var out []store.StoredAlert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("alerts after %d: %w", id, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerts after %d: %w", id, classify(err))
	}
	return out, nil
}

// LastID returns the highest alert ID, 0 when there is none.
func (s *Store) LastID(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT max(id) FROM alert`).Scan(&id); err != nil {
		return 0, fmt.Errorf("last alert id: %w", classify(err))
	}
	return id.Int64, nil
}

// RecordExecs stores process starts in one transaction.
func (s *Store) RecordExecs(ctx context.Context, recs []store.ExecRecord) error {
	if len(recs) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record %d execs: %w", len(recs), classify(err))
	}
	defer tx.Rollback()
	for _, r := range recs {
		js, err := json.Marshal(r.Proc)
		if err != nil {
			return fmt.Errorf("record exec of pid %d: %w", r.Proc.PID, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO exec_record (host, pid, ppid, start, proc) VALUES (?, ?, ?, ?, ?)`,
			r.Host, r.Proc.PID, r.Proc.PPID, clampNanos(r.Proc.StartTime), string(js)); err != nil {
			return fmt.Errorf("record exec of pid %d: %w", r.Proc.PID, classify(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record %d execs: commit: %w", len(recs), classify(err))
	}
	return nil
}

// UpsertAssets records assets in one transaction.
func (s *Store) UpsertAssets(ctx context.Context, assets []store.Asset) error {
	if len(assets) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("upsert %d assets: %w", len(assets), classify(err))
	}
	defer tx.Rollback()
	stmt := tx.StmtContext(ctx, s.upsert)
	for _, a := range assets {
		if !store.ValidAssetKind(a.Kind) || a.ID == "" {
			return fmt.Errorf("upsert asset %q %q: %w", a.Kind, a.ID, store.ErrInvalid)
		}
		attrs := []byte("{}")
		if len(a.Attributes) > 0 {
			if attrs, err = json.Marshal(a.Attributes); err != nil {
				return fmt.Errorf("upsert asset %s %s: attributes: %w", a.Kind, a.ID, err)
			}
		}
		first, last := a.FirstSeen, a.LastSeen
		if first.IsZero() {
			first = time.Now()
		}
		if last.IsZero() {
			last = first
		}
		if _, err := stmt.ExecContext(ctx, a.Kind, a.ID, a.Name, clampNanos(first), clampNanos(last), string(attrs), a.Alerts); err != nil {
			return fmt.Errorf("upsert asset %s %s: %w", a.Kind, a.ID, classify(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("upsert %d assets: commit: %w", len(assets), classify(err))
	}
	return nil
}

const assetColumns = `kind, id, name, first_seen, last_seen, attributes, alerts`

// maxAssets bounds an asset listing.
const maxAssets = 10000

// Assets lists the assets of kind, most recently seen first (at most
// 10,000).
func (s *Store) Assets(ctx context.Context, kind string) ([]store.Asset, error) {
	if !store.ValidAssetKind(kind) {
		return nil, fmt.Errorf("list assets: kind %q: %w", kind, store.ErrInvalid)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+assetColumns+` FROM asset WHERE kind = ? ORDER BY last_seen DESC LIMIT ?`, kind, maxAssets)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, classify(err))
	}
	defer rows.Close()
	out := []store.Asset{}
	for rows.Next() {
		a, err := store.ScanAsset(rows)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", kind, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, classify(err))
	}
	return out, nil
}

// Asset returns one asset, or store.ErrNotFound.
func (s *Store) Asset(ctx context.Context, kind, id string) (store.Asset, error) {
	a, err := store.ScanAsset(s.r.QueryRowContext(ctx, `SELECT `+assetColumns+` FROM asset WHERE kind = ? AND id = ?`, kind, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("get asset %s %s: %w", kind, id, store.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("get asset %s %s: %w", kind, id, classify(err))
	}
	return a, nil
}

// isConstraint reports a UNIQUE or PRIMARY KEY violation.
func isConstraint(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == 19 // SQLITE_CONSTRAINT
}

// CreateUser adds a user, or returns store.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if u.Name == "" || !u.Role.Valid() || u.PasswordHash == "" {
		return fmt.Errorf("create user %q: name, role and password hash are required: %w", u.Name, store.ErrInvalid)
	}
	if u.Created.IsZero() {
		u.Created = time.Now()
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO account (name, role, password_hash, created) VALUES (?, ?, ?, ?)`,
		u.Name, string(u.Role), u.PasswordHash, u.Created.UnixNano())
	if isConstraint(err) {
		return fmt.Errorf("create user %q: %w", u.Name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Name, classify(err))
	}
	return nil
}

func scanUser(sc interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	var role string
	var created int64
	err := sc.Scan(&u.Name, &role, &u.PasswordHash, &created)
	u.Role, u.Created = store.Role(role), time.Unix(0, created).UTC()
	return u, err
}

// User returns a user, or store.ErrNotFound.
func (s *Store) User(ctx context.Context, name string) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT name, role, password_hash, created FROM account WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("user %q: %w", name, classify(err))
	}
	return u, nil
}

// Users lists the users by name.
func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, role, password_hash, created FROM account ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", classify(err))
	}
	defer rows.Close()
	out := []store.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// DeleteUser removes a user, or returns store.ErrNotFound.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.deleteOne(ctx, `DELETE FROM account WHERE name = ?`, "user", name)
}

func (s *Store) deleteOne(ctx context.Context, q, what, key string) error {
	res, err := s.w.ExecContext(ctx, q, key)
	if err != nil {
		return fmt.Errorf("delete %s %q: %w", what, key, classify(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete %s %q: %w", what, key, store.ErrNotFound)
	}
	return nil
}

// CreateToken adds an API token, or returns store.ErrConflict.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	if t.ID == "" || t.Hash == "" || !t.Role.Valid() {
		return fmt.Errorf("create token %q: id, hash and role are required: %w", t.Name, store.ErrInvalid)
	}
	if t.Created.IsZero() {
		t.Created = time.Now()
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO api_token (id, name, role, hash, created) VALUES (?, ?, ?, ?, ?)`,
		t.ID, t.Name, string(t.Role), t.Hash, t.Created.UnixNano())
	if isConstraint(err) {
		return fmt.Errorf("create token %q: %w", t.Name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create token %q: %w", t.Name, classify(err))
	}
	return nil
}

const tokenColumns = `id, name, role, hash, created, last_used`

func scanToken(sc interface{ Scan(...any) error }) (store.Token, error) {
	var t store.Token
	var role string
	var created, used int64
	err := sc.Scan(&t.ID, &t.Name, &role, &t.Hash, &created, &used)
	t.Role, t.Created = store.Role(role), time.Unix(0, created).UTC()
	if used != 0 {
		t.LastUsed = time.Unix(0, used).UTC()
	}
	return t, err
}

// Tokens lists the API tokens, oldest first.
func (s *Store) Tokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_token ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", classify(err))
	}
	defer rows.Close()
	out := []store.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TokenByHash returns the token with this secret hash, or
// store.ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_token WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		// The hash is not echoed: it would identify a secret.
		return t, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("token: %w", classify(err))
	}
	return t, nil
}

// TouchToken sets the last use time of token id.
func (s *Store) TouchToken(ctx context.Context, id string, t time.Time) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE api_token SET last_used = ? WHERE id = ?`, t.UnixNano(), id); err != nil {
		return fmt.Errorf("touch token %s: %w", id, classify(err))
	}
	return nil
}

// DeleteToken removes a token, or returns store.ErrNotFound.
func (s *Store) DeleteToken(ctx context.Context, id string) error {
	return s.deleteOne(ctx, `DELETE FROM api_token WHERE id = ?`, "token", id)
}

var _ store.Seriesser = (*Store)(nil)

// Series counts alerts per bucket and priority.
func (s *Store) Series(ctx context.Context, since, until time.Time, bucket time.Duration) ([]store.SeriesPoint, error) {
	if bucket <= 0 {
		return nil, fmt.Errorf("alert series: bucket %s: %w", bucket, store.ErrInvalid)
	}
	b := int64(bucket)
	rows, err := s.r.QueryContext(ctx, `SELECT time - (time % ?) AS t, priority, sum(count) FROM alert
		WHERE time >= ? AND time < ? GROUP BY 1, 2 ORDER BY 1`, b, clampNanos(since), clampNanos(until))
	if err != nil {
		return nil, fmt.Errorf("alert series: %w", classify(err))
	}
	defer rows.Close()
	out := []store.SeriesPoint{}
	for rows.Next() {
		var t, n int64
		var prio string
		if err := rows.Scan(&t, &prio, &n); err != nil {
			return nil, fmt.Errorf("alert series: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Time.UnixNano() != t {
			out = append(out, store.SeriesPoint{Time: time.Unix(0, t).UTC(), ByPriority: map[string]int64{}})
		}
		out[len(out)-1].ByPriority[prio] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alert series: %w", classify(err))
	}
	return out, nil
}
