// Package vulndb is Vigil's local vulnerability database: OSV advisories
// (and Alpine secdb and Debian security tracker data, converted to the same
// model) in one SQLite file, matched against installed package versions with
// each ecosystem's own version ordering.
package vulndb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go)
)

// SchemaVersion is the version of the database layout this package writes.
const SchemaVersion = 1

// Errors about the database file itself.
var (
	ErrCorrupt       = errors.New("vulnerability database is corrupt or not a Vigil database")
	ErrSchemaTooNew  = errors.New("vulnerability database was written by a newer Vigil")
	ErrNoDatabase    = errors.New("no vulnerability database")
	sqliteHeader     = []byte("SQLite format 3\x00")
	errPathHasQuery  = errors.New("database path must not contain '?'")
	sqliteCorruptErr = 11 // SQLITE_CORRUPT
	sqliteNotADBErr  = 26 // SQLITE_NOTADB
)

// DB is an open vulnerability database. It is safe for concurrent use.
type DB struct {
	path  string
	sql   *sql.DB
	match *sql.Stmt
}

const schema = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE advisory (
	id           TEXT PRIMARY KEY,
	source       TEXT NOT NULL,
	modified     TEXT NOT NULL,
	published    TEXT NOT NULL DEFAULT '',
	withdrawn    TEXT NOT NULL DEFAULT '',
	summary      TEXT NOT NULL DEFAULT '',
	details      TEXT NOT NULL DEFAULT '',
	aliases      TEXT NOT NULL DEFAULT '[]',
	refs         TEXT NOT NULL DEFAULT '[]',
	severity     TEXT NOT NULL DEFAULT '[]',
	cvss_vector  TEXT NOT NULL DEFAULT '',
	cvss_score   REAL,
	content_hash TEXT NOT NULL,
	imported_at  TEXT NOT NULL
);
CREATE TABLE alias (
	alias       TEXT NOT NULL,
	advisory_id TEXT NOT NULL,
	PRIMARY KEY (alias, advisory_id)
) WITHOUT ROWID;
CREATE TABLE affected (
	advisory_id    TEXT NOT NULL,
	ecosystem      TEXT NOT NULL,
	base_ecosystem TEXT NOT NULL,
	package        TEXT NOT NULL,
	package_key    TEXT NOT NULL,
	ranges         TEXT NOT NULL,
	versions       TEXT NOT NULL,
	content_hash   TEXT NOT NULL
);
CREATE INDEX affected_lookup ON affected (base_ecosystem, package_key);
CREATE INDEX affected_advisory ON affected (advisory_id);
CREATE TABLE import_log (
	id        INTEGER PRIMARY KEY,
	path      TEXT NOT NULL,
	started   TEXT NOT NULL,
	finished  TEXT NOT NULL,
	files     INTEGER NOT NULL,
	added     INTEGER NOT NULL,
	updated   INTEGER NOT NULL,
	unchanged INTEGER NOT NULL,
	bad       INTEGER NOT NULL
);
`

// Open opens the database at path, creating the file (and its directory)
// and the schema when missing. The file uses SQLite's WAL journal.
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, true)
}

// OpenExisting opens the database at path; it fails with ErrNoDatabase
// instead of creating one.
func OpenExisting(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, false)
}

func open(ctx context.Context, path string, create bool) (*DB, error) {
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open vulndb %s: %w", path, errPathHasQuery)
	}
	if err := checkHeader(path); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open vulndb %s: %w", path, err)
		}
		if !create {
			return nil, fmt.Errorf("open vulndb %s: %w", path, ErrNoDatabase)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("open vulndb %s: %w", path, err)
		}
	}
	dsn := path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open vulndb %s: %w", path, err)
	}
	db := &DB{path: path, sql: sqldb}
	if err := db.init(ctx, create); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open vulndb %s: %w", path, err)
	}
	return db, nil
}

// checkHeader rejects a non-empty file that is not SQLite before the driver
// sees it; an empty file is a new database.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	n, err := io.ReadFull(f, head)
	if n == 0 && (err == io.EOF || err == nil) {
		return nil
	}
	if err != nil || !bytes.Equal(head, sqliteHeader) {
		return fmt.Errorf("%w: the file is not an SQLite database", ErrCorrupt)
	}
	return nil
}

func (db *DB) init(ctx context.Context, create bool) error {
	var tables int
	if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table'`).Scan(&tables); err != nil {
		return db.wrap(err)
	}
	var stored string
	err := db.sql.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&stored)
	switch {
	case err == nil:
		v, perr := strconv.Atoi(stored)
		if perr != nil {
			return fmt.Errorf("%w: schema_version %q", ErrCorrupt, stored)
		}
		if v > SchemaVersion {
			return fmt.Errorf("%w: schema version %d, this build reads up to %d", ErrSchemaTooNew, v, SchemaVersion)
		}
	case tables > 0:
		return fmt.Errorf("%w: it holds other tables", ErrCorrupt)
	case !create:
		return ErrNoDatabase
	default:
		tx, err := db.sql.BeginTx(ctx, nil)
		if err != nil {
			return db.wrap(err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return db.wrap(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('schema_version', ?)`, strconv.Itoa(SchemaVersion)); err != nil {
			return db.wrap(err)
		}
		if err := tx.Commit(); err != nil {
			return db.wrap(err)
		}
	}
	db.match, err = db.sql.PrepareContext(ctx, matchQuery)
	return db.wrap(err)
}

// wrap marks SQLite's corruption errors with ErrCorrupt.
func (db *DB) wrap(err error) error {
	if err == nil {
		return nil
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		if c := coded.Code() & 0xff; c == sqliteCorruptErr || c == sqliteNotADBErr {
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
	}
	return err
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Close closes the database.
func (db *DB) Close() error {
	if db.match != nil {
		db.match.Close()
	}
	return db.sql.Close()
}
