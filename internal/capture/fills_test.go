package capture

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/sensor"
	"github.com/vigilsec/vigil/internal/sysevent"
)

// TestArgFillsMatchSchema keeps the argument table in step with the param
// schema: a misspelt param would otherwise be dropped without a word.
func TestArgFillsMatchSchema(t *testing.T) {
	var src sysevent.Source
	for name, fs := range argFills {
		require.True(t, sensor.Supported(name), "%s: the sensor cannot capture it", name)
		code, ok := src.TypeCode(name)
		require.True(t, ok, "%s: no event type", name)
		got := resolveFills(fs, code)
		require.Len(t, got, len(fs), "%s: a param is not in the schema %v", name, sysevent.ParamSpecs(code))
		for i, f := range got {
			require.Equal(t, fs[i].param, sysevent.ParamSpecs(code)[f.idx].Name)
		}
	}
}
