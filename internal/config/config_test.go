package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/alert/outputs"
)

func TestExampleConfig(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "vigil.example.yaml")
	c, err := Load(path)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9765", c.Listen)
	require.Equal(t, "/var/lib/vigil", c.DataDir)
	require.Equal(t, "node-1", c.Hostname)
	require.Equal(t, int64(32<<20), c.MaxRequestBytes)
	require.Equal(t, []string{"embedded:", "/etc/vigil/rules.d"}, c.Rules)
	for _, k := range []string{"listen", "data_dir", "hostname", "max_request_bytes", "rules", "outputs",
		"auth", "auth.enabled", "auth.admin_password_file", "auth.metrics_token_file",
		"tls", "tls.cert", "tls.key", "tls.self_signed", "audit_token_file", "audit_client_ca"} {
		require.True(t, c.Has(k), k)
	}
	require.Equal(t, Auth{Enabled: true, AdminPasswordFile: "/etc/vigil/admin-password", MetricsTokenFile: "/etc/vigil/metrics-token"}, c.Auth)
	require.Equal(t, TLS{Cert: "/etc/vigil/tls/server.pem", Key: "/etc/vigil/tls/server-key.pem"}, c.TLS)
	require.Equal(t, "/etc/vigil/audit-token", c.AuditTokenFile)
	require.Equal(t, "/etc/vigil/tls/apiserver-client-ca.pem", c.AuditClientCA)
	var names, kinds []string
	for _, s := range c.Outputs {
		names = append(names, s.Name)
		kinds = append(kinds, s.Kind)
	}
	require.Equal(t, []string{"stdout", "archive", "falcosidekick", "syslog", "remote-syslog", "slack", "dingtalk", "wecom", "feishu"}, names)
	require.Equal(t, []string{"stdout", "file", "webhook", "syslog", "syslog", "slack", "dingtalk", "wecom", "feishu"}, kinds)

	file := c.Outputs[1]
	require.Equal(t, outputs.FileConfig{Path: "/var/log/vigil/alerts.jsonl", MaxSize: 100 << 20, MaxFiles: 5, Format: alert.FormatJSON}, file.File)
	wh := c.Outputs[2]
	require.Equal(t, path+":45:5", wh.Pos)
	require.Equal(t, "notice", wh.MinPriority)
	require.Equal(t, outputs.WebhookConfig{
		HTTP: outputs.HTTP{
			URL:     "http://falcosidekick.falco.svc:2801/",
			Timeout: 5 * time.Second,
			TLS:     outputs.TLS{CAFile: "/etc/vigil/tls/ca.pem", CertFile: "/etc/vigil/tls/client.pem", KeyFile: "/etc/vigil/tls/client-key.pem"},
			Retry:   outputs.Retry{MaxAttempts: 5, InitialBackoff: 500 * time.Millisecond, MaxBackoff: 30 * time.Second},
		},
		Method:  "POST",
		Headers: map[string]string{"Authorization": "Bearer change-me"},
	}, wh.Webhook)
	require.Equal(t, outputs.SyslogConfig{Facility: "local0"}, c.Outputs[3].Syslog)
	require.Equal(t, outputs.SyslogConfig{Network: "tcp", Address: "syslog.example.com:6514", AppName: "vigil", JSON: true}, c.Outputs[4].Syslog)
	require.Equal(t, "#security", c.Outputs[5].Slack.Channel)
	require.Equal(t, outputs.DingTalkConfig{HTTP: outputs.HTTP{URL: "https://oapi.dingtalk.com/robot/send?access_token=XXXX"}, Secret: "SECXXXX", AtMobiles: []string{"13800000000"}}, c.Outputs[6].DingTalk)
	require.Equal(t, "XXXX", c.Outputs[8].Feishu.Secret)

	// Every output of the example builds (nothing is contacted yet),
	// except those needing files that exist only on a real host.
	for _, s := range c.Outputs {
		if s.Kind == outputs.KindFile || s.Name == "falcosidekick" {
			continue
		}
		o, err := s.Output(os.Stdout)
		require.NoError(t, err, s.Name)
		require.NoError(t, o.Sink.Close())
	}
}

func TestGood(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "minimal.good.yaml"))
	require.NoError(t, err)
	require.Equal(t, "0.0.0.0:9765", c.Listen)
	require.Equal(t, []string{"embedded:"}, c.Rules)
	require.False(t, c.Has("data_dir"))
	require.Len(t, c.Outputs, 1)
	require.Equal(t, "webhook", c.Outputs[0].Name)

	c, err = Parse("empty.yaml", nil)
	require.NoError(t, err)
	require.False(t, c.Has("outputs"))
	c, err = Parse("no-outputs.yaml", []byte("outputs: []\n"))
	require.NoError(t, err)
	require.True(t, c.Has("outputs"))
	require.Empty(t, c.Outputs)

	c, err = Load(filepath.Join("testdata", "server.good.yaml"))
	require.NoError(t, err)
	require.Equal(t, Auth{AdminPasswordFile: "/etc/vigil/admin-password", MetricsTokenFile: "/etc/vigil/metrics-token"}, c.Auth)
	require.True(t, c.Has("auth.enabled"), "enabled: false is set")
	require.Equal(t, TLS{SelfSigned: true}, c.TLS)
	require.True(t, c.Has("tls.self_signed"))
	require.False(t, c.Has("tls.cert"))
	require.Equal(t, "/etc/vigil/audit-token", c.AuditTokenFile)
	require.Equal(t, "/etc/vigil/tls/apiserver-ca.pem", c.AuditClientCA)

	// An auth section without enabled leaves authentication on.
	c, err = Parse("auth.yaml", []byte("auth:\n  admin_password_file: /pw\n"))
	require.NoError(t, err)
	require.True(t, c.Has("auth"))
	require.False(t, c.Has("auth.enabled"))
	require.True(t, c.Auth.Enabled)
}

