package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/vigilsec/vigil/internal/app"
	"github.com/vigilsec/vigil/internal/registryhook"
)

// addRegistryHookFlags adds the flags of scan on push (POST
// /hooks/registry) to vigil run.
func addRegistryHookFlags(cmd *cobra.Command, o *app.RegistryHookOptions) {
	f := cmd.Flags()
	f.BoolVar(&o.Enabled, "registry-hook", false, "scan images pushed to a registry: serve POST /hooks/registry for Docker Distribution notifications and Harbor webhooks (needs --data-dir; reports in <data-dir>/scans)")
	f.StringVar(&o.TokenFile, "registry-hook-token-file", "", "file with the bearer token POST /hooks/registry requires")
	f.StringSliceVar(&o.Insecure, "registry-insecure", nil, "registry hosts (host:port, comma-separated or repeated) the registry hook pulls from over plain HTTP")
	f.StringSliceVar(&o.Registries, "registry-hook-registries", nil, "the only registry hosts the registry hook may pull from (default: any host a notification names)")
	f.IntVar(&o.QueueSize, "registry-hook-queue", registryhook.DefaultQueueSize, "pushed images waiting for a scan; a notification overflowing it gets 503")
	f.IntVar(&o.Workers, "registry-hook-workers", registryhook.DefaultWorkers, "pushed images scanned at once")
	f.StringVar(&o.Threshold, "registry-hook-threshold", registryhook.DefaultThreshold, "findings that raise an alert: KIND or KIND>=SEVERITY items (kinds vuln, secret, misconfig, passwd, malware), or none")
	f.StringVar(&o.Scanners, "registry-hook-scanners", app.DefaultRegistryHookScanners, "scanners run on pushed images")
	f.StringVar(&o.DBPath, "registry-hook-db", "", "vulnerability database of the registry hook (default $VIGIL_DB, /var/lib/vigil/vulndb.sqlite as root, else in the user cache directory)")
	f.DurationVar(&o.ScanTimeout, "registry-hook-scan-timeout", registryhook.DefaultScanTimeout, "longest pull and scan of one pushed image")
}

// resolveHookDB fills in the default vulnerability database path.
func resolveHookDB(o *app.RegistryHookOptions) error {
	if !o.Enabled || o.DBPath != "" {
		return nil
	}
	p, err := defaultDBPath(os.Getenv, os.Geteuid(), os.UserCacheDir)
	o.DBPath = p
	return err
}
