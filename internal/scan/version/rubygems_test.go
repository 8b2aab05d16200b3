package version

import "testing"

// TestRubyGemsCompare follows Gem::Version's test_spaceship and prerelease
// tests.
func TestRubyGemsCompare(t *testing.T) {
	runCompare(t, RubyGems{}, []cmpCase{
		{"1.0", "1.0.0", 0},
		{"1.0", "1.0.a", 1},
		{"1.8.2", "0.0.0", 1},
		{"1.8.2", "1.8.2.a", 1},
		{"1.8.2.b", "1.8.2.a", 1},
		{"1.8.2.a", "1.8.2", -1},
		{"1.8.2.a10", "1.8.2.a9", 1},
		{"", "0", 0},
		{"  ", "0", 0},
		{"0.beta.1", "0.0.beta.1", 0},
		{"0.0.beta", "0.0.beta.1", -1},
		{"0.0.beta", "0.beta.1", -1},
		{"5.a", "5.0.0.rc2", -1},
		{"5.x", "5.0.0.rc2", 1},
		{"1.0.0-rc1", "1.0.0", -1},
		{"1.0.0-rc1", "1.0.0.pre.rc1", 0},
		{"1.0.0.rc1", "1.0.0.rc2", -1},
		{"2.0.0.rc1", "1.9.9", 1},
		{"1.2.3a", "1.2.3", -1},
		{"1.2.10", "1.2.9", 1},
		{" 1.0 ", "1.0", 0},
		{"6.1.7.3", "6.1.7.10", -1},
		{"7.0.0.beta1", "7.0.0.alpha2", 1},
	})
}

func TestRubyGemsInvalid(t *testing.T) {
	runInvalid(t, RubyGems{}, "1.0", []string{
		"junk", "1.0\n2.0", "1..2", "1.2 3.4", "1.0-", "-1", "1.", "1.0+", "1.0-a..b", "v1.0",
	})
}
