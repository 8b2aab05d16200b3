package secret

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/testutil"
)

// AWS's documented example credentials (IAM user guide).
const (
	awsKeyID  = "AKIAIOSFODNN7EXAMPLE"
	awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// Planted secrets of the realistic files below: none may appear in any
// field of any finding.
var (
	ghToken     = "ghp_" + "R2sT9vKx4LmQ8wZp1NcY7uHb3JdE6fGa0iOq"
	glToken     = "glpat-" + "x9Kd2LmQ7vRt4WsZp1Nc"
	stripeKey   = "sk_live_" + "51HqP8vKx4LmQ8wZp1NcY7uHb3JdE6fGa0iOq2T"
	slackToken  = "xoxb-" + "2739164855-1736408123856-Zk8Rq2LmVx7TbN4cWp9YsJ3d"
	dbPassword  = "s3cr3t-Pa55w0rd-91x"
	envPassword = "Tr0ub4dor&3-Horse-Battery"
	azureKey    = strings.Repeat("Zm9vYmFyYmF6", 8)[:86] + "=="
	dockerAuth  = base64.StdEncoding.EncodeToString([]byte("deploy:Hx7#kLq9$wVz2pR"))
)

func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","kid":"Yx8hXr2qLmN5cVb7"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("\x8f\x12\xa9\x33\x71\xbe\x04\xcc\x5d\x90\x2e\x61\xf7\x18\xab\x4c\x39\xd2\xe8\x07"))
}

type file struct {
	name, content string
	secrets       []string // raw secrets in it
	want          []string // "rule-id:line" of expected findings
}

