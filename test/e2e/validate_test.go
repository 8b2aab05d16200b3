package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/testutil"
)

// Falco's rules files in the order Falco loads them.
var (
	falcoRulesFiles = []string{"falco_rules.yaml", "falco-incubating_rules.yaml", "falco-sandbox_rules.yaml",
		"falco-deprecated_rules.yaml", "application_rules.yaml"}
	k8sAuditRulesFiles = []string{"k8s_audit_rules.yaml", "k8s_audit_rules_gke.yaml"}
)

// validateJSON is the output of `vigil rules validate --json`.
type validateJSON struct {
	Valid    bool             `json:"valid"`
	Rules    int              `json:"rules"`
	Errors   []diagnosticJSON `json:"errors"`
	Warnings []diagnosticJSON `json:"warnings"`
}

type diagnosticJSON struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Severity string `json:"severity"`
	ItemType string `json:"item_type"`
	ItemName string `json:"item_name"`
	Message  string `json:"message"`
}

// String formats d as the text form of validate's stderr.
func (d diagnosticJSON) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s '%s': %s", d.File, d.Line, d.Column, d.Severity, d.ItemType, d.ItemName, d.Message)
}

// diagRe is the contract of one line of validate's stderr.
var diagRe = regexp.MustCompile(`^(.+?):(\d+):(\d+): (error|warning): ([a-z_]+) '(.*?)': (.+)$`)

// parseValidateJSON decodes validate --json output, requiring exactly the
// keys of the schema.
func parseValidateJSON(t *testing.T, out string) validateJSON {
	t.Helper()
	var keys map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(out), &keys), "validate --json output:\n%s", tail(out))
	require.ElementsMatch(t, []string{"valid", "rules", "errors", "warnings"}, slices.Collect(maps.Keys(keys)))
	for _, k := range []string{"errors", "warnings"} {
		var ds []map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(keys[k], &ds), "%s must be an array", k)
		for _, d := range ds {
			require.ElementsMatch(t, []string{"file", "line", "column", "severity", "item_type", "item_name", "message"},
				slices.Collect(maps.Keys(d)), "keys of an element of %s", k)
		}
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var v validateJSON
	require.NoError(t, dec.Decode(&v))
	require.NotNil(t, v.Errors, "errors is null, want []")
	require.NotNil(t, v.Warnings, "warnings is null, want []")
	for _, d := range v.Errors {
		require.Equal(t, "error", d.Severity, "%s", d)
	}
	for _, d := range v.Warnings {
		require.Equal(t, "warning", d.Severity, "%s", d)
	}
	require.Equal(t, len(v.Errors) == 0, v.Valid, "valid must be true exactly when there are no errors")
	return v
}

// countRules counts the distinct rule names defined at the top level of
// Falco's rules files ("- rule: NAME" lines).
func countRules(t *testing.T, paths []string) int {
	t.Helper()
	names := map[string]bool{}
	re := regexp.MustCompile(`(?m)^- rule: *(.+?) *$`)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			names[strings.Trim(m[1], `"'`)] = true
		}
	}
	return len(names)
}

func TestValidateUpstreamFalcoRules(t *testing.T) {
	for _, tc := range []struct {
		dir   string
		files []string
	}{
		{"falco/rules", falcoRulesFiles},
		{"falco/k8saudit", k8sAuditRulesFiles},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			dir := testutil.SharedData(t, tc.dir)
			var paths, args []string
			for _, f := range tc.files {
				p := filepath.Join(dir, f)
				paths = append(paths, p)
				args = append(args, "-r", p)
			}
			want := countRules(t, paths)
			require.Positive(t, want)

			r := vigil(t, append([]string{"rules", "validate"}, args...)...)
			require.Equal(t, 0, r.Code, "stderr:\n%s", tail(r.Stderr))
			require.Empty(t, r.Stderr)
			require.Equal(t, fmt.Sprintf("%d rules in %d files: valid\n", want, len(paths)), r.Stdout)

			r = vigil(t, append([]string{"rules", "validate", "--json"}, args...)...)
			require.Equal(t, 0, r.Code, "stderr:\n%s", tail(r.Stderr))
			require.Empty(t, r.Stderr)
			v := parseValidateJSON(t, r.Stdout)
			require.True(t, v.Valid)
			require.Equal(t, want, v.Rules)
			require.Empty(t, v.Errors)
		})
	}
}

