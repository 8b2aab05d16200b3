#!/usr/bin/env bash
# Installs the container runtimes `make test-containers` runs against
# (internal/container tests with -tags containers): Docker Engine, containerd
# and ctr, Podman, runc and a static busybox for the containers' root
# filesystem. Idempotent: only missing packages are installed. The tests
# start their own daemons with data and sockets in temp dirs; nothing is
# enabled or started here.
set -euo pipefail
pkgs=(docker.io containerd runc podman conmon busybox-static)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps-containers: missing Debian packages ${missing[*]}; run as root or install them" >&2
	exit 1
fi
echo "deps-containers: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
