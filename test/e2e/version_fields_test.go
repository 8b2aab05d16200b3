package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/testutil"
)

func TestVersion(t *testing.T) {
	r := vigil(t, "version")
	require.Equal(t, 0, r.Code, "stderr: %s", r.Stderr)
	require.Equal(t, "vigil "+testVersion+" ("+testCommit+")\n", r.Stdout)
	require.Empty(t, r.Stderr)
}

// fieldJSON is one entry of `vigil fields --json`.
type fieldJSON struct {
	Source      string `json:"source"`
	Name        string `json:"name"`
	Type        string `json:"type"`
	List        bool   `json:"list"`
	Arg         string `json:"arg"`
	ArgRequired bool   `json:"arg_required"`
	Desc        string `json:"desc"`
	Deprecated  bool   `json:"deprecated"`
}

func fieldsJSON(t *testing.T, args ...string) []fieldJSON {
	t.Helper()
	r := vigil(t, append([]string{"fields", "--json"}, args...)...)
	require.Equal(t, 0, r.Code, "stderr: %s", r.Stderr)
	dec := json.NewDecoder(strings.NewReader(r.Stdout))
	dec.DisallowUnknownFields()
	var fs []fieldJSON
	require.NoError(t, dec.Decode(&fs), "fields --json output:\n%s", tail(r.Stdout))
	require.False(t, dec.More(), "trailing data after the JSON array")
	for _, f := range fs {
		require.NotEmpty(t, f.Name)
		require.NotEmpty(t, f.Type, "field %s", f.Name)
		require.NotEmpty(t, f.Desc, "field %s", f.Name)
		require.Contains(t, []string{"", "index", "key"}, f.Arg, "field %s", f.Name)
		if f.ArgRequired {
			require.NotEmpty(t, f.Arg, "field %s requires an argument of no kind", f.Name)
		}
	}
	return fs
}

// textFields parses the table of `vigil fields`: field names per source.
func textFields(t *testing.T, out string) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	src := ""
	for i, l := range lines(out) {
		switch {
		case strings.HasPrefix(l, "Source "):
			src = strings.TrimPrefix(l, "Source ")
		case l == "" || strings.HasPrefix(l, "FIELD "):
		default:
			require.NotEmpty(t, src, "line %d before any Source header: %q", i+1, l)
			cols := strings.Fields(l)
			require.GreaterOrEqual(t, len(cols), 4, "line %d: %q", i+1, l)
			got[src] = append(got[src], cols[0])
		}
	}
	return got
}

func namesOf(fs []fieldJSON, source string) []string {
	var out []string
	for _, f := range fs {
		if f.Source == source {
			out = append(out, f.Name)
		}
	}
	return out
}

func TestFields(t *testing.T) {
	all := fieldsJSON(t)
	k8s := fieldsJSON(t, "--source", "k8s_audit")
	sys := fieldsJSON(t, "--source", "syscall")
	require.Equal(t, namesOf(all, "k8s_audit"), namesOf(k8s, "k8s_audit"))
	require.Equal(t, namesOf(all, "syscall"), namesOf(sys, "syscall"))
	require.Len(t, all, len(k8s)+len(sys), "fields of sources other than syscall and k8s_audit")
	require.Len(t, namesOf(k8s, "k8s_audit"), len(k8s), "--source k8s_audit lists another source")
	require.Len(t, namesOf(sys, "syscall"), len(sys), "--source syscall lists another source")
	require.Contains(t, namesOf(k8s, "k8s_audit"), "ka.verb")
	require.NotContains(t, namesOf(k8s, "k8s_audit"), "proc.name")
	require.Contains(t, namesOf(sys, "syscall"), "proc.name")
	require.NotContains(t, namesOf(sys, "syscall"), "ka.verb")

	t.Run("text", func(t *testing.T) {
		for _, tc := range []struct {
			args    []string
			sources []string
		}{
			{nil, []string{"syscall", "k8s_audit"}},
			{[]string{"--source", "k8s_audit"}, []string{"k8s_audit"}},
			{[]string{"--source", "syscall"}, []string{"syscall"}},
		} {
			r := vigil(t, append([]string{"fields"}, tc.args...)...)
			require.Equal(t, 0, r.Code, "stderr: %s", r.Stderr)
			require.Empty(t, r.Stderr)
			got := textFields(t, r.Stdout)
			require.Len(t, got, len(tc.sources), "sources of fields %v", tc.args)
			for _, s := range tc.sources {
				require.Equal(t, namesOf(all, s), got[s], "fields %v: text and JSON list different %s fields", tc.args, s)
			}
		}
	})

	t.Run("unknown source", func(t *testing.T) {
		for _, args := range [][]string{{"--source", "okta"}, {"--source", "okta", "--json"}} {
			r := vigil(t, append([]string{"fields"}, args...)...)
			require.Equal(t, 2, r.Code, "fields %v", args)
			require.Empty(t, r.Stdout)
			require.Equal(t, "vigil: unknown source \"okta\" (known: syscall, k8s_audit)\n", r.Stderr)
		}
	})

	// Every ka.* and jevt.* field Falco's k8s audit rules use is listed.
	t.Run("covers upstream k8s audit rules", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(testutil.SharedData(t, "falco/k8saudit"), "k8s_audit_rules.yaml"))
		require.NoError(t, err)
		known := map[string]bool{}
		for _, n := range namesOf(k8s, "k8s_audit") {
			known[n] = true
		}
		used := map[string]bool{}
		for _, m := range regexp.MustCompile(`\b(?:ka|jevt)\.[a-zA-Z0-9_.]*[a-zA-Z0-9_]`).FindAllString(string(data), -1) {
			used[m] = true
		}
		require.Greater(t, len(used), 20, "the regexp finds the fields of the rules file")
		for f := range used {
			require.True(t, known[f], "field %s used by k8s_audit_rules.yaml is not listed by vigil fields --source k8s_audit", f)
		}
	})
}
