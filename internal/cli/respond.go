package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/vigilsec/vigil/internal/app"
	"github.com/vigilsec/vigil/internal/respond"
	"github.com/vigilsec/vigil/internal/respond/target"
)

type respondOpts struct {
	yes       bool
	dataDir   string
	timeout   time.Duration
	startTime uint64
	allow     []string
	fg        bool
}

func newRespondCmd() *cobra.Command {
	o := &respondOpts{}
	cmd := &cobra.Command{
		Use:   "respond ACTION TARGET",
		Short: "Contain a container or process: pause, unpause, stop, kill, kill-process, isolate, unisolate, block-exec",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &ExitError{Code: 2, Err: fmt.Errorf("missing action; see vigil respond --help")}
			}
			return &ExitError{Code: 2, Err: fmt.Errorf("unknown action %q; see vigil respond --help", args[0])}
		},
		Long: `Containment actions. TARGET is a container id, id prefix or name, or a pid
for kill-process; block-exec takes an absolute path or a SHA-256.
Every action is audit-logged (slog and DATA-DIR/audit.log). --yes is
required when stdin is not a terminal. Exit 0 done, 1 failed, 2 usage.`,
	}
	pf := cmd.PersistentFlags()
	pf.BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation (required when stdin is not a terminal)")
	pf.StringVar(&o.dataDir, "data-dir", app.DefaultDataDir, "state directory (audit.log, blocklist.json)")
	pf.DurationVar(&o.timeout, "timeout", 10*time.Second, "stop: grace period before SIGKILL")

	container := func(name, short string, do func(r *respond.Responder, cmd *cobra.Command, spec string) (*respond.Outcome, error)) *cobra.Command {
		return &cobra.Command{
			Use:   name + " CONTAINER",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				r := newResponder(cmd, o)
				if err := confirm(cmd, o, func() (string, error) {
					t, err := r.Resolve(cmd.Context(), args[0])
					if err != nil {
						return "", err
					}
					return fmt.Sprintf("%s %s (%d processes)?", name, t.Name(), len(t.Procs)), nil
				}); err != nil {
					return err
				}
				out, err := do(r, cmd, args[0])
				return reportOutcome(cmd, out, err)
			},
		}
	}
	isolate := container(respond.ActionIsolate, "Drop all traffic of the container but loopback and --allow, inside its network namespace",
		func(r *respond.Responder, cmd *cobra.Command, spec string) (*respond.Outcome, error) {
			var allow []respond.Allow
			for _, s := range o.allow {
				a, err := respond.ParseAllow(s)
				if err != nil {
					return nil, &ExitError{Code: 2, Err: err}
				}
				allow = append(allow, a)
			}
			return r.Isolate(cmd.Context(), spec, allow)
		})
	isolate.Flags().StringArrayVar(&o.allow, "allow", nil, "CIDR[:PORT] still reachable (repeatable; [v6CIDR]:PORT)")
	cmd.AddCommand(
		container(respond.ActionPause, "Freeze every process of the container (cgroup freezer)",
			func(r *respond.Responder, cmd *cobra.Command, spec string) (*respond.Outcome, error) {
				return r.Pause(cmd.Context(), spec)
			}),
		container(respond.ActionUnpause, "Thaw a paused container",
			func(r *respond.Responder, cmd *cobra.Command, spec string) (*respond.Outcome, error) {
				return r.Unpause(cmd.Context(), spec)
			}),
		container(respond.ActionStop, "Stop the container through its runtime (SIGTERM, SIGKILL after --timeout)",
			func(r *respond.Responder, cmd *cobra.Command, spec string) (*respond.Outcome, error) {
				return r.Stop(cmd.Context(), spec)
			}),
		container(respond.ActionKill, "Kill the container (SIGKILL) through its runtime",
			func(r *respond.Responder, cmd *cobra.Command, spec string) (*respond.Outcome, error) {
				return r.Kill(cmd.Context(), spec)
			}),
		isolate,
		container(respond.ActionUnisolate, "Remove the isolation of a container",
			func(r *respond.Responder, cmd *cobra.Command, spec string) (*respond.Outcome, error) {
				return r.Unisolate(cmd.Context(), spec)
			}),
		newKillProcessCmd(o),
		newBlockExecCmd(o, respond.ActionBlockExec),
		newBlockExecCmd(o, respond.ActionUnblockExec),
	)
	return cmd
}

func newResponder(cmd *cobra.Command, o *respondOpts) *respond.Responder {
	return respond.New(respond.Config{DataDir: o.dataDir, StopTimeout: o.timeout, CommandLine: os.Args,
		Logger: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))})
}

