package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// scrape GETs the handler and returns the text exposition.
func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/plain")
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestRegistryCounters(t *testing.T) {
	r := New()
	r.Alert("Shell in container", "Warning")
	r.Alert("Shell in container", "Warning")
	r.Alert(`Read "secret"`, "Error")
	ev := r.Events("k8s_audit")
	ev.Add(41)
	r.Events("k8s_audit").Inc() // same counter
	r.Events("syscall").Inc()
	outs := []OutputStats{
		{Name: "stdout", Sent: 3},
		{Name: "webhook", Sent: 1, Failed: 2, Dropped: 5, Filtered: 7, Retries: 4, Queued: 6},
	}
	require.NoError(t, r.RegisterOutputs(func() []OutputStats { return outs }))

	body := scrape(t, r)
	for _, want := range []string{
		`vigil_alerts_total{priority="Warning",rule="Shell in container"} 2`,
		`vigil_alerts_total{priority="Error",rule="Read \"secret\""} 1`,
		`vigil_events_total{source="k8s_audit"} 42`,
		`vigil_events_total{source="syscall"} 1`,
		`vigil_output_sent_total{output="stdout"} 3`,
		`vigil_output_sent_total{output="webhook"} 1`,
		`vigil_output_failed_total{output="webhook"} 2`,
		`vigil_output_dropped_total{output="webhook"} 5`,
		`vigil_output_filtered_total{output="webhook"} 7`,
		`vigil_output_retries_total{output="webhook"} 4`,
		`vigil_output_queue_length{output="webhook"} 6`,
		`# TYPE vigil_output_dropped_total counter`,
		`# TYPE vigil_output_queue_length gauge`,
		"# TYPE go_goroutines gauge",
		"# TYPE process_open_fds gauge",
	} {
		require.Contains(t, body, want+"\n")
	}
	// Counters read at each scrape.
	outs[0].Sent = 10
	require.Contains(t, scrape(t, r), `vigil_output_sent_total{output="stdout"} 10`+"\n")
	mfs, err := r.Gatherer().Gather()
	require.NoError(t, err)
	var names []string
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "vigil_") {
			names = append(names, mf.GetName())
		}
	}
	require.Equal(t, []string{"vigil_alerts_total", "vigil_events_total", "vigil_output_dropped_total", "vigil_output_failed_total",
		"vigil_output_filtered_total", "vigil_output_queue_length", "vigil_output_retries_total", "vigil_output_sent_total"}, names)
}

func TestRegistryAPI(t *testing.T) {
	r := New()
	c, err := r.NewCounter("sensor_events_total", "Events read from the sensor.")
	require.NoError(t, err)
	c.Add(3)
	cv, err := r.NewCounterVec("sensor_drops_total", "Events lost.", "reason")
	require.NoError(t, err)
	cv.WithLabelValues("ringbuf_full").Inc()
	g, err := r.NewGauge("rules_loaded", "Rules loaded.")
	require.NoError(t, err)
	g.Set(12)
	gv, err := r.NewGaugeVec("store_size_bytes", "Store size.", "db")
	require.NoError(t, err)
	gv.WithLabelValues("sqlite").Set(4096)
	require.NoError(t, r.NewCounterFunc("lost_samples_total", "Lost samples.", func() float64 { return 9 }))
	require.NoError(t, r.NewGaugeFunc("uptime_seconds", "Uptime.", func() float64 { return 1.5 }))

	body := scrape(t, r)
	for _, want := range []string{
		"vigil_sensor_events_total 3",
		`vigil_sensor_drops_total{reason="ringbuf_full"} 1`,
		"vigil_rules_loaded 12",
		`vigil_store_size_bytes{db="sqlite"} 4096`,
		"vigil_lost_samples_total 9",
		"vigil_uptime_seconds 1.5",
	} {
		require.Contains(t, body, want+"\n")
	}

	_, err = r.NewCounter("sensor_events_total", "again")
	require.ErrorContains(t, err, "register metric: a previously registered descriptor")
	require.ErrorContains(t, err, "vigil_sensor_events_total")
	require.True(t, r.Unregister(c))
	require.NotContains(t, scrape(t, r), "vigil_sensor_events_total")
}

func BenchmarkAlert(b *testing.B) {
	r := New()
	b.ReportAllocs()
	for b.Loop() {
		r.Alert("Terminal shell in container", "Notice")
	}
}

func BenchmarkEvents(b *testing.B) {
	c := New().Events("k8s_audit")
	b.ReportAllocs()
	for b.Loop() {
		c.Inc()
	}
}
