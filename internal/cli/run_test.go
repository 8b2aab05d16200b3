package cli

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/app"
)

// TestApplyConfigServerKeys: the auth, tls and audit webhook keys of
// vigil.yaml set the run options, and flags given on the command line win.
func TestApplyConfigServerKeys(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "vigil.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`auth:
  enabled: false
  admin_password_file: /f/admin
  metrics_token_file: /f/metrics
tls:
  cert: /f/cert.pem
  key: /f/key.pem
audit_token_file: /f/audit
audit_client_ca: /f/ca.pem
`), 0o600))
	fromFile := app.AuthOptions{Disabled: true, AdminPasswordFile: "/f/admin", MetricsTokenFile: "/f/metrics",
		TLSCert: "/f/cert.pem", TLSKey: "/f/key.pem", AuditTokenFile: "/f/audit", ClientCA: "/f/ca.pem"}
	tests := []struct {
		name  string
		flags []string
		want  func(a *app.AuthOptions)
	}{
		{"file only", nil, func(*app.AuthOptions) {}},
		{"--auth wins", []string{"--auth=true"}, func(a *app.AuthOptions) { a.Disabled = false }},
		{"secret file flags win", []string{"--admin-password-file", "/x/admin", "--metrics-token-file", "/x/metrics",
			"--audit-token-file", "/x/audit", "--audit-client-ca", "/x/ca.pem"}, func(a *app.AuthOptions) {
			a.AdminPasswordFile, a.MetricsTokenFile, a.AuditTokenFile, a.ClientCA = "/x/admin", "/x/metrics", "/x/audit", "/x/ca.pem"
		}},
		{"--tls-self-signed replaces the file's cert and key", []string{"--tls-self-signed"}, func(a *app.AuthOptions) {
			a.TLSCert, a.TLSKey, a.TLSSelfSigned = "", "", true
		}},
		{"--tls-cert and --tls-key replace the file's", []string{"--tls-cert", "/x/c", "--tls-key", "/x/k"}, func(a *app.AuthOptions) {
			a.TLSCert, a.TLSKey = "/x/c", "/x/k"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := newRunCmd(BuildInfo{})
			require.NoError(t, cmd.ParseFlags(tt.flags))
			// The options the flags were parsed into: run's PreRun sets
			// Disabled from --auth before the file is applied.
			var o app.RunOptions
			o.Logger = slog.New(slog.DiscardHandler)
			fl := cmd.Flags()
			o.Auth.AdminPasswordFile, _ = fl.GetString("admin-password-file")
			o.Auth.MetricsTokenFile, _ = fl.GetString("metrics-token-file")
			o.Auth.AuditTokenFile, _ = fl.GetString("audit-token-file")
			o.Auth.ClientCA, _ = fl.GetString("audit-client-ca")
			o.Auth.TLSCert, _ = fl.GetString("tls-cert")
			o.Auth.TLSKey, _ = fl.GetString("tls-key")
			o.Auth.TLSSelfSigned, _ = fl.GetBool("tls-self-signed")
			authOn, _ := fl.GetBool("auth")
			o.Auth.Disabled = !authOn
			require.NoError(t, applyConfig(cmd, file, &o))
			want := fromFile
			tt.want(&want)
			require.Equal(t, want, o.Auth)
		})
	}

	// Without the keys in the file, the flags' values stay.
	empty := filepath.Join(dir, "empty.yaml")
	require.NoError(t, os.WriteFile(empty, []byte("listen: 127.0.0.1:1\n"), 0o600))
	o := app.RunOptions{Logger: slog.New(slog.DiscardHandler), Auth: app.AuthOptions{TLSSelfSigned: true, AuditTokenFile: "/x"}}
	require.NoError(t, applyConfig(newRunCmd(BuildInfo{}), empty, &o))
	require.Equal(t, app.AuthOptions{TLSSelfSigned: true, AuditTokenFile: "/x"}, o.Auth)

	// A bad value names FILE:LINE:COL.
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("tls:\n  self_signed: sure\n"), 0o600))
	err := applyConfig(newRunCmd(BuildInfo{}), bad, &o)
	require.ErrorContains(t, err, bad+`:2:16: tls.self_signed: want true or false, got "sure"`)
}
