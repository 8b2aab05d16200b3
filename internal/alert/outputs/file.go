package outputs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/vigilsec/vigil/internal/alert"
)

// DefaultMaxFiles is how many rotated files a file output keeps when
// rotation is on and FileConfig.MaxFiles is zero.
const DefaultMaxFiles = 5

// FileConfig configures a file output.
type FileConfig struct {
	// Path is the file alerts are appended to, created 0600 (its
	// directory 0700) when missing.
	Path string
	// Format is alert.FormatJSON (JSON lines, the default) or
	// alert.FormatText.
	Format alert.Format
	// MaxSize, when positive, rotates the file before a line would make
	// it larger than MaxSize bytes: PATH becomes PATH.1, PATH.1 becomes
	// PATH.2 and so on.
	MaxSize int64
	// MaxFiles is how many rotated files (PATH.1 ... PATH.N) are kept;
	// older ones are removed. Default DefaultMaxFiles.
	MaxFiles int
}

// File appends alerts to a file, one line each, rotating it by size.
// Reopen closes and reopens the path, for external rotation (logrotate
// then SIGHUP). It is safe for concurrent use.
type File struct {
	mu        sync.Mutex
	cfg       FileConfig
	f         *os.File
	size      int64
	buf       []byte
	closed    bool
	rotations uint64
}

// OpenFile validates c and opens the file for appending.
func OpenFile(c FileConfig) (*File, error) {
	if c.Path == "" {
		return nil, errors.New("file output: path is required")
	}
	if c.MaxSize < 0 {
		return nil, fmt.Errorf("file output %s: negative max_size %d", c.Path, c.MaxSize)
	}
	if c.MaxFiles < 0 {
		return nil, fmt.Errorf("file output %s: negative max_files %d", c.Path, c.MaxFiles)
	}
	if c.MaxFiles == 0 {
		c.MaxFiles = DefaultMaxFiles
	}
	if err := os.MkdirAll(filepath.Dir(c.Path), 0o700); err != nil {
		return nil, fmt.Errorf("file output %s: %w", c.Path, err)
	}
	fo := &File{cfg: c}
	if err := fo.open(); err != nil {
		return nil, err
	}
	return fo, nil
}

// open opens the path for appending and learns its size.
func (fo *File) open() error {
	f, err := os.OpenFile(fo.cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("file output: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("file output: %w", err)
	}
	fo.f, fo.size = f, st.Size()
	return nil
}

// Path returns the path of the file.
func (fo *File) Path() string { return fo.cfg.Path }

// Rotations returns how many times the file was rotated.
func (fo *File) Rotations() uint64 {
	fo.mu.Lock()
	defer fo.mu.Unlock()
	return fo.rotations
}

// Send appends a as one line, rotating first if the line would push the
// file past MaxSize.
func (fo *File) Send(ctx context.Context, a *alert.Alert) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fo.mu.Lock()
	defer fo.mu.Unlock()
	if fo.closed {
		return alert.ErrClosed
	}
	buf := fo.buf[:0]
	if fo.cfg.Format == alert.FormatText {
		buf = a.AppendText(buf)
	} else {
		var err error
		if buf, err = a.AppendJSON(buf); err != nil {
			return err
		}
	}
	buf = append(buf, '\n')
	fo.buf = buf
	if fo.f == nil { // a failed rotation or reopen left no file: try again
		if err := fo.open(); err != nil {
			return err
		}
	}
	if fo.cfg.MaxSize > 0 && fo.size > 0 && fo.size+int64(len(buf)) > fo.cfg.MaxSize {
		if err := fo.rotate(); err != nil {
			return err
		}
	}
	n, err := fo.f.Write(buf)
	fo.size += int64(n)
	if err != nil {
		return fmt.Errorf("file output %s: write alert %q: %w", fo.cfg.Path, a.Rule, err)
	}
	return nil
}

// rotate shifts PATH.i to PATH.i+1, dropping the oldest, moves PATH to
// PATH.1 and opens a new PATH. fo.mu is held.
func (fo *File) rotate() error {
	p := fo.cfg.Path
	if err := fo.f.Close(); err != nil {
		fo.f = nil
		return fmt.Errorf("file output %s: close for rotation: %w", p, err)
	}
	fo.f = nil
	if err := os.Remove(p + "." + strconv.Itoa(fo.cfg.MaxFiles)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("file output %s: rotate: %w", p, err)
	}
	for i := fo.cfg.MaxFiles - 1; i >= 1; i-- {
		err := os.Rename(p+"."+strconv.Itoa(i), p+"."+strconv.Itoa(i+1))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("file output %s: rotate: %w", p, err)
		}
	}
	if err := os.Rename(p, p+".1"); err != nil {
		return fmt.Errorf("file output %s: rotate: %w", p, err)
	}
	fo.rotations++
	return fo.open()
}

// Reopen closes the file and opens the path again, so that a file moved
// away by logrotate is replaced by a new one. It is what vigil run does on
// SIGHUP.
func (fo *File) Reopen() error {
	fo.mu.Lock()
	defer fo.mu.Unlock()
	if fo.closed {
		return alert.ErrClosed
	}
	if fo.f != nil {
		err := fo.f.Close()
		fo.f = nil
		if err != nil {
			return fmt.Errorf("file output %s: close for reopen: %w", fo.cfg.Path, err)
		}
	}
	return fo.open()
}

// Close syncs and closes the file. Later Sends return alert.ErrClosed.
func (fo *File) Close() error {
	fo.mu.Lock()
	defer fo.mu.Unlock()
	if fo.closed {
		return nil
	}
	fo.closed = true
	if fo.f == nil {
		return nil
	}
	err := fo.f.Sync()
	if cerr := fo.f.Close(); err == nil {
		err = cerr
	}
	fo.f = nil
	if err != nil {
		return fmt.Errorf("file output %s: close: %w", fo.cfg.Path, err)
	}
	return nil
}
