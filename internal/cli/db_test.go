package cli

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/scan/vulndb"
	"github.com/vigilsec/vigil/internal/testutil"
)

// runDB executes "vigil db ARGS..." and returns stdout, stderr and the
// error with its exit code (0 when nil).
func runDB(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := newDBCmd()
	var out, errb bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	err := cmd.ExecuteContext(context.Background())
	code = 0
	if err != nil {
		code = 1
		var ee *ExitError
		if errors.As(err, &ee) {
			code = ee.Code
		}
		errb.WriteString("ERR " + err.Error())
	}
	return out.String(), errb.String(), code
}

func golangOSV(t *testing.T) string {
	return filepath.Join(testutil.SharedData(t, "vuln/golang-vulndb"), "osv")
}

// zipOf builds a zip holding the named Go advisories and extra entries.
func zipOf(t *testing.T, ids []string, extra map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, id := range ids {
		data, err := os.ReadFile(filepath.Join(golangOSV(t), id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create(id + ".json")
		w.Write(data)
	}
	for name, body := range extra {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDBImportAndStatus(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "sub", "vulndb.sqlite")
	out, errOut, code := runDB(t, "import", golangOSV(t), "--db", dbPath)
	if code != 0 || !strings.Contains(out, "4291 documents, 4291 advisories (4291 new, 0 updated, 0 unchanged), 0 bad files") {
		t.Fatalf("import: code %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	out, _, code = runDB(t, "import", "--db", dbPath, golangOSV(t))
	if code != 0 || !strings.Contains(out, "(0 new, 0 updated, 4291 unchanged)") {
		t.Fatalf("re-import: code %d, stdout %s", code, out)
	}

	out, errOut, code = runDB(t, "status", "--db", dbPath)
	for _, want := range []string{"database:", dbPath, "schema version:", "advisories:", "4291 (17 withdrawn)", "last import:", "osv", "Go"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s%s", want, out, errOut)
		}
	}
	if code != 0 {
		t.Errorf("status exit %d", code)
	}

	out, _, code = runDB(t, "status", "--json", "--db", dbPath)
	var st vulndb.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 {
		t.Fatalf("status --json: %v (exit %d)\n%s", err, code, out)
	}
	if st.Advisories != 4291 || st.Sources["osv"] != 4291 || st.Ecosystems["Go"] != 4291 || st.SchemaVersion != vulndb.SchemaVersion || st.LastImport.IsZero() {
		t.Errorf("status --json = %+v", st)
	}
}

func TestDBImportBadFiles(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join(golangOSV(t), "GO-2020-0001.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "GO-2020-0001.json"), good, 0o644)
	bad := filepath.Join(dir, "broken.json")
	os.WriteFile(bad, []byte(`{"id": "X-1", "modified": "2024-01-01T00:00:00Z", "affected": [`), 0o644)
	dbPath := filepath.Join(t.TempDir(), "vulndb.sqlite")

	out, errOut, code := runDB(t, "import", dir, filepath.Join(dir, "missing"), "--db", dbPath)
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(out, "1 new, 0 updated, 0 unchanged), 1 bad files") {
		t.Errorf("stdout: %s", out)
	}
	for _, want := range []string{"vigil: import " + bad + ": ", "line 1, column", "missing", "2 of 2 sources had errors"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if _, _, code := runDB(t, "import", "--db", dbPath); code == 0 {
		t.Errorf("import without arguments succeeded")
	}
}

func TestDBStatusErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "none.sqlite")
	_, errOut, code := runDB(t, "status", "--db", missing)
	if code != 1 || !strings.Contains(errOut, "no vulnerability database") || !strings.Contains(errOut, "vigil db import") {
		t.Errorf("missing db: exit %d, stderr %s", code, errOut)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("status created %s", missing)
	}
	corrupt := filepath.Join(dir, "corrupt.sqlite")
	os.WriteFile(corrupt, bytes.Repeat([]byte("garbage!"), 512), 0o644)
	_, errOut, code = runDB(t, "status", "--db", corrupt)
	if code != 1 || !strings.Contains(errOut, "corrupt") || !strings.Contains(errOut, corrupt) {
		t.Errorf("corrupt db: exit %d, stderr %s", code, errOut)
	}
}

func TestDBUpdate(t *testing.T) {
	archive := zipOf(t, []string{"GO-2020-0001", "GO-2021-0069"}, map[string]string{"bad.json": "{"})
	var hits int
	mux := http.NewServeMux()
	mux.HandleFunc("/osv/Go/all.zip", func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Header().Set("Content-Type", "application/zip")
		w.Write(archive)
	})
	mux.HandleFunc("/big.zip", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 4096)) // no Content-Length: streamed
		w.(http.Flusher).Flush()
		w.Write(bytes.Repeat([]byte("x"), 4096))
	})
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	defer srv.Close()
	dbPath := filepath.Join(t.TempDir(), "vulndb.sqlite")

	url := srv.URL + "/osv/Go/all.zip"
	out, errOut, code := runDB(t, "update", "--from", url, "--db", dbPath)
	if code != 1 || hits != 1 {
		t.Fatalf("update: exit %d (want 1 for the bad entry), hits %d\n%s%s", code, hits, out, errOut)
	}
	if !strings.Contains(out, "updated from "+url+": 3 documents, 2 advisories (2 new") {
		t.Errorf("stdout: %s", out)
	}
	if !strings.Contains(errOut, "vigil: import "+url+"!bad.json: ") {
		t.Errorf("stderr does not name the entry under the URL:\n%s", errOut)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dbPath), "vulndb-download-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary downloads left: %v", leftovers)
	}
	db, err := vulndb.OpenExisting(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := db.Match(context.Background(), "Go", "stdlib", "go1.15.4")
	db.Close()
	if err != nil || len(fs) != 1 || fs[0].ID != "GO-2021-0069" {
		t.Errorf("after update: Match = %v, %v", fs, err)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"not found", []string{"--from", srv.URL + "/nope.zip"}, "404 Not Found"},
		{"too large declared", []string{"--from", url, "--max-size", "100"}, "exceeds --max-size 100"},
		{"too large streamed", []string{"--from", srv.URL + "/big.zip", "--max-size", "5000"}, "more than --max-size 5000 bytes"},
		{"no source", nil, "--from URL|FILE is required"},
		{"missing file", []string{"--from", filepath.Join(t.TempDir(), "none.zip")}, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := runDB(t, append([]string{"update", "--db", dbPath}, tc.args...)...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q, want %q", code, errOut, tc.want)
			}
		})
	}

	// A local file is imported like "db import".
	zipPath := filepath.Join(t.TempDir(), "local.zip")
	os.WriteFile(zipPath, zipOf(t, []string{"GO-2021-0072"}, nil), 0o644)
	out, errOut, code = runDB(t, "update", "--from", zipPath, "--db", dbPath)
	if code != 0 || !strings.Contains(out, "1 documents, 1 advisories (1 new") {
		t.Errorf("update from file: exit %d\n%s%s", code, out, errOut)
	}
}

