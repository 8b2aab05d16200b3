package secret

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigilsec/vigil/internal/testutil"
)

func TestWindowReach(t *testing.T) {
	for _, tc := range []struct {
		re   string
		want int
	}{
		{`abc`, 3},
		{`ab[0-9]{4}`, 6},
		{`(?:foo|quux)x?`, 5},
		{`\bkey=([a-z]{10,20})\b`, 24},
		{`é`, 2},
		{`tok_[a-z]+`, unboundedReach}, // one line, any length
		{`x{1000}y{1000}z{1000}w{1000}v{1000}`, maxWindowReach}, // capped
		{`-----BEGIN[\s\S]{64,}?-----END`, 0},                   // crosses lines: whole file
		{`(?s)begin.*end`, 0},                                   // . matches newline
		{`(?i)[\w.-]{0,50}?(?:key)[ \t]{0,3}=\s*x`, 0},          // \s* may cross lines
		{`(?i)[\w.-]{0,50}?(?:key)[ \t]{0,3}=[a-z]+`, 512},      // unbounded on one line
	} {
		t.Run(tc.re, func(t *testing.T) {
			require.Equal(t, tc.want, windowReach(regexp.MustCompile(tc.re)))
		})
	}
}

// TestWindowsMatchWholeFile checks that running the rules only in windows
// around keyword hits finds what running them on whole files finds, with
// the same positions, on the realistic files buried in kilobytes of real
// source code.
func TestWindowsMatchWholeFile(t *testing.T) {
	p := testutil.SharedData(t, "secrets/gitleaks/gitleaks.toml")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	cfg, err := LoadGitleaks(p, data)
	require.NoError(t, err)
	filler, err := os.ReadFile("secret.go")
	require.NoError(t, err)
	for name, rules := range map[string][]*Rule{"gitleaks": cfg.Rules, "builtin": Builtin()} {
		windowed := New(rules, WithAllowlists(cfg.Allowlists...))
		whole := New(rules, WithAllowlists(cfg.Allowlists...))
		for i := range whole.reach {
			whole.reach[i] = 0
		}
		for _, f := range realistic(t) {
			t.Run(name+"/"+f.name, func(t *testing.T) {
				content := string(filler) + "\n" + f.content + "\n" + strings.Repeat(string(filler), 3)
				want, err := whole.ScanBytes(context.Background(), f.name, []byte(content))
				require.NoError(t, err)
				got, err := windowed.ScanBytes(context.Background(), f.name, []byte(content))
				require.NoError(t, err)
				require.Equal(t, want, got)
				requireRedacted(t, got, f.secrets)
			})
		}
	}
}
