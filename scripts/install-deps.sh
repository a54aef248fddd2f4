#!/usr/bin/env bash
# Installs everything paychan needs to build and test on Debian 12, as root
# (or through sudo): the C libraries and tools from Debian, and the JS tools
# (anvil, solc, ethers, ...) from npm with the committed package-lock.json.
# Idempotent: when everything is present it only checks and returns quickly.
set -euo pipefail

usage() {
    cat <<'TXT'
usage: scripts/install-deps.sh [--bench] [--help]

Installs with apt-get (after apt-get update) the Debian packages paychan
needs, and runs `npm ci` in the repository when node_modules does not match
package-lock.json. Safe to run again: it skips what is already installed.

  --bench  also the tools of bench/run-network-bench.sh: apache2-utils (ab, the
           seed's benchmark method) and linux-perf (its --perf profiles); not
           needed to build or test
TXT
}
[[ "${1:-}" == "--help" || "${1:-}" == "-h" ]] && { usage; exit 0; }
bench=0
[[ "${1:-}" == "--bench" ]] && bench=1

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

debian_packages=(
    build-essential cmake pkg-config git curl ca-certificates
    libsecp256k1-dev nettle-dev libssl-dev libcurl4-openssl-dev libjansson-dev
    libsqlite3-dev libhiredis-dev redis-server redis-sentinel haproxy libmicrohttpd-dev libcmocka-dev
    nodejs npm chromium fonts-liberation
)
((bench)) && debian_packages+=(apache2-utils linux-perf)

missing=()
for pkg in "${debian_packages[@]}"; do
    # nodejs/npm may come from elsewhere (e.g. NodeSource); a working node is enough.
    if [[ "$pkg" == nodejs || "$pkg" == npm ]] && command -v "${pkg/nodejs/node}" >/dev/null 2>&1; then
        continue
    fi
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if ((${#missing[@]})); then
    sudo=()
    [[ $(id -u) -ne 0 ]] && sudo=(sudo)
    echo "install-deps: installing ${missing[*]}"
    "${sudo[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
else
    echo "install-deps: Debian packages present"
fi

# anvil's npm package needs Node.js 20 or newer (npm skips its binary on
# older ones without an error), so say so plainly.
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if ((node_major < 20)); then
    echo "install-deps: Node.js $(node --version) is too old; anvil (npm @foundry-rs/anvil) needs Node.js >= 20" >&2
    exit 1
fi

# npm ci only when the installed tree does not match the lockfile.
stamp="$repo/node_modules/.paychan-lock.sha256"
want="$(sha256sum "$repo/package-lock.json" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "install-deps: npm ci"
    (cd "$repo" && npm ci --no-audit --no-fund)
    echo "$want" >"$stamp"
else
    echo "install-deps: npm packages present"
fi

# The Visualizer serves ethers' browser bundle from its own folder (no CDN).
node "$repo/visualizer/build.mjs" >/dev/null
