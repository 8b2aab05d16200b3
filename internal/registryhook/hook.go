package registryhook

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/scan/report"
	"github.com/vigilsec/vigil/internal/scan/scanner"
)

// Alert identity.
const (
	RuleName = "Vigil image scan: findings over threshold"
	Source   = "image_scan"
)

// Defaults of Config.
const (
	DefaultQueueSize    = 64
	DefaultWorkers      = 1
	DefaultMaxBodyBytes = 1 << 20
	DefaultScanTimeout  = 10 * time.Minute
	maxTopFindings      = 10
)

// ScanFunc scans a pulled image; target names it in the report.
type ScanFunc func(ctx context.Context, img v1.Image, target string) (*scanner.Result, error)

// Config configures a Hook. Zero fields take their defaults.
type Config struct {
	// Token, when set, is the bearer token every request must carry
	// ("Authorization: Bearer Token"); others get 401.
	Token string
	// QueueSize bounds the pushes waiting for a worker; a request that
	// would overflow it gets 503. Default DefaultQueueSize.
	QueueSize int
	// Workers is the number of concurrent scans. Default DefaultWorkers.
	Workers int
	// MaxBodyBytes is the largest notification body accepted (413 above).
	MaxBodyBytes int64
	// ScanTimeout bounds one pull and scan. Default DefaultScanTimeout.
	ScanTimeout time.Duration
	// ReportDir receives one JSON report per scanned digest,
	// <ReportDir>/<digest>.json. Required.
	ReportDir string
	// Insecure lists the registry hosts (host[:port]) pulled over plain
	// HTTP.
	Insecure []string
	// Registries, when not empty, lists the only registry hosts images
	// may be pulled from; a notification naming another gets 403.
	Registries []string
	// Keychain supplies registry credentials. Default
	// authn.DefaultKeychain (the Docker config, $DOCKER_CONFIG).
	Keychain authn.Keychain
	// Scan scans a pulled image. Required.
	Scan ScanFunc
	// Threshold selects the findings that raise an alert.
	Threshold Threshold
	// Emit delivers an alert. Required.
	Emit func(*alert.Alert)
	// Hostname is put in alerts.
	Hostname string
	// Logger receives the hook's logs. Default: discard.
	Logger *slog.Logger
}

// Stats are the hook's counters.
type Stats struct {
	Requests     uint64 // requests received
	Unauthorized uint64 // requests refused for a missing or wrong token
	BadRequests  uint64 // requests with no usable push (400) or a body too large (413)
	BadEvents    uint64 // events that could not be used, in requests otherwise accepted
	Refused      uint64 // requests naming a registry not allowed (403)
	Ignored      uint64 // events that are not image manifest pushes
	Queued       uint64 // pushes queued for a scan
	Duplicates   uint64 // pushes whose digest was already queued or being scanned
	Overflow     uint64 // pushes dropped because the queue was full (503)
	Scanned      uint64 // scans completed and reports stored
	Failed       uint64 // pulls or scans that failed
	Alerts       uint64 // alerts raised
}

// Hook receives registry notifications and scans the pushed images.
type Hook struct {
	cfg   Config
	log   *slog.Logger
	queue chan Push

	mu       sync.Mutex
	inflight map[string]bool // digests queued or being scanned
	stopped  bool
	wg       sync.WaitGroup

	requests, unauthorized, badRequests, badEvents, refused, ignored atomic.Uint64
	queued, duplicates, overflow, scanned, failed, alerts            atomic.Uint64
}

