package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/scan/malware"
	"github.com/vigilsec/vigil/internal/scan/malware/malwaretest"
	"github.com/vigilsec/vigil/internal/scan/scanner"
	"github.com/vigilsec/vigil/internal/scan/scanner/scantest"
	"github.com/vigilsec/vigil/internal/testutil"
)

// scanFixture is one test image and database shared by the scan tests.
type scanFixture struct {
	dir string
	img *scantest.Image
	db  string
}

func newScanFixture(t *testing.T) scanFixture {
	t.Helper()
	dir := t.TempDir()
	img := scantest.BuildImage(t, dir)
	return scanFixture{dir: dir, img: img, db: scantest.DB(t, dir)}
}

func decodeReport(t *testing.T, out string) scanner.Result {
	t.Helper()
	var res scanner.Result
	require.NoError(t, json.Unmarshal([]byte(out), &res), "stdout:\n%s", tail(out))
	return res
}

func hasVuln(res scanner.Result, id string) *scanner.Vulnerability {
	for i, v := range res.Vulnerabilities {
		if v.ID == id {
			return &res.Vulnerabilities[i]
		}
	}
	return nil
}

var digestRE = regexp.MustCompile(`sha256:[0-9a-f]{12,64}`)

func TestScanImage(t *testing.T) {
	fx := newScanFixture(t)

	t.Run("json from each image format", func(t *testing.T) {
		for _, p := range []string{fx.img.DockerTar, fx.img.OCIDir, fx.img.OCITar} {
			r := vigil(t, "scan", "image", p, "--db", fx.db, "--format", "json")
			require.Equal(t, 0, r.Code, "stderr: %s", r.Stderr)
			res := decodeReport(t, r.Stdout)
			v := hasVuln(res, scantest.XTextAdvisory)
			require.NotNil(t, v, "want %s in %s", scantest.XTextAdvisory, p)
			require.Equal(t, scantest.XTextFixed, v.FixedVersion)
			require.Equal(t, fx.img.LayerDigests[1], v.Layer)
			require.Equal(t, scantest.AppCreatedBy, v.CreatedBy)
			require.NotContains(t, r.Stdout, scantest.EnvSecretValue, "secret values never appear in reports")
		}
	})

	t.Run("table golden", func(t *testing.T) {
		r := vigil(t, "scan", "image", fx.img.DockerTar, "--db", fx.db)
		require.Equal(t, 0, r.Code, "stderr: %s", r.Stderr)
		got := strings.ReplaceAll(r.Stdout, fx.img.DockerTar, "IMAGE.tar")
		got = digestRE.ReplaceAllString(got, "sha256:DIGEST")
		golden(t, filepath.Join("testdata", "scan_image.table"), []byte(got))
	})

	t.Run("exit code and severity filter", func(t *testing.T) {
		r := vigil(t, "scan", "image", fx.img.DockerTar, "--db", fx.db, "--exit-code", "5", "--format", "json")
		require.Equal(t, 5, r.Code, "findings remain: exit 5; stderr %s", r.Stderr)
		r = vigil(t, "scan", "image", fx.img.DockerTar, "--db", fx.db, "--exit-code", "5", "--severity", "CRITICAL", "--format", "json")
		require.Equal(t, 0, r.Code, "no CRITICAL findings in the image; stderr %s", r.Stderr)
		res := decodeReport(t, r.Stdout)
		require.Empty(t, res.Vulnerabilities)
		require.Empty(t, res.Passwords)
		r = vigil(t, "scan", "image", fx.img.DockerTar, "--db", fx.db, "--severity", "HIGH", "--format", "json", "--scanners", "passwd")
		res = decodeReport(t, r.Stdout)
		require.Len(t, res.Passwords, 2, "root's dictionary password and the extra UID 0 account")
		for _, p := range res.Passwords {
			require.Empty(t, p.Password)
		}
		require.NotContains(t, r.Stdout, `"password"`, "the matched password is shown only with --show-passwords")
		r = vigil(t, "scan", "image", fx.img.DockerTar, "--format", "json", "--scanners", "passwd", "--show-passwords")
		require.Contains(t, r.Stdout, `"password": "`+scantest.WeakRootPasswd+`"`)
	})

	t.Run("ignore file with expiry", func(t *testing.T) {
		ignore := filepath.Join(fx.dir, "ignore.yaml")
		future := time.Now().AddDate(1, 0, 0).Format(time.DateOnly)
		require.NoError(t, os.WriteFile(ignore, []byte("ignore:\n"+
			"  - id: CVE-2020-14040\n    reason: alias of GO-2020-0015, not reachable\n    expires: "+future+"\n"+
			"  - id: "+scantest.DebAdvisory+"\n    reason: old decision\n    expires: 2020-01-01\n"), 0o644))
		r := vigil(t, "scan", "image", fx.img.DockerTar, "--db", fx.db, "--format", "json", "--ignore-file", ignore)
		require.Equal(t, 0, r.Code, r.Stderr)
		res := decodeReport(t, r.Stdout)
		require.Nil(t, hasVuln(res, scantest.XTextAdvisory), "ignored by its alias until "+future)
		require.NotNil(t, hasVuln(res, scantest.DebAdvisory), "an expired entry no longer ignores")
		require.Contains(t, r.Stderr, "ignore.yaml:5: ignore entry "+scantest.DebAdvisory+" expired on 2020-01-01")

		bad := filepath.Join(fx.dir, "bad-ignore.yaml")
		require.NoError(t, os.WriteFile(bad, []byte("ignore:\n  - id: X\n    expires: tomorrow\n  - reasn: typo\n"), 0o644))
		r = vigil(t, "scan", "image", fx.img.DockerTar, "--db", fx.db, "--ignore-file", bad)
		require.Equal(t, 2, r.Code)
		require.Contains(t, r.Stderr, "bad-ignore.yaml:2:5: expires \"tomorrow\"")
		require.Contains(t, r.Stderr, "bad-ignore.yaml:4:5: unknown field \"reasn\"")
	})

	t.Run("output file and formats", func(t *testing.T) {
		for _, f := range []string{"sarif", "cyclonedx", "spdx"} {
			out := filepath.Join(fx.dir, "report."+f)
			r := vigil(t, "scan", "image", fx.img.OCITar, "--db", fx.db, "--format", f, "-o", out)
			require.Equal(t, 0, r.Code, r.Stderr)
			require.Empty(t, r.Stdout)
			data, err := os.ReadFile(out)
			require.NoError(t, err)
			require.True(t, json.Valid(data), f)
			require.Contains(t, string(data), "golang.org/x/text")
		}
	})

	t.Run("truncated layer names the layer and the scan continues", func(t *testing.T) {
		bad := filepath.Join(fx.dir, "truncated.tar")
		scantest.Truncate(t, fx.img.DockerTar, bad, 1)
		r := vigil(t, "scan", "image", bad, "--db", fx.db, "--format", "json")
		require.Equal(t, 1, r.Code, "an incomplete scan exits 1")
		require.Contains(t, r.Stderr, "layer 2 of 3")
		require.Contains(t, r.Stderr, fx.img.LayerDiffIDs[1])
		res := decodeReport(t, r.Stdout)
		require.NotEmpty(t, res.Errors)
		require.NotNil(t, hasVuln(res, scantest.DebAdvisory), "the undamaged base layer is still scanned")
	})

	t.Run("registry over plain HTTP with --insecure", func(t *testing.T) {
		srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		defer srv.Close()
		ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://")+"/vigil/scan:1", name.Insecure)
		require.NoError(t, err)
		require.NoError(t, remote.Write(ref, fx.img.Image))
		r := vigil(t, "scan", "image", "--insecure", ref.String(), "--db", fx.db, "--format", "json")
		require.Equal(t, 0, r.Code, r.Stderr)
		res := decodeReport(t, r.Stdout)
		v := hasVuln(res, scantest.XTextAdvisory)
		require.NotNil(t, v)
		require.Equal(t, fx.img.LayerDigests[1], v.Layer)
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		for _, args := range [][]string{
			{"scan", "image"},
			{"scan", "image", fx.img.DockerTar, "--format", "xml"},
			{"scan", "image", fx.img.DockerTar, "--severity", "SEVERE"},
			{"scan", "image", fx.img.DockerTar, "--scanners", "vuln,virus"},
			{"scan", "fs", filepath.Join(fx.dir, "missing")},
		} {
			r := vigil(t, args...)
			require.Equal(t, 2, r.Code, "vigil %v: %s", args, r.Stderr)
		}
		r := vigil(t, "scan", "image", filepath.Join(fx.dir, "missing.tar"), "--db", fx.db)
		require.Equal(t, 1, r.Code, "a target that is neither a file nor a reachable reference is a scan error")
	})
}

