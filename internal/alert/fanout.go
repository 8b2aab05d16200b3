package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of FanoutConfig.
const (
	DefaultQueueSize       = 1024
	DefaultDropLogInterval = 10 * time.Second
)

// FanoutConfig configures a Fanout. Zero fields take their defaults.
type FanoutConfig struct {
	// QueueSize is the number of alerts each sink may have waiting;
	// alerts beyond it are dropped and counted. Default DefaultQueueSize.
	QueueSize int
	// DropLogInterval is the minimum time between two log records about
	// drops or send errors of one sink. Default DefaultDropLogInterval.
	DropLogInterval time.Duration
	// Logger receives drop and error reports. Default: discard.
	Logger *slog.Logger
}

// Output is a named sink given to NewFanout. The name identifies the sink
// in Stats and logs, e.g. "stdout" or "file".
type Output struct {
	Name string
	Sink Sink
	// QueueSize, when positive, overrides FanoutConfig.QueueSize for this
	// sink.
	QueueSize int
	// Accept, when set, is asked by Send whether the sink wants an alert;
	// refused alerts are not queued and are counted in Filtered. It runs
	// on the caller's goroutine, so it must be fast and safe for
	// concurrent use.
	Accept func(*Alert) bool
}

// SinkStats are the counters of one sink of a Fanout.
type SinkStats struct {
	Name string
	// Sent counts alerts the sink accepted.
	Sent uint64
	// Dropped counts alerts never handed to the sink: its queue was full,
	// or Close gave up before reaching them.
	Dropped uint64
	// Errors counts alerts whose Send returned an error.
	Errors uint64
	// Filtered counts alerts the output's Accept refused.
	Filtered uint64
	// Queued is the number of alerts waiting now.
	Queued int
}

// Fanout delivers each alert to several sinks. Every sink has its own
// bounded queue and goroutine, so a slow sink loses alerts (counted in
// Stats) instead of blocking the caller or the other sinks. Each sink
// receives alerts in the order they were sent. It is safe for concurrent
// use.
type Fanout struct {
	log      *slog.Logger
	interval time.Duration
	outs     []*fanoutSink

	mu     sync.Mutex // guards closed against Send on closed queues, and orders Sends
	closed bool

	ctx    context.Context // passed to sinks; cancelled when Close gives up
	cancel context.CancelFunc
}

type fanoutSink struct {
	name   string
	sink   Sink
	accept func(*Alert) bool
	queue  chan *Alert
	done   chan struct{}

	sent, dropped, errors, filtered atomic.Uint64
	lastDropLog                     atomic.Int64 // unix nanoseconds
	lastErrLog                      atomic.Int64
	closeErr                        error // set before done is closed
}

