package app

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/alert/outputs"
)

func TestBuildOutputs(t *testing.T) {
	dir := t.TempDir()
	var stdout bytes.Buffer
	tests := []struct {
		name      string
		cfg       OutputsConfig
		wantNames []string
		wantErr   string
	}{
		{"default stdout", OutputsConfig{Stdout: &stdout}, []string{"stdout"}, ""},
		{"alerts file added", OutputsConfig{Stdout: &stdout, AlertsFile: filepath.Join(dir, "a.jsonl")}, []string{"stdout", "alerts-file"}, ""},
		{"configured, no stdout", OutputsConfig{Specs: []outputs.Spec{{Name: "f", Kind: outputs.KindFile, File: outputs.FileConfig{Path: filepath.Join(dir, "f.log")}}}}, []string{"f"}, ""},
		{"empty list", OutputsConfig{Specs: []outputs.Spec{}}, []string{}, ""},
		{"bad output", OutputsConfig{Specs: []outputs.Spec{{Name: "ok", Kind: outputs.KindStdout}, {Name: "w", Kind: outputs.KindWebhook, Pos: "v.yaml:3:5"}}}, nil, `v.yaml:3:5: output "w": webhook output: url is required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outs, err := buildOutputs(tt.cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			names := []string{}
			for _, o := range outs {
				names = append(names, o.Name)
			}
			require.Equal(t, tt.wantNames, names)
			closeOutputs(outs)
		})
	}
}

func TestReopenOnHUP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.jsonl")
	outs, err := buildOutputs(OutputsConfig{Specs: []outputs.Spec{}, AlertsFile: path})
	require.NoError(t, err)
	defer closeOutputs(outs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs bytes.Buffer
	reopenOnHUP(ctx, outs, slog.New(slog.NewTextHandler(&logs, nil)))
	a := &alert.Alert{Time: time.Unix(0, 0), Rule: "r1", Priority: "Warning"}
	require.NoError(t, outs[0].Sink.Send(ctx, a))
	require.NoError(t, os.Rename(path, path+".1"))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool {
		_, err := os.Stat(path)
		return err == nil
	}, 5*time.Second, 5*time.Millisecond, "SIGHUP reopens the file")
	a.Rule = "r2"
	require.NoError(t, outs[0].Sink.Send(ctx, a))
	old, err := os.ReadFile(path + ".1")
	require.NoError(t, err)
	cur, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(old), `"rule":"r1"`)
	require.Contains(t, string(cur), `"rule":"r2"`)
	require.NotContains(t, string(cur), `"rule":"r1"`)
	require.Contains(t, logs.String(), "reopened output")
}
