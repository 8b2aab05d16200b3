package vulndb

import (
	"archive/zip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilsec/vigil/internal/testutil"
)

func newDB(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "vulndb.sqlite"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustImport(t testing.TB, db *DB, path string) ImportStats {
	t.Helper()
	st, err := Import(context.Background(), db, path)
	if err != nil {
		t.Fatalf("Import(%s): %v", path, err)
	}
	return st
}

func matchIDs(t *testing.T, db *DB, eco, pkg, ver string) []string {
	t.Helper()
	fs, err := db.Match(context.Background(), eco, pkg, ver)
	if err != nil {
		t.Fatalf("Match(%s, %s, %s): %v", eco, pkg, ver, err)
	}
	ids := []string{}
	for _, f := range fs {
		ids = append(ids, f.ID)
	}
	return ids
}

type matchCase struct {
	eco, pkg, ver string
	want          []string
}

func runMatch(t *testing.T, db *DB, cases []matchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.eco+"/"+tc.pkg+"@"+tc.ver, func(t *testing.T) {
			got := matchIDs(t, db, tc.eco, tc.pkg, tc.ver)
			want := tc.want
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(got, want) {
				t.Errorf("Match = %v, want %v", got, want)
			}
		})
	}
}

// TestGolangVulnDB imports the real Go vulnerability database and matches
// real module and standard library versions against it.
func TestGolangVulnDB(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 4291 advisories; skipped with -short")
	}
	dir := filepath.Join(testutil.SharedData(t, "vuln/golang-vulndb"), "osv")
	db := newDB(t)
	st := mustImport(t, db, dir)
	if st.Documents != 4291 || st.Records != 4291 || st.Added != 4291 || st.BadFiles != 0 {
		t.Fatalf("first import: %+v, want 4291 documents and records, all added", st)
	}
	again := mustImport(t, db, dir)
	if again.Unchanged != 4291 || again.Added != 0 || again.Updated != 0 {
		t.Fatalf("re-import: %+v, want all 4291 unchanged", again)
	}
	status, err := db.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if status.Advisories != 4291 || status.Sources[SourceOSV] != 4291 || status.Withdrawn != 17 ||
		status.Ecosystems["Go"] != 4291 || status.SchemaVersion != SchemaVersion || status.LastImport.IsZero() {
		t.Errorf("Status = %+v", status)
	}

	// Each case names one advisory that must (or must not) be among the
	// findings; other real advisories may match too.
	for _, tc := range []struct {
		pkg, ver, id string
		want         bool
	}{
		// GO-2020-0001: gin before 1.6.0.
		{"github.com/gin-gonic/gin", "v1.5.0", "GO-2020-0001", true},
		{"github.com/gin-gonic/gin", "v1.6.0", "GO-2020-0001", false},
		// GO-2020-0004: pseudo-versions on both ends of the range.
		{"github.com/nanobox-io/golang-nanoauth", "v0.0.0-20180101000000-0123456789ab", "GO-2020-0004", true},
		{"github.com/nanobox-io/golang-nanoauth", "v0.0.0-20160101000000-0123456789ab", "GO-2020-0004", false},
		{"github.com/nanobox-io/golang-nanoauth", "v0.0.0-20200131131040-063a3fb69896", "GO-2020-0004", false},
		// GO-2021-0072: +incompatible versions, fixed in 2.7.0-rc.0+incompatible.
		{"github.com/docker/distribution", "v2.6.2+incompatible", "GO-2021-0072", true},
		{"github.com/docker/distribution", "v2.7.0-rc.0+incompatible", "GO-2021-0072", false},
		// GO-2022-0617 is withdrawn although it affects every version.
		{"k8s.io/kubernetes", "v0.0.1", "GO-2022-0617", false},
		{"k8s.io/kubernetes", "v1.29.0", "GO-2022-0617", false},
	} {
		if got := slices.Contains(matchIDs(t, db, "Go", tc.pkg, tc.ver), tc.id); got != tc.want {
			t.Errorf("%s@%s: %s matched = %v, want %v", tc.pkg, tc.ver, tc.id, got, tc.want)
		}
	}
	// Exact result for a module with few advisories.
	if ids := matchIDs(t, db, "Go", "github.com/nanobox-io/golang-nanoauth", "v0.0.0-20180101000000-0123456789ab"); !slices.Equal(ids, []string{"GO-2020-0004"}) {
		t.Errorf("golang-nanoauth findings = %v", ids)
	}
	// Standard library: Go release tags, several ranges per advisory.
	for _, tc := range []struct {
		ver  string
		want bool
	}{
		{"go1.13.9", false}, {"go1.14.11", true}, {"go1.14.12", false}, {"go1.15rc1", true},
		{"go1.15.4", true}, {"1.15.4", true}, {"v1.15.5", false}, {"go1.16", false},
	} {
		ids := matchIDs(t, db, "Go", "stdlib", tc.ver)
		if got := slices.Contains(ids, "GO-2021-0069"); got != tc.want {
			t.Errorf("stdlib@%s: GO-2021-0069 matched = %v, want %v", tc.ver, got, tc.want)
		}
	}
	for _, tc := range []struct {
		ver   string
		want  bool
		fixed string
	}{
		{"go1.25.12", true, "1.25.13"}, {"go1.25.13", false, ""}, {"go1.26.5", true, "1.26.6"},
		{"go1.27rc2", true, "1.27.0-rc.3"}, {"go1.27rc3", false, ""}, {"go1.27.0", false, ""},
	} {
		fs, err := db.Match(context.Background(), "Go", "stdlib", tc.ver)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(fs, func(f Finding) bool { return f.ID == "GO-2026-6091" })
		if (i >= 0) != tc.want {
			t.Errorf("stdlib@%s: GO-2026-6091 matched = %v, want %v", tc.ver, i >= 0, tc.want)
			continue
		}
		if i >= 0 && (!slices.Equal(fs[i].Fixed, []string{tc.fixed}) || fs[i].Version != tc.ver || fs[i].Ecosystem != "Go") {
			t.Errorf("stdlib@%s: finding %+v, want fixed %s", tc.ver, fs[i], tc.fixed)
		}
	}
	// Bad query versions are errors, not silent misses.
	for _, v := range []string{"", "latest", "1.2-pre", "v1.2.3.4", "01.2.3"} {
		if _, err := db.Match(context.Background(), "Go", "github.com/gin-gonic/gin", v); err == nil {
			t.Errorf("Match(gin@%q) = nil error", v)
		}
	}
}

