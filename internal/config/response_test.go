package config

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/respond"
	"github.com/vigilsec/vigil/internal/respond/policy"
)

func TestResponseSection(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "response.good.yaml"))
	require.NoError(t, err)
	r := c.Response
	require.Equal(t, 64, r.QueueSize)
	require.Equal(t, 3, r.Workers)
	require.Equal(t, "/srv/evidence", r.EvidenceDir)
	require.Equal(t, policy.Exclude{Namespaces: []string{"kube-system", "kube-*"}, Images: []string{"registry.local/vigil*"},
		Containers: []string{"db-primary"}}, r.Exclude)
	require.Len(t, r.Policies, 3)
	names := func(p policy.Policy) []string {
		var out []string
		for _, s := range p.Actions {
			out = append(out, s.Action)
		}
		return out
	}
	p := r.Policies[0]
	require.Equal(t, "contain-miners", p.Name)
	require.Equal(t, []string{"Detect crypto miners*", "Drop and execute new binary in container"}, p.Rules)
	require.Equal(t, "Critical", p.MinPriority)
	require.Equal(t, []string{"syscall"}, p.Sources)
	require.Equal(t, 6, p.MaxActionsPerMinute)
	require.Equal(t, []string{"capture", "isolate", "block-exec"}, names(p), "contain: capture first")
	require.Equal(t, []respond.Allow{{Prefix: netip.MustParsePrefix("10.0.0.53/32"), Port: 53},
		{Prefix: netip.MustParsePrefix("fd00::/8"), Port: 443}}, p.Actions[1].Allow)
	require.Equal(t, []string{"capture", "pause"}, names(r.Policies[1]), "contain alone: capture then pause")
	require.True(t, r.Policies[1].DryRun)
	require.Equal(t, []string{"kill-process"}, names(r.Policies[2]))
	require.True(t, r.Policies[2].Host)
	for _, k := range []string{"response", "response.policies", "response.exclude", "response.queue_size", "response.workers", "response.evidence_dir"} {
		require.True(t, c.Has(k), k)
	}

	_, err = Load(filepath.Join("testdata", "response.bad.yaml"))
	require.Error(t, err)
	f := "testdata/response.bad.yaml"
	require.Equal(t, []string{
		f + `:4:24: response.policies[0].actions[1]: unknown action "explode" (valid: ` + policy.PolicyActions + `)`,
		f + `:5:13: response.policies[1].name: duplicate policy name "a"`,
		f + `:6:16: response.policies[1].contain: want true or false, got "yes please"`,
		f + `:7:7: response.policies[2]: name is required`,
		f + `:10:21: response.policies[3].min_priority: unknown priority "Severe" (Emergency, Alert, Critical, Error, Warning, Notice, Informational, Debug)`,
		f + `:13:18: response.policies[3].actions[0].allow: only for isolate`,
		f + `:17:19: response.policies[4].actions[0].allow[0]: allow "not-an-ip": ParseAddr("not-an-ip"): unable to parse IP`,
		f + `:18:7: unknown key "colour" in response.policies[4] (valid: ` + policyKeys + `)`,
		f + `:19:7: response.policies[5] (d): no actions: give actions or contain: true`,
		f + `:21:16: response.policies[6]: policy e: max_actions_per_minute 1 is below its 2 actions: it could never run`,
		f + `:24:5: unknown key "pods" in response.exclude (valid: ` + excludeKeys + `)`,
		f + `:25:12: response.workers: must be at least 1, got 0`,
	}, strings.Split(strings.TrimPrefix(err.Error(), "invalid configuration:\n"), "\n"))
}
