package dpkg

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
	"github.com/vigilsec/vigil/internal/testutil"
)

// dpkgQuery lists installed packages of the database in admindir with
// dpkg-query, keyed by name:arch, as "version source source-version".
func dpkgQuery(t *testing.T, admindir string) map[string]string {
	t.Helper()
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("dpkg-query not installed")
	}
	out, err := exec.Command("dpkg-query", "--admindir="+admindir, "-W",
		"-f=${db:Status-Status}\t${Package}:${Architecture}\t${Version} ${source:Package} ${source:Version}\n").Output()
	if err != nil {
		t.Fatalf("dpkg-query --admindir=%s: %v", admindir, err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, "\t")
		if len(f) == 3 && f[0] == "installed" {
			m[f[1]] = f[2]
		}
	}
	return m
}

func analyze(t *testing.T, rel string, content []byte) []analyzer.Package {
	t.Helper()
	a := New()
	if !a.Wanted(rel, 0o644) {
		t.Fatalf("%s not wanted", rel)
	}
	res, err := a.Analyze(context.Background(), analyzer.Input{Path: rel, Content: bytes.NewReader(content)})
	if err != nil {
		t.Fatal(err)
	}
	return res.Packages
}

func compare(t *testing.T, got []analyzer.Package, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d packages, dpkg-query lists %d installed", len(got), len(want))
	}
	for _, p := range got {
		key := p.Name + ":" + p.Arch
		w, ok := want[key]
		if !ok {
			t.Errorf("%s not installed according to dpkg-query", key)
			continue
		}
		if g := p.Version + " " + p.SourceName + " " + p.SourceVersion; g != w {
			t.Errorf("%s: got %q, dpkg-query %q", key, g, w)
		}
		if !strings.HasPrefix(p.PURL, "pkg:deb/debian/"+strings.ReplaceAll(p.Name, "+", "%2B")+"@") || !strings.HasSuffix(p.PURL, "?arch="+p.Arch) {
			t.Errorf("%s: purl %s", key, p.PURL)
		}
	}
}

func TestMachineStatus(t *testing.T) {
	content, err := os.ReadFile("/var/lib/dpkg/status")
	if err != nil {
		t.Skipf("no dpkg database on this machine: %v", err)
	}
	want := dpkgQuery(t, "/var/lib/dpkg")
	got := analyze(t, "var/lib/dpkg/status", content)
	if len(got) < 50 {
		t.Errorf("only %d packages on a Debian machine", len(got))
	}
	compare(t, got, want)
	for _, p := range got {
		if p.Name == "libc6" && p.SourceName != "glibc" {
			t.Errorf("libc6 source %q, want glibc", p.SourceName)
		}
	}
	t.Logf("%d installed packages match dpkg-query", len(got))
}

func TestSharedSample(t *testing.T) {
	sample := testutil.SharedData(t, "image-scan/dpkg-status-samples/debian-only.status")
	content, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	admin := t.TempDir()
	if err := os.WriteFile(filepath.Join(admin, "status"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	got := analyze(t, "var/lib/dpkg/status", content)
	compare(t, got, dpkgQuery(t, admin))
	if len(got) != 1 || got[0].PURL != "pkg:deb/debian/debian-archive-keyring@2019.1?arch=all" {
		t.Errorf("got %+v", got)
	}
}

// TestStatusD splits this machine's status database into one file per
// package, the distroless layout, and expects the same packages.
func TestStatusD(t *testing.T) {
	content, err := os.ReadFile("/var/lib/dpkg/status")
	if err != nil {
		t.Skipf("no dpkg database on this machine: %v", err)
	}
	whole := analyze(t, "var/lib/dpkg/status", content)
	a := New()
	if a.Wanted("var/lib/dpkg/status.d/libc6.md5sums", 0o644) || a.Wanted("var/lib/dpkg/status-old", 0o644) {
		t.Error("md5sums or status-old wanted")
	}
	var split []analyzer.Package
	for i, para := range strings.Split(string(content), "\n\n") {
		if strings.TrimSpace(para) == "" {
			continue
		}
		// distroless files carry no Status line: drop not-installed entries
		// the way its build does, using the real Status.
		if !strings.Contains(para, "\nStatus: install ok installed") && !strings.Contains(para, "\nStatus: hold ok installed") {
			continue
		}
		var lines []string
		for _, l := range strings.Split(para, "\n") {
			if !strings.HasPrefix(l, "Status:") {
				lines = append(lines, l)
			}
		}
		split = append(split, analyze(t, "var/lib/dpkg/status.d/p"+itoa(i), []byte(strings.Join(lines, "\n")+"\n"))...)
	}
	if len(split) != len(whole) {
		t.Fatalf("status.d gave %d packages, status %d", len(split), len(whole))
	}
	for i := range whole {
		w, g := whole[i], split[i]
		w.FilePath, g.FilePath = "", ""
		if w != g {
			t.Errorf("package %d: %+v != %+v", i, g, w)
		}
	}
}

func TestParseErrors(t *testing.T) {
	content, err := os.ReadFile("/var/lib/dpkg/status")
	if err != nil {
		t.Skipf("no dpkg database on this machine: %v", err)
	}
	n := bytes.Count(content, []byte("\n"))
	bad := append(append([]byte{}, content...), "\nPackage: broken\nStatus: install ok installed\n\n no field\nVersion: 1\n"...)
	pkgs, err := Parse(bytes.NewReader(bad))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"line " + itoa(n+2) + ": package broken without Version", "line " + itoa(n+5) + ": continuation", "line " + itoa(n+6) + ": paragraph without Package"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if len(pkgs) < 50 {
		t.Errorf("good packages dropped: %d", len(pkgs))
	}
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}
