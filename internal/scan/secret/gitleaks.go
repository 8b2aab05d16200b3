package secret

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// Skipped is a gitleaks rule that could not be used, with the reason.
type Skipped struct {
	ID     string
	Reason string
}

// Config is a loaded gitleaks configuration.
type Config struct {
	Rules      []*Rule
	Allowlists []Allowlist // global; pass to New with WithAllowlists
	Skipped    []Skipped   // rules whose regexes Go's RE2 cannot compile
	UseDefault bool        // [extend] useDefault: add Builtin() rules
}

type glAllowlist struct {
	Description string   `toml:"description"`
	Condition   string   `toml:"condition"`
	RegexTarget string   `toml:"regexTarget"`
	Regexes     []string `toml:"regexes"`
	Paths       []string `toml:"paths"`
	StopWords   []string `toml:"stopwords"`
	Commits     []string `toml:"commits"`
	TargetRules []string `toml:"targetRules"`
}

type glRule struct {
	ID          string   `toml:"id"`
	Description string   `toml:"description"`
	Regex       string   `toml:"regex"`
	Path        string   `toml:"path"`
	SecretGroup int      `toml:"secretGroup"`
	Entropy     float64  `toml:"entropy"`
	Keywords    []string `toml:"keywords"`
	Tags        []string `toml:"tags"`
	SkipReport  bool     `toml:"skipReport"`
	Required    []struct {
		ID            string `toml:"id"`
		WithinLines   int    `toml:"withinLines"`
		WithinColumns int    `toml:"withinColumns"`
	} `toml:"required"`
	Allowlist  *glAllowlist  `toml:"allowlist"`
	Allowlists []glAllowlist `toml:"allowlists"`
}

type glConfig struct {
	Title      string `toml:"title"`
	MinVersion string `toml:"minVersion"`
	Extend     struct {
		UseDefault    bool     `toml:"useDefault"`
		Path          string   `toml:"path"`
		URL           string   `toml:"url"`
		DisabledRules []string `toml:"disabledRules"`
	} `toml:"extend"`
	Rules      []glRule      `toml:"rules"`
	Allowlist  *glAllowlist  `toml:"allowlist"`
	Allowlists []glAllowlist `toml:"allowlists"`
}

