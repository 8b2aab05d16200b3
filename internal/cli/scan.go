package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/internal/app"
	"github.com/vigilsec/vigil/internal/scan/malware"
	"github.com/vigilsec/vigil/internal/scan/report"
	"github.com/vigilsec/vigil/internal/scan/scanner"
)

type scanOptions struct {
	db            dbOptions
	format        string
	output        string
	severity      string
	exitCode      int
	ignoreFile    string
	scanners      string
	insecure      bool
	showPasswords bool
	secretConfig  string
	malwareRules  []string
	malwareHashes []string
	version       string
}

const defaultScanners = "vuln,secret,misconfig,passwd"

func newScanCmd(info BuildInfo) *cobra.Command {
	o := &scanOptions{version: info.Version}
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Scan a container image or a filesystem for vulnerabilities, secrets, misconfigurations and weak passwords",
		Long: `Scan reports vulnerable packages (matched against the local database, see
"vigil db"), secrets, image misconfigurations and weak local passwords.

Exit codes: 0 no findings remain after --severity and --ignore-file (or
--exit-code is 0); N (--exit-code) findings remain; 1 the scan failed or is
incomplete (unreadable layer, unreadable file); 2 usage error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := cmd.PersistentFlags()
	f.StringVar(&o.db.path, "db", "", "vulnerability database (default $VIGIL_DB, /var/lib/vigil/vulndb.sqlite as root, else in the user cache directory)")
	f.StringVar(&o.format, "format", "table", "output format: "+strings.Join(report.Formats, ", "))
	f.StringVarP(&o.output, "output", "o", "", "write the report to this file instead of stdout")
	f.StringVar(&o.severity, "severity", "", "report only these severities, e.g. HIGH,CRITICAL (default all)")
	f.IntVar(&o.exitCode, "exit-code", 0, "exit with this code when findings remain after filtering")
	f.StringVar(&o.ignoreFile, "ignore-file", "", "YAML file of ids to ignore, each with a reason and an optional expiry date")
	f.StringVar(&o.scanners, "scanners", defaultScanners, "scanners to run: vuln, secret, misconfig, passwd, malware")
	f.BoolVar(&o.showPasswords, "show-passwords", false, "print the dictionary password an account's hash matched (off: only say that it matched)")
	f.StringVar(&o.secretConfig, "secret-config", "", "gitleaks TOML file of secret rules used instead of the built-in ones ([extend] useDefault adds them back)")
	f.StringArrayVar(&o.malwareRules, "malware-rules", nil, "directory of YARA rules (*.yar, *.yara) for the malware scanner; needs a build with -tags yara (repeatable)")
	f.StringArrayVar(&o.malwareHashes, "malware-hashes", nil, "file of SHA-256 sums (\"SUM name\" a line) added to the embedded malware blocklist (repeatable)")
	image := &cobra.Command{
		Use:   "image REF|FILE|DIR",
		Short: "Scan an image: docker-save tar, OCI layout directory or tar, or a registry reference",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScan(cmd, o, args[0], false)
		},
	}
	image.Flags().BoolVar(&o.insecure, "insecure", false, "allow plain-HTTP registries")
	fsCmd := &cobra.Command{
		Use:   "fs DIR",
		Short: "Scan a root filesystem or a source tree",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScan(cmd, o, args[0], true)
		},
	}
	cmd.AddCommand(image, fsCmd)
	return cmd
}

func usage(err error) error { return &ExitError{Code: 2, Err: err} }

func runScan(cmd *cobra.Command, o *scanOptions, target string, filesystem bool) error {
	stderr := cmd.ErrOrStderr()
	if !isFormat(o.format) {
		return usage(fmt.Errorf("--format %q: want one of %s", o.format, strings.Join(report.Formats, ", ")))
	}
	sevs, err := app.ParseSeverities(o.severity)
	if err != nil {
		return usage(fmt.Errorf("--severity: %w", err))
	}
	if o.exitCode < 0 || o.exitCode > 255 {
		return usage(fmt.Errorf("--exit-code %d: want 0-255", o.exitCode))
	}
	kinds, err := scanner.ParseKinds(o.scanners)
	if err != nil {
		return usage(fmt.Errorf("--scanners: %w", err))
	}
	if kinds[scanner.Malware] && !malware.YARAAvailable {
		fmt.Fprintln(stderr, "vigil: malware scanning needs a build with -tags yara for YARA rules; only the SHA-256 blocklist runs")
	}
	var ignore *app.IgnoreList
	if o.ignoreFile != "" {
		if ignore, err = app.LoadIgnoreFile(o.ignoreFile); err != nil {
			return usage(err)
		}
	}
	dbPath := ""
	if kinds[scanner.Vuln] {
		if dbPath, err = o.db.resolve(); err != nil {
			return usage(err)
		}
	}
	if filesystem {
		if st, err := os.Stat(target); err != nil || !st.IsDir() {
			return usage(fmt.Errorf("scan fs %s: not a directory", target))
		}
	}
	cfg := app.ScanConfig{Target: target, Filesystem: filesystem, Insecure: o.insecure, DBPath: dbPath, Scanners: kinds, ShowPasswords: o.showPasswords,
		SecretConfig: o.secretConfig, MalwareRules: o.malwareRules, MalwareHashes: o.malwareHashes}
	bar := newProgress(stderr)
	if bar != nil {
		cfg.Progress = bar.update
	}
	res, err := app.Scan(cmd.Context(), cfg)
	if bar != nil {
		bar.done()
	}
	if err != nil && res == nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("scan %s: %w", target, err)}
	}
	for _, w := range app.Filter(res, sevs, ignore, time.Now()) {
		fmt.Fprintln(stderr, "vigil:", w)
	}
	if werr := writeReport(cmd, o, res); werr != nil {
		return &ExitError{Code: 1, Err: werr}
	}
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("scan %s: %w", target, err)}
	}
	if len(res.Errors) > 0 {
		for _, e := range res.Errors {
			msg := e.Message
			if e.Path != "" {
				msg = e.Path + ": " + msg
			}
			fmt.Fprintln(stderr, "vigil: scan:", msg)
		}
		return &ExitError{Code: 1, Err: fmt.Errorf("scan %s: incomplete: %d errors", target, len(res.Errors))}
	}
	if o.exitCode != 0 && app.Findings(res) > 0 {
		return &ExitError{Code: o.exitCode}
	}
	return nil
}

func isFormat(f string) bool {
	for _, x := range report.Formats {
		if x == f {
			return true
		}
	}
	return false
}

func writeReport(cmd *cobra.Command, o *scanOptions, res *scanner.Result) error {
	var w io.Writer = cmd.OutOrStdout()
	var file *os.File
	if o.output != "" {
		var err error
		if file, err = os.Create(o.output); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		w = file
	}
	err := report.Write(w, o.format, res, report.Options{Version: o.version})
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("write report %s: %w", o.output, err)
	}
	return nil
}

// progress draws a one-line progress indicator on a terminal.
type progress struct {
	w     io.Writer
	start time.Time
	last  time.Time
}

// newProgress returns nil unless w is a terminal.
func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err != nil {
		return nil
	}
	return &progress{w: w, start: time.Now()}
}

func (p *progress) update(pr scanner.Progress) {
	if now := time.Now(); now.Sub(p.last) > 100*time.Millisecond {
		p.last = now
		if pr.Layers > 0 {
			fmt.Fprintf(p.w, "\r\033[Kscanning layer %d/%d, %d files, %s", pr.Layer, pr.Layers, pr.Files, time.Since(p.start).Round(time.Second))
		} else {
			fmt.Fprintf(p.w, "\r\033[Kscanning %d files, %s", pr.Files, time.Since(p.start).Round(time.Second))
		}
	}
}

func (p *progress) done() { fmt.Fprint(p.w, "\r\033[K") }
