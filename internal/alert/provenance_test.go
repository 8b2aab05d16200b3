package alert

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestContextNotInJSON checks that Vigil's context never leaks into the
// Falco json_output schema that outputs and webhooks send.
func TestContextNotInJSON(t *testing.T) {
	base := Alert{
		Time: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC), Rule: "r", Priority: "Warning",
		Source: "syscall", Output: "o", OutputFields: map[string]any{"proc.pid": 1}, Tags: []string{"t"}, Hostname: "h",
	}
	with := base
	with.Context = &Context{
		Provenance: &Provenance{Process: Proc{PID: 42, Exe: "/bin/cat"}, Ancestors: []Proc{{PID: 41, Exe: "/bin/sh"}}},
		Container:  &ContainerInfo{ID: "abc", Privileged: true},
	}
	want, err := base.MarshalJSON()
	require.NoError(t, err)
	got, err := with.MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	var keys map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(got, &keys))
	require.Len(t, keys, 8, "Falco's json_output has exactly 8 keys")
	require.NotContains(t, string(got), "/bin/sh")
	require.NotContains(t, string(got), "provenance")
}
