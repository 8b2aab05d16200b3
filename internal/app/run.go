package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/alert/outputs"
	"github.com/vigilsec/vigil/internal/k8saudit"
	"github.com/vigilsec/vigil/internal/metrics"
	"github.com/vigilsec/vigil/internal/server"
	"github.com/vigilsec/vigil/internal/store"
)

// RunOptions configures Run.
type RunOptions struct {
	Listen     string   // HTTP address, default 127.0.0.1:9765
	Rules      []string // rules files; the embedded defaults when empty
	AlertsFile string   // also append alerts to this file (JSON lines)
	// Outputs are the alert outputs (vigil.yaml); nil means JSON lines on
	// Stdout.
	Outputs []outputs.Spec
	// Metrics is the registry served at GET /metrics; Run creates one
	// when nil.
	Metrics      *metrics.Registry
	DataDir      string // state directory; alerts are stored in vigil.db (SQLite) there
	MaxBodyBytes int64  // largest audit webhook request accepted
	Hostname     string
	// Store is the alert store: a postgres:// URL (PostgreSQL), or "" for
	// the SQLite file vigil.db in DataDir.
	Store string
	// Sensor configures the syscall source (the eBPF sensor).
	Sensor SensorOptions
	// Alerts configures aggregation, rate limiting and store retention;
	// the zero value turns them off (see DefaultAlertOptions).
	Alerts AlertOptions
	Stdout io.Writer // where stdout outputs write alerts
	Stderr io.Writer // diagnostics
	Logger *slog.Logger
	// Ready, when set, receives the bound address once the server listens.
	Ready func(addr string)
	// Auth configures authentication and TLS of the HTTP server.
	Auth AuthOptions
	// Version is reported by GET /api/v1/health.
	Version string
	// RegistryHook configures scan on push (POST /hooks/registry).
	RegistryHook RegistryHookOptions
	// Response configures the automatic response policies.
	Response ResponseOptions
}

// DefaultDataDir is where vigil run keeps its state when run as root.
const DefaultDataDir = "/var/lib/vigil"

