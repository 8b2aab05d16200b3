package version

import (
	"errors"
	"fmt"
	"testing"
)

// cmpCase is one comparison; want is -1, 0 or +1.
type cmpCase struct {
	a, b string
	want int
}

// runCompare checks each case in both directions.
func runCompare(t *testing.T, c Comparer, cases []cmpCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s_vs_%s", tc.a, tc.b), func(t *testing.T) {
			got, err := c.Compare(tc.a, tc.b)
			if err != nil {
				t.Fatalf("Compare(%q, %q): %v", tc.a, tc.b, err)
			}
			if got != tc.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
			back, err := c.Compare(tc.b, tc.a)
			if err != nil {
				t.Fatalf("Compare(%q, %q): %v", tc.b, tc.a, err)
			}
			if back != -tc.want {
				t.Errorf("Compare(%q, %q) = %d, want %d", tc.b, tc.a, back, -tc.want)
			}
		})
	}
}

// runOrdered checks that every earlier element sorts strictly before every
// later one.
func runOrdered(t *testing.T, c Comparer, ordered []string) {
	t.Helper()
	for i := range ordered {
		for j := i + 1; j < len(ordered); j++ {
			got, err := c.Compare(ordered[i], ordered[j])
			if err != nil {
				t.Fatalf("Compare(%q, %q): %v", ordered[i], ordered[j], err)
			}
			if got != -1 {
				t.Errorf("Compare(%q, %q) = %d, want -1", ordered[i], ordered[j], got)
			}
			if got, _ := c.Compare(ordered[j], ordered[i]); got != 1 {
				t.Errorf("Compare(%q, %q) = %d, want 1", ordered[j], ordered[i], got)
			}
		}
	}
}

// runInvalid checks that each version is rejected on either side.
func runInvalid(t *testing.T, c Comparer, valid string, bad []string) {
	t.Helper()
	for _, v := range bad {
		t.Run(v, func(t *testing.T) {
			if _, err := c.Compare(v, valid); !errors.Is(err, ErrInvalid) {
				t.Errorf("Compare(%q, %q) error = %v, want ErrInvalid", v, valid, err)
			}
			if _, err := c.Compare(valid, v); !errors.Is(err, ErrInvalid) {
				t.Errorf("Compare(%q, %q) error = %v, want ErrInvalid", valid, v, err)
			}
		})
	}
}

func TestForEcosystem(t *testing.T) {
	tests := []struct {
		name string
		want Comparer
		ok   bool
	}{
		{"Go", Go{}, true},
		{"npm", SemVer{}, true},
		{"crates.io", SemVer{}, true},
		{"Debian", Dpkg{}, true},
		{"Debian:12", Dpkg{}, true},
		{"Ubuntu", Dpkg{}, true},
		{"Ubuntu:22.04:LTS", Dpkg{}, true},
		{"Ubuntu:Pro:18.04:LTS", Dpkg{}, true},
		{"Alpine", APK{}, true},
		{"Alpine:v3.19", APK{}, true},
		{"Red Hat", RPM{}, true},
		{"Red Hat:rhel_aus:8.4::appstream", RPM{}, true},
		{"Rocky Linux:9", RPM{}, true},
		{"AlmaLinux", RPM{}, true},
		{"PyPI", PEP440{}, true},
		{"Maven", Maven{}, true},
		{"Maven:https://maven.google.com", Maven{}, true},
		{"RubyGems", RubyGems{}, true},
		{"Packagist", Packagist{}, true},
		{"debian", nil, false},
		{"GIT", nil, false},
		{"", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ForEcosystem(tc.name)
			if ok != tc.ok || got != tc.want {
				t.Errorf("ForEcosystem(%q) = %T, %v; want %T, %v", tc.name, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestBaseEcosystem(t *testing.T) {
	for in, want := range map[string]string{
		"Go": "Go", "Debian:12": "Debian", "Ubuntu:22.04:LTS": "Ubuntu", "": "",
		"Maven:https://repo.example": "Maven",
	} {
		if got := BaseEcosystem(in); got != want {
			t.Errorf("BaseEcosystem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCmpDigits(t *testing.T) {
	tests := []cmpCase{
		{"0", "0", 0}, {"0", "", 0}, {"007", "7", 0}, {"9", "10", -1},
		{"18446744073709551616", "18446744073709551615", 1},
		{"99999999999999999999999999", "100000000000000000000000000", -1},
	}
	for _, tc := range tests {
		if got := cmpDigits(tc.a, tc.b); got != tc.want {
			t.Errorf("cmpDigits(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// fuzzComparers is indexed by the fuzzer's selector byte.
var fuzzComparers = []Comparer{Dpkg{}, APK{}, RPM{}, SemVer{}, Go{}, PEP440{}, Maven{}, RubyGems{}, Packagist{}}

// FuzzCompare feeds arbitrary strings to every parser: no panic, errors wrap
// ErrInvalid, a valid version equals itself and comparison is antisymmetric.
func FuzzCompare(f *testing.F) {
	seeds := []string{
		"1:2.3-4ubuntu1~bpo1", "1.0~rc1", "2.4.32_p2-r1", "0.1_pre2~1234abcd", "1:1.0^git1~pre-3.el9",
		"v1.2.3-rc.1+build.5", "v0.0.0-20191109021931-daa7c04131f5", "v2.0.0+incompatible",
		"1!2.0rc1.post2.dev3+local.7", "1.0-alpha-1-SNAPSHOT", "1-1.foo-bar1baz-.1",
		"1.0.0-rc1", "0.beta.1", "v1.2.3-beta2", "", "~", "^", "-", ".", ":", "+", "_",
	}
	for i, s := range seeds {
		f.Add(uint8(i), s, seeds[(i+1)%len(seeds)])
	}
	f.Fuzz(func(t *testing.T, sel uint8, a, b string) {
		c := fuzzComparers[int(sel)%len(fuzzComparers)]
		ab, errAB := c.Compare(a, b)
		ba, errBA := c.Compare(b, a)
		for _, err := range []error{errAB, errBA} {
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("%T: error %v does not wrap ErrInvalid", c, err)
			}
		}
		if (errAB == nil) != (errBA == nil) {
			t.Fatalf("%T: Compare(%q, %q) err %v but reversed err %v", c, a, b, errAB, errBA)
		}
		if errAB != nil {
			return
		}
		if ab != -ba || ab < -1 || ab > 1 {
			t.Fatalf("%T: Compare(%q, %q) = %d but reversed = %d", c, a, b, ab, ba)
		}
		if aa, err := c.Compare(a, a); err != nil || aa != 0 {
			t.Fatalf("%T: Compare(%q, itself) = %d, %v", c, a, aa, err)
		}
	})
}
