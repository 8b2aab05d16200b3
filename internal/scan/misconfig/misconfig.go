// Package misconfig checks an image's configuration, build history and file
// metadata for risky settings: running as root, remote ADD, secrets in
// ENV/ARG, setuid/setgid binaries, world-writable system paths, a floating
// base image tag, SSH servers and package caches left in the image.
package misconfig

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Check IDs.
const (
	IDRootUser       = "VGL-IMG-001"
	IDRemoteAdd      = "VGL-IMG-002"
	IDSecretInEnv    = "VGL-IMG-003"
	IDSetuid         = "VGL-IMG-004"
	IDWorldWritable  = "VGL-IMG-005"
	IDFloatingBase   = "VGL-IMG-006"
	IDSSHServer      = "VGL-IMG-007"
	IDPackageCache   = "VGL-IMG-008"
	redactedValue    = "****"
	baseNameLabel    = "org.opencontainers.image.base.name"
	maxCacheExamples = 3
)

// Finding is one misconfiguration.
type Finding struct {
	ID        string `json:"id"`
	Severity  string `json:"severity"`
	Title     string `json:"title"`
	Detail    string `json:"detail,omitempty"`
	Path      string `json:"path,omitempty"`
	Layer     string `json:"layer,omitempty"` // digest of the layer, empty for config-only steps
	CreatedBy string `json:"created_by,omitempty"`
}

// Step is one history entry of the image, in build order, with the digest
// of the layer it created ("" for empty layers such as ENV or USER).
type Step struct {
	CreatedBy string
	Layer     string
}

// Steps pairs the config's history with the layer digests (base first), as
// image.Layers does for non-empty entries.
func Steps(cfg *v1.ConfigFile, layerDigests []string) []Step {
	if cfg == nil {
		return nil
	}
	nonEmpty := 0
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			nonEmpty++
		}
	}
	pair := nonEmpty == len(layerDigests)
	var out []Step
	i := 0
	for _, h := range cfg.History {
		s := Step{CreatedBy: h.CreatedBy}
		if !h.EmptyLayer {
			if pair {
				s.Layer = layerDigests[i]
			}
			i++
		}
		out = append(out, s)
	}
	return out
}

// instruction returns the Dockerfile keyword and arguments of a history
// created_by ("/bin/sh -c #(nop)  ENV A=b" and BuildKit's "ENV A=b").
func instruction(createdBy string) (string, string) {
	s := strings.TrimSpace(createdBy)
	if i := strings.Index(s, "#(nop)"); i >= 0 {
		s = strings.TrimSpace(s[i+len("#(nop)"):])
	} else if strings.HasPrefix(s, "/bin/sh -c ") {
		return "RUN", strings.TrimPrefix(s, "/bin/sh -c ")
	}
	s = strings.TrimSuffix(s, " # buildkit")
	kw, rest, _ := strings.Cut(s, " ")
	return strings.ToUpper(kw), strings.TrimSpace(rest)
}

var (
	secretName = regexp.MustCompile(`(?i)(passw(or)?d|passphrase|secret|token|api_?key|access_?key|private_?key|credential|auth)`)
	notSecret  = regexp.MustCompile(`(?i)(_FILE|_PATH|_DIR|_URL_?FILE)$`)
	awsKeyID   = regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`)
)

// secretVar reports whether an ENV/ARG name=value pair looks like a secret.
func secretVar(name, value string) bool {
	if value == "" || strings.HasPrefix(value, "$") {
		return false
	}
	if awsKeyID.MatchString(value) {
		return true
	}
	return secretName.MatchString(name) && !notSecret.MatchString(name)
}

// splitAssignments parses "A=b C=d" and "A b" (the old ENV form).
func splitAssignments(kw, args string) [][2]string {
	var out [][2]string
	fields := strings.Fields(args)
	if len(fields) >= 2 && !strings.Contains(fields[0], "=") && kw == "ENV" {
		return [][2]string{{fields[0], strings.Join(fields[1:], " ")}}
	}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		out = append(out, [2]string{k, strings.Trim(v, `"'`)})
	}
	return out
}

