package k8saudit_test

import (
	"path/filepath"

	"github.com/vigilsec/vigil/internal/testutil"

	"bytes"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/vigilsec/vigil/internal/event"
	"github.com/vigilsec/vigil/internal/k8saudit"
	"github.com/vigilsec/vigil/internal/rules"
)

// loadFalcoRules loads Falco's k8s_audit_rules.yaml with the k8s_audit
// source, from the shared data set.
func loadFalcoRules(tb testing.TB) *rules.Ruleset {
	tb.Helper()
	falcoRules := filepath.Join(testutil.SharedData(tb, "falco/k8saudit"), "k8s_audit_rules.yaml")
	data, err := os.ReadFile(falcoRules)
	if err != nil {
		tb.Fatal(err)
	}
	rs, diags := rules.Load([]rules.File{{Name: falcoRules, Data: data}}, rules.Options{Sources: []event.Source{k8saudit.NewSource()}})
	if errs := diags.Errors(); len(errs) > 0 {
		var b strings.Builder
		for _, d := range errs {
			b.WriteString(d.String() + "\n")
		}
		tb.Fatalf("load %s:\n%s", falcoRules, b.String())
	}
	return rs
}

// podCreateLines returns n JSON lines, pod create audit events.
func podCreateLines(tb testing.TB, n int) []byte {
	tb.Helper()
	data, err := os.ReadFile("testdata/pod_create.json")
	if err != nil {
		tb.Fatal(err)
	}
	var line bytes.Buffer
	if err := json.Compact(&line, data); err != nil {
		tb.Fatal(err)
	}
	line.WriteByte('\n')
	return bytes.Repeat(line.Bytes(), n)
}

// BenchmarkReaderRules reads pod create audit events, one JSON line each,
// and evaluates Falco's whole k8s_audit_rules.yaml on each: the end-to-end
// cost of one event on one core.
func BenchmarkReaderRules(b *testing.B) {
	rs := loadFalcoRules(b)
	const n = 10000
	data := podCreateLines(b, n)
	ev := new(k8saudit.Event)
	eval := rs.NewEvaluator()
	r := k8saudit.NewReader(bytes.NewReader(data), "bench")
	matched := 0
	b.ReportAllocs()
	b.SetBytes(int64(len(data) / n))
	for b.Loop() {
		err := r.Next(ev)
		if err == io.EOF {
			r = k8saudit.NewReader(bytes.NewReader(data), "bench")
			err = r.Next(ev)
		}
		if err != nil {
			b.Fatal(err)
		}
		matched += len(eval.Match(ev))
	}
	if matched == 0 {
		b.Fatal("no rule matched the privileged pod")
	}
}

// TestFalcoRulesMatchPodCreate checks that Falco's rules, evaluated on the
// pod create fixture, fire the rules its content calls for.
func TestFalcoRulesMatchPodCreate(t *testing.T) {
	rs := loadFalcoRules(t)
	r := k8saudit.NewReader(bytes.NewReader(podCreateLines(t, 1)), "pod_create")
	ev := new(k8saudit.Event)
	if err := r.Next(ev); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, rule := range rs.NewEvaluator().Match(ev) {
		names = append(names, rule.Name)
	}
	for _, want := range []string{"Create Privileged Pod", "Create Sensitive Mount Pod", "Create HostNetwork Pod"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("rule %q did not fire; fired: %q", want, names)
		}
	}
}
