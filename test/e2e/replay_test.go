//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReplayRealCaptures replays every real kube-apiserver capture at once:
// the alerts are Falco json_output lines, in event order, and fire exactly
// the rules ruleset/testdata/real.want lists for each event.
func TestReplayRealCaptures(t *testing.T) {
	caps := readCaptures(t)
	want := realWant(t)
	type fired struct{ Rule, Time string }
	var wantAlerts []fired
	args := []string{"replay"}
	events := 0
	for _, c := range caps {
		require.Contains(t, want, c.Name, "%s is not reviewed in real.want", c.Name)
		args = append(args, c.Path)
		for i, line := range c.Events {
			events++
			ts := alertTime(t, decodeEvent(t, line))
			for _, rule := range want[c.Name][i+1] {
				wantAlerts = append(wantAlerts, fired{rule, ts})
			}
		}
	}
	require.NotEmpty(t, wantAlerts)

	r := vigil(t, args...)
	require.Equal(t, 0, r.Code, "stderr:\n%s", r.Stderr)
	var got []fired
	for _, l := range lines(r.Stdout) {
		a := checkAlert(t, l)
		got = append(got, fired{a.Rule, a.Time})
	}
	require.Equal(t, wantAlerts, got)
	stderr := lines(r.Stderr)
	require.Len(t, stderr, 1, "stderr holds only the summary:\n%s", r.Stderr)
	s := parseSummary(t, stderr[0])
	require.Equal(t, events, s.Events)
	require.Equal(t, len(wantAlerts), s.Alerts)
	require.Zero(t, s.Malformed)
}

// malformedPrefix starts every message about a bad record.
const malformedPrefix = "data not recognized as a k8s audit event"

