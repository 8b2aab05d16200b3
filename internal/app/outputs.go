package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/alert/outputs"
	"github.com/vigilsec/vigil/internal/metrics"
)

// OutputsConfig is what buildOutputs needs from RunOptions.
type OutputsConfig struct {
	// Specs are the configured outputs; nil means the default, JSON
	// lines on stdout.
	Specs []outputs.Spec
	// AlertsFile, when set (--alerts-file), adds a file output named
	// "alerts-file" writing JSON lines there.
	AlertsFile string
	// Stdout is where stdout outputs write.
	Stdout io.Writer
}

// buildOutputs opens the configured outputs. On error, those already
// opened are closed.
func buildOutputs(cfg OutputsConfig) ([]alert.Output, error) {
	specs := cfg.Specs
	if specs == nil {
		specs = []outputs.Spec{{Name: outputs.KindStdout, Kind: outputs.KindStdout}}
	}
	if cfg.AlertsFile != "" {
		specs = append(specs[:len(specs):len(specs)], outputs.Spec{
			Name: "alerts-file", Kind: outputs.KindFile, Pos: "--alerts-file",
			File: outputs.FileConfig{Path: cfg.AlertsFile},
		})
	}
	outs := make([]alert.Output, 0, len(specs))
	for _, s := range specs {
		o, err := s.Output(cfg.Stdout)
		if err != nil {
			closeOutputs(outs)
			return nil, err
		}
		outs = append(outs, o)
	}
	return outs, nil
}

// closeOutputs closes outputs not handed to a Fanout.
func closeOutputs(outs []alert.Output) {
	for _, o := range outs {
		_ = o.Sink.Close()
	}
}

// outputStats reads the fanout's counters and the outputs' retry counts
// for metrics.
func outputStats(fan *alert.Fanout, outs []alert.Output) func() []metrics.OutputStats {
	retriers := make(map[string]outputs.Retrier, len(outs))
	for _, o := range outs {
		if r, ok := o.Sink.(outputs.Retrier); ok {
			retriers[o.Name] = r
		}
	}
	return func() []metrics.OutputStats {
		st := fan.Stats()
		ms := make([]metrics.OutputStats, len(st))
		for i, s := range st {
			ms[i] = metrics.OutputStats{Name: s.Name, Sent: s.Sent, Failed: s.Errors, Dropped: s.Dropped, Filtered: s.Filtered, Queued: s.Queued}
			if r := retriers[s.Name]; r != nil {
				ms[i].Retries = r.Retries()
			}
		}
		return ms
	}
}

// reopenOnHUP reopens the file outputs on SIGHUP (after logrotate moved
// them) until ctx ends. SIGHUP is caught even without file outputs, so
// that a logrotate postrotate script cannot stop vigil run.
func reopenOnHUP(ctx context.Context, outs []alert.Output, log *slog.Logger) {
	var files []alert.Output
	for _, o := range outs {
		if _, ok := o.Sink.(outputs.Reopener); ok {
			files = append(files, o)
		}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			for _, o := range files {
				err := o.Sink.(outputs.Reopener).Reopen()
				switch {
				case errors.Is(err, alert.ErrClosed):
				case err != nil:
					log.Error("reopen output", "component", "run", "output", o.Name, "err", err)
				default:
					log.Info("reopened output", "component", "run", "output", o.Name)
				}
			}
		}
	}()
}
