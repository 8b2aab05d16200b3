package scanner

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/vigilsec/vigil/internal/scan/secret"
)

// SecretRules adapts a secret.Scanner to SecretScanner.
type SecretRules struct {
	S       *secret.Scanner
	MaxSize int64 // bytes scanned per file; 0 means secret.DefaultMaxSize
}

// Wanted reports whether the secret rules read the file at p.
func (r SecretRules) Wanted(p string, mode fs.FileMode) bool { return r.S.Wanted(p, mode) }

// Limit is the number of bytes of a file the rules read.
func (r SecretRules) Limit() int64 {
	if r.MaxSize > 0 {
		return r.MaxSize
	}
	return secret.DefaultMaxSize
}

// Scan scans content, at most Limit bytes of it; beyond, the findings of
// the beginning come with an error wrapping secret.ErrTruncated.
func (r SecretRules) Scan(ctx context.Context, p string, content []byte) ([]Secret, error) {
	if secret.IsBinary(content) {
		return nil, nil
	}
	var trunc error
	if limit := r.Limit(); int64(len(content)) > limit {
		content = content[:limit]
		trunc = fmt.Errorf("%w (%d bytes)", secret.ErrTruncated, limit)
	}
	found, err := r.S.ScanBytes(ctx, p, content)
	if err != nil {
		return nil, err
	}
	out := make([]Secret, len(found))
	for i, f := range found {
		out[i] = Secret{RuleID: f.RuleID, Description: f.Description, Severity: string(f.Severity), Path: p,
			Line: f.Line, Column: f.Column, Match: f.Match}
	}
	return out, trunc
}
