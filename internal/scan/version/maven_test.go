package version

import "testing"

// TestMavenOrdered holds the two ordering lists of Maven's
// ComparableVersionTest.
func TestMavenOrdered(t *testing.T) {
	t.Run("qualifiers", func(t *testing.T) {
		runOrdered(t, Maven{}, []string{
			"1-alpha2snapshot", "1-alpha2", "1-alpha-123", "1-beta-2", "1-beta123", "1-m2", "1-m11",
			"1-rc", "1-cr2", "1-rc123", "1-SNAPSHOT", "1", "1-sp", "1-sp2", "1-sp123", "1-abc",
			"1-def", "1-pom-1", "1-1-snapshot", "1-1", "1-2", "1-123",
		})
	})
	t.Run("numbers", func(t *testing.T) {
		runOrdered(t, Maven{}, []string{
			"2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1",
			"2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11", "11",
			"11.a", "11b", "11c", "11m",
		})
	})
	t.Run("MNG-6572", func(t *testing.T) {
		runOrdered(t, Maven{}, []string{
			"20190126.230843", "1234567890.12345", "123456789012345.1H.5-beta", "12345678901234567890.1H.5-beta",
		})
	})
	t.Run("MNG-5568", func(t *testing.T) {
		runOrdered(t, Maven{}, []string{"6.1.0rc3", "6.1.0", "6.1H.5-beta"})
	})
	t.Run("MNG-6964", func(t *testing.T) {
		runOrdered(t, Maven{}, []string{"1-0.alpha", "1-0.beta", "1"})
	})
}

func TestMavenCompare(t *testing.T) {
	cases := []cmpCase{
		// Equal versions from ComparableVersionTest.versionsEqual.
		{"1", "1", 0}, {"1", "1.0", 0}, {"1", "1.0.0", 0}, {"1.0", "1.0.0", 0},
		{"1", "1-0", 0}, {"1", "1.0-0", 0}, {"1.0", "1.0-0", 0},
		{"1a", "1-a", 0}, {"1a", "1.0-a", 0}, {"1a", "1.0.0-a", 0}, {"1.0a", "1-a", 0},
		{"1.0.0a", "1-a", 0}, {"1x", "1-x", 0}, {"1x", "1.0-x", 0}, {"1x", "1.0.0-x", 0},
		{"1.0x", "1-x", 0}, {"1.0.0x", "1-x", 0}, {"1cr", "1rc", 0},
		{"1a1", "1-alpha-1", 0}, {"1b2", "1-beta-2", 0}, {"1m3", "1-milestone-3", 0},
		{"1X", "1x", 0}, {"1A", "1a", 0}, {"1B", "1b", 0}, {"1M", "1m", 0}, {"1Cr", "1Rc", 0},
		{"1cR", "1rC", 0}, {"1m3", "1Milestone3", 0}, {"1m3", "1MileStone3", 0}, {"1m3", "1MILESTONE3", 0},
		{"1-1.foo-bar1baz-.1", "1-1.foo-bar-1-baz-0.1", 0},
		// Same order, not equal strings: release aliases.
		{"1ga", "1", 0}, {"1release", "1", 0}, {"1final", "1", 0}, {"1GA", "1", 0},
		{"1RELeaSE", "1", 0}, {"1FINAL", "1", 0}, {"1.0-GA", "1.0.ga", 0},
		// versionComparing.
		{"1", "2", -1}, {"1.5", "2", -1}, {"1", "2.5", -1}, {"1.0", "1.1", -1}, {"1.1", "1.2", -1},
		{"1.0.0", "1.1", -1}, {"1.0.1", "1.1", -1}, {"1.1", "1.2.0", -1},
		{"1.0-alpha-1", "1.0", -1}, {"1.0-alpha-1", "1.0-alpha-2", -1}, {"1.0-alpha-1", "1.0-beta-1", -1},
		{"1.0-beta-1", "1.0-SNAPSHOT", -1}, {"1.0-SNAPSHOT", "1.0", -1}, {"1.0-alpha-1-SNAPSHOT", "1.0-alpha-1", -1},
		{"1.0", "1.0-1", -1}, {"1.0-1", "1.0-2", -1}, {"1.0.0", "1.0-1", -1},
		{"2.0-1", "2.0.1", -1}, {"2.0.1-klm", "2.0.1-lmn", -1}, {"2.0.1", "2.0.1-xyz", -1},
		{"2.0.1", "2.0.1-123", -1}, {"2.0.1-xyz", "2.0.1-123", -1},
		// Leading zeros.
		{"0.7", "2", -1}, {"0.2", "1.0.7", -1}, {"0000000000000000001", "1", 0}, {"01", "1", 0},
		{"0000000000000000000", "0", 0},
		// Letters, digits, case.
		{"7", "J", 1}, {"7", "c", 1}, {"aardvark", "zebra", -1}, {"1.0.0-ALPHA1", "1.0.0-alpha1", 0},
		{"1.A", "1.a", 0},
		// Real Maven Central versions.
		{"2.14.0-rc1", "2.14.0", -1}, {"2.17.1", "2.15.0", 1}, {"5.3.18", "5.3.9", 1},
		{"2.9.10.8", "2.9.10", 1}, {"1.2.3.RELEASE", "1.2.3", 0}, {"31.1-jre", "31.1-android", 1},
		{"9.4.44.v20210927", "9.4.43.v20210629", 1},
	}
	// MNG-7644: 1.0.0.X1 < 1.0.0-X2 and 2-X == 2.0.X == 2.0.0.X for any X.
	for _, x := range []string{"abc", "alpha", "a", "beta", "b", "def", "milestone", "m", "RC"} {
		cases = append(cases,
			cmpCase{"1.0.0." + x + "1", "1.0.0-" + x + "2", -1},
			cmpCase{"2-" + x, "2.0." + x, 0},
			cmpCase{"2-" + x, "2.0.0." + x, 0},
			cmpCase{"2.0." + x, "2.0.0." + x, 0},
		)
	}
	runCompare(t, Maven{}, cases)
}

func TestMavenInvalid(t *testing.T) {
	runInvalid(t, Maven{}, "1.0", []string{"", " ", "1.0 ", "1.0\n", "1. 0"})
}