// CheckConfig checks the image configuration and history.
func CheckConfig(cfg *v1.ConfigFile, steps []Step) []Finding {
	if cfg == nil {
		return nil
	}
	var out []Finding
	// Root user: the last USER step sets it; without one the image runs as root.
	user := strings.TrimSpace(cfg.Config.User)
	name, _, _ := strings.Cut(user, ":")
	if name == "" || name == "root" || name == "0" {
		f := Finding{ID: IDRootUser, Severity: "MEDIUM", Title: "image runs as root",
			Detail: "no USER instruction sets a non-root user; add USER with an unprivileged account"}
		if user != "" {
			f.Detail = fmt.Sprintf("USER is %q", user)
		}
		for i := len(steps) - 1; i >= 0; i-- {
			if kw, _ := instruction(steps[i].CreatedBy); kw == "USER" {
				f.CreatedBy, f.Layer = steps[i].CreatedBy, steps[i].Layer
				break
			}
		}
		out = append(out, f)
	}
	seenSecret := map[string]bool{}
	for _, s := range steps {
		kw, args := instruction(s.CreatedBy)
		switch kw {
		case "ADD":
			for _, a := range strings.Fields(args) {
				if strings.HasPrefix(a, "--") {
					continue
				}
				if strings.HasPrefix(a, "http://") || strings.HasPrefix(a, "https://") {
					out = append(out, Finding{ID: IDRemoteAdd, Severity: "MEDIUM", Title: "ADD downloads from a remote URL",
						Detail: "ADD " + a + " fetches content at build time without verification; use curl with a checksum or COPY",
						Layer:  s.Layer, CreatedBy: s.CreatedBy})
				}
				break
			}
		case "ENV", "ARG":
			for _, kv := range splitAssignments(kw, args) {
				if secretVar(kv[0], kv[1]) && !seenSecret[kv[0]] {
					seenSecret[kv[0]] = true
					out = append(out, secretFinding(kw, kv[0], s.Layer, redactCreatedBy(s.CreatedBy, kv[1])))
				}
			}
		case "RUN":
			// BuildKit records build args of RUN as "RUN |2 A=b C=d /bin/sh -c ...".
			if strings.HasPrefix(args, "|") {
				for _, kv := range splitAssignments("ARG", args) {
					if secretVar(kv[0], kv[1]) && !seenSecret[kv[0]] {
						seenSecret[kv[0]] = true
						out = append(out, secretFinding("ARG", kv[0], s.Layer, redactCreatedBy(s.CreatedBy, kv[1])))
					}
				}
			}
		}
	}
	for _, e := range cfg.Config.Env {
		k, v, _ := strings.Cut(e, "=")
		if secretVar(k, v) && !seenSecret[k] {
			seenSecret[k] = true
			out = append(out, secretFinding("ENV", k, "", ""))
		}
	}
	if base := cfg.Config.Labels[baseNameLabel]; base != "" && floatingTag(base) {
		out = append(out, Finding{ID: IDFloatingBase, Severity: "LOW", Title: "base image uses the latest tag or no tag",
			Detail: "base image " + base + " (label " + baseNameLabel + ") is not pinned to a version or digest"})
	}
	return out
}

func secretFinding(kw, name, layer, createdBy string) Finding {
	return Finding{ID: IDSecretInEnv, Severity: "HIGH", Title: "secret in " + kw + " " + name,
		Detail: kw + " " + name + "=" + redactedValue + ": the value is stored in the image config or history for anyone who pulls it",
		Layer:  layer, CreatedBy: createdBy}
}

// redactCreatedBy replaces value and the values of every secret-looking
// assignment in a history entry.
func redactCreatedBy(s, value string) string {
	if value != "" {
		s = strings.ReplaceAll(s, value, redactedValue)
	}
	fields := strings.Fields(s)
	for i, f := range fields {
		if k, v, ok := strings.Cut(f, "="); ok && secretVar(k, strings.Trim(v, `"'`)) {
			fields[i] = k + "=" + redactedValue
		}
	}
	return strings.Join(fields, " ")
}

// floatingTag reports a reference without a digest whose tag is latest or
// missing.
func floatingTag(ref string) bool {
	if strings.Contains(ref, "@") {
		return false
	}
	last := ref[strings.LastIndexByte(ref, '/')+1:]
	_, tag, ok := strings.Cut(last, ":")
	return !ok || tag == "" || tag == "latest"
}

// systemDirs are the top-level directories where a world-writable entry
// lets any user change what root runs.
var systemDirs = map[string]bool{"bin": true, "sbin": true, "usr": true, "lib": true, "lib32": true, "lib64": true, "libx32": true, "etc": true, "boot": true, "opt": true}

// Files collects the checks on file metadata during a walk. Add must be
// called for each visible entry that Wanted selects.
type Files struct {
	findings []Finding
	caches   map[string]*cacheUse
}

type cacheUse struct {
	files    int
	bytes    int64
	examples []string
	layer    string
	created  string
}

var sshdPaths = map[string]bool{"usr/sbin/sshd": true, "sbin/sshd": true, "usr/sbin/dropbear": true, "usr/bin/dropbear": true}