func TestScanEscapingEntry(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	// The entry climbs out of any extraction root towards dir/victim.
	name1 := strings.Repeat("../", 64) + strings.TrimPrefix(victim, "/")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range []string{name1, "etc/ok"} {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: 2, Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte("x\n"))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	require.NoError(t, err)
	img, err := mutate.AppendLayers(empty.Image, l)
	require.NoError(t, err)
	p := filepath.Join(dir, "escape.tar")
	ref, _ := name.NewTag("vigil.test/escape:1")
	require.NoError(t, tarball.WriteToFile(p, ref, img))
	r := vigil(t, "scan", "image", p, "--scanners", "misconfig,passwd", "--format", "json")
	require.Equal(t, 1, r.Code, "the escaping entry makes the scan report an error")
	_, err = os.Stat(victim)
	require.True(t, os.IsNotExist(err), "nothing may be written outside the image root")
	res := decodeReport(t, r.Stdout)
	require.Len(t, res.Errors, 1)
	require.Equal(t, name1, res.Errors[0].Path)
	require.Contains(t, res.Errors[0].Message, "escapes the image root")
}

func TestScanFS(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	scantest.Deb(t, dir, root)
	app := scantest.GoBinary(t, dir)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "usr/local/bin"), 0o755))
	bin, err := os.ReadFile(app)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, scantest.AppPath), bin, 0o755))
	db := scantest.DB(t, dir)
	r := vigil(t, "scan", "fs", root, "--db", db, "--format", "json", "--exit-code", "3")
	require.Equal(t, 3, r.Code, r.Stderr)
	res := decodeReport(t, r.Stdout)
	require.Equal(t, "filesystem", res.Type)
	v := hasVuln(res, scantest.XTextAdvisory)
	require.NotNil(t, v)
	require.Equal(t, scantest.AppPath, v.Path)
}

