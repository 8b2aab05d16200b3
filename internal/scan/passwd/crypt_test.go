package passwd

import (
	"crypto/sha256"
	"crypto/sha512"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Hashes made on a Debian 12 machine with `openssl passwd` and `mkpasswd`
// (whois package); the tests below also make fresh ones when the tools are
// installed (scripts/deps.sh installs whois).
var fixed = []struct{ password, hash string }{
	{"hunter2", "$1$abcdefgh$vhxKZ/s1ygZHyCEDPyqtQ/"},
	{"hunter2", "$5$abcdefgh$XEPmEiAJvPG31m/DaIsyckkv.Sxd.8NrmElXxCKFQr/"},
	{"hunter2", "$6$abcdefgh$M/eYsB4rVXAm3ZNc88J.UD9rCKAT6FB1rahiwJCHtEndQNORCub5qhjxn50qbqVVthkM.9HpEwtf0t.iV9uH0/"},
	{"x", "$6$saltsaltsaltsalt$nozu4aSZ9tvfyqr8kV.PwuNYpJaa6RCOb1XRcivY.S4HEWnm/pcZbgbhIR2EeRNbUrMigQuyF/KzM9qzoEvpz0"},
	{"hunter2", "$y$j9T$U5Y9s6jzzMFaFYi.l/KbX/$HaG.b8Ehah0HUoXFJICfNUej/eIc5eUoU.picP2xsJ5"},
}

func TestVerifyFixed(t *testing.T) {
	for _, tc := range fixed {
		t.Run(tc.hash[:3]+tc.password, func(t *testing.T) {
			ok, err := Verify(tc.password, tc.hash)
			require.NoError(t, err)
			require.True(t, ok, "right password must match")
			ok, err = Verify(tc.password+"x", tc.hash)
			require.NoError(t, err)
			require.False(t, ok, "wrong password must not match")
		})
	}
}

func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed (scripts/deps.sh installs it): %v", name, err)
	}
	out, err := exec.Command(name, args...).Output()
	require.NoError(t, err, "%s %v", name, args)
	return strings.TrimSpace(string(out))
}

func TestVerifyAgainstSystemTools(t *testing.T) {
	passwords := []string{"", "a", "hunter2", "correct horse battery staple", "ünïcødé-パスワード",
		strings.Repeat("long", 40)} // longer than one digest: exercises the repeat loops
	type gen struct {
		name string
		make func(pw string) string
	}
	gens := []gen{
		{"openssl-1", func(pw string) string { return tool(t, "openssl", "passwd", "-1", pw) }},
		{"openssl-5", func(pw string) string { return tool(t, "openssl", "passwd", "-5", pw) }},
		{"openssl-6", func(pw string) string { return tool(t, "openssl", "passwd", "-6", pw) }},
		{"mkpasswd-sha512-rounds", func(pw string) string { return tool(t, "mkpasswd", "-m", "sha512crypt", "-R", "1234", pw) }},
		{"mkpasswd-sha256-rounds", func(pw string) string { return tool(t, "mkpasswd", "-m", "sha256crypt", "-R", "999", pw) }},
		{"mkpasswd-yescrypt", func(pw string) string { return tool(t, "mkpasswd", "-m", "yescrypt", pw) }},
		{"mkpasswd-yescrypt-cost1", func(pw string) string { return tool(t, "mkpasswd", "-m", "yescrypt", "-R", "1", pw) }},
		{"mkpasswd-yescrypt-cost3", func(pw string) string { return tool(t, "mkpasswd", "-m", "yescrypt", "-R", "3", pw) }},
	}
	for _, g := range gens {
		t.Run(g.name, func(t *testing.T) {
			for _, pw := range passwords {
				if pw == "" {
					continue // both tools treat an empty argument as "none given"
				}
				h := g.make(pw)
				ok, err := Verify(pw, h)
				require.NoError(t, err, "hash %s", h)
				require.True(t, ok, "password %q hash %s", pw, h)
				ok, err = Verify(pw+"!", h)
				require.NoError(t, err)
				require.False(t, ok)
			}
		})
	}
}

func TestComputeExact(t *testing.T) {
	// The computed string must equal the stored one byte for byte,
	// including the rounds= clamp (rounds below 1000 become 1000).
	got, err := SHACrypt(sha256.New, "hunter2", "$5$rounds=10$abcdefgh$")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(got, "$5$rounds=1000$abcdefgh$"), got)
	want := tool(t, "mkpasswd", "-m", "sha256crypt", "-R", "1000", "-S", "abcdefgh", "hunter2")
	require.Equal(t, want, got)
	got, err = SHACrypt(sha512.New, "pw", "$6$0123456789abcdefXYZ$")
	require.NoError(t, err)
	require.Equal(t, "$6$0123456789abcdef$", got[:len("$6$0123456789abcdef$")], "salt is cut to 16 characters")
}

func TestVerifyErrors(t *testing.T) {
	for _, tc := range []struct{ hash, want string }{
		{"$2b$10$abcdefghijklmnopqrstuuJ2a3R0c2cEzQ/Zm6JzXz6o5W1oGq9e", "unsupported"},
		{"plain", "unsupported"},
		{"$y$", "malformed"},
		{"$y$j9T", "malformed"},
		{"$y$j9T$#bad$x", "malformed"},
		{"$y$jT5$salt$x", "unsupported"},      // N = 2^32, beyond the cap
		{"$y$/9T$salt$x", "unsupported"},      // flavour 1 (WORM) not supported
		{"$6$rounds=abc$salt$x", "malformed"}, // rounds not a number
	} {
		t.Run(tc.hash, func(t *testing.T) {
			_, err := Verify("pw", tc.hash)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"$6$abcdefgh$M/eYsB4r", "$6$abcd…"},
		{"$6$rounds=5000$abcdefgh$M/eYsB4r", "$6$rounds=5000$abcd…"},
		{"$y$j9T$U5Y9s6jzzMFaFYi.l/KbX/$HaG.b8E", "$y$j9T$U5Y9…"},
		{"$1$ab$xyz", "$1$ab…"},
		{"abcdef", "ab…"},
	} {
		require.Equal(t, tc.want, Redact(tc.in))
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, tc := range fixed {
		b.Run(Algorithm(tc.hash), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ok, _ := Verify(tc.password, tc.hash); !ok {
					b.Fatal("no match")
				}
			}
		})
	}
}
