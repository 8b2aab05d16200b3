package rpm

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	rpmdb "github.com/knqyf263/go-rpmdb/pkg"
	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/scan/analyzer"
)

const qf = `%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n`

func needRPM(t *testing.T) {
	t.Helper()
	for _, c := range []string{"rpm", "rpmbuild"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("%s not installed (scripts/deps.sh installs Debian's rpm package)", c)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
	return string(out)
}

// rpmQuery lists a database with rpm itself, one "name\tversion\tarch\tsrpm"
// line per package, sorted; extra are rpm --define options.
func rpmQuery(t *testing.T, dbpath string, extra ...string) []string {
	t.Helper()
	args := append([]string{"--dbpath", dbpath}, extra...)
	cmd := exec.Command("rpm", append(args, "-qa", "--qf", qf)...)
	out, err := cmd.Output()
	require.NoError(t, err, "rpm -qa --dbpath %s", dbpath)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var keep []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "gpg-pubkey\t") {
			// rpm prints an explicit epoch 0; Vigil omits it, as rpm's ordering does.
			keep = append(keep, strings.Replace(strings.ReplaceAll(l, "(none)", ""), "\t0:", "\t", 1))
		}
	}
	sort.Strings(keep)
	return keep
}

func ours(pkgs []analyzer.Package, epochs map[string]string) []string {
	var out []string
	for _, p := range pkgs {
		srpm := p.SourceName + "-" + p.SourceVersion
		if i := strings.IndexByte(srpm, ':'); i >= 0 && strings.Contains(p.SourceVersion, ":") {
			srpm = p.SourceName + "-" + p.SourceVersion[strings.IndexByte(p.SourceVersion, ':')+1:]
		}
		if epochs != nil {
			srpm += epochs[p.Name]
		}
		out = append(out, p.Name+"\t"+p.Version+"\t"+p.Arch+"\t"+srpm)
	}
	sort.Strings(out)
	return out
}

var (
	builtOnce sync.Once
	builtDB   string
	builtErr  error
)

// TestMain removes the database buildDB shares between tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtDB != "" {
		os.RemoveAll(filepath.Dir(builtDB))
	}
	os.Exit(code)
}

// buildDB builds two real packages with rpmbuild and records them in a new
// rpm database (the default sqlite backend) with rpm -i --justdb, once per
// test binary.
func buildDB(t *testing.T) string {
	t.Helper()
	needRPM(t)
	builtOnce.Do(func() { builtDB, builtErr = build(t) })
	require.NoError(t, builtErr)
	return builtDB
}

func build(t *testing.T) (string, error) {
	work, err := os.MkdirTemp("", "vigil-rpm-test-")
	if err != nil {
		return "", err
	}
	top := filepath.Join(work, "top")
	spec := func(name, epoch, ver, rel string) string {
		p := filepath.Join(top, name+".spec")
		s := "Name: " + name + "\nVersion: " + ver + "\nRelease: " + rel + "\nSummary: vigil test package\nLicense: MIT\nBuildArch: noarch\n"
		if epoch != "" {
			s += "Epoch: " + epoch + "\n"
		}
		s += "%description\ntest\n%install\nmkdir -p %{buildroot}/usr/share/" + name + "\necho hi > %{buildroot}/usr/share/" + name + "/hi\n%files\n/usr/share/" + name + "/hi\n"
		require.NoError(t, os.MkdirAll(top, 0o755))
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
		return p
	}
	for _, s := range []string{spec("vigil-alpha", "", "1.2.3", "4.el9"), spec("vigil-beta", "2", "0.9~rc1", "1.fc40")} {
		run(t, "rpmbuild", "-bb", "--quiet", "--define", "_topdir "+top, s)
	}
	db := filepath.Join(work, "db")
	run(t, "rpm", "--initdb", "--dbpath", db)
	rpms, err := filepath.Glob(filepath.Join(top, "RPMS", "noarch", "*.rpm"))
	if err != nil || len(rpms) != 2 {
		return "", fmt.Errorf("rpmbuild made %v (%v), want 2 packages", rpms, err)
	}
	run(t, "rpm", append([]string{"-i", "--justdb", "--nodeps", "--noscripts", "--dbpath", db}, rpms...)...)
	return db, nil
}

func analyze(t *testing.T, rel, file string) ([]analyzer.Package, error) {
	t.Helper()
	a := New()
	require.True(t, a.Wanted(rel, 0o644), rel)
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	res, err := a.Analyze(context.Background(), analyzer.Input{Path: rel, Size: st.Size(), Content: f})
	return res.Packages, err
}

