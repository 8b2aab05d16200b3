#!/usr/bin/env bash
# Installs what the console browser test (test/console, make e2e-console)
# needs and is missing: headless Chromium from Debian, Node.js and npm, and
# the console's npm packages (vite, typescript, preact, playwright-core) in
# web/node_modules. Not part of scripts/deps.sh: `make test` does not need a
# browser. Idempotent; run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(chromium chromium-driver fonts-dejavu-core)
command -v npm >/dev/null || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps-browser: missing Debian packages ${missing[*]}; run as root or install them" >&2
		exit 1
	fi
	echo "deps-browser: installing ${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Vite 8 needs Node 20.19+ and npm 11 (see docs/console.md).
if [ ! -d web/node_modules/playwright-core ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
	echo "deps-browser: npm ci in web/" >&2
	(cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
