package osrelease

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
	"github.com/vigilsec/vigil/internal/testutil"
)

// shellFields sources the file with /bin/sh, the reference interpreter of
// os-release(5), and returns the fields the analyzer reports.
func shellFields(t *testing.T, path string) [4]string {
	t.Helper()
	out, err := exec.Command("/bin/sh", "-c", `. "$1"; printf '%s\n%s\n%s\n%s' "$ID" "$VERSION_ID" "$NAME" "$PRETTY_NAME"`, "sh", path).Output()
	if err != nil {
		t.Fatalf("sh . %s: %v", path, err)
	}
	parts := strings.Split(string(out), "\n")
	if len(parts) != 4 {
		t.Fatalf("sh output %q", out)
	}
	return [4]string{parts[0], parts[1], parts[2], parts[3]}
}

func analyze(t *testing.T, rel string, content []byte) (analyzer.Result, error) {
	t.Helper()
	a := New()
	if !a.Wanted(rel, 0o644) {
		t.Fatalf("%s not wanted", rel)
	}
	return a.Analyze(context.Background(), analyzer.Input{Path: rel, Content: bytes.NewReader(content), Size: int64(len(content))})
}

func TestSamplesMatchShell(t *testing.T) {
	root := testutil.SharedData(t, "image-scan/os-release-samples")
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && d.Name() == "os-release" {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/etc/os-release"); err == nil {
		files = append(files, "/etc/os-release")
	}
	if len(files) < 50 {
		t.Fatalf("found only %d os-release samples under %s", len(files), root)
	}
	ids := map[string]int{}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		t.Run(rel, func(t *testing.T) {
			content, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(bytes.NewReader(content)); err != nil {
				t.Errorf("parse: %v", err)
			}
			res, err := analyze(t, "etc/os-release", content)
			if err != nil {
				t.Fatal(err)
			}
			want := shellFields(t, f)
			got := [4]string{res.OS.ID, res.OS.VersionID, res.OS.Name, res.OS.PrettyName}
			if got != want {
				t.Errorf("got %q, sh says %q", got, want)
			}
			// The sample directory names the distribution (ubuntu/dist/11 is a Debian file).
			if dir := strings.Split(rel, string(filepath.Separator))[0]; dir == "alpine" || dir == "rhel" && res.OS.ID == "rhel" {
				if res.OS.ID != dir {
					t.Errorf("ID %q under %s/", res.OS.ID, dir)
				}
			}
			ids[res.OS.ID]++
		})
	}
	t.Logf("%d samples: %v", len(files), ids)
}

func TestTxtarParsed(t *testing.T) {
	path := filepath.Join(testutil.SharedData(t, "image-scan/os-release-samples"), "osrelease-Alpine.txtar")
	ar, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range ar.Files {
		files[f.Name] = f.Data
	}
	var want map[string]string
	if err := json.Unmarshal(files["Parsed"], &want); err != nil {
		t.Fatalf("Parsed section: %v", err)
	}
	got, err := Parse(bytes.NewReader(files["os-release"]))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("got %d fields, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestParseErrors(t *testing.T) {
	// Real file with damage appended: every bad line is named, good ones kept.
	content, err := os.ReadFile("/etc/os-release")
	if err != nil {
		t.Skip("no /etc/os-release on this machine")
	}
	n := bytes.Count(content, []byte("\n"))
	damaged := append(append([]byte{}, content...), "garbage line\nX=\"open\nY=ok\n"...)
	fields, err := Parse(bytes.NewReader(damaged))
	if err == nil {
		t.Fatal("no error for damaged file")
	}
	for _, l := range []int{n + 1, n + 2} {
		if !strings.Contains(err.Error(), "line "+itoa(l)+":") {
			t.Errorf("error %q does not name line %d", err, l)
		}
	}
	if fields["Y"] != "ok" || fields["ID"] == "" {
		t.Errorf("valid fields lost: %v", fields)
	}
	if _, err := analyze(t, "usr/lib/os-release", []byte("NAME=x\n")); !errors.Is(err, ErrNoID) {
		t.Errorf("missing ID: err = %v", err)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
