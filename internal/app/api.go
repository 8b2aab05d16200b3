package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/vigilsec/vigil/internal/alert"
	"github.com/vigilsec/vigil/internal/auth"
	"github.com/vigilsec/vigil/internal/container"
	"github.com/vigilsec/vigil/internal/proctree"
	"github.com/vigilsec/vigil/internal/server"
	"github.com/vigilsec/vigil/internal/store"
	"github.com/vigilsec/vigil/internal/sysevent"
)

// AuthOptions configures authentication and TLS of vigil run's HTTP
// server.
type AuthOptions struct {
	// Disabled turns authentication off (--auth=false): a warning is
	// logged and every API request acts as an admin.
	Disabled bool
	// AdminPasswordFile holds the first admin's password; else the
	// environment variable VIGIL_ADMIN_PASSWORD; else one is generated and
	// printed once to stderr.
	AdminPasswordFile string
	// AuditTokenFile holds the bearer token POST /k8s-audit requires.
	AuditTokenFile string
	// MetricsTokenFile holds a bearer token that may read /metrics.
	MetricsTokenFile string
	// TLSCert and TLSKey serve HTTPS with the given certificate.
	TLSCert, TLSKey string
	// TLSSelfSigned serves HTTPS with a self-signed certificate kept in the
	// data directory.
	TLSSelfSigned bool
	// ClientCA is a PEM CA file: a client certificate it verifies
	// authenticates POST /k8s-audit (mTLS). Needs TLS.
	ClientCA string
}

// AdminPasswordEnv is the environment variable read for the first admin
// password.
const AdminPasswordEnv = "VIGIL_ADMIN_PASSWORD"

// readSecret reads a one-line secret file.
func readSecret(path, what string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s file: %w", what, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s file %s is empty", what, path)
	}
	return s, nil
}

// setupAuth creates the auth service and, on first start, the admin user.
func setupAuth(ctx context.Context, o AuthOptions, acc store.Accounts, stderr io.Writer, log *slog.Logger) (*auth.Service, error) {
	if o.Disabled {
		log.Warn("authentication is OFF (--auth=false): anyone who reaches the server can read and change alerts", "component", "auth")
		return nil, nil
	}
	svc := auth.New(acc, auth.Config{})
	pw, err := readSecret(o.AdminPasswordFile, "admin password")
	if err != nil {
		return nil, err
	}
	from := "file"
	if pw == "" {
		pw, from = os.Getenv(AdminPasswordEnv), "env"
	}
	generated := false
	if pw == "" {
		pw, generated = auth.RandomPassword(), true
	}
	created, err := svc.Bootstrap(ctx, "admin", pw)
	if err != nil {
		return nil, err
	}
	switch {
	case created && generated:
		fmt.Fprintf(stderr, "\n*** Vigil: created user \"admin\" with the generated password:\n***     %s\n*** It is shown only this once. Log in and change it, or restart with --admin-password-file.\n\n", pw)
		log.Info("admin user created with a generated password (printed once on stderr)", "component", "auth")
	case created:
		log.Info("admin user created", "component", "auth", "password_from", from)
	}
	return svc, nil
}

// tlsConfig builds the server's TLS configuration, nil for plain HTTP.
func tlsConfig(o AuthOptions, dataDir, listen string, log *slog.Logger) (*tls.Config, error) {
	var (
		cert tls.Certificate
		err  error
	)
	switch {
	case o.TLSCert != "" || o.TLSKey != "":
		if o.TLSCert == "" || o.TLSKey == "" {
			return nil, errors.New("--tls-cert and --tls-key (tls.cert and tls.key) go together")
		}
		if o.TLSSelfSigned {
			return nil, errors.New("--tls-self-signed (tls.self_signed) excludes --tls-cert/--tls-key")
		}
		if cert, err = tls.LoadX509KeyPair(o.TLSCert, o.TLSKey); err != nil {
			return nil, fmt.Errorf("load TLS certificate %s: %w", o.TLSCert, err)
		}
	case o.TLSSelfSigned:
		if dataDir == "" {
			return nil, errors.New("--tls-self-signed (tls.self_signed) needs --data-dir (data_dir) to keep the certificate")
		}
		host, _, _ := net.SplitHostPort(listen)
		var created bool
		if cert, created, err = server.SelfSigned(dataDir, []string{host}); err != nil {
			return nil, err
		}
		log.Info("self-signed TLS certificate", "component", "server", "created", created, "file", dataDir+"/"+server.SelfSignedCert)
	default:
		if o.ClientCA != "" {
			return nil, errors.New("--audit-client-ca (audit_client_ca) needs TLS (--tls-cert/--tls-key or --tls-self-signed, or the tls section)")
		}
		return nil, nil
	}
	return server.TLSConfig(cert, o.ClientCA)
}

