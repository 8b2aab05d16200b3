package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/respond"
)

// BlockRule is the rule name of the alert raised when the exec blocker
// denied an execution.
const BlockRule = "Vigil response: execution blocked"

// watchBlockList starts the exec blocker (fanotify exec permission events)
// once the data directory's block list (`vigil respond block-exec`) holds
// an entry, and raises an alert for every denied execution. It returns
// when ctx is done.
func watchBlockList(ctx context.Context, dataDir, hostname string, send func(*alert.Alert), log *slog.Logger) {
	if dataDir == "" {
		return
	}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		l, err := respond.LoadBlockList(dataDir)
		switch {
		case err != nil:
			log.Warn("exec block list unreadable", "component", "respond", "err", err)
		case len(l.Paths)+len(l.SHA256) > 0:
			b := &respond.Blocker{DataDir: dataDir, Logger: log, OnBlock: func(e respond.BlockEvent) {
				send(&alert.Alert{
					Time:     e.Time.UTC(),
					Rule:     BlockRule,
					Priority: "Critical",
					Source:   "response",
					Output:   fmt.Sprintf("Execution of %s blocked by Vigil (pid=%d reason=%s sha256=%s)", e.Path, e.PID, e.Reason, e.SHA256),
					OutputFields: map[string]any{
						"proc.pid": e.PID, "proc.exepath": e.Path, "vigil.block_reason": e.Reason, "vigil.sha256": e.SHA256,
					},
					Tags:     []string{"vigil", "response", "T1204"},
					Hostname: hostname,
				})
			}}
			log.Info("exec blocker running", "component", "respond", "paths", len(l.Paths), "sha256", len(l.SHA256))
			if err := b.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("exec blocker stopped", "component", "respond", "err", err)
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