// New validates cfg and returns a hook; Start runs its workers.
func New(cfg Config) (*Hook, error) {
	if cfg.Scan == nil || cfg.Emit == nil {
		return nil, errors.New("registry hook: Scan and Emit are required")
	}
	if cfg.ReportDir == "" {
		return nil, errors.New("registry hook: a report directory is required")
	}
	for _, v := range []struct {
		name string
		n    int64
	}{{"queue size", int64(cfg.QueueSize)}, {"workers", int64(cfg.Workers)}, {"max body bytes", cfg.MaxBodyBytes}, {"scan timeout", int64(cfg.ScanTimeout)}} {
		if v.n < 0 {
			return nil, fmt.Errorf("registry hook: negative %s %d", v.name, v.n)
		}
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.ScanTimeout == 0 {
		cfg.ScanTimeout = DefaultScanTimeout
	}
	if cfg.Keychain == nil {
		cfg.Keychain = authn.DefaultKeychain
	}
	if cfg.Threshold.min == nil {
		t, err := ParseThreshold(DefaultThreshold)
		if err != nil {
			return nil, err
		}
		cfg.Threshold = t
	}
	for _, h := range append(slices.Clone(cfg.Insecure), cfg.Registries...) {
		if _, err := name.NewRegistry(h); err != nil || strings.ContainsAny(h, "/@ ") {
			return nil, fmt.Errorf("registry hook: registry host %q is not a host[:port]", h)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.ReportDir, 0o700); err != nil {
		return nil, fmt.Errorf("registry hook: create report dir %s: %w", cfg.ReportDir, err)
	}
	return &Hook{cfg: cfg, log: cfg.Logger.With("component", "registryhook"),
		queue: make(chan Push, cfg.QueueSize), inflight: map[string]bool{}}, nil
}

// Config returns the configuration in effect, defaults filled in.
func (h *Hook) Config() Config { return h.cfg }

// Start runs the workers until ctx is cancelled; Wait waits for them.
// Pushes still queued at cancellation are dropped (and logged).
func (h *Hook) Start(ctx context.Context) {
	for range h.cfg.Workers {
		h.wg.Go(func() { h.work(ctx) })
	}
	context.AfterFunc(ctx, func() {
		h.mu.Lock()
		h.stopped = true
		h.mu.Unlock()
	})
}

// Wait waits for the workers to return after the context of Start is
// cancelled.
func (h *Hook) Wait() { h.wg.Wait() }

// Stats returns the counters.
func (h *Hook) Stats() Stats {
	return Stats{Requests: h.requests.Load(), Unauthorized: h.unauthorized.Load(), BadRequests: h.badRequests.Load(),
		BadEvents: h.badEvents.Load(), Refused: h.refused.Load(), Ignored: h.ignored.Load(), Queued: h.queued.Load(),
		Duplicates: h.duplicates.Load(), Overflow: h.overflow.Load(), Scanned: h.scanned.Load(), Failed: h.failed.Load(),
		Alerts: h.alerts.Load()}
}

// EnqueueResult says what Enqueue did with a push.
type EnqueueResult int

// Outcomes of Enqueue.
const (
	Queued    EnqueueResult = iota // queued for a worker
	Duplicate                      // the digest is already queued or being scanned
	Full                           // the queue is full, or the hook stopped
)

// Enqueue queues p for a scan unless its digest is already in flight or
// the queue is full. It never blocks.
func (h *Hook) Enqueue(p Push) EnqueueResult {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.inflight[p.Digest] {
		h.duplicates.Add(1)
		return Duplicate
	}
	if h.stopped {
		h.overflow.Add(1)
		return Full
	}
	select {
	case h.queue <- p:
		h.inflight[p.Digest] = true
		h.queued.Add(1)
		return Queued
	default:
		h.overflow.Add(1)
		return Full
	}
}

func (h *Hook) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			for {
				select {
				case p := <-h.queue:
					h.log.Warn("push not scanned: shutting down", "image", p.Image(), "digest", p.Digest)
				default:
					return
				}
			}
		case p := <-h.queue:
			h.process(ctx, p)
			h.mu.Lock()
			delete(h.inflight, p.Digest)
			h.mu.Unlock()
		}
	}
}

// process pulls, scans, stores the report and alerts.
func (h *Hook) process(ctx context.Context, p Push) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.ScanTimeout)
	defer cancel()
	start := time.Now()
	res, path, err := h.scan(ctx, p)
	if err != nil {
		h.failed.Add(1)
		h.log.Error("scan of pushed image failed", "image", p.Image(), "digest", p.Digest, "err", err)
		return
	}
	h.scanned.Add(1)
	sum := h.cfg.Threshold.Evaluate(res)
	h.log.Info("pushed image scanned", "image", p.Image(), "digest", p.Digest, "report", path,
		"findings_over_threshold", len(sum.Over), "duration", time.Since(start).Round(time.Millisecond))
	if len(sum.Over) == 0 {
		return
	}
	h.alerts.Add(1)
	h.cfg.Emit(NewAlert(p, sum, path, h.cfg.Hostname, time.Now()))
}

func (h *Hook) scan(ctx context.Context, p Push) (*scanner.Result, string, error) {
	var opts []name.Option
	if slices.Contains(h.cfg.Insecure, p.Registry) {
		opts = append(opts, name.Insecure)
	}
	ref, err := name.NewDigest(p.Ref(), opts...)
	if err != nil {
		return nil, "", fmt.Errorf("reference %s: %w", p.Ref(), err)
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(h.cfg.Keychain))
	if err != nil {
		return nil, "", fmt.Errorf("pull %s: %w", ref, err)
	}
	res, err := h.cfg.Scan(ctx, img, p.Ref())
	if err != nil {
		return nil, "", fmt.Errorf("scan %s: %w", ref, err)
	}
	path, err := h.saveReport(p.Digest, res)
	if err != nil {
		return nil, "", err
	}
	return res, path, nil
}

// ReportPath returns where the report of digest is stored.
func (h *Hook) ReportPath(digest string) string {
	return filepath.Join(h.cfg.ReportDir, digest+".json")
}

