package rules

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/event"
)

func load(t *testing.T, files ...string) (*Ruleset, Diagnostics) {
	t.Helper()
	var fs []File
	for i, f := range files {
		fs = append(fs, File{Name: "f" + string(rune('0'+i)) + ".yaml", Data: []byte(f)})
	}
	return Load(fs, Options{Sources: []event.Source{testSource{}}})
}

func ruleWith(cond string) string {
	return "- rule: r\n  desc: d\n  condition: " + cond + "\n  output: o\n  priority: WARNING\n  source: test\n"
}

func matchNames(rs *Ruleset, e event.Event) []string {
	var out []string
	for _, r := range rs.NewEvaluator().Match(e) {
		out = append(out, r.Name)
	}
	return out
}

func TestConditions(t *testing.T) {
	tests := []struct {
		cond string
		ev   *testEvent
		want bool
	}{
		{`t.str = bash`, ev("open", "t.str=bash"), true},
		{`t.str == bash`, ev("open", "t.str=bash"), true},
		{`t.str = bash`, ev("open", "t.str=sh"), false},
		{`t.str != bash`, ev("open", "t.str=sh"), true},
		{`t.str != bash`, ev("open"), false}, // missing field: false
		{`not t.str = bash`, ev("open"), true},
		{`t.str = "with space"`, ev("open", "t.str=with space"), true},
		{`t.str = 'single'`, ev("open", "t.str=single"), true},
		{`t.str contains ash`, ev("open", "t.str=bash"), true},
		{`t.str icontains ASH`, ev("open", "t.str=BaSh"), true},
		{`t.str icontains xyz`, ev("open", "t.str=BaSh"), false},
		{`t.str startswith /tmp/`, ev("open", "t.str=/tmp/x"), true},
		{`t.str endswith .sh`, ev("open", "t.str=/tmp/x.sh"), true},
		{`t.str endswith .sh`, ev("open", "t.str=/tmp/x.py"), false},
		{`t.str glob "/etc/*.conf"`, ev("open", "t.str=/etc/a/b.conf"), true},
		{`t.str glob "/etc/?.con[a-f]"`, ev("open", "t.str=/etc/a.conf"), true},
		{`t.str glob "/etc/[!a]*"`, ev("open", "t.str=/etc/abc"), false},
		{`t.str in (a, b, "c d")`, ev("open", "t.str=c d"), true},
		{`t.str in (a, b)`, ev("open", "t.str=x"), false},
		{`t.str in (a,b,c,d,e,f,g,h,i,j,k)`, ev("open", "t.str=k"), true},
		{`t.str in ()`, ev("open", "t.str=k"), false},
		{`t.path pmatch (/etc, /usr/lib/)`, ev("open", "t.path=/etc/passwd"), true},
		{`t.path pmatch (/etc, /usr/lib/)`, ev("open", "t.path=/usr/lib"), true},
		{`t.path pmatch (/etc)`, ev("open", "t.path=/etcetera"), false},
		{`t.str regex "^ba.h$"`, ev("open", "t.str=bash"), true},
		{`t.str regex "^ba.h$"`, ev("open", "t.str=bashx"), false},
		{`t.str bcontains 6173`, ev("open", "t.str=bash"), true},
		{`t.str bstartswith 6261`, ev("open", "t.str=bash"), true},
		{`t.str exists`, ev("open", "t.str=x"), true},
		{`t.str exists`, ev("open"), false},
		{`t.num = 5`, ev("open", "t.num=5"), true},
		{`t.num > 4 and t.num <= 5`, ev("open", "t.num=5"), true},
		{`t.num >= 6`, ev("open", "t.num=5"), false},
		{`t.num in (1, 5, 9)`, ev("open", "t.num=5"), true},
		{`t.int < 0`, ev("open", "t.int=-2"), true},
		{`t.int > -3`, ev("open", "t.int=-2"), true},
		{`t.bool = true`, ev("open", "t.bool=true"), true},
		{`t.ip = 10.1.2.3`, ev("open", "t.ip=10.1.2.3"), true},
		{`t.ip in (192.168.0.0/16, 10.0.0.0/8)`, ev("open", "t.ip=10.1.2.3"), true},
		{`t.ip != 10.0.0.0/8`, ev("open", "t.ip=11.1.2.3"), true},
		{`t.list in (a, b)`, ev("open", "t.list=a", "t.list=b"), true},
		{`t.list in (a, b)`, ev("open", "t.list=a", "t.list=c"), false},
		{`t.list intersects (b, z)`, ev("open", "t.list=a", "t.list=b"), true},
		{`t.list intersects (y, z)`, ev("open", "t.list=a", "t.list=b"), false},
		{`t.str intersects (y, z)`, ev("open", "t.str=z"), true}, // single value: as in
		{`t.list = b`, ev("open", "t.list=a", "t.list=b"), true},
		{`t.list != b`, ev("open", "t.list=a", "t.list=b"), false},
		// A non-list field with several values (proc.aname without index).
		{`t.str = b`, ev("open", "t.str=a", "t.str=b"), true},
		{`t.str in (b, c)`, ev("open", "t.str=a", "t.str=b"), true},
		{`t.str != a`, ev("open", "t.str=a", "t.str=b"), false},
		{`t.arg[key] = v`, ev("open", "t.arg[key]=v"), true},
		{`t.arg[other] = v`, ev("open", "t.arg[key]=v"), false},
		{`t.idx[2] = v`, ev("open", "t.idx[2]=v"), true},
		{`tolower(t.str) = bash`, ev("open", "t.str=BaSh"), true},
		{`toupper(t.str) = BASH`, ev("open", "t.str=bash"), true},
		{`basename(t.str) = sh`, ev("open", "t.str=/bin/sh"), true},
		{`tolower(basename(t.str)) = sh`, ev("open", "t.str=/BIN/SH"), true},
		{`b64(t.str) = hello`, ev("open", "t.str=aGVsbG8="), true},
		{`b64(t.str) exists`, ev("open", "t.str=!!notb64"), false},
		{`len(t.str) = 4`, ev("open", "t.str=bash"), true},
		{`len(t.list) > 1`, ev("open", "t.list=a", "t.list=b"), true},
		{`t.str = val(t.other)`, ev("open", "t.str=x", "t.other=x"), true},
		{`t.str = val(t.other)`, ev("open", "t.str=x", "t.other=y"), false},
		{`t.str startswith val(t.other)`, ev("open", "t.str=xyz", "t.other=xy"), true},
		{`t.str = a or t.str = b and t.num = 1`, ev("open", "t.str=a", "t.num=2"), true},
		{`(t.str = a or t.str = b) and t.num = 1`, ev("open", "t.str=a", "t.num=2"), false},
		{`not not t.str = a`, ev("open", "t.str=a"), true},
		{`evt.type = open and t.str = a`, ev("open", "t.str=a"), true},
		{`evt.type = open and t.str = a`, ev("execve", "t.str=a"), false},
		{`evt.type in (open, openat) or t.str = z`, ev("execve", "t.str=z"), true},
		{`evt.type != open`, ev("execve"), true},
		{`evt.type != open`, ev("open"), false},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			rs, diags := load(t, ruleWith(tt.cond))
			require.False(t, diags.HasErrors(), "%v", diags)
			got := len(matchNames(rs, tt.ev)) == 1
			require.Equal(t, tt.want, got)
		})
	}
}

