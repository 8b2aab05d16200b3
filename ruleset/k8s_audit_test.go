package ruleset_test

// Tests of the embedded k8s_audit rules against kube-apiserver audit events.
//
// Fixture format. testdata/cases/*.txtar holds one archive per rule. The
// archive comment starts with "rule: NAME", the rule under test, then free
// text describing the scenario. Each case is a pair of files:
//
//	-- NAME.json --    one audit.k8s.io/v1 Event, one JSON line, as the
//	                   kube-apiserver log backend writes it
//	-- NAME.want --    the names of every rule the event must fire, one a
//	                   line, in load order; empty when no rule may fire
//	-- NAME.output --  optional: substrings, one a line, that the rendered
//	                   output of the first wanted rule must contain
//
// The match is exact: a case fails when a rule fires that is not listed, so
// each fixture also checks that the other rules stay quiet. Each archive must
// hold at least one case that fires its rule and one that does not, and
// every rule of k8s_audit.yaml must have an archive.

import (
	"github.com/vigilsec/vigil/internal/testutil"

	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/event"
	"github.com/vigilsec/vigil/internal/k8saudit"
	"github.com/vigilsec/vigil/internal/rules"
	"github.com/vigilsec/vigil/ruleset"
)

const k8sAuditFile = ruleset.NamePrefix + "k8s_audit.yaml"

func loadRuleset(t *testing.T, extra ...rules.File) *rules.Ruleset {
	t.Helper()
	files := append(ruleset.Files(), extra...)
	rs, diags := rules.Load(files, rules.Options{Sources: allSources()})
	require.Empty(t, diags.Errors(), "errors loading rules:\n%s", diagText(diags.Errors()))
	require.NotNil(t, rs)
	return rs
}

func diagText(ds rules.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// auditRules returns the rules defined by k8s_audit.yaml, in load order.
func auditRules(rs *rules.Ruleset) []*rules.Rule {
	var out []*rules.Rule
	for _, r := range rs.Rules() {
		if r.File == k8sAuditFile {
			out = append(out, r)
		}
	}
	return out
}

// decode reads the single audit event of a fixture.
func decode(t *testing.T, name string, data []byte) event.Event {
	t.Helper()
	evs := decodeAll(t, name, data)
	require.Len(t, evs, 1, "%s: want exactly one audit event", name)
	return evs[0]
}

// decodeAll reads every audit event of data with the k8s audit reader.
func decodeAll(t *testing.T, name string, data []byte) []event.Event {
	t.Helper()
	rd := k8saudit.NewReader(bytes.NewReader(data), name)
	var out []event.Event
	for {
		ev := new(k8saudit.Event)
		err := rd.Next(ev)
		if err != nil {
			require.ErrorIs(t, err, io.EOF, "%s: decode", name)
			return out
		}
		out = append(out, ev)
	}
}

func matchNames(ev *rules.Evaluator, e event.Event) []string {
	var out []string
	for _, r := range ev.Match(e) {
		out = append(out, r.Name)
	}
	return out
}

func TestK8sAuditRulesLoad(t *testing.T) {
	rs, diags := rules.Load(ruleset.Files(), rules.Options{Sources: allSources()})
	require.Empty(t, diags.Errors(), "errors:\n%s", diagText(diags.Errors()))
	require.Empty(t, diags.Warnings(), "warnings:\n%s", diagText(diags.Warnings()))
	ours := auditRules(rs)
	require.NotEmpty(t, ours)
	enabled := rs.Enabled("k8s_audit")
	for _, r := range ours {
		require.True(t, r.Enabled, "rule %q is disabled", r.Name)
		require.Contains(t, enabled, r, "rule %q is not compiled", r.Name)
	}
}

// mitreContainers maps each ATT&CK technique of the Containers platform
// (ATT&CK v18.1, © The MITRE Corporation) to its tactics, as tag suffixes.
var mitreContainers = map[string][]string{
	"T1036":     {"defense_evasion"},
	"T1036.005": {"defense_evasion"},
	"T1036.010": {"defense_evasion"},
	"T1046":     {"discovery"},
	"T1053":     {"execution", "persistence", "privilege_escalation"},
	"T1053.007": {"execution", "persistence", "privilege_escalation"},
	"T1059.013": {"execution"},
	"T1068":     {"privilege_escalation"},
	"T1069":     {"discovery"},
	"T1070":     {"defense_evasion"},
	"T1078":     {"defense_evasion", "persistence", "privilege_escalation", "initial_access"},
	"T1078.001": {"defense_evasion", "persistence", "privilege_escalation", "initial_access"},
	"T1078.003": {"defense_evasion", "persistence", "privilege_escalation", "initial_access"},
	"T1098":     {"persistence", "privilege_escalation"},
	"T1098.006": {"persistence", "privilege_escalation"},
	"T1110":     {"credential_access"},
	"T1110.001": {"credential_access"},
	"T1110.003": {"credential_access"},
	"T1110.004": {"credential_access"},
	"T1133":     {"persistence", "initial_access"},
	"T1136":     {"persistence"},
	"T1136.001": {"persistence"},
	"T1190":     {"initial_access"},
	"T1204":     {"execution"},
	"T1204.003": {"execution"},
	"T1485":     {"impact"},
	"T1490":     {"impact"},
	"T1496":     {"impact"},
	"T1496.001": {"impact"},
	"T1496.002": {"impact"},
	"T1498":     {"impact"},
	"T1499":     {"impact"},
	"T1525":     {"persistence"},
	"T1528":     {"credential_access"},
	"T1543":     {"persistence", "privilege_escalation"},
	"T1543.005": {"persistence", "privilege_escalation"},
	"T1550":     {"defense_evasion", "lateral_movement"},
	"T1550.001": {"defense_evasion", "lateral_movement"},
	"T1552":     {"credential_access"},
	"T1552.001": {"credential_access"},
	"T1552.007": {"credential_access"},
	"T1562":     {"defense_evasion"},
	"T1562.001": {"defense_evasion"},
	"T1609":     {"execution"},
	"T1610":     {"defense_evasion", "execution"},
	"T1611":     {"privilege_escalation"},
	"T1612":     {"defense_evasion"},
	"T1613":     {"discovery"},
}

var techniqueTag = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)