// confirm asks on the terminal unless --yes; without a terminal --yes is
// required (exit 2).
func confirm(cmd *cobra.Command, o *respondOpts, question func() (string, error)) error {
	if o.yes {
		return nil
	}
	in, ok := cmd.InOrStdin().(*os.File)
	if !ok || !isTerminal(in) {
		return &ExitError{Code: 2, Err: fmt.Errorf("stdin is not a terminal: pass --yes to confirm")}
	}
	q, err := question()
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s [y/N] ", q)
	line, _ := bufio.NewReader(in).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return &ExitError{Code: 1, Err: fmt.Errorf("not confirmed: nothing done")}
	}
	return nil
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func reportOutcome(cmd *cobra.Command, out *respond.Outcome, err error) error {
	if err != nil {
		if _, ok := err.(*ExitError); ok {
			return err
		}
		return &ExitError{Code: 1, Err: err}
	}
	enc := json.NewEncoder(cmd.OutOrStdout())
	return enc.Encode(out)
}

func newKillProcessCmd(o *respondOpts) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kill-process PID",
		Short: "SIGKILL one process, only if it is still the process that started at --start-time",
		Long: `kill-process kills PID through a pidfd, after checking that the pid still
has the expected start time (field 22 of /proc/PID/stat, clock ticks since
boot, as 'vigil forensics capture' records it), so a reused pid is never hit.
Without --start-time the process is shown and confirmed interactively.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, err := strconv.Atoi(args[0])
			if err != nil || pid <= 0 {
				return &ExitError{Code: 2, Err: fmt.Errorf("kill-process %q: not a pid", args[0])}
			}
			st := o.startTime
			if !cmd.Flags().Changed("start-time") {
				in, ok := cmd.InOrStdin().(*os.File)
				if !ok || !isTerminal(in) {
					return &ExitError{Code: 2, Err: fmt.Errorf("kill-process without a terminal needs --start-time")}
				}
				p, err := target.ReadProc("/proc", pid)
				if err != nil {
					return &ExitError{Code: 1, Err: err}
				}
				cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				st = p.StartTime
				saved := o.yes
				o.yes = false
				err = confirm(cmd, o, func() (string, error) {
					return fmt.Sprintf("kill pid %d (%s) started at %d: %q?", pid, p.Comm, p.StartTime,
						strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")), nil
				})
				o.yes = saved
				if err != nil {
					return err
				}
			} else if err := confirm(cmd, o, func() (string, error) {
				return fmt.Sprintf("kill pid %d started at %d?", pid, st), nil
			}); err != nil {
				return err
			}
			out, err := newResponder(cmd, o).KillProcess(cmd.Context(), pid, st)
			return reportOutcome(cmd, out, err)
		},
	}
	cmd.Flags().Uint64Var(&o.startTime, "start-time", 0, "expected start time of PID (/proc/PID/stat field 22)")
	return cmd
}

func newBlockExecCmd(o *respondOpts, action string) *cobra.Command {
	use := action + " PATH|SHA256"
	short := "Deny execution of a file by path or SHA-256 (fanotify); the list persists in the data dir"
	if action == respond.ActionUnblockExec {
		short = "Remove a path or SHA-256 from the block list"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args: func(cmd *cobra.Command, args []string) error {
			if o.fg && len(args) == 0 {
				return nil
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			r := newResponder(cmd, o)
			if len(args) == 1 {
				if _, _, err := respond.ParseBlockEntry(args[0]); err != nil {
					return &ExitError{Code: 2, Err: err}
				}
				if err := confirm(cmd, o, func() (string, error) { return fmt.Sprintf("%s %s?", action, args[0]), nil }); err != nil {
					return err
				}
				var out *respond.Outcome
				var err error
				if action == respond.ActionBlockExec {
					out, err = r.BlockExec(cmd.Context(), args[0])
				} else {
					out, err = r.UnblockExec(cmd.Context(), args[0])
				}
				if err := reportOutcome(cmd, out, err); err != nil {
					return err
				}
			}
			if !o.fg {
				return nil
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			b := &respond.Blocker{DataDir: o.dataDir, Logger: log}
			log.Info("blocking executions until interrupted", "component", "respond", "list", o.dataDir+"/"+respond.BlockListFile)
			if err := b.Run(cmd.Context()); err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			return nil
		},
	}
	if action == respond.ActionBlockExec {
		cmd.Flags().BoolVar(&o.fg, "foreground", false, "also run the blocker in this process until interrupted (vigil run runs it otherwise)")
	}
	return cmd
}
