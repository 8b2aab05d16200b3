// Package testutil holds helpers shared by Vigil's tests.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// SharedData returns the path of rel under the shared test data directory,
// ../shared/data beside the repository (VIGIL_SHARED_DATA overrides it). The
// test fails when it is missing: CI always provides it.
func SharedData(t testing.TB, rel string) string {
	t.Helper()
	base := os.Getenv("VIGIL_SHARED_DATA")
	if base == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Fatalf("shared data: %v", err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				t.Fatalf("shared data: no go.mod above the test's directory")
			}
			dir = parent
		}
		base = filepath.Join(filepath.Dir(dir), "shared", "data")
	}
	p := filepath.Join(base, rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared test data %s missing (expected ../shared/data beside the repository, or set VIGIL_SHARED_DATA): %v", p, err)
	}
	return p
}
