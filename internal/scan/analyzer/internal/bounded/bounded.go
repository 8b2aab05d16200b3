// Package bounded reads analyzer inputs into memory with a size cap, so a
// huge or endless file cannot exhaust memory.
package bounded

import (
	"errors"
	"fmt"
	"io"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
)

// ErrTooLarge is wrapped by ReadAll when a file exceeds its cap.
var ErrTooLarge = errors.New("file too large")

// ReadAll returns the content of in, or an error naming in.Path when it
// holds more than limit bytes or cannot be read.
func ReadAll(in analyzer.Input, limit int64) ([]byte, error) {
	if in.Size > limit {
		return nil, fmt.Errorf("read %s: %w: %d bytes, limit %d", in.Path, ErrTooLarge, in.Size, limit)
	}
	data, err := io.ReadAll(io.LimitReader(in.Content, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", in.Path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read %s: %w: over %d bytes", in.Path, ErrTooLarge, limit)
	}
	return data, nil
}
