// Package version orders package versions the way each ecosystem's own
// tooling does: dpkg for Debian and Ubuntu, apk-tools for Alpine, rpm for the
// Red Hat family, Semantic Versioning 2.0 for Go modules, npm and crates.io,
// PEP 440 for PyPI, Maven's ComparableVersion, RubyGems' Gem::Version and
// PHP's version_compare as Composer uses it for Packagist.
//
// Every Comparer parses both operands first and returns an error wrapping
// ErrInvalid for a string that the ecosystem would reject; it never panics.
package version

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every error about a malformed version string.
var ErrInvalid = errors.New("invalid version")

// Comparer orders two versions of one ecosystem: Compare returns -1 when a
// sorts before b, 0 when they are equivalent and +1 when a sorts after b.
type Comparer interface {
	Compare(a, b string) (int, error)
}

// comparers maps OSV ecosystem names (without any ":release" suffix) to their
// ordering. Built once from this explicit list and read-only afterwards.
var comparers = map[string]Comparer{
	"Go":          Go{},
	"npm":         SemVer{},
	"crates.io":   SemVer{},
	"Hex":         SemVer{},
	"SwiftURL":    SemVer{},
	"Debian":      Dpkg{},
	"Ubuntu":      Dpkg{},
	"Alpine":      APK{},
	"Wolfi":       APK{},
	"Chainguard":  APK{},
	"Red Hat":     RPM{},
	"Rocky Linux": RPM{},
	"AlmaLinux":   RPM{},
	"openSUSE":    RPM{},
	"SUSE":        RPM{},
	"Mageia":      RPM{},
	"Photon OS":   RPM{},
	"Azure Linux": RPM{},
	"openEuler":   RPM{},
	"PyPI":        PEP440{},
	"Maven":       Maven{},
	"RubyGems":    RubyGems{},
	"Packagist":   Packagist{},
}

// ForEcosystem returns the Comparer for an OSV ecosystem name such as "Go",
// "Debian:12", "Alpine:v3.19" or "Red Hat:rhel_aus:8.4::appstream"; the part
// after the first colon (release, product stream or repository) does not
// change the ordering. ok is false for an ecosystem without a known ordering.
func ForEcosystem(name string) (c Comparer, ok bool) {
	c, ok = comparers[BaseEcosystem(name)]
	return c, ok
}

// BaseEcosystem strips the ":<release>" suffix of an OSV ecosystem name:
// "Debian:12" becomes "Debian", "Ubuntu:22.04:LTS" becomes "Ubuntu".
func BaseEcosystem(name string) string {
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[:i]
	}
	return name
}

func invalid(kind, v, why string) error {
	return fmt.Errorf("%w: %s %q: %s", ErrInvalid, kind, v, why)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// cmpDigits compares two ASCII digit strings as unbounded integers, so no
// version number can overflow.
func cmpDigits(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// hasSpaceOrControl reports whether s holds whitespace or control bytes,
// which no ecosystem allows inside a version.
func hasSpaceOrControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return true
		}
	}
	return false
}
