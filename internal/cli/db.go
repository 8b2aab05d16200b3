package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/internal/scan/vulndb"
)

// defaultMaxDownload caps "db update --from URL"; osv.dev's per-ecosystem
// exports are well below it.
const defaultMaxDownload = 2 << 30

type dbOptions struct {
	path string
}

// resolve returns the database path: --db, else $VIGIL_DB, else the
// system location for root, else the user's cache directory.
func (o *dbOptions) resolve() (string, error) {
	if o.path != "" {
		return o.path, nil
	}
	return defaultDBPath(os.Getenv, os.Geteuid(), os.UserCacheDir)
}

func defaultDBPath(getenv func(string) string, euid int, cacheDir func() (string, error)) (string, error) {
	if p := getenv("VIGIL_DB"); p != "" {
		return p, nil
	}
	if euid == 0 {
		return "/var/lib/vigil/vulndb.sqlite", nil
	}
	dir, err := cacheDir()
	if err != nil {
		return "", fmt.Errorf("default database path: %w (set --db or VIGIL_DB)", err)
	}
	return filepath.Join(dir, "vigil", "vulndb.sqlite"), nil
}

func newDBCmd() *cobra.Command {
	o := &dbOptions{}
	cmd := &cobra.Command{
		Use:           "db",
		Short:         "Manage the local vulnerability database",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.PersistentFlags().StringVar(&o.path, "db", "",
		"database file (default $VIGIL_DB, /var/lib/vigil/vulndb.sqlite as root, else in the user cache directory)")
	cmd.AddCommand(newDBImportCmd(o), newDBStatusCmd(o), newDBUpdateCmd(o))
	return cmd
}

func newDBImportCmd(o *dbOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "import DIR|ZIP|FILE...",
		Short: "Load OSV, Alpine secdb or Debian security tracker JSON into the database",
		Long: `Import reads every *.json below a directory, every *.json entry of a zip (as
osv.dev exports them) or a single JSON file: OSV records (or lists of them),
Alpine secdb files and the Debian security tracker's JSON. Re-importing only
rewrites advisories that changed. A malformed file is reported on stderr and
skipped; the rest is imported and the exit code is 1.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := openDB(cmd.Context(), o, true)
			if err != nil {
				return err
			}
			defer db.Close()
			failed := 0
			for _, p := range args {
				st, err := vulndb.Import(cmd.Context(), db, p)
				if !reportImport(cmd, "imported", p, st, err, nil) {
					failed++
				}
			}
			if failed > 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf("db import: %d of %d sources had errors", failed, len(args))}
			}
			return nil
		},
	}
}

// reportImport prints one import's result and its bad files; it returns
// false when anything failed. rename maps document names (the temporary
// file of a download) to what the user gave.
func reportImport(cmd *cobra.Command, verb, src string, st vulndb.ImportStats, err error, rename func(string) string) bool {
	var bad *vulndb.BadFilesError
	if err != nil && !errors.As(err, &bad) {
		fmt.Fprintf(cmd.ErrOrStderr(), "vigil: %v\n", err)
		return false
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %d documents, %d advisories (%d new, %d updated, %d unchanged), %d bad files in %s\n",
		verb, src, st.Documents, st.Records, st.Added, st.Updated, st.Unchanged, st.BadFiles, st.Duration.Round(time.Millisecond))
	if bad == nil {
		return true
	}
	for _, fe := range bad.Files {
		msg := fe.Error()
		if rename != nil {
			msg = rename(msg)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "vigil: import %s\n", msg)
	}
	return false
}

type dbStatusOptions struct {
	json bool
}

func newDBStatusCmd(o *dbOptions) *cobra.Command {
	var so dbStatusOptions
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what the database holds and when it was last imported",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := openDB(cmd.Context(), o, false)
			if err != nil {
				return err
			}
			defer db.Close()
			st, err := db.Status(cmd.Context())
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			if so.json {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			return printStatus(cmd.OutOrStdout(), st)
		},
	}
	cmd.Flags().BoolVar(&so.json, "json", false, "print the status as JSON")
	return cmd
}

func printStatus(w io.Writer, st vulndb.Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "database:\t%s\n", st.Path)
	fmt.Fprintf(tw, "schema version:\t%d\n", st.SchemaVersion)
	fmt.Fprintf(tw, "advisories:\t%d (%d withdrawn)\n", st.Advisories, st.Withdrawn)
	fmt.Fprintf(tw, "affected packages:\t%d\n", st.Packages)
	if st.LastImport.IsZero() {
		fmt.Fprintf(tw, "last import:\tnever\n")
	} else {
		fmt.Fprintf(tw, "last import:\t%s from %s\n", st.LastImport.Format(time.RFC3339), st.LastImportPath)
	}
	for _, group := range []struct {
		title  string
		counts map[string]int
	}{{"sources", st.Sources}, {"ecosystems", st.Ecosystems}} {
		fmt.Fprintf(tw, "%s:\t\n", group.title)
		keys := make([]string, 0, len(group.counts))
		for k := range group.counts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(tw, "  %s\t%d\n", k, group.counts[k])
		}
	}
	return tw.Flush()
}

type dbUpdateOptions struct {
	from    string
	maxSize int64
	timeout time.Duration
}

func newDBUpdateCmd(o *dbOptions) *cobra.Command {
	var uo dbUpdateOptions
	cmd := &cobra.Command{
		Use:   "update --from URL|FILE",
		Short: "Import a vulnerability export from an http(s) URL or a local file",
		Long: `Update downloads a zip of OSV JSON (such as osv.dev's per-ecosystem
all.zip exports) from an http or https URL, refusing more than --max-size
bytes, and imports it; a local path is imported as "vigil db import" does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if uo.from == "" {
				return &ExitError{Code: 2, Err: errors.New("db update: --from URL|FILE is required")}
			}
			db, err := openDB(cmd.Context(), o, true)
			if err != nil {
				return err
			}
			defer db.Close()
			src, rename := uo.from, func(s string) string { return s }
			if isURL(uo.from) {
				tmp, err := download(cmd.Context(), uo.from, filepath.Dir(db.Path()), uo.maxSize, uo.timeout)
				if err != nil {
					return &ExitError{Code: 1, Err: fmt.Errorf("db update: %w", err)}
				}
				defer os.Remove(tmp)
				src, rename = tmp, func(s string) string { return strings.ReplaceAll(s, tmp, uo.from) }
			}
			st, err := vulndb.Import(cmd.Context(), db, src)
			if err != nil && !errors.As(err, new(*vulndb.BadFilesError)) {
				return &ExitError{Code: 1, Err: fmt.Errorf("db update: %s", rename(err.Error()))}
			}
			if !reportImport(cmd, "updated from", uo.from, st, err, rename) {
				return &ExitError{Code: 1, Err: errors.New("db update: some files were not imported")}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&uo.from, "from", "", "http(s) URL of a zip of OSV JSON, or a local directory, zip or JSON file")
	cmd.Flags().Int64Var(&uo.maxSize, "max-size", defaultMaxDownload, "largest download accepted, in bytes")
	cmd.Flags().DurationVar(&uo.timeout, "timeout", 30*time.Minute, "time limit of the download")
	return cmd
}

func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func openDB(ctx context.Context, o *dbOptions, create bool) (*vulndb.DB, error) {
	path, err := o.resolve()
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	var db *vulndb.DB
	if create {
		db, err = vulndb.Open(ctx, path)
	} else {
		db, err = vulndb.OpenExisting(ctx, path)
	}
	if errors.Is(err, vulndb.ErrNoDatabase) {
		err = fmt.Errorf("%w (create it with: vigil db import DIR|ZIP|FILE --db %s)", err, path)
	}
	if err != nil {
		return nil, &ExitError{Code: 1, Err: err}
	}
	return db, nil
}

// download fetches rawURL into a temporary file in dir and returns its path.
func download(ctx context.Context, rawURL, dir string, maxSize int64, timeout time.Duration) (string, error) {
	if maxSize <= 0 {
		return "", fmt.Errorf("--max-size %d: must be positive", maxSize)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", rawURL, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("download %s: %s", rawURL, resp.Status)
	}
	if resp.ContentLength > maxSize {
		return "", fmt.Errorf("download %s: %d bytes exceeds --max-size %d", rawURL, resp.ContentLength, maxSize)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("download %s: %w", rawURL, err)
	}
	f, err := os.CreateTemp(dir, "vulndb-download-*.zip")
	if err != nil {
		return "", fmt.Errorf("download %s: %w", rawURL, err)
	}
	n, err := io.Copy(f, io.LimitReader(resp.Body, maxSize+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > maxSize {
		err = fmt.Errorf("more than --max-size %d bytes", maxSize)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("download %s: %w", rawURL, err)
	}
	return f.Name(), nil
}