func TestBad(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"unknown.bad.yaml", []string{
			`testdata/unknown.bad.yaml:2:1: unknown key "listn" in configuration (valid: listen, data_dir, hostname, max_request_bytes, rules, outputs, auth, tls, audit_token_file, audit_client_ca, alerts, response)`,
			`testdata/unknown.bad.yaml:4:3: unknown key "file" in rules (valid: files)`,
			`testdata/unknown.bad.yaml:5:1: sensor: not implemented in this version (reserved for the eBPF sensor settings); remove it`,
			`testdata/unknown.bad.yaml:10:5: unknown key "headrs" in webhook output (valid: type, name, min_priority, queue_size, method, headers, url, timeout, tls, retry)`,
			`testdata/unknown.bad.yaml:12:7: unknown key "ca" in outputs[0] (webhook).tls (valid: ca_file, cert_file, key_file, insecure_skip_verify)`,
			`testdata/unknown.bad.yaml:14:7: unknown key "attempts" in outputs[0] (webhook).retry (valid: max_attempts, initial_backoff, max_backoff)`,
			`testdata/unknown.bad.yaml:15:11: outputs[1]: unknown output type "pagerduty" (valid: stdout, file, webhook, syslog, slack, dingtalk, wecom, feishu)`,
			`testdata/unknown.bad.yaml:16:5: outputs[2]: type is required (one of stdout, file, webhook, syslog, slack, dingtalk, wecom, feishu)`,
		}},
		{"values.bad.yaml", []string{
			`testdata/values.bad.yaml:1:9: listen: want a value, got a list`,
			`testdata/values.bad.yaml:2:20: max_request_bytes: want a size in bytes such as 1048576, 100MiB or 10MB, got "12 parsecs"`,
			`testdata/values.bad.yaml:5:13: outputs[0] (stdout).format: want json or text, got "xml"`,
			`testdata/values.bad.yaml:6:19: outputs[0] (stdout).min_priority: unknown priority "loud" (expected emergency, alert, critical, error, warning, notice, informational or debug)`,
			`testdata/values.bad.yaml:7:17: outputs[0] (stdout).queue_size: must not be negative, got -4`,
			`testdata/values.bad.yaml:9:10: outputs[1] (webhook).url: want an http:// or https:// URL`,
			`testdata/values.bad.yaml:10:13: outputs[1] (webhook).method: want POST, PUT or PATCH, got "GET"`,
			`testdata/values.bad.yaml:11:14: outputs[1] (webhook).timeout: want a duration such as 500ms, 10s or 1m, got "soon"`,
			`testdata/values.bad.yaml:13:21: outputs[1] (webhook).retry.max_attempts: must be at least 1`,
			`testdata/values.bad.yaml:14:20: outputs[1] (webhook).retry.max_backoff: must not be negative, got -1s`,
			`testdata/values.bad.yaml:16:7: outputs[1] (webhook).tls: cert_file and key_file go together`,
			`testdata/values.bad.yaml:18:14: outputs[2] (syslog).network: want unixgram, unix, udp or tcp (leave out for the local syslog), got "sctp"`,
			`testdata/values.bad.yaml:19:15: outputs[2] (syslog).facility: unknown facility "local9" (valid: kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, local0 ... local7)`,
			`testdata/values.bad.yaml:21:15: outputs[3] (file).max_size: want a size in bytes such as 1048576, 100MiB or 10MB, got "10 parsecs"`,
			`testdata/values.bad.yaml:20:5: outputs[3] (file): path is required`,
			`testdata/values.bad.yaml:22:5: outputs[4] (slack): url is required`,
			`testdata/values.bad.yaml:23:5: outputs[5]: duplicate output name "stdout" (also at line 4); set a distinct name:`,
			`testdata/values.bad.yaml:26:13: outputs[6] (dingtalk).at_all: want true or false, got "maybe"`,
		}},
		{"server.bad.yaml", []string{
			`testdata/server.bad.yaml:2:12: auth.enabled: want true or false, got "maybe"`,
			`testdata/server.bad.yaml:3:24: auth.admin_password_file: want a file path, got an empty string`,
			`testdata/server.bad.yaml:4:3: unknown key "metrics_token" in auth (valid: enabled, admin_password_file, metrics_token_file)`,
			`testdata/server.bad.yaml:7:16: tls.self_signed: want true or false, got "yes please"`,
			`testdata/server.bad.yaml:5:1: tls: cert and key go together`,
			`testdata/server.bad.yaml:8:19: audit_token_file: want a value, got a list`,
			`testdata/server.bad.yaml:9:18: audit_client_ca: want a file path, got "42"`,
		}},
		{"tls.bad.yaml", []string{
			`testdata/tls.bad.yaml:1:1: tls: self_signed: true excludes cert and key`,
			`testdata/tls.bad.yaml:5:7: auth: want a mapping, got a scalar`,
		}},
		{"syntax.bad.yaml", []string{
			`testdata/syntax.bad.yaml:2:1: yaml: did not find expected '-' indicator`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", tt.file))
			var ce *Error
			require.ErrorAs(t, err, &ce)
			var got []string
			for _, p := range ce.Problems {
				got = append(got, p.String())
			}
			require.Equal(t, tt.want, got)
			require.Contains(t, err.Error(), "invalid configuration:\n"+tt.want[0])
		})
	}
	_, err := Load(filepath.Join("testdata", "missing.yaml"))
	require.ErrorContains(t, err, "read config: open testdata/missing.yaml: no such file or directory")
}
