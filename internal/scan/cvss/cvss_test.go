package cvss

import (
	"errors"
	"testing"
)

// Scores as published by NVD and the FIRST calculator for these vectors.
func TestParse(t *testing.T) {
	tests := []struct {
		vector string
		base   float64
		sev    string
	}{
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "Critical"},               // network, no privileges, full impact
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, "Critical"},              // CVE-2021-44228 (Log4Shell), NVD 10.0
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "Medium"},                 // typical reflected XSS
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, "High"},                   // remote DoS
		{"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8, "High"},                   // local privilege escalation
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9, "Medium"},                 // high complexity confidentiality loss
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", 5.3, "Medium"},                 // USN-6622-1 CVE-2023-5678
		{"CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", 5.5, "Medium"},                 // USN-6622-1 CVE-2024-0727
		{"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9, "Critical"},               // scope change with low privileges
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1, "High"},                   // RHSA-2022:0216 linter sample
		{"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2, "High"},                   // admin RCE
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 8.8, "High"},                   // CVE-2023-4863 (libwebp), NVD 8.8
		{"CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", 5.4, "Medium"},                 // stored XSS
		{"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:N/I:L/A:N", 4.3, "Medium"},                 // CSRF-like
		{"CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 6.5, "Medium"},                 // authenticated info leak
		{"CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:N/A:N", 4.7, "Medium"},                 // CVE-2018-5407 (PortSmash), NVD 4.7
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N", 5.3, "Medium"},                 // CVE-2023-41045
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H", 9.0, "Critical"},               // high complexity, scope change
		{"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6, "Low"},                    // minimal physical
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0, "None"},                   // no impact
		{"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:L/A:H", 6.5, "Medium"},                 // linter sample vector
		{"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:H", 7.1, "High"},                   // local read + crash
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "Critical"},               // v3.0 vector
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "Medium"},                 // v3.0 vector
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C", 9.8, "Critical"}, // temporal metrics ignored
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/CR:H/MAV:L", 9.8, "Critical"},    // environmental ignored
		{"CVSS:3.1/S:U/AV:N/UI:N/AC:L/PR:N/C:H/I:H/A:H", 9.8, "Critical"},               // any metric order
	}
	for _, tc := range tests {
		t.Run(tc.vector, func(t *testing.T) {
			s, err := Parse(tc.vector)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if s.Base != tc.base {
				t.Errorf("base = %v, want %v", s.Base, tc.base)
			}
			if got := Severity(s.Base); got != tc.sev {
				t.Errorf("severity = %s, want %s", got, tc.sev)
			}
		})
	}
}

func TestRoundUp(t *testing.T) {
	tests := []struct {
		in      float64
		version string
		want    float64
	}{
		{4.0, "3.1", 4.0},
		{4.02, "3.1", 4.1},
		{4.000000000001, "3.1", 4.0}, // 3.1 absorbs floating-point noise
		{4.000000000001, "3.0", 4.1}, // 3.0's plain ceiling does not
		{0.0, "3.1", 0.0},
		{9.99, "3.1", 10.0},
	}
	for _, tc := range tests {
		if got := roundUp(tc.in, tc.version); got != tc.want {
			t.Errorf("roundUp(%v, %s) = %v, want %v", tc.in, tc.version, got, tc.want)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, v := range []string{
		"", "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:HH", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:X",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:Z", "CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
	} {
		if _, err := Parse(v); !errors.Is(err, ErrInvalidVector) {
			t.Errorf("Parse(%q) error = %v, want ErrInvalidVector", v, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
	f.Add("CVSS:3.0/AV:P/AC:H/PR:H/UI:R/S:C/C:L/I:N/A:N/E:X")
	f.Fuzz(func(t *testing.T, v string) {
		s, err := Parse(v)
		if err != nil {
			if !errors.Is(err, ErrInvalidVector) {
				t.Fatalf("error %v does not wrap ErrInvalidVector", err)
			}
			return
		}
		if s.Base < 0 || s.Base > 10 {
			t.Fatalf("Parse(%q).Base = %v out of range", v, s.Base)
		}
	})
}
