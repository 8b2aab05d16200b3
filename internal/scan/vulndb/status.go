package vulndb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Status describes the contents of a database.
type Status struct {
	Path           string         `json:"path"`
	SchemaVersion  int            `json:"schema_version"`
	Advisories     int            `json:"advisories"`
	Withdrawn      int            `json:"withdrawn"`
	Sources        map[string]int `json:"sources"`    // advisories per source
	Ecosystems     map[string]int `json:"ecosystems"` // advisories per ecosystem (without release)
	Packages       int            `json:"packages"`   // affected (ecosystem, package) entries
	LastImport     time.Time      `json:"last_import"`
	LastImportPath string         `json:"last_import_path,omitempty"`
}

// Status counts the advisories per source and ecosystem and reports the last
// import.
func (db *DB) Status(ctx context.Context) (Status, error) {
	st := Status{Path: db.path, Sources: map[string]int{}, Ecosystems: map[string]int{}}
	wrap := func(err error) error { return fmt.Errorf("status %s: %w", db.path, db.wrap(err)) }
	var schema string
	if err := db.sql.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&schema); err != nil {
		return st, wrap(err)
	}
	st.SchemaVersion, _ = strconv.Atoi(schema)
	if err := db.sql.QueryRowContext(ctx, `SELECT count(*), count(CASE WHEN withdrawn != '' THEN 1 END) FROM advisory`).
		Scan(&st.Advisories, &st.Withdrawn); err != nil {
		return st, wrap(err)
	}
	if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM affected`).Scan(&st.Packages); err != nil {
		return st, wrap(err)
	}
	for _, q := range []struct {
		query string
		into  map[string]int
	}{
		{`SELECT source, count(*) FROM advisory GROUP BY source`, st.Sources},
		{`SELECT base_ecosystem, count(DISTINCT advisory_id) FROM affected GROUP BY base_ecosystem`, st.Ecosystems},
	} {
		rows, err := db.sql.QueryContext(ctx, q.query)
		if err != nil {
			return st, wrap(err)
		}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return st, wrap(err)
			}
			q.into[k] = n
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return st, wrap(err)
		}
	}
	var finished string
	err := db.sql.QueryRowContext(ctx, `SELECT path, finished FROM import_log ORDER BY id DESC LIMIT 1`).Scan(&st.LastImportPath, &finished)
	switch {
	case err == nil:
		st.LastImport, _ = time.Parse(time.RFC3339Nano, finished)
	case errors.Is(err, sql.ErrNoRows):
	default:
		return st, wrap(err)
	}
	return st, nil
}
