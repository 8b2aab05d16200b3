package cli

import (
	"errors"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/internal/app"
	"github.com/vigilsec/vigil/internal/config"
)

// newRunCmd is `vigil run`; info.Version is reported by GET
// /api/v1/health.
func newRunCmd(info BuildInfo) *cobra.Command {
	o := app.RunOptions{Version: info.Version}
	var verbose bool
	var configFile string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the detection engine: audit webhook, rules, alerts",
		Long: `Run loads the rules (the embedded default ruleset unless -r is given),
serves the Kubernetes audit webhook at POST /k8s-audit with GET /healthz and
GET /readyz and Prometheus metrics at GET /metrics, and sends every alert
to the outputs of the configuration file (by default one JSON line on
stdout), to --alerts-file when given, and to the alert store: the embedded SQLite
file vigil.db in --data-dir, or the PostgreSQL database of --store
(postgres://user@host/db; give the password in $PGPASSWORD or ~/.pgpass
to keep it out of the process list).

The configuration file is --config, or /etc/vigil/vigil.yaml when it
exists; flags given on the command line override its values.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Stdout, o.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			if err := applyConfig(cmd, configFile, &o); err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			if err := resolveHookDB(&o.RegistryHook); err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			err := app.Run(cmd.Context(), o)
			if errors.Is(err, app.ErrRules) {
				return &ExitError{Code: 1}
			}
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			return nil
		},
	}
	defDataDir := app.DefaultDataDir
	if os.Geteuid() != 0 {
		if d, err := os.UserCacheDir(); err == nil {
			defDataDir = d + "/vigil"
		}
	}
	cmd.Flags().StringVarP(&configFile, "config", "c", "", "configuration file (default "+config.DefaultPath+" if it exists)")
	cmd.Flags().StringVar(&o.Listen, "listen", "127.0.0.1:9765", "HTTP listen address")
	cmd.Flags().StringArrayVarP(&o.Rules, "rules", "r", nil, "rules file or directory (repeatable; replaces the embedded ruleset, which -r embedded: names)")
	cmd.Flags().StringVar(&o.AlertsFile, "alerts-file", "", "also append alerts to this file as JSON lines")
	cmd.Flags().StringVar(&o.DataDir, "data-dir", defDataDir, "state directory (alerts are stored in vigil.db, embedded SQLite)")
	cmd.Flags().StringVar(&o.Store, "store", "", "store alerts in PostgreSQL instead of --data-dir: postgres://user:password@host:port/db?sslmode=...")
	cmd.Flags().Int64Var(&o.MaxBodyBytes, "max-request-bytes", 32<<20, "largest audit webhook request accepted (larger: 413)")
	cmd.Flags().StringVar(&o.Hostname, "hostname", "", "hostname put in alerts (default: this machine's)")
	cmd.Flags().StringVar(&o.Sensor.Mode, "sensor", app.SensorAuto, "syscall source (eBPF sensor): auto (when syscall rules are loaded and the machine allows it), on (failing to start is an error) or off")
	cmd.Flags().IntVar(&o.Sensor.RingBufferBytes, "sensor-ring-buffer", 0, "size in bytes of the sensor's BPF ring buffer, a power of two (default 8 MiB)")
	var authOn bool
	cmd.Flags().BoolVar(&authOn, "auth", true, "require login or an API token for the HTTP API, console and /metrics (--auth=false for local use only)")
	cmd.Flags().StringVar(&o.Auth.AdminPasswordFile, "admin-password-file", "", "file with the password of the first admin user (else $"+app.AdminPasswordEnv+", else one is generated and printed once)")
	cmd.Flags().StringVar(&o.Auth.AuditTokenFile, "audit-token-file", "", "file with the bearer token POST /k8s-audit requires")
	cmd.Flags().StringVar(&o.Auth.ClientCA, "audit-client-ca", "", "PEM CA file: client certificates it signs authenticate POST /k8s-audit (needs TLS)")
	cmd.Flags().StringVar(&o.Auth.MetricsTokenFile, "metrics-token-file", "", "file with a bearer token that may read /metrics without a login")
	cmd.Flags().StringVar(&o.Auth.TLSCert, "tls-cert", "", "serve HTTPS with this PEM certificate (with --tls-key)")
	cmd.Flags().StringVar(&o.Auth.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	cmd.Flags().BoolVar(&o.Auth.TLSSelfSigned, "tls-self-signed", false, "serve HTTPS with a self-signed certificate kept in --data-dir")
	cmd.PreRun = func(*cobra.Command, []string) { o.Auth.Disabled = !authOn }
	addAlertFlags(cmd.Flags(), &o.Alerts)
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "debug logging")
	addRegistryHookFlags(cmd, &o.RegistryHook)
	return cmd
}

// applyConfig reads the configuration file (path, or config.DefaultPath
// when path is empty and that file exists) and sets each option of o
// whose flag was not given on the command line.
func applyConfig(cmd *cobra.Command, path string, o *app.RunOptions) error {
	if path == "" {
		if _, err := os.Stat(config.DefaultPath); err != nil {
			return nil
		}
		path = config.DefaultPath
	}
	c, err := config.Load(path)
	if err != nil {
		return err
	}
	flags := cmd.Flags()
	if c.Has("listen") && !flags.Changed("listen") {
		o.Listen = c.Listen
	}
	if c.Has("data_dir") && !flags.Changed("data-dir") {
		o.DataDir = c.DataDir
	}
	if c.Has("hostname") && !flags.Changed("hostname") {
		o.Hostname = c.Hostname
	}
	if c.Has("max_request_bytes") && !flags.Changed("max-request-bytes") {
		o.MaxBodyBytes = c.MaxRequestBytes
	}
	if c.Has("rules") && !flags.Changed("rules") {
		o.Rules = c.Rules
	}
	if c.Has("outputs") {
		o.Outputs = c.Outputs
	}
	applyAlertsConfig(flags, c, &o.Alerts)
	if r := c.Response; c.Has("response") {
		o.Response = app.ResponseOptions{Policies: r.Policies, Exclude: r.Exclude, QueueSize: r.QueueSize, Workers: r.Workers, EvidenceDir: r.EvidenceDir}
	}
	// Keys of the file and the flags overriding them.
	for _, kv := range []struct {
		key, flag string
		set       func()
	}{
		{"auth.enabled", "auth", func() { o.Auth.Disabled = !c.Auth.Enabled }},
		{"auth.admin_password_file", "admin-password-file", func() { o.Auth.AdminPasswordFile = c.Auth.AdminPasswordFile }},
		{"auth.metrics_token_file", "metrics-token-file", func() { o.Auth.MetricsTokenFile = c.Auth.MetricsTokenFile }},
		{"audit_token_file", "audit-token-file", func() { o.Auth.AuditTokenFile = c.AuditTokenFile }},
		{"audit_client_ca", "audit-client-ca", func() { o.Auth.ClientCA = c.AuditClientCA }},
	} {
		if c.Has(kv.key) && !flags.Changed(kv.flag) {
			kv.set()
		}
	}
	// The TLS flags override the tls section as a whole: --tls-self-signed
	// replaces a cert and key of the file, and --tls-cert/--tls-key replace
	// self_signed.
	if c.Has("tls") && !flags.Changed("tls-cert") && !flags.Changed("tls-key") && !flags.Changed("tls-self-signed") {
		o.Auth.TLSCert, o.Auth.TLSKey, o.Auth.TLSSelfSigned = c.TLS.Cert, c.TLS.Key, c.TLS.SelfSigned
	}
	o.Logger.Info("configuration loaded", "component", "run", "file", path, "outputs", len(c.Outputs))
	return nil
}