func TestDefaultDBPath(t *testing.T) {
	cache := func() (string, error) { return "/home/u/.cache", nil }
	noCache := func() (string, error) { return "", errors.New("$HOME is not defined") }
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "VIGIL_DB" {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name  string
		env   string
		euid  int
		cache func() (string, error)
		want  string
		err   bool
	}{
		{"env wins", "/tmp/x.sqlite", 0, cache, "/tmp/x.sqlite", false},
		{"root", "", 0, cache, "/var/lib/vigil/vulndb.sqlite", false},
		{"user", "", 1000, cache, "/home/u/.cache/vigil/vulndb.sqlite", false},
		{"user without cache dir", "", 1000, noCache, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := defaultDBPath(env(tc.env), tc.euid, tc.cache)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("defaultDBPath = %q, %v; want %q, error %v", got, err, tc.want, tc.err)
			}
		})
	}

	p := filepath.Join(t.TempDir(), "env.sqlite")
	t.Setenv("VIGIL_DB", p)
	if _, errOut, code := runDB(t, "import", filepath.Join(golangOSV(t), "GO-2020-0001.json")); code != 0 {
		t.Fatalf("import with VIGIL_DB: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(p); err != nil {
		t.Errorf("VIGIL_DB not used: %v", err)
	}
}
