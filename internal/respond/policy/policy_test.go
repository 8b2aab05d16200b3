package policy

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/respond"
)

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "Terminal shell in container", true},
		{"Terminal shell in container", "Terminal shell in container", true},
		{"Terminal shell", "Terminal shell in container", false},
		{"Terminal*", "Terminal shell in container", true},
		{"*container", "Terminal shell in container", true},
		{"*shell*", "Terminal shell in container", true},
		{"*shell*", "Terminal bash in container", false},
		{"Drop ? binary", "Drop a binary", true},
		{"Drop ? binary", "Drop an binary", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyyd", false},
		{"a*b", "abab", true},
		{"kube-*", "kube-system", true},
		{"kube-*", "default", false},
		{"docker.io/library/*", "docker.io/library/nginx", true},
		{"*T", "t", false}, // case-sensitive
	} {
		t.Run(tc.pattern+"|"+tc.s, func(t *testing.T) {
			require.Equal(t, tc.want, Glob(tc.pattern, tc.s))
		})
	}
}

func TestMatch(t *testing.T) {
	a := &alert.Alert{Rule: "Terminal shell in container", Priority: "Notice", Source: "syscall", Tags: []string{"container", "shell", "mitre_execution"}}
	for _, tc := range []struct {
		name string
		p    Policy
		want bool
	}{
		{"everything", Policy{}, true},
		{"exact rule", Policy{Rules: []string{"Terminal shell in container"}}, true},
		{"other rule", Policy{Rules: []string{"Drop and execute new binary in container"}}, false},
		{"glob rule among others", Policy{Rules: []string{"Drop*", "Terminal*"}}, true},
		{"tag any of", Policy{Tags: []string{"network", "shell"}}, true},
		{"tag none", Policy{Tags: []string{"network"}}, false},
		{"min priority equal", Policy{MinPriority: "notice"}, true},
		{"min priority below", Policy{MinPriority: "Informational"}, true},
		{"min priority above", Policy{MinPriority: "Warning"}, false},
		{"source", Policy{Sources: []string{"syscall"}}, true},
		{"other source", Policy{Sources: []string{"k8s_audit"}}, false},
		{"all fields", Policy{Rules: []string{"Terminal*"}, Tags: []string{"shell"}, MinPriority: "Notice", Sources: []string{"syscall"}}, true},
		{"all but one", Policy{Rules: []string{"Terminal*"}, Tags: []string{"shell"}, MinPriority: "Error", Sources: []string{"syscall"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.Name = "p"
			tc.p.Actions = []Step{{Action: "pause"}}
			require.NoError(t, tc.p.Compile())
			require.Equal(t, tc.want, tc.p.Match(a))
		})
	}
	t.Run("unknown alert priority ranks below debug", func(t *testing.T) {
		p := Policy{Name: "p", MinPriority: "Debug", Actions: []Step{{Action: "pause"}}}
		require.NoError(t, p.Compile())
		require.False(t, p.Match(&alert.Alert{Priority: "bogus"}))
	})
}

func TestMatchAllocs(t *testing.T) {
	p := Policy{Name: "p", Rules: []string{"Drop*", "*shell*"}, Tags: []string{"shell"}, MinPriority: "Notice", Sources: []string{"syscall"}, Actions: []Step{{Action: "pause"}}}
	require.NoError(t, p.Compile())
	a := &alert.Alert{Rule: "Terminal shell in container", Priority: "Warning", Source: "syscall", Tags: []string{"container", "shell"}}
	require.Zero(t, testing.AllocsPerRun(100, func() { p.Match(a) }))
}

func BenchmarkMatch(b *testing.B) {
	p := Policy{Name: "p", Rules: []string{"Drop*", "*shell*"}, Tags: []string{"shell"}, MinPriority: "Notice", Sources: []string{"syscall"}, Actions: []Step{{Action: "pause"}}}
	if err := p.Compile(); err != nil {
		b.Fatal(err)
	}
	a := &alert.Alert{Rule: "Terminal shell in container", Priority: "Warning", Source: "syscall", Tags: []string{"container", "shell"}}
	b.ReportAllocs()
	for b.Loop() {
		p.Match(a)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Policy
		want string
	}{
		{"no name", Policy{Actions: []Step{{Action: "pause"}}}, "without a name"},
		{"no actions", Policy{Name: "p"}, "no actions"},
		{"bad action", Policy{Name: "p", Actions: []Step{{Action: "explode"}}}, `action "explode": unknown action`},
		{"unpause not in policies", Policy{Name: "p", Actions: []Step{{Action: "unpause"}}}, "unknown action"},
		{"bad priority", Policy{Name: "p", MinPriority: "severe", Actions: []Step{{Action: "pause"}}}, `unknown priority "severe"`},
		{"allow on pause", Policy{Name: "p", Actions: []Step{{Action: "pause", Allow: []respond.Allow{{}}}}}, "allow is only for isolate"},
		{"rate below plan", Policy{Name: "p", MaxActionsPerMinute: 1, Actions: []Step{{Action: "capture"}, {Action: "pause"}}}, "could never run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Compile()
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestExpand(t *testing.T) {
	names := func(s []Step) []string {
		var out []string
		for _, x := range s {
			out = append(out, x.Action)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		in      []string
		contain bool
		want    []string
	}{
		{"contain alone", nil, true, []string{"capture", "pause"}},
		{"contain with isolate", []string{"isolate"}, true, []string{"capture", "isolate"}},
		{"capture moved first", []string{"pause", "capture", "block-exec"}, true, []string{"capture", "pause", "block-exec"}},
		{"block-exec is a containment", []string{"block-exec"}, true, []string{"capture", "block-exec"}},
		{"without contain, as written", []string{"pause", "capture"}, false, []string{"pause", "capture"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in []Step
			for _, a := range tc.in {
				in = append(in, Step{Action: a})
			}
			require.Equal(t, tc.want, names(Expand(in, tc.contain)))
		})
	}
}

func TestSubjectOf(t *testing.T) {
	full := "3f2a9c0d1e2f" + "00112233445566778899aabbccddeeff00112233445566778899"
	for _, tc := range []struct {
		name string
		a    alert.Alert
		want Subject
	}{
		{"context", alert.Alert{Context: &alert.Context{
			Provenance: &alert.Provenance{Process: alert.Proc{PID: 42, Exe: "/tmp/x", ContainerID: full}},
			Container:  &alert.ContainerInfo{ID: full, Name: "web", Image: "nginx", Pod: &alert.PodInfo{Namespace: "shop"}},
		}}, Subject{ContainerID: full, ContainerName: "web", Image: "nginx", Namespace: "shop", PID: 42, Exe: "/tmp/x"}},
		{"output fields", alert.Alert{OutputFields: map[string]any{"container.id": "3f2a9c0d1e2f", "container.name": "web",
			"container.image.repository": "nginx", "k8s.ns.name": "shop", "proc.pid": int64(7), "proc.exepath": "/bin/sh"}},
			Subject{ContainerID: "3f2a9c0d1e2f", ContainerName: "web", Image: "nginx", Namespace: "shop", PID: 7, Exe: "/bin/sh"}},
		{"host", alert.Alert{OutputFields: map[string]any{"container.id": "host", "proc.pid": int64(7)}}, Subject{PID: 7}},
		{"k8s audit: nothing", alert.Alert{OutputFields: map[string]any{"ka.user.name": "bob", "container.name": "<NA>"}}, Subject{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, SubjectOf(&tc.a))
		})
	}
}

func TestExclude(t *testing.T) {
	x := Exclude{Namespaces: []string{"kube-*"}, Images: []string{"registry.local/vigil*"}, Containers: []string{"3f2a9c0d1e2f", "db-*"}}
	for _, tc := range []struct {
		name string
		s    Subject
		want string
	}{
		{"namespace", Subject{Namespace: "kube-system", ContainerID: "aa"}, "namespace kube-system"},
		{"image", Subject{Image: "registry.local/vigil-agent", ContainerID: "aa"}, "image registry.local/vigil-agent"},
		{"12-char id of a full id", Subject{ContainerID: "3f2a9c0d1e2f0011223344556677889900112233445566778899aabbccddeeff"}, "container 3f2a9c0d1e2f"},
		{"name", Subject{ContainerID: "bb", ContainerName: "db-primary"}, "container db-primary"},
		{"not excluded", Subject{ContainerID: "cc", ContainerName: "web", Namespace: "shop", Image: "nginx"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, x.excluded(&tc.s))
		})
	}
}