func TestMacrosListsAppendOverride(t *testing.T) {
	base := `
- list: shells
  items: [bash, sh]
- list: all_shells
  items: [shells, zsh]
- macro: is_shell
  condition: t.str in (all_shells)
- rule: Shell
  desc: a shell
  condition: evt.type = execve and is_shell
  output: "shell %t.str (%t.num)"
  priority: notice
  tags: [a]
  source: test
`
	user := `
- list: shells
  items: [fish]
  override:
    items: append
- macro: is_shell
  condition: or t.str = csh
  append: true
- rule: Shell
  condition: and t.num != 7
  override:
    condition: append
- rule: Shell
  tags: [b]
  override:
    tags: append
`
	rs, diags := load(t, base, user)
	require.False(t, diags.HasErrors(), "%v", diags)
	r := rs.Rules()[0]
	require.Equal(t, []string{"a", "b"}, r.Tags)
	require.Equal(t, Notice, r.Priority)
	for _, tc := range []struct {
		ev   *testEvent
		want bool
	}{
		{ev("execve", "t.str=zsh", "t.num=1"), true},
		{ev("execve", "t.str=fish", "t.num=1"), true},
		{ev("execve", "t.str=csh", "t.num=1"), true},
		{ev("execve", "t.str=csh"), false}, // t.num missing: != is false
		{ev("execve", "t.str=bash", "t.num=7"), false},
		{ev("open", "t.str=bash"), false},
		{ev("execve", "t.str=python"), false},
	} {
		require.Equal(t, tc.want, len(matchNames(rs, tc.ev)) == 1, "%v", tc.ev.fields)
	}

	// Replace and disable in a later file.
	rs, diags = load(t, base, `
- rule: Shell
  condition: evt.type = execve and t.str = python
  override:
    condition: replace
`, `
- rule: Shell
  enabled: false
`)
	require.False(t, diags.HasErrors(), "%v", diags)
	require.Empty(t, matchNames(rs, ev("execve", "t.str=python")))
	require.Empty(t, rs.Enabled("test"))
}

