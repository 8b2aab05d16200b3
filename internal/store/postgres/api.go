package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/store"
)

// upsertAssets creates assets or merges into known ones: the earliest
// first_seen, the latest last_seen, alerts added, a non-empty name and
// attributes merged (JSON merge patch) when given. The rows come as
// parallel arrays, so a batch is one statement.
const upsertAssets = `INSERT INTO asset AS a (kind, id, name, first_seen, last_seen, attributes, alerts)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::jsonb[], $7::bigint[])
	ON CONFLICT (kind, id) DO UPDATE SET
		first_seen = least(a.first_seen, excluded.first_seen),
		last_seen  = greatest(a.last_seen, excluded.last_seen),
		alerts     = a.alerts + excluded.alerts,
		name       = CASE WHEN excluded.name <> '' THEN excluded.name ELSE a.name END,
		attributes = CASE WHEN excluded.attributes <> '{}' THEN vigil_merge_patch(a.attributes, excluded.attributes) ELSE a.attributes END`

// assetRows are the columns of upsertAssets.
type assetRows struct {
	kind, id, name []string
	first, last    []int64
	attrs          []string
	alerts         []int64
}

func (r *assetRows) add(kind, id, name string, first, last int64, attrs string, alerts int64) {
	r.kind, r.id, r.name = append(r.kind, kind), append(r.id, id), append(r.name, name)
	r.first, r.last = append(r.first, first), append(r.last, last)
	r.attrs, r.alerts = append(r.attrs, attrs), append(r.alerts, alerts)
}

// Sorting the rows by (kind, id) makes concurrent upserts of the same
// assets lock them in the same order, so they cannot deadlock.
func (r *assetRows) Len() int { return len(r.kind) }
func (r *assetRows) Less(i, j int) bool {
	if r.kind[i] != r.kind[j] {
		return r.kind[i] < r.kind[j]
	}
	return r.id[i] < r.id[j]
}
func (r *assetRows) Swap(i, j int) {
	r.kind[i], r.kind[j] = r.kind[j], r.kind[i]
	r.id[i], r.id[j] = r.id[j], r.id[i]
	r.name[i], r.name[j] = r.name[j], r.name[i]
	r.first[i], r.first[j] = r.first[j], r.first[i]
	r.last[i], r.last[j] = r.last[j], r.last[i]
	r.attrs[i], r.attrs[j] = r.attrs[j], r.attrs[i]
	r.alerts[i], r.alerts[j] = r.alerts[j], r.alerts[i]
}

// exec upserts the rows (distinct keys) in (kind, id) order.
func (r *assetRows) exec(ctx context.Context, tx pgx.Tx) error {
	if len(r.kind) == 0 {
		return nil
	}
	sort.Sort(r)
	_, err := tx.Exec(ctx, upsertAssets, r.kind, r.id, r.name, r.first, r.last, r.attrs, r.alerts)
	return err
}

func flushAssets(ctx context.Context, m store.AssetCounts, tx pgx.Tx) error {
	var r assetRows
	for k, e := range m {
		name := k.Name()
		r.add(k.Kind, k.ID, name, e.First, e.Last, "{}", e.N)
	}
	if err := r.exec(ctx, tx); err != nil {
		return fmt.Errorf("upsert %d assets: %w", len(m), err)
	}
	return nil
}

// pruneRelated deletes the timelines of deleted alerts and exec records
// older than olderThan.
func (s *Store) pruneRelated(ctx context.Context, olderThan time.Time) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `DELETE FROM alert_timeline t WHERE NOT EXISTS
		(SELECT 1 FROM alert WHERE alert.id = t.alert_id)`); err != nil {
		return fmt.Errorf("prune alert timelines: %w", err)
	}
	if !olderThan.IsZero() {
		if _, err := s.pool.Exec(ctx, `DELETE FROM exec_record WHERE start < $1`, clampNanos(olderThan)); err != nil {
			return fmt.Errorf("prune exec records: %w", err)
		}
	}
	return nil
}