// realistic returns realistic files holding secrets; the SSH and GCP keys
// are generated with ssh-keygen.
func realistic(t *testing.T) []file {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("ssh-keygen not installed (openssh-client)")
	}
	dir := t.TempDir()
	keygen := func(name string, args ...string) (string, string) {
		p := filepath.Join(dir, name)
		out, err := exec.Command("ssh-keygen", append([]string{"-q", "-N", "", "-C", "ci@example", "-f", p}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		body := strings.Join(strings.Split(strings.TrimSpace(string(b)), "\n")[1:], "\n")
		return string(b), body[:strings.LastIndex(body, "\n")]
	}
	ed, edBody := keygen("id_ed25519", "-t", "ed25519")
	rsaPEM, rsaBody := keygen("id_rsa", "-t", "rsa", "-b", "2048", "-m", "PEM")
	pkcs8, _ := keygen("gcp", "-t", "rsa", "-b", "2048", "-m", "PKCS8")
	saToken := jwt(`{"iss":"kubernetes/serviceaccount","kubernetes.io/serviceaccount/namespace":"ci","sub":"system:serviceaccount:ci:deployer"}`)
	gcpKeyID := "3f1c5a9e0b7d24c68e1fa3b95d0c72e4a81b6f09"
	gcp, err := json.MarshalIndent(map[string]string{
		"type": "service_account", "project_id": "vigil-ci", "private_key_id": gcpKeyID,
		"private_key": pkcs8, "client_email": "ci@vigil-ci.iam.gserviceaccount.com", "client_id": "104857392019283746512",
		"token_uri": "https://oauth2.googleapis.com/token",
	}, "", "  ")
	require.NoError(t, err)
	return []file{
		{"home/ci/.aws/credentials", "[default]\naws_access_key_id = " + awsKeyID + "\naws_secret_access_key = " + awsSecret + "\nregion = us-east-1\n",
			[]string{awsKeyID, awsSecret}, []string{"aws-access-key-id:2", "aws-secret-access-key:3"}},
		{"app/.env", "# app settings\nDEBUG=false\nDATABASE_URL=postgres://app:" + dbPassword + "@db.internal:5432/app\nADMIN_PASSWORD=" + envPassword + "\nSTRIPE_KEY=" + stripeKey + "\nAPI_TOKEN=${API_TOKEN}\nSMTP_PASSWORD=changeme\n",
			[]string{dbPassword, envPassword, stripeKey}, []string{"database-url-password:3", "generic-password:4", "stripe-secret-key:5"}},
		{"root/.kube/config", "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://10.0.0.1:6443\n  name: prod\nusers:\n- name: deployer\n  user:\n    token: " + saToken + "\ncontexts: []\n",
			[]string{saToken}, []string{"jwt:10"}}, // generic-password matches the same span: reported once
		{"home/ci/.ssh/id_ed25519", ed, []string{edBody}, []string{"private-key:2"}},
		{"home/ci/.ssh/id_rsa", rsaPEM, []string{rsaBody}, []string{"private-key:2"}},
		{"secrets/sa.json", string(gcp), []string{gcpKeyID}, []string{"private-key:4", "gcp-service-account-key:5"}},
		{"root/.docker/config.json", `{"auths":{"registry.example.com":{"auth":"` + dockerAuth + `"}}}`, []string{dockerAuth}, []string{"docker-config-auth:1"}},
		{"deploy/ci.sh", "#!/bin/sh\ncurl -H \"Authorization: token " + ghToken + "\" https://api.github.com/user\ngit clone https://oauth2:" + glToken + "@gitlab.com/g/p.git\nSLACK=" + slackToken + "\n",
			[]string{ghToken, glToken, slackToken}, []string{"github-token:2", "gitlab-token:3", "slack-token:4"}},
		{"app/appsettings.json", `{"Storage": "DefaultEndpointsProtocol=https;AccountName=vigil;AccountKey=` + azureKey + `;EndpointSuffix=core.windows.net"}`,
			[]string{azureKey}, []string{"azure-storage-account-key:1"}},
	}
}

func ids(fs []Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.RuleID+":"+itoa(f.Line))
	}
	return out
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// requireRedacted fails when any raw secret, or any 8-byte piece of one,
// appears in any field of the findings.
func requireRedacted(t *testing.T, fs []Finding, secrets []string) {
	t.Helper()
	b, err := json.Marshal(fs)
	require.NoError(t, err)
	var out bytes.Buffer
	json.HTMLEscape(&out, b) // compare on unescaped text too
	all := string(b) + "\n" + strings.ReplaceAll(string(b), `\u0026`, "&")
	for _, s := range secrets {
		for i := 4; i+8 <= len(s); i++ {
			piece := s[i : i+8]
			require.NotContains(t, all, piece, "secret piece %q leaked", piece)
		}
	}
	for _, f := range fs {
		require.True(t, f.Secret == "****" || strings.HasSuffix(f.Secret, "****") && len(f.Secret) <= 4*4+4, "secret %q not redacted", f.Secret)
		require.True(t, strings.HasSuffix(f.Match, f.Secret), "match %q does not end with the redacted secret", f.Match)
	}
}

func TestBuiltinRealistic(t *testing.T) {
	s := New(Builtin())
	for _, f := range realistic(t) {
		t.Run(f.name, func(t *testing.T) {
			fs, err := s.Scan(context.Background(), f.name, strings.NewReader(f.content))
			require.NoError(t, err)
			require.Equal(t, f.want, ids(fs))
			requireRedacted(t, fs, f.secrets)
			for _, x := range fs {
				require.Equal(t, f.name, x.File)
				require.NotEmpty(t, x.Description)
				require.NotEmpty(t, x.Severity)
				require.Positive(t, x.Column)
			}
		})
	}
}

