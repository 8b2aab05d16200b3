package secret

import "regexp"

// placeholders are values of config files that are not secrets.
var placeholders = Allowlist{
	Description: "placeholders and references",
	Regexes: []*regexp.Regexp{
		regexp.MustCompile(`(?i)^(?:\$\{?[\w.:-]+\}?|\{\{.*\}\}|<[^>]+>|%\w+%|(?:x+|\*+|\.+)|changeme|change_me|password|secret|example|dummy|placeholder|redacted|true|false|null|none)$`),
	},
	StopWords: []string{"example", "changeme", "placeholder", "your_", "your-", "xxxxxx", "dummy", "sample"},
}

// configFiles are the paths where a generic "password = value" counts.
var configFiles = regexp.MustCompile(`(?i)(?:^|/)(?:\.env(?:\.[\w.-]+)?|[^/]*\.(?:env|ini|cfg|conf|config|cnf|properties|ya?ml|toml|json|xml|tf|tfvars|sh|bash|zsh|ps1)|Dockerfile[^/]*|docker-compose[^/]*|credentials|\.netrc|\.pgpass|\.git-credentials|\.kube/config)$`)

// Builtin returns Vigil's own rule set. Each call returns new rules.
func Builtin() []*Rule {
	re := regexp.MustCompile
	return []*Rule{
		{
			ID: "aws-access-key-id", Description: "AWS access key ID", Severity: High,
			Regex:    re(`\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b`),
			Keywords: []string{"a3t", "akia", "asia", "abia", "acca"},
		},
		{
			ID: "aws-secret-access-key", Description: "AWS secret access key", Severity: Critical,
			Regex:    re(`(?i)aws_?secret_?access_?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`),
			Keywords: []string{"secret_access_key", "secretaccesskey"},
			Entropy:  3.5,
		},
		{
			ID: "gcp-service-account-key", Description: "Google Cloud service account key (private_key_id of a key file)", Severity: Critical,
			Regex:    re(`"private_key_id"\s*:\s*"([a-f0-9]{40})"`),
			Keywords: []string{"private_key_id"},
		},
		{
			ID: "azure-storage-account-key", Description: "Azure storage account key", Severity: Critical,
			Regex:    re(`(?i)(?:AccountKey|azure_?storage_?(?:account_?)?key)["']?\s*[:=]\s*["']?([A-Za-z0-9+/]{86}==)`),
			Keywords: []string{"accountkey", "storage_key", "storagekey", "storage_account_key"},
		},
		{
			ID: "github-token", Description: "GitHub token", Severity: Critical,
			Regex:    re(`\b((?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b`),
			Keywords: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"},
		},
		{
			ID: "gitlab-token", Description: "GitLab personal, project or group access token", Severity: Critical,
			Regex:    re(`\b(glpat-[A-Za-z0-9_-]{20})(?:[^A-Za-z0-9_-]|$)`),
			Keywords: []string{"glpat-"},
		},
		{
			ID: "slack-token", Description: "Slack token", Severity: High,
			Regex:    re(`\b(xox[abposr]-(?:\d+-)+[A-Za-z0-9-]{10,})`),
			Keywords: []string{"xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-"},
		},
		{
			ID: "slack-webhook-url", Description: "Slack incoming webhook URL", Severity: High,
			Regex:    re(`https://hooks\.slack\.com/services/(T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{24})`),
			Keywords: []string{"hooks.slack.com"},
		},
		{
			ID: "stripe-secret-key", Description: "Stripe secret or restricted key", Severity: Critical,
			Regex:    re(`\b((?:sk|rk)_(?:live|test)_[A-Za-z0-9]{24,247})\b`),
			Keywords: []string{"sk_live_", "sk_test_", "rk_live_", "rk_test_"},
		},
		{
			ID: "private-key", Description: "Private key (PEM, OpenSSH or PGP block)", Severity: Critical,
			Regex:    re(`-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----\s*(?:[A-Za-z-]+: [^\n]*\n)*\s*([A-Za-z0-9+/=\s\\n]{64,}?)\s*-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----`),
			Keywords: []string{"private key"},
		},
		{
			ID: "jwt", Description: "JSON Web Token", Severity: Medium,
			Regex:    re(`\b(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,})`),
			Keywords: []string{"eyj"},
		},
		{
			ID: "database-url-password", Description: "Database or broker URL with a password", Severity: High,
			Regex:      re(`\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver|clickhouse)://[^\s:/@'"]+:([^\s:/@'"]{3,})@[^\s/'"]+`),
			Keywords:   []string{"postgres", "mysql", "mariadb", "mongodb", "redis", "amqp", "mssql", "sqlserver", "clickhouse"},
			Allowlists: []Allowlist{placeholders},
		},
		{
			ID: "docker-config-auth", Description: "Docker registry credentials (config.json auth)", Severity: High,
			Regex:    re(`"(?:auth|identitytoken)"\s*:\s*"([A-Za-z0-9+/=_.-]{16,})"`),
			Keywords: []string{`"auth"`, `"identitytoken"`},
		},
		{
			ID: "generic-password", Description: "Password or secret assigned in a configuration file", Severity: Medium,
			Regex:      re(`(?i)(?:^|[\s"'{,;(])[\w.-]{0,30}(?:password|passwd|pwd|secret|token|api_?key|access_?key|auth_?key|credentials?)["']?\s*(?:=|:|:=|=>)\s*["']?([^\s"'#,;]{8,200})`),
			Keywords:   []string{"password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "access_key", "accesskey", "auth_key", "credential"},
			Path:       configFiles,
			Entropy:    3.0,
			Allowlists: []Allowlist{placeholders},
		},
	}
}
