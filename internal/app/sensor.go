package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/capture"
	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/metrics"
	"github.com/vigilsec/vigil/internal/proctree"
	"github.com/vigilsec/vigil/internal/rules"
	"github.com/vigilsec/vigil/internal/sensor"
	"github.com/vigilsec/vigil/internal/sysevent"
)

// Sensor modes, the values of vigil run --sensor.
const (
	SensorAuto = "auto" // run the syscall source when syscall rules are loaded and the machine allows it
	SensorOn   = "on"   // the same, but failing to start is an error
	SensorOff  = "off"  // never
)

// SensorOptions configures the syscall source of vigil run.
type SensorOptions struct {
	Mode            string // SensorAuto (default), SensorOn, SensorOff
	RingBufferBytes int
	// DropAlertInterval is the shortest time between two "syscall event
	// drop" alerts; default 30s.
	DropAlertInterval time.Duration
}

// DropRule is the rule name of the alert raised when the kernel dropped
// events because the ring buffer was full.
const DropRule = "Vigil internal: syscall event drop"

// ErrSensorUnavailable wraps the reason the machine cannot run the sensor.
var ErrSensorUnavailable = errors.New("syscall source unavailable")

// sensorPreflight says what the machine lacks for the sensor, or nil.
func sensorPreflight() error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (the eBPF sensor needs CAP_BPF and CAP_PERFMON)")
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		missing = append(missing, "kernel BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", ErrSensorUnavailable, strings.Join(missing, " and "))
	}
	return nil
}

// syscallSource is the running syscall source.
type syscallSource struct {
	cap      *capture.Capture
	table    *proctree.Table
	resolver *container.Resolver
	wg       sync.WaitGroup
	cancel   context.CancelFunc
	log      *slog.Logger
	mu       sync.Mutex
	events   interface{ Add(float64) } // vigil_events_total{source="syscall"}
	counted  uint64
}

// startSyscallSource starts the sensor, the process table and container
// attribution, and evaluates every event with det, sending alerts to
// send. It returns nil, nil when the source is not wanted (mode off, or
// auto with no syscall rule) and an error wrapping ErrSensorUnavailable
// when the machine lacks what it needs.
func startSyscallSource(ctx context.Context, o SensorOptions, rs *rules.Ruleset, det *Detector, hostname string, send func(*alert.Alert), hooks sourceHooks, log *slog.Logger) (*syscallSource, error) {
	mode := o.Mode
	if mode == "" {
		mode = SensorAuto
	}
	switch mode {
	case SensorOff:
		return nil, nil
	case SensorAuto, SensorOn:
	default:
		return nil, fmt.Errorf("sensor mode %q: want auto, on or off", mode)
	}
	if len(rs.Enabled(sysevent.SourceName)) == 0 && mode == SensorAuto {
		log.Info("syscall source not started: no syscall rule loaded", "component", "sensor")
		return nil, nil
	}
	if err := sensorPreflight(); err != nil {
		return nil, err
	}
	sel := capture.Select(rs)
	if len(sel.Unsupported) > 0 {
		log.Warn("rules use event types the sensor does not produce; they never match them",
			"component", "sensor", "event_types", strings.Join(sel.Unsupported, ","))
	}
	if sel.All {
		log.Warn("a syscall rule constrains no evt.type: capturing every supported system call", "component", "sensor")
	}

	ctx, cancel := context.WithCancel(ctx)
	src := &syscallSource{cancel: cancel, log: log}
	res, err := container.NewResolver(container.Config{Logger: log, OnUpdate: hooks.onContainer})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("container attribution: %w", err)
	}
	src.resolver = res
	src.wg.Add(1)
	go func() {
		defer src.wg.Done()
		if err := res.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("container attribution stopped", "component", "container", "err", err)
		}
	}()
	table, err := proctree.New(proctree.Config{Containers: res, Logger: log})
	if err != nil {
		src.stop()
		return nil, fmt.Errorf("process table: %w", err)
	}
	src.table = table
	// Open the sensor before seeding, so that no process started in
	// between is missed; the seed only fills in what events do not.
	c, err := capture.New(ctx, capture.Config{
		Sensor:   sensor.Config{RingBufferBytes: o.RingBufferBytes, Syscalls: sel.Syscalls},
		Table:    table,
		Hostname: hostname,
		Procexit: sel.Procexit,
		Logger:   log,
	})
	if err != nil {
		src.stop()
		return nil, fmt.Errorf("%w: %v", ErrSensorUnavailable, err)
	}
	src.cap = c
	for _, f := range c.Sensor().Failed() {
		log.Error("sensor program not running", "component", "sensor", "program", f.Program, "err", firstLine(f.Err.Error()))
	}
	start := time.Now()
	if err := table.Seed(ctx); err != nil {
		log.Warn("process table seed incomplete", "component", "proctree", "err", err)
	}
	log.Info("syscall source running", "component", "sensor", "syscalls", strings.Join(c.Sensor().Captured(), ","),
		"skipped", strings.Join(c.Sensor().Skipped(), ","), "processes", table.Stats().Processes, "seed", time.Since(start).Round(time.Millisecond))

	src.wg.Add(2)
	go func() {
		defer src.wg.Done()
		// One emit closure for all events (no allocation per event): it
		// reads the event being evaluated from cur.
		var cur *sysevent.Event
		kids := newChildWatch(hostname, hooks.recordExec)
		emit := func(al *alert.Alert) {
			al.Context = provenance(cur, table)
			kids.watch(cur, al.Time)
			send(al)
		}
		err := c.Run(ctx, func(ev *sysevent.Event) {
			cur = ev
			kids.observe(ev)
			det.Detect(ev, emit)
		})
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, sensor.ErrClosed) {
			log.Error("syscall source stopped", "component", "sensor", "err", err)
		}
	}()
	interval := o.DropAlertInterval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	go func() {
		defer src.wg.Done()
		src.watchDrops(ctx, interval, hostname, send)
	}()
	return src, nil
}

