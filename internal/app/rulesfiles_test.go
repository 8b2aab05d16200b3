package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadRulesFiles(t *testing.T) {
	dir := t.TempDir()
	local := filepath.Join(dir, "b_local.yaml")
	require.NoError(t, os.WriteFile(local, []byte(`
- rule: Service Account Read Secrets
  enabled: false
`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yml"), []byte("- list: x\n  items: [a]\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not rules"), 0o600))

	defaults, err := ReadRulesFiles(nil)
	require.NoError(t, err)
	require.NotEmpty(t, defaults)

	files, err := ReadRulesFiles([]string{"embedded:", local})
	require.NoError(t, err)
	require.Len(t, files, len(defaults)+1)
	rs, diags, err := LoadRules([]string{"embedded:", local})
	require.NoError(t, err)
	require.False(t, diags.HasErrors(), "%v", diags)
	for _, r := range rs.Rules() {
		if r.Name == "Service Account Read Secrets" {
			require.False(t, r.Enabled, "local file disables an embedded rule")
		}
	}

	files, err = ReadRulesFiles([]string{dir})
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(dir, "a.yml"), local}, []string{files[0].Name, files[1].Name})

	_, err = ReadRulesFiles([]string{"embedded:nope.yaml"})
	require.ErrorContains(t, err, "no such embedded rules file")
	_, err = ReadRulesFiles([]string{filepath.Join(dir, "missing.yaml")})
	require.ErrorContains(t, err, "missing.yaml")
}
