#!/usr/bin/env bash
# Installs what Vigil's build and tests need and is missing: the Debian
# packages named as arguments, a Go toolchain, and the Go modules.
set -euo pipefail
# Packages the tests need whatever the caller passes: busybox-static
# (internal/proctree runs a statically linked busybox in a chroot, from an
# overlay and from a memfd).
set -- "$@" busybox-static
export PATH=/usr/local/go/bin:$PATH

# Scanner tests (internal/scan/..., test/e2e/scan_test.go): mkpasswd (whois)
# and openssl make real password hashes, busybox-static is the test image's
# base, debootstrap builds the root filesystem of make bench-scan.
set -- "$@" whois openssl busybox-static debootstrap

# Runtime-rule scenarios (make e2e-runtime, test/runtime): attacks run in
# runc containers built from busybox-static.
set -- "$@" runc

# PostgreSQL store tests (internal/store/postgres): each test run starts its
# own server from Debian's binaries (initdb, postgres) in a temporary
# directory; the packaged cluster is not used.
set -- "$@" postgresql

# Response e2e tests (make e2e-respond, test/respond): runc containers in
# their own network namespace (iproute2), the host's nft ruleset compared
# before and after isolation (nftables).
set -- "$@" iproute2 nftables

# Scan on push (internal/app TestRegistryHook): Debian's docker-registry
# (Docker Distribution 2.8) serves on 127.0.0.1 and notifies vigil run.
set -- "$@" docker-registry

missing=()
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing Debian packages ${missing[*]}; run as root or install them" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

need_go=$(awk '/^go /{print $2}' go.mod)
if ! command -v go >/dev/null; then
	echo "deps: Go $need_go or newer is required (https://go.dev/dl); Debian 12's golang package is too old" >&2
	exit 1
fi
go mod download
# The scanner tests link a Go binary against this vulnerable version offline.
go mod download golang.org/x/text@v0.3.0
