package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/metrics"
	"github.com/vigilsec/vigil/internal/registryhook"
	"github.com/vigilsec/vigil/internal/scan/analyzer/catalog"
	"github.com/vigilsec/vigil/internal/scan/malware"
	"github.com/vigilsec/vigil/internal/scan/passwd"
	"github.com/vigilsec/vigil/internal/scan/scanner"
	"github.com/vigilsec/vigil/internal/scan/vulndb"
	"github.com/vigilsec/vigil/internal/server"
)

// DefaultRegistryHookScanners are the scanners run on pushed images: those
// of vigil scan plus the malware blocklist.
const DefaultRegistryHookScanners = "vuln,secret,misconfig,passwd,malware"

// RegistryHookOptions configures scan on push, POST /hooks/registry.
type RegistryHookOptions struct {
	Enabled   bool
	TokenFile string // bearer token the hook requires; "" accepts any caller
	QueueSize int    // pushes waiting for a scan; 0: registryhook.DefaultQueueSize
	Workers   int    // concurrent scans; 0: registryhook.DefaultWorkers
	// Insecure lists registry hosts pulled over plain HTTP.
	Insecure []string
	// Registries, when not empty, are the only hosts pulls may go to.
	Registries  []string
	Threshold   string // registryhook.ParseThreshold syntax; "" is the default
	Scanners    string // comma-separated scanner kinds; "" is DefaultRegistryHookScanners
	DBPath      string // vulnerability database (vigil db import)
	ScanTimeout time.Duration
}

// startRegistryHook registers POST /hooks/registry on srv and starts the
// scan workers. The returned func (idempotent) stops them and waits;
// queued pushes not yet scanned are dropped. Reports go to
// <dataDir>/scans.
func startRegistryHook(ctx context.Context, o RegistryHookOptions, dataDir, hostname string, emit func(*alert.Alert),
	reg *metrics.Registry, srv *server.Server, log *slog.Logger) (wait func(), err error) {
	if !o.Enabled {
		return func() {}, nil
	}
	if dataDir == "" {
		return nil, errors.New("registry hook: needs a data directory for its reports (--data-dir)")
	}
	token, err := readSecret(o.TokenFile, "registry hook token")
	if err != nil {
		return nil, err
	}
	if o.Threshold == "" {
		o.Threshold = registryhook.DefaultThreshold
	}
	th, err := registryhook.ParseThreshold(o.Threshold)
	if err != nil {
		return nil, fmt.Errorf("registry hook: %w", err)
	}
	if o.Scanners == "" {
		o.Scanners = DefaultRegistryHookScanners
	}
	kinds, err := scanner.ParseKinds(o.Scanners)
	if err != nil {
		return nil, fmt.Errorf("registry hook scanners: %w", err)
	}
	var db *vulndb.DB
	if kinds[scanner.Vuln] {
		db, err = vulndb.OpenExisting(ctx, o.DBPath)
		if errors.Is(err, vulndb.ErrNoDatabase) {
			err = fmt.Errorf("%w (create it with: vigil db import DIR|ZIP|FILE --db %s, or leave vuln out of the registry hook scanners)", err, o.DBPath)
		}
		if err != nil {
			return nil, fmt.Errorf("registry hook: %w", err)
		}
	}
	closeDB := func() {
		if db != nil {
			_ = db.Close()
		}
	}
	hook, err := registryhook.New(registryhook.Config{
		Token: token, QueueSize: o.QueueSize, Workers: o.Workers, ScanTimeout: o.ScanTimeout,
		ReportDir: filepath.Join(dataDir, "scans"), Insecure: o.Insecure, Registries: o.Registries,
		Scan: pushScanner(kinds, db, log), Threshold: th, Emit: emit, Hostname: hostname, Logger: log,
	})
	if err != nil {
		closeDB()
		return nil, err
	}
	if err := registerHookMetrics(reg, hook); err != nil {
		closeDB()
		return nil, err
	}
	if err := srv.Handle("POST /hooks/registry", hook); err != nil {
		closeDB()
		return nil, err
	}
	hookCtx, cancel := context.WithCancel(ctx)
	hook.Start(hookCtx)
	log.Info("registry hook serving", "component", "registryhook", "route", "POST /hooks/registry", "token", token != "",
		"workers", hook.Config().Workers, "queue", hook.Config().QueueSize, "threshold", th.String(), "scanners", o.Scanners)
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			hook.Wait()
			closeDB()
		})
	}, nil
}

// pushScanner returns the scan of a pushed image. Secret and malware
// scanners keep per-scan state, so each scan builds its own; the database
// is shared.
func pushScanner(kinds scanner.Set, db *vulndb.DB, log *slog.Logger) registryhook.ScanFunc {
	return func(ctx context.Context, img v1.Image, target string) (*scanner.Result, error) {
		opt := scanner.Options{Scanners: kinds, Analyzers: catalog.All(), Logger: log, Passwd: &passwd.Checker{}}
		if db != nil {
			opt.DB = db
		}
		if kinds[scanner.Secrets] {
			s, err := SecretScanner("", log)
			if err != nil {
				return nil, err
			}
			opt.Secrets = s
		}
		if kinds[scanner.Malware] {
			m, err := malware.New(malware.Options{})
			if err != nil && !errors.Is(err, malware.ErrNoYARA) {
				return nil, err
			}
			opt.Malware = m
		}
		return scanner.ScanImage(ctx, img, target, opt)
	}
}

// registerHookMetrics exports the hook's counters as
// vigil_registry_hook_<name>_total.
func registerHookMetrics(reg *metrics.Registry, h *registryhook.Hook) error {
	for _, c := range []struct {
		name, help string
		get        func(registryhook.Stats) uint64
	}{
		{"requests", "Registry notifications received.", func(s registryhook.Stats) uint64 { return s.Requests }},
		{"unauthorized", "Registry notifications refused for a missing or wrong token.", func(s registryhook.Stats) uint64 { return s.Unauthorized }},
		{"bad_requests", "Registry notifications refused as unusable or too large.", func(s registryhook.Stats) uint64 { return s.BadRequests }},
		{"bad_events", "Accepted registry notifications that held unusable events.", func(s registryhook.Stats) uint64 { return s.BadEvents }},
		{"refused", "Registry notifications naming a registry not allowed.", func(s registryhook.Stats) uint64 { return s.Refused }},
		{"ignored", "Registry events that are not image manifest pushes.", func(s registryhook.Stats) uint64 { return s.Ignored }},
		{"queued", "Pushed images queued for a scan.", func(s registryhook.Stats) uint64 { return s.Queued }},
		{"duplicates", "Pushed images already queued or being scanned.", func(s registryhook.Stats) uint64 { return s.Duplicates }},
		{"overflow", "Pushed images dropped because the scan queue was full.", func(s registryhook.Stats) uint64 { return s.Overflow }},
		{"scanned", "Pushed images scanned with their report stored.", func(s registryhook.Stats) uint64 { return s.Scanned }},
		{"failed", "Pushed images whose pull or scan failed.", func(s registryhook.Stats) uint64 { return s.Failed }},
		{"alerts", "Scans of pushed images whose findings passed the threshold.", func(s registryhook.Stats) uint64 { return s.Alerts }},
	} {
		get := c.get
		if err := reg.NewCounterFunc("registry_hook_"+c.name+"_total", c.help, func() float64 { return float64(get(h.Stats())) }); err != nil {
			return fmt.Errorf("registry hook metrics: %w", err)
		}
	}
	return nil
}
