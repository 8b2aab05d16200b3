package vulndb

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/vigilsec/vigil/internal/scan/version"
)

// Limits on what one import reads.
const (
	// MaxDocumentSize bounds one JSON document (a file or a zip entry); the
	// Debian tracker's full export is about 80 MB.
	MaxDocumentSize = 512 << 20
	// MaxZipTotal bounds the uncompressed size of all entries of one zip.
	MaxZipTotal = 16 << 30
	// batchSize is the number of advisories written per transaction.
	batchSize = 2000
)

// ImportStats counts what one Import did.
type ImportStats struct {
	Path      string        `json:"path"`
	Documents int           `json:"documents"` // JSON files and zip entries read
	Records   int           `json:"records"`   // advisories found in them
	Added     int           `json:"added"`
	Updated   int           `json:"updated"`
	Unchanged int           `json:"unchanged"`
	BadFiles  int           `json:"bad_files"`
	Duration  time.Duration `json:"duration_ns"`
}

// FileError names a document that could not be imported: a file, or a zip
// entry as ZIP!ENTRY.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return e.File + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }

// BadFilesError lists the documents an import skipped; everything else was
// imported.
type BadFilesError struct {
	Files []*FileError
}

func (e *BadFilesError) Error() string {
	const show = 3
	var b strings.Builder
	fmt.Fprintf(&b, "%d bad file(s)", len(e.Files))
	for i, f := range e.Files {
		if i == show {
			fmt.Fprintf(&b, "; and %d more", len(e.Files)-show)
			break
		}
		b.WriteString("; ")
		b.WriteString(f.Error())
	}
	return b.String()
}

// Unwrap returns the individual file errors.
func (e *BadFilesError) Unwrap() []error {
	out := make([]error, len(e.Files))
	for i, f := range e.Files {
		out[i] = f
	}
	return out
}

// document is one JSON document to parse.
type document struct {
	name string
	read func() ([]byte, error)
}

type parsed struct {
	name    string
	records []record
	err     error
}

