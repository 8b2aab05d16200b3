package outputs

import (
	"io"

	"github.com/vigilsec/vigil/internal/alert"
)

// StdoutConfig configures the stdout output.
type StdoutConfig struct {
	// Format is alert.FormatJSON (Falco's json_output, one object per
	// line; the default) or alert.FormatText (Falco's text line
	// "HH:MM:SS.nnnnnnnnn: Priority Output").
	Format alert.Format
}

// NewStdout returns an output writing alerts to w (the process's stdout),
// one line per alert. Closing it leaves w open.
func NewStdout(w io.Writer, c StdoutConfig) *alert.WriterSink {
	return alert.NewWriterSink(w, c.Format)
}

// ParseFormat parses "json" or "text".
func ParseFormat(s string) (alert.Format, bool) {
	switch s {
	case "json":
		return alert.FormatJSON, true
	case "text":
		return alert.FormatText, true
	}
	return 0, false
}
