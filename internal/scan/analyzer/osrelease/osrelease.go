// Package osrelease identifies the distribution from os-release(5) files.
package osrelease

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
)

// ErrNoID is returned when an os-release file has no ID field.
var ErrNoID = errors.New("os-release has no ID")

// maxSize bounds the bytes read from one os-release file.
const maxSize = 64 << 10

// Analyzer reads etc/os-release and usr/lib/os-release. When both are
// present, the caller prefers etc/os-release, as os-release(5) says.
type Analyzer struct{}

// New returns the os-release analyzer.
func New() Analyzer { return Analyzer{} }

// Type implements analyzer.Analyzer.
func (Analyzer) Type() analyzer.Type { return analyzer.TypeOSRelease }

// Version implements analyzer.Analyzer.
func (Analyzer) Version() int { return 1 }

// Wanted implements analyzer.Analyzer.
func (Analyzer) Wanted(path string, _ fs.FileMode) bool {
	return path == "etc/os-release" || path == "usr/lib/os-release"
}

// Analyze implements analyzer.Analyzer.
func (Analyzer) Analyze(_ context.Context, in analyzer.Input) (analyzer.Result, error) {
	fields, _ := Parse(io.LimitReader(in.Content, maxSize))
	if fields["ID"] == "" {
		return analyzer.Result{}, fmt.Errorf("analyze %s: %w", in.Path, ErrNoID)
	}
	os := &analyzer.OS{
		ID:         fields["ID"],
		VersionID:  fields["VERSION_ID"],
		Name:       fields["NAME"],
		PrettyName: fields["PRETTY_NAME"],
	}
	if like := fields["ID_LIKE"]; like != "" {
		os.IDLike = strings.Fields(like)
	}
	return analyzer.Result{OS: os}, nil
}

// Parse reads os-release assignments (KEY=value, the value optionally in
// shell single or double quotes with backslash escapes). Comments and blank
// lines are skipped. Malformed lines are skipped too, as systemd does, and
// reported together in the error, each with its line number; fields holds
// every valid assignment regardless.
func Parse(r io.Reader) (fields map[string]string, err error) {
	fields = map[string]string{}
	var errs []error
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		key, raw, ok := strings.Cut(line, "=")
		if !ok || !validKey(key) {
			errs = append(errs, fmt.Errorf("line %d: not a KEY=value assignment", n))
			continue
		}
		v, err := unquote(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %s: %w", n, key, err))
			continue
		}
		fields[key] = v
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return fields, errors.Join(errs...)
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// unquote interprets a shell word made of unquoted, single- and
// double-quoted parts, without expansions.
func unquote(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", errors.New("unterminated single quote")
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$\"\\`", s[i+1]) >= 0 {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return "", errors.New("unterminated double quote")
			}
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case ' ', '\t':
			return "", errors.New("unquoted whitespace")
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
