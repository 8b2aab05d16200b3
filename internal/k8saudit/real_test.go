package k8saudit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// realCaptures holds audit events captured from a real kube-apiserver by
// test/k8s/capture.sh, one JSON line each.
const realCaptures = "../../ruleset/testdata/real"

// jsonText renders v, decoded by encoding/json with UseNumber, as Falco's
// plugins render a value: strings as is, anything else as JSON.
func jsonText(t *testing.T, v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// lookup follows keys through v.
func lookup(v any, keys ...string) (any, bool) {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// TestRealCaptures reads every real capture with Reader and checks fields
// against encoding/json's reading of the same lines.
func TestRealCaptures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(realCaptures, "*.jsonl"))
	require.NoError(t, err)
	if len(files) == 0 {
		t.Skipf("no real captures in %s", realCaptures)
	}
	scalar := map[string][]string{
		"ka.auditid":              {"auditID"},
		"ka.stage":                {"stage"},
		"ka.verb":                 {"verb"},
		"ka.uri":                  {"requestURI"},
		"ka.user.name":            {"user", "username"},
		"ka.impuser.name":         {"impersonatedUser", "username"},
		"ka.target.name":          {"objectRef", "name"},
		"ka.target.namespace":     {"objectRef", "namespace"},
		"ka.target.resource":      {"objectRef", "resource"},
		"ka.target.subresource":   {"objectRef", "subresource"},
		"ka.response.code":        {"responseStatus", "code"},
		"ka.response.reason":      {"responseStatus", "reason"},
		"ka.useragent":            {"userAgent"},
		"ka.auth.decision":        {"annotations", "authorization.k8s.io/decision"},
		"ka.auth.reason":          {"annotations", "authorization.k8s.io/reason"},
		"ka.resp.name":            {"responseObject", "metadata", "name"},
		"ka.req.pod.host_network": {"requestObject", "spec", "hostNetwork"},
		"ka.req.binding.role":     {"requestObject", "roleRef", "name"},
	}
	events := 0
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			var lines [][]byte
			sc := bufio.NewScanner(bytes.NewReader(data))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				if len(bytes.TrimSpace(sc.Bytes())) > 0 {
					lines = append(lines, bytes.Clone(sc.Bytes()))
				}
			}
			r := NewReader(bytes.NewReader(data), file)
			var ev Event
			for i, line := range lines {
				require.NoError(t, r.Next(&ev), "line %d", i+1)
				events++
				dec := json.NewDecoder(bytes.NewReader(line))
				dec.UseNumber()
				var want map[string]any
				require.NoError(t, dec.Decode(&want))
				for field, keys := range scalar {
					var exp []string
					if v, ok := lookup(want, keys...); ok {
						exp = []string{jsonText(t, v)}
					}
					require.Equal(t, exp, extract(t, &ev, field, "", false), "line %d: %s", i+1, field)
				}
				for _, list := range []struct {
					field string
					keys  []string
				}{{"ka.user.groups", []string{"user", "groups"}}, {"ka.sourceips", []string{"sourceIPs"}}} {
					var exp []string
					if v, ok := lookup(want, list.keys...); ok {
						for _, e := range v.([]any) {
							exp = append(exp, jsonText(t, e))
						}
					}
					require.Equal(t, exp, extract(t, &ev, list.field, "", false), "line %d: %s", i+1, list.field)
				}
				stage, _ := lookup(want, "stageTimestamp")
				tsWant, ok := parseRFC3339(stage.(string))
				require.True(t, ok)
				require.Equal(t, tsWant, ev.Timestamp())
				var compact bytes.Buffer
				require.NoError(t, json.Compact(&compact, line))
				require.Equal(t, compact.String(), string(ev.Raw()))
				extractAll(t, &ev)
			}
			require.ErrorIs(t, r.Next(&ev), io.EOF)
		})
	}
	t.Logf("%d real events in %d files", events, len(files))
}

// TestRealExecParams checks ka.uri.param on a real exec request, whose
// requestURI kube-apiserver escapes (& as \u0026).
func TestRealExecParams(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(realCaptures, "pod_exec.jsonl"))
	if err != nil {
		t.Skipf("no real capture: %v", err)
	}
	r := NewReader(bytes.NewReader(data), "pod_exec.jsonl")
	var ev Event
	require.NoError(t, r.Next(&ev))
	require.True(t, strings.Contains(string(ev.Raw()), `\u0026`), "the capture escapes '&'")
	require.Equal(t, []string{"sh"}, extract(t, &ev, "ka.uri.param", "command", true))
	require.Equal(t, []string{"shell"}, extract(t, &ev, "ka.uri.param", "container", true))
	require.Equal(t, []string{"shell"}, extract(t, &ev, "ka.target.pod.name", "", false))
	require.Equal(t, []string{"exec"}, extract(t, &ev, "ka.target.subresource", "", false))
}