// Import loads advisories from path into db: a directory (every *.json
// below it), a zip of JSON documents (as osv.dev exports them) or a single
// JSON file. Each document may be an OSV record or a list of them, an Alpine
// secdb file or the Debian security tracker's JSON. Re-importing is
// idempotent: an advisory is rewritten only when its content changed and it
// is not older than the stored one. A document that cannot be parsed is
// skipped and reported in a *BadFilesError (err) and stats.BadFiles while
// the rest is imported; other errors stop the import.
func Import(ctx context.Context, db *DB, path string) (ImportStats, error) {
	start := time.Now()
	st := ImportStats{Path: path}
	docs, closeSrc, err := sourceDocuments(path)
	if err != nil {
		return st, fmt.Errorf("import %s: %w", path, err)
	}
	defer closeSrc()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	now := start.UTC()
	jobs := make(chan document)
	results := make(chan parsed, 64)
	walkDone := make(chan error, 1)
	go func() {
		defer close(jobs)
		walkDone <- docs(func(d document) bool {
			select {
			case jobs <- d:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range jobs {
				p := parsed{name: d.name}
				data, err := d.read()
				if err == nil {
					p.records, err = parseDocument(data, now)
				}
				p.err = err
				select {
				case results <- p:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	w := &writer{db: db, now: now}
	var bad []*FileError
	var writeErr error
	for p := range results {
		if writeErr != nil {
			continue // drain so the workers finish
		}
		st.Documents++
		if p.err != nil {
			bad = append(bad, &FileError{File: p.name, Err: fmt.Errorf("%w: %v", ErrMalformed, p.err)})
			continue
		}
		for i := range p.records {
			st.Records++
			outcome, err := w.put(ctx, &p.records[i])
			if err != nil {
				writeErr = fmt.Errorf("store %s from %s: %w", p.records[i].ID, p.name, err)
				cancel()
				break
			}
			switch outcome {
			case added:
				st.Added++
			case updated:
				st.Updated++
			default:
				st.Unchanged++
			}
		}
	}
	walkErr := <-walkDone
	if writeErr == nil {
		writeErr = ctx.Err()
	}
	if writeErr == nil && walkErr != nil {
		writeErr = walkErr
	}
	if writeErr != nil {
		w.abort()
		st.Duration = time.Since(start)
		return st, fmt.Errorf("import %s: %w", path, writeErr)
	}
	st.BadFiles = len(bad)
	st.Duration = time.Since(start)
	if err := w.finish(ctx, st, start); err != nil {
		return st, fmt.Errorf("import %s: %w", path, err)
	}
	if len(bad) > 0 {
		return st, &BadFilesError{Files: bad}
	}
	return st, nil
}

// sourceDocuments enumerates the documents of path, calling emit for each
// until it returns false.
func sourceDocuments(path string) (walk func(emit func(document) bool) error, closeFn func(), err error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	noop := func() {}
	if info.IsDir() {
		return func(emit func(document) bool) error {
			return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".json") {
					return nil
				}
				if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
					return nil
				}
				if !emit(document{name: p, read: func() ([]byte, error) { return readFile(p) }}) {
					return filepath.SkipAll
				}
				return nil
			})
		}, noop, nil
	}
	if !info.Mode().IsRegular() {
		return nil, nil, errors.New("not a regular file or directory")
	}
	if isZip(path) {
		zr, err := zip.OpenReader(path)
		if err != nil {
			return nil, nil, fmt.Errorf("open zip: %w", err)
		}
		return func(emit func(document) bool) error {
			var total uint64
			for _, f := range zr.File {
				if f.FileInfo().IsDir() || !strings.EqualFold(filepath.Ext(f.Name), ".json") {
					continue
				}
				total += f.UncompressedSize64
				if total > MaxZipTotal {
					return fmt.Errorf("zip entries exceed %d bytes uncompressed", int64(MaxZipTotal))
				}
				f := f
				name := path + "!" + f.Name
				if !emit(document{name: name, read: func() ([]byte, error) { return readZipEntry(f) }}) {
					return nil
				}
			}
			return nil
		}, func() { zr.Close() }, nil
	}
	return func(emit func(document) bool) error {
		emit(document{name: path, read: func() ([]byte, error) { return readFile(path) }})
		return nil
	}, noop, nil
}

func isZip(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 4)
	_, err = io.ReadFull(f, magic)
	return err == nil && string(magic) == "PK\x03\x04"
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f)
}

func readZipEntry(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readLimited(rc)
}

func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxDocumentSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxDocumentSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxDocumentSize)
	}
	return data, nil
}

// parseDocument recognizes the format of one JSON document and converts it.
func parseDocument(data []byte, now time.Time) ([]record, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) == 0 {
		return nil, errors.New("empty document")
	}
	if trimmed[0] == '[' {
		var docs []osvDoc
		if err := json.Unmarshal(trimmed, &docs); err != nil {
			return nil, jsonError(trimmed, err)
		}
		var errs []error
		recs := make([]record, 0, len(docs))
		for i := range docs {
			r, err := osvRecord(&docs[i])
			if err != nil {
				errs = append(errs, fmt.Errorf("[%d] %s: %w", i, docs[i].ID, err))
				continue
			}
			recs = append(recs, r)
		}
		return recs, errors.Join(errs...)
	}
	var d osvDoc
	err := json.Unmarshal(trimmed, &d)
	if err == nil {
		switch {
		case d.ID != "" || d.Modified != "" || len(d.Affected) > 0:
			r, err := osvRecord(&d)
			if err != nil {
				return nil, err
			}
			return []record{r}, nil
		case d.DistroVersion != "" || len(d.Packages) > 0:
			return alpineRecords(&d, now)
		}
	}
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return nil, jsonError(trimmed, err)
	}
	recs, derr := debianRecords(trimmed, now)
	if derr == nil {
		return recs, nil
	}
	if err != nil {
		return nil, jsonError(trimmed, err)
	}
	return nil, errors.New("not an OSV record, Alpine secdb or Debian security tracker document")
}