// Every rule: k8s_audit source, a description, MITRE technique ids valid for
// containers with matching tactic tags, and an output giving full context.
func TestK8sAuditRuleMetadata(t *testing.T) {
	rs := loadRuleset(t)
	// Cluster-scoped targets (nodes, webhooks, bare URIs) have no
	// namespace, so it is not required everywhere.
	contextFields := []string{
		"ka.user.name", "ka.verb", "ka.uri", "ka.sourceips",
		"ka.useragent", "ka.response.code", "ka.auditid",
	}
	for _, r := range auditRules(rs) {
		t.Run(r.Name, func(t *testing.T) {
			requireRuleMetadata(t, r, "k8s_audit", "k8s", contextFields)
		})
	}
}

// txtar is a minimal reader of the txtar format (golang.org/x/tools/txtar):
// a comment, then files introduced by "-- NAME --" lines.
type txtarFile struct {
	Name string
	Data []byte
}

func parseTxtar(data []byte) (comment []byte, files []txtarFile) {
	isMarker := func(line []byte) (string, bool) {
		if bytes.HasPrefix(line, []byte("-- ")) && bytes.HasSuffix(line, []byte(" --")) && len(line) >= 7 {
			return strings.TrimSpace(string(line[3 : len(line)-3])), true
		}
		return "", false
	}
	cur := -1
	for len(data) > 0 {
		line := data
		rest := []byte(nil)
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, rest = data[:i], data[i+1:]
		}
		if name, ok := isMarker(line); ok {
			files = append(files, txtarFile{Name: name})
			cur = len(files) - 1
		} else if cur < 0 {
			comment = append(comment, line...)
			comment = append(comment, '\n')
		} else {
			files[cur].Data = append(files[cur].Data, line...)
			files[cur].Data = append(files[cur].Data, '\n')
		}
		data = rest
	}
	return comment, files
}

type auditCase struct {
	name   string
	event  []byte
	want   []string
	output []string
}

type archive struct {
	path  string
	rule  string
	cases []auditCase
}