// LoadGitleaks parses a gitleaks TOML configuration read from file. Rules
// whose regular expressions Go cannot compile are returned in Skipped with
// the reason, never as an error. Configuration mistakes (a rule without id,
// without regex or path, a secretGroup beyond the regex's groups, an empty
// allowlist, an unknown regexTarget, old and new allowlist forms together,
// an allowlist targeting an unknown rule, [extend] path or url) are all
// returned together, each naming the rule. Severity is High for every
// gitleaks rule.
func LoadGitleaks(file string, data []byte) (*Config, error) {
	var raw glConfig
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		return nil, fmt.Errorf("load gitleaks config %s: %w", file, err)
	}
	cfg := &Config{UseDefault: raw.Extend.UseDefault}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for _, k := range md.Undecoded() {
		bad("unknown key %s", k)
	}
	if raw.Extend.Path != "" || raw.Extend.URL != "" {
		bad("[extend] path and url are not supported; merge the files or use useDefault")
	}
	ids := map[string]bool{}
	for i, r := range raw.Rules {
		where := fmt.Sprintf("rules[%d]", i)
		if r.ID == "" {
			bad("%s: id missing", where)
			continue
		}
		where = fmt.Sprintf("rule %s", r.ID)
		ids[r.ID] = true
		if r.Regex == "" && r.Path == "" {
			bad("%s: neither regex nor path", where)
			continue
		}
		rule := &Rule{ID: r.ID, Description: r.Description, Severity: High, SecretGroup: r.SecretGroup, Entropy: r.Entropy}
		for _, k := range r.Keywords {
			rule.Keywords = append(rule.Keywords, strings.ToLower(k))
		}
		skip := ""
		if len(r.Required) > 0 || r.SkipReport {
			skip = "composite rules (required, skipReport) are not supported"
		}
		if r.Regex != "" && skip == "" {
			if rule.Regex, err = regexp.Compile(r.Regex); err != nil {
				skip = "regex: " + err.Error()
			} else if r.SecretGroup > rule.Regex.NumSubexp() {
				bad("%s: secretGroup %d but the regex has %d groups", where, r.SecretGroup, rule.Regex.NumSubexp())
				continue
			}
		}
		if r.Path != "" && skip == "" {
			if rule.Path, err = regexp.Compile(r.Path); err != nil {
				skip = "path: " + err.Error()
			}
		}
		if r.Allowlist != nil && len(r.Allowlists) > 0 {
			bad("%s: both [rules.allowlist] and [[rules.allowlists]]", where)
			continue
		}
		lists := r.Allowlists
		if r.Allowlist != nil {
			lists = []glAllowlist{*r.Allowlist}
		}
		ok := true
		for j, al := range lists {
			a, why, err := convertAllowlist(al)
			if err != nil {
				bad("%s: allowlists[%d]: %v", where, j, err)
				ok = false
				continue
			}
			if why != "" && skip == "" {
				skip = fmt.Sprintf("allowlists[%d]: %s", j, why)
			}
			if len(al.TargetRules) > 0 {
				bad("%s: allowlists[%d]: targetRules is for global allowlists", where, j)
				ok = false
			}
			rule.Allowlists = append(rule.Allowlists, a)
		}
		if !ok {
			continue
		}
		if skip != "" {
			cfg.Skipped = append(cfg.Skipped, Skipped{ID: r.ID, Reason: skip})
			continue
		}
		cfg.Rules = append(cfg.Rules, rule)
	}
	if raw.Allowlist != nil && len(raw.Allowlists) > 0 {
		bad("both [allowlist] and [[allowlists]]")
	}
	globals := raw.Allowlists
	if raw.Allowlist != nil {
		globals = []glAllowlist{*raw.Allowlist}
	}
	for j, al := range globals {
		a, why, err := convertAllowlist(al)
		if err != nil {
			bad("allowlists[%d]: %v", j, err)
			continue
		}
		if why != "" {
			bad("allowlists[%d]: %s", j, why)
			continue
		}
		for _, id := range al.TargetRules {
			if !ids[id] {
				bad("allowlists[%d]: targetRules names unknown rule %q", j, id)
			}
		}
		a.TargetRules = al.TargetRules
		cfg.Allowlists = append(cfg.Allowlists, a)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("load gitleaks config %s: %w", file, errors.Join(errs...))
	}
	return cfg, nil
}

// convertAllowlist returns the allowlist, or why it cannot be compiled
// (a regex RE2 rejects), or a configuration error.
func convertAllowlist(al glAllowlist) (Allowlist, string, error) {
	a := Allowlist{Description: al.Description}
	switch strings.ToUpper(al.Condition) {
	case "", "OR":
	case "AND":
		a.And = true
	default:
		return a, "", fmt.Errorf("condition %q: want OR or AND", al.Condition)
	}
	switch al.RegexTarget {
	case "", "secret":
		a.Target = TargetSecret
	case "match":
		a.Target = TargetMatch
	case "line":
		a.Target = TargetLine
	default:
		return a, "", fmt.Errorf("regexTarget %q: want secret, match or line", al.RegexTarget)
	}
	if len(al.Regexes) == 0 && len(al.Paths) == 0 && len(al.StopWords) == 0 && len(al.Commits) == 0 {
		return a, "", errors.New("empty: no regexes, paths, stopwords or commits")
	}
	for _, s := range al.Regexes {
		re, err := regexp.Compile(s)
		if err != nil {
			return a, "regexes: " + err.Error(), nil
		}
		a.Regexes = append(a.Regexes, re)
	}
	for _, s := range al.Paths {
		re, err := regexp.Compile(s)
		if err != nil {
			return a, "paths: " + err.Error(), nil
		}
		a.Paths = append(a.Paths, re)
	}
	for _, w := range al.StopWords {
		a.StopWords = append(a.StopWords, strings.ToLower(w))
	}
	return a, "", nil
}