// TestValidateFixtures validates each testdata/*.bad.yaml (exit 1) and
// *.good.yaml (exit 0) file, copied to a temporary directory, and compares
// stderr, the temporary directory written as $TMP, with its golden file
// testdata/NAME.stderr. The --json output must carry the same diagnostics.
func TestValidateFixtures(t *testing.T) {
	bad, err := filepath.Glob("testdata/*.bad.yaml")
	require.NoError(t, err)
	good, err := filepath.Glob("testdata/*.good.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(bad), 11, "bad fixtures")
	require.NotEmpty(t, good, "good fixtures")
	for _, src := range append(bad, good...) {
		name := strings.TrimSuffix(filepath.Base(src), ".yaml")
		wantCode := 0
		if strings.HasSuffix(name, ".bad") {
			wantCode = 1
		}
		t.Run(name, func(t *testing.T) {
			tmp := t.TempDir()
			path := filepath.Join(tmp, filepath.Base(src))
			copyFile(t, src, path)

			r := vigil(t, "rules", "validate", "-r", path)
			require.Equal(t, wantCode, r.Code, "stderr:\n%s", r.Stderr)
			require.NotEmpty(t, r.Stderr, "every fixture has problems to report")
			golden(t, filepath.Join("testdata", name+".stderr"), []byte(strings.ReplaceAll(r.Stderr, tmp, "$TMP")))
			if wantCode == 0 {
				require.Regexp(t, `^\d+ rules in 1 files: valid\n$`, r.Stdout)
			} else {
				require.Empty(t, r.Stdout)
			}
			src, err := os.ReadFile(path)
			require.NoError(t, err)
			srcLines := strings.Split(string(src), "\n")
			for _, l := range lines(r.Stderr) {
				m := diagRe.FindStringSubmatch(l)
				require.NotNil(t, m, "stderr line not in the form FILE:LINE:COL: error|warning: <item type> '<name>': <problem>: %q", l)
				require.Equal(t, path, m[1], "%q", l)
				line, _ := strconv.Atoi(m[2])
				col, _ := strconv.Atoi(m[3])
				require.True(t, line >= 1 && line <= len(srcLines), "%q: line out of the file", l)
				require.True(t, col >= 1 && col <= len(srcLines[line-1])+1, "%q: column out of the line", l)
				checkPointsAt(t, l, m[7], srcLines[line-1][col-1:])
			}

			rj := vigil(t, "rules", "validate", "--json", "-r", path)
			require.Equal(t, wantCode, rj.Code, "stderr:\n%s", rj.Stderr)
			require.Empty(t, rj.Stderr, "--json prints the diagnostics on stdout only")
			v := parseValidateJSON(t, rj.Stdout)
			require.Equal(t, wantCode == 0, v.Valid)
			var fromJSON []string
			for _, d := range append(v.Errors, v.Warnings...) {
				fromJSON = append(fromJSON, d.String())
			}
			require.ElementsMatch(t, lines(r.Stderr), fromJSON, "--json and text list different diagnostics")
		})
	}
}

// quotedRe finds the first quoted name of a diagnostic's message.
var quotedRe = regexp.MustCompile(`(?:field|macro) '([^']+)'`)

// checkPointsAt checks that a diagnostic about a field or macro of a
// condition points at that name in the source.
func checkPointsAt(t *testing.T, diag, msg, at string) {
	t.Helper()
	m := quotedRe.FindStringSubmatch(msg)
	if m == nil || strings.Contains(msg, "loop") || strings.HasPrefix(msg, "exception ") {
		return
	}
	require.True(t, strings.HasPrefix(at, m[1]), "%q does not point at %s in the source, but at %q", diag, m[1], at)
}

func TestValidateDirectory(t *testing.T) {
	dir := t.TempDir()
	// Name order is load order: 20- appends to what 10- defines.
	files := map[string]string{
		"10-base.yaml": `
- list: e2e_trusted_users
  items: [alice]
- rule: Secret read by untrusted user
  desc: A user outside e2e_trusted_users read a Secret
  condition: ka.target.resource = secrets and ka.verb = get and not ka.user.name in (e2e_trusted_users)
  output: "Secret read (user=%ka.user.name secret=%ka.target.name)"
  priority: WARNING
  source: k8s_audit
`,
		"20-local.yml": `
- list: e2e_trusted_users
  items: [bob]
  override:
    items: append
- rule: Secret read by untrusted user
  priority: ERROR
  override:
    priority: replace
`,
		"README.txt":       "not rules: - rule: [\n",
		"sub/99-bad.yaml":  "- rule: [\n",
		"30-extra.yaml.gz": "\x1f\x8b garbage",
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	r := vigil(t, "rules", "validate", "-r", dir)
	require.Equal(t, 0, r.Code, "stderr:\n%s", r.Stderr)
	require.Empty(t, r.Stderr)
	require.Equal(t, "1 rules in 2 files: valid\n", r.Stdout)

	// A bad file in the directory is named with its path.
	bad := filepath.Join(dir, "15-bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("- macro: m\n  condition: ka.verb = get and nosuch\n"+
		"- rule: Secret read by untrusted user\n  condition: and m\n  append: true\n"), 0o644))
	r = vigil(t, "rules", "validate", "-r", dir)
	require.Equal(t, 1, r.Code)
	require.Equal(t, bad+":2:32: error: macro 'm': undefined macro 'nosuch'\n", r.Stderr)

	// A directory and a file mix, in the order given.
	require.NoError(t, os.Remove(bad))
	extra := filepath.Join(t.TempDir(), "extra.yaml")
	require.NoError(t, os.WriteFile(extra, []byte("- list: e2e_trusted_users\n  items: [carol]\n  append: true\n"), 0o644))
	r = vigil(t, "rules", "validate", "-r", dir, "-r", extra)
	require.Equal(t, 0, r.Code, "stderr:\n%s", r.Stderr)
	require.Equal(t, "1 rules in 3 files: valid\n", r.Stdout)
	r = vigil(t, "rules", "validate", "-r", extra, "-r", dir)
	require.Equal(t, 1, r.Code, "appending before the list is defined must fail")
	require.Equal(t, extra+":1:3: error: list 'e2e_trusted_users': append to undefined list\n", r.Stderr)
}

func TestValidateUsageErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"missing file", []string{"-r", missing},
			1, "vigil: read rules " + missing + ": stat " + missing + ": no such file or directory\n"},
		{"missing file among good ones", []string{"-r", "testdata/warnings.good.yaml", "-r", missing},
			1, "vigil: read rules " + missing + ": stat " + missing + ": no such file or directory\n"},
		{"missing file as argument", []string{missing},
			1, "vigil: read rules " + missing + ": stat " + missing + ": no such file or directory\n"},
		{"no file", nil,
			2, "vigil: rules validate: give at least one rules file with -r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := vigil(t, append([]string{"rules", "validate"}, tc.args...)...)
			require.Equal(t, tc.code, r.Code)
			require.Equal(t, tc.stderr, r.Stderr)
			require.Empty(t, r.Stdout)
		})
	}
}

// TestValidateHostileInput feeds validate inputs meant to break a parser:
// each must end with exit 0 or 1, diagnostics in the contract's form, and
// no panic or stack trace.
func TestValidateHostileInput(t *testing.T) {
	rule := func(cond string) string {
		return "- rule: r\n  desc: d\n  output: x\n  priority: INFO\n  source: k8s_audit\n  condition: " + cond + "\n"
	}
	laughs := `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` + "\n"
	prev := "a"
	for _, c := range "bcdefghi" {
		laughs += fmt.Sprintf("%c: &%c [%s]\n", c, c, strings.TrimSuffix(strings.Repeat("*"+prev+",", 9), ","))
		prev = string(c)
	}
	cases := map[string]string{
		"empty":            "",
		"binary":           "\x00\x01\x02\xff\xfe\x7f{[\"\n\x00",
		"invalid utf8":     "- rule: \xff\xfe\n  desc: \xc3\n",
		"scalar":           "hello",
		"mapping":          "rule: x\ncondition: y\n",
		"wrong types":      "- rule: [a]\n- macro: {x: y}\n- list: 3\n  items: {a: b}\n-\n- 42\n- rule: r\n  condition: {a: b}\n  output: [x]\n  desc: [d]\n  priority: [INFO]\n  tags: {a: b}\n  enabled: maybe\n  exceptions: 3\n",
		"aliases":          "- list: &l x\n  items: [a]\n- list: *l\n  items: *l\n- rule: *l\n",
		"billion laughs":   laughs,
		"deep yaml":        strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "\n",
		"deep parens":      rule(strings.Repeat("(", 100000) + "ka.verb = get" + strings.Repeat(")", 100000)),
		"deep not":         rule(strings.Repeat("not ", 100000) + "ka.verb = get"),
		"unbalanced":       rule(strings.Repeat("(", 1000) + "ka.verb = get"),
		"long list":        rule("ka.verb in (" + strings.Repeat("v,", 200000) + "v)"),
		"bad strings":      rule(`ka.verb = "unterminated and jevt.value[ = x and b64(ka.verb) = \xZZ`),
		"bad transformers": rule("len(len(ka.verb)) = 1 and tolower(evt.num) = x and val(ka.nosuch) = x and ka.verb = val("),
		"bad output":       "- rule: r\n  desc: d\n  priority: INFO\n  source: k8s_audit\n  condition: ka.verb = get\n  output: \"%ka.verb %%% %[ %jevt.value[/x %ka.req.pod.containers.image[\"\n",
		"bad overrides":    "- rule: r\n  override: {condition: sideways, nosuch: append}\n  append: true\n- macro: m\n  override: 3\n",
		"many documents":   "- list: a\n  items: [x]\n---\n- list: a\n  items: [y]\n  append: true\n---\nfoo\n---\n",
		"engine version":   "- required_engine_version: 99.0.0\n- required_engine_version: [1]\n- required_plugin_versions: 3\n",
		"long line":        "- list: l\n  items: [" + strings.Repeat("x", 1<<20) + "]\n",
	}
	dir := t.TempDir()
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
			require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
			for _, args := range [][]string{{"rules", "validate", "-r", p}, {"rules", "validate", "--json", "-r", p}} {
				r := vigil(t, args...)
				require.Contains(t, []int{0, 1}, r.Code, "stderr:\n%s", tail(r.Stderr))
				if args[2] == "--json" {
					parseValidateJSON(t, r.Stdout)
					continue
				}
				for _, l := range lines(r.Stderr) {
					require.Regexp(t, diagRe, l)
				}
			}
		})
	}
}