// maxAncestors bounds the ancestors recorded with an alert.
const maxAncestors = 64

// procOf converts a process table entry.
func procOf(p *sysevent.Process) alert.Proc {
	out := alert.Proc{PID: p.PID, PPID: p.PPID, Exe: p.ExePath, UID: p.UID}
	if out.Exe == "" {
		out.Exe = p.Exe
	}
	out.Cmdline = p.Comm
	if p.Exe != "" || len(p.Args) > 0 {
		out.Cmdline = strings.Join(append([]string{p.Exe}, p.Args...), " ")
	}
	if p.User != nil {
		out.User = p.User.Name
	}
	if p.StartTime != 0 {
		out.StartTime = time.Unix(0, p.StartTime).UTC()
	}
	if p.Container != nil {
		out.ContainerID = p.Container.ShortID()
	}
	return out
}

// containerOf converts container metadata.
func containerOf(c *container.Info) *alert.ContainerInfo {
	if c == nil {
		return nil
	}
	ci := &alert.ContainerInfo{ID: c.ID, Name: c.Name, Image: c.Image, ImageDigest: c.ImageDigest, Runtime: c.Runtime,
		Labels: c.Labels, Privileged: c.Privileged}
	if c.Pod != nil {
		ci.Pod = &alert.PodInfo{Name: c.Pod.Name, Namespace: c.Pod.Namespace, UID: c.Pod.UID, Labels: c.Pod.Labels}
	}
	return ci
}

// provenance records the process of ev and its ancestors (parent first)
// from the process table, at alert time. It runs on the capture goroutine,
// which owns the table.
func provenance(ev *sysevent.Event, table *proctree.Table) *alert.Context {
	if ev.Thread == nil || ev.Thread.Proc == nil {
		return nil
	}
	p := ev.Thread.Proc
	c := &alert.Context{Provenance: &alert.Provenance{Process: procOf(p)}, Container: containerOf(p.Container)}
	if table != nil {
		table.Ancestors(p, func(a *sysevent.Process) bool {
			c.Provenance.Ancestors = append(c.Provenance.Ancestors, procOf(a))
			return len(c.Provenance.Ancestors) < maxAncestors
		})
	}
	return c
}

// containerAssets turns a container update into its container, image and
// pod assets.
func containerAssets(c *container.Info, now time.Time) []store.Asset {
	if c == nil || c.ID == "" {
		return nil
	}
	attrs := map[string]any{"full_id": c.ID, "runtime": c.Runtime, "image": c.Image, "privileged": c.Privileged}
	if c.ImageDigest != "" {
		attrs["image_digest"] = c.ImageDigest
	}
	if c.Pod != nil {
		attrs["pod"] = c.Pod.Namespace + "/" + c.Pod.Name
	}
	out := []store.Asset{{Kind: store.AssetContainer, ID: c.ShortID(), Name: c.Name, FirstSeen: now, LastSeen: now, Attributes: attrs}}
	if img := c.ImageRepo; img != "" {
		a := map[string]any{"reference": c.Image}
		if c.ImageDigest != "" {
			a["digest"] = c.ImageDigest
		}
		out = append(out, store.Asset{Kind: store.AssetImage, ID: img, Name: c.Image, FirstSeen: now, LastSeen: now, Attributes: a})
	}
	if c.Pod != nil && c.Pod.Name != "" {
		out = append(out, store.Asset{Kind: store.AssetPod, ID: c.Pod.Namespace + "/" + c.Pod.Name, Name: c.Pod.Name,
			FirstSeen: now, LastSeen: now, Attributes: map[string]any{"namespace": c.Pod.Namespace, "uid": c.Pod.UID}})
	}
	return out
}