func TestPositions(t *testing.T) {
	fs, err := New(Builtin()).ScanBytes(context.Background(), "creds", []byte("x\n\n  key: "+awsKeyID+"\n"))
	require.NoError(t, err)
	require.Equal(t, []Finding{{RuleID: "aws-access-key-id", Description: "AWS access key ID", Severity: High, File: "creds", Line: 3, Column: 8, Secret: "AKIA****", Match: "AKIA****"}}, fs)
	fs, err = New(Builtin()).ScanBytes(context.Background(), "a.yaml", []byte("db:\n  password: \"Qz8&mW2!vL5x\"\n"))
	require.NoError(t, err)
	require.Len(t, fs, 1)
	require.Equal(t, "generic-password", fs[0].RuleID)
	require.Equal(t, 2, fs[0].Line)
	require.Equal(t, 14, fs[0].Column)
	require.Equal(t, ` password: "****`, fs[0].Match) // the match starts at the separator before the key
}

// TestFalsePositives scans real files full of hashes and minified code.
func TestFalsePositives(t *testing.T) {
	root, err := exec.Command("go", "env", "GOMOD").Output()
	require.NoError(t, err)
	repo := filepath.Dir(strings.TrimSpace(string(root)))
	files := []string{
		filepath.Join(repo, "go.sum"),
		filepath.Join(repo, "internal/scan/analyzer/npm/testdata/v3/package-lock.json"),
		filepath.Join(repo, "internal/scan/analyzer/npm/testdata/v1/package-lock.json"),
		filepath.Join(repo, "internal/scan/analyzer/cargo/testdata/Cargo.lock"),
		filepath.Join(repo, "internal/scan/analyzer/ruby/testdata/Gemfile.lock"),
	}
	for _, js := range []string{"/usr/share/javascript/jquery/jquery.min.js", "/usr/lib/node_modules/npm/node_modules/glob/dist/esm/index.min.js"} {
		if _, err := os.Stat(js); err == nil {
			files = append(files, js)
		}
	}
	if len(files) == 5 {
		t.Log("no minified JavaScript on this machine (libjs-jquery or npm); scanning lock files only")
	}
	s := New(Builtin())
	for _, p := range files {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		fs, err := s.ScanBytes(context.Background(), strings.TrimPrefix(p, "/"), data)
		require.NoError(t, err)
		require.Empty(t, fs, "%s: %v", p, fs)
	}
}

func TestBinaryAndCap(t *testing.T) {
	s := New(Builtin(), WithMaxSize(1<<10))
	bin := append([]byte("\x7fELF\x00\x00"), []byte("key="+awsKeyID)...)
	fs, err := s.Scan(context.Background(), "bin/app", bytes.NewReader(bin))
	require.NoError(t, err)
	require.Empty(t, fs)

	big := strings.Repeat("# padding line\n", 50) + "id=" + awsKeyID + "\n" + strings.Repeat("z", 2000) + "\nid2=AKIAJ7Q2ZK5TW3XYBL4M\n"
	fs, err = s.Scan(context.Background(), "big.txt", strings.NewReader(big))
	require.ErrorIs(t, err, ErrTruncated)
	require.ErrorContains(t, err, "scan big.txt")
	require.Equal(t, []string{"aws-access-key-id:51"}, ids(fs))
}

func TestWanted(t *testing.T) {
	s := New(Builtin(), WithAllowlists(Allowlist{Paths: []*regexp.Regexp{regexp.MustCompile(`(?:^|/)node_modules/`)}}))
	for p, want := range map[string]bool{
		"app/.env":                    true,
		"etc/ssl/private/server.key":  true,
		"usr/share/icons/a.PNG":       false,
		"usr/lib/x86_64/libc.so":      false,
		"app/node_modules/a/index.js": false,
		"app.d/config":                true,
	} {
		require.Equal(t, want, s.Wanted(p, 0o644), p)
	}
	require.False(t, s.Wanted("app/.env", os.ModeSymlink|0o777))
}