// watchDrops raises a drop alert, at most once per interval, when the
// kernel dropped records since the last check.
func (s *syscallSource) watchDrops(ctx context.Context, interval time.Duration, hostname string, send func(*alert.Alert)) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastAlert time.Time
	var reported uint64
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			s.mu.Lock()
			if n := s.cap.Stats().Events; s.events != nil && n > s.counted {
				s.events.Add(float64(n - s.counted))
				s.counted = n
			}
			s.mu.Unlock()
			st := s.cap.Sensor().Stats()
			if st.Drops == reported || now.Sub(lastAlert) < interval {
				continue
			}
			n := st.Drops - reported
			reported, lastAlert = st.Drops, now
			s.log.Warn("syscall events dropped: the ring buffer was full", "component", "sensor", "dropped", n, "total_dropped", st.Drops, "total_submitted", st.Submitted)
			send(&alert.Alert{
				Time:     now.UTC(),
				Rule:     DropRule,
				Priority: rules.Critical.String(),
				Source:   "internal",
				Output: fmt.Sprintf("Vigil internal: syscall event drop. %d system call events dropped since the last report (%d dropped, %d delivered since start); enlarge --sensor-ring-buffer or lower the load",
					n, st.Drops, st.Submitted),
				OutputFields: map[string]any{"n_drops": n, "n_drops_total": st.Drops, "n_evts_total": st.Submitted},
				Tags:         []string{"vigil", "internal"},
				Hostname:     hostname,
			})
		}
	}
}

func (s *syscallSource) stop() {
	s.cancel()
	if s.cap != nil {
		_ = s.cap.Close()
		cs, ss := s.cap.Stats(), s.cap.Sensor().Stats()
		s.log.Info("syscall source stopped", "component", "sensor", "records", cs.Records, "events", cs.Events,
			"dropped", ss.Drops, "malformed", ss.Malformed)
	}
	s.wg.Wait()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// registerMetrics exports the sensor's counters.
func (s *syscallSource) registerMetrics(reg *metrics.Registry) error {
	ev := reg.Events(sysevent.SourceName)
	funcs := []struct {
		name, help string
		fn         func() float64
	}{
		{"sensor_records_total", "Records the eBPF sensor delivered to user space.", func() float64 { return float64(s.cap.Sensor().Stats().Submitted) }},
		{"sensor_drops_total", "Records the kernel dropped because the ring buffer was full.", func() float64 { return float64(s.cap.Sensor().Stats().Drops) }},
		{"sensor_malformed_total", "Records user space could not decode.", func() float64 { return float64(sensor.Malformed()) }},
	}
	for _, f := range funcs {
		if err := reg.NewCounterFunc(f.name, f.help, f.fn); err != nil {
			return err
		}
	}
	// vigil_events_total{source="syscall"} follows the capture's count,
	// updated by watchDrops every second.
	s.mu.Lock()
	s.events = ev
	s.mu.Unlock()
	return nil
}