func lines(b []byte) []string {
	var out []string
	for l := range strings.SplitSeq(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func readArchive(t *testing.T, path string) archive {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	comment, files := parseTxtar(data)
	first, _, _ := strings.Cut(string(comment), "\n")
	rule, ok := strings.CutPrefix(first, "rule: ")
	require.True(t, ok, "%s: comment must start with \"rule: NAME\"", path)
	a := archive{path: path, rule: strings.TrimSpace(rule)}

	byName := map[string]*auditCase{}
	var order []string
	get := func(name string) *auditCase {
		c := byName[name]
		if c == nil {
			c = &auditCase{name: name}
			byName[name] = c
			order = append(order, name)
		}
		return c
	}
	seen := map[string]bool{}
	for _, f := range files {
		require.False(t, seen[f.Name], "%s: duplicate file %s", path, f.Name)
		seen[f.Name] = true
		switch ext := filepath.Ext(f.Name); ext {
		case ".json":
			get(strings.TrimSuffix(f.Name, ext)).event = f.Data
		case ".want":
			c := get(strings.TrimSuffix(f.Name, ext))
			c.want = lines(f.Data)
			if c.want == nil {
				c.want = []string{}
			}
		case ".output":
			get(strings.TrimSuffix(f.Name, ext)).output = lines(f.Data)
		default:
			t.Fatalf("%s: file %s: want .json, .want or .output", path, f.Name)
		}
	}
	for _, name := range order {
		c := byName[name]
		require.NotNil(t, c.event, "%s: case %s has no .json", path, name)
		require.NotNil(t, c.want, "%s: case %s has no .want", path, name)
		if c.output != nil {
			require.NotEmpty(t, c.want, "%s: case %s checks output but fires nothing", path, name)
		}
		a.cases = append(a.cases, *c)
	}
	return a
}

func TestK8sAuditCases(t *testing.T) {
	rs := loadRuleset(t)
	ev := rs.NewEvaluator()
	known := map[string]bool{}
	for _, r := range rs.Rules() {
		known[r.Name] = true
	}

	paths, err := filepath.Glob(filepath.Join("testdata", "cases", "*.txtar"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)

	covered := map[string]bool{}
	for _, path := range paths {
		a := readArchive(t, path)
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			require.True(t, known[a.rule], "rule %q under test is not loaded", a.rule)
			fires, quiet := 0, 0
			for _, c := range a.cases {
				t.Run(c.name, func(t *testing.T) {
					for _, w := range c.want {
						require.True(t, known[w], "wanted rule %q is not loaded", w)
					}
					e := decode(t, c.name, c.event)
					got := matchNames(ev, e)
					require.Equal(t, c.want, orEmpty(got), "rules fired")
					if len(c.output) > 0 {
						r := ruleByName(rs, c.want[0])
						text, _ := ev.Render(r, e)
						for _, s := range c.output {
							require.Contains(t, text, s, "output of %q", r.Name)
						}
					}
				})
				if slices.Contains(c.want, a.rule) {
					fires++
				} else {
					quiet++
				}
			}
			require.Positive(t, fires, "no case fires %q", a.rule)
			require.Positive(t, quiet, "no benign case for %q", a.rule)
		})
		covered[a.rule] = true
	}
	for _, r := range auditRules(rs) {
		require.True(t, covered[r.Name], "rule %q has no testdata/cases archive", r.Name)
	}
}

func ruleByName(rs *rules.Ruleset, name string) *rules.Rule {
	for _, r := range rs.Rules() {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// orEmpty returns s, or an empty non-nil slice, so that "no rule" compares
// equal however it is spelled.
func orEmpty(s []string) []string {
	if len(s) == 0 {
		return []string{}
	}
	return s
}

// caseEvent reads one named case from an archive of testdata/cases.
func caseEvent(t *testing.T, archiveName, caseName string) event.Event {
	t.Helper()
	a := readArchive(t, filepath.Join("testdata", "cases", archiveName+".txtar"))
	for _, c := range a.cases {
		if c.name == caseName {
			return decode(t, caseName, c.event)
		}
	}
	t.Fatalf("%s: no case %s", archiveName, caseName)
	return nil
}

// The tuning hooks the file header documents work: exceptions, list
// appends, hook macros and disabling.
func TestK8sAuditTuning(t *testing.T) {
	secretRead := caseEvent(t, "sa-read-secrets", "sa-get-secret-with-curl")
	listAll := caseEvent(t, "sa-read-secrets", "sa-list-secrets-all-namespaces")
	exec := caseEvent(t, "interactive-session", "user-exec-websocket-started")
	privileged := caseEvent(t, "privileged-pod", "user-runs-privileged-pod")

	tests := []struct {
		name     string
		override string
		event    event.Event
		want     []string
	}{
		{"exception for a service account in its namespace", `
- rule: Service Account Read Secrets
  exceptions:
    - name: sa_and_namespace
      values:
        - ["system:serviceaccount:web:frontend", web]
  override:
    exceptions: append
`, secretRead, []string{}},
		{"exception leaves other namespaces alerting", `
- rule: Service Account Read Secrets
  exceptions:
    - name: sa_and_namespace
      values:
        - ["system:serviceaccount:web:frontend", web]
  override:
    exceptions: append
`, listAll, []string{"Service Account Read Secrets"}},
		{"trusted secret reader list append", `
- list: vigil_user_trusted_secret_reader_sas
  items: ["system:serviceaccount:web:frontend"]
  override:
    items: append
`, secretRead, []string{}},
		{"hook macro for known sessions", `
- macro: vigil_user_known_interactive_access
  condition: (ka.user.name = "alice@example.com" and ka.target.namespace = web)
  override:
    condition: replace
`, exec, []string{}},
		{"image allow list append", `
- list: vigil_privileged_images
  items: [docker.io/library/alpine]
  override:
    items: append
`, privileged, []string{}},
		{"rule disabled", `
- rule: Pod Created With Privileged Container
  enabled: false
  override:
    enabled: replace
`, privileged, []string{}},
		{"long-running stage switched to ResponseComplete", `
- list: vigil_k8s_long_running_stages
  items: [ResponseComplete]
  override:
    items: replace
`, exec, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := loadRuleset(t).NewEvaluator()
			require.NotEmpty(t, matchNames(base, tt.event), "the event must fire without the override")
			rs := loadRuleset(t, rules.File{Name: "local.yaml", Data: []byte(tt.override)})
			require.Equal(t, tt.want, orEmpty(matchNames(rs.NewEvaluator(), tt.event)))
		})
	}
}

// Falco's own k8s_audit rules (../shared/data/falco/k8saudit) load after ours
// without error, and both rule sets fire on the same event.
func TestFalcoUpstreamRulesLoadAlongside(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.SharedData(t, "falco/k8saudit"), "k8s_audit_rules.yaml"))
	require.NoError(t, err)
	rs := loadRuleset(t, rules.File{Name: "k8s_audit_rules.yaml", Data: data})

	var ours, theirs int
	for _, r := range rs.Rules() {
		switch r.File {
		case k8sAuditFile:
			ours++
		case "k8s_audit_rules.yaml":
			theirs++
		}
	}
	require.Equal(t, len(auditRules(loadRuleset(t))), ours, "our rules are all kept")
	require.Positive(t, theirs)

	got := matchNames(rs.NewEvaluator(), caseEvent(t, "privileged-pod", "user-runs-privileged-pod"))
	require.Contains(t, got, "Pod Created With Privileged Container")
	require.Contains(t, got, "Create Privileged Pod")
}

