package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert/pipeline"
	"github.com/vigilsec/vigil/internal/store"
)

func TestAlertsSection(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "alerts.good.yaml"))
	require.NoError(t, err)
	require.Equal(t, Alerts{AggregateWindow: 30 * time.Second, AggregateMaxGroups: 500, RateLimit: 2.5, RateBurst: 10,
		QueueSize: 1024, RetentionAge: 168 * time.Hour}, c.Alerts)
	for _, k := range []string{"alerts", "alerts.aggregate_window", "alerts.aggregate_max_groups", "alerts.rate_limit",
		"alerts.rate_burst", "alerts.queue_size", "alerts.retention_age", "alerts.retention_max_alerts"} {
		require.True(t, c.Has(k), k)
	}

	// 0 disables aggregation and rate limiting; a key left out is not set.
	c, err = Parse("zero.yaml", []byte("alerts:\n  aggregate_window: 0s\n  rate_limit: 0\n"))
	require.NoError(t, err)
	require.Equal(t, Alerts{}, c.Alerts)
	require.True(t, c.Has("alerts.aggregate_window"))
	require.True(t, c.Has("alerts.rate_limit"))
	require.False(t, c.Has("alerts.retention_age"))

	// The example file shows the defaults.
	c, err = Load(filepath.Join("..", "..", "deploy", "vigil.example.yaml"))
	require.NoError(t, err)
	require.Equal(t, Alerts{AggregateWindow: pipeline.DefaultWindow, AggregateMaxGroups: pipeline.DefaultMaxGroups,
		RateLimit: pipeline.DefaultRate, RateBurst: pipeline.DefaultBurst, QueueSize: pipeline.DefaultQueueSize,
		RetentionAge: store.DefaultRetentionAge, RetentionMaxAlerts: store.DefaultRetentionMaxAlerts}, c.Alerts)

	_, err = Load(filepath.Join("testdata", "alerts.bad.yaml"))
	require.Error(t, err)
	f := "testdata/alerts.bad.yaml"
	require.Equal(t, []string{
		f + `:2:21: alerts.aggregate_window: want a duration such as 500ms, 10s or 1m, got "10 seconds"`,
		f + `:3:25: alerts.aggregate_max_groups: must be at least 1, got 0`,
		f + `:4:15: alerts.rate_limit: want a number of alerts per second such as 100 or 0.5, got "fast"`,
		f + `:5:15: alerts.rate_burst: must not be negative, got -3`,
		f + `:6:15: alerts.queue_size: want an integer, got "1.5"`,
		f + `:7:18: alerts.retention_age: must not be negative, got -1h`,
		f + `:8:25: alerts.retention_max_alerts: want an integer, got "lots"`,
		f + `:9:3: unknown key "retention" in alerts (valid: ` + alertsKeys + `)`,
	}, strings.Split(strings.TrimPrefix(err.Error(), "invalid configuration:\n"), "\n"))
}