func TestAllowlists(t *testing.T) {
	re := regexp.MustCompile
	base := func(al ...Allowlist) []*Rule {
		return []*Rule{{ID: "tok", Description: "token", Severity: High, Regex: re(`tok_([a-z0-9]{12})`), Keywords: []string{"tok_"}, Allowlists: al}}
	}
	content := []byte("a = tok_abcdefghij12\nb = tok_fakefakefake # test\n")
	for _, tc := range []struct {
		name   string
		rules  []*Rule
		global []Allowlist
		file   string
		want   []string
	}{
		{"none", base(), nil, "x.txt", []string{"tok:1", "tok:2"}},
		{"secret regex", base(Allowlist{Regexes: []*regexp.Regexp{re(`^fake`)}}), nil, "x.txt", []string{"tok:1"}},
		{"match regex", base(Allowlist{Target: TargetMatch, Regexes: []*regexp.Regexp{re(`^tok_abc`)}}), nil, "x.txt", []string{"tok:2"}},
		{"line regex", base(Allowlist{Target: TargetLine, Regexes: []*regexp.Regexp{re(`# test$`)}}), nil, "x.txt", []string{"tok:1"}},
		{"stopword", base(Allowlist{StopWords: []string{"fake"}}), nil, "x.txt", []string{"tok:1"}},
		{"path", base(Allowlist{Paths: []*regexp.Regexp{re(`_test\.go$`)}}), nil, "a_test.go", []string{}},
		{"and needs both", base(Allowlist{And: true, Paths: []*regexp.Regexp{re(`\.txt$`)}, StopWords: []string{"fake"}}), nil, "x.txt", []string{"tok:1"}},
		{"and fails on path", base(Allowlist{And: true, Paths: []*regexp.Regexp{re(`\.md$`)}, StopWords: []string{"fake"}}), nil, "x.txt", []string{"tok:1", "tok:2"}},
		{"global", base(), []Allowlist{{StopWords: []string{"fake"}}}, "x.txt", []string{"tok:1"}},
		{"global other rule", base(), []Allowlist{{StopWords: []string{"fake"}, TargetRules: []string{"other"}}}, "x.txt", []string{"tok:1", "tok:2"}},
		{"global path", base(), []Allowlist{{Paths: []*regexp.Regexp{re(`^vendor/`)}}}, "vendor/x.txt", []string{}},
		{"rule path", []*Rule{{ID: "tok", Regex: re(`tok_([a-z0-9]{12})`), Path: re(`\.env$`)}}, nil, "x.txt", []string{}},
		{"entropy", []*Rule{{ID: "tok", Regex: re(`tok_([a-z0-9]{12})`), Entropy: 3.5}}, nil, "x.txt", []string{"tok:1"}},
		{"no keyword", []*Rule{{ID: "tok", Regex: re(`tok_([a-z0-9]{12})`), Keywords: []string{"zzz"}}}, nil, "x.txt", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := New(tc.rules, WithAllowlists(tc.global...)).ScanBytes(context.Background(), tc.file, content)
			require.NoError(t, err)
			require.Equal(t, tc.want, ids(fs))
		})
	}
}

// TestGitleaksDefault loads gitleaks' own default configuration (222
// rules) and runs it over the realistic files.
func TestGitleaksDefault(t *testing.T) {
	p := testutil.SharedData(t, "secrets/gitleaks/gitleaks.toml")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	cfg, err := LoadGitleaks(p, data)
	require.NoError(t, err)
	require.Len(t, cfg.Rules, 222)
	require.Empty(t, cfg.Skipped)
	require.Len(t, cfg.Allowlists, 1)
	s := New(cfg.Rules, WithAllowlists(cfg.Allowlists...))
	got := map[string]bool{}
	for _, f := range realistic(t) {
		fs, err := s.Scan(context.Background(), f.name, strings.NewReader(f.content))
		require.NoError(t, err)
		requireRedacted(t, fs, f.secrets)
		for _, x := range fs {
			got[x.RuleID] = true
		}
	}
	// AWS's example keys are allowlisted by gitleaks (".+EXAMPLE$"); the
	// GitHub token sits in a curl header, a rule as specific as github-pat.
	for _, id := range []string{"private-key", "jwt", "curl-auth-header", "gitlab-pat", "slack-bot-token", "stripe-access-token", "generic-api-key"} {
		require.True(t, got[id], "gitleaks rule %s found nothing; got %v", id, got)
	}
}

