package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/k8saudit"
	"github.com/vigilsec/vigil/internal/rules"
)

// ReplayOptions configures Replay.
type ReplayOptions struct {
	Rules    []string // rules files; the embedded defaults when empty
	Source   string   // event source of the inputs
	Inputs   []string // files of recorded events; "-" is stdin
	Hostname string
	Stdin    io.Reader
	Stdout   io.Writer // alerts, one JSON object per line
	Stderr   io.Writer // diagnostics and malformed-record messages
}

// ReplayStats counts what a replay saw.
type ReplayStats struct {
	Events    uint64
	Alerts    uint64
	Malformed uint64
}

// maxMalformedShown bounds the malformed-record messages of a replay, so
// that a garbage input cannot flood stderr; the summary counts them all.
const maxMalformedShown = 1000

// ErrRules reports rules that did not load; the diagnostics were printed.
var ErrRules = errors.New("rules have errors")

// Replay evaluates recorded events offline and writes alerts as JSON lines.
// A malformed record is reported on Stderr with its FILE:LINE, counted, and
// skipped.
func Replay(ctx context.Context, o ReplayOptions) (ReplayStats, error) {
	var st ReplayStats
	if o.Source == "" {
		o.Source = k8saudit.SourceName
	}
	if o.Source != k8saudit.SourceName {
		return st, fmt.Errorf("replay: source %q cannot be replayed (supported: %s)", o.Source, k8saudit.SourceName)
	}
	rs, diags, err := LoadRules(o.Rules)
	if err != nil {
		return st, err
	}
	printDiags(o.Stderr, diags)
	if diags.HasErrors() {
		return st, ErrRules
	}
	if len(rs.Enabled(o.Source)) == 0 {
		fmt.Fprintf(o.Stderr, "replay: warning: no enabled rules for source %s\n", o.Source)
	}
	det := NewDetector(rs, o.Hostname)
	out := bufio.NewWriterSize(o.Stdout, 64<<10)
	defer out.Flush() // alerts of the inputs read before an error are still written
	var werr error
	emit := func(a *alert.Alert) {
		if werr != nil {
			return
		}
		b, err := a.AppendJSON(nil)
		if err == nil {
			b = append(b, '\n')
			_, err = out.Write(b)
		}
		werr = err
	}
	var ev k8saudit.Event
	for _, in := range o.Inputs {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		r, name, closeFn, err := openInput(in, o.Stdin)
		if err != nil {
			return st, err
		}
		rd := k8saudit.NewReader(r, name)
		for {
			err := rd.Next(&ev)
			if errors.Is(err, io.EOF) {
				break
			}
			var de *k8saudit.DecodeError
			if errors.As(err, &de) {
				st.Malformed++
				switch {
				case st.Malformed <= maxMalformedShown:
					fmt.Fprintln(o.Stderr, de.Error())
				case st.Malformed == maxMalformedShown+1:
					fmt.Fprintf(o.Stderr, "replay: more than %d malformed records: the others are counted, not shown\n", maxMalformedShown)
				}
				continue
			}
			if err != nil {
				closeFn()
				return st, fmt.Errorf("replay %s: %w", name, err)
			}
			st.Events++
			st.Alerts += uint64(det.Detect(&ev, emit))
			if werr != nil {
				closeFn()
				return st, fmt.Errorf("write alerts: %w", werr)
			}
		}
		closeFn()
	}
	if err := out.Flush(); err != nil {
		return st, fmt.Errorf("write alerts: %w", err)
	}
	return st, nil
}

func openInput(path string, stdin io.Reader) (io.Reader, string, func(), error) {
	if path == "-" {
		return stdin, "<stdin>", func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", nil, fmt.Errorf("open input: %w", err)
	}
	return f, path, func() { f.Close() }, nil
}

func printDiags(w io.Writer, diags rules.Diagnostics) {
	for _, d := range diags {
		fmt.Fprintln(w, d.String())
	}
}