// realWant reads testdata/real.want: for each capture file, the rules each
// event fires (index 0 is the first event), and the set of files listed.
func realWant(t *testing.T) (map[string]map[int][]string, map[string]bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "real.want"))
	require.NoError(t, err)
	want := map[string]map[int][]string{}
	listed := map[string]bool{}
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		ref, rule, ok := strings.Cut(l, " ")
		require.True(t, ok, "real.want:%d: want \"FILE:N RULE\" or \"FILE -\"", i+1)
		rule = strings.TrimSpace(rule)
		file, num, hasNum := strings.Cut(ref, ":")
		listed[file] = true
		if !hasNum {
			require.Equal(t, "-", rule, "real.want:%d", i+1)
			continue
		}
		var n int
		_, err := fmt.Sscanf(num, "%d", &n)
		require.NoError(t, err, "real.want:%d: event number", i+1)
		require.Positive(t, n, "real.want:%d: events count from 1", i+1)
		if want[file] == nil {
			want[file] = map[int][]string{}
		}
		want[file][n-1] = append(want[file][n-1], rule)
	}
	return want, listed
}

// The rules fire as expected on events captured from a real kube-apiserver:
// attack scenarios alert, benign ones stay quiet.
func TestK8sAuditRealCaptures(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "real", "*.jsonl"))
	require.NoError(t, err)
	if len(paths) == 0 {
		t.Skip("no captures in testdata/real")
	}
	rs := loadRuleset(t)
	ev := rs.NewEvaluator()
	want, listed := realWant(t)
	for _, path := range paths {
		file := filepath.Base(path)
		t.Run(strings.TrimSuffix(file, ".jsonl"), func(t *testing.T) {
			require.True(t, listed[file], "%s is not reviewed in testdata/real.want", file)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			evs := decodeAll(t, file, data)
			require.NotEmpty(t, evs)
			for n := range want[file] {
				require.Less(t, n, len(evs), "real.want names event %d of %s, which has %d", n+1, file, len(evs))
			}
			for i, e := range evs {
				w := want[file][i]
				if w == nil {
					w = []string{}
				}
				require.Equal(t, w, orEmpty(matchNames(ev, e)), "%s event %d", file, i+1)
			}
		})
		delete(listed, file)
	}
	require.Empty(t, listed, "real.want lists files missing from testdata/real")
}