// TestReplayMalformed replays a file mixing good audit events with a
// garbage line, a truncated JSON line, a JSON object that is not an audit
// event, a truncated EventList and a record cut short by the end of the
// file: each bad record is reported as FILE:LINE, the good events still
// alert, and replay exits 0.
func TestReplayMalformed(t *testing.T) {
	good := readCapture(t, "sa_token_read_secrets.jsonl").Events
	benign := readCapture(t, "sa_token_benign.jsonl").Events
	require.GreaterOrEqual(t, len(good), 3)
	require.GreaterOrEqual(t, len(benign), 3)

	// A one-line EventList cut inside its third item: its first two items
	// are still events.
	list := []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[`)
	cut := 0
	for i, ev := range benign[:3] {
		if i > 0 {
			list = append(list, ',')
		}
		if i == 2 {
			cut = len(list) + len(ev)/2
		}
		list = append(list, ev...)
	}
	list = append(list, "]}"...)
	truncatedList := list[:cut]
	// An event cut inside a string value.
	idx := bytes.Index(good[1], []byte(`"auditID":"`))
	require.Positive(t, idx)
	truncatedEvent := good[1][:idx+len(`"auditID":"`)+8]

	var in, clean bytes.Buffer
	add := func(b []byte) int {
		in.Write(b)
		in.WriteByte('\n')
		return bytes.Count(in.Bytes(), []byte("\n"))
	}
	var badLines []int
	add(good[0])
	clean.Write(append(good[0], '\n'))
	badLines = append(badLines, add([]byte("this is not JSON \x01\x02\xff garbage")))
	badLines = append(badLines, add(truncatedEvent))
	badLines = append(badLines, add([]byte(`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x"},"data":{"a":"b"}}`)))
	badLines = append(badLines, add(truncatedList))
	for _, ev := range benign[:2] {
		clean.Write(append(ev, '\n'))
	}
	for _, ev := range good[1:] {
		add(ev)
		clean.Write(append(ev, '\n'))
	}
	// The last record is cut short by the end of the input, with no newline.
	in.Write(good[2][:len(good[2])/2])
	badLines = append(badLines, bytes.Count(in.Bytes(), []byte("\n"))+1)
	goodEvents := len(good) + 2

	dir := t.TempDir()
	mixed := filepath.Join(dir, "mixed.jsonl")
	cleanPath := filepath.Join(dir, "clean.jsonl")
	require.NoError(t, os.WriteFile(mixed, in.Bytes(), 0o644))
	require.NoError(t, os.WriteFile(cleanPath, clean.Bytes(), 0o644))

	want := vigil(t, "replay", cleanPath)
	require.Equal(t, 0, want.Code, "stderr:\n%s", want.Stderr)
	wantAlerts := lines(want.Stdout)
	require.NotEmpty(t, wantAlerts)
	fired := false
	for _, l := range wantAlerts {
		if checkAlert(t, l).Rule == "Service Account Read Secrets" {
			fired = true
		}
	}
	require.True(t, fired, "the good events fire Service Account Read Secrets")

	check := func(t *testing.T, r result, name string) {
		t.Helper()
		require.Equal(t, 0, r.Code, "stderr:\n%s", r.Stderr)
		require.Equal(t, want.Stdout, r.Stdout, "the good events must alert as in a clean file")
		stderr := lines(r.Stderr)
		require.Len(t, stderr, len(badLines)+1, "one line per bad record and the summary:\n%s", r.Stderr)
		for i, n := range badLines {
			require.True(t, strings.HasPrefix(stderr[i], fmt.Sprintf("%s:%d: %s", name, n, malformedPrefix)),
				"stderr line %d: %q, want %s:%d: %s...", i+1, stderr[i], name, n, malformedPrefix)
		}
		s := parseSummary(t, stderr[len(stderr)-1])
		require.Equal(t, goodEvents, s.Events)
		require.Equal(t, len(wantAlerts), s.Alerts)
		require.Equal(t, len(badLines), s.Malformed)
	}
	t.Run("file", func(t *testing.T) {
		check(t, vigil(t, "replay", mixed), mixed)
	})
	t.Run("stdin", func(t *testing.T) {
		check(t, run(t, invocation{Args: []string{"replay", "-"}, Stdin: bytes.NewReader(in.Bytes())}), "<stdin>")
	})
}

func TestReplayStdin(t *testing.T) {
	c := readCapture(t, "sa_token_read_secrets.jsonl")
	data, err := os.ReadFile(c.Path)
	require.NoError(t, err)
	fromFile := vigil(t, "replay", c.Path)
	require.Equal(t, 0, fromFile.Code, "stderr:\n%s", fromFile.Stderr)
	require.NotEmpty(t, fromFile.Stdout)
	fromStdin := run(t, invocation{Args: []string{"replay", "-"}, Stdin: bytes.NewReader(data)})
	require.Equal(t, 0, fromStdin.Code, "stderr:\n%s", fromStdin.Stderr)
	require.Equal(t, fromFile.Stdout, fromStdin.Stdout)

	// A file and stdin in one run: alerts in input order.
	both := run(t, invocation{Args: []string{"replay", c.Path, "-"}, Stdin: bytes.NewReader(data)})
	require.Equal(t, 0, both.Code, "stderr:\n%s", both.Stderr)
	require.Equal(t, fromFile.Stdout+fromFile.Stdout, both.Stdout)
	require.Equal(t, 2*len(c.Events), parseSummary(t, lines(both.Stderr)[0]).Events)
}

func TestReplayUserRules(t *testing.T) {
	c := readCapture(t, "sa_token_read_secrets.jsonl")
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "my_rules.yaml")
	require.NoError(t, os.WriteFile(rulesPath, []byte(`
- list: e2e_secret_verbs
  items: [get, list]
- rule: E2E secret access
  desc: any get or list of Secrets
  condition: ka.target.resource = secrets and ka.verb in (e2e_secret_verbs)
  output: "secret access (user=%ka.user.name verb=%ka.verb code=%ka.response.code)"
  priority: NOTICE
  source: k8s_audit
  tags: [e2e, secrets]
`), 0o644))
	var wantTimes []string
	for _, l := range c.Events {
		ev := decodeEvent(t, l)
		if ev.ObjectRef.Resource == "secrets" && (ev.Verb == "get" || ev.Verb == "list") {
			wantTimes = append(wantTimes, alertTime(t, ev))
		}
	}
	require.NotEmpty(t, wantTimes)

	r := vigil(t, "replay", "-r", rulesPath, c.Path)
	require.Equal(t, 0, r.Code, "stderr:\n%s", r.Stderr)
	var gotTimes []string
	for _, l := range lines(r.Stdout) {
		a := checkAlert(t, l)
		require.Equal(t, "E2E secret access", a.Rule, "only the user's rules are loaded")
		require.Equal(t, "Notice", a.Priority)
		require.Equal(t, []string{"e2e", "secrets"}, a.Tags)
		require.Equal(t, []string{"ka.response.code", "ka.user.name", "ka.verb"}, slices.Sorted(maps.Keys(a.OutputFields)))
		require.Regexp(t, `: Notice secret access \(user=system:serviceaccount:vigil-e2e:sa-attacker verb=(get|list) code=(200|403)\)$`, a.Output)
		gotTimes = append(gotTimes, a.Time)
	}
	require.Equal(t, wantTimes, gotTimes)

	t.Run("bad rules", func(t *testing.T) {
		r := vigil(t, "replay", "-r", "testdata/unknown_priority.bad.yaml", c.Path)
		require.Equal(t, 1, r.Code)
		require.Empty(t, r.Stdout)
		golden, err := os.ReadFile("testdata/unknown_priority.bad.stderr")
		require.NoError(t, err)
		require.Equal(t, strings.ReplaceAll(string(golden), "$TMP/", "testdata/"), r.Stderr,
			"replay prints the rules' diagnostics as validate does")
	})
	t.Run("missing rules file", func(t *testing.T) {
		missing := filepath.Join(dir, "nope.yaml")
		r := vigil(t, "replay", "-r", missing, c.Path)
		require.Equal(t, 1, r.Code)
		require.Empty(t, r.Stdout)
		require.Equal(t, "vigil: read rules "+missing+": stat "+missing+": no such file or directory\n", r.Stderr)
	})
}

