package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/internal/app"
)

func newReplayCmd() *cobra.Command {
	var o app.ReplayOptions
	cmd := &cobra.Command{
		Use:   "replay [-r FILE]... [--source k8s_audit] INPUT...",
		Short: "Evaluate recorded events offline and print alerts as JSON lines",
		Long: `Replay reads recorded events (Kubernetes audit logs: one JSON Event or
EventList per line, or one whole document), evaluates them against the rules
(the embedded default ruleset unless -r is given) and writes each alert as
one JSON object per line on stdout, in Falco's json_output schema.
A malformed record is reported on stderr as FILE:LINE, counted and skipped.
INPUT "-" reads standard input.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Inputs = args
			o.Stdin, o.Stdout, o.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			start := time.Now()
			st, err := app.Replay(cmd.Context(), o)
			if errors.Is(err, app.ErrRules) {
				return &ExitError{Code: 1}
			}
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			el := time.Since(start)
			fmt.Fprintf(cmd.ErrOrStderr(), "replay: %d events, %d alerts, %d malformed records in %s (%.0f events/s)\n",
				st.Events, st.Alerts, st.Malformed, el.Round(time.Millisecond), float64(st.Events)/el.Seconds())
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&o.Rules, "rules", "r", nil, "rules file or directory (repeatable; default: the embedded ruleset, which -r embedded: names)")
	cmd.Flags().StringVar(&o.Source, "source", "k8s_audit", "event source of the inputs")
	cmd.Flags().StringVar(&o.Hostname, "hostname", "", "hostname put in alerts (default: this machine's)")
	return cmd
}