// Run loads the rules, serves the Kubernetes audit webhook and writes alerts
// until ctx is cancelled.
func Run(ctx context.Context, o RunOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(o.Stderr, nil))
	}
	rs, diags, err := LoadRules(o.Rules)
	if err != nil {
		return err
	}
	printDiags(o.Stderr, diags)
	if diags.HasErrors() {
		return ErrRules
	}
	log.Info("rules loaded", "component", "run", "rules", len(rs.Rules()),
		"k8s_audit_enabled", len(rs.Enabled(k8saudit.SourceName)))

	reg := o.Metrics
	if reg == nil {
		reg = metrics.New()
	}
	outs, err := buildOutputs(OutputsConfig{Specs: o.Outputs, AlertsFile: o.AlertsFile, Stdout: o.Stdout})
	if err != nil {
		return err
	}
	var db alertStore
	if o.DataDir != "" || o.Store != "" {
		db, err = openStore(ctx, o.Store, o.DataDir, log)
		if err != nil {
			closeOutputs(outs)
			return err
		}
		defer db.Close()
		storeSink := store.NewSink(db, 500, 200*time.Millisecond)
		outs = append(outs, alert.Output{Name: "store", Sink: storeSink})
		stopRetention, err := startRetention(ctx, o.Alerts, db, storeSink, reg, log)
		if err != nil {
			closeOutputs(outs)
			return err
		}
		defer stopRetention()
	}
	respExec, respOuts, err := startResponse(ctx, o.Response, o.DataDir, o.Version, db, log)
	if err != nil {
		closeOutputs(outs)
		return err
	}
	outs = append(outs, respOuts...)
	fan, err := alert.NewFanout(alert.FanoutConfig{Logger: log}, outs...)
	if err != nil {
		closeOutputs(outs)
		return err
	}
	if err := reg.RegisterOutputs(outputStats(fan, outs)); err != nil {
		return err
	}
	reopenOnHUP(ctx, outs, log)
	det := NewDetector(rs, o.Hostname)
	pipe, err := startPipeline(o.Alerts, fan, reg, det.hostname, log)
	if err != nil {
		return err
	}
	tlsCfg, err := tlsConfig(o.Auth, o.DataDir, o.Listen, log)
	if err != nil {
		return err
	}
	auditToken, err := readSecret(o.Auth.AuditTokenFile, "audit token")
	if err != nil {
		return err
	}
	metricsToken, err := readSecret(o.Auth.MetricsTokenFile, "metrics token")
	if err != nil {
		return err
	}
	var (
		hooks   sourceHooks
		api     *server.APIConfig
		writers *asyncWriters
	)
	if db != nil {
		authSvc, err := setupAuth(ctx, o.Auth, db, o.Stderr, log)
		if err != nil {
			return err
		}
		writers = startAsyncWriters(db, log)
		defer writers.stop()
		hooks = writers.hooks()
		now := time.Now()
		writers.assets <- store.Asset{Kind: store.AssetHost, ID: det.hostname, Name: det.hostname, FirstSeen: now, LastSeen: now,
			Attributes: map[string]any{"vigil_version": o.Version}}
		api = &server.APIConfig{Store: db, Auth: authSvc, Version: o.Version}
		api.Actions = respExec
	} else {
		log.Warn("no data directory: the HTTP API and console are off", "component", "run")
	}
	sysState := SensorOff
	sys, err := startSyscallSource(ctx, o.Sensor, rs, det, det.hostname, func(al *alert.Alert) {
		reg.Alert(al.Rule, al.Priority)
		_ = pipe.Send(ctx, al)
	}, hooks, log)
	switch {
	case err != nil && o.Sensor.Mode != SensorOn && errors.Is(err, ErrSensorUnavailable):
		sysState = "unavailable: " + err.Error()
		log.Warn("syscall source not running; the other sources run", "component", "sensor", "err", err)
	case err != nil:
		return err
	case sys != nil:
		sysState = "running"
	}
	if api != nil {
		api.Sources = func() map[string]string {
			return map[string]string{"syscall": sysState, k8saudit.SourceName: "running"}
		}
	}
	if sys != nil {
		defer sys.stop()
		if err := sys.registerMetrics(reg); err != nil {
			return err
		}
	}
	if os.Geteuid() == 0 {
		bctx, bcancel := context.WithCancel(ctx)
		bdone := make(chan struct{})
		go func() {
			defer close(bdone)
			watchBlockList(bctx, o.DataDir, det.hostname, func(al *alert.Alert) {
				reg.Alert(al.Rule, al.Priority)
				_ = fan.Send(ctx, al)
			}, log)
		}()
		defer func() { bcancel(); <-bdone }()
	}
	ing := &auditIngester{det: det, fan: pipe, met: reg, events: reg.Events(k8saudit.SourceName)}
	srv, err := server.New(server.Config{Addr: o.Listen, MaxBodyBytes: o.MaxBodyBytes, Logger: log,
		API: api, Metrics: reg.Handler(), MetricsToken: metricsToken, TLS: tlsCfg, AuditToken: auditToken,
		Console: consoleHandler()}, ing)
	if err != nil {
		return err
	}
	waitHook, err := startRegistryHook(ctx, o.RegistryHook, o.DataDir, det.hostname, func(al *alert.Alert) {
		reg.Alert(al.Rule, al.Priority)
		_ = pipe.Send(ctx, al)
	}, reg, srv, log)
	if err != nil {
		return err
	}
	defer waitHook()
	var auditRunning atomic.Bool
	srv.AddReadyCheck(k8saudit.SourceName, func() error {
		if !auditRunning.Load() {
			return errors.New("audit webhook not serving yet")
		}
		return nil
	})
	bound, err := srv.Listen(ctx)
	if err != nil {
		return err
	}
	addr := bound.String()
	auditRunning.Store(true)
	log.Info("serving", "component", "run", "addr", addr, "tls", tlsCfg != nil, "auth", api != nil && api.Auth != nil,
		"audit_webhook", "POST /k8s-audit", "audit_auth", auditToken != "" || (tlsCfg != nil && tlsCfg.ClientCAs != nil))
	if o.Ready != nil {
		o.Ready(addr)
	}
	serveErr := srv.Serve(ctx)
	waitHook()
	closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	closePipeline(closeCtx, pipe, log)
	if err := fan.Close(closeCtx); err != nil {
		log.Error("close outputs", "component", "run", "err", err)
	}
	events, alerts := det.Counts()
	log.Info("stopped", "component", "run", "events", events, "alerts", alerts, "rejected_requests", ing.rejected.Load(), "requests_with_bad_items", ing.badItems.Load())
	return serveErr
}

// auditIngester decodes audit webhook bodies and evaluates their events.
type auditIngester struct {
	det      *Detector
	fan      alertSender // the alert pipeline
	met      *metrics.Registry
	events   interface{ Add(float64) } // vigil_events_total{source="k8s_audit"}
	rejected atomic.Uint64             // requests refused whole
	badItems atomic.Uint64             // requests with some items that were not audit events
	decoders sync.Pool                 // *k8saudit.BodyDecoder, one per request in flight
}

// IngestAudit implements server.AuditIngester.
func (a *auditIngester) IngestAudit(ctx context.Context, body []byte) (int, error) {
	n := 0
	bd, _ := a.decoders.Get().(*k8saudit.BodyDecoder)
	if bd == nil {
		bd = new(k8saudit.BodyDecoder)
	}
	defer a.decoders.Put(bd)
	err := bd.Decode(body, func(ev *k8saudit.Event) error {
		n++
		a.det.Detect(ev, func(al *alert.Alert) {
			a.met.Alert(al.Rule, al.Priority)
			// The pipeline never blocks; overflow is counted.
			_ = a.fan.Send(ctx, al)
		})
		return nil
	})
	a.events.Add(float64(n))
	if err != nil && n == 0 {
		// Nothing usable: the sender should know (400). A batch with some
		// good events is accepted, since kube-apiserver resends rejected
		// batches and the good events would then alert twice; its bad items
		// are counted.
		a.rejected.Add(1)
		return 0, fmt.Errorf("%w: %v", server.ErrBadInput, err)
	}
	if err != nil {
		a.badItems.Add(1)
	}
	return n, nil
}