func TestGitleaksConfigs(t *testing.T) {
	for _, tc := range []struct {
		name, toml string
		rules      int
		skipped    []Skipped
		err        []string
	}{
		{"lookahead skipped", "[[rules]]\nid = \"la\"\nregex = '''secret(?=[0-9])'''\n\n[[rules]]\nid = \"ok\"\nregex = '''ok_[0-9]+'''\n", 1,
			[]Skipped{{"la", "regex: error parsing regexp: invalid or unsupported Perl syntax: `(?=`"}}, nil},
		{"backreference skipped", "[[rules]]\nid = \"br\"\nregex = '''(a)\\1'''\n", 0,
			[]Skipped{{"br", "regex: error parsing regexp: invalid escape sequence: `\\1`"}}, nil},
		{"bad allowlist regex skips its rule", "[[rules]]\nid = \"r\"\nregex = '''x'''\n[[rules.allowlists]]\nregexes = ['''(?!x)''']\n", 0,
			[]Skipped{{"r", "allowlists[0]: regexes: error parsing regexp: invalid or unsupported Perl syntax: `(?!`"}}, nil},
		{"all errors at once", "[[rules]]\ndescription = \"no id\"\n[[rules]]\nid = \"a\"\n[[rules]]\nid = \"b\"\nregex = '''(x)'''\nsecretGroup = 2\n[[rules]]\nid = \"c\"\nregex = '''x'''\nbogus = 1\n", 0, nil,
			[]string{"unknown key rules.bogus", "rules[0]: id missing", "rule a: neither regex nor path", "rule b: secretGroup 2 but the regex has 1 groups"}},
		{"syntax", "[[rules]\nid = 1\n", 0, nil, []string{"toml: line 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoadGitleaks("my.toml", []byte(tc.toml))
			if tc.err != nil {
				require.Error(t, err)
				require.Contains(t, err.Error(), "load gitleaks config my.toml")
				for _, e := range tc.err {
					require.Contains(t, err.Error(), e)
				}
				return
			}
			require.NoError(t, err)
			require.Len(t, cfg.Rules, tc.rules)
			require.Equal(t, tc.skipped, cfg.Skipped)
		})
	}
}

// TestGitleaksInvalid loads gitleaks' own invalid configuration fixtures.
func TestGitleaksInvalid(t *testing.T) {
	dir := testutil.SharedData(t, "secrets/gitleaks/config-testdata/invalid")
	files, err := filepath.Glob(filepath.Join(dir, "*.toml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = LoadGitleaks(f, data)
		require.Error(t, err, filepath.Base(f))
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "****",
		"short":                "****",
		"fifteen-chars-x":      "****",
		"AKIAIOSFODNN7EXAMPLE": "AKIA****",
		"ñandú-secret-value-1": "ñand****",
	} {
		require.Equal(t, want, Redact(in), in)
	}
}

func FuzzScan(f *testing.F) {
	f.Add([]byte("aws_secret_access_key = " + awsSecret + "\npassword=Hx7kLq9wVz2pR\n-----BEGIN RSA PRIVATE KEY-----\nabc\n"))
	s := New(Builtin())
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := s.ScanBytes(context.Background(), "a/.env", data)
		require.NoError(t, err)
		for _, x := range fs {
			if x.Line < 1 || x.Column < 1 || !strings.HasSuffix(x.Secret, "****") {
				t.Fatalf("bad finding %+v", x)
			}
		}
	})
}

func FuzzLoadGitleaks(f *testing.F) {
	f.Add([]byte("[[rules]]\nid = \"a\"\nregex = '''a(b)'''\nsecretGroup = 1\nkeywords = [\"a\"]\n[[rules.allowlists]]\nstopwords = [\"x\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = LoadGitleaks("f.toml", data)
	})
}
