// Package cli holds vigil's cobra commands: each parses its flags into an
// options struct and calls into internal/app or the domain packages.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// BuildInfo identifies the binary.
type BuildInfo struct {
	Version string
	Commit  string
}

// ExitError carries a process exit code through cobra. A nil Err means the
// command already reported what went wrong.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Main runs the command line and returns the process exit code.
func Main(args []string, info BuildInfo) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, info, os.Stdin, os.Stdout, os.Stderr)
}

func run(ctx context.Context, args []string, info BuildInfo, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(info)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *ExitError
	// cobra's own error for an unknown subcommand is a usage error too.
	if strings.HasPrefix(err.Error(), "unknown command") {
		err = &ExitError{Code: 2, Err: err}
	}
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintln(stderr, "vigil:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(stderr, "vigil:", err)
	return 1
}

func newRoot(info BuildInfo) *cobra.Command {
	root := &cobra.Command{
		Use:           "vigil",
		Short:         "Security for containers and Kubernetes: runtime detection, audit, scanning",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Usage errors (unknown flags, missing arguments) exit 2, like every
	// other usage error of vigil.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &ExitError{Code: 2, Err: err}
	})
	root.AddCommand(
		newVersionCmd(info),
		newRulesCmd(),
		newFieldsCmd(),
		newReplayCmd(),
		newRunCmd(info),
		newDBCmd(),
		newScanCmd(info),
		newForensicsCmd(info),
		newRespondCmd(),
	)
	argsAreUsage(root)
	return root
}

// argsAreUsage makes the argument checks of cmd and its subcommands exit 2,
// like every other usage error.
func argsAreUsage(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		argsAreUsage(c)
	}
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			return nil
		}
	}
}

func newVersionCmd(info BuildInfo) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "vigil %s (%s)\n", info.Version, info.Commit)
			return err
		},
	}
}
