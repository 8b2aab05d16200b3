package version

import "testing"

func TestDpkgCompare(t *testing.T) {
	runCompare(t, Dpkg{}, []cmpCase{
		// Equality and the implicit parts.
		{"1.0", "1.0", 0},
		{"0:1.0", "1.0", 0},
		{"1.0", "1.0-0", 0},
		{"1.0-1", "1.0-01", 0},
		{"1.00", "1.0", 0},
		{" 1.0\t", "1.0", 0}, // dpkg trims surrounding whitespace
		// Epochs dominate and compare numerically.
		{"1:0.1", "0:9.9", 1},
		{"1:2.0", "9.9", 1},
		{"2:1.0", "10:0.1", -1},
		// Digit runs compare as numbers.
		{"2.4", "2.30", -1},
		{"1.2.3", "1.2.10", -1},
		{"1.18446744073709551615", "1.18446744073709551616", -1},
		// '~' sorts before everything, even the end of the string:
		// ~~ < ~~a < ~ < (empty) < a, as in Debian policy 5.6.12.
		{"1.0~~", "1.0~~a", -1},
		{"1.0~~a", "1.0~", -1},
		{"1.0~", "1.0", -1},
		{"1.0", "1.0a", -1},
		{"1.0~rc1", "1.0", -1},
		{"1.0~rc1", "1.0~rc2", -1},
		{"1.0~rc1", "1.0~rc1+b1", -1},
		{"1.0-1~bpo11+1", "1.0-1", -1},
		// Letters sort before non-letters.
		{"1.0a", "1.0+", -1},
		{"1.0a", "1.0.", -1},
		{"1.0z", "1.0+", -1},
		{"1.0+dfsg", "1.0.1", -1},
		{"1.0.1", "1.0a", 1},
		{"1.0+b1", "1.0", 1},
		// Revisions.
		{"1.0-1", "1.0-2", -1},
		{"1.2.3-1", "1.2.3-1ubuntu1", -1},
		{"1.2.3-1ubuntu1", "1.2.3-1ubuntu1.1", -1},
		{"1.1.1f-1ubuntu2.20", "1.1.1f-1ubuntu2.21", -1},
		{"1.1.1f-1ubuntu2.9", "1.1.1f-1ubuntu2.10", -1},
		{"7.74.0-1.3+deb11u3", "7.74.0-1.3+deb11u7", -1},
		{"2.31-13+deb11u5", "2.31-13+deb11u6", -1},
		{"1.0-1", "1.0.1-1", -1},
		// Hyphens and colons inside upstream.
		{"1.0-beta-1", "1.0-beta-2", -1},
		{"1.0-beta-1", "1.0-1", 1},
		{"1:2:3-1", "1:2:4-1", -1},
		// Real Debian versions.
		{"3.0.11-1~deb12u2", "3.0.11-1~deb12u1", 1},
		{"1:9.18.24-1", "1:9.18.19-1~deb12u1", 1},
		{"2.36-9+deb12u4", "2.36-9+deb12u10", -1},
	})
}

func TestDpkgOrdered(t *testing.T) {
	runOrdered(t, Dpkg{}, []string{
		"0.9", "1.0~~", "1.0~~a", "1.0~", "1.0~alpha", "1.0~beta", "1.0~rc1", "1.0",
		"1.0-0.1", "1.0-1~bpo1", "1.0-1", "1.0-1+b1", "1.0-1.1", "1.0-2", "1.0a", "1.0+dfsg-1",
		"1.0.1", "1.0.10", "1.1", "1:0.1",
	})
}

func TestDpkgInvalid(t *testing.T) {
	runInvalid(t, Dpkg{}, "1.0", []string{
		"", "   ", ":1.0", "a:1.0", "-1:1.0", "1:", "1.0-", "1:-1", "1.0 1", "1.0\t1",
		"a1.0", "~1", "1.0_1", "1.0-a_b", "1.0-1:2", "99999999999:1.0", "1.0/2",
	})
}
