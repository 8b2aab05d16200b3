package app

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilsec/vigil/internal/event"
	"github.com/vigilsec/vigil/internal/k8saudit"
	"github.com/vigilsec/vigil/internal/rules"
	"github.com/vigilsec/vigil/internal/testutil"
	"github.com/vigilsec/vigil/ruleset"
)

// upstreamK8sRules loads Falco's upstream k8s audit rules.
func upstreamK8sRules(tb testing.TB) *rules.Ruleset {
	tb.Helper()
	dir := testutil.SharedData(tb, "falco/k8saudit")
	var files []rules.File
	for _, n := range []string{"k8s_audit_rules.yaml", "k8s_audit_rules_gke.yaml"} {
		p := filepath.Join(dir, n)
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, rules.File{Name: p, Data: data})
	}
	rs, diags := rules.Load(files, rules.Options{Sources: []event.Source{k8saudit.NewSource()}})
	if diags.HasErrors() {
		tb.Fatalf("upstream k8s audit rules: %v", diags.Errors())
	}
	if n := len(rs.Enabled(k8saudit.SourceName)); n < 40 {
		tb.Fatalf("only %d enabled upstream k8s audit rules", n)
	}
	return rs
}

// podCreate returns the real pod-create audit event (a privileged pod)
// captured from kube-apiserver.
func podCreate(tb testing.TB) []byte {
	tb.Helper()
	data, err := os.ReadFile("../../ruleset/testdata/real/pod_privileged.jsonl")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if bytes.Contains(line, []byte(`"stage":"ResponseComplete"`)) && bytes.Contains(line, []byte(`"verb":"create"`)) {
			return line
		}
	}
	tb.Fatal("no ResponseComplete pod create in pod_privileged.jsonl")
	return nil
}

func TestUpstreamK8sRulesFireOnRealPodCreate(t *testing.T) {
	rs := upstreamK8sRules(t)
	var ev k8saudit.Event
	if err := ev.Decode(podCreate(t)); err != nil {
		t.Fatal(err)
	}
	evl := rs.NewEvaluator()
	var names []string
	for _, r := range evl.Match(&ev) {
		names = append(names, r.Name)
	}
	// Falco's own rule for this event, by its own name.
	found := false
	for _, n := range names {
		if n == "Create Privileged Pod" {
			found = true
		}
	}
	if !found {
		t.Fatalf("upstream rule 'Create Privileged Pod' did not fire; fired: %v", names)
	}
	if allocs := testing.AllocsPerRun(200, func() { evl.Match(&ev) }); allocs != 0 {
		t.Fatalf("Match allocates %.1f times per event with the upstream ruleset", allocs)
	}
}

func TestEmbeddedRulesetMatchDoesNotAllocate(t *testing.T) {
	rs, diags := rules.Load(ruleset.Files(), rules.Options{Sources: Sources()})
	if diags.HasErrors() {
		t.Fatal(diags.Errors())
	}
	var ev k8saudit.Event
	if err := ev.Decode(podCreate(t)); err != nil {
		t.Fatal(err)
	}
	evl := rs.NewEvaluator()
	if len(evl.Match(&ev)) == 0 {
		t.Fatal("no default rule fired on a privileged pod")
	}
	if allocs := testing.AllocsPerRun(200, func() { evl.Match(&ev) }); allocs != 0 {
		t.Fatalf("Match allocates %.1f times per event with the default ruleset", allocs)
	}
}

// BenchmarkEvalUpstreamK8sPodCreate evaluates every upstream k8s audit rule
// on a decoded pod-create event.
func BenchmarkEvalUpstreamK8sPodCreate(b *testing.B) {
	rs := upstreamK8sRules(b)
	var ev k8saudit.Event
	if err := ev.Decode(podCreate(b)); err != nil {
		b.Fatal(err)
	}
	evl := rs.NewEvaluator()
	b.ReportAllocs()
	for b.Loop() {
		evl.Match(&ev)
	}
}

// BenchmarkDecodeEvalUpstreamK8sPodCreate decodes the pod-create event and
// evaluates every upstream k8s audit rule, as the webhook and replay do.
func BenchmarkDecodeEvalUpstreamK8sPodCreate(b *testing.B) {
	benchDecodeEval(b, upstreamK8sRules(b))
}

// BenchmarkDecodeEvalDefaultPodCreate is the same with Vigil's default ruleset.
func BenchmarkDecodeEvalDefaultPodCreate(b *testing.B) {
	rs, diags := rules.Load(ruleset.Files(), rules.Options{Sources: Sources()})
	if diags.HasErrors() {
		b.Fatal(diags.Errors())
	}
	benchDecodeEval(b, rs)
}

func benchDecodeEval(b *testing.B, rs *rules.Ruleset) {
	data := podCreate(b)
	var ev k8saudit.Event
	evl := rs.NewEvaluator()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ev.Decode(data); err != nil {
			b.Fatal(err)
		}
		evl.Match(&ev)
	}
}
