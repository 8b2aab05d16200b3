package version

import "testing"

// TestSemVerPrecedence follows semver.org 2.0.0 section 11.
func TestSemVerPrecedence(t *testing.T) {
	runOrdered(t, SemVer{}, []string{
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1",
	})
	runCompare(t, SemVer{}, []cmpCase{
		{"1.0.0+20130313144700", "1.0.0", 0},
		{"1.0.0-alpha+001", "1.0.0-alpha", 0},
		{"1.0.0+21AF26D3----117B344092BD", "1.0.0+other", 0},
		{"v1.2.3", "1.2.3", 0},
		{"1.2.3-1", "1.2.3-a", -1},
		{"1.2.3-a-b", "1.2.3-a", 1},
		{"1.2.3-9", "1.2.3-10", -1},
		{"1.2.3-Z", "1.2.3-a", -1}, // ASCII order
		{"10.0.0", "9.99.99", 1},
		{"1.2.3-rc.1", "1.2.3-rc.1.0", -1},
		{"0.0.0", "0.0.1", -1},
		{"1.18446744073709551616.0", "1.18446744073709551615.0", 1},
	})
}

func TestSemVerInvalid(t *testing.T) {
	runInvalid(t, SemVer{}, "1.0.0", []string{
		"", "v", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "1.2.3-01", "1.2.3-",
		"1.2.3-a..b", "1.2.3-a.", "1.2.3+", "1.2.3+a_b", "1.2.3+a..b", "1.2.3-a b", " 1.2.3",
		"1.2.3 ", "V1.2.3", "vv1.2.3", "1.2.x", "-1.2.3", "1.2.3-α",
	})
}

func TestGoCompare(t *testing.T) {
	runOrdered(t, Go{}, []string{
		"v0.0.0-20191109021931-daa7c04131f5",
		"v0.0.0-20201109021931-aaa7c04131f5",
		"v0.1.0",
		"v1.2.3",
		"v1.2.4-0.20191109021931-daa7c04131f5",
		"v1.2.4-pre",
		"v1.2.4-pre.0.20191109021931-daa7c04131f5",
		"v1.2.4",
		"v2.0.0+incompatible",
		"v2.1.0+incompatible",
	})
	runCompare(t, Go{}, []cmpCase{
		// OSV Go data has no "v"; module versions do.
		{"1.6.0", "v1.6.0", 0},
		{"v1.5.9", "1.6.0", -1},
		{"v1", "v1.0.0", 0},
		{"v1.2", "1.2.0", 0},
		{"v2.0.0+incompatible", "v2.0.0", 0},
		// Standard library versions as OSV writes them.
		{"1.21.0-rc.2", "1.21.0", -1},
		{"1.21.0-rc.2", "1.21.0-rc.10", -1},
		{"1.20.14", "1.21.0-0", -1},
		{"1.22.1", "1.22.0", 1},
	})
	runInvalid(t, Go{}, "v1.0.0", []string{"", "v", "vx", "v1.2-pre", "v1-pre", "v1.2.3.4", "v01.2.3", "go1.21"})
}
