package analyzer

import "testing"

func TestPURL(t *testing.T) {
	for _, tc := range []struct {
		typ, ns, name, ver string
		q                  map[string]string
		want               string
	}{
		{"deb", "debian", "libc6", "2.36-9+deb12u4", map[string]string{"arch": "amd64", "distro": ""}, "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64"},
		{"deb", "debian", "bash", "1:5.2.15-2", map[string]string{"arch": "amd64", "distro": "debian-12"}, "pkg:deb/debian/bash@1:5.2.15-2?arch=amd64&distro=debian-12"},
		{"golang", "github.com/spf13", "cobra", "v1.10.2", nil, "pkg:golang/github.com/spf13/cobra@v1.10.2"},
		{"golang", "", "stdlib", "go1.26.8", nil, "pkg:golang/stdlib@go1.26.8"},
		{"golang", "example.com", "a b", "v0.0.0-2024+incompatible", nil, "pkg:golang/example.com/a%20b@v0.0.0-2024%2Bincompatible"},
	} {
		if got := PURL(tc.typ, tc.ns, tc.name, tc.ver, tc.q); got != tc.want {
			t.Errorf("PURL(%s,%s,%s,%s) = %s, want %s", tc.typ, tc.ns, tc.name, tc.ver, got, tc.want)
		}
	}
}
