package dpkg

import (
	"bytes"
	"os"
	"testing"
)

// FuzzParse checks that arbitrary status files never panic and that every
// returned package has a name and a version.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("/var/lib/dpkg/status"); err == nil {
		f.Add(b[:min(len(b), 4096)])
	}
	f.Add([]byte("Package: a\nVersion: 1\nSource: b (2)\n\n \n:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, _ := Parse(bytes.NewReader(data))
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" {
				t.Fatalf("package without name or version: %+v", p)
			}
		}
	})
}
