package cli

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/app"
	"github.com/vigilsec/vigil/internal/config"
)

// TestAlertsFlagsAndConfig: the alerts flags default to
// app.DefaultAlertOptions, the alerts section of vigil.yaml sets them, and
// flags given on the command line win.
func TestAlertsFlagsAndConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "vigil.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`alerts:
  aggregate_window: 1m
  aggregate_max_groups: 50
  rate_limit: 5
  queue_size: 64
  retention_age: 24h
`), 0o600))
	def := app.DefaultAlertOptions()
	fromFile := def
	fromFile.AggregateWindow, fromFile.AggregateMaxGroups, fromFile.RateLimit, fromFile.QueueSize, fromFile.RetentionAge =
		time.Minute, 50, 5, 64, 24*time.Hour
	for _, tc := range []struct {
		name   string
		flags  []string
		config bool
		want   func(a *app.AlertOptions)
	}{
		{"defaults", nil, false, func(a *app.AlertOptions) { *a = def }},
		{"flags", []string{"--aggregate-window", "0s", "--rate-limit", "0.5", "--rate-burst", "3", "--retention-age", "1h", "--retention-max-alerts", "10"}, false,
			func(a *app.AlertOptions) {
				*a = def
				a.AggregateWindow, a.RateLimit, a.RateBurst, a.RetentionAge, a.RetentionMaxAlerts = 0, 0.5, 3, time.Hour, 10
			}},
		{"file", nil, true, func(a *app.AlertOptions) { *a = fromFile }},
		{"flags win over the file", []string{"--aggregate-window", "0s", "--retention-age", "0s"}, true, func(a *app.AlertOptions) {
			*a = fromFile
			a.AggregateWindow, a.RetentionAge = 0, 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
			var got app.AlertOptions
			addAlertFlags(fs, &got)
			require.NoError(t, fs.Parse(tc.flags))
			if tc.config {
				c, err := config.Load(file)
				require.NoError(t, err)
				applyAlertsConfig(fs, c, &got)
			}
			var want app.AlertOptions
			tc.want(&want)
			require.Equal(t, want, got)
		})
	}
}