// TestReplayMissingInput: a missing input fails the run with a clear
// message, after the alerts of the inputs before it are written.
func TestReplayMissingInput(t *testing.T) {
	c := readCapture(t, "sa_token_read_secrets.jsonl")
	alone := vigil(t, "replay", c.Path)
	require.Equal(t, 0, alone.Code)
	missing := filepath.Join(t.TempDir(), "nope.jsonl")
	r := vigil(t, "replay", c.Path, missing)
	require.Equal(t, 1, r.Code)
	require.Equal(t, "vigil: open input: open "+missing+": no such file or directory\n", r.Stderr)
	require.Equal(t, alone.Stdout, r.Stdout, "alerts of the inputs read before the missing one are lost")
}

// TestReplayGarbage replays 100 MB of garbage of several shapes: replay
// reports the bad records as FILE:LINE, keeps its memory bounded and exits 0.
func TestReplayGarbage(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MB inputs: skipped with -short")
	}
	const size = 100 << 20
	const maxRSS = 200 << 20
	for _, tc := range []struct {
		name string
		gen  func(g *genWriter)
	}{
		// One 100 MB line: longer than the reader's line limit.
		{"random bytes without newlines", func(g *genWriter) {
			g.randomBytes(size, func(b byte) byte {
				if b == '\n' {
					return '{'
				}
				return b
			})
		}},
		// A newline every 256 bytes or so.
		{"random bytes with newlines", func(g *genWriter) {
			g.randomBytes(size, func(b byte) byte { return b })
		}},
		// A pretty-printed record that never ends: every line continues it.
		{"endless record", func(g *genWriter) {
			g.str(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","requestObject":{"data":[` + "\n")
			for g.n < size {
				g.str(`  "`)
				g.randomText(1000)
				g.str("\",\n")
			}
		}},
		// An EventList spanning lines whose items are large and not events.
		{"endless EventList", func(g *genWriter) {
			g.str(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + "\n")
			for g.n < size {
				g.str("  {\"junk\": [\n")
				for range 1000 {
					g.str(`    "`)
					g.randomText(1000)
					g.str("\",\n")
				}
				g.str("    \"end\"]},\n")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "garbage")
			size, lines := generate(t, in, tc.gen)
			require.GreaterOrEqual(t, size, int64(100<<20))

			stdout, err := os.Create(filepath.Join(dir, "stdout"))
			require.NoError(t, err)
			defer stdout.Close()
			stderr, err := os.Create(filepath.Join(dir, "stderr"))
			require.NoError(t, err)
			defer stderr.Close()

			r := run(t, invocation{Args: []string{"replay", in}, Stdout: stdout, Stderr: stderr, MeasureRSS: true})
			t.Logf("%s: %.0f MB in %s, max RSS %.1f MB", tc.name, float64(size)/(1<<20), r.Wall.Round(time.Millisecond), float64(r.MaxRSS)/(1<<20))
			require.Equal(t, 0, r.Code, "stderr ends with:\n%s", lastLineOf(t, stderr.Name()))
			require.Less(t, r.MaxRSS, int64(maxRSS), "max RSS of vigil replay on 100 MB of garbage")
			out, err := os.ReadFile(stdout.Name())
			require.NoError(t, err)
			require.Empty(t, out, "garbage raised alerts")

			// Every stderr line but the summary names FILE:LINE of the file.
			// (Not in increasing order: a record spanning lines is reported
			// at its first line once its end is found.)
			ef, err := os.Open(stderr.Name())
			require.NoError(t, err)
			defer ef.Close()
			sc := bufio.NewScanner(ef)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			lineRe := regexp.MustCompile(`^` + regexp.QuoteMeta(in) + `:(\d+): ` + malformedPrefix + `: `)
			var n int
			last := ""
			capRe := regexp.MustCompile(`^replay: more than (\d+) malformed records: the others are counted, not shown$`)
			capped := false
			for sc.Scan() {
				if n > 0 && capRe.MatchString(last) {
					require.False(t, capped, "the cap message appears once")
					capped = true
				} else if n > 0 {
					require.False(t, capped, "stderr line %d: no record message after the cap: %q", n, last)
					m := lineRe.FindStringSubmatch(last)
					require.NotNil(t, m, "stderr line %d: %q", n, last)
					ln, _ := strconv.Atoi(m[1])
					require.True(t, ln >= 1 && ln <= lines, "stderr line %d: %q: line %d is not in the file", n, last, ln)
				}
				if n == 1 {
					t.Logf("%s: first message: %.200s", tc.name, last)
				}
				last = sc.Text()
				n++
				assertNoCrash(t, []string{"replay", in}, last)
			}
			require.NoError(t, sc.Err())
			s := parseSummary(t, last)
			require.Zero(t, s.Events)
			require.Zero(t, s.Alerts)
			require.Positive(t, s.Malformed)
			if capped {
				require.Equal(t, 1001, n-1, "1000 record messages, then the cap message")
				require.Greater(t, s.Malformed, 1000)
			} else {
				require.Equal(t, n-1, s.Malformed, "one stderr line per malformed record")
			}
			t.Logf("%s: %d malformed records reported", tc.name, s.Malformed)
		})
	}
}