func TestMatchSynthetic(t *testing.T) {
	db := newDB(t)
	st := mustImport(t, db, "testdata/osv")
	if st.Documents != 9 || st.Records != 10 || st.Added != 10 {
		t.Fatalf("import: %+v, want 9 documents, 10 records added", st)
	}
	runMatch(t, db, []matchCase{
		// Two ECOSYSTEM ranges; PyPI names are compared after PEP 503 normalization.
		{"PyPI", "django-rest-framework", "1.2.2", []string{"TEST-2024-0001"}},
		{"PyPI", "Django_REST.Framework", "1.2.3", nil},
		{"PyPI", "django_rest_framework", "1.9", nil},
		{"PyPI", "django-rest-framework", "2.0.0b1", nil},
		{"PyPI", "django-rest-framework", "2.0.0rc1", []string{"TEST-2024-0001"}},
		{"PyPI", "django-rest-framework", "2.0", []string{"TEST-2024-0001"}},
		{"PyPI", "django-rest-framework", "2.0.1", nil},
		{"PyPI", "django-rest-framework", "2.0.1.post1", nil},
		// last_affected is inclusive; the withdrawn advisory never shows.
		{"npm", "left-pad", "0.9.0", nil},
		{"npm", "left-pad", "1.0.0", []string{"TEST-2024-0002"}},
		{"npm", "left-pad", "1.3.0", []string{"TEST-2024-0002"}},
		{"npm", "left-pad", "1.3.1-alpha", nil},
		// Maven qualifiers across three release lines.
		{"Maven", "org.apache.logging.log4j:log4j-core", "2.0-alpha1", nil},
		{"Maven", "org.apache.logging.log4j:log4j-core", "2.0-beta9", []string{"TEST-2024-0003"}},
		{"Maven", "org.apache.logging.log4j:log4j-core", "2.0-rc1", []string{"TEST-2024-0003"}},
		{"Maven", "org.apache.logging.log4j:log4j-core", "2.3.1", nil},
		{"Maven", "org.apache.logging.log4j:log4j-core", "2.12.1", []string{"TEST-2024-0003"}},
		{"Maven", "org.apache.logging.log4j:log4j-core", "2.12.2", nil},
		{"Maven", "org.apache.logging.log4j:log4j-core", "2.14.1", []string{"TEST-2024-0003"}},
		{"Maven", "org.apache.logging.log4j:log4j-core", "2.15.0-rc1", []string{"TEST-2024-0003"}},
		{"Maven", "org.apache.logging.log4j:log4j-core", "2.15.0", nil},
		// dpkg ordering with ~; release-scoped and bare ecosystems.
		{"Debian:12", "openssl", "3.0.11-1~deb12u1", []string{"TEST-2024-0004"}},
		{"Debian:12", "openssl", "3.0.11-1~deb12u2", nil},
		{"Debian:12", "openssl", "3.0.11-1", nil},
		{"Debian:11", "openssl", "1.1.1n-0+deb11u5", nil},
		{"Debian", "openssl", "3.0.9-1", []string{"TEST-2024-0004"}},
		{"RubyGems", "rails", "7.0.4", []string{"TEST-2024-0004"}},
		{"RubyGems", "rails", "7.0.4.1", nil},
		{"RubyGems", "rails", "7.0.0.rc1", nil},
		{"AlmaLinux:9", "openssl", "1:3.0.7-24.el9", []string{"TEST-2024-0004"}},
		{"AlmaLinux:9", "openssl", "1:3.0.7-25.el9_3", nil},
		{"AlmaLinux:9", "openssl", "3.0.7-30.el9", []string{"TEST-2024-0004"}}, // epoch 0 sorts before epoch 1
		// Only a versions list: exact or equivalent versions.
		{"PyPI", "onlylisted", "1.0", []string{"TEST-2024-0006"}},
		{"PyPI", "onlylisted", "1.0.0", []string{"TEST-2024-0006"}},
		{"PyPI", "onlylisted", "1.0.1", nil},
		// Events stored sorted whatever their order in the file.
		{"npm", "unsorted", "1.0.0", []string{"TEST-2024-0007"}},
		{"npm", "unsorted", "2.0.0", nil},
		{"npm", "unsorted", "3.0.5", []string{"TEST-2024-0007"}},
		{"npm", "unsorted", "3.1.0", nil},
		// List documents.
		{"crates.io", "smallvec", "0.6.13", []string{"TEST-2024-0010"}},
		{"crates.io", "smallvec", "0.7.0", nil},
		{"crates.io", "smallvec", "1.6.0", []string{"TEST-2024-0010"}},
		{"Packagist", "symfony/http-kernel", "v5.4.19", []string{"TEST-2024-0011"}},
		{"Packagist", "symfony/http-kernel", "5.4.20", nil},
		{"Alpine:v3.19", "busybox", "1.36.1-r16", []string{"TEST-2024-0011"}},
		{"Alpine:v3.19", "busybox", "1.36.1-r17", nil},
		{"Alpine:v3.18", "busybox", "1.36.1-r16", nil},
	})

	fs, err := db.Match(context.Background(), "PyPI", "django-rest-framework", "1.0")
	if err != nil || len(fs) != 1 {
		t.Fatalf("Match = %v, %v", fs, err)
	}
	f := fs[0]
	if f.CVSS != "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" || f.Score != 9.8 ||
		!slices.Equal(f.Aliases, []string{"CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"}) || !slices.Equal(f.Fixed, []string{"1.2.3"}) ||
		f.Package != "Django_REST.Framework" || f.Source != SourceOSV || f.Modified.IsZero() {
		t.Errorf("finding = %+v", f)
	}

	for _, tc := range []struct{ eco, ver string }{
		{"PyPI", "not a version"}, {"Debian:12", "~bad"}, {"Maven", ""}, {"Alpine:v3.19", "1.0-1"},
	} {
		if _, err := db.Match(context.Background(), tc.eco, "openssl", tc.ver); err == nil {
			t.Errorf("Match(%s, %q) = nil error", tc.eco, tc.ver)
		}
	}
	if _, err := db.Match(context.Background(), "Nope", "x", "1.0"); !errors.Is(err, ErrUnknownEcosystem) {
		t.Errorf("Match(Nope) error = %v, want ErrUnknownEcosystem", err)
	}
}