// TestScanBenchBookworm measures `vigil scan fs` on a Debian bookworm
// minbase root filesystem made by debootstrap (network to deb.debian.org
// needed, or VIGIL_BENCH_ROOTFS naming an existing one). It runs only with
// VIGIL_BENCH_SCAN=1 (make bench-scan) and logs wall time, peak RSS and
// files per second.
func TestScanBenchBookworm(t *testing.T) {
	if os.Getenv("VIGIL_BENCH_SCAN") == "" {
		t.Skip("set VIGIL_BENCH_SCAN=1 (make bench-scan) to run the scan benchmark")
	}
	root := os.Getenv("VIGIL_BENCH_ROOTFS")
	if root == "" {
		if _, err := exec.LookPath("debootstrap"); err != nil {
			t.Skipf("debootstrap not installed (scripts/deps.sh installs it): %v", err)
		}
		root = filepath.Join(t.TempDir(), "bookworm")
		cmd := exec.Command("debootstrap", "--variant=minbase", "bookworm", root, "http://deb.debian.org/debian")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("debootstrap bookworm (needs deb.debian.org): %v\n%s", err, tail(string(out)))
		}
	}
	var files int64
	require.NoError(t, filepath.WalkDir(root, func(_ string, _ os.DirEntry, err error) error {
		files++
		return err
	}))
	db := scantest.DB(t, t.TempDir())
	for _, scanners := range []string{"vuln,misconfig", "vuln,misconfig,passwd"} {
		r := run(t, invocation{Args: []string{"scan", "fs", root, "--db", db, "--format", "json", "--scanners", scanners}, MeasureRSS: true})
		require.Equal(t, 0, r.Code, r.Stderr)
		res := decodeReport(t, r.Stdout)
		require.Equal(t, "debian", res.OS.ID)
		require.Greater(t, len(res.Packages), 80, "a minbase system has about 90 packages")
		t.Logf("scan fs bookworm minbase --scanners %s: %d entries, %d packages, wall %s, peak RSS %.1f MiB, %.0f files/s",
			scanners, files, len(res.Packages), r.Wall.Round(time.Millisecond), float64(r.MaxRSS)/(1<<20), float64(files)/r.Wall.Seconds())
	}
}