func TestSQLite(t *testing.T) {
	db := buildDB(t)
	pkgs, err := analyze(t, "var/lib/rpm/rpmdb.sqlite", filepath.Join(db, "rpmdb.sqlite"))
	require.NoError(t, err)
	require.Equal(t, rpmQuery(t, db), ours(pkgs, map[string]string{"vigil-alpha": ".src.rpm", "vigil-beta": ".src.rpm"}))
	byName := map[string]analyzer.Package{}
	for _, p := range pkgs {
		byName[p.Name] = p
	}
	b := byName["vigil-beta"]
	require.Equal(t, "2:0.9~rc1-1.fc40", b.Version)
	require.Equal(t, "vigil-beta", b.SourceName)
	require.Equal(t, "2:0.9~rc1-1.fc40", b.SourceVersion)
	require.Equal(t, "pkg:rpm/vigil-beta@0.9~rc1-1.fc40?arch=noarch&epoch=2", b.PURL)
	require.Equal(t, "pkg:rpm/redhat/vigil-alpha@1.2.3-4.el9?arch=noarch&distro=rhel-9.4", PURL(byName["vigil-alpha"], 0, Namespace("rhel"), "rhel-9.4"))
}

// goRPMDBFixtures returns real Berkeley DB rpm databases shipped in
// go-rpmdb's module, one per CentOS release 5 to 8 (the module has larger
// ones of the same releases).
func goRPMDBFixtures(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/knqyf263/go-rpmdb").Output()
	require.NoError(t, err, "go list go-rpmdb")
	var dbs []string
	for _, name := range []string{"centos5-plain", "centos6-plain", "centos7-plain", "centos8-modularitylabel"} {
		dbs = append(dbs, filepath.Join(strings.TrimSpace(string(out)), "pkg", "testdata", name, "Packages"))
	}
	return dbs
}

// TestBerkeleyDB reads real CentOS databases and compares with rpm's own
// read-only Berkeley DB backend and with go-rpmdb.
func TestBerkeleyDB(t *testing.T) {
	needRPM(t)
	for _, file := range goRPMDBFixtures(t) {
		name := filepath.Base(filepath.Dir(file))
		t.Run(name, func(t *testing.T) {
			pkgs, err := analyze(t, "var/lib/rpm/Packages", file)
			require.NoError(t, err)
			require.Greater(t, len(pkgs), 50)

			dir := t.TempDir()
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "Packages"), data, 0o644))
			want := rpmQuery(t, dir, "--define", "_db_backend bdb_ro")
			got := ours(pkgs, nil)
			require.Len(t, got, len(want))
			// rpm prints the source RPM's full file name; compare the rest.
			for i := range want {
				w := strings.Split(want[i], "\t")
				g := strings.Split(got[i], "\t")
				require.Equal(t, w[:3], g[:3])
				require.True(t, strings.HasPrefix(w[3], g[3]+".") || w[3] == "" && pkgs[0].Name != "", "source %s vs %s", w[3], g[3])
			}

			ref, err := rpmdb.Open(file)
			require.NoError(t, err)
			refPkgs, err := ref.ListPackages()
			require.NoError(t, err)
			var refNames []string
			for _, p := range refPkgs {
				if p.Name != "gpg-pubkey" {
					refNames = append(refNames, fmt.Sprintf("%s %d %s-%s", p.Name, p.Epoch, p.Version, p.Release))
				}
			}
			var ourNames []string
			for _, p := range pkgs {
				v := p.Version
				e := "0"
				if i := strings.IndexByte(v, ':'); i >= 0 {
					e, v = v[:i], v[i+1:]
				}
				ourNames = append(ourNames, p.Name+" "+e+" "+v)
			}
			sort.Strings(refNames)
			sort.Strings(ourNames)
			require.Equal(t, refNames, ourNames)
		})
	}
}

// TestNDB reads an ndb Packages.db built by this test from the real headers
// of an rpm-built sqlite database: Debian's rpm lacks the ndb backend, so
// the container file itself is hand-built (a fake of rpm's layout), not the
// headers.
func TestNDB(t *testing.T) {
	db := buildDB(t)
	want, err := ListFile(context.Background(), filepath.Join(db, "rpmdb.sqlite"))
	require.NoError(t, err)
	var blobs [][]byte
	require.NoError(t, sqliteBlobs(context.Background(), filepath.Join(db, "rpmdb.sqlite"), func(b []byte) error {
		blobs = append(blobs, bytes.Clone(b))
		return nil
	}))
	file := filepath.Join(t.TempDir(), "Packages.db")
	require.NoError(t, os.WriteFile(file, ndbFile(blobs), 0o644))
	got, err := analyze(t, "usr/lib/sysimage/rpm/Packages.db", file)
	require.NoError(t, err)
	require.Equal(t, want, got)
}