func TestImportBadFiles(t *testing.T) {
	want := map[string][]string{
		"syntax.json":       {"line 5, column 1", "unexpected end of JSON input"},
		"noid.json":         {"id missing"},
		"nointroduced.json": {"affected[0].ranges[0]: no introduced event"},
		"twokeys.json":      {"affected[0].ranges[0].events[0]: want exactly one"},
		"many.json":         {"modified \"yesterday\" is not an RFC 3339 time", "affected[0].package: ecosystem and name are required", "affected[0].ranges[0]: unknown type \"FOO\"", "affected[0].ranges[1]: no events"},
		"unknown.json":      {"not an OSV record, Alpine secdb or Debian security tracker document"},
		"empty.json":        {"empty document"},
		"wrongtype.json":    {"line 1, column", "aliases"},
	}
	dir := t.TempDir()
	for _, src := range []string{"testdata/bad", "testdata/osv"} {
		entries, err := os.ReadDir(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	db := newDB(t)
	st, err := Import(context.Background(), db, dir)
	var bad *BadFilesError
	if !errors.As(err, &bad) {
		t.Fatalf("Import error = %v, want *BadFilesError", err)
	}
	if st.BadFiles != len(want) || len(bad.Files) != len(want) || st.Added != 10 {
		t.Fatalf("stats %+v with %d bad files, want %d bad and the 10 good records added", st, len(bad.Files), len(want))
	}
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("error does not wrap ErrMalformed")
	}
	for _, fe := range bad.Files {
		name := filepath.Base(fe.File)
		subs, ok := want[name]
		if !ok {
			t.Errorf("unexpected bad file %s: %v", fe.File, fe.Err)
			continue
		}
		if !strings.HasPrefix(fe.Error(), filepath.Join(dir, name)+": ") {
			t.Errorf("error %q does not start with the file path", fe.Error())
		}
		for _, s := range subs {
			if !strings.Contains(fe.Error(), s) {
				t.Errorf("%s: error %q lacks %q", name, fe.Error(), s)
			}
		}
	}
	if ids := matchIDs(t, db, "npm", "left-pad", "1.0.0"); !slices.Equal(ids, []string{"TEST-2024-0002"}) {
		t.Errorf("good records not imported next to bad ones: %v", ids)
	}
}

func TestImportZip(t *testing.T) {
	golang := filepath.Join(testutil.SharedData(t, "vuln/golang-vulndb"), "osv")
	zipPath := filepath.Join(t.TempDir(), "all.zip")
	f, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	add := func(name, src string) {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"GO-2020-0001", "GO-2021-0069", "GO-2021-0072"} {
		add(id+".json", filepath.Join(golang, id+".json"))
	}
	add("broken.json", "testdata/bad/syntax.json")
	add("README.txt", "testdata/bad/syntax.json") // not JSON by name: ignored
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	db := newDB(t)
	st, err := Import(context.Background(), db, zipPath)
	var bad *BadFilesError
	if !errors.As(err, &bad) || len(bad.Files) != 1 || bad.Files[0].File != zipPath+"!broken.json" {
		t.Fatalf("Import error = %v, want one bad file %s!broken.json", err, zipPath)
	}
	if st.Documents != 4 || st.Added != 3 || st.BadFiles != 1 {
		t.Errorf("stats = %+v", st)
	}
	if ids := matchIDs(t, db, "Go", "github.com/gin-gonic/gin", "v1.4.0"); !slices.Equal(ids, []string{"GO-2020-0001"}) {
		t.Errorf("Match gin = %v", ids)
	}
}

func TestImportAlpineSecDB(t *testing.T) {
	path := filepath.Join(testutil.SharedData(t, "vuln/alpine-secdb-format-sample"), "v3.10-community.json")
	db := newDB(t)
	st := mustImport(t, db, path)
	if st.Records != 9 || st.Added != 9 {
		t.Fatalf("stats = %+v, want 9 advisories (one per CVE)", st)
	}
	runMatch(t, db, []matchCase{
		{"Alpine:v3.10", "botan", "2.4.0-r0", []string{"ALPINE-CVE-2018-12435", "ALPINE-CVE-2018-20187", "ALPINE-CVE-2018-9127", "ALPINE-CVE-2018-9860"}},
		{"Alpine:v3.10", "botan", "2.8.0-r0", []string{"ALPINE-CVE-2018-20187"}},
		{"Alpine:v3.10", "botan", "2.9.0-r0", nil},
		{"Alpine:v3.10", "chicken", "4.12.0-r2", []string{"ALPINE-CVE-2017-6949"}},
		{"Alpine:v3.10", "chicken", "4.11.0-r0", []string{"ALPINE-CVE-2016-6830", "ALPINE-CVE-2016-6831", "ALPINE-CVE-2017-6949", "ALPINE-CVE-2017-9334"}},
		{"Alpine:v3.10", "cfengine", "3.12.1-r0", []string{"ALPINE-CVE-2019-9929"}},
		{"Alpine:v3.11", "cfengine", "3.12.1-r0", nil},
		{"Alpine", "cfengine", "3.12.1-r0", []string{"ALPINE-CVE-2019-9929"}},
	})
	fs, _ := db.Match(context.Background(), "Alpine:v3.10", "botan", "2.8.0-r0")
	if len(fs) != 1 || !slices.Equal(fs[0].Aliases, []string{"CVE-2018-20187"}) || !slices.Equal(fs[0].Fixed, []string{"2.9.0-r0"}) || fs[0].Source != SourceAlpine {
		t.Errorf("finding = %+v", fs)
	}
	if again := mustImport(t, db, path); again.Unchanged != 9 {
		t.Errorf("re-import = %+v, want 9 unchanged", again)
	}
}

func TestImportDebianTracker(t *testing.T) {
	db := newDB(t)
	st := mustImport(t, db, "testdata/debian/tracker.json")
	if st.Records != 2 || st.Added != 2 {
		t.Fatalf("stats = %+v, want 2 advisories (CVE-2010-5298 affects nothing)", st)
	}
	runMatch(t, db, []matchCase{
		{"Debian:12", "openssl", "3.0.11-1~deb12u2", []string{"DEBIAN-CVE-2023-5678"}},
		{"Debian:12", "openssl", "3.0.13-1~deb12u1", nil},
		{"Debian:11", "openssl", "1.1.1w-0+deb11u1", []string{"DEBIAN-CVE-2023-5678"}},
		{"Debian:sid", "openssl", "3.1.3-1", []string{"DEBIAN-CVE-2023-5678"}},
		{"Debian:13", "openssl", "3.3.2-1", nil},
		{"Debian:12", "curl", "7.88.1-10+deb12u8", []string{"DEBIAN-CVE-2024-99999"}},
		{"Debian:11", "curl", "7.74.0-1.3+deb11u13", nil}, // undetermined
	})
	fs, err := db.Match(context.Background(), "Debian", "openssl", "1.1.1n-0+deb11u5")
	if err != nil {
		t.Fatal(err)
	}
	var ecos []string
	for _, f := range fs {
		ecos = append(ecos, f.Ecosystem)
	}
	if !slices.Equal(ecos, []string{"Debian:11", "Debian:12", "Debian:13", "Debian:sid"}) {
		t.Errorf("bare Debian match ecosystems = %v", ecos)
	}
	if fs[0].Summary != "Generating excessively long X9.42 DH keys or checking excessively long X9.42" ||
		!slices.Equal(fs[0].Aliases, []string{"CVE-2023-5678"}) || fs[0].Source != SourceDebian {
		t.Errorf("finding = %+v", fs[0])
	}

	// A later document with one release replaces only that release.
	up := mustImport(t, db, "testdata/debian/tracker-update.json")
	if up.Updated != 1 {
		t.Errorf("update = %+v, want 1 updated", up)
	}
	runMatch(t, db, []matchCase{
		{"Debian:12", "openssl", "3.0.13-1~deb12u1", []string{"DEBIAN-CVE-2023-5678"}},
		{"Debian:12", "openssl", "3.0.14-1~deb12u1", nil},
		{"Debian:11", "openssl", "1.1.1w-0+deb11u1", []string{"DEBIAN-CVE-2023-5678"}},
	})
	if again := mustImport(t, db, "testdata/debian/tracker-update.json"); again.Unchanged != 1 {
		t.Errorf("re-import = %+v, want unchanged", again)
	}
}

func TestImportUbuntuOSV(t *testing.T) {
	path := filepath.Join(testutil.SharedData(t, "vuln/ubuntu-osv-samples"), "USN-6622-1.json")
	db := newDB(t)
	mustImport(t, db, path)
	fs, err := db.Match(context.Background(), "Ubuntu:20.04:LTS", "openssl", "1.1.1f-1ubuntu2.20")
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].ID != "USN-6622-1" || !slices.Equal(fs[0].Fixed, []string{"1.1.1f-1ubuntu2.21"}) ||
		!slices.Contains(fs[0].Aliases, "CVE-2024-0727") || !slices.Contains(fs[0].Aliases, "CVE-2023-5678") {
		t.Errorf("findings = %+v", fs)
	}
	runMatch(t, db, []matchCase{
		{"Ubuntu:20.04:LTS", "openssl", "1.1.1f-1ubuntu2.21", nil},
		{"Ubuntu:20.04:LTS", "openssl", "1.1.1c-1ubuntu4", []string{"USN-6622-1"}},
		{"Ubuntu:18.04:LTS", "openssl", "1.1.1f-1ubuntu2.20", nil},
	})
}

