package osrelease

import (
	"bytes"
	"os"
	"testing"
)

// FuzzParse checks that arbitrary os-release files never panic.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("A='x'\"y\\\"\"z\\\nB=\"\nC"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fields, _ := Parse(bytes.NewReader(data))
		for k := range fields {
			if !validKey(k) {
				t.Fatalf("invalid key %q accepted", k)
			}
		}
	})
}
