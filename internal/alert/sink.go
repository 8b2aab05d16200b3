package alert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Sink is an alert output. Send must not modify the alert, which may be
// shared with other sinks; Close releases the output. Both are called from
// one goroutine at a time by Fanout.
type Sink interface {
	Send(ctx context.Context, a *Alert) error
	Close() error
}

// Format selects how a WriterSink encodes alerts.
type Format uint8

// Formats of a WriterSink.
const (
	// FormatJSON writes one Falco json_output object per line.
	FormatJSON Format = iota
	// FormatText writes one Falco text line per alert.
	FormatText
)

// WriterSink writes one encoded alert per line to an io.Writer, each line
// in a single Write call. It is safe for concurrent use.
type WriterSink struct {
	mu     sync.Mutex
	w      io.Writer
	format Format
	buf    []byte
	closed bool
}

// NewWriterSink returns a sink writing alerts to w in the given format. Its
// Close does not close w, so it suits os.Stdout.
func NewWriterSink(w io.Writer, f Format) *WriterSink {
	return &WriterSink{w: w, format: f}
}

// Send encodes a and writes it as one line. It returns ctx's error without
// writing if ctx is already done, and ErrClosed after Close.
func (s *WriterSink) Send(ctx context.Context, a *Alert) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.w == nil {
		return errors.New("write alert: nil writer")
	}
	buf := s.buf[:0]
	if s.format == FormatText {
		buf = a.AppendText(buf)
	} else {
		var err error
		if buf, err = a.AppendJSON(buf); err != nil {
			return err
		}
	}
	buf = append(buf, '\n')
	s.buf = buf
	if _, err := s.w.Write(buf); err != nil {
		return fmt.Errorf("write alert %q: %w", a.Rule, err)
	}
	return nil
}

// Close marks the sink closed; later Sends return ErrClosed. The
// underlying writer is left open.
func (s *WriterSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// FileSink appends JSON lines to a file. It is safe for concurrent use.
type FileSink struct {
	ws   *WriterSink
	f    *os.File
	path string
	once sync.Once
	err  error
}

// OpenFileSink opens path for appending alerts as JSON lines, creating it
// with mode 0600, and its parent directory with mode 0700, if missing. The
// mode of an existing file is left as is.
func OpenFileSink(path string) (*FileSink, error) {
	if path == "" {
		return nil, errors.New("open alert file: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open alert file %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open alert file %s: %w", path, err)
	}
	return &FileSink{ws: NewWriterSink(f, FormatJSON), f: f, path: path}, nil
}

// Path returns the path of the file.
func (s *FileSink) Path() string { return s.path }

// Send appends a to the file as one JSON line.
func (s *FileSink) Send(ctx context.Context, a *Alert) error {
	if err := s.ws.Send(ctx, a); err != nil {
		return fmt.Errorf("alert file %s: %w", s.path, err)
	}
	return nil
}

// Close flushes the file to stable storage and closes it. Later calls
// return the result of the first.
func (s *FileSink) Close() error {
	s.once.Do(func() {
		_ = s.ws.Close() // waits for an in-flight Send; never fails
		if err := s.f.Sync(); err != nil {
			s.err = fmt.Errorf("sync alert file %s: %w", s.path, err)
		}
		if err := s.f.Close(); err != nil && s.err == nil {
			s.err = fmt.Errorf("close alert file %s: %w", s.path, err)
		}
	})
	return s.err
}