// NewFanout starts one goroutine per output and returns the fanout. Names
// must be unique and non-empty and sinks non-nil. The fanout owns the sinks:
// Close closes them.
func NewFanout(cfg FanoutConfig, outputs ...Output) (*Fanout, error) {
	if cfg.QueueSize < 0 {
		return nil, fmt.Errorf("alert fanout: negative queue size %d", cfg.QueueSize)
	}
	if cfg.DropLogInterval < 0 {
		return nil, fmt.Errorf("alert fanout: negative drop log interval %s", cfg.DropLogInterval)
	}
	if len(outputs) == 0 {
		return nil, errors.New("alert fanout: no outputs")
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.DropLogInterval == 0 {
		cfg.DropLogInterval = DefaultDropLogInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	seen := make(map[string]bool, len(outputs))
	for i, o := range outputs {
		switch {
		case o.Name == "":
			return nil, fmt.Errorf("alert fanout: output %d: empty name", i)
		case seen[o.Name]:
			return nil, fmt.Errorf("alert fanout: output %q: duplicate name", o.Name)
		case o.Sink == nil:
			return nil, fmt.Errorf("alert fanout: output %q: nil sink", o.Name)
		case o.QueueSize < 0:
			return nil, fmt.Errorf("alert fanout: output %q: negative queue size %d", o.Name, o.QueueSize)
		}
		seen[o.Name] = true
	}
	f := &Fanout{
		log:      cfg.Logger.With("component", "alert"),
		interval: cfg.DropLogInterval,
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	for _, o := range outputs {
		qs := cfg.QueueSize
		if o.QueueSize > 0 {
			qs = o.QueueSize
		}
		fs := &fanoutSink{
			name:   o.Name,
			sink:   o.Sink,
			accept: o.Accept,
			queue:  make(chan *Alert, qs),
			done:   make(chan struct{}),
		}
		f.outs = append(f.outs, fs)
		go f.run(fs)
	}
	return f, nil
}

// Send queues a for every sink and returns without waiting for delivery. A
// sink whose queue is full drops a. Concurrent Sends are serialized (each
// only enqueues, never blocks), so every sink receives alerts in the same
// order. The alert must not be modified after
// Send. Send returns ErrClosed after Close has begun.
func (f *Fanout) Send(ctx context.Context, a *Alert) error {
	if a == nil {
		return errors.New("send alert: nil alert")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	for _, o := range f.outs {
		if o.accept != nil && !o.accept(a) {
			o.filtered.Add(1)
			continue
		}
		select {
		case o.queue <- a:
		default:
			n := o.dropped.Add(1)
			if f.rateOK(&o.lastDropLog) {
				f.log.Warn("alert queue full, dropping alerts",
					"sink", o.name, "dropped_total", n, "queue_size", cap(o.queue))
			}
		}
	}
	return nil
}

// rateOK reports whether a log record guarded by last may be written now,
// claiming the slot if so.
func (f *Fanout) rateOK(last *atomic.Int64) bool {
	now := time.Now().UnixNano()
	prev := last.Load()
	if prev != 0 && now-prev < int64(f.interval) {
		return false
	}
	return last.CompareAndSwap(prev, now)
}

func (f *Fanout) run(o *fanoutSink) {
	defer close(o.done)
	for a := range o.queue {
		if f.ctx.Err() != nil {
			o.dropped.Add(1) // Close gave up: discard the rest
			continue
		}
		if err := o.sink.Send(f.ctx, a); err != nil {
			n := o.errors.Add(1)
			if f.rateOK(&o.lastErrLog) {
				f.log.Warn("alert sink send failed",
					"sink", o.name, "errors_total", n, "error", err)
			}
			continue
		}
		o.sent.Add(1)
	}
	if err := o.sink.Close(); err != nil {
		o.closeErr = fmt.Errorf("close alert sink %s: %w", o.name, err)
	}
}

// Stats returns the counters of each sink, in the order of the outputs
// given to NewFanout.
func (f *Fanout) Stats() []SinkStats {
	st := make([]SinkStats, len(f.outs))
	for i, o := range f.outs {
		st[i] = SinkStats{
			Name:     o.name,
			Sent:     o.sent.Load(),
			Dropped:  o.dropped.Load(),
			Errors:   o.errors.Load(),
			Filtered: o.filtered.Load(),
			Queued:   len(o.queue),
		}
	}
	return st
}

// Close stops accepting alerts, waits until every queued alert has been
// handed to its sink, and closes the sinks, returning their Close errors.
// If ctx ends first, Close cancels the context given to the sinks' Send,
// counts the alerts still queued as dropped, and returns ctx's error
// without waiting further; sinks are then closed by their goroutines as
// soon as their current Send returns. Calling Close again returns
// ErrClosed.
func (f *Fanout) Close(ctx context.Context) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return ErrClosed
	}
	f.closed = true
	for _, o := range f.outs {
		close(o.queue)
	}
	f.mu.Unlock()

	var errs []error
	for _, o := range f.outs {
		select {
		case <-o.done:
		default:
			// Prefer a finished drain over an expired ctx.
			select {
			case <-o.done:
			case <-ctx.Done():
				f.cancel()
				pending := 0
				for _, o := range f.outs {
					pending += len(o.queue)
				}
				return fmt.Errorf("drain alert queues: %d alerts pending: %w", pending, ctx.Err())
			}
		}
		if o.closeErr != nil {
			errs = append(errs, o.closeErr)
		}
	}
	f.cancel()
	return errors.Join(errs...)
}
