package image

import (
	"strings"
	"testing"
)

// FuzzNormalizePath checks that an accepted path never climbs out of the
// root and is never absolute.
func FuzzNormalizePath(f *testing.F) {
	for _, s := range []string{"./etc/passwd", "../x", "/a/../../b", "a/./b//c/.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, ok := NormalizePath(name)
		if !ok {
			return
		}
		if strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
			t.Fatalf("NormalizePath(%q) = %q accepted", name, p)
		}
	})
}
