package cli

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/internal/app"
	"github.com/vigilsec/vigil/internal/forensics"
)

func newForensicsCmd(info BuildInfo) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "forensics",
		Short: "Preserve evidence of a container or process, and check a bundle",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &ExitError{Code: 2, Err: fmt.Errorf("missing action; see vigil forensics --help")}
			}
			return &ExitError{Code: 2, Err: fmt.Errorf("unknown action %q; see vigil forensics --help", args[0])}
		},
	}
	cmd.AddCommand(newCaptureCmd(info), newVerifyCmd())
	return cmd
}

func newCaptureCmd(info BuildInfo) *cobra.Command {
	o := forensics.Options{Version: info.Version}
	var memory string
	cmd := &cobra.Command{
		Use:   "capture CONTAINER|PID",
		Short: "Capture processes, sockets, memory maps, filesystem changes, metadata and alerts into a hashed bundle",
		Long: `Capture writes a forensic bundle (a directory, or a .tar.gz when -o ends
in .tar.gz) with manifest.json (SHA-256 and size of every file) and a
chain-of-custody record. The container is not paused unless --freeze is
given. A failed capture leaves nothing at -o.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Target = args[0]
			o.CommandLine = os.Args
			for _, s := range strings.Split(memory, ",") {
				if s = strings.TrimSpace(s); s == "" {
					continue
				}
				pid, err := strconv.Atoi(s)
				if err != nil || pid <= 0 {
					return &ExitError{Code: 2, Err: fmt.Errorf("--memory %q: not a pid", s)}
				}
				o.MemoryPIDs = append(o.MemoryPIDs, pid)
			}
			o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			res, err := forensics.Capture(cmd.Context(), o)
			if err != nil {
				return &ExitError{Code: 1, Err: fmt.Errorf("capture %s: %w", args[0], err)}
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Output, "output", "o", "", "bundle directory or FILE.tar.gz (default vigil-capture-ID-TIME.tar.gz); must not exist")
	f.StringVar(&memory, "memory", "", "comma-separated pids whose memory is copied (/proc/PID/mem over readable mappings)")
	f.Int64Var(&o.MemoryLimit, "memory-limit", 256<<20, "bytes of memory copied per process")
	f.Int64Var(&o.MaxFileBytes, "max-file-bytes", 64<<20, "largest changed file copied")
	f.Int64Var(&o.MaxFSBytes, "max-fs-bytes", 512<<20, "changed files copied in total")
	f.BoolVar(&o.Freeze, "freeze", false, "freeze the container (cgroup freezer) during the capture, thaw after")
	f.StringVar(&o.DataDir, "data-dir", app.DefaultDataDir, "Vigil's state directory, whose vigil.db holds the alerts")
	f.IntVar(&o.AlertLimit, "alerts", 200, "most recent alerts of the container copied")
	return cmd
}

func newVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify BUNDLE",
		Short: "Check every file of a bundle against its manifest (exit 1 naming the first mismatch)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := forensics.Verify(args[0])
			if err != nil {
				return &ExitError{Code: 1, Err: fmt.Errorf("verify: %w", err)}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "ok: %d files match %s (target %s, captured %s by %s on %s)\n",
				len(m.Files), forensics.ManifestFile, m.Target, m.Custody.Time.Format("2006-01-02T15:04:05Z"), m.Custody.User, m.Custody.Host)
			return err
		},
	}
}