// ndbFile lays blobs out the way rpm's ndb backend does (lib/backend/ndb).
func ndbFile(blobs [][]byte) []byte {
	le := binary.LittleEndian
	out := make([]byte, ndbPage)
	le.PutUint32(out, ndbMagic)
	le.PutUint32(out[12:], 1)
	for off := 32; off < ndbPage; off += 16 {
		le.PutUint32(out[off:], ndbSlot)
	}
	for i, b := range blobs {
		for len(out)%16 != 0 {
			out = append(out, 0)
		}
		blk := len(out) / 16
		slot := out[32+16*i:]
		le.PutUint32(slot[4:], uint32(i+1))
		le.PutUint32(slot[8:], uint32(blk))
		le.PutUint32(slot[12:], uint32((16+len(b)+12+15)/16))
		var h [16]byte
		le.PutUint32(h[:], ndbBlob)
		le.PutUint32(h[4:], uint32(i+1))
		le.PutUint32(h[8:], 1)
		le.PutUint32(h[12:], uint32(len(b)))
		out = append(append(out, h[:]...), b...)
		out = append(out, make([]byte, 12)...) // tail
	}
	return out
}

func TestCorrupt(t *testing.T) {
	fixtures := goRPMDBFixtures(t)
	bdb, err := os.ReadFile(fixtures[0])
	require.NoError(t, err)
	dir := t.TempDir()
	truncated := filepath.Join(dir, "truncated")
	require.NoError(t, os.WriteFile(truncated, bdb[:len(bdb)/2], 0o644))
	garbage := filepath.Join(dir, "garbage")
	require.NoError(t, os.WriteFile(garbage, bytes.Repeat([]byte("not an rpm database "), 100), 0o644))
	badSQLite := filepath.Join(dir, "bad.sqlite")
	require.NoError(t, os.WriteFile(badSQLite, append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{0xff}, 4096)...), 0o644))
	smashed := filepath.Join(dir, "smashed")
	sm := bytes.Clone(bdb)
	for i := 4096; i < len(sm); i += 4096 {
		for j := i + 40; j < i+400 && j < len(sm); j++ {
			sm[j] = 0xee
		}
	}
	require.NoError(t, os.WriteFile(smashed, sm, 0o644))
	for _, tc := range []struct{ name, rel, file, want string }{
		{"truncated bdb", "var/lib/rpm/Packages", truncated, "analyze var/lib/rpm/Packages: not a readable rpm database: bdb: last page"},
		{"garbage", "var/lib/rpm/Packages", garbage, "analyze var/lib/rpm/Packages: not a readable rpm database: no SQLite"},
		{"bad sqlite", "var/lib/rpm/rpmdb.sqlite", badSQLite, "analyze var/lib/rpm/rpmdb.sqlite: not a readable rpm database: sqlite"},
		{"smashed pages", "var/lib/rpm/Packages", smashed, "analyze var/lib/rpm/Packages: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := analyze(t, tc.rel, tc.file)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestWanted(t *testing.T) {
	a := New()
	for p, want := range map[string]bool{
		"var/lib/rpm/Packages":              true,
		"var/lib/rpm/rpmdb.sqlite":          true,
		"usr/lib/sysimage/rpm/Packages.db":  true,
		"var/lib/rpm/Name":                  false,
		"opt/var/lib/rpm/Packages":          false,
		"var/lib/rpm/rpmdb.sqlite-shm":      false,
		"usr/lib/sysimage/rpm/rpmdb.sqlite": true,
	} {
		require.Equal(t, want, a.Wanted(p, 0o644), p)
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 3, 0xe8, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseHeader(b)
		if err == nil && (h.Name == "" || h.Version == "") {
			t.Fatalf("header without name or version: %+v", h)
		}
	})
}

func FuzzBlobs(f *testing.F) {
	f.Add(ndbFile([][]byte{{0, 0, 0, 1}})[:64])
	bdb := make([]byte, 1024)
	binary.LittleEndian.PutUint32(bdb[12:], bdbHash)
	binary.LittleEndian.PutUint32(bdb[20:], 512)
	binary.LittleEndian.PutUint32(bdb[32:], 1)
	bdb[512+25] = bdbHashPg
	f.Add(bdb)
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		switch detect(b) {
		case formatNDB:
			_ = ndbBlobs(r, int64(len(b)), func([]byte) error { return nil })
		case formatBDB:
			_ = bdbBlobs(context.Background(), r, int64(len(b)), func([]byte) error { return nil })
		}
	})
}