// genWriter writes a generated input file through a buffer, counting bytes,
// so that the test process never holds the whole file.
type genWriter struct {
	w     *bufio.Writer
	n     int // bytes written
	lines int // newlines written
	rng   *rand.Rand
	buf   []byte
}

func (g *genWriter) str(s string) {
	g.w.WriteString(s)
	g.n += len(s)
	g.lines += strings.Count(s, "\n")
}

func (g *genWriter) bytes(b []byte) {
	g.w.Write(b)
	g.n += len(b)
	g.lines += bytes.Count(b, []byte("\n"))
}

// randomBytes writes n random bytes, each passed through f.
func (g *genWriter) randomBytes(n int, f func(byte) byte) {
	if cap(g.buf) < 64<<10 {
		g.buf = make([]byte, 64<<10)
	}
	for n > 0 {
		b := g.buf[:min(n, len(g.buf))]
		for i := 0; i < len(b); i += 8 {
			u := g.rng.Uint64()
			for j := i; j < i+8 && j < len(b); j++ {
				b[j] = f(byte(u))
				u >>= 8
			}
		}
		g.bytes(b)
		n -= len(b)
	}
}

// randomText writes n random letters and digits.
func (g *genWriter) randomText(n int) {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
	g.randomBytes(n, func(b byte) byte { return alphabet[b%64] })
}

// generate writes the file path with gen, from a fixed seed, and returns
// its size and number of lines.
func generate(t testing.TB, path string, gen func(g *genWriter)) (size int64, lines int) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	g := &genWriter{w: bufio.NewWriterSize(f, 1<<20), rng: rand.New(rand.NewChaCha8([32]byte{'v', 'i', 'g', 'i', 'l'}))}
	gen(g)
	require.NoError(t, g.w.Flush())
	require.NoError(t, f.Close())
	return int64(g.n), g.lines + 1
}
