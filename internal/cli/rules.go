package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/internal/app"
	"github.com/vigilsec/vigil/internal/event"
	"github.com/vigilsec/vigil/internal/rules"
)

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Work with rules files",
	}
	cmd.AddCommand(newRulesValidateCmd())
	return cmd
}

type validateOptions struct {
	files []string
	json  bool
}

func newRulesValidateCmd() *cobra.Command {
	var o validateOptions
	cmd := &cobra.Command{
		Use:   "validate -r FILE...",
		Short: "Check rules files; exit 0 when valid, 1 with one line per problem otherwise",
		Long: `Validate loads the rules files in the order given (later files extend or
override earlier ones, as in Falco) and prints every problem on stderr as
FILE:LINE:COL: error|warning: <item type> '<name>': <problem>.
A directory stands for its YAML files in name order.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.files = append(o.files, args...)
			if len(o.files) == 0 {
				return &ExitError{Code: 2, Err: fmt.Errorf("rules validate: give at least one rules file with -r")}
			}
			files, err := app.ReadRulesFiles(o.files)
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			rs, diags := rules.Load(files, rules.Options{Sources: app.Sources()})
			if o.json {
				out := struct {
					Valid    bool               `json:"valid"`
					Rules    int                `json:"rules"`
					Errors   []rules.Diagnostic `json:"errors"`
					Warnings []rules.Diagnostic `json:"warnings"`
				}{!diags.HasErrors(), len(rs.Rules()), nonNil(diags.Errors()), nonNil(diags.Warnings())}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
			} else {
				for _, d := range diags {
					fmt.Fprintln(cmd.ErrOrStderr(), d.String())
				}
			}
			if diags.HasErrors() {
				return &ExitError{Code: 1}
			}
			if !o.json {
				fmt.Fprintf(cmd.OutOrStdout(), "%d rules in %d files: valid\n", len(rs.Rules()), len(files))
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&o.files, "rules", "r", nil, "rules file or directory (repeatable, loaded in order)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the result as JSON on stdout")
	return cmd
}

func nonNil(d rules.Diagnostics) []rules.Diagnostic {
	if d == nil {
		return []rules.Diagnostic{}
	}
	return d
}

type fieldsOptions struct {
	source string
	json   bool
}

func newFieldsCmd() *cobra.Command {
	var o fieldsOptions
	cmd := &cobra.Command{
		Use:   "fields [--source S]",
		Short: "List the fields rules can use, per event source",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sources := app.Sources()
			if o.source != "" {
				s, ok := app.SourceByName(o.source)
				if !ok {
					var names []string
					for _, s := range sources {
						names = append(names, s.Name())
					}
					return &ExitError{Code: 2, Err: fmt.Errorf("unknown source %q (known: %s)", o.source, strings.Join(names, ", "))}
				}
				sources = []event.Source{s}
			}
			if o.json {
				type jf struct {
					Source      string `json:"source"`
					Name        string `json:"name"`
					Type        string `json:"type"`
					List        bool   `json:"list,omitempty"`
					Arg         string `json:"arg,omitempty"`
					ArgRequired bool   `json:"arg_required,omitempty"`
					Desc        string `json:"desc"`
					Deprecated  bool   `json:"deprecated,omitempty"`
				}
				var out []jf
				for _, s := range sources {
					for _, f := range sortedFields(s) {
						out = append(out, jf{s.Name(), f.Name, f.Type.String(), f.List, argName(f.Arg), f.ArgRequired, f.Desc, f.Deprecated})
					}
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, s := range sources {
				fmt.Fprintf(w, "Source %s\n", s.Name())
				fmt.Fprintln(w, "FIELD\tTYPE\tARGUMENT\tDESCRIPTION")
				for _, f := range sortedFields(s) {
					typ := f.Type.String()
					if f.List {
						typ += " (list)"
					}
					arg := argName(f.Arg)
					if arg != "" && !f.ArgRequired {
						arg += " (optional)"
					}
					if arg == "" {
						arg = "-"
					}
					desc := f.Desc
					if f.Deprecated {
						desc = "[deprecated] " + desc
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", f.Name, typ, arg, desc)
				}
				fmt.Fprintln(w)
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&o.source, "source", "", "only this source (syscall, k8s_audit)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON")
	return cmd
}

func sortedFields(s event.Source) []event.Field {
	fs := append([]event.Field(nil), s.Fields()...)
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
	return fs
}

func argName(a event.ArgKind) string {
	switch a {
	case event.ArgIndex:
		return "index"
	case event.ArgKey:
		return "key"
	}
	return ""
}