// cacheKind names the package cache holding p, or "".
func cacheKind(p string, mode fs.FileMode) string {
	if !mode.IsRegular() {
		return ""
	}
	switch {
	case strings.HasPrefix(p, "var/cache/apt/archives/") && strings.HasSuffix(p, ".deb"):
		return "apt archives (var/cache/apt/archives)"
	case strings.HasPrefix(p, "var/lib/apt/lists/") && !strings.HasSuffix(p, "/lock") && path.Dir(p) == "var/lib/apt/lists":
		return "apt lists (var/lib/apt/lists)"
	case strings.HasPrefix(p, "var/cache/apk/") && path.Base(p) != "installed":
		return "apk cache (var/cache/apk)"
	case strings.Contains("/"+p, "/.cache/pip/"):
		return "pip cache (.cache/pip)"
	case strings.HasPrefix(p, "var/cache/yum/") || strings.HasPrefix(p, "var/cache/dnf/"):
		return "yum/dnf cache"
	}
	return ""
}

// Wanted selects the entries whose metadata the checks need.
func (f *Files) Wanted(p string, mode fs.FileMode) bool {
	if mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 && mode.IsRegular() {
		return true
	}
	if worldWritable(p, mode) || sshdPaths[p] {
		return true
	}
	return cacheKind(p, mode) != ""
}

func worldWritable(p string, mode fs.FileMode) bool {
	if mode&fs.ModeSymlink != 0 || mode.Perm()&0o002 == 0 {
		return false
	}
	if mode.IsDir() && mode&fs.ModeSticky != 0 {
		return false
	}
	top, _, _ := strings.Cut(p, "/")
	return systemDirs[top]
}

// Add records one entry selected by Wanted.
func (f *Files) Add(layer, createdBy, p string, mode fs.FileMode, size int64) {
	if mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 && mode.IsRegular() {
		bits := "setuid"
		if mode&fs.ModeSetuid == 0 {
			bits = "setgid"
		} else if mode&fs.ModeSetgid != 0 {
			bits = "setuid and setgid"
		}
		f.findings = append(f.findings, Finding{ID: IDSetuid, Severity: "LOW", Title: bits + " binary " + p,
			Detail: "runs with its owner's privileges; remove the bit if the image does not need it (chmod u-s,g-s)",
			Path:   p, Layer: layer, CreatedBy: createdBy})
	}
	if worldWritable(p, mode) {
		f.findings = append(f.findings, Finding{ID: IDWorldWritable, Severity: "MEDIUM", Title: "world-writable system path " + p,
			Detail: fmt.Sprintf("mode %s: any user can modify it", mode), Path: p, Layer: layer, CreatedBy: createdBy})
	}
	if sshdPaths[p] && mode.IsRegular() {
		f.findings = append(f.findings, Finding{ID: IDSSHServer, Severity: "MEDIUM", Title: "SSH server installed",
			Detail: p + ": containers are reached with exec, not SSH; an SSH daemon widens the attack surface",
			Path:   p, Layer: layer, CreatedBy: createdBy})
	}
	if k := cacheKind(p, mode); k != "" {
		if f.caches == nil {
			f.caches = map[string]*cacheUse{}
		}
		c := f.caches[k]
		if c == nil {
			c = &cacheUse{layer: layer, created: createdBy}
			f.caches[k] = c
		}
		c.files++
		c.bytes += size
		if len(c.examples) < maxCacheExamples {
			c.examples = append(c.examples, p)
		}
	}
}

// AddPackage records an installed package, for checks that key on names
// (SSH servers installed as packages).
func (f *Files) AddPackage(name, layer, createdBy string) {
	switch name {
	case "openssh-server", "dropbear", "dropbear-bin":
		f.findings = append(f.findings, Finding{ID: IDSSHServer, Severity: "MEDIUM", Title: "SSH server installed",
			Detail: "package " + name + ": containers are reached with exec, not SSH; an SSH daemon widens the attack surface",
			Layer:  layer, CreatedBy: createdBy})
	}
}

// Findings returns the file checks' findings, one per package cache kind,
// sorted by ID then path. SSH findings found both by file and package are
// merged.
func (f *Files) Findings() []Finding {
	out := make([]Finding, 0, len(f.findings)+len(f.caches))
	sshSeen := false
	for _, x := range f.findings {
		if x.ID == IDSSHServer {
			if sshSeen {
				continue
			}
			sshSeen = true
		}
		out = append(out, x)
	}
	for k, c := range f.caches {
		out = append(out, Finding{ID: IDPackageCache, Severity: "LOW", Title: "package cache left in the image: " + k,
			Detail: fmt.Sprintf("%d files, %d bytes (e.g. %s); clean it in the same RUN step that fills it", c.files, c.bytes, strings.Join(c.examples, ", ")),
			Path:   c.examples[0], Layer: c.layer, CreatedBy: c.created})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Title < out[j].Title
	})
	return out
}
