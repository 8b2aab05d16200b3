package version

import "testing"

// BenchmarkCompare measures one comparison of two typical versions per
// ecosystem, parsing included.
func BenchmarkCompare(b *testing.B) {
	cases := []struct {
		name string
		c    Comparer
		a, b string
	}{
		{"dpkg", Dpkg{}, "1:3.0.11-1~deb12u2", "1:3.0.13-1~deb12u1"},
		{"apk", APK{}, "1.36.1_p2-r16", "1.36.1_p2-r17"},
		{"rpm", RPM{}, "1:3.0.7-25.el9_3", "1:3.0.7-27.el9"},
		{"semver", SemVer{}, "1.2.3-rc.1+build.5", "1.2.3-rc.2"},
		{"go", Go{}, "v0.0.0-20191109021931-daa7c04131f5", "v0.0.0-20200131131040-063a3fb69896"},
		{"pep440", PEP440{}, "2.0.0rc1.post2.dev3", "2.0.0"},
		{"maven", Maven{}, "2.0-beta9", "2.15.0"},
		{"rubygems", RubyGems{}, "7.0.4.rc1", "7.0.4.1"},
		{"packagist", Packagist{}, "v5.4.19", "5.4.20"},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.c.Compare(tc.a, tc.b); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
