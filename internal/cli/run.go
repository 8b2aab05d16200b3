package cli

import (
	"errors"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/internal/app"
)

func newRunCmd() *cobra.Command {
	o := app.RunOptions{}
	var verbose bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the detection engine: audit webhook, rules, alerts",
		Long: `Run loads the rules (the embedded default ruleset unless -r is given),
serves the Kubernetes audit webhook at POST /k8s-audit with GET /healthz and
GET /readyz, and writes every alert as one JSON line on stdout, to
--alerts-file when given, and to the embedded SQLite store vigil.db in
--data-dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Stdout, o.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			err := app.Run(cmd.Context(), o)
			if errors.Is(err, app.ErrRules) {
				return &ExitError{Code: 1}
			}
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			return nil
		},
	}
	defDataDir := app.DefaultDataDir
	if os.Geteuid() != 0 {
		if d, err := os.UserCacheDir(); err == nil {
			defDataDir = d + "/vigil"
		}
	}
	cmd.Flags().StringVar(&o.Listen, "listen", "127.0.0.1:9765", "HTTP listen address")
	cmd.Flags().StringArrayVarP(&o.Rules, "rules", "r", nil, "rules file or directory (repeatable; replaces the embedded ruleset, which -r embedded: names)")
	cmd.Flags().StringVar(&o.AlertsFile, "alerts-file", "", "also append alerts to this file as JSON lines")
	cmd.Flags().StringVar(&o.DataDir, "data-dir", defDataDir, "state directory (alerts are stored in vigil.db, embedded SQLite)")
	cmd.Flags().Int64Var(&o.MaxBodyBytes, "max-request-bytes", 32<<20, "largest audit webhook request accepted (larger: 413)")
	cmd.Flags().StringVar(&o.Hostname, "hostname", "", "hostname put in alerts (default: this machine's)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "debug logging")
	return cmd
}