func TestExceptions(t *testing.T) {
	rs, diags := load(t, `
- list: trusted
  items: [ok1, ok2]
- rule: R
  desc: d
  condition: evt.type = open
  output: o
  priority: error
  source: test
  exceptions:
    - name: by_pair
      fields: [t.str, t.num]
      comps: [=, ">"]
      values:
        - [safe, 10]
    - name: by_name
      fields: t.str
      values: [trusted, alsosafe]
    - name: by_prefix
      fields: [t.path]
      comps: [startswith]
      values: [[/opt/]]
- rule: R
  exceptions:
    - name: by_pair
      values:
        - [other, 0]
  append: true
`)
	require.False(t, diags.HasErrors(), "%v", diags)
	for _, tc := range []struct {
		ev   *testEvent
		want bool
	}{
		{ev("open", "t.str=x"), true},
		{ev("open", "t.str=safe", "t.num=11"), false},
		{ev("open", "t.str=safe", "t.num=5"), true},
		{ev("open", "t.str=ok2"), false},
		{ev("open", "t.str=alsosafe"), false},
		{ev("open", "t.path=/opt/app"), false},
		{ev("open", "t.str=other", "t.num=1"), false},
	} {
		require.Equal(t, tc.want, len(matchNames(rs, tc.ev)) == 1, "%v", tc.ev.fields)
	}
}

func TestDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string // substrings of the diagnostics, in order
	}{
		{"yaml syntax", "- rule: x\n  condition: a\n - b: c\n", []string{"f0.yaml:2:1: error: file 'f0.yaml': invalid YAML"}},
		{"not a list", "rule: x\n", []string{"f0.yaml:1:1: error: file 'f0.yaml': rules content must be a list"}},
		{"unknown field", ruleWith("t.nope = 1"), []string{"f0.yaml:3:14: error: rule 'r': unknown field 't.nope' for source test"}},
		{"undefined macro", ruleWith("t.str = a and nomacro"), []string{"f0.yaml:3:28: error: rule 'r': undefined macro 'nomacro'"}},
		{"bad operator for type", ruleWith("t.num contains 1"), []string{"error: rule 'r': operator 'contains' is not supported for field 't.num' of type uint64"}},
		{"bad number", ruleWith("t.num = abc"), []string{`error: rule 'r': field 't.num' is uint64: "abc" is not a number`}},
		{"unknown operator", ruleWith("t.str like x"), []string{`rule 'r': unknown operator "like" after field t.str`}},
		{"unbalanced", ruleWith("(t.str = a"), []string{`rule 'r': missing ')'`}},
		{"unknown priority", "- rule: r\n  desc: d\n  condition: t.str = a\n  output: o\n  priority: LOUD\n  source: test\n", []string{`f0.yaml:5:13: error: rule 'r': unknown priority "LOUD"`}},
		{"missing key", "- rule: r\n  desc: d\n  condition: t.str = a\n  priority: info\n  source: test\n", []string{"f0.yaml:1:3: error: rule 'r': missing required key 'output'"}},
		{"append undefined", "- list: l\n  items: [a]\n  append: true\n", []string{"f0.yaml:1:3: error: list 'l': append to undefined list"}},
		{"override undefined", "- macro: m\n  condition: x.y = 1\n  override:\n    condition: append\n", []string{"error: macro 'm': append to undefined macro"}},
		{"macro loop", "- macro: a\n  condition: b\n- macro: b\n  condition: a\n" + ruleWith("a"), []string{"macro 'a': macro references form a loop: a -> b -> a"}},
		{"list loop", "- list: a\n  items: [b]\n- list: b\n  items: [a]\n" + ruleWith("t.str in (a)"), []string{"list 'a': list references form a loop: a -> b -> a"}},
		{"bad regex", ruleWith(`t.str regex "a("`), []string{"invalid regular expression"}},
		{"engine version", "- required_engine_version: 999\n", []string{"f0.yaml:1:28: error: required_engine_version '999': rules require engine version 999"}},
		{"macro syntax", "- macro: m\n  condition: t.str = = a\n", []string{"f0.yaml:2:24: error: macro 'm': unexpected \"a\" after end of expression"}},
		{"argument", ruleWith("t.arg = 1"), []string{"field 't.arg': field t.arg requires an argument, as in t.arg[KEY]"}},
		{"exception arity", "- rule: r\n  desc: d\n  condition: t.str = a\n  output: o\n  priority: info\n  source: test\n  exceptions:\n   - name: e\n     fields: [t.str, t.num]\n     values: [[a]]\n", []string{"exception e: each value must be a list of 2 items"}},
		{"condition and output both reported", "- rule: r\n  desc: d\n  condition: t.nope = 1\n  output: \"x %t.str %t.zzz\"\n  priority: info\n  source: test\n",
			[]string{"f0.yaml:3:14: error: rule 'r': unknown field 't.nope'", "f0.yaml:4:22: error: rule 'r': output: unknown field 't.zzz' for source test"}},
		{"unknown key warns", "- list: l\n  items: [a]\n  colour: red\n", []string{"f0.yaml:3:3: warning: list 'l': unknown key \"colour\" ignored"}},
		{"every error reported", ruleWith("t.nope = 1") + "- rule: r2\n  desc: d\n  condition: t.str = a and x.y = 1\n  output: o\n  priority: bad\n  source: test\n",
			[]string{"rule 'r': unknown field 't.nope'", "rule 'r2': unknown priority"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := load(t, tt.file)
			var lines []string
			for _, d := range diags {
				lines = append(lines, d.String())
			}
			all := strings.Join(lines, "\n")
			for _, w := range tt.want {
				require.Contains(t, all, w)
			}
		})
	}
}

func TestEventTypeIndex(t *testing.T) {
	rs, diags := load(t,
		strings.Replace(ruleWith("evt.type in (open, openat) and t.str = a"), "rule: r", "rule: files", 1),
		strings.Replace(ruleWith("not evt.type = execve and t.str = a"), "rule: r", "rule: notexec", 1),
		strings.Replace(ruleWith("t.str = a"), "rule: r", "rule: any", 1),
	)
	require.False(t, diags.HasErrors(), "%v", diags)
	require.Contains(t, diags.Warnings()[0].String(), "rule 'any': rule matches all event types")
	require.Equal(t, []string{"files", "notexec", "any"}, matchNames(rs, ev("open", "t.str=a")))
	require.Equal(t, []string{"any"}, matchNames(rs, ev("execve", "t.str=a")))
	require.Equal(t, []string{"notexec", "any"}, matchNames(rs, ev("connect", "t.str=a")))
	require.Equal(t, []int{0, 1, 2, 3, 4}, rs.EventTypes("test"))
}