// The motivating case, on real events: a service-account token replayed
// from outside (X-Forwarded-For) to read a Secret names the account, every
// source IP, the verb, the namespace and the secret.
func TestK8sAuditRealStolenTokenOutput(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "real", "sa_token_read_secrets.jsonl"))
	if os.IsNotExist(err) {
		t.Skip("testdata/real/sa_token_read_secrets.jsonl not captured")
	}
	require.NoError(t, err)
	evs := decodeAll(t, "sa_token_read_secrets.jsonl", data)
	rs := loadRuleset(t)
	ev := rs.NewEvaluator()
	var outputs []string
	for _, e := range evs {
		for _, r := range ev.Match(e) {
			if r.Name == "Service Account Read Secrets" {
				text, _ := ev.Render(r, e)
				outputs = append(outputs, text)
			}
		}
	}
	require.NotEmpty(t, outputs)
	last := outputs[len(outputs)-1]
	for _, s := range []string{
		"serviceaccount=system:serviceaccount:vigil-e2e:sa-attacker",
		"203.0.113.50", "127.0.0.1", "verb=get", "ns=vigil-e2e",
		"secret=db-credentials", "useragent=curl/",
	} {
		require.Contains(t, last, s)
	}
}

// requireRuleMetadata checks what every default rule must have: its
// source, a description, the source tag, priority NOTICE or above, MITRE
// technique ids valid for containers with matching tactic tags, and an
// output printing every field of contextFields.
func requireRuleMetadata(t *testing.T, r *rules.Rule, source, tag string, contextFields []string) {
	t.Helper()
	require.Equal(t, source, r.Source)
	require.NotEmpty(t, strings.TrimSpace(r.Desc))
	require.Contains(t, r.Tags, tag)
	require.LessOrEqual(t, r.Priority, rules.Notice, "default rules alert at NOTICE or above")

	var techniques, tactics []string
	for _, tg := range r.Tags {
		switch {
		case techniqueTag.MatchString(tg):
			require.Contains(t, mitreContainers, tg, "technique %s is not a Containers technique", tg)
			techniques = append(techniques, tg)
		case strings.HasPrefix(tg, "mitre_"):
			tactics = append(tactics, strings.TrimPrefix(tg, "mitre_"))
		}
	}
	require.NotEmpty(t, techniques, "no MITRE technique tag")
	require.NotEmpty(t, tactics, "no MITRE tactic tag")
	var allowed []string
	for _, id := range techniques {
		allowed = append(allowed, mitreContainers[id]...)
	}
	for _, tac := range tactics {
		require.Contains(t, allowed, tac, "tactic %s belongs to none of %v", tac, techniques)
	}
	for _, f := range contextFields {
		re := regexp.MustCompile(`%` + regexp.QuoteMeta(f) + `($|[^\w.\[])`)
		require.Regexp(t, re, r.Output, "output lacks %%%s", f)
	}
}
