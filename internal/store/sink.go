package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
)

// Inserter is what a Sink needs of a Store.
type Inserter interface {
	Insert(ctx context.Context, alerts []*alert.Alert) error
}

// Sink is an alert output that writes to a store in batches: a batch is
// inserted when it holds MaxBatch alerts or when FlushEvery has passed since
// its first alert, so that ingest runs at the store's batched rate.
type Sink struct {
	ins        Inserter
	maxBatch   int
	flushEvery time.Duration

	mu     sync.Mutex
	buf    []*alert.Alert
	err    error // last insert error, returned by the next Send
	closed bool
	stop   chan struct{}
	done   chan struct{}

	inserted, failed, failedBatches atomic.Uint64
}

// SinkStats are the counters of a Sink.
type SinkStats struct {
	Inserted      uint64 // alerts stored
	Failed        uint64 // alerts lost in batches whose insert failed
	FailedBatches uint64 // inserts that failed (full disk, database error)
}

// Stats returns the sink's counters; it is safe for concurrent use.
func (s *Sink) Stats() SinkStats {
	return SinkStats{Inserted: s.inserted.Load(), Failed: s.failed.Load(), FailedBatches: s.failedBatches.Load()}
}

// NewSink returns a Sink over ins. maxBatch <= 0 means 500; flushEvery <= 0
// means 200 ms.
func NewSink(ins Inserter, maxBatch int, flushEvery time.Duration) *Sink {
	if maxBatch <= 0 {
		maxBatch = 500
	}
	if flushEvery <= 0 {
		flushEvery = 200 * time.Millisecond
	}
	s := &Sink{ins: ins, maxBatch: maxBatch, flushEvery: flushEvery, stop: make(chan struct{}), done: make(chan struct{})}
	go s.ticker()
	return s
}

func (s *Sink) ticker() {
	defer close(s.done)
	t := time.NewTicker(s.flushEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			s.flushLocked(context.Background())
			s.mu.Unlock()
		}
	}
}

// flushLocked inserts the buffered alerts; an error is kept for the next
// Send and the batch is dropped (the alert fanout counts send errors).
func (s *Sink) flushLocked(ctx context.Context) {
	if len(s.buf) == 0 {
		return
	}
	if err := s.ins.Insert(ctx, s.buf); err != nil {
		s.err = fmt.Errorf("store %d alerts: %w", len(s.buf), err)
		s.failed.Add(uint64(len(s.buf)))
		s.failedBatches.Add(1)
	} else {
		s.inserted.Add(uint64(len(s.buf)))
	}
	s.buf = make([]*alert.Alert, 0, s.maxBatch)
}

// Send buffers a; it inserts the batch when full. It returns the error of
// an earlier failed insert, once.
func (s *Sink) Send(ctx context.Context, a *alert.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return alert.ErrClosed
	}
	s.buf = append(s.buf, a)
	if len(s.buf) >= s.maxBatch {
		s.flushLocked(ctx)
	}
	err := s.err
	s.err = nil
	return err
}

// Close inserts what is buffered and stops the timer. It does not close
// the store.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushLocked(context.Background())
	err := s.err
	s.err = nil
	return errors.Join(err)
}
