package version

import "testing"

func TestPackagistCompare(t *testing.T) {
	runOrdered(t, Packagist{}, []string{
		"1.0.0-dev", "1.0.0-alpha", "1.0.0-alpha2", "1.0.0-alpha10", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-RC1", "1.0.0-rc2", "1.0.0", "1.0.0-p1", "1.0.0-pl2", "1.0.0.1", "1.0.1", "1.1", "v2.0.0",
	})
	runCompare(t, Packagist{}, []cmpCase{
		{"v1.2.3", "1.2.3", 0},
		{"V1.2.3", "1.2.3", 0},
		{"1.2", "1.2.0", 0},
		{"1.2", "1.2.0.0", 0},
		{"1.0rc1", "1.0-RC1", 0},
		{"1.0rc1", "1.0.0-rc.1", 0},
		{"1.0-beta2", "1.0-beta10", -1},
		{"1.0.0-a1", "1.0.0-alpha1", 0},
		{"1.0.0-b1", "1.0.0-beta1", 0},
		{"1.0.0-patch1", "1.0.0", 1},
		{"5.4.17", "5.4.9", 1},
		{"10.0.0", "9.99.99", 1},
		{"4.4.0-BETA1", "4.4.0", -1},
		{"8.2.5", "8.2.5.0", 0},
	})
	runInvalid(t, Packagist{}, "1.0.0", []string{"", "v", "abc", "1.0 beta", "-", "dev-master"})
}