// TestScanSecrets runs --scanners secret on a directory and on an image
// made of it, with the built-in rules and with gitleaks' rules, in every
// format: findings name the file, the layer and its step, and no format
// shows the raw token.
func TestScanSecrets(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	token := "ghp_" + "Zq7Lr2Xw9Tn4Vb8Mc1Kd6Hs3Jf5Gp0Ya2Ue9"
	require.NoError(t, os.MkdirAll(filepath.Join(root, "app"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "app/config.yaml"), []byte("github:\n  token: "+token+"\n"), 0o644))

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := []byte("github:\n  token: " + token + "\n")
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "app/config.yaml", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}))
	_, err := tw.Write(data)
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	require.NoError(t, err)
	img, err := mutate.AppendLayers(empty.Image, l)
	require.NoError(t, err)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	const step = "COPY config.yaml /app/ # buildkit"
	cf.History = []v1.History{{CreatedBy: step}}
	img, err = mutate.ConfigFile(img, cf)
	require.NoError(t, err)
	tarPath := filepath.Join(dir, "img.tar")
	require.NoError(t, tarball.WriteToFile(tarPath, name.MustParseReference("vigil.test/secrets:1"), img))
	digest, err := l.Digest()
	require.NoError(t, err)

	gitleaks := testutil.SharedData(t, "secrets/gitleaks/gitleaks.toml")
	for _, tc := range []struct {
		name  string
		args  []string
		layer string
	}{
		{"fs builtin", []string{"scan", "fs", root}, ""},
		{"fs gitleaks", []string{"scan", "fs", root, "--secret-config", gitleaks}, ""},
		{"image builtin", []string{"scan", "image", tarPath}, digest.String()},
		{"image gitleaks", []string{"scan", "image", tarPath, "--secret-config", gitleaks}, digest.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.args, "--scanners", "secret")
			r := vigil(t, append(args, "--format", "json", "--exit-code", "4")...)
			require.Equal(t, 4, r.Code, r.Stderr)
			res := decodeReport(t, r.Stdout)
			require.Len(t, res.Secrets, 1, "%+v", res.Secrets)
			s := res.Secrets[0]
			require.Equal(t, "app/config.yaml", s.Path)
			require.Equal(t, 2, s.Line)
			require.Equal(t, tc.layer, s.Layer)
			if tc.layer != "" {
				require.Equal(t, step, s.CreatedBy)
			}
			for _, format := range []string{"table", "json", "sarif", "cyclonedx", "spdx"} {
				r := vigil(t, append(args, "--format", format)...)
				require.Equal(t, 0, r.Code, r.Stderr)
				require.NotContains(t, r.Stdout, token, "%s report leaks the token", format)
				require.NotContains(t, r.Stdout, token[4:20], "%s report leaks part of the token", format)
			}
		})
	}
	r := vigil(t, "scan", "fs", root, "--scanners", "secret", "--secret-config", filepath.Join(dir, "missing.toml"))
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.Stderr, "missing.toml")
}

// TestScanMalwareBlocklist runs --scanners malware in the default build
// (no YARA): the build says YARA needs -tags yara, and the embedded and
// user blocklists still find the samples, with their layer.
func TestScanMalwareBlocklist(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	files := map[string][]byte{"usr/bin/kswapd0": malwaretest.FakeMiner(), "var/www/up.php": malwaretest.WebShell(), "etc/hostname": []byte("box\n")}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range []string{"etc/hostname", "usr/bin/kswapd0", "var/www/up.php"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, p), files[p], 0o755))
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: p, Mode: 0o755, Size: int64(len(files[p])), Typeflag: tar.TypeReg}))
		_, err := tw.Write(files[p])
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	require.NoError(t, err)
	img, err := mutate.AppendLayers(empty.Image, l)
	require.NoError(t, err)
	tarPath := filepath.Join(dir, "img.tar")
	require.NoError(t, tarball.WriteToFile(tarPath, name.MustParseReference("vigil.test/malware:1"), img))
	digest, err := l.Digest()
	require.NoError(t, err)
	sum := sha256.Sum256(malwaretest.WebShell())
	hashes := filepath.Join(dir, "hashes.txt")
	require.NoError(t, os.WriteFile(hashes, []byte(hex.EncodeToString(sum[:])+" incident 42 web shell\n"), 0o644))

	for _, tc := range []struct {
		name  string
		args  []string
		layer string
	}{
		{"fs", []string{"scan", "fs", root}, ""},
		{"image", []string{"scan", "image", tarPath}, digest.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := vigil(t, append(tc.args, "--scanners", "malware", "--format", "json", "--exit-code", "5")...)
			require.Equal(t, 5, r.Code, r.Stderr)
			require.Contains(t, r.Stderr, "needs a build with -tags yara")
			res := decodeReport(t, r.Stdout)
			require.Len(t, res.Malware, 1)
			require.Equal(t, "usr/bin/kswapd0", res.Malware[0].Path)
			require.Equal(t, malware.BlocklistRule, res.Malware[0].RuleID)
			require.Equal(t, tc.layer, res.Malware[0].Layer)

			r = vigil(t, append(tc.args, "--scanners", "malware", "--format", "json", "--malware-hashes", hashes)...)
			require.Equal(t, 0, r.Code, r.Stderr)
			res = decodeReport(t, r.Stdout)
			require.Len(t, res.Malware, 2)
			require.Equal(t, "var/www/up.php", res.Malware[1].Path)
			require.Equal(t, "incident 42 web shell", res.Malware[1].Description)
		})
	}
	r := vigil(t, "scan", "fs", root, "--scanners", "malware", "--malware-hashes", filepath.Join(dir, "nope.txt"))
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.Stderr, "nope.txt")
}
