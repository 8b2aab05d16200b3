package misconfig

import (
	"io/fs"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/require"
)

func ids(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

func TestCheckConfig(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     v1.Config
		history []v1.History
		want    []string
		check   func(t *testing.T, got []Finding)
	}{
		{
			name: "non-root user, nothing else",
			cfg:  v1.Config{User: "app"},
			history: []v1.History{
				{CreatedBy: "/bin/sh -c #(nop) ADD file:abc in / "},
				{CreatedBy: "USER app", EmptyLayer: true},
			},
		},
		{
			name:    "no USER runs as root",
			history: []v1.History{{CreatedBy: "/bin/sh -c #(nop) ADD file:abc in / "}},
			want:    []string{IDRootUser},
		},
		{
			name:    "USER 0:0 is root and names the step",
			cfg:     v1.Config{User: "0:0"},
			history: []v1.History{{CreatedBy: "COPY x / # buildkit"}, {CreatedBy: "USER 0:0", EmptyLayer: true}},
			want:    []string{IDRootUser},
			check: func(t *testing.T, got []Finding) {
				require.Equal(t, "USER 0:0", got[0].CreatedBy)
			},
		},
		{
			name: "remote ADD, secrets in ENV, ARG and RUN build args, redacted",
			cfg: v1.Config{User: "1000", Env: []string{"PATH=/usr/bin", "DB_PASSWORD=hunter2hunter2", "API_TOKEN_FILE=/run/secrets/t"},
				Labels: map[string]string{baseNameLabel: "docker.io/library/debian"}},
			history: []v1.History{
				{CreatedBy: "ADD https://example.com/tool.tgz /opt/ # buildkit"},
				{CreatedBy: "/bin/sh -c #(nop)  ENV DB_PASSWORD=hunter2hunter2", EmptyLayer: true},
				{CreatedBy: "ARG GITHUB_TOKEN=ghp_abcdefabcdef", EmptyLayer: true},
				{CreatedBy: "RUN |1 NPM_AUTH=npm_zzzzzzzz /bin/sh -c npm ci # buildkit"},
				{CreatedBy: "ENV AWS_KEY AKIAIOSFODNN7EXAMPLE", EmptyLayer: true},
			},
			want: []string{IDRemoteAdd, IDSecretInEnv, IDSecretInEnv, IDSecretInEnv, IDSecretInEnv, IDFloatingBase},
			check: func(t *testing.T, got []Finding) {
				for _, f := range got {
					for _, secret := range []string{"hunter2", "ghp_abc", "npm_zz", "AKIAIOSF"} {
						require.NotContains(t, f.Detail+f.CreatedBy+f.Title, secret, "secret value leaked in %+v", f)
					}
				}
				require.Equal(t, "RUN |1 NPM_AUTH=**** /bin/sh -c npm ci # buildkit", got[3].CreatedBy)
				require.Equal(t, "L0", got[0].Layer)
			},
		},
		{
			name: "base pinned by tag is fine",
			cfg:  v1.Config{User: "app", Labels: map[string]string{baseNameLabel: "localhost:5000/debian:12"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &v1.ConfigFile{Config: tc.cfg, History: tc.history}
			var digests []string
			for i, h := range tc.history {
				if !h.EmptyLayer {
					digests = append(digests, "L"+string(rune('0'+i)))
				}
			}
			got := CheckConfig(cfg, Steps(cfg, digests))
			require.Equal(t, tc.want, ids(got), "%+v", got)
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

func TestFloatingTag(t *testing.T) {
	for ref, want := range map[string]bool{
		"debian": true, "debian:latest": true, "localhost:5000/debian": true,
		"debian:12": false, "localhost:5000/debian:12": false, "debian@sha256:abc": false,
	} {
		require.Equal(t, want, floatingTag(ref), ref)
	}
}

func TestFiles(t *testing.T) {
	entries := []struct {
		path string
		mode fs.FileMode
		size int64
	}{
		{"usr/bin/passwd", 0o755 | fs.ModeSetuid, 10},
		{"usr/bin/chage", 0o755 | fs.ModeSetgid, 10},
		{"usr/bin/ls", 0o755, 10},
		{"tmp", 0o777 | fs.ModeDir | fs.ModeSticky, 0},
		{"etc/app.conf", 0o666, 10},
		{"usr/local/share", 0o777 | fs.ModeDir, 0},
		{"home/u/x", 0o777, 1},
		{"usr/lib/link", 0o777 | fs.ModeSymlink, 0},
		{"usr/sbin/sshd", 0o755, 100},
		{"var/cache/apt/archives/a.deb", 0o644, 1000},
		{"var/cache/apt/archives/b.deb", 0o644, 2000},
		{"var/cache/apt/archives/lock", 0o640, 0},
		{"var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", 0o644, 500},
		{"var/lib/apt/lists/lock", 0o640, 0},
		{"root/.cache/pip/http/x", 0o644, 5},
	}
	var f Files
	for _, e := range entries {
		if f.Wanted(e.path, e.mode) {
			f.Add("sha256:l1", "RUN apt-get install", e.path, e.mode, e.size)
		}
	}
	f.AddPackage("openssh-server", "sha256:l1", "RUN apt-get install")
	got := f.Findings()
	var titles []string
	for _, x := range got {
		titles = append(titles, x.ID+" "+x.Title)
	}
	require.Equal(t, []string{
		"VGL-IMG-004 setgid binary usr/bin/chage",
		"VGL-IMG-004 setuid binary usr/bin/passwd",
		"VGL-IMG-005 world-writable system path etc/app.conf",
		"VGL-IMG-005 world-writable system path usr/local/share",
		"VGL-IMG-007 SSH server installed",
		"VGL-IMG-008 package cache left in the image: pip cache (.cache/pip)",
		"VGL-IMG-008 package cache left in the image: apt archives (var/cache/apt/archives)",
		"VGL-IMG-008 package cache left in the image: apt lists (var/lib/apt/lists)",
	}, titles)
	for _, x := range got {
		if strings.Contains(x.Title, "apt archives") {
			require.Contains(t, x.Detail, "2 files, 3000 bytes")
		}
		require.Equal(t, "sha256:l1", x.Layer)
	}
}