func TestRender(t *testing.T) {
	rs, diags := load(t, ruleWith(`t.str = a`)+"  \n- rule: r\n  output: \"s=%t.str n=%t.num l=%t.list arg=%t.arg[k] missing=%t.other by %t.str.\"\n  override:\n    output: replace\n")
	require.False(t, diags.HasErrors(), "%v", diags)
	e := ev("open", "t.str=a", "t.num=3", "t.list=x", "t.list=y", "t.arg[k]=v")
	evl := rs.NewEvaluator()
	m := evl.Match(e)
	require.Len(t, m, 1)
	out, fields := evl.Render(m[0], e)
	require.Equal(t, "s=a n=3 l=(x,y) arg=v missing=<NA> by a.", out)
	require.Equal(t, map[string]any{"t.str": "a", "t.num": uint64(3), "t.list": "(x,y)", "t.arg[k]": "v", "t.other": nil}, fields)
}

func TestMatchDoesNotAllocate(t *testing.T) {
	rs, diags := load(t, ruleWith(`evt.type in (open, openat) and (tolower(t.str) icontains BASH or t.list intersects (a,b) or t.path pmatch (/etc)) and not t.str in (x,y,z,a1,a2,a3,a4,a5,a6,a7)`))
	require.False(t, diags.HasErrors(), "%v", diags)
	evl := rs.NewEvaluator()
	e := ev("open", "t.str=/bin/BASH", "t.list=b", "t.path=/etc/x")
	require.Len(t, evl.Match(e), 1)
	allocs := testing.AllocsPerRun(1000, func() { evl.Match(e) })
	require.Zero(t, allocs)
}

func TestGlob(t *testing.T) {
	for _, tt := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"*", "a/b", true}, {"a*c", "abbbc", true}, {"a*c", "abbbd", false},
		{"?", "", false}, {"a?c", "abc", true}, {"[abc]x", "bx", true}, {"[^abc]x", "bx", false},
		{`\*`, "*", true}, {`\*`, "a", false}, {"/etc/*/*.conf", "/etc/a/b.conf", true},
		{"[a-", "[a-", true}, {"*.sh", "x.sh.bak", false},
	} {
		require.Equal(t, tt.want, globMatch(tt.p, tt.s), "%q ~ %q", tt.p, tt.s)
	}
}

func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{"a.b = c", "not (a.b in (x, y)) and m", "tolower(a.b) = val(c.d)", "a.b[x] exists or (", `a.b = "x\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseCondition(s)
		_, _ = Load([]File{{Name: "f", Data: []byte(ruleWith(s))}}, Options{Sources: []event.Source{testSource{}}})
	})
}

// Macro results are memoized per event: one Evaluator over events whose
// macro results differ must not reuse an earlier event's result.
func TestMacroMemoPerEvent(t *testing.T) {
	rs, diags := load(t, `
- macro: is_a
  condition: t.str = a
- rule: R1
  desc: d
  condition: evt.type = open and is_a
  output: o
  priority: info
  source: test
- rule: R2
  desc: d
  condition: evt.type = open and not is_a and t.num = 1
  output: o
  priority: info
  source: test
`)
	require.False(t, diags.HasErrors(), "%v", diags)
	evl := rs.NewEvaluator()
	names := func(e *testEvent) []string {
		var out []string
		for _, r := range evl.Match(e) {
			out = append(out, r.Name)
		}
		return out
	}
	for i := 0; i < 3; i++ {
		require.Equal(t, []string{"R1"}, names(ev("open", "t.str=a", "t.num=1")))
		require.Equal(t, []string{"R2"}, names(ev("open", "t.str=b", "t.num=1")))
		require.Empty(t, names(ev("open", "t.str=b", "t.num=2")))
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(ruleWith("t.str = a")))
	f.Add([]byte("- list: l\n  items: [a, l]\n- macro: m\n  condition: t.str in (l)\n  override:\n    condition: append\n"))
	f.Add([]byte("- rule: r\n  exceptions:\n  - name: e\n    fields: [t.str]\n    values: [[a], b]\n  append: true\n"))
	f.Add([]byte("- required_engine_version: 0.1.x\n- required_plugin_versions: [{name: x}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, _ := Load([]File{{Name: "f", Data: data}}, Options{Sources: []event.Source{testSource{}}})
		evl := rs.NewEvaluator()
		e := ev("open", "t.str=a", "t.num=1", "t.list=a")
		for _, r := range evl.Match(e) {
			evl.Render(r, e)
		}
	})
}