func TestImportLinterSamples(t *testing.T) {
	dir := filepath.Join(testutil.SharedData(t, "vuln/osv-schema"), "linter-samples")
	db := newDB(t)
	st, err := Import(context.Background(), db, dir)
	var bad *BadFilesError
	if !errors.As(err, &bad) || len(bad.Files) != 1 || filepath.Base(bad.Files[0].File) != "nointroduced-CVE-2023-41045.json" ||
		!strings.Contains(bad.Files[0].Error(), "no introduced event") {
		t.Fatalf("Import error = %v, want only nointroduced-CVE-2023-41045.json rejected", err)
	}
	if st.Documents != 12 || st.BadFiles != 1 {
		t.Errorf("stats = %+v", st)
	}
	runMatch(t, db, []matchCase{
		{"Alpine:v3.4", "openssl", "1.0.2p-r0", []string{"CVE-2018-5407"}},
		{"PyPI", "requests", "2.19.1", []string{"PYSEC-2023-74"}},
		{"PyPI", "requests", "2.31.0", nil},
	})
}

func TestReimportUpdates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.json")
	write := func(modified, fixed string) {
		t.Helper()
		doc := `{"id": "UPD-1", "modified": "` + modified + `", "affected": [{"package": {"ecosystem": "npm", "name": "p"},
			"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "` + fixed + `"}]}]}]}`
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db := newDB(t)
	steps := []struct {
		modified, fixed string
		want            func(ImportStats) bool
		affected        bool // is p@1.5.0 affected afterwards
	}{
		{"2024-01-01T00:00:00Z", "1.0.0", func(s ImportStats) bool { return s.Added == 1 }, false},
		{"2024-01-01T00:00:00Z", "1.0.0", func(s ImportStats) bool { return s.Unchanged == 1 }, false},
		{"2024-02-01T00:00:00Z", "2.0.0", func(s ImportStats) bool { return s.Updated == 1 }, true},
		{"2023-12-01T00:00:00Z", "1.0.0", func(s ImportStats) bool { return s.Unchanged == 1 }, true}, // older: ignored
	}
	for i, s := range steps {
		write(s.modified, s.fixed)
		st := mustImport(t, db, path)
		if !s.want(st) {
			t.Errorf("step %d: stats %+v", i, st)
		}
		if got := len(matchIDs(t, db, "npm", "p", "1.5.0")) == 1; got != s.affected {
			t.Errorf("step %d: p@1.5.0 affected = %v, want %v", i, got, s.affected)
		}
	}
}