// jsonError adds the line and column to a decoding error.
func jsonError(data []byte, err error) error {
	var off int64 = -1
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		off = syntax.Offset
	case errors.As(err, &typ):
		off = typ.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

type outcome int

const (
	unchanged outcome = iota
	added
	updated
)

// writer stores records in batches of batchSize per transaction.
type writer struct {
	db      *DB
	now     time.Time
	tx      *sql.Tx
	pending int
}

func (w *writer) begin(ctx context.Context) error {
	if w.tx != nil {
		return nil
	}
	tx, err := w.db.sql.BeginTx(ctx, nil)
	if err != nil {
		return w.db.wrap(err)
	}
	w.tx = tx
	return nil
}

func (w *writer) commit() error {
	if w.tx == nil {
		return nil
	}
	err := w.tx.Commit()
	w.tx, w.pending = nil, 0
	return w.db.wrap(err)
}

func (w *writer) abort() {
	if w.tx != nil {
		w.tx.Rollback()
		w.tx = nil
	}
}

func (w *writer) finish(ctx context.Context, st ImportStats, start time.Time) error {
	if err := w.begin(ctx); err != nil {
		return err
	}
	finished := time.Now().UTC().Format(time.RFC3339Nano)
	if _, err := w.tx.ExecContext(ctx, `INSERT INTO import_log (path, started, finished, files, added, updated, unchanged, bad)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, st.Path, start.UTC().Format(time.RFC3339Nano), finished,
		st.Documents, st.Added, st.Updated, st.Unchanged, st.BadFiles); err != nil {
		w.abort()
		return w.db.wrap(err)
	}
	if _, err := w.tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('last_import', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, finished); err != nil {
		w.abort()
		return w.db.wrap(err)
	}
	return w.commit()
}

type affectedRow struct {
	ecosystem, base, pkg, key, ranges, versions, hash string
}

type advisoryRow struct {
	aliases, refs, severity, vector string
	score                           sql.NullFloat64
	hash                            string
	affected                        []affectedRow
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null" // unreachable: only strings and slices of them reach here
	}
	return string(b)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func hashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		io.WriteString(h, p)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func buildRows(r *record) advisoryRow {
	row := advisoryRow{
		aliases:  mustJSON(nonNil(r.Aliases)),
		refs:     mustJSON(nonNil(r.References)),
		severity: mustJSON(nonNil(r.Severity)),
	}
	if vec, score, ok := bestCVSS(r); ok {
		row.vector, row.score = vec, sql.NullFloat64{Float64: score, Valid: true}
	}
	parts := []string{r.ID, r.Source, formatTime(r.Published), formatTime(r.Withdrawn), r.Summary, r.Details, row.aliases, row.refs, row.severity}
	if !r.Partial {
		parts = append(parts, formatTime(r.Modified))
	}
	for _, a := range r.Affected {
		ar := affectedRow{
			ecosystem: a.Ecosystem,
			base:      version.BaseEcosystem(a.Ecosystem),
			pkg:       a.Package,
			key:       packageKey(a.Ecosystem, a.Package),
			ranges:    mustJSON(nonNil(a.Ranges)),
			versions:  mustJSON(nonNil(a.Versions)),
		}
		ar.hash = hashOf(ar.ecosystem, ar.pkg, ar.ranges, ar.versions)
		row.affected = append(row.affected, ar)
		if !r.Partial {
			parts = append(parts, ar.hash)
		}
	}
	row.hash = hashOf(parts...)
	return row
}

func (w *writer) put(ctx context.Context, r *record) (outcome, error) {
	if err := w.begin(ctx); err != nil {
		return unchanged, err
	}
	row := buildRows(r)
	var storedHash, storedModified string
	err := w.tx.QueryRowContext(ctx, `SELECT content_hash, modified FROM advisory WHERE id = ?`, r.ID).Scan(&storedHash, &storedModified)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return unchanged, w.db.wrap(err)
	}
	var out outcome
	switch {
	case !exists:
		out = added
		if err := w.upsertAdvisory(ctx, r, &row); err != nil {
			return unchanged, err
		}
		if err := w.insertAffected(ctx, r.ID, row.affected); err != nil {
			return unchanged, err
		}
	case r.Partial:
		out, err = w.mergePartial(ctx, r, &row, storedHash)
		if err != nil {
			return unchanged, err
		}
	default:
		if storedHash == row.hash {
			break
		}
		if t, err := time.Parse(time.RFC3339Nano, storedModified); err == nil && r.Modified.Before(t) {
			break // the stored advisory is newer
		}
		out = updated
		if err := w.upsertAdvisory(ctx, r, &row); err != nil {
			return unchanged, err
		}
		for _, q := range []string{`DELETE FROM affected WHERE advisory_id = ?`, `DELETE FROM alias WHERE advisory_id = ?`} {
			if _, err := w.tx.ExecContext(ctx, q, r.ID); err != nil {
				return unchanged, w.db.wrap(err)
			}
		}
		if err := w.insertAffected(ctx, r.ID, row.affected); err != nil {
			return unchanged, err
		}
	}
	if out != unchanged {
		for _, a := range r.Aliases {
			if _, err := w.tx.ExecContext(ctx, `INSERT OR IGNORE INTO alias (alias, advisory_id) VALUES (?, ?)`, a, r.ID); err != nil {
				return unchanged, w.db.wrap(err)
			}
		}
		w.pending++
		if w.pending >= batchSize {
			if err := w.commit(); err != nil {
				return unchanged, err
			}
		}
	}
	return out, nil
}

func (w *writer) upsertAdvisory(ctx context.Context, r *record, row *advisoryRow) error {
	_, err := w.tx.ExecContext(ctx, `INSERT INTO advisory
		(id, source, modified, published, withdrawn, summary, details, aliases, refs, severity, cvss_vector, cvss_score, content_hash, imported_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET source = excluded.source, modified = excluded.modified,
			published = excluded.published, withdrawn = excluded.withdrawn, summary = excluded.summary,
			details = excluded.details, aliases = excluded.aliases, refs = excluded.refs,
			severity = excluded.severity, cvss_vector = excluded.cvss_vector, cvss_score = excluded.cvss_score,
			content_hash = excluded.content_hash, imported_at = excluded.imported_at`,
		r.ID, r.Source, formatTime(r.Modified), formatTime(r.Published), formatTime(r.Withdrawn), r.Summary, r.Details,
		row.aliases, row.refs, row.severity, row.vector, row.score, row.hash, formatTime(w.now))
	return w.db.wrap(err)
}

func (w *writer) insertAffected(ctx context.Context, id string, rows []affectedRow) error {
	for _, a := range rows {
		if _, err := w.tx.ExecContext(ctx, `INSERT INTO affected
			(advisory_id, ecosystem, base_ecosystem, package, package_key, ranges, versions, content_hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, a.ecosystem, a.base, a.pkg, a.key, a.ranges, a.versions, a.hash); err != nil {
			return w.db.wrap(err)
		}
	}
	return nil
}

// mergePartial replaces the packages a partial record carries and leaves
// the advisory's other packages alone.
func (w *writer) mergePartial(ctx context.Context, r *record, row *advisoryRow, storedHash string) (outcome, error) {
	changed := storedHash != row.hash
	for _, a := range row.affected {
		var h string
		err := w.tx.QueryRowContext(ctx, `SELECT content_hash FROM affected WHERE advisory_id = ? AND ecosystem = ? AND package = ?`,
			r.ID, a.ecosystem, a.pkg).Scan(&h)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return unchanged, w.db.wrap(err)
		}
		if err == nil && h == a.hash {
			continue
		}
		changed = true
		if _, err := w.tx.ExecContext(ctx, `DELETE FROM affected WHERE advisory_id = ? AND ecosystem = ? AND package = ?`,
			r.ID, a.ecosystem, a.pkg); err != nil {
			return unchanged, w.db.wrap(err)
		}
		if err := w.insertAffected(ctx, r.ID, []affectedRow{a}); err != nil {
			return unchanged, err
		}
	}
	if !changed {
		return unchanged, nil
	}
	if err := w.upsertAdvisory(ctx, r, row); err != nil {
		return unchanged, err
	}
	return updated, nil
}
