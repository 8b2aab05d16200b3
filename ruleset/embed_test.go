package ruleset

import (
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFilesListsEveryEmbeddedFile keeps defaultOrder in step with the
// embedded *.yaml files, and checks what Files returns.
func TestFilesListsEveryEmbeddedFile(t *testing.T) {
	embedded, err := fs.Glob(files, "*.yaml")
	require.NoError(t, err)
	require.ElementsMatch(t, embedded, defaultOrder, "defaultOrder must list every embedded file once")

	got := Files()
	require.Len(t, got, len(defaultOrder))
	for i, f := range got {
		require.Equal(t, NamePrefix+defaultOrder[i], f.Name)
		require.True(t, strings.HasPrefix(f.Name, "embedded:"))
		disk, err := os.ReadFile(defaultOrder[i])
		require.NoError(t, err)
		require.Equal(t, disk, f.Data, "%s: embedded data differs from the file", f.Name)
	}

	// Callers may modify what they get without affecting later calls.
	got[0].Data[0] ^= 0xff
	require.NotEqual(t, got[0].Data[0], Files()[0].Data[0])
}
