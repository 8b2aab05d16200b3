package passwd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// chrootShadow makes a tiny root with passwd and shadow files and sets each
// user's password with chpasswd -R (the real shadow tool, in a chroot) and
// the given crypt method; it returns the resulting shadow file.
func chrootShadow(t *testing.T, method string, users map[string]string) []byte {
	t.Helper()
	if _, err := exec.LookPath("chpasswd"); err != nil {
		t.Skipf("chpasswd (passwd package) not installed: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("chpasswd -R needs root")
	}
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	var pw, sh strings.Builder
	pw.WriteString("root:x:0:0:root:/root:/bin/sh\n")
	sh.WriteString("root:*:19000:0:99999:7:::\n")
	var input strings.Builder
	for u, p := range users {
		if u != "root" {
			pw.WriteString(u + ":x:1000:1000::/home/" + u + ":/bin/sh\n")
			sh.WriteString(u + ":!:19000:0:99999:7:::\n")
		}
		input.WriteString(u + ":" + p + "\n")
	}
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc/passwd"), []byte(pw.String()), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "etc/shadow"), []byte(sh.String()), 0o640))
	cmd := exec.Command("chpasswd", "-R", root, "-c", method)
	cmd.Stdin = strings.NewReader(input.String())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "chpasswd: %s", out)
	data, err := os.ReadFile(filepath.Join(root, "etc/shadow"))
	require.NoError(t, err)
	return data
}

func TestCheckShadowChpasswd(t *testing.T) {
	for _, method := range []string{"MD5", "SHA256", "SHA512", "YESCRYPT"} {
		t.Run(method, func(t *testing.T) {
			shadow := chrootShadow(t, method, map[string]string{"root": "toor", "alice": "a-long-unguessable-passphrase"})
			require.NotContains(t, string(shadow), "root:*", "chpasswd must have set root's hash")
			c := &Checker{Words: []string{"123456", "password", "toor", "admin"}}
			got, err := c.CheckShadow(context.Background(), "etc/shadow", shadow)
			require.NoError(t, err)
			require.Len(t, got, 1, "only root has a dictionary password: %+v", got)
			f := got[0]
			require.Equal(t, IDDictionaryPassword, f.ID)
			require.Equal(t, "root", f.User)
			require.Equal(t, 1, f.Line)
			require.Empty(t, f.Password, "the password is shown only on request")
			require.True(t, strings.HasSuffix(f.Hash, "…"))
			require.NotContains(t, f.Hash, strings.Split(strings.Split(string(shadow), "\n")[0], "$")[len(strings.Split(strings.Split(string(shadow), "\n")[0], "$"))-1][:10],
				"the hash itself never appears")

			c.ShowPasswords = true
			got, err = c.CheckShadow(context.Background(), "etc/shadow", shadow)
			require.NoError(t, err)
			require.Equal(t, "toor", got[0].Password)
		})
	}
}

func TestCheckShadowCases(t *testing.T) {
	sha := "$6$abcdefgh$M/eYsB4rVXAm3ZNc88J.UD9rCKAT6FB1rahiwJCHtEndQNORCub5qhjxn50qbqVVthkM.9HpEwtf0t.iV9uH0/"
	for _, tc := range []struct {
		name    string
		shadow  string
		wantIDs []string
		wantErr string
	}{
		{"empty", "root::19000:0:99999:7:::\n", []string{IDEmptyPassword}, ""},
		{"locked", "root:!:19000::::::\nbin:*:19000::::::\nlocked:!" + sha + ":1::::::\n", nil, ""},
		{"dictionary", "# comment\n\nbob:" + sha + ":1::::::\n", []string{IDDictionaryPassword}, ""},
		{"bcrypt unsupported", "carol:$2b$10$abcdefghijklmnopqrstuuJ2a3R0c2cEzQ/Zm6JzXz6o5W1oGq9e:1::::::\n", nil, "etc/shadow:1: user carol: unsupported"},
		{"garbage line", "nocolon\nroot::1::::::\n", []string{IDEmptyPassword}, "etc/shadow:1: not a shadow entry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Checker{Words: []string{"nope", "hunter2"}}
			got, err := c.CheckShadow(context.Background(), "etc/shadow", []byte(tc.shadow))
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.wantErr)
			}
			var ids []string
			for _, f := range got {
				ids = append(ids, f.ID)
				require.NotContains(t, f.Hash, "M/eYsB4r", "hash must be redacted")
			}
			require.Equal(t, tc.wantIDs, ids)
		})
	}
}

func TestCheckPasswd(t *testing.T) {
	data := "root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\nnopw::1001:1001::/home/nopw:/bin/sh\nbad:x:abc:1::/:/bin/sh\nshort:x\n"
	got, err := CheckPasswd("etc/passwd", []byte(data))
	require.ErrorContains(t, err, "etc/passwd:4: user bad: uid \"abc\"")
	require.ErrorContains(t, err, "etc/passwd:5: not a passwd entry")
	require.Len(t, got, 2)
	require.Equal(t, IDExtraUID0, got[0].ID)
	require.Equal(t, "toor", got[0].User)
	require.Equal(t, 2, got[0].Line)
	require.Equal(t, IDEmptyPassword, got[1].ID)
	require.Equal(t, "nopw", got[1].User)
}

func TestDictionary(t *testing.T) {
	words := Dictionary()
	require.Greater(t, len(words), 200)
	seen := map[string]bool{}
	for _, w := range words {
		require.False(t, seen[w], "duplicate %q", w)
		seen[w] = true
	}
	require.True(t, seen["toor"] && seen["changeme"] && seen["123456"])
}

func FuzzCheckShadow(f *testing.F) {
	f.Add("root::1::::::\nx:$6$ab$cd:1\n")
	f.Add("a:$y$j9T$$\n")
	f.Add("a:$y$jzzzzzzzz$ab$\n")
	f.Fuzz(func(t *testing.T, s string) {
		c := &Checker{Words: []string{"a"}}
		// Parameters may ask for huge work; the caps in Yescrypt keep
		// this bounded, and nothing may panic.
		_, _ = c.CheckShadow(context.Background(), "f", []byte(s))
	})
}
