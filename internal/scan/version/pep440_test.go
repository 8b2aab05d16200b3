package version

import "testing"

// TestPEP440Ordered is the ordering list of the packaging library's test
// suite: every version sorts after all earlier ones.
func TestPEP440Ordered(t *testing.T) {
	base := []string{
		"1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
		"1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345", "1.0b2-346",
		"1.0c1.dev456", "1.0c1", "1.0rc2", "1.0c3", "1.0", "1.0.post456.dev34",
		"1.0.post456", "1.1.dev1", "1.2+123abc", "1.2+123abc456", "1.2+abc", "1.2+abc123",
		"1.2+abc123def", "1.2+1234.abc", "1.2+123456", "1.2.r32+123456", "1.2.rev33+123456",
	}
	all := append([]string{}, base...)
	for _, v := range base {
		all = append(all, "1!"+v)
	}
	runOrdered(t, PEP440{}, all)
}

func TestPEP440Normalization(t *testing.T) {
	runCompare(t, PEP440{}, []cmpCase{
		{"1.0", "1.0.0", 0},
		{"1.0", "1.0.0.0.0", 0},
		{"1.01", "1.1", 0},
		{"0!1.0", "1.0", 0},
		{"v1.0", "1.0", 0},
		{"V1.0", "1.0", 0},
		{" 1.0\n", "1.0", 0},
		{"1.0ALPHA1", "1.0a1", 0},
		{"1.0a1", "1.0.alpha.1", 0},
		{"1.0a1", "1.0-a1", 0},
		{"1.0a1", "1.0_a_1", 0},
		{"1.0a", "1.0a0", 0},
		{"1.0b1", "1.0beta1", 0},
		{"1.0c1", "1.0rc1", 0},
		{"1.0pre1", "1.0rc1", 0},
		{"1.0preview1", "1.0rc1", 0},
		{"1.0-1", "1.0.post1", 0},
		{"1.0.rev1", "1.0.post1", 0},
		{"1.0r1", "1.0.post1", 0},
		{"1.0-r-1", "1.0.post1", 0},
		{"1.0post", "1.0.post0", 0},
		{"1.0dev", "1.0.dev0", 0},
		{"1.0-dev1", "1.0.dev1", 0},
		{"1.0a.dev1", "1.0a0.dev1", 0},
		{"1.0+ubuntu-1", "1.0+ubuntu.1", 0},
		{"1.0+ubuntu_1", "1.0+ubuntu.1", 0},
		{"1.0+AbC", "1.0+abc", 0},
		{"1.0+01", "1.0+1", 0},
		// Ordering rules beyond the list.
		{"1.0.dev1", "1.0a1", -1},
		{"1.0a1.dev1", "1.0a1", -1},
		{"1.0.post1.dev1", "1.0", 1},
		{"1.0", "1.0+local", -1},
		{"1.0+local", "1.0.post1", -1},
		{"2!0.1", "1!99", 1},
		{"1.0.0.0.1", "1.0", 1},
		{"1.10", "1.9", 1},
		{"2.0.0rc1", "2.0.0", -1},
		{"2021.1", "2020.12.31", 1},
		{"1.0+abc.5", "1.0+abc.10", -1},
		{"1.0+5", "1.0+abc", 1},
	})
}

func TestPEP440Invalid(t *testing.T) {
	runInvalid(t, PEP440{}, "1.0", []string{
		"", "foo", "1.0+", "1.0+a..b", "1.0+a+b", "1.0.", "1!", "!1", "1.0-", "1.0a1a1",
		"1.0 dev", "1..0", "1.0_1", "1.0.post1.post2", "1.0-1-1", "1.0+ä", "vv1.0", "1.0.dev1.dev2", ".1",
	})
}