// readTx runs fn in a read-only REPEATABLE READ transaction: every query
// sees the same snapshot.
func (s *Store) readTx(ctx context.Context, fn func(pgx.Tx) error) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// Detail returns alert id with its context, children and timeline, read in
// one snapshot.
func (s *Store) Detail(ctx context.Context, id int64) (store.Detail, error) {
	var d store.Detail
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		var ctxJSON string
		var err error
		d.StoredAlert, err = scanAlert(tx.QueryRow(ctx, `SELECT `+columns+`, context FROM alert WHERE id = $1`, id), &ctxJSON)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if ctxJSON != "" {
			d.Context = new(alert.Context)
			if err := json.Unmarshal([]byte(ctxJSON), d.Context); err != nil {
				return fmt.Errorf("context: %w", err)
			}
			d.StoredAlert.Context = d.Context
		}
		d.Timeline = []store.TimelineEntry{{Time: d.Time, Kind: store.KindAlert, Text: d.Rule}}
		rows, err := tx.Query(ctx, `SELECT time, kind, actor, text FROM alert_timeline WHERE alert_id = $1 ORDER BY id`, id)
		if err != nil {
			return fmt.Errorf("timeline: %w", err)
		}
		for rows.Next() {
			var e store.TimelineEntry
			var ns int64
			if err := rows.Scan(&ns, &e.Kind, &e.Actor, &e.Text); err != nil {
				rows.Close()
				return fmt.Errorf("timeline: %w", err)
			}
			e.Time = time.Unix(0, ns).UTC()
			d.Timeline = append(d.Timeline, e)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("timeline: %w", err)
		}
		if d.Context == nil || d.Context.Provenance == nil {
			return nil
		}
		p := d.Context.Provenance.Process
		rows, err = tx.Query(ctx, `SELECT proc FROM exec_record WHERE host = $1 AND ppid = $2 AND start >= $3
			ORDER BY start LIMIT 1000`, d.Hostname, int64(p.PID), clampNanos(p.StartTime))
		if err != nil {
			return fmt.Errorf("children: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var js string
			var c alert.Proc
			if err := rows.Scan(&js); err != nil {
				return fmt.Errorf("children: %w", err)
			}
			if err := json.Unmarshal([]byte(js), &c); err != nil {
				return fmt.Errorf("children: %w", err)
			}
			d.Children = append(d.Children, c)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("children: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.Detail{}, fmt.Errorf("get alert %d: %w", id, err)
	}
	return d, nil
}

// UpdateStatus sets the status and note of alert id and records the change
// in its timeline, in one transaction.
func (s *Store) UpdateStatus(ctx context.Context, id int64, status store.Status, note, actor string) (store.StoredAlert, error) {
	if !status.Valid() {
		return store.StoredAlert{}, fmt.Errorf("set status of alert %d: status %q: %w", id, status, store.ErrInvalid)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var a store.StoredAlert
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		a, err = scanAlert(tx.QueryRow(ctx, `UPDATE alert SET status = $1, note = $2 WHERE id = $3 RETURNING `+columns,
			string(status), note, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		text := string(status)
		if note != "" {
			text += ": " + note
		}
		if _, err := tx.Exec(ctx, `INSERT INTO alert_timeline (alert_id, time, kind, actor, text) VALUES ($1, $2, $3, $4, $5)`,
			id, time.Now().UnixNano(), store.KindStatus, actor, text); err != nil {
			return fmt.Errorf("timeline: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.StoredAlert{}, fmt.Errorf("set status of alert %d: %w", id, err)
	}
	return a, nil
}

// AddTimeline appends e to the timeline of alert id.
func (s *Store) AddTimeline(ctx context.Context, id int64, e store.TimelineEntry) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `INSERT INTO alert_timeline (alert_id, time, kind, actor, text)
		SELECT id, $1, $2, $3, $4 FROM alert WHERE id = $5`, clampNanos(e.Time), e.Kind, e.Actor, e.Text, id)
	if err != nil {
		return fmt.Errorf("add %s to alert %d: %w", e.Kind, id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("add %s to alert %d: %w", e.Kind, id, store.ErrNotFound)
	}
	return nil
}

// After returns up to limit alerts with an ID above id, oldest first.
func (s *Store) After(ctx context.Context, id int64, limit int) ([]store.StoredAlert, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM alert WHERE id > $1 ORDER BY id LIMIT $2`, id, max(limit, 0))
	if err != nil {
		return nil, fmt.Errorf("alerts after %d: %w", id, err)
	}
	out, err := collectAlerts(rows)
	if err != nil {
		return nil, fmt.Errorf("alerts after %d: %w", id, err)
	}
	return out, nil
}

// LastID returns the highest alert ID, 0 when there is none.
func (s *Store) LastID(ctx context.Context) (int64, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var id int64
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM alert`).Scan(&id); err != nil {
		return 0, fmt.Errorf("last alert id: %w", err)
	}
	return id, nil
}

// RecordExecs stores process starts in one statement.
func (s *Store) RecordExecs(ctx context.Context, recs []store.ExecRecord) error {
	if len(recs) == 0 {
		return nil
	}
	var (
		hosts, procs     []string
		pids, ppids, sts []int64
	)
	for _, r := range recs {
		js, err := json.Marshal(r.Proc)
		if err != nil {
			return fmt.Errorf("record exec of pid %d: %w", r.Proc.PID, err)
		}
		hosts, procs = append(hosts, r.Host), append(procs, string(js))
		pids, ppids = append(pids, int64(r.Proc.PID)), append(ppids, int64(r.Proc.PPID))
		sts = append(sts, clampNanos(r.Proc.StartTime))
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `INSERT INTO exec_record (host, pid, ppid, start, proc)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[])`,
		hosts, pids, ppids, sts, procs); err != nil {
		return fmt.Errorf("record %d execs: %w", len(recs), err)
	}
	return nil
}

// UpsertAssets records assets in one transaction, as successive upserts
// in the order given. Each distinct asset is written once per statement:
// an asset listed twice goes into a second statement, so that the later
// entry merges into the earlier one.
func (s *Store) UpsertAssets(ctx context.Context, assets []store.Asset) error {
	if len(assets) == 0 {
		return nil
	}
	var (
		rounds []assetRows
		seen   = map[store.AssetKey]int{} // occurrences so far
	)
	for _, a := range assets {
		if !store.ValidAssetKind(a.Kind) || a.ID == "" {
			return fmt.Errorf("upsert asset %q %q: %w", a.Kind, a.ID, store.ErrInvalid)
		}
		attrs := []byte("{}")
		if len(a.Attributes) > 0 {
			var err error
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
		k := store.AssetKey{Kind: a.Kind, ID: a.ID}
		r := seen[k]
		seen[k]++
		if r == len(rounds) {
			rounds = append(rounds, assetRows{})
		}
		rounds[r].add(a.Kind, a.ID, a.Name, clampNanos(first), clampNanos(last), string(attrs), a.Alerts)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for i := range rounds {
			if err := rounds[i].exec(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("upsert %d assets: %w", len(assets), err)
	}
	return nil
}

const assetColumns = `kind, id, name, first_seen, last_seen, attributes::text, alerts`

// maxAssets bounds an asset listing.
const maxAssets = 10000

// Assets lists the assets of kind, most recently seen first (at most
// 10,000).
func (s *Store) Assets(ctx context.Context, kind string) ([]store.Asset, error) {
	if !store.ValidAssetKind(kind) {
		return nil, fmt.Errorf("list assets: kind %q: %w", kind, store.ErrInvalid)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+assetColumns+` FROM asset WHERE kind = $1 ORDER BY last_seen DESC LIMIT $2`, kind, maxAssets)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", kind, err)
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
		return nil, fmt.Errorf("list %s: %w", kind, err)
	}
	return out, nil
}

// Asset returns one asset, or store.ErrNotFound.
func (s *Store) Asset(ctx context.Context, kind, id string) (store.Asset, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	a, err := store.ScanAsset(s.pool.QueryRow(ctx, `SELECT `+assetColumns+` FROM asset WHERE kind = $1 AND id = $2`, kind, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("get asset %s %s: %w", kind, id, store.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("get asset %s %s: %w", kind, id, err)
	}
	return a, nil
}

// CreateUser adds a user, or returns store.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	if u.Name == "" || !u.Role.Valid() || u.PasswordHash == "" {
		return fmt.Errorf("create user %q: name, role and password hash are required: %w", u.Name, store.ErrInvalid)
	}
	if u.Created.IsZero() {
		u.Created = time.Now()
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `INSERT INTO account (name, role, password_hash, created) VALUES ($1, $2, $3, $4)`,
		u.Name, string(u.Role), u.PasswordHash, clampNanos(u.Created))
	if isUniqueViolation(err) {
		return fmt.Errorf("create user %q: %w", u.Name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Name, err)
	}
	return nil
}

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	var role string
	var created int64
	err := row.Scan(&u.Name, &role, &u.PasswordHash, &created)
	u.Role, u.Created = store.Role(role), time.Unix(0, created).UTC()
	return u, err
}

// User returns a user, or store.ErrNotFound.
func (s *Store) User(ctx context.Context, name string) (store.User, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT name, role, password_hash, created FROM account WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, fmt.Errorf("user %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("user %q: %w", name, err)
	}
	return u, nil
}

// Users lists the users by name.
func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT name, role, password_hash, created FROM account ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// DeleteUser removes a user, or returns store.ErrNotFound.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.deleteOne(ctx, `DELETE FROM account WHERE name = $1`, "user", name)
}

func (s *Store) deleteOne(ctx context.Context, q, what, key string) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, q, key)
	if err != nil {
		return fmt.Errorf("delete %s %q: %w", what, key, err)
	}
	if tag.RowsAffected() == 0 {
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
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `INSERT INTO api_token (id, name, role, hash, created) VALUES ($1, $2, $3, $4, $5)`,
		t.ID, t.Name, string(t.Role), t.Hash, clampNanos(t.Created))
	if isUniqueViolation(err) {
		return fmt.Errorf("create token %q: %w", t.Name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create token %q: %w", t.Name, err)
	}
	return nil
}

const tokenColumns = `id, name, role, hash, created, last_used`

func scanToken(row pgx.Row) (store.Token, error) {
	var t store.Token
	var role string
	var created, used int64
	err := row.Scan(&t.ID, &t.Name, &role, &t.Hash, &created, &used)
	t.Role, t.Created = store.Role(role), time.Unix(0, created).UTC()
	if used != 0 {
		t.LastUsed = time.Unix(0, used).UTC()
	}
	return t, err
}

// Tokens lists the API tokens, oldest first.
func (s *Store) Tokens(ctx context.Context) ([]store.Token, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_token ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// TokenByHash returns the token with this secret hash, or
// store.ErrNotFound.
func (s *Store) TokenByHash(ctx context.Context, hash string) (store.Token, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_token WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		// The hash is not echoed: it would identify a secret.
		return t, fmt.Errorf("token: %w", store.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("token: %w", err)
	}
	return t, nil
}

// TouchToken sets the last use time of token id.
func (s *Store) TouchToken(ctx context.Context, id string, t time.Time) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `UPDATE api_token SET last_used = $1 WHERE id = $2`, clampNanos(t), id); err != nil {
		return fmt.Errorf("touch token %s: %w", id, err)
	}
	return nil
}

// DeleteToken removes a token, or returns store.ErrNotFound.
func (s *Store) DeleteToken(ctx context.Context, id string) error {
	return s.deleteOne(ctx, `DELETE FROM api_token WHERE id = $1`, "token", id)
}

// Series counts alerts per bucket and priority.
func (s *Store) Series(ctx context.Context, since, until time.Time, bucket time.Duration) ([]store.SeriesPoint, error) {
	if bucket <= 0 {
		return nil, fmt.Errorf("alert series: bucket %s: %w", bucket, store.ErrInvalid)
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT time - (time % $1) AS t, priority, sum(count)::bigint FROM alert
		WHERE time >= $2 AND time < $3 GROUP BY 1, 2 ORDER BY 1`, int64(bucket), clampNanos(since), clampNanos(until))
	if err != nil {
		return nil, fmt.Errorf("alert series: %w", err)
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
		return nil, fmt.Errorf("alert series: %w", err)
	}
	return out, nil
}