// saveReport writes the JSON report atomically (temporary file, rename).
func (h *Hook) saveReport(digest string, res *scanner.Result) (string, error) {
	path := h.ReportPath(digest)
	f, err := os.CreateTemp(h.cfg.ReportDir, ".report-*.json")
	if err != nil {
		return "", fmt.Errorf("store report of %s: %w", digest, err)
	}
	err = report.JSON(f, res)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("store report %s: %w", path, err)
	}
	return path, nil
}

// NewAlert builds the alert of a scan whose findings passed the threshold.
func NewAlert(p Push, sum Summary, reportPath, hostname string, now time.Time) *alert.Alert {
	var top []string
	for _, f := range sum.Over {
		if len(top) == maxTopFindings {
			break
		}
		if !slices.Contains(top, f.ID) {
			top = append(top, f.ID)
		}
	}
	counts := make(map[string]int, len(sum.Counts))
	for k, v := range sum.Counts {
		counts[k] = v
	}
	return &alert.Alert{
		Time:     now,
		Rule:     RuleName,
		Priority: Priority(sum.Worst()),
		Source:   Source,
		Output: fmt.Sprintf("Pushed image has findings over the scan threshold (image=%s digest=%s critical=%d high=%d medium=%d low=%d unknown=%d over_threshold=%d top=%s)",
			p.Image(), p.Digest, counts["CRITICAL"], counts["HIGH"], counts["MEDIUM"], counts["LOW"], counts["UNKNOWN"],
			len(sum.Over), strings.Join(top, ",")),
		OutputFields: map[string]any{
			"image":          p.Image(),
			"digest":         p.Digest,
			"repository":     p.Repository,
			"registry":       p.Registry,
			"counts":         counts,
			"over_threshold": len(sum.Over),
			"top_findings":   top,
			"report":         reportPath,
		},
		Tags:     []string{"image_scan", "supply_chain"},
		Hostname: hostname,
	}
}

// ServeHTTP handles POST /hooks/registry: 202 once the pushes are queued,
// 400 for a body with no usable push, 401 without the token, 403 for a
// registry not allowed, 413 for a body too large, 503 when the queue is
// full (the registry retries).
func (h *Hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	if h.cfg.Token != "" && !checkBearer(r, h.cfg.Token) {
		h.unauthorized.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil registry hook"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "registry hook: missing or invalid bearer token"})
		return
	}
	body, err := readBody(w, r, h.cfg.MaxBodyBytes)
	if err != nil {
		h.badRequests.Add(1)
		code := http.StatusBadRequest
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			code = http.StatusRequestEntityTooLarge
		}
		writeJSON(w, code, map[string]any{"error": "registry hook: read body: " + err.Error()})
		return
	}
	parsed, perr := Parse(r.Header.Get("Content-Type"), body)
	h.ignored.Add(uint64(parsed.Ignored))
	if perr != nil && len(parsed.Pushes) == 0 {
		h.badRequests.Add(1)
		h.log.Warn("registry notification refused", "remote", r.RemoteAddr, "err", perr)
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": perr.Error()})
		return
	}
	if perr != nil {
		h.badEvents.Add(1)
		h.log.Warn("registry notification with bad events", "remote", r.RemoteAddr, "err", perr)
	}
	if len(h.cfg.Registries) > 0 {
		for _, p := range parsed.Pushes {
			if !slices.Contains(h.cfg.Registries, p.Registry) {
				h.refused.Add(1)
				h.log.Warn("registry notification refused: registry not allowed", "remote", r.RemoteAddr, "registry", p.Registry)
				writeJSON(w, http.StatusForbidden, map[string]any{"error": fmt.Sprintf("registry hook: registry %q is not in the allowed registries", p.Registry)})
				return
			}
		}
	}
	resp := struct {
		Queued     []string `json:"queued"`
		Duplicates []string `json:"duplicates"`
		Dropped    []string `json:"dropped,omitempty"`
		Ignored    int      `json:"ignored"`
		Errors     string   `json:"errors,omitempty"`
	}{Queued: []string{}, Duplicates: []string{}, Ignored: parsed.Ignored}
	if perr != nil {
		resp.Errors = perr.Error()
	}
	for _, p := range parsed.Pushes {
		switch h.Enqueue(p) {
		case Queued:
			resp.Queued = append(resp.Queued, p.Digest)
		case Duplicate:
			resp.Duplicates = append(resp.Duplicates, p.Digest)
		case Full:
			resp.Dropped = append(resp.Dropped, p.Digest)
		}
	}
	if len(resp.Dropped) > 0 {
		h.log.Warn("registry hook queue full: pushes dropped", "dropped", len(resp.Dropped), "queue_size", h.cfg.QueueSize)
		w.Header().Set("Retry-After", "30")
		writeJSON(w, http.StatusServiceUnavailable, resp)
		return
	}
	writeJSON(w, http.StatusAccepted, resp)
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
}

func checkBearer(r *http.Request, want string) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(want)) == 1
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