func TestImportCanceled(t *testing.T) {
	db := newDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Import(ctx, db, "testdata/osv"); !errors.Is(err, context.Canceled) {
		t.Errorf("Import with canceled context: %v, want context.Canceled", err)
	}
	if _, err := Import(context.Background(), db, "testdata/does-not-exist"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Import of a missing path: %v, want os.ErrNotExist", err)
	}
	// A canceled import leaves the database usable.
	if st := mustImport(t, db, "testdata/osv"); st.Added != 10 {
		t.Errorf("import after cancel: %+v", st)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	t.Run("missing", func(t *testing.T) {
		if _, err := OpenExisting(ctx, filepath.Join(dir, "none.sqlite")); !errors.Is(err, ErrNoDatabase) {
			t.Errorf("OpenExisting error = %v, want ErrNoDatabase", err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		p := filepath.Join(dir, "garbage.sqlite")
		os.WriteFile(p, []byte("this is not a database, just text that is long enough"), 0o644)
		_, err := Open(ctx, p)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), p) {
			t.Errorf("Open error = %v, want ErrCorrupt naming the file", err)
		}
	})
	t.Run("other sqlite database", func(t *testing.T) {
		p := filepath.Join(dir, "other.sqlite")
		db, err := Open(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		db.sql.Exec(`DROP TABLE meta`)
		db.Close()
		if _, err := Open(ctx, p); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Open error = %v, want ErrCorrupt", err)
		}
	})
	t.Run("newer schema", func(t *testing.T) {
		p := filepath.Join(dir, "newer.sqlite")
		db, err := Open(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		db.sql.Exec(`UPDATE meta SET value = '99' WHERE key = 'schema_version'`)
		db.Close()
		if _, err := Open(ctx, p); !errors.Is(err, ErrSchemaTooNew) {
			t.Errorf("Open error = %v, want ErrSchemaTooNew", err)
		}
	})
	t.Run("damaged pages", func(t *testing.T) {
		p := filepath.Join(dir, "damaged.sqlite")
		db, err := Open(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		mustImport(t, db, "testdata/osv")
		db.Close()
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		const page = 4096
		if len(data) < 3*page {
			t.Fatalf("database only %d bytes", len(data))
		}
		for i := page; i < len(data); i++ {
			data[i] = 0xA5 // keep the header page, wreck every table page
		}
		os.WriteFile(p, data, 0o644)
		db, err = Open(ctx, p)
		if err == nil {
			_, err = db.Status(ctx)
			if err == nil {
				_, err = db.Match(ctx, "npm", "left-pad", "1.0.0")
			}
			db.Close()
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("damaged database: error = %v, want ErrCorrupt", err)
		}
	})
}

func TestGoTagToSemver(t *testing.T) {
	for in, want := range map[string]string{
		"go1.21.5": "1.21.5", "go1.21": "1.21.0", "go1.21rc2": "1.21.0-rc.2", "go1.20beta1": "1.20.0-beta.1",
		"go1": "1.0.0", "1.21.5": "1.21.5", "v1.21.5": "v1.21.5",
	} {
		if got := goTagToSemver(in); got != want {
			t.Errorf("goTagToSemver(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPackageKey(t *testing.T) {
	for _, tc := range []struct{ eco, in, want string }{
		{"PyPI", "Django_REST.Framework", "django-rest-framework"},
		{"PyPI", "zope..interface", "zope-interface"},
		{"PyPI", "requests", "requests"},
		{"npm", "Left_Pad", "Left_Pad"},
	} {
		if got := packageKey(tc.eco, tc.in); got != tc.want {
			t.Errorf("packageKey(%s, %s) = %s, want %s", tc.eco, tc.in, got, tc.want)
		}
	}
}

// FuzzParseDocument: arbitrary bytes never panic the format detection and
// conversion.
func FuzzParseDocument(f *testing.F) {
	for _, dir := range []string{"testdata/osv", "testdata/bad", "testdata/debian"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte(`{"distroversion": "v3.19", "packages": [{"pkg": {"name": "x", "secfixes": {"1.0-r0": ["CVE-1"]}}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := parseDocument(data, testNow)
		if err != nil {
			return
		}
		for _, r := range recs {
			if r.ID == "" {
				t.Fatalf("record without id from %q", data)
			}
		}
	})
}

var testNow = mustTime("2024-06-01T00:00:00Z")

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
